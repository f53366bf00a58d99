"""Hepsiburada: Basic auth, one path per event under the seller's base URL, orders into events."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutabik.model import OrderCancelled, OrderPaid, ShipmentCreated
from mutabik.sources import get_source
from mutabik.sources.exceptions import PayloadError, SignatureError
from mutabik.sources.hepsiburada import HepsiburadaSource

from ._support import (
    CONTEXT,
    FUZZ,
    SECRETS,
    delivery,
    dumps,
    frozen,
    lines_total,
    mutations,
    parse_only_payload_errors,
    retouched,
    sample_delivery,
)

SECRET = SECRETS["hepsiburada"]
CREDENTIALS = json.loads(SECRET)


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def order_body() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(sample_delivery("hepsiburada", "orders").body)
    return body


@pytest.fixture
def source() -> HepsiburadaSource:
    return HepsiburadaSource(clock=frozen())


def test_module_is_discovered() -> None:
    assert isinstance(get_source("hepsiburada"), HepsiburadaSource)


def test_basic_auth_as_given_to_hepsiburada_verifies(source: HepsiburadaSource) -> None:
    headers = basic(CREDENTIALS["username"], CREDENTIALS["password"])
    source.verify(delivery("hepsiburada", dumps(order_body()), headers), SECRET)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing-header"),
        pytest.param(basic(CREDENTIALS["username"], "wrong"), id="wrong-password"),
        pytest.param(basic("someone", CREDENTIALS["password"]), id="wrong-username"),
    ],
)
def test_wrong_credentials_are_refused(source: HepsiburadaSource, headers: dict[str, str]) -> None:
    with pytest.raises(SignatureError):
        source.verify(delivery("hepsiburada", dumps(order_body()), headers), SECRET)


def test_a_secret_without_a_password_refuses_everything(source: HepsiburadaSource) -> None:
    with pytest.raises(SignatureError):
        source.verify(sample_delivery("hepsiburada", "orders"), json.dumps({"username": "x"}))


def test_delivery_id_is_stable_across_retries(source: HepsiburadaSource) -> None:
    first = sample_delivery("hepsiburada", "orders")
    retry = retouched(first, headers={**first.headers, "x-amzn-trace-id": "Root=another"})
    assert source.delivery_id(first) == source.delivery_id(retry)
    assert source.delivery_id(first).startswith("orders:")


def test_created_order_is_paid_and_adds_up(source: HepsiburadaSource) -> None:
    d = sample_delivery("hepsiburada", "orders")
    assert d.path == "orders"
    [event] = source.parse(d, CONTEXT)
    assert isinstance(event, OrderPaid)
    order = event.order
    paid = sum(Decimal(str(i["totalPrice"]["amount"])) for i in order_body()["items"])
    assert lines_total(order) == order.total_paid.amount == paid
    assert [line.kdv_rate for line in order.lines] == [Decimal(20), Decimal(1)]
    assert order.buyer.tax_id == "10000000146"
    assert order.source_ref == "4523871234"


def test_a_create_order_without_a_path_is_still_an_order(source: HepsiburadaSource) -> None:
    [event] = source.parse(retouched(sample_delivery("hepsiburada", "orders"), path=""), CONTEXT)
    assert isinstance(event, OrderPaid)


def test_items_of_two_orders_are_two_orders(source: HepsiburadaSource) -> None:
    body = order_body()
    body["items"][1]["orderNumber"] = "4523871299"
    events = source.parse(delivery("hepsiburada", dumps(body)), CONTEXT)
    assert [e.order.source_ref for e in events if isinstance(e, OrderPaid)] == ["4523871234", "4523871299"]


def test_cancelled_order(source: HepsiburadaSource) -> None:
    [event] = source.parse(sample_delivery("hepsiburada", "orders-cancel"), CONTEXT)
    assert isinstance(event, OrderCancelled)
    assert event.order_ref == "4523871234"


def test_package_in_transit_is_a_shipment_of_the_order(source: HepsiburadaSource) -> None:
    [event] = source.parse(sample_delivery("hepsiburada", "packages-intransit"), CONTEXT)
    assert isinstance(event, ShipmentCreated)
    assert event.shipment.order_ref == "4523871234"
    assert event.shipment.tracking_number == "ARAS7788990011"


@pytest.mark.parametrize("path", ["packages/013105889/delivered", "packages", "orders/1/shippingaddress", "claims"])
def test_other_event_paths_are_taken_without_events(source: HepsiburadaSource, path: str) -> None:
    d = retouched(delivery("hepsiburada", b"{}"), path=path)
    assert source.parse(d, CONTEXT) == []


def test_a_status_call_without_a_path_is_refused(source: HepsiburadaSource) -> None:
    with pytest.raises(PayloadError) as caught:
        source.parse(delivery("hepsiburada", b'{"orderNumber": "1"}'), CONTEXT)
    assert caught.value.path == "path"


def test_an_invalid_order_names_the_field(source: HepsiburadaSource) -> None:
    body = order_body()
    body["items"][0]["totalPrice"]["amount"] = "Ali Çelik"
    with pytest.raises(PayloadError) as caught:
        source.parse(retouched(delivery("hepsiburada", dumps(body)), path="orders"), CONTEXT)
    assert caught.value.path == "items.0.totalPrice.amount"
    assert "Çelik" not in str(caught.value)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["orders", "orders/1/cancel", "packages/2/intransit", "", "x"]))
def test_fuzz_arbitrary_bytes(body: bytes, path: str) -> None:
    parse_only_payload_errors(HepsiburadaSource(), retouched(delivery("hepsiburada", body), path=path))


@FUZZ
@given(mutations(order_body()))
def test_fuzz_near_miss_orders(body: Any) -> None:
    parse_only_payload_errors(HepsiburadaSource(), retouched(delivery("hepsiburada", dumps(body)), path="orders"))
