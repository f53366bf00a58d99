"""PayTR: the form callback's hash, the plain `OK` reply, and successful payments into events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutabik.model import PaymentCaptured
from mutabik.sources import get_source
from mutabik.sources.exceptions import PayloadError, SignatureError
from mutabik.sources.paytr import PaytrSource

from ._support import CONTEXT, FUZZ, SECRETS, delivery, parse_only_payload_errors, retouched, sample_delivery

SECRET = SECRETS["paytr"]
KEYS = json.loads(SECRET)


def paytr_hash(form: dict[str, str], key: str = KEYS["merchant_key"], salt: str = KEYS["merchant_salt"]) -> str:
    """As PayTR's sample: base64_encode(hash_hmac('sha256', oid.salt.status.total_amount, key, true))."""
    message = form["merchant_oid"] + salt + form["status"] + form["total_amount"]
    return base64.b64encode(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()).decode()


def form_of(name: str) -> dict[str, str]:
    return dict(parse_qsl(sample_delivery("paytr", name).body.decode()))


@pytest.fixture
def source() -> PaytrSource:
    return PaytrSource()


def test_module_is_discovered() -> None:
    assert isinstance(get_source("paytr"), PaytrSource)


def test_callback_hashed_as_paytr_hashes_verifies(source: PaytrSource) -> None:
    form = form_of("payment-success")
    form["hash"] = paytr_hash(form)
    source.verify(delivery("paytr", urlencode(form)), SECRET)
    source.verify(sample_delivery("paytr", "payment-success"), SECRET)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"total_amount": "100"}, id="tampered-amount"),
        pytest.param({"status": "failed"}, id="tampered-status"),
        pytest.param({"hash": ""}, id="empty-hash"),
    ],
)
def test_tampered_callbacks_are_refused(source: PaytrSource, change: dict[str, str]) -> None:
    form = {**form_of("payment-success"), **change}
    with pytest.raises(SignatureError):
        source.verify(delivery("paytr", urlencode(form)), SECRET)


def test_missing_fields_are_refused(source: PaytrSource) -> None:
    form = form_of("payment-success")
    del form["merchant_oid"]
    with pytest.raises(SignatureError):
        source.verify(delivery("paytr", urlencode(form)), SECRET)


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(json.dumps({**KEYS, "merchant_salt": "other"}), id="wrong-salt"),
        pytest.param(json.dumps({**KEYS, "merchant_key": "other"}), id="wrong-key"),
        pytest.param("demo-paytr-key", id="not-json"),
        pytest.param(json.dumps({"merchant_key": "x"}), id="no-salt"),
    ],
)
def test_wrong_secret_is_refused(source: PaytrSource, secret: str) -> None:
    with pytest.raises(SignatureError):
        source.verify(sample_delivery("paytr", "payment-success"), secret)


def test_reply_is_plain_ok_even_for_a_repeat(source: PaytrSource) -> None:
    d = sample_delivery("paytr", "payment-success")
    for duplicate in (False, True):
        reply = source.reply(d, duplicate=duplicate)
        assert (reply.status_code, reply.body, reply.content_type) == (200, "OK", "text/plain")


def test_delivery_id_is_the_order_and_status_on_every_retry(source: PaytrSource) -> None:
    first = sample_delivery("paytr", "payment-success")
    retry = retouched(first, headers={**first.headers, "x-forwarded-for": "198.51.100.7"})
    assert source.delivery_id(first) == source.delivery_id(retry) == "SIP5800000000001:success"


def test_successful_payment_is_captured_in_lira(source: PaytrSource) -> None:
    [event] = source.parse(sample_delivery("paytr", "payment-success"), CONTEXT)
    assert isinstance(event, PaymentCaptured)
    assert event.payment.amount.amount == Decimal("1640.00")
    assert event.payment.amount.currency == "TRY"
    assert event.payment.order_ref == "SIP5800000000001"


def test_failed_payment_yields_no_event(source: PaytrSource) -> None:
    d = sample_delivery("paytr", "payment-failed")
    source.verify(d, SECRET)
    assert source.parse(d, CONTEXT) == []


def test_invalid_amount_names_the_field(source: PaytrSource) -> None:
    form = {**form_of("payment-success"), "total_amount": "12.5"}
    with pytest.raises(PayloadError) as caught:
        source.parse(delivery("paytr", urlencode(form)), CONTEXT)
    assert caught.value.path == "total_amount"


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(body: bytes) -> None:
    parse_only_payload_errors(PaytrSource(), delivery("paytr", body))


@FUZZ
@given(st.dictionaries(st.sampled_from([*form_of("payment-success"), "x"]), st.text(max_size=30), max_size=8))
def test_fuzz_arbitrary_forms(form: dict[str, Any]) -> None:
    source = PaytrSource()
    d = delivery("paytr", urlencode(form))
    parse_only_payload_errors(source, d)
    with pytest.raises(SignatureError):
        source.verify(d, SECRET)
