"""Out-of-order events: a refund, collection or cancellation that arrives before its invoice is held, not lost
and not crashed on; it goes once the invoice is issued, and says why when it never can."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mutabik.model.document import DocumentStatus, DocumentType
from mutabik.store import keys

from tests.integration.test_mapper_pusher import _empty_queues, sqs_event  # noqa: F401 - the autouse fixture
from tests.support import drain, drain_all, generic_delivery, provider_tenant

EVENTS = Path(__file__).resolve().parents[2] / "events" / "generic"
S = DocumentStatus


def _order_paid() -> dict[str, Any]:
    event: dict[str, Any] = json.loads(json.loads((EVENTS / "order-paid.json").read_text())["body"])
    return event


def _batch() -> dict[str, dict[str, Any]]:
    events = json.loads(json.loads((EVENTS / "batch.json").read_text())["body"])
    return {event["kind"]: event for event in events}


def _ingest(tenant: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    body, headers = generic_delivery(events)
    return {
        "tenant": tenant,
        "source": "generic",
        "delivery_id": headers["x-mutabik-delivery-id"],
        "topic": "",
        "received_at": datetime.now(UTC).isoformat(),
        "headers": headers,
        "body_b64": base64.b64encode(body).decode(),
    }


def _map(runtime: Any, tenant: str, events: list[dict[str, Any]]) -> list[str]:
    result = runtime.host.invoke("MapperFunction", sqs_event(runtime, "IngestQueue", [_ingest(tenant, events)]))
    assert result == {"batchItemFailures": []}
    return [message["key"] for message in drain(runtime, "PushQueue")]


def _push(runtime: Any, key: str) -> dict[str, Any]:
    result: dict[str, Any] = runtime.host.invoke("PusherFunction", sqs_event(runtime, "PushQueue", [{"key": key}]))
    return result


@pytest.fixture
def export_tenant(services: Any) -> Any:
    return provider_tenant(services, "export", base_url="")


def test_a_refund_before_its_order_is_held_then_issued_against_the_invoice(
    runtime: Any, export_tenant: Any, services: Any
) -> None:
    """GIVEN a refund delivered before the order it refunds WHEN it is pushed THEN it waits, saying for which
    invoice; once the order's invoice is issued, the return goes and names the invoice it returns."""
    (refund_key,) = _map(runtime, export_tenant.tenant, [_batch()["refund.created"]])

    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    with pytest.raises(BatchProcessingError, match="waits for its sales invoice"):  # comes back later
        _push(runtime, refund_key)

    waiting = services.documents.get(refund_key)
    assert waiting.status is S.PENDING
    invoice_key = keys.document_key(export_tenant.tenant, "export", DocumentType.SALES_INVOICE, "pos:POS-2026-000731")
    assert waiting.error == f"{refund_key} waits for its sales invoice {invoice_key}"

    (order_key,) = _map(runtime, export_tenant.tenant, [_order_paid()])
    assert order_key == invoice_key
    assert _push(runtime, order_key) == {"batchItemFailures": []}
    assert _push(runtime, refund_key) == {"batchItemFailures": []}

    returned = services.documents.get(refund_key)
    assert returned.status is S.SUBMITTED
    assert returned.error == ""
    exported = json.loads(services.blobs.get(returned.provider_refs["s3_key"]))
    assert exported["invoice"] == {"key": invoice_key, "number": "", "uuid": services.documents.get(invoice_key).uuid}


def test_a_payment_providers_refund_and_collection_find_the_shops_invoice_through_orders_from(
    runtime: Any, export_tenant: Any, services: Any
) -> None:
    """GIVEN a payment provider ("psp") that takes the payments of the shop's ("pos") orders, and the tenant's
    mapping saying so (`sources.psp.orders_from = "pos"`) WHEN its collection and refund are pushed THEN they
    are issued against the shop's invoice — without it they would wait for a `psp:` invoice that never comes."""
    from mutabik.mapping.config import MappingConfig, SourceMapping

    tenant = export_tenant.model_copy(
        update={"mapping": MappingConfig(sources={"psp": SourceMapping(orders_from="pos")})}
    )
    services.tenants.put(tenant)
    batch = _batch()
    payment = {**batch["payment.captured"], "payment": {**batch["payment.captured"]["payment"], "source": "psp"}}
    refund = {**batch["refund.created"], "refund": {**batch["refund.created"]["refund"], "source": "psp"}}
    (order_key,) = _map(runtime, tenant.tenant, [_order_paid()])
    assert _push(runtime, order_key) == {"batchItemFailures": []}

    payment_key, refund_key = _map(runtime, tenant.tenant, [payment, refund])
    assert payment_key.endswith("#collection#psp:POS-TAHSILAT-9911")
    for key in (payment_key, refund_key):
        assert _push(runtime, key) == {"batchItemFailures": []}
        issued = services.documents.get(key)
        assert issued.status is S.SUBMITTED, issued.error
        exported = json.loads(services.blobs.get(issued.provider_refs["s3_key"]))
        assert exported["invoice"]["key"] == order_key


def test_a_collection_for_a_rejected_invoice_is_rejected_with_the_reason(
    runtime: Any, export_tenant: Any, services: Any
) -> None:
    (order_key,) = _map(runtime, export_tenant.tenant, [_order_paid()])
    invoice = services.documents.get(order_key)
    services.documents.transition(invoice, S.REJECTED, error="GİB: alıcı VKN geçersiz")
    (payment_key,) = _map(runtime, export_tenant.tenant, [_batch()["payment.captured"]])

    assert _push(runtime, payment_key) == {"batchItemFailures": []}

    payment = services.documents.get(payment_key)
    assert payment.status is S.REJECTED
    assert payment.error == f"its sales invoice {order_key} was rejected: GİB: alıcı VKN geçersiz"


def test_a_payment_that_names_no_order_is_rejected_not_held_forever(
    runtime: Any, export_tenant: Any, services: Any
) -> None:
    payment = _batch()["payment.captured"]
    payment["payment"] = {**payment["payment"], "order_ref": "", "source_ref": "POS-TAHSILAT-NO-ORDER"}
    (payment_key,) = _map(runtime, export_tenant.tenant, [payment])

    assert _push(runtime, payment_key) == {"batchItemFailures": []}

    rejected = services.documents.get(payment_key)
    assert rejected.status is S.REJECTED
    assert rejected.error == "the collection names no order, so there is no invoice it refers to"


@pytest.fixture
def portal_tenant(runtime: Any, services: Any) -> Iterator[tuple[Any, Any]]:
    """A tenant at the GİB portal fake: its invoices wait, SUBMITTED, for the seller's signature."""
    from tests.fakes import FakeServer
    from tests.fakes.gib_portal import Fake

    fake = Fake()
    with FakeServer(fake) as server:
        yield provider_tenant(services, "gib_portal", base_url=server.url, credentials=fake.credentials()), fake
    time.sleep(1.2)  # the pusher's delayed follow-ups (1 s here) must not reach the next test's queue
    drain_all(runtime)


def test_a_refund_of_an_unsigned_invoice_waits_without_spending_its_receives(
    runtime: Any, portal_tenant: tuple[Any, Any], services: Any
) -> None:
    """GIVEN an invoice drafted at the portal, unsigned (it may stay so for days) WHEN its refund is pushed
    THEN the message is acknowledged and a fresh delayed one asks again, so the wait never reaches the DLQ."""
    tenant, _ = portal_tenant
    (order_key,) = _map(runtime, tenant.tenant, [_order_paid()])
    assert _push(runtime, order_key) == {"batchItemFailures": []}
    assert services.documents.get(order_key).status is S.SUBMITTED
    (refund_key,) = _map(runtime, tenant.tenant, [_batch()["refund.created"]])

    assert _push(runtime, refund_key) == {"batchItemFailures": []}

    assert services.documents.get(refund_key).status is S.PENDING
    follow_ups = _wait_for_messages(runtime, "PushQueue", refund_key)
    assert follow_ups == [{"key": refund_key, "follow_up": 1, "_attributes": {}}]


def test_a_cancellation_goes_while_its_invoice_still_awaits_signature(
    runtime: Any, portal_tenant: tuple[Any, Any], services: Any
) -> None:
    """An unsigned draft can still be withdrawn; waiting for the signature first would make that impossible."""
    tenant, fake = portal_tenant
    (order_key,) = _map(runtime, tenant.tenant, [_order_paid()])
    _push(runtime, order_key)
    cancellation = {
        "occurred_at": "2026-01-15T13:00:00+03:00",
        "kind": "order.cancelled",
        "source": "pos",
        "order_ref": "POS-2026-000731",
        "reason": "müşteri vazgeçti",
    }
    (cancel_key,) = _map(runtime, tenant.tenant, [cancellation])

    assert _push(runtime, cancel_key) == {"batchItemFailures": []}

    assert services.documents.get(cancel_key).status in (S.SUBMITTED, S.ACCEPTED)
    assert [d.state for d in fake.drafts.values()] == ["Silinmiş"]


def _wait_for_messages(runtime: Any, queue: str, key: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Messages for `key`: sent with a delay, they become visible later, so wait for them (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [message for message in drain(runtime, queue) if message["key"] == key]
        if found:
            return found
        time.sleep(0.2)
    return []
