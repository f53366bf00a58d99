"""Trendyol: Basic auth or x-api-key per tenant, and shipment package statuses into events."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutabik.model import OrderCancelled, OrderPaid, RefundCreated, ShipmentCreated
from mutabik.sources import get_source
from mutabik.sources.exceptions import PayloadError, SignatureError
from mutabik.sources.trendyol import TrendyolSource

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

SECRET = SECRETS["trendyol"]
CREDENTIALS = json.loads(SECRET)


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def package() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(sample_delivery("trendyol", "package-created").body)
    return body


@pytest.fixture
def source() -> TrendyolSource:
    return TrendyolSource()


def test_module_is_discovered() -> None:
    assert isinstance(get_source("trendyol"), TrendyolSource)


def test_basic_auth_as_registered_verifies(source: TrendyolSource) -> None:
    headers = basic(CREDENTIALS["username"], CREDENTIALS["password"])
    source.verify(delivery("trendyol", dumps(package()), headers), SECRET)
    source.verify(sample_delivery("trendyol", "package-created"), SECRET)


def test_api_key_as_registered_verifies(source: TrendyolSource) -> None:
    only_key = json.dumps({"api_key": CREDENTIALS["api_key"]})
    source.verify(delivery("trendyol", dumps(package()), {"x-api-key": CREDENTIALS["api_key"]}), only_key)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing-header"),
        pytest.param(basic(CREDENTIALS["username"], "wrong"), id="wrong-password"),
        pytest.param({"Authorization": "Basic not-base64!"}, id="garbled"),
        pytest.param({"Authorization": "Bearer " + CREDENTIALS["password"]}, id="not-basic"),
        pytest.param({"x-api-key": "wrong"}, id="wrong-api-key"),
    ],
)
def test_wrong_credentials_are_refused(source: TrendyolSource, headers: dict[str, str]) -> None:
    with pytest.raises(SignatureError):
        source.verify(delivery("trendyol", dumps(package()), headers), SECRET)


@pytest.mark.parametrize("secret", ["not json", "[]", json.dumps({"username": "only"})])
def test_a_malformed_tenant_secret_refuses_everything(source: TrendyolSource, secret: str) -> None:
    with pytest.raises(SignatureError):
        source.verify(sample_delivery("trendyol", "package-created"), secret)


def test_delivery_id_is_stable_across_retries_and_changes_with_status(source: TrendyolSource) -> None:
    first = sample_delivery("trendyol", "package-created")
    retry = retouched(first, headers={**first.headers, "x-amzn-trace-id": "Root=another"})
    assert source.delivery_id(first) == source.delivery_id(retry) == "3312456789:Created:1768479060000"
    assert source.delivery_id(sample_delivery("trendyol", "package-shipped")) != source.delivery_id(first)


def test_created_package_is_a_paid_order_that_adds_up(source: TrendyolSource) -> None:
    [event] = source.parse(sample_delivery("trendyol", "package-created"), CONTEXT)
    assert isinstance(event, OrderPaid)
    order = event.order
    body = package()
    # lines (gross − seller discount) = what the buyer paid + what Trendyol's discount covers
    assert lines_total(order) == order.total_paid.amount
    assert order.total_paid.amount == Decimal(str(body["packageTotalPrice"])) + Decimal(str(body["packageTyDiscount"]))
    assert [line.kdv_rate for line in order.lines] == [Decimal(20), Decimal(10)]
    assert order.buyer.tax_id == "10000000146"
    assert order.source_ref == "3312456789"
    assert order.number == "10654411234"
    assert order.ordered_at.isoformat() == "2026-01-15T12:10:00+03:00"


def test_classic_line_fields_give_the_same_order(source: TrendyolSource) -> None:
    body = package()
    for line in body["lines"]:
        for newer in ("lineGrossAmount", "lineSellerDiscount", "lineTyDiscount"):
            del line[newer]
    [classic] = source.parse(delivery("trendyol", dumps(body)), CONTEXT)
    [newer_event] = source.parse(sample_delivery("trendyol", "package-created"), CONTEXT)
    assert isinstance(classic, OrderPaid)
    assert isinstance(newer_event, OrderPaid)
    assert classic.order.lines == newer_event.order.lines


def test_shipped_package_is_a_shipment(source: TrendyolSource) -> None:
    [event] = source.parse(sample_delivery("trendyol", "package-shipped"), CONTEXT)
    assert isinstance(event, ShipmentCreated)
    assert event.shipment.order_ref == "3312456789"
    assert event.shipment.tracking_number == "7330029876543210"


def test_cancelled_package(source: TrendyolSource) -> None:
    [event] = source.parse(sample_delivery("trendyol", "package-cancelled"), CONTEXT)
    assert isinstance(event, OrderCancelled)
    assert event.order_ref == "3312456789"


def test_returned_package_is_a_refund_of_the_package(source: TrendyolSource) -> None:
    [event] = source.parse(sample_delivery("trendyol", "package-returned"), CONTEXT)
    assert isinstance(event, RefundCreated)
    refund = event.refund
    assert refund.order_ref == "3312456789"
    assert sum(line.amount for line in refund.lines) == refund.amount.amount


@pytest.mark.parametrize("status", ["Picking", "Invoiced", "Delivered", "Awaiting", "AT_COLLECTION_POINT"])
def test_other_statuses_are_taken_without_events(source: TrendyolSource, status: str) -> None:
    body = {**package(), "status": status, "shipmentPackageStatus": status}
    assert source.parse(delivery("trendyol", dumps(body)), CONTEXT) == []


def test_a_page_of_packages(source: TrendyolSource) -> None:
    body = {
        "page": 0,
        "size": 2,
        "totalElements": 2,
        "content": [package(), {**package(), "status": "Picking", "shipmentPackageStatus": "Picking"}],
    }
    events = source.parse(delivery("trendyol", dumps(body)), CONTEXT)
    assert [type(e) for e in events] == [OrderPaid]


def test_an_invalid_package_names_the_field(source: TrendyolSource) -> None:
    body = package()
    body["lines"][1]["quantity"] = 0
    with pytest.raises(PayloadError) as caught:
        source.parse(delivery("trendyol", dumps(body)), CONTEXT)
    assert caught.value.path == "lines.1.quantity"


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(body: bytes) -> None:
    parse_only_payload_errors(TrendyolSource(), delivery("trendyol", body))


@FUZZ
@given(mutations(package()), st.sampled_from(["Created", "Shipped", "Cancelled", "Returned"]))
def test_fuzz_near_miss_packages(body: Any, status: str) -> None:
    if isinstance(body, dict):
        body = {**body, "status": status, "shipmentPackageStatus": status}
    parse_only_payload_errors(TrendyolSource(), delivery("trendyol", dumps(body)))
