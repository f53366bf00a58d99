"""The mapper and pusher functions against moto: documents decided once, issued once, even when replayed."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from mutabik.model.document import DocumentStatus, DocumentType
from mutabik.store import keys

from tests.support import drain, drain_all, shopify_delivery, shopify_order


def sqs_event(runtime: Any, queue: str, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """Put messages on a queue and receive them back as Lambda's SQS event would carry them."""
    url = runtime.resource(queue)
    for body in bodies:
        runtime.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    received = runtime.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    _received.extend((url, m["ReceiptHandle"]) for m in received["Messages"])
    poller = next(p for p in runtime.pollers.values() if p.mapping.queue_url == url)
    return {"Records": [poller._record(m) for m in received["Messages"]]}


def ingest_message(tenant: str, order: dict[str, Any], delivery_id: str = "d-1") -> dict[str, Any]:
    body, headers = shopify_delivery(order, webhook_id=delivery_id)
    return {
        "tenant": tenant,
        "source": "shopify",
        "delivery_id": delivery_id,
        "topic": "orders/paid",
        "received_at": datetime.now(UTC).isoformat(),
        "headers": headers,
        "body_b64": base64.b64encode(body).decode(),
    }


#: Messages handed to a function in a test: taken off their queue afterwards, as the event source mapping
#: would, so that none comes back into the next test when its visibility timeout ends.
_received: list[tuple[str, str]] = []


@pytest.fixture(autouse=True)
def _empty_queues(runtime: Any) -> Iterator[None]:
    drain_all(runtime)
    yield
    for url, receipt in _received:
        runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=receipt)
    _received.clear()
    drain_all(runtime)


def test_mapper_plans_one_pending_document_and_queues_it(runtime: Any, tenant: Any, services: Any) -> None:
    result = runtime.host.invoke(
        "MapperFunction", sqs_event(runtime, "IngestQueue", [ingest_message(tenant.tenant, shopify_order())])
    )

    assert result == {"batchItemFailures": []}
    key = keys.document_key(tenant.tenant, "export", DocumentType.SALES_INVOICE, "shopify:5800000000001")
    document = services.documents.get(key)
    assert document is not None
    assert document.status is DocumentStatus.PENDING
    assert document.payload["order"]["total_paid"] == {"amount": "319.90", "currency": "TRY"}
    assert drain(runtime, "PushQueue") == [{"key": key, "_attributes": {}}]


def test_replayed_delivery_changes_nothing(runtime: Any, tenant: Any, services: Any) -> None:
    message = ingest_message(tenant.tenant, shopify_order())
    runtime.host.invoke("MapperFunction", sqs_event(runtime, "IngestQueue", [message]))
    key = drain(runtime, "PushQueue")[0]["key"]
    runtime.host.invoke("PusherFunction", sqs_event(runtime, "PushQueue", [{"key": key}]))
    submitted = services.documents.get(key)

    runtime.host.invoke("MapperFunction", sqs_event(runtime, "IngestQueue", [message]))
    assert drain(runtime, "PushQueue") == []  # final documents are not pushed again
    assert services.documents.get(key) == submitted
    assert len(services.documents.list_day(tenant.tenant, submitted.created_at.date())) == 1


def test_a_body_the_parser_refuses_is_dead_lettered_with_its_reason(runtime: Any, tenant: Any, services: Any) -> None:
    message = ingest_message(tenant.tenant, {"id": 1})
    result = runtime.host.invoke("MapperFunction", sqs_event(runtime, "IngestQueue", [message]))

    assert result == {"batchItemFailures": []}  # nothing to retry: it is in the DLQ
    (dead,) = drain(runtime, "IngestDLQ")
    assert dead["delivery_id"] == "d-1"
    assert "Field required" in dead["_attributes"]["reason"]["StringValue"]


def test_an_unexpected_failure_is_retried_not_acknowledged(
    runtime: Any, tenant: Any, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mutabik.pipeline import mapping

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("table unreachable")

    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
    from mutabik.store.deliveries import DeliveryRecord, DeliveryState

    services.deliveries.record(
        DeliveryRecord(
            tenant=tenant.tenant,
            source="shopify",
            delivery_id="d-broken",
            state=DeliveryState.ENQUEUED,
            received_at=datetime.now(UTC),
        )
    )
    monkeypatch.setattr(mapping.Services, "documents", property(lambda self: broken()))
    event = sqs_event(runtime, "IngestQueue", [ingest_message(tenant.tenant, shopify_order(), "d-broken")])
    # Every record failed: Powertools fails the whole invocation, so SQS retries it (then the DLQ).
    with pytest.raises(BatchProcessingError):
        runtime.host.invoke("MapperFunction", event)
    monkeypatch.undo()
    record = services.deliveries.get(tenant.tenant, "shopify", "d-broken")
    assert record.state is DeliveryState.ENQUEUED  # still on its way: retried, not failed
    assert record.reason == "ConnectionError: table unreachable"
    assert record.attempts == 1


def test_pusher_issues_to_the_export_provider(runtime: Any, tenant: Any, services: Any) -> None:
    runtime.host.invoke(
        "MapperFunction", sqs_event(runtime, "IngestQueue", [ingest_message(tenant.tenant, shopify_order())])
    )
    key = drain(runtime, "PushQueue")[0]["key"]

    result = runtime.host.invoke("PusherFunction", sqs_event(runtime, "PushQueue", [{"key": key}]))

    assert result == {"batchItemFailures": []}
    document = services.documents.get(key)
    assert document.status is DocumentStatus.SUBMITTED
    assert document.attempts == 1
    exported = json.loads(services.blobs.get(document.provider_refs["s3_key"]))
    assert exported["uuid"] == document.uuid
    assert exported["content"]["order"]["source_ref"] == "5800000000001"


def test_an_interrupted_attempt_is_found_at_the_provider_not_sent_again(
    runtime: Any, tenant: Any, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a pusher that sent the document and died before recording it (SUBMITTING, lease expired)
    WHEN the message comes back THEN the pusher asks the provider, finds it, and does not issue again."""
    from mutabik.providers.export import ExportProvider

    runtime.host.invoke(
        "MapperFunction", sqs_event(runtime, "IngestQueue", [ingest_message(tenant.tenant, shopify_order())])
    )
    key = drain(runtime, "PushQueue")[0]["key"]
    pending = services.documents.get(key)
    held = services.documents.transition(
        pending, DocumentStatus.SUBMITTING, lease_until=datetime.now(UTC) - timedelta(seconds=1), attempts=1
    )
    from mutabik.pipeline.pushing import build_provider

    build_provider(held, services).issue(held)  # it did arrive before the crash
    issued: list[str] = []
    monkeypatch.setattr(ExportProvider, "issue", lambda self, d, invoice=None: issued.append(d.key))

    runtime.host.invoke("PusherFunction", sqs_event(runtime, "PushQueue", [{"key": key}]))

    assert issued == []
    assert services.documents.get(key).status is DocumentStatus.SUBMITTED


def test_a_document_held_by_another_pusher_is_postponed(runtime: Any, tenant: Any, services: Any) -> None:
    runtime.host.invoke(
        "MapperFunction", sqs_event(runtime, "IngestQueue", [ingest_message(tenant.tenant, shopify_order())])
    )
    key = drain(runtime, "PushQueue")[0]["key"]
    services.documents.transition(
        services.documents.get(key), DocumentStatus.SUBMITTING, lease_until=datetime.now(UTC) + timedelta(minutes=1)
    )
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    event = sqs_event(runtime, "PushQueue", [{"key": key}])
    with pytest.raises(BatchProcessingError, match="is being submitted by another attempt"):
        runtime.host.invoke("PusherFunction", event)
    assert services.documents.get(key).status is DocumentStatus.SUBMITTING


def test_a_stale_write_loses(runtime: Any, tenant: Any, services: Any) -> None:
    from mutabik.store.exceptions import StaleDocumentError

    runtime.host.invoke(
        "MapperFunction", sqs_event(runtime, "IngestQueue", [ingest_message(tenant.tenant, shopify_order())])
    )
    key = drain(runtime, "PushQueue")[0]["key"]
    seen = services.documents.get(key)
    services.documents.transition(seen, DocumentStatus.SUBMITTING)
    with pytest.raises(StaleDocumentError) as error:
        services.documents.transition(seen, DocumentStatus.SUBMITTING)  # decided from an old read
    assert error.value.current.status is DocumentStatus.SUBMITTING
    assert error.value.current.version == 1


@pytest.fixture
def ubl_tenant(tenant: Any, services: Any) -> Any:
    """The tenant, its export provider writing UBL-TR e-Arşiv invoices numbered from series MTB."""
    from mutabik.store.tenants import ProviderSettings

    config = tenant.model_copy(update={"providers": {"export": ProviderSettings(options={"format": "ubl"})}})
    services.tenants.put(config)
    return config


def push_order(runtime: Any, tenant: str, order: dict[str, Any]) -> str:
    runtime.host.invoke("MapperFunction", sqs_event(runtime, "IngestQueue", [ingest_message(tenant, order)]))
    key = drain(runtime, "PushQueue")[0]["key"]
    runtime.host.invoke("PusherFunction", sqs_event(runtime, "PushQueue", [{"key": key}]))
    return key


def test_a_ubl_invoice_is_numbered_once_and_passes_gibs_xsd(runtime: Any, ubl_tenant: Any, services: Any) -> None:
    from mutabik import ubl

    key = push_order(runtime, ubl_tenant.tenant, shopify_order())
    document = services.documents.get(key)

    assert document.status is DocumentStatus.SUBMITTED
    year = document.created_at.year
    assert document.number == f"MTB{year}000000001"
    xml = services.blobs.get(document.provider_refs["s3_key"])
    ubl.validate_xsd(xml)
    parsed = ubl.parse_invoice(xml)
    assert parsed.number == document.number
    assert parsed.uuid.lower() == document.uuid  # GİB writes ETTNs in capitals
    assert parsed.payable == Decimal("319.90")  # what the buyer paid, to the kuruş

    # A replay sends nothing again and takes no second number.
    runtime.host.invoke("PusherFunction", sqs_event(runtime, "PushQueue", [{"key": key}]))
    assert services.counters.current(ubl_tenant.tenant, "MTB", year) == 1


def test_an_invoice_gib_would_refuse_is_rejected_before_it_takes_a_number(
    runtime: Any, ubl_tenant: Any, services: Any
) -> None:
    order = shopify_order(order_id=5800000000002)
    order["line_items"][0]["tax_lines"] = [{"rate": 0.0, "price": "0.00"}]  # 0 % KDV with no exemption code
    order["shipping_lines"] = []
    order["total_price"] = "270.00"

    document = services.documents.get(push_order(runtime, ubl_tenant.tenant, order))

    assert document.status is DocumentStatus.REJECTED
    assert "exemption" in document.error.lower()
    assert "line 1" in document.error.lower()
    assert document.number == ""
    assert services.counters.current(ubl_tenant.tenant, "MTB", document.created_at.year) == 0
