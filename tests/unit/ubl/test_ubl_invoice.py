"""The invoice writer: every profile and type GİB accepts, and a clear error for every input it cannot take."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from lxml import etree
from mutabik.model import Line, Money, Order, Party, Refund, RefundLine, document_uuid
from mutabik.tax import ExemptionRequiredError, UnknownTaxCodeError
from mutabik.ubl import (
    DocumentRuleError,
    ExportDetails,
    InvoiceReference,
    PartyError,
    Profile,
    build_invoice,
    check_schematron,
    check_xsd,
    invoice_number,
    parse_invoice,
    profile_for,
    render_invoice,
)
from mutabik.ubl.xml import CAC_NS, CBC_NS

from .conftest import ISSUE_DATE

NUMBER = "ABC2025000000001"
RETURNED = InvoiceReference("ABC2025000000001", ISSUE_DATE)


def _order(buyer: Party, *lines: Line, paid: str, currency: str = "TRY", **extra: object) -> Order:
    return Order(
        source="test",
        source_ref="o-1",
        ordered_at=datetime(2025, 11, 1, tzinfo=UTC),
        buyer=buyer,
        currency=currency,
        lines=lines,
        total_paid=Money(amount=Decimal(paid), currency=currency),
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("fixture", "profile", "invoice_type", "options"),
    [
        ("earsiv_internet_sale", "EARSIVFATURA", "SATIS", {}),
        ("earsiv_internet_sale", "TEMELFATURA", "SATIS", {}),
        ("anonymous_grocery", "EARSIVFATURA", "SATIS", {}),
        ("company_net_prices", "TICARIFATURA", "SATIS", {}),
        ("tevkifat_cleaning", "TICARIFATURA", "TEVKIFAT", {}),
        ("tevkifat_cleaning", "EARSIVFATURA", "TEVKIFAT", {}),
        (
            "export_usd",
            "IHRACAT",
            "ISTISNA",
            {
                "exchange_rate": Decimal("42.3512"),
                "export": ExportDetails(incoterm="FOB", default_customs_code="570110100000"),
            },
        ),
    ],
)
def test_fixture_orders_pass_gib_checks_and_payable_is_what_was_paid(
    load_order: Callable[[str], Order],
    seller: Party,
    assert_gib_valid: Callable[[bytes], None],
    fixture: str,
    profile: str,
    invoice_type: str,
    options: dict[str, object],
) -> None:
    order = load_order(fixture)
    xml = render_invoice(
        order,
        seller=seller,
        number=NUMBER,
        uuid=document_uuid(f"t#p#sales_invoice#{fixture}"),
        issue_date=ISSUE_DATE,
        profile=profile,
        invoice_type=invoice_type,
        **options,  # type: ignore[arg-type]
    )
    assert_gib_valid(xml)
    parsed = parse_invoice(xml)
    assert parsed.payable == order.total_paid.amount
    assert parsed.profile == profile
    assert parsed.invoice_type == invoice_type
    assert parsed.uuid == str(document_uuid(f"t#p#sales_invoice#{fixture}")).upper()


def test_each_invoice_type_passes(
    seller: Party, company: Party, consumer: Party, assert_gib_valid: Callable[[bytes], None]
) -> None:
    cases = [
        (
            "ISTISNA",
            "TEMELFATURA",
            Line(name="Kitap", quantity=1, unit_price=Decimal(100), kdv_rate=0, exemption_code="301"),
            {},
        ),
        (
            "IHRACKAYITLI",
            "TEMELFATURA",
            Line(name="Kumaş", quantity=10, unit_price=Decimal(50), kdv_rate=0, exemption_code="701"),
            {},
        ),
        (
            "OZELMATRAH",
            "TICARIFATURA",
            Line(name="Altın bilezik", quantity=1, unit_price=Decimal(5000), kdv_rate=20, exemption_code="805"),
            {"special_bases": {1: Decimal(600)}},
        ),
    ]
    for invoice_type, profile, line, options in cases:
        order = _order(company, line, paid=str(line.gross))
        document = build_invoice(
            order,
            seller=seller,
            number=NUMBER,
            uuid=document_uuid(invoice_type),
            issue_date=ISSUE_DATE,
            profile=profile,
            invoice_type=invoice_type,
            **options,  # type: ignore[arg-type]
        )
        assert_gib_valid(document.to_bytes())
        assert document.breakdown.payable == line.gross


def test_ozelmatrah_takes_kdv_on_the_special_base(seller: Party, company: Party) -> None:
    line = Line(name="Altın bilezik", quantity=1, unit_price=Decimal(5000), kdv_rate=20, exemption_code="805")
    document = build_invoice(
        _order(company, line, paid="5000"),
        seller=seller,
        number=NUMBER,
        uuid=document_uuid("om"),
        issue_date=ISSUE_DATE,
        profile="TEMELFATURA",
        invoice_type="OZELMATRAH",
        special_bases={1: Decimal(600)},
    )
    # 600 with KDV included → 500 base, 100 KDV; the rest of the price is net.
    assert document.breakdown.kdv_total == Decimal(100)
    assert document.breakdown.kdv_subtotals[0].taxable == Decimal(500)


@pytest.mark.parametrize("profile", ["EARSIVFATURA", "TEMELFATURA"])
def test_a_return_refers_to_the_invoice_it_returns(
    seller: Party, consumer: Party, assert_gib_valid: Callable[[bytes], None], profile: str
) -> None:
    refund = Refund(
        source="test",
        source_ref="r-1",
        order_ref="o-1",
        created_at=datetime(2025, 11, 2, tzinfo=UTC),
        amount=Money(amount=Decimal("199.94")),
        lines=(
            RefundLine(name="Tişört", quantity=1, amount=Decimal("149.95"), kdv_rate=10),
            RefundLine(name="Kitap", quantity=1, amount=Decimal("0.00"), kdv_rate=0),
        ),
        shipping_refund=Decimal("49.99"),
        reason="beden uymadı",
    )
    xml = render_invoice(
        refund,
        seller=seller,
        buyer=consumer,
        number="ABC2025000000002",
        uuid=document_uuid("iade"),
        issue_date=ISSUE_DATE,
        profile=profile,
        invoice_type="IADE",
        returned_invoice=RETURNED,
    )
    assert_gib_valid(xml)
    parsed = parse_invoice(xml)
    assert parsed.returned_invoices == (RETURNED.number,)
    assert parsed.payable == Decimal("199.94")


def test_foreign_currency_carries_an_exchange_rate_of_at_most_six_decimals(
    seller: Party, consumer: Party, assert_gib_valid: Callable[[bytes], None]
) -> None:
    order = _order(
        consumer, Line(name="Shirt", quantity=Decimal("1.5"), unit_price=Decimal("10.01")), paid="15.02", currency="EUR"
    )
    xml = render_invoice(
        order,
        seller=seller,
        number=NUMBER,
        uuid=document_uuid("eur"),
        issue_date=ISSUE_DATE,
        exchange_rate=Decimal("48.91371234"),
    )
    assert_gib_valid(xml)
    assert parse_invoice(xml).exchange_rate == Decimal("48.913712")


def test_a_foreign_currency_order_without_a_rate_is_refused(seller: Party, consumer: Party) -> None:
    order = _order(consumer, Line(name="Shirt", quantity=1, unit_price=Decimal(10)), paid="10", currency="EUR")
    with pytest.raises(DocumentRuleError, match="exchange rate") as caught:
        build_invoice(order, seller=seller, number=NUMBER, uuid=document_uuid("x"), issue_date=ISSUE_DATE)
    assert caught.value.field == "exchange_rate"


class TestErrorsNameTheLineAndField:
    def test_a_withholding_code_on_a_sale_that_is_not_tevkifat(self, seller: Party, company: Party) -> None:
        order = _order(
            company,
            Line(name="Ürün", quantity=1, unit_price=Decimal(10)),
            Line(name="Temizlik", quantity=1, unit_price=Decimal(1200), withholding_code="612"),
            paid="1030",
        )
        with pytest.raises(DocumentRuleError) as caught:
            build_invoice(
                order,
                seller=seller,
                number=NUMBER,
                uuid=document_uuid("x"),
                issue_date=ISSUE_DATE,
                profile="TEMELFATURA",
            )
        assert (caught.value.line, caught.value.field) == (2, "withholding_code")
        assert "TEVKIFAT" in str(caught.value)

    def test_an_unknown_withholding_code(self, seller: Party, company: Party) -> None:
        order = _order(
            company, Line(name="Temizlik", quantity=1, unit_price=Decimal(1200), withholding_code="699"), paid="1020"
        )
        with pytest.raises(UnknownTaxCodeError) as caught:
            build_invoice(
                order,
                seller=seller,
                number=NUMBER,
                uuid=document_uuid("x"),
                issue_date=ISSUE_DATE,
                invoice_type="TEVKIFAT",
            )
        assert (caught.value.line, caught.value.field) == (1, "withholding_code")

    def test_an_unknown_exemption_code(self, seller: Party, company: Party) -> None:
        order = _order(
            company, Line(name="Kitap", quantity=1, unit_price=Decimal(10), kdv_rate=0, exemption_code="399"), paid="10"
        )
        with pytest.raises(UnknownTaxCodeError) as caught:
            build_invoice(
                order,
                seller=seller,
                number=NUMBER,
                uuid=document_uuid("x"),
                issue_date=ISSUE_DATE,
                invoice_type="ISTISNA",
            )
        assert (caught.value.line, caught.value.field) == (1, "exemption_code")

    def test_a_zero_rated_line_without_an_exemption_code(self, seller: Party, company: Party) -> None:
        order = _order(
            company,
            Line(name="Ürün", quantity=1, unit_price=Decimal(10)),
            Line(name="Kitap", quantity=1, unit_price=Decimal(10), kdv_rate=0),
            paid="20",
        )
        with pytest.raises(ExemptionRequiredError) as caught:
            build_invoice(order, seller=seller, number=NUMBER, uuid=document_uuid("x"), issue_date=ISSUE_DATE)
        assert (caught.value.line, caught.value.field) == (2, "exemption_code")

    def test_a_full_exemption_on_a_sale(self, seller: Party, company: Party) -> None:
        order = _order(
            company, Line(name="Kitap", quantity=1, unit_price=Decimal(10), kdv_rate=0, exemption_code="301"), paid="10"
        )
        with pytest.raises(DocumentRuleError) as caught:
            build_invoice(order, seller=seller, number=NUMBER, uuid=document_uuid("x"), issue_date=ISSUE_DATE)
        assert (caught.value.line, caught.value.field) == (1, "exemption_code")

    def test_a_bad_seller_vkn(self, seller: Party, company: Party) -> None:
        broken = seller.model_copy(update={"tax_id": "1234567891"})  # model_copy skips validation
        order = _order(company, Line(name="Ürün", quantity=1, unit_price=Decimal(10)), paid="10")
        with pytest.raises(PartyError) as caught:
            build_invoice(order, seller=broken, number=NUMBER, uuid=document_uuid("x"), issue_date=ISSUE_DATE)
        assert caught.value.field == "seller.tax_id"
        assert "VKN" in str(caught.value)

    def test_a_bad_buyer_tckn(self, seller: Party, consumer: Party) -> None:
        broken = consumer.model_copy(update={"tax_id": "10000000147"})
        order = _order(consumer, Line(name="Ürün", quantity=1, unit_price=Decimal(10)), paid="10")
        with pytest.raises(PartyError) as caught:
            build_invoice(
                order, seller=seller, buyer=broken, number=NUMBER, uuid=document_uuid("x"), issue_date=ISSUE_DATE
            )
        assert caught.value.field == "buyer.tax_id"
        assert "TCKN" in str(caught.value)

    def test_a_return_without_the_returned_invoice(self, seller: Party, consumer: Party) -> None:
        refund = Refund(
            source="t",
            source_ref="r",
            order_ref="o",
            created_at=datetime(2025, 11, 2, tzinfo=UTC),
            amount=Money(amount=Decimal(10)),
            lines=(RefundLine(name="a", quantity=1, amount=Decimal(10)),),
        )
        with pytest.raises(DocumentRuleError) as caught:
            build_invoice(
                refund,
                seller=seller,
                buyer=consumer,
                number=NUMBER,
                uuid=document_uuid("x"),
                issue_date=ISSUE_DATE,
                invoice_type="IADE",
            )
        assert caught.value.field == "returned_invoice"

    @pytest.mark.parametrize(
        ("profile", "invoice_type"), [("TICARIFATURA", "IADE"), ("EARSIVFATURA", "IHRACKAYITLI"), ("IHRACAT", "SATIS")]
    )
    def test_a_type_outside_its_profiles(self, seller: Party, company: Party, profile: str, invoice_type: str) -> None:
        order = _order(company, Line(name="Ürün", quantity=1, unit_price=Decimal(10)), paid="10")
        with pytest.raises(DocumentRuleError) as caught:
            build_invoice(
                order,
                seller=seller,
                number=NUMBER,
                uuid=document_uuid("x"),
                issue_date=ISSUE_DATE,
                profile=profile,
                invoice_type=invoice_type,
            )
        assert caught.value.field == "profile"

    @pytest.mark.parametrize("number", ["AB2025000000001", "ABC2024000000001", "abc2025000000001"])
    def test_a_malformed_invoice_number(self, seller: Party, company: Party, number: str) -> None:
        order = _order(company, Line(name="Ürün", quantity=1, unit_price=Decimal(10)), paid="10")
        with pytest.raises(DocumentRuleError) as caught:
            build_invoice(order, seller=seller, number=number, uuid=document_uuid("x"), issue_date=ISSUE_DATE)
        assert caught.value.field == "number"


def test_invoice_number_formats_series_year_and_sequence() -> None:
    assert invoice_number("MTB", 2025, 42) == "MTB2025000000042"
    with pytest.raises(DocumentRuleError):
        invoice_number("MT", 2025, 1)


def test_the_document_is_parsed_without_entities_or_network() -> None:
    evil = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>&e;</cbc:ID>
<cbc:IssueDate>2025-01-01</cbc:IssueDate></Invoice>"""
    parsed = parse_invoice(evil)
    assert "root" not in parsed.number
    assert [f.rule for f in check_xsd(evil)] == ["DOCTYPE"]
    assert [f.rule for f in check_schematron(evil)] == ["DOCTYPE"]


def test_diib_exports_are_refused_with_the_reason(seller: Party, company: Party) -> None:
    order = _order(
        company, Line(name="Kumaş", quantity=1, unit_price=Decimal(50), kdv_rate=0, exemption_code="702"), paid="50"
    )
    with pytest.raises(DocumentRuleError, match="GTİP") as caught:
        build_invoice(
            order,
            seller=seller,
            number=NUMBER,
            uuid=document_uuid("x"),
            issue_date=ISSUE_DATE,
            profile="TEMELFATURA",
            invoice_type="IHRACKAYITLI",
        )
    assert (caught.value.line, caught.value.field) == (1, "exemption_code")


@pytest.mark.parametrize(
    ("registered", "commercial", "profile"),
    [(False, False, Profile.EARSIVFATURA), (True, False, Profile.TEMELFATURA), (True, True, Profile.TICARIFATURA)],
)
def test_profile_for_the_buyer(registered: bool, commercial: bool, profile: Profile) -> None:
    assert profile_for(e_invoice_user=registered, commercial=commercial) is profile


def test_an_internet_sale_carries_what_gib_asks_of_it(load_order: Callable[[str], Order], seller: Party) -> None:
    xml = render_invoice(
        load_order("earsiv_internet_sale"),
        seller=seller,
        number=NUMBER,
        uuid=document_uuid("web"),
        issue_date=ISSUE_DATE,
    )
    root = etree.fromstring(xml)
    ns = {"cac": CAC_NS, "cbc": CBC_NS}
    assert (
        root.findtext("cac:AccountingSupplierParty/cac:Party/cbc:WebsiteURI", namespaces=ns)
        == "https://magaza.example.com"
    )
    assert root.findtext("cac:PaymentMeans/cbc:InstructionNote", namespaces=ns) == "KREDIKARTI/BANKAKARTI - iyzico"
    assert root.findtext("cac:PaymentMeans/cbc:PaymentDueDate", namespaces=ns) == "2025-10-01"
    assert root.findtext("cac:Delivery/cac:CarrierParty/cac:PartyIdentification/cbc:ID", namespaces=ns) == "9860008925"
    assert root.findtext("cac:Delivery/cac:Despatch/cbc:ActualDespatchDate", namespaces=ns) == "2025-10-02"
