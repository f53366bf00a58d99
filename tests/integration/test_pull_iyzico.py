"""iyzico notifications without amounts, through the webhook and the mapper (moto), completed from the fake
reporting service: the right PENDING documents once, and the API's failures kept where an operator sees them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mutabik.model.document import DocumentStatus, DocumentType
from mutabik.store import keys
from mutabik.store.deliveries import DeliveryState

from tests.conftest import ROOT
from tests.fakes import FakeServer
from tests.fakes.iyzico_api import Fake
from tests.support import drain, drain_all, sender_api_tenant

DEMO_SECRET = json.loads(Path(ROOT, "events", "secrets.json").read_text())["iyzico"]


def sample(name: str) -> tuple[bytes, dict[str, str]]:
    event = json.loads(Path(ROOT, "events", "iyzico", f"{name}.json").read_text())
    return event["body"].encode(), event["headers"]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Fake, FakeServer]]:
    fake = Fake()
    with FakeServer(fake) as running:
        yield fake, running


@pytest.fixture
def fake(server: tuple[Fake, FakeServer]) -> Iterator[Fake]:
    fake, _ = server
    fake.__init__()  # type: ignore[misc]  # fresh state and keys for each test, on the same port
    yield fake
    fake.assert_clean()


@pytest.fixture(autouse=True)
def _empty_queues(runtime: Any) -> Iterator[None]:
    drain_all(runtime)
    yield
    drain_all(runtime)


def iyzico_tenant(services: Any, fake: Fake, url: str, *, with_credentials: bool = True) -> Any:
    return sender_api_tenant(services, "iyzico", fake, url, api_credentials=with_credentials)


@pytest.fixture
def tenant(services: Any, fake: Fake, server: tuple[Fake, FakeServer]) -> Any:
    return iyzico_tenant(services, fake, server[1].url)


def notify(runtime: Any, tenant: str, name: str) -> str:
    """POST a sample notification to the webhook as iyzico does; the delivery id it was recorded under."""
    body, headers = sample(name)
    _, event = runtime.http.event("POST", f"/v1/webhooks/iyzico/{tenant}", headers, body)
    answer = runtime.host.invoke("WebhookFunction", event)
    assert answer["statusCode"] == 202, answer
    notification = json.loads(body)
    return f"{notification['iyziReferenceCode']}:{notification['iyziEventType']}"


def map_queue(runtime: Any) -> int:
    return int(runtime.pollers["MapperFunction"].poll_once())


def test_a_checkout_form_payment_becomes_a_collection_of_its_amount(
    runtime: Any, services: Any, fake: Fake, tenant: Any
) -> None:
    delivery_id = notify(runtime, tenant.tenant, "checkout-form-auth")
    assert map_queue(runtime) == 1

    record = services.deliveries.get(tenant.tenant, "iyzico", delivery_id)
    assert record.state is DeliveryState.MAPPED
    key = keys.document_key(tenant.tenant, "export", DocumentType.COLLECTION, "iyzico:22483975")
    assert key in record.documents
    document = services.documents.get(key)
    assert document.status is DocumentStatus.PENDING
    payment = document.payload["payment"]
    assert (payment["order_ref"], payment["amount"]["currency"]) == ("5800000000001", "TRY")
    assert Decimal(payment["amount"]["amount"]) == Decimal("1640.00")  # iyzico sends JSON numbers: 1640.0
    assert Decimal(payment["fee"]["amount"]) == Decimal("41.25")
    assert len(fake.requests) == 1


def test_a_refund_notification_becomes_a_return_invoice_within_the_payment(
    runtime: Any, services: Any, fake: Fake, tenant: Any
) -> None:
    delivery_id = notify(runtime, tenant.tenant, "refund-retry-success")
    assert map_queue(runtime) == 1

    key = keys.document_key(tenant.tenant, "export", DocumentType.RETURN_INVOICE, "iyzico:refund-31000001")
    assert services.deliveries.get(tenant.tenant, "iyzico", delivery_id).documents == (key,)
    refund = services.documents.get(key).payload["refund"]
    assert refund["order_ref"] == "5800000000001"
    assert Decimal(refund["amount"]["amount"]) == Decimal("400.00")
    assert Decimal(refund["amount"]["amount"]) <= Decimal(fake.payments["22483975"]["paidPrice"])


def test_a_replayed_delivery_makes_nothing_twice(runtime: Any, services: Any, fake: Fake, tenant: Any) -> None:
    notify(runtime, tenant.tenant, "checkout-form-auth")
    (message,) = drain(runtime, "IngestQueue")
    message.pop("_attributes")
    for _ in range(2):  # a redrive of the same delivery
        runtime.sqs.send_message(QueueUrl=runtime.resource("IngestQueue"), MessageBody=json.dumps(message))
        assert map_queue(runtime) == 1

    collection = keys.document_key(tenant.tenant, "export", DocumentType.COLLECTION, "iyzico:22483975")
    assert collection in {m["key"] for m in drain(runtime, "PushQueue")}
    today = services.documents.list_day(tenant.tenant, services.clock().date())
    assert [d.key for d in today if d.type is DocumentType.COLLECTION] == [collection]
    assert drain(runtime, "IngestDLQ") == []


def test_missing_credentials_dead_letter_the_delivery_naming_the_secret(
    runtime: Any, services: Any, fake: Fake, server: tuple[Fake, FakeServer]
) -> None:
    tenant = iyzico_tenant(services, fake, server[1].url, with_credentials=False)
    delivery_id = notify(runtime, tenant.tenant, "checkout-form-auth")
    assert map_queue(runtime) == 1

    secret = services.secrets.sender_api_secret_name(tenant.tenant, "iyzico")
    record = services.deliveries.get(tenant.tenant, "iyzico", delivery_id)
    assert record.state is DeliveryState.FAILED
    assert secret in record.reason
    (dead,) = drain(runtime, "IngestDLQ")
    assert dead["delivery_id"] == delivery_id
    assert fake.requests == []


def test_an_outage_keeps_the_reason_and_the_message_comes_back(
    runtime: Any, services: Any, fake: Fake, tenant: Any
) -> None:
    fake.fail_next(1, 503)
    delivery_id = notify(runtime, tenant.tenant, "checkout-form-auth")
    assert map_queue(runtime) == 1

    record = services.deliveries.get(tenant.tenant, "iyzico", delivery_id)
    assert record.state is not DeliveryState.FAILED
    assert "iyzico answered 503" in record.reason

    deadline = time.monotonic() + 15  # the visibility timeout, scaled 1:100 in tests
    while map_queue(runtime) == 0:
        assert time.monotonic() < deadline, "the message did not come back"
        time.sleep(0.2)
    assert services.deliveries.get(tenant.tenant, "iyzico", delivery_id).state is DeliveryState.MAPPED
    assert len(fake.requests) == 2
