"""UBL-TR profiles (senaryo) and invoice types (fatura tipi), and which codes each type may carry.

The pairs follow GİB's schematron (UBL-TR_Common_Schematron.xml: InvoiceTypeCodeCheck, IADEInvioceCheck,
GeneralWithholdingTaxTotalCheck, TaxExemptionReasonCodeCheck); the table is `data/invoice_types.csv`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from mutabik.tax.codes import ExemptionKind

__all__ = ["InvoiceType", "Profile", "TypeRule", "profile_for", "type_rule"]


class Profile(StrEnum):
    TEMELFATURA = "TEMELFATURA"  # e-Fatura, no acceptance step
    TICARIFATURA = "TICARIFATURA"  # e-Fatura the buyer accepts or rejects
    EARSIVFATURA = "EARSIVFATURA"  # e-Arşiv: buyers outside e-Fatura (consumers, most marketplace buyers)
    IHRACAT = "IHRACAT"  # export, addressed to the customs ministry


class InvoiceType(StrEnum):
    SATIS = "SATIS"
    IADE = "IADE"
    TEVKIFAT = "TEVKIFAT"
    ISTISNA = "ISTISNA"
    IHRACKAYITLI = "IHRACKAYITLI"
    OZELMATRAH = "OZELMATRAH"


@dataclass(frozen=True, slots=True)
class TypeRule:
    invoice_type: InvoiceType
    profiles: frozenset[Profile]
    withholding: str  # forbidden, allowed, required
    exemption_kinds: frozenset[ExemptionKind]
    refers_to_invoice: bool  # IADE carries a BillingReference to the invoice it returns


@cache
def _rules() -> dict[InvoiceType, TypeRule]:
    text = resources.files("mutabik.ubl").joinpath("data").joinpath("invoice_types.csv").read_text(encoding="utf-8")
    rules = {}
    for row in csv.DictReader(text.splitlines()):
        kind = InvoiceType(row["type"])
        rules[kind] = TypeRule(
            invoice_type=kind,
            profiles=frozenset(Profile(p) for p in row["profiles"].split()),
            withholding=row["withholding"],
            exemption_kinds=frozenset(ExemptionKind(k) for k in row["exemption_kinds"].split()),
            refers_to_invoice=row["refers_to_invoice"] == "yes",
        )
    return rules


def type_rule(invoice_type: InvoiceType) -> TypeRule:
    return _rules()[invoice_type]


def profile_for(*, e_invoice_user: bool, commercial: bool = False) -> Profile:
    """The profile for a domestic buyer: e-Fatura when GİB lists the buyer as an e-Fatura user (TICARIFATURA
    when the buyer may accept or reject it), e-Arşiv for everyone else (VUK 509, e-Arşiv Fatura)."""
    if not e_invoice_user:
        return Profile.EARSIVFATURA
    return Profile.TICARIFATURA if commercial else Profile.TEMELFATURA
