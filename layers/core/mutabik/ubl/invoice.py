"""The UBL-TR 1.2.1 Invoice writer: a canonical order or refund becomes an e-Fatura / e-Arşiv document.

One function per UBL aggregate, in the order GİB's XSD wants them. Amounts come from the tax engine
(`mutabik.tax.decompose`), so the payable amount is what the buyer paid, to the kuruş.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import TYPE_CHECKING, TypeVar

from lxml import etree

from mutabik.model.commerce import Line, LineKind, Order, Refund, WebSale
from mutabik.model.party import Address, Party
from mutabik.tax.codes import KDV_TAX_TYPE
from mutabik.tax.decompose import TaxBreakdown, TaxedLine, decompose
from mutabik.tax.words import amount_in_words
from mutabik.ubl.errors import DocumentRuleError
from mutabik.ubl.types import InvoiceType, Profile, type_rule
from mutabik.ubl.xml import (
    CAC,
    CBC,
    INVOICE_NS,
    NSMAP,
    address,
    amount,
    check_party,
    decimal_text,
    party,
    signature,
    sub,
    unsigned_extensions,
)

if TYPE_CHECKING:
    from lxml.etree import _Element

_Code = TypeVar("_Code", Profile, InvoiceType)

__all__ = [
    "CUSTOMS_PARTY",
    "ExportDetails",
    "InvoiceDocument",
    "InvoiceReference",
    "build_invoice",
    "invoice_number",
    "render_invoice",
]

#: GİB: cbc:ID is three letters or digits, the issue year, and a nine-digit sequence (InvoiceIDCheck).
_NUMBER = re.compile(r"^[A-Z0-9]{3}(20\d{2})(\d{9})$")
#: Exchange rates carry at most six decimals (CurrencyCodeCheck on PricingExchangeRate/CalculationRate).
RATE_PLACES = Decimal("0.000001")
#: A refunded shipping fee carries no rate of its own in the canonical model; kargo is taxed at the standard rate.
SHIPPING_REFUND_KDV = Decimal(20)
#: Codes GİB accepts only with data the canonical model does not carry; refused here rather than by GİB.
UNSUPPORTED_EXEMPTIONS = {
    "702": "exemption 702 (DİİB) needs a GTİP and the buyer's line code on every line (GİB schematron), "
    "which the canonical order does not carry",
}
#: The customs ministry receives every IHRACAT invoice as its AccountingCustomerParty (GİB sample IHRACAT.xml).
CUSTOMS_PARTY = Party(
    name="Gümrük ve Ticaret Bakanlığı Gümrükler Genel Müdürlüğü - Bilgi İşlem Dairesi Başkanlığı",
    tax_id="1460415308",
    tax_office="Ulus",
    address=Address(district="Ulus", city="Ankara"),
)


@dataclass(frozen=True, slots=True)
class InvoiceReference:
    """The invoice a return (IADE) refers to: its number and issue date."""

    number: str
    issue_date: date


@dataclass(frozen=True, slots=True)
class ExportDetails:
    """What an IHRACAT invoice needs beyond the order: delivery terms, transport and GTİP codes."""

    incoterm: str = "EXW"  # DeliveryTermCodeList: CFR, CIF, CIP, CPT, DAP, DDP, EXW, FCA, FOB …
    transport_mode: str = "3"  # UN/ECE Rec 19: 1 sea, 3 road, 4 air, 5 post
    customs_codes: Mapping[str, str] = field(default_factory=dict)  # SKU → 12-digit GTİP
    default_customs_code: str = ""

    def customs_code(self, sku: str) -> str:
        return self.customs_codes.get(sku, self.default_customs_code)


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """A written invoice: its XML tree and the amounts it was written from."""

    root: _Element
    breakdown: TaxBreakdown
    profile: Profile
    invoice_type: InvoiceType
    currency: str

    def to_bytes(self) -> bytes:
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8")


def invoice_number(series: str, year: int, sequence: int) -> str:
    """`ABC2026000000042`: GİB's invoice ID from a three-character series, the year and a counter value."""
    number = f"{series}{year:04d}{sequence:09d}"
    if not _NUMBER.match(number) or not 0 < sequence < 10**9:
        raise DocumentRuleError(f"{number!r} is not an invoice ID of the form ABC2026000000001", field="number")
    return number


def render_invoice(
    source: Order | Refund,
    *,
    seller: Party,
    number: str,
    uuid: uuidlib.UUID | str,
    issue_date: date,
    profile: Profile | str = Profile.EARSIVFATURA,
    invoice_type: InvoiceType | str = InvoiceType.SATIS,
    buyer: Party | None = None,
    issue_time: time | None = None,
    exchange_rate: Decimal | None = None,
    returned_invoice: InvoiceReference | None = None,
    export: ExportDetails | None = None,
    special_bases: Mapping[int, Decimal] | None = None,
    notes: Sequence[str] = (),
) -> bytes:
    """The invoice's XML (UTF-8 bytes). See `build_invoice` for the arguments."""
    return build_invoice(
        source,
        seller=seller,
        number=number,
        uuid=uuid,
        issue_date=issue_date,
        profile=profile,
        invoice_type=invoice_type,
        buyer=buyer,
        issue_time=issue_time,
        exchange_rate=exchange_rate,
        returned_invoice=returned_invoice,
        export=export,
        special_bases=special_bases,
        notes=notes,
    ).to_bytes()


def build_invoice(
    source: Order | Refund,
    *,
    seller: Party,
    number: str,
    uuid: uuidlib.UUID | str,
    issue_date: date,
    profile: Profile | str = Profile.EARSIVFATURA,
    invoice_type: InvoiceType | str = InvoiceType.SATIS,
    buyer: Party | None = None,
    issue_time: time | None = None,
    exchange_rate: Decimal | None = None,
    returned_invoice: InvoiceReference | None = None,
    export: ExportDetails | None = None,
    special_bases: Mapping[int, Decimal] | None = None,
    notes: Sequence[str] = (),
) -> InvoiceDocument:
    """Write an invoice for an order (SATIS, TEVKIFAT, ISTISNA …) or a refund (IADE).

    `uuid` is the document's ETTN (`mutabik.model.document_uuid(key)`); `number` its GİB ID
    (`invoice_number(series, year, counter)`). A refund has no buyer of its own: pass `buyer`, and the
    invoice it returns as `returned_invoice`. Foreign-currency documents need `exchange_rate` (TRY per unit,
    e.g. from `mutabik.ubl.fx.TcmbRates`); IHRACAT needs `export`.
    """
    profile, invoice_type = _enum(Profile, profile, "profile"), _enum(InvoiceType, invoice_type, "invoice_type")
    buyer = _check_request(source, seller, buyer, number, issue_date, profile, invoice_type, returned_invoice)
    currency, breakdown = _breakdown(source, special_bases)
    _check_type_rules(breakdown, invoice_type)
    rate = _exchange_rate(currency, exchange_rate)
    if profile is Profile.IHRACAT:
        _check_export(export, breakdown)

    namespaces: dict[str | None, str] = {None: INVOICE_NS}
    namespaces.update(NSMAP)
    root = etree.Element(f"{{{INVOICE_NS}}}Invoice", nsmap=namespaces)
    unsigned_extensions(root)
    sub(root, CBC + "UBLVersionID", "2.1")
    sub(root, CBC + "CustomizationID", "TR1.2")
    sub(root, CBC + "ProfileID", profile.value)
    sub(root, CBC + "ID", number)
    sub(root, CBC + "CopyIndicator", "false")
    sub(root, CBC + "UUID", str(uuid).upper())
    sub(root, CBC + "IssueDate", issue_date.isoformat())
    if issue_time is not None:
        sub(root, CBC + "IssueTime", issue_time.replace(microsecond=0, tzinfo=None).isoformat())
    sub(root, CBC + "InvoiceTypeCode", invoice_type.value)
    for note in (*notes, *_notes(source, breakdown, currency)):
        sub(root, CBC + "Note", note)
    sub(root, CBC + "DocumentCurrencyCode", currency)
    sub(root, CBC + "LineCountNumeric", str(len(breakdown.lines)))
    if isinstance(source, Order):
        order_ref = sub(root, CAC + "OrderReference")
        sub(order_ref, CBC + "ID", source.number or source.source_ref)
        sub(order_ref, CBC + "IssueDate", source.ordered_at.date().isoformat())
    if returned_invoice is not None:
        reference = sub(sub(root, CAC + "BillingReference"), CAC + "InvoiceDocumentReference")
        sub(reference, CBC + "ID", returned_invoice.number)
        sub(reference, CBC + "IssueDate", returned_invoice.issue_date.isoformat())
        # GİB's IADEInvioceCheck: DocumentTypeCode IADE and a 16-character ID, one per returned invoice.
        sub(reference, CBC + "DocumentTypeCode", "IADE")
    web_sale = source.web_sale if isinstance(source, Order) else None
    if profile is Profile.EARSIVFATURA:
        _send_type(root, issue_date)
    signature(root, seller, number)
    website = web_sale.website if web_sale and profile is Profile.EARSIVFATURA else ""
    party(sub(root, CAC + "AccountingSupplierParty"), seller, website=website)
    if profile is Profile.IHRACAT:
        party(sub(root, CAC + "AccountingCustomerParty"), CUSTOMS_PARTY)
        _export_buyer(sub(root, CAC + "BuyerCustomerParty"), buyer)
    else:
        party(sub(root, CAC + "AccountingCustomerParty"), buyer)
    if web_sale is not None and profile is Profile.EARSIVFATURA:
        _internet_sale(root, web_sale)
    if rate is not None:
        exchange = sub(root, CAC + "PricingExchangeRate")
        sub(exchange, CBC + "SourceCurrencyCode", currency)
        sub(exchange, CBC + "TargetCurrencyCode", "TRY")
        sub(exchange, CBC + "CalculationRate", format(rate.normalize(), "f"))
        sub(exchange, CBC + "Date", issue_date.isoformat())
    _tax_total(root, breakdown, currency)
    if breakdown.withholding_subtotals:
        _withholding_total(root, breakdown, currency)
    _monetary_total(root, breakdown, currency)
    ship_to = (source.shipping_address if isinstance(source, Order) else None) or buyer.address
    for line in breakdown.lines:
        _invoice_line(root, line, currency, export if profile is Profile.IHRACAT else None, ship_to)
    return InvoiceDocument(root, breakdown, profile, invoice_type, currency)


def _enum(kind: type[_Code], value: _Code | str, field: str) -> _Code:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise DocumentRuleError(f"{value!r} is not one of {allowed}", field=field) from None


def _check_request(
    source: Order | Refund,
    seller: Party,
    buyer: Party | None,
    number: str,
    issue_date: date,
    profile: Profile,
    invoice_type: InvoiceType,
    returned_invoice: InvoiceReference | None,
) -> Party:
    """Everything about the request that can be refused before any amount is computed; returns the buyer."""
    rule = type_rule(invoice_type)
    if profile not in rule.profiles:
        allowed = ", ".join(sorted(rule.profiles))
        raise DocumentRuleError(f"a {invoice_type} invoice can have profile {allowed}, not {profile}", field="profile")
    number_year = _NUMBER.match(number)
    if not number_year:
        raise DocumentRuleError(f"invoice ID {number!r} must look like ABC{issue_date.year}000000001", field="number")
    if int(number_year.group(1)) != issue_date.year:
        raise DocumentRuleError(f"invoice ID {number} carries another year than {issue_date}", field="number")
    check_party(seller, "seller")
    buyer = buyer or (source.buyer if isinstance(source, Order) else None)
    if buyer is None:
        raise DocumentRuleError("a refund carries no buyer: pass the buyer of the returned order", field="buyer")
    check_party(buyer, "buyer")
    if rule.refers_to_invoice and returned_invoice is None:
        raise DocumentRuleError(f"a {invoice_type} invoice must name the invoice it returns", field="returned_invoice")
    if returned_invoice is not None and not _NUMBER.match(returned_invoice.number):
        raise DocumentRuleError(
            "the returned invoice's ID must be a 16-character GİB ID", field="returned_invoice.number"
        )
    return buyer


def _breakdown(source: Order | Refund, special_bases: Mapping[int, Decimal] | None) -> tuple[str, TaxBreakdown]:
    if isinstance(source, Order):
        return source.currency, decompose(
            source.lines,
            total_paid=source.total_paid.amount,
            prices_include_tax=source.prices_include_tax,
            order_discount=source.order_discount,
            special_bases=special_bases,
        )
    lines = _refund_lines(source)
    return source.amount.currency, decompose(lines, total_paid=source.amount.amount, special_bases=special_bases)


def _exchange_rate(currency: str, exchange_rate: Decimal | None) -> Decimal | None:
    if currency == "TRY":
        return None
    if exchange_rate is None or exchange_rate <= 0:
        raise DocumentRuleError(f"a {currency} invoice needs the TRY exchange rate", field="exchange_rate")
    return exchange_rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def _check_export(export: ExportDetails | None, breakdown: TaxBreakdown) -> None:
    if export is None:
        raise DocumentRuleError("an IHRACAT invoice needs export details (incoterm, GTİP)", field="export")
    for line in breakdown.lines:
        if not re.fullmatch(r"\d{12}", export.customs_code(line.sku)):
            raise DocumentRuleError(
                "IHRACAT lines need a 12-digit GTİP code", field="export.customs_codes", line=line.number
            )


def _check_type_rules(breakdown: TaxBreakdown, invoice_type: InvoiceType) -> None:
    rule = type_rule(invoice_type)
    for taxed in breakdown.lines:
        if taxed.exemption is not None and taxed.exemption.code in UNSUPPORTED_EXEMPTIONS:
            raise DocumentRuleError(
                UNSUPPORTED_EXEMPTIONS[taxed.exemption.code], field="exemption_code", line=taxed.number
            )
        if taxed.withholding is not None and rule.withholding == "forbidden":
            raise DocumentRuleError(
                f"tevkifat code {taxed.withholding.code} belongs on a TEVKIFAT invoice, not {invoice_type}",
                field="withholding_code",
                line=taxed.number,
            )
        if taxed.exemption is not None and taxed.exemption.kind not in rule.exemption_kinds:
            raise DocumentRuleError(
                f"exemption code {taxed.exemption.code} ({taxed.exemption.kind}) "
                f"cannot appear on a {invoice_type} invoice",
                field="exemption_code",
                line=taxed.number,
            )
    if rule.withholding == "required" and not breakdown.withholding_subtotals:
        raise DocumentRuleError("a TEVKIFAT invoice needs at least one line with a tevkifat code", field="lines")


def _refund_lines(refund: Refund) -> tuple[Line, ...]:
    lines = [
        Line(
            sku=r.sku,
            name=r.name,
            quantity=r.quantity,
            unit_price=r.amount / r.quantity,
            kdv_rate=r.kdv_rate,
            # A refund line at 0 % carries "351" (no exemption): the canonical refund has no code of its own.
            exemption_code="351" if r.kdv_rate == 0 else None,
        )
        for r in refund.lines
    ]
    if refund.shipping_refund:
        lines.append(
            Line(
                name="Kargo bedeli iadesi",
                kind=LineKind.SHIPPING,
                quantity=Decimal(1),
                unit_price=refund.shipping_refund,
                kdv_rate=SHIPPING_REFUND_KDV,
            )
        )
    if not lines:
        raise DocumentRuleError("a refund without lines cannot say which KDV rates it returns", field="lines")
    return tuple(lines)


def _notes(source: Order | Refund, breakdown: TaxBreakdown, currency: str) -> list[str]:
    notes = [amount_in_words(breakdown.payable, currency)]
    if isinstance(source, Order) and source.note:
        notes.append(source.note)
    if isinstance(source, Refund) and source.reason:
        notes.append(f"İade nedeni: {source.reason}")
    return notes


def _send_type(root: _Element, issue_date: date) -> None:
    # e-Arşiv Fatura kılavuzu: the way the invoice reaches the buyer (ELEKTRONIK / KAGIT) as SEND_TYPE.
    reference = sub(root, CAC + "AdditionalDocumentReference")
    sub(reference, CBC + "ID", "ELEKTRONIK")
    sub(reference, CBC + "IssueDate", issue_date.isoformat())
    sub(reference, CBC + "DocumentTypeCode", "SEND_TYPE")


def _export_buyer(parent: _Element, buyer: Party) -> None:
    # IHRACAT: the real buyer abroad is BuyerCustomerParty, identified as PARTYTYPE=EXPORT (GİB schematron).
    node = sub(parent, CAC + "Party")
    sub(sub(node, CAC + "PartyIdentification"), CBC + "ID", "EXPORT", schemeID="PARTYTYPE")
    sub(sub(node, CAC + "PartyName"), CBC + "Name", buyer.name)
    address(node, CAC + "PostalAddress", buyer.address)
    legal = sub(node, CAC + "PartyLegalEntity")
    sub(legal, CBC + "RegistrationName", buyer.name)
    sub(legal, CBC + "CompanyID", buyer.tax_id)


@cache
def _payment_means() -> dict[str, str]:
    """e-Arşiv payment methods (GİB's ödeme şekli) → UN/ECE 4461 payment means codes, from data/."""
    import csv
    from importlib import resources

    text = resources.files("mutabik.ubl").joinpath("data").joinpath("payment_means.csv").read_text(encoding="utf-8")
    return {row["method"]: row["code"] for row in csv.DictReader(text.splitlines())}


def _internet_sale(root: _Element, web_sale: WebSale) -> None:
    """e-Arşiv internet sales (VUK 433 / e-Arşiv kılavuzu): carrier and shipment date, payment method and date."""
    # The carrier is named only with its VKN/TCKN: GİB identifies every party by one, and we never invent one.
    carrier_known = bool(web_sale.carrier_name and web_sale.carrier_tax_id)
    if carrier_known or web_sale.shipment_date:
        delivery = sub(root, CAC + "Delivery")
        if carrier_known:
            carrier = sub(delivery, CAC + "CarrierParty")
            scheme = "TCKN" if len(web_sale.carrier_tax_id) == 11 else "VKN"
            sub(sub(carrier, CAC + "PartyIdentification"), CBC + "ID", web_sale.carrier_tax_id, schemeID=scheme)
            sub(sub(carrier, CAC + "PartyName"), CBC + "Name", web_sale.carrier_name)
            address(carrier, CAC + "PostalAddress", Address(city=""))
        if web_sale.shipment_date:
            despatch = sub(delivery, CAC + "Despatch")
            sub(despatch, CBC + "ActualDespatchDate", web_sale.shipment_date.date().isoformat())
    means = sub(root, CAC + "PaymentMeans")
    sub(means, CBC + "PaymentMeansCode", _payment_means().get(web_sale.payment_method, "ZZZ"))
    sub(means, CBC + "PaymentDueDate", web_sale.payment_date.date().isoformat())
    note = web_sale.payment_method + (f" - {web_sale.payment_agent}" if web_sale.payment_agent else "")
    sub(means, CBC + "InstructionNote", note)


def _kdv_scheme(parent: _Element) -> None:
    scheme = sub(parent, CAC + "TaxScheme")
    sub(scheme, CBC + "Name", "KDV")
    sub(scheme, CBC + "TaxTypeCode", KDV_TAX_TYPE)


def _percent(value: Decimal) -> str:
    # GİB concatenates code and Percent ("60290"): write whole percents without decimals.
    return decimal_text(value)


def _tax_total(root: _Element, breakdown: TaxBreakdown, currency: str) -> None:
    total = sub(root, CAC + "TaxTotal")
    amount(total, CBC + "TaxAmount", breakdown.kdv_total, currency)
    for subtotal in breakdown.kdv_subtotals:
        node = sub(total, CAC + "TaxSubtotal")
        amount(node, CBC + "TaxableAmount", subtotal.taxable, currency)
        amount(node, CBC + "TaxAmount", subtotal.amount, currency)
        sub(node, CBC + "Percent", _percent(subtotal.rate))
        category = sub(node, CAC + "TaxCategory")
        if subtotal.exemption is not None:
            sub(category, CBC + "TaxExemptionReasonCode", subtotal.exemption.code)
            sub(category, CBC + "TaxExemptionReason", subtotal.exemption_reason)
        _kdv_scheme(category)


def _withholding_total(root: _Element, breakdown: TaxBreakdown, currency: str) -> None:
    total = sub(root, CAC + "WithholdingTaxTotal")
    amount(total, CBC + "TaxAmount", breakdown.withheld_total, currency)
    for subtotal in breakdown.withholding_subtotals:
        node = sub(total, CAC + "TaxSubtotal")
        amount(node, CBC + "TaxableAmount", subtotal.taxable, currency)
        amount(node, CBC + "TaxAmount", subtotal.amount, currency)
        sub(node, CBC + "Percent", _percent(subtotal.percent))
        scheme = sub(sub(node, CAC + "TaxCategory"), CAC + "TaxScheme")
        sub(scheme, CBC + "Name", subtotal.withholding.name[:100])
        sub(scheme, CBC + "TaxTypeCode", subtotal.withholding.code)


def _monetary_total(root: _Element, breakdown: TaxBreakdown, currency: str) -> None:
    total = sub(root, CAC + "LegalMonetaryTotal")
    # As GİB's own samples do (TicariFaturaOrnegi): LineExtensionAmount is the goods before discounts
    # ("Mal Hizmet Toplam Tutarı"), AllowanceTotalAmount the discounts, TaxExclusiveAmount what is taxed.
    # The discounts themselves sit on the lines, whose LineExtensionAmount is already net of them.
    amount(total, CBC + "LineExtensionAmount", breakdown.line_extension + breakdown.allowance_total, currency)
    amount(total, CBC + "TaxExclusiveAmount", breakdown.line_extension, currency)
    amount(total, CBC + "TaxInclusiveAmount", breakdown.tax_inclusive, currency)
    if breakdown.allowance_total:
        amount(total, CBC + "AllowanceTotalAmount", breakdown.allowance_total, currency)
    amount(total, CBC + "PayableAmount", breakdown.payable, currency)


def _invoice_line(
    root: _Element, line: TaxedLine, currency: str, export: ExportDetails | None, ship_to: Address
) -> None:
    node = sub(root, CAC + "InvoiceLine")
    sub(node, CBC + "ID", str(line.number))
    sub(node, CBC + "InvoicedQuantity", decimal_text(line.quantity), unitCode=line.unit)
    amount(node, CBC + "LineExtensionAmount", line.net, currency)
    if export is not None:
        delivery = sub(node, CAC + "Delivery")
        address(delivery, CAC + "DeliveryAddress", ship_to)
        sub(sub(delivery, CAC + "DeliveryTerms"), CBC + "ID", export.incoterm, schemeID="INCOTERMS")
        shipment = sub(delivery, CAC + "Shipment")
        sub(shipment, CBC + "ID", "")
        sub(sub(shipment, CAC + "GoodsItem"), CBC + "RequiredCustomsID", export.customs_code(line.sku))
        sub(sub(shipment, CAC + "ShipmentStage"), CBC + "TransportModeCode", export.transport_mode)
    if line.discount:
        allowance = sub(node, CAC + "AllowanceCharge")
        sub(allowance, CBC + "ChargeIndicator", "false")
        amount(allowance, CBC + "Amount", line.discount, currency)
        amount(allowance, CBC + "BaseAmount", line.net + line.discount, currency)
    total = sub(node, CAC + "TaxTotal")
    amount(total, CBC + "TaxAmount", line.kdv, currency)
    subtotal = sub(total, CAC + "TaxSubtotal")
    amount(subtotal, CBC + "TaxableAmount", line.kdv_base, currency)
    amount(subtotal, CBC + "TaxAmount", line.kdv, currency)
    sub(subtotal, CBC + "Percent", _percent(line.kdv_rate))
    category = sub(subtotal, CAC + "TaxCategory")
    if line.exemption is not None:
        sub(category, CBC + "TaxExemptionReasonCode", line.exemption.code)
        sub(category, CBC + "TaxExemptionReason", line.exemption_reason)
    _kdv_scheme(category)
    if line.withholding is not None:
        held = sub(node, CAC + "WithholdingTaxTotal")
        amount(held, CBC + "TaxAmount", line.withheld, currency)
        held_sub = sub(held, CAC + "TaxSubtotal")
        amount(held_sub, CBC + "TaxableAmount", line.kdv, currency)
        amount(held_sub, CBC + "TaxAmount", line.withheld, currency)
        sub(held_sub, CBC + "Percent", _percent(line.withholding.percent))
        scheme = sub(sub(held_sub, CAC + "TaxCategory"), CAC + "TaxScheme")
        sub(scheme, CBC + "Name", line.withholding.name[:100])
        sub(scheme, CBC + "TaxTypeCode", line.withholding.code)
    item = sub(node, CAC + "Item")
    sub(item, CBC + "Name", line.name)
    if line.sku:
        sub(sub(item, CAC + "SellersItemIdentification"), CBC + "ID", line.sku)
    amount_text = decimal_text(line.unit_price)
    sub(sub(node, CAC + "Price"), CBC + "PriceAmount", amount_text, currencyID=currency)
