"""iyzico: X-IYZ-SIGNATURE-V3 against iyzico's own test vectors, and payment notifications."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutabik.model import PaymentCaptured
from mutabik.sources import get_source
from mutabik.sources.exceptions import PayloadError, SignatureError
from mutabik.sources.iyzico import SIGNED_FIELDS, IyzicoSource

from ._support import (
    CONTEXT,
    FUZZ,
    SECRETS,
    delivery,
    dumps,
    mutations,
    parse_only_payload_errors,
    payload,
    retouched,
    sample_delivery,
)

VECTORS = payload("iyzico", "x-iyz-signature-v3.vectors.json")
SANDBOX_SECRET: str = VECTORS["sandbox_secret_key"]
SECRET = SECRETS["iyzico"]


def vector_delivery(vector: dict[str, Any]) -> Any:
    return delivery("iyzico", dumps(vector["payload"]), {"X-IYZ-SIGNATURE-V3": vector["expected_X-IYZ-SIGNATURE-V3"]})


@pytest.fixture
def source() -> IyzicoSource:
    return IyzicoSource()


def test_module_is_discovered() -> None:
    assert isinstance(get_source("iyzico"), IyzicoSource)


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["format"])
def test_iyzicos_test_vectors_verify(source: IyzicoSource, vector: dict[str, Any]) -> None:
    # GIVEN a notification and the signature iyzico's own sample computes for it with the sandbox key
    # THEN it verifies, and the fields we sign are the ones the vector lists
    source.verify(vector_delivery(vector), SANDBOX_SECRET)
    fmt = "hpp" if "token" in vector["payload"] else "direct"
    assert list(SIGNED_FIELDS[fmt]) == vector["fields"]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["format"])
def test_a_tampered_vector_is_refused(source: IyzicoSource, vector: dict[str, Any]) -> None:
    changed = {**vector["payload"], "status": "FAILURE"}
    with pytest.raises(SignatureError):
        source.verify(retouched(vector_delivery(vector), body=dumps(changed)), SANDBOX_SECRET)


def test_signature_in_upper_case_hex_verifies(source: IyzicoSource) -> None:
    vector = VECTORS["vectors"][0]
    d = vector_delivery(vector)
    upper = retouched(d, headers={"x-iyz-signature-v3": vector["expected_X-IYZ-SIGNATURE-V3"].upper()})
    source.verify(upper, SANDBOX_SECRET)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda d: retouched(d, headers={}), id="missing-header"),
        pytest.param(lambda d: retouched(d, body=b"not json"), id="unreadable-body"),
        pytest.param(lambda d: retouched(d, body=d.body.replace(b'"SUCCESS"', b'"FAILURE"')), id="tampered-body"),
    ],
)
def test_tampered_deliveries_are_refused(source: IyzicoSource, tamper: Any) -> None:
    with pytest.raises(SignatureError):
        source.verify(tamper(sample_delivery("iyzico", "api-auth")), SECRET)


def test_wrong_secret_is_refused(source: IyzicoSource) -> None:
    with pytest.raises(SignatureError):
        source.verify(sample_delivery("iyzico", "api-auth"), SANDBOX_SECRET)


def test_subscription_notifications_are_not_taken(source: IyzicoSource) -> None:
    body = {"iyziEventType": "subscription.order.success", "subscriptionReferenceCode": "x", "status": "SUCCESS"}
    with pytest.raises(SignatureError):
        source.verify(delivery("iyzico", dumps(body), {"X-IYZ-SIGNATURE-V3": "0" * 64}), SECRET)


def test_delivery_id_is_the_reference_code_on_every_retry(source: IyzicoSource) -> None:
    first = sample_delivery("iyzico", "api-auth")
    retry = retouched(first, headers={**first.headers, "x-request-id": "another"})
    assert source.delivery_id(first) == source.delivery_id(retry) == "a9af8e6b-4401-4928-b6b8-40419aaa3d0f:API_AUTH"


def test_payment_with_its_amount_is_captured(source: IyzicoSource) -> None:
    [event] = source.parse(sample_delivery("iyzico", "api-auth"), CONTEXT)
    assert isinstance(event, PaymentCaptured)
    assert event.payment.order_ref == "5800000000001"
    assert event.payment.amount.amount == Decimal("1640.00")
    assert event.payment.source_ref == "22484059"


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["format"])
def test_real_notifications_without_amounts_yield_no_event(source: IyzicoSource, vector: dict[str, Any]) -> None:
    # iyzico's notifications carry ids and the result, not the amount: the detail is a pull
    assert source.parse(vector_delivery(vector), CONTEXT) == []


def test_failed_payment_yields_no_event(source: IyzicoSource) -> None:
    body = json.loads(sample_delivery("iyzico", "api-auth").body)
    body["status"] = "FAILURE"
    assert source.parse(delivery("iyzico", dumps(body)), CONTEXT) == []


def test_invalid_notification_names_the_field(source: IyzicoSource) -> None:
    body = json.loads(sample_delivery("iyzico", "api-auth").body)
    body["paidPrice"] = "çok"
    with pytest.raises(PayloadError) as caught:
        source.parse(delivery("iyzico", dumps(body)), CONTEXT)
    assert caught.value.path == "paidPrice"


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(body: bytes) -> None:
    parse_only_payload_errors(IyzicoSource(), delivery("iyzico", body))


@FUZZ
@given(mutations(json.loads(sample_delivery("iyzico", "api-auth").body)))
def test_fuzz_near_miss_notifications(body: object) -> None:
    source = IyzicoSource()
    d = delivery("iyzico", dumps(body), {"X-IYZ-SIGNATURE-V3": "0" * 64})
    parse_only_payload_errors(source, d)
    with pytest.raises(SignatureError):
        source.verify(d, SECRET)
