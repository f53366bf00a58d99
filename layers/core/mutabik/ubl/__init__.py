"""UBL-TR 1.2.1 documents: write invoices and despatch advices, validate them as GİB does, preview them.

Imports are lazy: `import mutabik.ubl` costs nothing until a name is used (lxml and saxonche load on demand).

The pusher's calls::

    from mutabik import ubl

    xml = ubl.render_invoice(order, seller=seller, number=number, uuid=document_uuid(key),
                             issue_date=today, profile="EARSIVFATURA", invoice_type="SATIS")
    ubl.validate_xsd(xml)            # raises ubl.XsdValidationError: reject before the provider sees it
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mutabik.ubl.despatch import Carrier, build_despatch_advice, render_despatch_advice
    from mutabik.ubl.errors import (
        DocumentRuleError,
        Failure,
        PartyError,
        SchemaMissingError,
        SchematronValidationError,
        UblError,
        ValidationError,
        XsdValidationError,
    )
    from mutabik.ubl.fx import ExchangeRateError, TcmbRates
    from mutabik.ubl.invoice import (
        ExportDetails,
        InvoiceDocument,
        InvoiceReference,
        build_invoice,
        invoice_number,
        render_invoice,
    )
    from mutabik.ubl.parse import ParsedInvoice, parse_invoice
    from mutabik.ubl.preview import preview_html
    from mutabik.ubl.types import InvoiceType, Profile, profile_for
    from mutabik.ubl.validate import check_schematron, check_xsd, validate_schematron, validate_xsd

__all__ = [
    "Carrier",
    "DocumentRuleError",
    "ExchangeRateError",
    "ExportDetails",
    "Failure",
    "InvoiceDocument",
    "InvoiceReference",
    "InvoiceType",
    "ParsedInvoice",
    "PartyError",
    "Profile",
    "SchemaMissingError",
    "SchematronValidationError",
    "TcmbRates",
    "UblError",
    "ValidationError",
    "XsdValidationError",
    "build_despatch_advice",
    "build_invoice",
    "check_schematron",
    "check_xsd",
    "invoice_number",
    "parse_invoice",
    "preview_html",
    "profile_for",
    "render_despatch_advice",
    "render_invoice",
    "validate_schematron",
    "validate_xsd",
]

_HOMES = {
    "Carrier": "despatch",
    "build_despatch_advice": "despatch",
    "render_despatch_advice": "despatch",
    "DocumentRuleError": "errors",
    "Failure": "errors",
    "PartyError": "errors",
    "SchemaMissingError": "errors",
    "SchematronValidationError": "errors",
    "UblError": "errors",
    "ValidationError": "errors",
    "XsdValidationError": "errors",
    "ExchangeRateError": "fx",
    "TcmbRates": "fx",
    "ExportDetails": "invoice",
    "InvoiceDocument": "invoice",
    "InvoiceReference": "invoice",
    "build_invoice": "invoice",
    "invoice_number": "invoice",
    "render_invoice": "invoice",
    "ParsedInvoice": "parse",
    "parse_invoice": "parse",
    "preview_html": "preview",
    "InvoiceType": "types",
    "Profile": "types",
    "profile_for": "types",
    "check_schematron": "validate",
    "check_xsd": "validate",
    "validate_schematron": "validate",
    "validate_xsd": "validate",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
