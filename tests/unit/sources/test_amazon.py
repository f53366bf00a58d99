"""Amazon SP-API: EventBridge notifications, bound to the tenant's seller, into events."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutabik.model import OrderCancelled, PaymentCaptured, PayoutPaid, RefundCreated, ShipmentCreated
from mutabik.sources import get_source
from mutabik.sources.amazon import AmazonSource, seller_of
from mutabik.sources.exceptions import PayloadError, SignatureError

from ._support import (
    CONTEXT,
    EVENTS,
    FUZZ,
    SECRETS,
    delivery,
    dumps,
    json_values,
    mutations,
    parse_only_payload_errors,
    payload,
)

SECRET = SECRETS["amazon"]
ORDER_CHANGE = payload("amazon-sp-api", "ORDER_CHANGE.example.json")
TRANSACTION_UPDATE = payload("amazon-sp-api", "TRANSACTION_UPDATE.example.json")


def eventbridge(name: str) -> Any:
    return json.loads(Path(EVENTS, "amazon", f"{name}.json").read_text())


def transaction(kind: str, amount: str) -> dict[str, Any]:
    body = json.loads(json.dumps(TRANSACTION_UPDATE, default=str))
    update = body["Payload"]["TransactionUpdateNotification"]
    update["TransactionType"] = kind
    update["TotalAmount"]["CurrencyAmount"] = amount
    return body


@pytest.fixture
def source() -> AmazonSource:
    return AmazonSource()


def test_module_is_discovered_and_is_not_http() -> None:
    assert isinstance(get_source("amazon"), AmazonSource)
    assert AmazonSource.http is False


@pytest.mark.parametrize("body", [ORDER_CHANGE, TRANSACTION_UPDATE, eventbridge("order-change")])
def test_notification_for_the_tenants_seller_verifies(source: AmazonSource, body: Any) -> None:
    source.verify(delivery("amazon", dumps(body)), SECRET)


def test_notification_for_another_seller_is_refused(source: AmazonSource) -> None:
    with pytest.raises(SignatureError):
        source.verify(delivery("amazon", dumps(ORDER_CHANGE)), json.dumps({"seller_id": "A1OTHERSELLER"}))


def test_notification_for_another_application_is_refused(source: AmazonSource) -> None:
    secret = json.dumps({"seller_id": "A3TH9S8BH6GOGM", "application_id": "amzn1.sellerapps.app.other"})
    with pytest.raises(SignatureError):
        source.verify(delivery("amazon", dumps(TRANSACTION_UPDATE)), secret)


@pytest.mark.parametrize("body", [b"not json", b"{}", dumps({"detail": {}})])
def test_unreadable_notifications_are_refused(source: AmazonSource, body: bytes) -> None:
    with pytest.raises(SignatureError):
        source.verify(delivery("amazon", body), SECRET)


def test_delivery_id_is_the_notification_id_in_either_envelope(source: AmazonSource) -> None:
    bare = delivery("amazon", dumps(ORDER_CHANGE))
    wrapped = delivery("amazon", dumps(eventbridge("order-change")))
    assert source.delivery_id(bare) == source.delivery_id(wrapped) == "d0e9e693-c3ad-4373-979f-ed4ec98dd746"
    assert seller_of(wrapped) == "A3TH9S8BH6GOGM"


def test_a_buyers_cancel_request_is_not_yet_a_cancellation(source: AmazonSource) -> None:
    assert source.parse(delivery("amazon", dumps(ORDER_CHANGE)), CONTEXT) == []


def test_canceled_order(source: AmazonSource) -> None:
    body = json.loads(json.dumps(ORDER_CHANGE, default=str))
    body["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"] = "Canceled"
    [event] = source.parse(delivery("amazon", dumps(body)), CONTEXT)
    assert isinstance(event, OrderCancelled)
    assert event.order_ref == "903-8868176-2219830"


def test_shipped_order_is_a_shipment_of_its_items(source: AmazonSource) -> None:
    [event] = source.parse(delivery("amazon", dumps(eventbridge("order-change-shipped"))), CONTEXT)
    assert isinstance(event, ShipmentCreated)
    assert event.shipment.order_ref == "903-8868176-2219830"
    assert [(line.sku, line.quantity) for line in event.shipment.lines] == [("SellerSKUID1", Decimal(10))]


def test_shipment_transaction_is_a_payment_for_the_order(source: AmazonSource) -> None:
    [event] = source.parse(delivery("amazon", dumps(TRANSACTION_UPDATE)), CONTEXT)
    assert isinstance(event, PaymentCaptured)
    assert event.payment.order_ref == "8129762527551"
    assert event.payment.amount.amount == Decimal(10)
    assert event.payment.amount.currency == "USD"


def test_refund_transaction(source: AmazonSource) -> None:
    [event] = source.parse(delivery("amazon", dumps(transaction("Refund", "-4.25"))), CONTEXT)
    assert isinstance(event, RefundCreated)
    assert event.refund.amount.amount == Decimal("4.25")
    assert event.refund.order_ref == "8129762527551"


def test_transfer_transaction_is_a_payout(source: AmazonSource) -> None:
    [event] = source.parse(delivery("amazon", dumps(transaction("Transfer", "-250.00"))), CONTEXT)
    assert isinstance(event, PayoutPaid)
    assert event.payout.amount.amount == Decimal("250.00")


def test_fee_transactions_yield_no_event(source: AmazonSource) -> None:
    assert source.parse(delivery("amazon", dumps(transaction("ServiceFee", "-1.00"))), CONTEXT) == []


def test_invalid_notification_names_the_field(source: AmazonSource) -> None:
    body = transaction("Shipment", "ten")
    with pytest.raises(PayloadError) as caught:
        source.parse(delivery("amazon", dumps(body)), CONTEXT)
    assert caught.value.path == "Payload.TransactionUpdateNotification.TotalAmount.CurrencyAmount"


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(body: bytes) -> None:
    parse_only_payload_errors(AmazonSource(), delivery("amazon", body))


@FUZZ
@given(
    st.one_of(mutations(ORDER_CHANGE), mutations(TRANSACTION_UPDATE), mutations(eventbridge("order-change-shipped")))
)
def test_fuzz_near_miss_notifications(body: Any) -> None:
    parse_only_payload_errors(AmazonSource(), delivery("amazon", dumps(body)))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("order-change", None),
        ("order-change-unshipped", None),  # its invoice is pulled (test_amazon_pull.py)
        ("order-change-shipped", ShipmentCreated),
        ("order-change-shipped-sqs", ShipmentCreated),
        ("order-change-canceled", OrderCancelled),
        ("transaction-update", PaymentCaptured),
        ("transaction-update-refund", RefundCreated),
    ],
)
def test_every_sample_is_recognised_and_parses(source: AmazonSource, name: str, kind: type | None) -> None:
    event = eventbridge(name)
    assert source.recognises(event)
    d = delivery("amazon", dumps(event))
    assert source.account(d) == "A3TH9S8BH6GOGM"
    assert [type(e) for e in source.parse(d, CONTEXT)] == ([kind] if kind else [])


def test_sample_notification_ids_are_distinct() -> None:
    ids = [
        eventbridge(p.stem).get("detail", eventbridge(p.stem))["NotificationMetadata"]["NotificationId"]
        for p in Path(EVENTS, "amazon").glob("*.json")
    ]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    "message",
    [
        {"detail-type": "ORDER_CHANGE", "source": "aws.partner/shopify.com/123/orders", "detail": {}},
        {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}},
        {"tenant": "t", "source": "shopify", "delivery_id": "1"},
        ["NotificationType"],
        "NotificationType",
    ],
    ids=["another partner", "an AWS event", "an ingest message", "a list", "a string"],
)
def test_other_queue_messages_are_not_amazons(source: AmazonSource, message: Any) -> None:
    assert not source.recognises(message)


def test_a_notification_without_a_seller_names_no_account(source: AmazonSource) -> None:
    body = json.loads(json.dumps(ORDER_CHANGE, default=str))
    body["Payload"] = {}
    with pytest.raises(PayloadError):
        source.account(delivery("amazon", dumps(body)))


@FUZZ
@given(st.one_of(json_values, mutations(eventbridge("transaction-update"))))
def test_fuzz_recognising_queue_messages_never_raises(message: Any) -> None:
    AmazonSource().recognises(message)
