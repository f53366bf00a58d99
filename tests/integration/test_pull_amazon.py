"""Amazon's pull through the mapper, against moto and the SP-API fake: an ORDER_CHANGE of a paid order on the
EventBridge rule ends in a PENDING sales invoice read from the Orders API, made once however often and in
whatever order Amazon notifies; what Amazon or the tenant's setup refuses is dead-lettered with its reason,
and what is only unavailable for now comes back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mutabik.model import Order
from mutabik.model.document import DocumentStatus, DocumentType
from mutabik.store import keys
from mutabik.store.deliveries import DeliveryState
from mutabik.tax.decompose import decompose_order

from tests.conftest import ROOT
from tests.fakes import FakeServer
from tests.fakes.amazon_sp_api import SAMPLE_ORDER, Fake
from tests.support import drain, drain_all, sender_api_tenant

SELLER = "A3TH9S8BH6GOGM"  # the seller of every sample in events/amazon


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(Path(ROOT, "events", "amazon", f"{name}.json").read_text())
    return loaded


def notification_id(event: dict[str, Any]) -> str:
    return str(event["detail"]["NotificationMetadata"]["NotificationId"])


def through_eventbridge(runtime: Any, event: dict[str, Any]) -> None:
    """As Amazon does: onto the partner bus stand-in, whose rule queues it for the mapper."""
    entry = {
        "EventBusName": runtime.resource("AmazonNotificationsRule", "EventBusName"),
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
    }
    assert runtime.session.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def map_queue(runtime: Any) -> int:
    return int(runtime.pollers["MapperFunction"].poll_once())


def collection_of_the_sample_order() -> dict[str, Any]:
    """Finances' TRANSACTION_UPDATE for the sample order: the money Amazon collected for it."""
    event = sample("transaction-update")
    event["detail"]["NotificationMetadata"]["NotificationId"] = "d0e9e693-c3ad-4373-979f-ed4ec98dd7a0"
    update = event["detail"]["Payload"]["TransactionUpdateNotification"]
    update["RelatedIdentifiers"] = [{"RelatedIdentifierName": "OrderId", "RelatedIdentifierValue": SAMPLE_ORDER}]
    update["TotalAmount"] = {"CurrencyAmount": 1179.90, "CurrencyCode": "TRY"}
    return event


@pytest.fixture(autouse=True)
def _empty_queues(runtime: Any) -> Iterator[None]:
    drain_all(runtime)
    yield
    drain_all(runtime)


@pytest.fixture
def sp_api() -> Iterator[tuple[Fake, FakeServer]]:
    fake = Fake()
    with FakeServer(fake) as server:
        yield fake, server
    fake.assert_clean()


def amazon_tenant(services: Any, server: FakeServer, fake: Fake, *, credentials: bool = True) -> Any:
    """A tenant with the samples' seller routed to it, SP-API at the fake, every document to `export`."""
    return sender_api_tenant(services, "amazon", fake, server.url, api_credentials=credentials, account=SELLER)


@pytest.fixture
def tenant(services: Any, sp_api: tuple[Fake, FakeServer]) -> Any:
    fake, server = sp_api
    return amazon_tenant(services, server, fake)


def invoice_key(tenant: Any) -> str:
    return keys.document_key(tenant.tenant, "export", DocumentType.SALES_INVOICE, f"amazon:{SAMPLE_ORDER}")


def test_a_paid_order_becomes_a_pending_sales_invoice_whose_amounts_add_up(
    runtime: Any, services: Any, tenant: Any, sp_api: tuple[Fake, FakeServer]
) -> None:
    event = sample("order-change-unshipped")
    through_eventbridge(runtime, event)
    assert map_queue(runtime) == 1

    record = services.deliveries.get(tenant.tenant, "amazon", notification_id(event))
    assert (record.state, record.documents) == (DeliveryState.MAPPED, (invoice_key(tenant),))
    document = services.documents.get(invoice_key(tenant))
    assert document.status is DocumentStatus.PENDING
    order = Order.model_validate(document.payload["order"])
    assert [(line.sku, line.quantity, line.kdv_rate) for line in order.lines] == [
        ("SellerSKUID1", Decimal(10), Decimal(20)),
        ("", Decimal(1), Decimal(20)),  # shipping
    ]
    breakdown = decompose_order(order)
    assert breakdown.payable == order.total_paid.amount == Decimal("1179.90")
    assert breakdown.kdv_total == Decimal("196.65")  # (1150.00 + 29.90) / 1.2 × 0.2, per line, to the kuruş
    assert [m["key"] for m in drain(runtime, "PushQueue")] == [invoice_key(tenant)]
    assert sp_api[0].api_calls() == ["getOrder", "getOrderItems"]


def test_redeliveries_and_the_shipped_notification_make_one_invoice_and_ask_amazon_once(
    runtime: Any, services: Any, tenant: Any, sp_api: tuple[Fake, FakeServer]
) -> None:
    """EventBridge delivers at least once, and Shipped follows Unshipped: one invoice, read once; Amazon's
    collection for the order then names the same order as the invoice."""
    unshipped, shipped, collected = (
        sample("order-change-unshipped"),
        sample("order-change-shipped"),
        collection_of_the_sample_order(),
    )
    for event in (unshipped, unshipped, shipped, shipped, collected):
        through_eventbridge(runtime, event)
    while map_queue(runtime):
        pass

    invoices = [
        d
        for d in services.documents.list_day(tenant.tenant, services.clock().date())
        if d.type is DocumentType.SALES_INVOICE
    ]
    assert [d.key for d in invoices] == [invoice_key(tenant)]
    assert invoice_key(tenant) in services.deliveries.get(tenant.tenant, "amazon", notification_id(shipped)).documents
    assert sp_api[0].api_calls() == ["getOrder", "getOrderItems"]  # the shipped one used the cached order

    (collection_key,) = services.deliveries.get(tenant.tenant, "amazon", notification_id(collected)).documents
    payment = services.documents.get(collection_key).payload["payment"]
    assert f"amazon:{payment['order_ref']}" == invoices[0].source_ref
    assert drain(runtime, "IngestDLQ") == []


def test_without_sp_api_credentials_the_delivery_is_dead_lettered_naming_the_secret(
    runtime: Any, services: Any, sp_api: tuple[Fake, FakeServer]
) -> None:
    fake, server = sp_api
    tenant = amazon_tenant(services, server, fake, credentials=False)
    event = sample("order-change-unshipped")
    through_eventbridge(runtime, event)
    assert map_queue(runtime) == 1

    (dead,) = drain(runtime, "IngestDLQ")
    secret = f"{services.secrets.prefix}/{tenant.tenant}/sender-apis/amazon"
    assert secret in dead["_attributes"]["reason"]["StringValue"]
    record = services.deliveries.get(tenant.tenant, "amazon", notification_id(event))
    assert record.state is DeliveryState.FAILED
    assert secret in record.reason
    assert services.documents.get(invoice_key(tenant)) is None
    assert fake.requests == []


@pytest.mark.parametrize(("status", "words"), [(503, "ServiceUnavailable"), (429, "QuotaExceeded")])
def test_amazon_unavailable_keeps_the_reason_and_the_message_comes_back(
    runtime: Any, services: Any, tenant: Any, sp_api: tuple[Fake, FakeServer], status: int, words: str
) -> None:
    fake = sp_api[0]
    fake.fail_next(1, status, operation="getOrder")
    event = sample("order-change-unshipped")
    through_eventbridge(runtime, event)
    poller = runtime.pollers["MapperFunction"]
    queue = runtime.resource("IngestQueue")
    (message,) = runtime.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]

    poller._deliver([message])  # as the event source mapping hands it over: the function fails this one

    record = services.deliveries.get(tenant.tenant, "amazon", notification_id(event))
    assert record.state is not DeliveryState.FAILED
    assert str(status) in record.reason
    assert words in record.reason
    assert services.documents.get(invoice_key(tenant)) is None
    # Not deleted: it comes back once its visibility timeout is over (made zero here), and then maps.
    runtime.sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    assert map_queue(runtime) == 1
    record = services.deliveries.get(tenant.tenant, "amazon", notification_id(event))
    assert (record.state, record.documents) == (DeliveryState.MAPPED, (invoice_key(tenant),))
    assert drain(runtime, "IngestDLQ") == []
