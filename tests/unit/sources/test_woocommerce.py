"""WooCommerce: X-WC-Webhook-Signature verification, the creation ping, and order topics into events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutabik.model import OrderCancelled, OrderPaid, OrderPlaced, RefundCreated
from mutabik.sources import get_source
from mutabik.sources.exceptions import PayloadError, SignatureError
from mutabik.sources.woocommerce import WooCommerceSource

from ._support import (
    CONTEXT,
    FUZZ,
    SECRETS,
    delivery,
    dumps,
    lines_total,
    mutations,
    parse_only_payload_errors,
    retouched,
    sample_delivery,
)

SECRET = SECRETS["woocommerce"]


def wc_signed(body: bytes, topic: str = "order.updated", secret: str = SECRET) -> dict[str, str]:
    """Sign as WC_Webhook::generate_signature does: base64(HMAC-SHA256(secret, body))."""
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"X-WC-Webhook-Signature": signature, "X-WC-Webhook-Topic": topic, "X-WC-Webhook-ID": "17"}


def sample_order() -> dict[str, object]:
    order: dict[str, object] = json.loads(sample_delivery("woocommerce", "order-updated").body)
    return order


@pytest.fixture
def source() -> WooCommerceSource:
    return WooCommerceSource()


def test_module_is_discovered() -> None:
    assert isinstance(get_source("woocommerce"), WooCommerceSource)


def test_delivery_signed_as_woocommerce_signs_verifies(source: WooCommerceSource) -> None:
    body = dumps(sample_order())
    source.verify(delivery("woocommerce", body, wc_signed(body)), SECRET)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda d: retouched(d, body=d.body.replace(b"1466.00", b"1.00")), id="tampered-body"),
        pytest.param(lambda d: retouched(d, headers={"x-wc-webhook-topic": "order.updated"}), id="missing-header"),
    ],
)
def test_tampered_deliveries_are_refused(source: WooCommerceSource, tamper: object) -> None:
    d = tamper(sample_delivery("woocommerce", "order-updated"))  # type: ignore[operator]
    with pytest.raises(SignatureError):
        source.verify(d, SECRET)


def test_wrong_secret_is_refused(source: WooCommerceSource) -> None:
    with pytest.raises(SignatureError):
        source.verify(sample_delivery("woocommerce", "order-updated"), "another-secret")


def test_creation_ping_is_answered_200_without_events(source: WooCommerceSource) -> None:
    # GIVEN the unsigned ping WooCommerce sends when the webhook is saved
    ping = sample_delivery("woocommerce", "ping")
    # WHEN it goes through verify / parse / reply
    source.verify(ping, SECRET)
    # THEN it is taken, yields nothing, and gets a 200
    assert source.parse(ping, CONTEXT) == []
    assert source.reply(ping, duplicate=False).status_code == 200
    assert source.delivery_id(ping) == "ping:17"


def test_an_unsigned_body_that_is_not_the_ping_is_refused(source: WooCommerceSource) -> None:
    with pytest.raises(SignatureError):
        source.verify(delivery("woocommerce", b"webhook_id=17&status=completed"), SECRET)


def test_delivery_id_is_stable_across_resends(source: WooCommerceSource) -> None:
    # GIVEN the same delivery re-sent: WooCommerce gives it a new X-WC-Webhook-Delivery-ID
    first = sample_delivery("woocommerce", "order-updated")
    resend = retouched(first, headers={**first.headers, "x-wc-webhook-delivery-id": "another"})
    # THEN the delivery id does not change; another body gives another id
    assert source.delivery_id(first) == source.delivery_id(resend)
    assert source.delivery_id(first) != source.delivery_id(sample_delivery("woocommerce", "order-created"))


def test_paid_order_adds_up_to_what_the_buyer_paid(source: WooCommerceSource) -> None:
    # WHEN the processing order is parsed
    [event] = source.parse(sample_delivery("woocommerce", "order-updated"), CONTEXT)
    # THEN it is paid, tax-inclusive lines add up to the total, KDV 20 %, the TCKN from the order's meta
    assert isinstance(event, OrderPaid)
    order = event.order
    assert order.prices_include_tax
    assert lines_total(order) - order.order_discount == order.total_paid.amount == Decimal("1466.00")
    assert {line.kdv_rate for line in order.lines} == {Decimal(20)}
    assert order.buyer.tax_id == "10000000146"
    assert order.buyer.tax_office == "Çankaya"
    assert order.web_sale is not None
    assert order.web_sale.payment_method == "KREDIKARTI/BANKAKARTI"


def test_pending_order_is_placed(source: WooCommerceSource) -> None:
    [event] = source.parse(sample_delivery("woocommerce", "order-created"), CONTEXT)
    assert isinstance(event, OrderPlaced)


def test_cancelled_order(source: WooCommerceSource) -> None:
    [event] = source.parse(sample_delivery("woocommerce", "order-updated-cancelled"), CONTEXT)
    assert isinstance(event, OrderCancelled)
    assert event.order_ref == "4127"


def test_refund_listed_on_the_order(source: WooCommerceSource) -> None:
    paid, refund = source.parse(sample_delivery("woocommerce", "order-updated-refund"), CONTEXT)
    assert isinstance(paid, OrderPaid)
    assert isinstance(refund, RefundCreated)
    assert refund.refund.order_ref == "4127"
    assert refund.refund.amount.amount == Decimal("192.00")


def test_negative_fee_is_an_order_discount(source: WooCommerceSource) -> None:
    order = sample_order()
    order["fee_lines"] = [{"name": "İndirim", "total": "-50.00", "total_tax": "-10.00"}]
    order["total"] = "1406.00"
    [event] = source.parse(delivery("woocommerce", dumps(order), wc_signed(b"")), CONTEXT)
    assert isinstance(event, OrderPaid)
    assert event.order.order_discount == Decimal("60.00")
    assert lines_total(event.order) - event.order.order_discount == Decimal("1406.00")


def test_invalid_tax_id_falls_back_to_the_consumer_placeholder(source: WooCommerceSource) -> None:
    order = sample_order()
    order["meta_data"] = [{"key": "_billing_tckn", "value": "12345678901"}]
    [event] = source.parse(delivery("woocommerce", dumps(order), wc_signed(b"")), CONTEXT)
    assert isinstance(event, OrderPaid)
    assert event.order.buyer.tax_id == "11111111111"


def test_other_topics_are_taken_without_events(source: WooCommerceSource) -> None:
    assert source.parse(delivery("woocommerce", b"{}", wc_signed(b"", "product.updated")), CONTEXT) == []


def test_an_invalid_order_names_the_field_not_the_buyer(source: WooCommerceSource) -> None:
    order = sample_order()
    order["line_items"][0]["quantity"] = "Mehmet Demir"  # type: ignore[index]
    with pytest.raises(PayloadError) as caught:
        source.parse(delivery("woocommerce", dumps(order), wc_signed(b"")), CONTEXT)
    assert caught.value.path == "line_items.0.quantity"
    assert "Mehmet" not in str(caught.value)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(body: bytes) -> None:
    parse_only_payload_errors(WooCommerceSource(), delivery("woocommerce", body, wc_signed(b"")))


@FUZZ
@given(mutations(sample_order()))
def test_fuzz_near_miss_orders(order: object) -> None:
    parse_only_payload_errors(WooCommerceSource(), delivery("woocommerce", dumps(order), wc_signed(b"")))
