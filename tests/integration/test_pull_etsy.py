"""Etsy's thin order.paid through the webhook and the mapper, completed from the fake Etsy API, against moto.

The webhook takes the sample as Etsy sends it (no amounts); the mapper reads the receipt with the tenant's
sender-apis secret and makes the same PENDING invoice an inline receipt would. What Etsy refuses dead-letters
with the reason; what Etsy cannot answer now leaves the message to come back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from mutabik.model.document import DocumentStatus, DocumentType
from mutabik.store import keys
from mutabik.store.deliveries import DeliveryState

from tests.conftest import ROOT
from tests.fakes import FakeServer
from tests.fakes.etsy_api import Fake
from tests.support import drain, drain_all, sender_api_tenant

PAID = "msg_2sDemoEtsyPaid0001"  # webhook-id of events/etsy/order-paid.json
RECEIPT = "3456789012"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(Path(ROOT, "events", "etsy", f"{name}.json").read_text())
    return loaded


@pytest.fixture(autouse=True)
def _empty_queues(runtime: Any) -> Iterator[None]:
    drain_all(runtime)
    yield
    drain_all(runtime)


@pytest.fixture
def fake() -> Iterator[Fake]:
    app = Fake()
    with FakeServer(app) as server:
        app.url = server.url  # type: ignore[attr-defined]
        yield app
    app.assert_clean()


def etsy_tenant(services: Any, fake: Fake, *, api_credentials: bool = True) -> Any:
    return sender_api_tenant(services, "etsy", fake, fake.url, api_credentials=api_credentials)  # type: ignore[attr-defined]


def post(runtime: Any, services: Any, tenant: str, name: str) -> None:
    from mutabik_local.demo import post_event

    response = post_event(runtime.webhook_base, sample(name), services, tenant)
    assert response.status_code == 202, response.text


def map_queue(runtime: Any) -> int:
    return int(runtime.pollers["MapperFunction"].poll_once())


def invoice_key(tenant: str) -> str:
    return keys.document_key(tenant, "export", DocumentType.SALES_INVOICE, f"etsy:{RECEIPT}")


def test_a_thin_order_paid_becomes_a_pending_invoice_that_adds_up(runtime: Any, services: Any, fake: Fake) -> None:
    tenant = etsy_tenant(services, fake).tenant
    post(runtime, services, tenant, "order-paid")
    assert map_queue(runtime) == 1

    record = services.deliveries.get(tenant, "etsy", PAID)
    assert record.state is DeliveryState.MAPPED
    assert record.documents == (invoice_key(tenant),)
    document = services.documents.get(invoice_key(tenant))
    assert document.status is DocumentStatus.PENDING
    order = document.payload["order"]
    lines = sum(Decimal(line["quantity"]) * Decimal(line["unit_price"]) for line in order["lines"])
    # 2 × 30 + 30 + 12 shipping − 5 discount = 97: the grand total less the US sales tax Etsy remits itself
    assert lines - Decimal(order["order_discount"]) == Decimal(order["total_paid"]["amount"]) == Decimal("97.00")
    assert [m["key"] for m in drain(runtime, "PushQueue")] == [invoice_key(tenant)]
    assert (fake.receipt_reads(), fake.token_requests) == (1, 1)
    # The refresh token Etsy rotated is the one stored now.
    stored = json.loads(services.secrets.get(services.secrets.sender_api_secret_name(tenant, "etsy"), fresh=True))
    assert stored["refresh_token"] == fake.refresh_token


def test_the_same_delivery_twice_makes_one_invoice(runtime: Any, services: Any, fake: Fake) -> None:
    tenant = etsy_tenant(services, fake).tenant
    post(runtime, services, tenant, "order-paid")
    (message,) = drain(runtime, "IngestQueue")
    message.pop("_attributes")
    services.ingest_queue.send(message)
    services.ingest_queue.send(message)  # SQS delivers at least once
    assert map_queue(runtime) == 2

    assert {m["key"] for m in drain(runtime, "PushQueue")} == {invoice_key(tenant)}
    assert services.deliveries.get(tenant, "etsy", PAID).documents == (invoice_key(tenant),)
    assert drain(runtime, "IngestDLQ") == []


def test_a_shipment_gets_its_lines_and_a_cancellation_costs_no_call(runtime: Any, services: Any, fake: Fake) -> None:
    tenant = etsy_tenant(services, fake).tenant
    post(runtime, services, tenant, "order-shipped")
    assert map_queue(runtime) == 1
    key = keys.document_key(tenant, "export", DocumentType.DESPATCH_ADVICE, f"etsy:{RECEIPT}:shipped")
    shipment = services.documents.get(key).payload["shipment"]
    assert [(line["sku"], line["quantity"]) for line in shipment["lines"]] == [
        ("IZNIK-TILE-20", "2"),
        ("CEZVE-BAKIR", "1"),
    ]
    drain(runtime, "PushQueue")

    calls = len(fake.requests)
    post(runtime, services, tenant, "order-canceled")
    assert map_queue(runtime) == 1
    assert len(fake.requests) == calls


def test_missing_api_credentials_dead_letter_the_delivery_naming_the_secret(
    runtime: Any, services: Any, fake: Fake
) -> None:
    tenant = etsy_tenant(services, fake, api_credentials=False).tenant
    post(runtime, services, tenant, "order-paid")
    assert map_queue(runtime) == 1

    secret = services.secrets.sender_api_secret_name(tenant, "etsy")
    (dead,) = drain(runtime, "IngestDLQ")
    assert secret in dead["_attributes"]["reason"]["StringValue"]
    record = services.deliveries.get(tenant, "etsy", PAID)
    assert record.state is DeliveryState.FAILED
    assert secret in record.reason
    assert fake.requests == []


def received(runtime: Any, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The message put on the ingest queue and received as Lambda's SQS event carries it, and its handle."""
    url = runtime.resource("IngestQueue")
    runtime.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    (message,) = runtime.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    poller = runtime.pollers["MapperFunction"]
    return {"Records": [poller._record(message)]}, message["ReceiptHandle"]


@pytest.mark.parametrize(("status", "retry_after"), [(503, None), (429, 30)], ids=["503", "429"])
def test_etsy_unavailable_keeps_the_message_and_says_why(
    runtime: Any, services: Any, fake: Fake, status: int, retry_after: int | None
) -> None:
    tenant = etsy_tenant(services, fake).tenant
    post(runtime, services, tenant, "order-paid")
    (message,) = drain(runtime, "IngestQueue")
    message.pop("_attributes")
    fake.fail_next(1, status, retry_after=retry_after)

    event, handle = received(runtime, message)
    try:
        # The whole batch failed: the invocation fails, and SQS hands the message back later (not deleted,
        # not dead-lettered until the queue's receives run out).
        with pytest.raises(BatchProcessingError, match="All records failed"):
            runtime.host.invoke("MapperFunction", event)
    finally:
        runtime.sqs.delete_message(QueueUrl=runtime.resource("IngestQueue"), ReceiptHandle=handle)
    record = services.deliveries.get(tenant, "etsy", PAID)
    assert record.state is not DeliveryState.FAILED
    assert f"etsy answered {status}" in record.reason
    assert drain(runtime, "IngestDLQ") == []

    # Etsy answers again: the message that comes back maps.
    event, handle = received(runtime, message)
    try:
        assert runtime.host.invoke("MapperFunction", event) == {"batchItemFailures": []}
    finally:
        runtime.sqs.delete_message(QueueUrl=runtime.resource("IngestQueue"), ReceiptHandle=handle)
    assert services.deliveries.get(tenant, "etsy", PAID).state is DeliveryState.MAPPED
    assert services.documents.get(invoice_key(tenant)) is not None
