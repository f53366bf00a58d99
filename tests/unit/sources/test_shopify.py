"""Shopify: X-Shopify-Hmac-Sha256 verification, and Shopify's own payloads into events that add up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutabik.model import (
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    PaymentCaptured,
    PayoutPaid,
    RefundCreated,
    ShipmentCreated,
)
from mutabik.sources import get_source
from mutabik.sources.exceptions import PayloadError, SignatureError
from mutabik.sources.shopify import ShopifySource, payout_paid

from ._support import (
    CONTEXT,
    FUZZ,
    SECRETS,
    delivery,
    dumps,
    lines_total,
    mutations,
    parse_only_payload_errors,
    payload,
    retouched,
    sample_delivery,
)

SECRET = SECRETS["shopify"]
ORDER = payload("shopify", "order.json")["order"]
REFUND = payload("shopify", "refund.json")["refund"]


def shopify_signed(body: bytes, topic: str, secret: str = SECRET) -> dict[str, str]:
    """Sign as Shopify does: base64 of the HMAC-SHA256 digest of the raw body with the app's secret."""
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"X-Shopify-Hmac-Sha256": digest, "X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": "wh-1"}


def topic_delivery(topic: str, body: Any) -> Any:
    raw = dumps(body)
    return delivery("shopify", raw, shopify_signed(raw, topic))


@pytest.fixture
def source() -> ShopifySource:
    return ShopifySource()


def test_module_is_discovered() -> None:
    assert isinstance(get_source("shopify"), ShopifySource)


def test_delivery_signed_as_shopify_signs_verifies(source: ShopifySource) -> None:
    source.verify(topic_delivery("orders/paid", ORDER), SECRET)
    source.verify(sample_delivery("shopify", "orders-paid"), SECRET)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda d: retouched(d, body=d.body.replace(b"1640.00", b"16.40")), id="tampered-body"),
        pytest.param(
            lambda d: retouched(d, headers={k: v for k, v in d.headers.items() if k != "x-shopify-hmac-sha256"}),
            id="missing-signature",
        ),
        pytest.param(
            lambda d: retouched(d, headers={k: v for k, v in d.headers.items() if k != "x-shopify-webhook-id"}),
            id="missing-webhook-id",
        ),
    ],
)
def test_tampered_deliveries_are_refused(source: ShopifySource, tamper: Any) -> None:
    with pytest.raises(SignatureError):
        source.verify(tamper(sample_delivery("shopify", "orders-paid")), SECRET)


def test_wrong_secret_is_refused(source: ShopifySource) -> None:
    with pytest.raises(SignatureError):
        source.verify(sample_delivery("shopify", "orders-paid"), "another-app-secret")


def test_delivery_id_is_the_webhook_id_on_every_retry(source: ShopifySource) -> None:
    first = sample_delivery("shopify", "orders-paid")
    retry = retouched(first, headers={**first.headers, "x-shopify-triggered-at": "2026-01-15T10:21:05Z"})
    assert source.delivery_id(first) == source.delivery_id(retry) == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"


def test_demo_order_is_a_turkish_kdv_included_order_that_adds_up(source: ShopifySource) -> None:
    # GIVEN the demo's orders/paid: TRY, KDV 20 % included, a TCKN, shipping and a discount
    body = json.loads(sample_delivery("shopify", "orders-paid").body)
    [event] = source.parse(sample_delivery("shopify", "orders-paid"), CONTEXT)
    assert isinstance(event, OrderPaid)
    order = event.order
    # THEN lines − discounts + shipping = total_price, as Shopify says
    assert order.prices_include_tax
    assert order.currency == "TRY"
    assert lines_total(order) == order.total_paid.amount == Decimal(body["total_price"])
    assert Decimal(body["total_line_items_price"]) - Decimal(body["total_discounts"]) == Decimal(body["subtotal_price"])
    assert {line.kdv_rate for line in order.lines} == {Decimal(20)}
    assert order.buyer.tax_id == "10000000146"
    assert sum(line.discount for line in order.lines) == Decimal(body["total_discounts"])
    assert order.web_sale is not None
    assert order.web_sale.website == "kahve-dukkani.myshopify.com"


def test_real_order_fixture_adds_up(source: ShopifySource) -> None:
    # GIVEN Shopify's own order sample (USD, taxes added on top, free shipping)
    [event] = source.parse(topic_delivery("orders/paid", ORDER), CONTEXT)
    assert isinstance(event, OrderPaid)
    order = event.order
    # THEN what the buyer paid is Shopify's total, which is its line-items total − discounts + tax …
    assert not order.prices_include_tax
    assert order.total_paid.amount == Decimal(ORDER["total_price"]) == Decimal("409.94")
    sender_total = Decimal(ORDER["total_line_items_price"]) - Decimal(ORDER["total_discounts"])
    assert sender_total + Decimal(ORDER["total_tax"]) == order.total_paid.amount
    # … while this docs sample lists three items at 199.00 against a line-items total of 398.00: the parser
    # keeps both as the sender said (the mapper compares lines with total_paid and holds such an order).
    assert lines_total(order) == Decimal("597.00")
    assert order.buyer.tax_id == "2222222222"  # a buyer abroad
    assert order.buyer.email is not None


def test_a_line_removed_by_an_order_edit_is_not_sold(source: ShopifySource) -> None:
    # GIVEN the sample with its second line removed by an order edit (current_quantity 0)
    body = json.loads(dumps(ORDER))
    body["line_items"][1]["current_quantity"] = 0
    [event] = source.parse(topic_delivery("orders/paid", body), CONTEXT)
    assert isinstance(event, OrderPaid)
    # THEN the lines are what Shopify totals: 398.00, and with the tax, what the buyer paid
    assert lines_total(event.order) == Decimal(ORDER["total_line_items_price"])
    assert lines_total(event.order) + Decimal(ORDER["total_tax"]) == event.order.total_paid.amount


def test_orders_create_and_cancelled(source: ShopifySource) -> None:
    [placed] = source.parse(sample_delivery("shopify", "orders-create"), CONTEXT)
    [cancelled] = source.parse(sample_delivery("shopify", "orders-cancelled"), CONTEXT)
    assert isinstance(placed, OrderPlaced)
    assert isinstance(cancelled, OrderCancelled)
    assert cancelled.order_ref == placed.order.source_ref == "5800000000001"


def test_demo_refund_matches_the_money_paid_back(source: ShopifySource) -> None:
    [event] = source.parse(sample_delivery("shopify", "refunds-create"), CONTEXT)
    assert isinstance(event, RefundCreated)
    refund = event.refund
    assert refund.order_ref == "5800000000001"
    # KDV-included shop: the subtotal already holds the tax, so the line is what was paid back
    assert refund.amount.amount == sum(line.amount for line in refund.lines) == Decimal("250.00")


def test_real_refund_fixture(source: ShopifySource) -> None:
    [event] = source.parse(topic_delivery("refunds/create", REFUND), CONTEXT)
    assert isinstance(event, RefundCreated)
    refund = event.refund
    paid_back = sum(Decimal(t["amount"]) for t in REFUND["transactions"] if t["kind"] == "refund")
    assert refund.amount.amount == paid_back == Decimal("209.00")
    assert refund.order_ref == "450789469"
    # no subtotal in this older payload: each returned line is its price plus its tax
    assert [line.amount for line in refund.lines] == [Decimal("202.98"), Decimal("202.98")]


def test_shipping_refund_from_order_adjustments(source: ShopifySource) -> None:
    body = {**REFUND, "order_adjustments": [{"kind": "shipping_refund", "amount": "-5.00", "tax_amount": "-0.30"}]}
    [event] = source.parse(topic_delivery("refunds/create", body), CONTEXT)
    assert isinstance(event, RefundCreated)
    assert event.refund.shipping_refund == Decimal("5.30")


def test_sale_transaction_is_a_payment(source: ShopifySource) -> None:
    [event] = source.parse(sample_delivery("shopify", "order-transactions-create"), CONTEXT)
    assert isinstance(event, PaymentCaptured)
    assert event.payment.order_ref == "5800000000001"
    assert event.payment.amount.amount == Decimal("1640.00")


def test_real_transactions_fixture_authorization_is_no_payment(source: ShopifySource) -> None:
    for transaction in payload("shopify", "transactions.json"):
        assert source.parse(topic_delivery("order_transactions/create", transaction), CONTEXT) == []
    capture = {**payload("shopify", "transaction.json")["transaction"], "kind": "capture"}
    [event] = source.parse(topic_delivery("order_transactions/create", capture), CONTEXT)
    assert isinstance(event, PaymentCaptured)
    assert event.payment.amount.amount == Decimal("409.94")


def test_fulfillment_is_a_shipment(source: ShopifySource) -> None:
    [event] = source.parse(sample_delivery("shopify", "fulfillments-create"), CONTEXT)
    assert isinstance(event, ShipmentCreated)
    assert event.shipment.order_ref == "5800000000001"
    assert event.shipment.tracking_number == "YK123456789TR"
    assert [line.quantity for line in event.shipment.lines] == [Decimal(1), Decimal(2)]


def test_real_fulfillment_fixture(source: ShopifySource) -> None:
    fulfillment = ORDER["fulfillments"][0]
    assert source.parse(topic_delivery("fulfillments/create", fulfillment), CONTEXT) == []  # status failure
    [event] = source.parse(topic_delivery("fulfillments/update", {**fulfillment, "status": "success"}), CONTEXT)
    assert isinstance(event, ShipmentCreated)
    assert event.shipment.order_ref == "450789469"


def test_real_payout_fixture_gross_less_fees_is_net() -> None:
    [event] = payout_paid(payload("shopify", "payout.json")["payout"])
    assert isinstance(event, PayoutPaid)
    payout = event.payout
    assert payout.gross is not None
    assert payout.fees is not None
    assert payout.gross.amount - payout.fees.amount == payout.amount.amount == Decimal("41.90")


def test_payouts_not_yet_paid_yield_nothing() -> None:
    unpaid = [p for p in payload("shopify", "payouts.json")["payouts"] if p["status"] != "paid"]
    assert unpaid
    assert all(payout_paid(p) == [] for p in unpaid)


def test_an_order_listing_without_line_items_names_the_field(source: ShopifySource) -> None:
    listed = payload("shopify", "orders.json")["orders"][0]
    with pytest.raises(PayloadError) as caught:
        source.parse(topic_delivery("orders/create", listed), CONTEXT)
    assert caught.value.path == "line_items"


def test_missing_topic_is_refused_and_other_topics_are_taken(source: ShopifySource) -> None:
    with pytest.raises(PayloadError):
        source.parse(delivery("shopify", dumps(ORDER)), CONTEXT)
    assert source.parse(topic_delivery("products/update", {"id": 1}), CONTEXT) == []


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["orders/paid", "refunds/create", "fulfillments/create"]))
def test_fuzz_arbitrary_bytes(body: bytes, topic: str) -> None:
    parse_only_payload_errors(ShopifySource(), delivery("shopify", body, {"X-Shopify-Topic": topic}))


@FUZZ
@given(mutations(json.loads(sample_delivery("shopify", "orders-paid").body)))
def test_fuzz_near_miss_orders(body: Any) -> None:
    parse_only_payload_errors(ShopifySource(), delivery("shopify", dumps(body), {"X-Shopify-Topic": "orders/paid"}))


@FUZZ
@given(mutations(REFUND), st.sampled_from(["refunds/create", "order_transactions/create", "fulfillments/update"]))
def test_fuzz_near_miss_refunds_and_others(body: Any, topic: str) -> None:
    parse_only_payload_errors(ShopifySource(), delivery("shopify", dumps(body), {"X-Shopify-Topic": topic}))
