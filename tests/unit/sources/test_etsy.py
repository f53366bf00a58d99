"""Etsy: Standard Webhooks verification (webhook-id / -timestamp / -signature) and order notifications."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutabik.model import OrderCancelled, OrderPaid, ShipmentCreated
from mutabik.sources import get_source
from mutabik.sources.etsy import EtsySource
from mutabik.sources.exceptions import PayloadError, SignatureError

from ._support import (
    CONTEXT,
    FUZZ,
    SECRETS,
    SIGNED_AT,
    delivery,
    dumps,
    frozen,
    lines_total,
    mutations,
    parse_only_payload_errors,
    retouched,
    sample_delivery,
)

SECRET = SECRETS["etsy"]
#: The example of the Standard Webhooks spec (standard-webhooks/standard-webhooks, spec and libraries' tests).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def spec_delivery(signature: str = SPEC_SIGNATURE) -> object:
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP), "webhook-signature": signature}
    return delivery("etsy", SPEC_BODY, headers)


@pytest.fixture
def source() -> EtsySource:
    return EtsySource(clock=frozen())


def test_module_is_discovered() -> None:
    assert isinstance(get_source("etsy"), EtsySource)


def test_the_specs_own_example_verifies() -> None:
    # GIVEN the Standard Webhooks example, verified at its own time
    source = EtsySource(clock=frozen(datetime.fromtimestamp(SPEC_TIMESTAMP, tz=UTC)))
    # THEN it verifies, also listed after a signature of a rolled secret
    source.verify(spec_delivery(), SPEC_SECRET)  # type: ignore[arg-type]
    source.verify(spec_delivery("v1,bm90IGl0 " + SPEC_SIGNATURE), SPEC_SECRET)  # type: ignore[arg-type]


def test_sample_signed_with_the_demo_secret_verifies(source: EtsySource) -> None:
    source.verify(sample_delivery("etsy", "order-paid"), SECRET)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda d: retouched(d, body=d.body.replace(b"51234567", b"51234568")), id="tampered-body"),
        pytest.param(lambda d: retouched(d, headers={**d.headers, "webhook-id": "msg_other"}), id="other-id"),
        pytest.param(lambda d: retouched(d, headers={**d.headers, "webhook-signature": ""}), id="no-signature"),
        pytest.param(lambda d: retouched(d, headers={"webhook-signature": "v1,x"}), id="missing-headers"),
        pytest.param(
            lambda d: retouched(d, headers={**d.headers, "webhook-signature": d.headers["webhook-signature"][1:]}),
            id="wrong-version",
        ),
    ],
)
def test_tampered_deliveries_are_refused(source: EtsySource, tamper: object) -> None:
    d = tamper(sample_delivery("etsy", "order-paid"))  # type: ignore[operator]
    with pytest.raises(SignatureError):
        source.verify(d, SECRET)


def test_wrong_secret_is_refused(source: EtsySource) -> None:
    with pytest.raises(SignatureError):
        source.verify(sample_delivery("etsy", "order-paid"), SPEC_SECRET)


def test_stale_timestamp_is_refused() -> None:
    source = EtsySource(clock=frozen(SIGNED_AT + timedelta(minutes=5, seconds=1)))
    with pytest.raises(SignatureError, match="tolerance"):
        source.verify(sample_delivery("etsy", "order-paid"), SECRET)


def test_delivery_id_is_the_webhook_id(source: EtsySource) -> None:
    first = sample_delivery("etsy", "order-paid")
    retry = source.sign(first, SECRET)  # a retry is signed again at another time, with the same webhook-id
    assert source.delivery_id(first) == source.delivery_id(retry) == "msg_2sDemoEtsyPaid0001"


def test_thin_order_paid_yields_no_event_yet(source: EtsySource) -> None:
    # The receipt must be read from resource_url with the shop's token: no amounts in the notification.
    d = sample_delivery("etsy", "order-paid")
    assert source.topic(d) == "order.paid"
    assert source.parse(d, CONTEXT) == []


def test_order_paid_with_its_receipt_adds_up(source: EtsySource) -> None:
    [event] = source.parse(sample_delivery("etsy", "order-paid-with-receipt"), CONTEXT)
    assert isinstance(event, OrderPaid)
    order = event.order
    # lines − discount = what the buyer paid the seller (grand total less the tax Etsy collects itself)
    assert lines_total(order) - order.order_discount == order.total_paid.amount == Decimal("97.00")
    assert order.buyer.tax_id == "2222222222"  # a buyer abroad
    assert {line.kdv_rate for line in order.lines} == {Decimal(0)}


def test_order_canceled_names_the_receipt(source: EtsySource) -> None:
    [event] = source.parse(sample_delivery("etsy", "order-canceled"), CONTEXT)
    assert isinstance(event, OrderCancelled)
    assert event.order_ref == "3456789012"


def test_order_shipped_is_a_shipment_of_the_receipt(source: EtsySource) -> None:
    [event] = source.parse(sample_delivery("etsy", "order-shipped"), CONTEXT)
    assert isinstance(event, ShipmentCreated)
    assert event.shipment.order_ref == "3456789012"


def test_resource_url_without_a_receipt_is_refused(source: EtsySource) -> None:
    d = sample_delivery("etsy", "order-canceled")
    body = json.loads(d.body)
    body["resource_url"] = "https://openapi.etsy.com/v3/application/shops/1"
    with pytest.raises(PayloadError) as caught:
        source.parse(retouched(d, body=dumps(body)), CONTEXT)
    assert caught.value.path == "resource_url"


def _receipt_notification() -> object:
    return json.loads(sample_delivery("etsy", "order-paid-with-receipt").body)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(body: bytes) -> None:
    parse_only_payload_errors(EtsySource(), delivery("etsy", body, {"webhook-timestamp": "1768469400"}))


@FUZZ
@given(mutations(_receipt_notification()))
def test_fuzz_near_miss_notifications(body: object) -> None:
    parse_only_payload_errors(EtsySource(), delivery("etsy", dumps(body), {"webhook-timestamp": "1768469400"}))
