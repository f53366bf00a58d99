"""Stripe: Stripe-Signature (t=, v1=) verification with 300 s tolerance, and charges/refunds/payouts parsing."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutabik.model import PaymentCaptured, PayoutPaid, RefundCreated
from mutabik.sources import get_source
from mutabik.sources.exceptions import PayloadError, SignatureError
from mutabik.sources.stripe import StripeSource

from ._support import (
    CONTEXT,
    FUZZ,
    SECRETS,
    SIGNED_AT,
    delivery,
    dumps,
    frozen,
    mutations,
    parse_only_payload_errors,
    payload,
    retouched,
    sample_delivery,
)

SECRET = SECRETS["stripe"]


def stripe_signed(body: bytes, secret: str = SECRET, at: int | None = None, extra: str = "") -> dict[str, str]:
    """Sign as Stripe does: HMAC-SHA256 hex of `{t}.{body}` (https://docs.stripe.com/webhooks#verify-manually)."""
    t = str(at if at is not None else int(SIGNED_AT.timestamp()))
    v1 = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},{extra}v1={v1},v0=ignored"}


def fixture_event(kind: str, obj: object) -> bytes:
    return dumps({"id": "evt_fixture", "type": kind, "created": 1234567890, "data": {"object": obj}})


@pytest.fixture
def source() -> StripeSource:
    return StripeSource(clock=frozen())


def test_module_is_discovered() -> None:
    assert isinstance(get_source("stripe"), StripeSource)


def test_delivery_signed_as_stripe_signs_verifies(source: StripeSource) -> None:
    # GIVEN a body signed the way Stripe signs it, with a rolled secret's signature listed first
    body = fixture_event("charge.succeeded", payload("stripe", "charge.json"))
    headers = stripe_signed(body, extra="v1=" + "0" * 64 + ",")
    # WHEN it is verified THEN nothing is raised
    source.verify(delivery("stripe", body, headers), SECRET)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda d: retouched(d, body=d.body + b" "), id="tampered-body"),
        pytest.param(lambda d: retouched(d, headers={}), id="missing-header"),
        pytest.param(lambda d: retouched(d, headers={"stripe-signature": "t=1768469400"}), id="no-v1"),
    ],
)
def test_tampered_deliveries_are_refused(source: StripeSource, tamper: object) -> None:
    # GIVEN the signed sample, then tampered with
    d = tamper(sample_delivery("stripe", "charge-succeeded"))  # type: ignore[operator]
    # WHEN it is verified THEN it is refused
    with pytest.raises(SignatureError):
        source.verify(d, SECRET)


def test_wrong_secret_is_refused(source: StripeSource) -> None:
    with pytest.raises(SignatureError):
        source.verify(sample_delivery("stripe", "charge-succeeded"), "whsec_other")


@pytest.mark.parametrize("skew", [timedelta(seconds=301), timedelta(seconds=-301)])
def test_stale_or_future_timestamp_is_refused(skew: timedelta) -> None:
    # GIVEN a clock more than 300 s from the signed timestamp
    source = StripeSource(clock=frozen(SIGNED_AT + skew))
    # WHEN the sample is verified THEN it is refused
    with pytest.raises(SignatureError, match="tolerance"):
        source.verify(sample_delivery("stripe", "charge-succeeded"), SECRET)


def test_timestamp_within_tolerance_verifies() -> None:
    StripeSource(clock=frozen(SIGNED_AT + timedelta(seconds=299))).verify(
        sample_delivery("stripe", "charge-succeeded"), SECRET
    )


def test_delivery_id_is_the_event_id_on_every_retry(source: StripeSource) -> None:
    # GIVEN the same event delivered again later, signed with a new timestamp
    first = sample_delivery("stripe", "charge-succeeded")
    retry = retouched(first, headers=stripe_signed(first.body, at=int(SIGNED_AT.timestamp()) + 3600))
    # THEN both have the event id as delivery id
    assert source.delivery_id(first) == source.delivery_id(retry) == "evt_3QdemoTRY0001"


def test_charge_succeeded_is_a_payment_with_its_fee(source: StripeSource) -> None:
    # WHEN the sample charge.succeeded (balance transaction expanded) is parsed
    [event] = source.parse(sample_delivery("stripe", "charge-succeeded"), CONTEXT)
    # THEN it is a payment of 1640.00 TRY for the shop's order, and amount − fee is what the balance got
    assert isinstance(event, PaymentCaptured)
    payment = event.payment
    assert payment.order_ref == "5800000000001"
    assert payment.amount.amount == Decimal("1640.00")
    assert payment.amount.currency == "TRY"
    assert payment.fee is not None
    assert payment.amount.amount - payment.fee.amount == Decimal("1585.88")


def test_real_charge_fixture_with_its_balance_transaction_adds_up(source: StripeSource) -> None:
    # GIVEN Stripe's own charge fixture with its balance transaction expanded
    charge = payload("stripe", "charge.json")
    txn = payload("stripe", "balance_transaction.json")
    charge["balance_transaction"] = txn
    charge["captured"] = True
    # WHEN parsed as charge.succeeded
    [event] = source.parse(delivery("stripe", fixture_event("charge.succeeded", charge)), CONTEXT)
    # THEN amount − fee = net, in major units
    assert isinstance(event, PaymentCaptured)
    assert event.payment.fee is not None
    assert event.payment.amount.amount - event.payment.fee.amount == Decimal(txn["net"]) / 100
    assert event.payment.order_ref == "ch_1PgafuB7WZ01zgkWXYmPNZs8"  # no metadata, no PaymentIntent


def test_uncaptured_charge_is_no_payment_yet(source: StripeSource) -> None:
    # Stripe's fixture charge is an authorization (captured: false)
    body = fixture_event("charge.succeeded", payload("stripe", "charge.json"))
    assert source.parse(delivery("stripe", body), CONTEXT) == []


def test_charge_refunded_lists_each_refund(source: StripeSource) -> None:
    [event] = source.parse(sample_delivery("stripe", "charge-refunded"), CONTEXT)
    assert isinstance(event, RefundCreated)
    assert event.refund.source_ref == "re_3QdemoTRY0001"
    assert event.refund.order_ref == "5800000000001"
    assert event.refund.amount.amount == Decimal("250.00")


def test_charge_refunded_without_listed_refunds_refunds_the_total(source: StripeSource) -> None:
    # GIVEN a newer API version's charge.refunded: no refunds list, only amount_refunded
    charge = payload("stripe", "charge.json")
    charge.update(amount_refunded=40, refunds=None)
    [event] = source.parse(delivery("stripe", fixture_event("charge.refunded", charge)), CONTEXT)
    assert isinstance(event, RefundCreated)
    assert event.refund.amount.amount == Decimal("0.40")
    assert event.refund.source_ref == "ch_1PgafuB7WZ01zgkWXYmPNZs8:refunded:40"


def test_real_refund_fixture(source: StripeSource) -> None:
    body = fixture_event("refund.created", payload("stripe", "refund.json"))
    [event] = source.parse(delivery("stripe", body), CONTEXT)
    assert isinstance(event, RefundCreated)
    assert event.refund.amount.amount == Decimal("1.00")
    assert event.refund.amount.currency == "USD"
    assert event.refund.order_ref == "ch_1PgafuB7WZ01zgkWXYmPNZs8"


def test_payout_paid_gross_less_fees_is_net(source: StripeSource) -> None:
    [event] = source.parse(sample_delivery("stripe", "payout-paid"), CONTEXT)
    assert isinstance(event, PayoutPaid)
    payout = event.payout
    assert payout.gross is not None
    assert payout.fees is not None
    assert payout.gross.amount - payout.fees.amount == payout.amount.amount == Decimal("1585.88")


def test_real_payout_fixture(source: StripeSource) -> None:
    [event] = source.parse(delivery("stripe", fixture_event("payout.paid", payload("stripe", "payout.json"))), CONTEXT)
    assert isinstance(event, PayoutPaid)
    assert event.payout.amount.amount == Decimal("11.00")


def test_zero_decimal_currency(source: StripeSource) -> None:
    charge = payload("stripe", "charge.json")
    charge.update(currency="jpy", amount=1500, captured=True)
    [event] = source.parse(delivery("stripe", fixture_event("charge.succeeded", charge)), CONTEXT)
    assert isinstance(event, PaymentCaptured)
    assert event.payment.amount.amount == Decimal(1500)


def test_other_event_types_are_taken_without_events(source: StripeSource) -> None:
    assert source.parse(delivery("stripe", payload("stripe", "event.json")), CONTEXT) == []


def test_an_invalid_charge_names_the_field(source: StripeSource) -> None:
    charge = payload("stripe", "charge.json")
    charge["amount"] = "lots"
    with pytest.raises(PayloadError) as caught:
        source.parse(delivery("stripe", fixture_event("charge.succeeded", charge)), CONTEXT)
    assert caught.value.path == "data.object.amount"


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(body: bytes) -> None:
    parse_only_payload_errors(StripeSource(), delivery("stripe", body))


@FUZZ
@given(mutations(payload("stripe", "charge.json")), st.sampled_from(["charge.succeeded", "charge.refunded"]))
def test_fuzz_near_miss_charges(charge: object, kind: str) -> None:
    parse_only_payload_errors(StripeSource(), delivery("stripe", fixture_event(kind, charge)))


@FUZZ
@given(mutations(payload("stripe", "payout.json")))
def test_fuzz_near_miss_payouts(payout: object) -> None:
    parse_only_payload_errors(StripeSource(), delivery("stripe", fixture_event("payout.paid", payout)))
