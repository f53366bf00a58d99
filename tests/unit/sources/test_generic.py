"""generic: our own signed canonical-event webhook for the seller's apps."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutabik.model import OrderPaid, PaymentCaptured, PayoutPaid, RefundCreated, ShipmentCreated
from mutabik.sources import get_source
from mutabik.sources.exceptions import PayloadError, SignatureError
from mutabik.sources.generic import MAX_EVENTS, GenericSource

from ._support import (
    CONTEXT,
    FUZZ,
    SECRETS,
    SIGNED_AT,
    delivery,
    dumps,
    frozen,
    json_values,
    lines_total,
    mutations,
    parse_only_payload_errors,
    retouched,
    sample_delivery,
)

SECRET = SECRETS["generic"]


def seller_signed(body: bytes, delivery_id: str = "pos-1", secret: str = SECRET) -> dict[str, str]:
    """Sign as docs/webhooks.md tells a seller's app to: hex HMAC-SHA256 of `{timestamp}.{body}`."""
    timestamp = str(int(SIGNED_AT.timestamp()))
    v1 = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Mutabik-Delivery-Id": delivery_id, "X-Mutabik-Timestamp": timestamp, "X-Mutabik-Signature": f"v1={v1}"}


@pytest.fixture
def source() -> GenericSource:
    return GenericSource(clock=frozen())


def test_module_is_discovered() -> None:
    assert isinstance(get_source("generic"), GenericSource)


def test_delivery_signed_as_documented_verifies(source: GenericSource) -> None:
    body = sample_delivery("generic", "batch").body
    source.verify(delivery("generic", body, seller_signed(body)), SECRET)


def test_rolled_secret_signatures_may_be_listed(source: GenericSource) -> None:
    body = b"[]"
    headers = seller_signed(body)
    headers["X-Mutabik-Signature"] = "v1=" + "0" * 64 + "," + headers["X-Mutabik-Signature"]
    source.verify(delivery("generic", body, headers), SECRET)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda d: retouched(d, body=d.body.replace(b"1050.00", b"10.00")), id="tampered-body"),
        pytest.param(lambda d: retouched(d, headers={**d.headers, "x-mutabik-signature": ""}), id="no-signature"),
        pytest.param(
            lambda d: retouched(d, headers={k: v for k, v in d.headers.items() if k != "x-mutabik-delivery-id"}),
            id="no-delivery-id",
        ),
        pytest.param(
            lambda d: retouched(d, headers={k: v for k, v in d.headers.items() if k != "x-mutabik-timestamp"}),
            id="no-timestamp",
        ),
        pytest.param(
            lambda d: retouched(d, headers={**d.headers, "x-mutabik-timestamp": str(int(SIGNED_AT.timestamp()) + 1)}),
            id="other-timestamp",
        ),
    ],
)
def test_tampered_deliveries_are_refused(source: GenericSource, tamper: object) -> None:
    d = tamper(sample_delivery("generic", "order-paid"))  # type: ignore[operator]
    with pytest.raises(SignatureError):
        source.verify(d, SECRET)


def test_wrong_secret_is_refused(source: GenericSource) -> None:
    with pytest.raises(SignatureError):
        source.verify(sample_delivery("generic", "order-paid"), "not-the-secret")


def test_stale_timestamp_is_refused() -> None:
    with pytest.raises(SignatureError, match="tolerance"):
        GenericSource(clock=frozen(SIGNED_AT + timedelta(seconds=301))).verify(
            sample_delivery("generic", "order-paid"), SECRET
        )


def test_delivery_id_is_the_senders_id_on_every_retry(source: GenericSource) -> None:
    first = sample_delivery("generic", "order-paid")
    retry = GenericSource(clock=frozen(SIGNED_AT + timedelta(minutes=10))).sign(first, SECRET)
    assert source.delivery_id(first) == source.delivery_id(retry) == "pos-731-paid"


def test_one_event_parses_as_it_was_sent(source: GenericSource) -> None:
    [event] = source.parse(sample_delivery("generic", "order-paid"), CONTEXT)
    assert isinstance(event, OrderPaid)
    assert lines_total(event.order) == event.order.total_paid.amount == Decimal("1050.00")
    assert event.order.buyer.tax_id == "1234567890"


def test_a_batch_parses_in_order_with_amounts_that_add_up(source: GenericSource) -> None:
    refund, payment, shipment, payout = source.parse(sample_delivery("generic", "batch"), CONTEXT)
    assert isinstance(refund, RefundCreated)
    assert isinstance(payment, PaymentCaptured)
    assert isinstance(shipment, ShipmentCreated)
    assert isinstance(payout, PayoutPaid)
    assert refund.refund.amount.amount == sum(line.amount for line in refund.refund.lines)
    assert payout.payout.gross is not None
    assert payout.payout.fees is not None
    assert payout.payout.gross.amount - payout.payout.fees.amount == payout.payout.amount.amount
    assert {refund.refund.order_ref, payment.payment.order_ref, shipment.shipment.order_ref} == {"POS-2026-000731"}


def test_an_invalid_event_names_the_field(source: GenericSource) -> None:
    body = json.loads(sample_delivery("generic", "order-paid").body)
    body["order"]["lines"][1]["kdv_rate"] = "18"
    with pytest.raises(PayloadError) as caught:
        source.parse(delivery("generic", dumps(body)), CONTEXT)
    assert caught.value.path == "order.paid.order.lines.1.kdv_rate"


def test_an_invalid_tax_id_is_not_echoed(source: GenericSource) -> None:
    body = json.loads(sample_delivery("generic", "order-paid").body)
    body["order"]["buyer"]["tax_id"] = "12345678901"
    with pytest.raises(PayloadError) as caught:
        source.parse(delivery("generic", dumps(body)), CONTEXT)
    assert "12345678901" not in str(caught.value)


@pytest.mark.parametrize("body", [b"[]", dumps([{"kind": "order.paid"}] * (MAX_EVENTS + 1)), b'{"kind": "x"}'])
def test_empty_oversized_or_unknown_bodies_are_refused(source: GenericSource, body: bytes) -> None:
    with pytest.raises(PayloadError):
        source.parse(delivery("generic", body), CONTEXT)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(body: bytes) -> None:
    parse_only_payload_errors(GenericSource(), delivery("generic", body))


@FUZZ
@given(json_values)
def test_fuzz_arbitrary_json(body: object) -> None:
    parse_only_payload_errors(GenericSource(), delivery("generic", dumps(body)))


@FUZZ
@given(mutations(json.loads(sample_delivery("generic", "batch").body)))
def test_fuzz_near_miss_batches(body: object) -> None:
    parse_only_payload_errors(GenericSource(), delivery("generic", dumps(body)))
