"""Reading a UBL-TR invoice back: parties, lines, taxes and totals, from ours or from GİB's official samples."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from mutabik.ubl.xml import XPATH_NS, parse

if TYPE_CHECKING:
    from lxml.etree import _Element

__all__ = ["ParsedInvoice", "ParsedLine", "ParsedParty", "ParsedTax", "parse_invoice"]


@dataclass(frozen=True, slots=True)
class ParsedParty:
    tax_id: str
    scheme: str  # VKN, TCKN, or PARTYTYPE for an export buyer
    name: str
    city: str
    district: str
    country: str
    tax_office: str


@dataclass(frozen=True, slots=True)
class ParsedTax:
    code: str  # TaxTypeCode: 0015 for KDV, 6xx/8xx for tevkifat …
    name: str
    percent: Decimal
    taxable: Decimal
    amount: Decimal
    exemption_code: str
    exemption_reason: str


@dataclass(frozen=True, slots=True)
class ParsedLine:
    number: str
    name: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    net: Decimal
    discount: Decimal
    taxes: tuple[ParsedTax, ...]
    withholdings: tuple[ParsedTax, ...]


@dataclass(frozen=True, slots=True)
class ParsedInvoice:
    profile: str
    invoice_type: str
    number: str
    uuid: str
    issue_date: date
    currency: str
    exchange_rate: Decimal | None
    notes: tuple[str, ...]
    supplier: ParsedParty
    customer: ParsedParty
    buyer: ParsedParty | None
    taxes: tuple[ParsedTax, ...]
    withholdings: tuple[ParsedTax, ...]
    lines: tuple[ParsedLine, ...]
    line_extension: Decimal
    tax_exclusive: Decimal
    tax_inclusive: Decimal
    allowance_total: Decimal
    payable: Decimal
    returned_invoices: tuple[str, ...]

    @property
    def kdv_total(self) -> Decimal:
        return sum((t.amount for t in self.taxes if t.code == "0015"), Decimal(0))


def _text(node: _Element, path: str) -> str:
    found = node.xpath(path, namespaces=XPATH_NS)
    if not found:
        return ""
    first = found[0]
    return (first if isinstance(first, str) else (first.text or "")).strip()


def _decimal(node: _Element, path: str) -> Decimal:
    text = _text(node, path)
    return Decimal(text.replace(",", "")) if text else Decimal(0)


def _party(node: _Element | None) -> ParsedParty:
    if node is None:
        return ParsedParty("", "", "", "", "", "", "")
    person = " ".join(filter(None, (_text(node, "cac:Person/cbc:FirstName"), _text(node, "cac:Person/cbc:FamilyName"))))
    return ParsedParty(
        tax_id=_text(
            node, "cac:PartyIdentification/cbc:ID[@schemeID='VKN' or @schemeID='TCKN' or @schemeID='PARTYTYPE']"
        ),
        scheme=_text(
            node,
            "cac:PartyIdentification/cbc:ID[@schemeID='VKN' or @schemeID='TCKN' or @schemeID='PARTYTYPE']/@schemeID",
        ),
        name=_text(node, "cac:PartyName/cbc:Name") or person,
        city=_text(node, "cac:PostalAddress/cbc:CityName"),
        district=_text(node, "cac:PostalAddress/cbc:CitySubdivisionName"),
        country=_text(node, "cac:PostalAddress/cac:Country/cbc:Name"),
        tax_office=_text(node, "cac:PartyTaxScheme/cac:TaxScheme/cbc:Name"),
    )


def _taxes(node: _Element, total: str) -> tuple[ParsedTax, ...]:
    return tuple(
        ParsedTax(
            code=_text(sub, "cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode"),
            name=_text(sub, "cac:TaxCategory/cac:TaxScheme/cbc:Name"),
            percent=_decimal(sub, "cbc:Percent"),
            taxable=_decimal(sub, "cbc:TaxableAmount"),
            amount=_decimal(sub, "cbc:TaxAmount"),
            exemption_code=_text(sub, "cac:TaxCategory/cbc:TaxExemptionReasonCode"),
            exemption_reason=_text(sub, "cac:TaxCategory/cbc:TaxExemptionReason"),
        )
        for sub in node.xpath(f"{total}/cac:TaxSubtotal", namespaces=XPATH_NS)
    )


def _line(node: _Element) -> ParsedLine:
    return ParsedLine(
        number=_text(node, "cbc:ID"),
        name=_text(node, "cac:Item/cbc:Name"),
        quantity=_decimal(node, "cbc:InvoicedQuantity"),
        unit=_text(node, "cbc:InvoicedQuantity/@unitCode"),
        unit_price=_decimal(node, "cac:Price/cbc:PriceAmount"),
        net=_decimal(node, "cbc:LineExtensionAmount"),
        discount=sum(
            (
                Decimal(a.text.strip())
                for a in node.xpath("cac:AllowanceCharge[cbc:ChargeIndicator='false']/cbc:Amount", namespaces=XPATH_NS)
                if a.text and a.text.strip()
            ),
            Decimal(0),
        ),
        taxes=_taxes(node, "cac:TaxTotal"),
        withholdings=_taxes(node, "cac:WithholdingTaxTotal"),
    )


def parse_invoice(xml: bytes) -> ParsedInvoice:
    """Read an Invoice (ours or GİB's) with a parser that resolves no entities and opens no network."""
    root = parse(xml)
    rate = _text(root, "cac:PricingExchangeRate/cbc:CalculationRate")
    buyer = root.xpath("cac:BuyerCustomerParty/cac:Party", namespaces=XPATH_NS)
    return ParsedInvoice(
        profile=_text(root, "cbc:ProfileID"),
        invoice_type=_text(root, "cbc:InvoiceTypeCode"),
        number=_text(root, "cbc:ID"),
        uuid=_text(root, "cbc:UUID"),
        issue_date=date.fromisoformat(_text(root, "cbc:IssueDate")),
        currency=_text(root, "cbc:DocumentCurrencyCode"),
        exchange_rate=Decimal(rate) if rate else None,
        notes=tuple(n.text or "" for n in root.xpath("cbc:Note", namespaces=XPATH_NS)),
        supplier=_party(next(iter(root.xpath("cac:AccountingSupplierParty/cac:Party", namespaces=XPATH_NS)), None)),
        customer=_party(next(iter(root.xpath("cac:AccountingCustomerParty/cac:Party", namespaces=XPATH_NS)), None)),
        buyer=_party(buyer[0]) if buyer else None,
        taxes=_taxes(root, "cac:TaxTotal"),
        withholdings=_taxes(root, "cac:WithholdingTaxTotal"),
        lines=tuple(_line(line) for line in root.xpath("cac:InvoiceLine", namespaces=XPATH_NS)),
        line_extension=_decimal(root, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount"),
        tax_exclusive=_decimal(root, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount"),
        tax_inclusive=_decimal(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"),
        allowance_total=_decimal(root, "cac:LegalMonetaryTotal/cbc:AllowanceTotalAmount"),
        payable=_decimal(root, "cac:LegalMonetaryTotal/cbc:PayableAmount"),
        returned_invoices=tuple(
            _text(ref, "cbc:ID")
            for ref in root.xpath("cac:BillingReference/cac:InvoiceDocumentReference", namespaces=XPATH_NS)
        ),
    )
