"""A tenant's mapping changes the planned documents as the seller would expect, with no code change."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from mutabik.mapping import MappingConfig
from mutabik.mapping.planning import plan
from mutabik.model import (
    Address,
    Line,
    LineKind,
    Money,
    Order,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    Party,
    Payment,
    PaymentCaptured,
    Payout,
    PayoutPaid,
    Refund,
    RefundCreated,
    RefundLine,
    Shipment,
    ShipmentCreated,
    ShipmentLine,
)
from mutabik.model.document import DocumentType
from mutabik.tax.decompose import decompose_order

AT = datetime(2026, 10, 12, 9, 30, tzinfo=UTC)
ISTANBUL = Address(city="İstanbul", district="Kadıköy")


def order(*, tax_included: bool = True, buyer_tax_id: str = "10000000146", source: str = "trendyol") -> Order:
    """2 × 150 coffee + 49.90 shipping + a 100 mug, KDV 20 %: 449.90 paid with KDV included, 539.88 without."""
    lines = (
        Line(sku="KHV-250", name="Filtre Kahve 250 g", quantity=2, unit_price=Decimal("150.00")),
        Line(sku="", name="Kargo", kind=LineKind.SHIPPING, quantity=1, unit_price=Decimal("49.90")),
        Line(sku="CUP-1", name="Kupa", quantity=1, unit_price=Decimal("100.00")),
    )
    paid = Decimal("449.90") if tax_included else Decimal("539.88")
    return Order(
        source=source,
        source_ref="PKG-1",
        ordered_at=AT,
        prices_include_tax=tax_included,
        buyer=Party(name="Ayşe Yılmaz", tax_id=buyer_tax_id, address=ISTANBUL, email="ayse@example.com"),
        lines=lines,
        total_paid=Money(amount=paid),
    )


MAPPING = MappingConfig.model_validate(
    {
        "products": {
            "KHV-250": {"code": "153.01.0042", "name": "Filtre Kahve 250 gr (Paket)", "unit": "PK", "kdv_rate": "10"}
        },
        "shipping": {"name": "Kargo Bedeli", "code": "KARGO", "kdv_rate": "20"},
    }
)


def only(planned: list[Any]) -> Any:
    (document,) = planned
    return document


class TestProducts:
    def test_sku_becomes_the_provider_code_with_its_name_unit_and_rate(self) -> None:
        document = only(plan(OrderPaid(occurred_at=AT, order=order()), MAPPING))

        coffee, shipping, cup = document.payload["order"]["lines"]
        assert (coffee["sku"], coffee["name"], coffee["unit"], coffee["kdv_rate"]) == (
            "153.01.0042",
            "Filtre Kahve 250 gr (Paket)",
            "PK",
            "10",
        )
        assert (shipping["sku"], shipping["name"], shipping["kdv_rate"]) == ("KARGO", "Kargo Bedeli", "20")
        # Unmapped SKUs pass through exactly as the sender said.
        assert cup == order().lines[2].model_dump(mode="json")
        assert document.payload["mapping"] == {"skus": {"KHV-250": "153.01.0042"}}

    def test_without_a_mapping_the_order_is_as_the_sender_said(self) -> None:
        document = only(plan(OrderPaid(occurred_at=AT, order=order()), MappingConfig()))
        assert document.payload["order"] == order().model_dump(mode="json")
        assert "mapping" not in document.payload

    @pytest.mark.parametrize("tax_included", [True, False])
    def test_a_new_kdv_rate_never_changes_what_the_buyer_paid(self, tax_included: bool) -> None:
        mapped = only(plan(OrderPaid(occurred_at=AT, order=order(tax_included=tax_included)), MAPPING))
        mapped_order = Order.model_validate(mapped.payload["order"])

        breakdown = decompose_order(mapped_order)
        assert breakdown.payable == mapped_order.total_paid.amount == order(tax_included=tax_included).total_paid.amount
        assert {s.rate for s in breakdown.kdv_subtotals} == {Decimal(10), Decimal(20)}

    def test_refund_and_shipment_lines_get_the_same_codes_as_the_invoice(self) -> None:
        refund = Refund(
            source="trendyol",
            source_ref="PKG-1:returned",
            order_ref="PKG-1",
            created_at=AT,
            amount=Money(amount="300"),
            lines=(RefundLine(sku="KHV-250", name="Filtre Kahve", quantity=2, amount="300"),),
        )
        shipment = Shipment(
            source="trendyol",
            source_ref="PKG-1:shipped",
            order_ref="PKG-1",
            shipped_at=AT,
            lines=(ShipmentLine(sku="KHV-250", name="Filtre Kahve", quantity=2),),
        )
        returned = only(plan(RefundCreated(occurred_at=AT, refund=refund), MAPPING))
        shipped = only(plan(ShipmentCreated(occurred_at=AT, shipment=shipment), MAPPING))

        assert returned.payload["refund"]["lines"][0] == {
            "sku": "153.01.0042",
            "name": "Filtre Kahve 250 gr (Paket)",
            "quantity": "2",
            "amount": "300",
            "kdv_rate": "10",
        }
        assert shipped.payload["shipment"]["lines"][0] == {
            "sku": "153.01.0042",
            "name": "Filtre Kahve 250 gr (Paket)",
            "quantity": "2",
            "unit": "PK",
        }


class TestEventTable:
    def test_default_is_what_mutabik_always_did(self) -> None:
        assert plan(OrderPlaced(occurred_at=AT, order=order()), MappingConfig()) == []
        assert only(plan(OrderPaid(occurred_at=AT, order=order()), MappingConfig())).type is DocumentType.SALES_INVOICE

    def test_a_tenant_can_invoice_on_placement_and_turn_collections_off(self) -> None:
        mapping = MappingConfig.model_validate({"events": {"order.placed": "sales_invoice", "payment.captured": None}})
        payment = Payment(source="iyzico", source_ref="P-1", order_ref="PKG-1", captured_at=AT, amount=Money(amount=1))

        placed = only(plan(OrderPlaced(occurred_at=AT, order=order()), mapping))
        assert (placed.type, placed.source_ref) == (DocumentType.SALES_INVOICE, "trendyol:PKG-1")
        assert plan(PaymentCaptured(occurred_at=AT, payment=payment), mapping) == []

    def test_a_senders_table_wins_over_the_tenants(self) -> None:
        mapping = MappingConfig.model_validate(
            {
                "events": {"order.cancelled": None},
                "sources": {"trendyol": {"events": {"order.cancelled": "cancellation"}}},
            }
        )
        trendyol = OrderCancelled(occurred_at=AT, source="trendyol", order_ref="PKG-1", reason="UnSupplied")
        shopify = OrderCancelled(occurred_at=AT, source="shopify", order_ref="1001", reason="customer")

        assert only(plan(trendyol, mapping)).type is DocumentType.CANCELLATION
        assert plan(shopify, mapping) == []

    def test_a_cancellation_carries_the_order_it_cancels(self) -> None:
        event = OrderCancelled(occurred_at=AT, source="trendyol", order_ref="PKG-1", reason="Cancelled")
        document = only(plan(event, MappingConfig()))
        assert (document.type, document.source_ref) == (DocumentType.CANCELLATION, "trendyol:PKG-1")
        assert document.payload == {"cancellation": {"source": "trendyol", "order_ref": "PKG-1", "reason": "Cancelled"}}


class TestCustomers:
    def test_consumers_get_one_contact_each_keyed_without_their_tckn(self) -> None:
        account = only(plan(OrderPaid(occurred_at=AT, order=order()), MappingConfig())).payload["account"]
        assert account["kind"] == "consumer"
        assert "10000000146" not in account["key"]
        other = order(buyer_tax_id="11111111111")
        assert (
            only(plan(OrderPaid(occurred_at=AT, order=other), MappingConfig())).payload["account"]["key"]
            != (account["key"])
        )

    def test_retail_rule_books_every_consumer_of_a_sender_to_one_contact(self) -> None:
        mapping = MappingConfig.model_validate(
            {"customers": {"consumers": "retail", "retail_codes": {"trendyol": "120.01.001"}}}
        )
        for tax_id in ("10000000146", "11111111111"):
            account = only(plan(OrderPaid(occurred_at=AT, order=order(buyer_tax_id=tax_id)), mapping)).payload[
                "account"
            ]
            assert account == {
                "kind": "retail",
                "key": "retail:trendyol",
                "name": "Perakende Müşteri (trendyol)",
                "code": "120.01.001",
            }

    def test_a_buyer_with_a_vkn_is_a_b2b_contact_even_under_the_retail_rule(self) -> None:
        mapping = MappingConfig.model_validate({"customers": {"consumers": "retail"}})
        planned = only(plan(OrderPaid(occurred_at=AT, order=order(buyer_tax_id="3880000006")), mapping))
        assert planned.payload["account"]["kind"] == "company"
        assert planned.payload["account"]["key"] == "vkn:3880000006"
        # The invoice still names the buyer: the account is the accounting side only.
        assert planned.payload["order"]["buyer"]["tax_id"] == "3880000006"


class TestCommission:
    payout = Payout(
        source="trendyol",
        source_ref="SET-9",
        paid_at=AT,
        amount=Money(amount="850.00"),
        gross=Money(amount="1000.00"),
        fees=Money(amount="150.00"),
    )
    payment = Payment(
        source="stripe", source_ref="ch_1", captured_at=AT, amount=Money(amount="100"), fee=Money(amount="3.20")
    )

    @staticmethod
    def sides(journal: dict[str, Any]) -> list[tuple[str, str, str]]:
        return [(line["account"], line["debit"], line["credit"]) for line in journal["lines"]]

    def test_by_default_fees_are_left_to_the_marketplaces_invoice(self) -> None:
        settlement = only(plan(PayoutPaid(occurred_at=AT, payout=self.payout), MappingConfig()))
        assert self.sides(settlement.payload["journal"]) == [("102", "850.00", "0"), ("120", "0", "850.00")]
        # No separate fee document, and never a line on the sales invoice.
        assert [d.type for d in plan(PaymentCaptured(occurred_at=AT, payment=self.payment), MappingConfig())] == [
            DocumentType.COLLECTION
        ]

    def test_journal_treatment_books_the_fee_on_the_tenants_accounts(self) -> None:
        mapping = MappingConfig.model_validate(
            {
                "commission": {"treatment": "journal", "fee_account": "760.01"},
                "sources": {"trendyol": {"commission": {"treatment": "journal", "receivable_account": "120.02"}}},
            }
        )
        settlement = only(plan(PayoutPaid(occurred_at=AT, payout=self.payout), mapping))
        assert self.sides(settlement.payload["journal"]) == [
            ("102", "850.00", "0"),
            ("320", "150.00", "0"),
            ("120.02", "0", "1000.00"),
        ]
        collection, fee = plan(PaymentCaptured(occurred_at=AT, payment=self.payment), mapping)
        assert collection.type is DocumentType.COLLECTION
        assert (fee.type, fee.source_ref) == (DocumentType.JOURNAL_ENTRY, "stripe:ch_1:fee")
        assert self.sides(fee.payload["journal"]) == [("760.01", "3.20", "0"), ("120", "0", "3.20")]
