"""Stripe events through the webhook and the mapper (moto), their order read from the fake Stripe API when the
event's object does not name it: refunds keyed by the shop's order like its sales invoice, once, and the API's
failures kept where an operator sees them."""

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
from tests.fakes.stripe_api import SAMPLE_ORDER, SAMPLE_PAYMENT_INTENT, Fake
from tests.support import drain, drain_all, sender_api_tenant

DEMO_SECRET = json.loads(Path(ROOT, "events", "secrets.json").read_text())["stripe"]


def sample_body(name: str) -> dict[str, Any]:
    event = json.loads(Path(ROOT, "events", "stripe", f"{name}.json").read_text())
    body: dict[str, Any] = json.loads(event["body"])
    return body


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Fake, FakeServer]]:
    fake = Fake()
    with FakeServer(fake) as running:
        yield fake, running


@pytest.fixture
def fake(server: tuple[Fake, FakeServer]) -> Iterator[Fake]:
    fake, _ = server
    fake.__init__()  # type: ignore[misc]  # a fresh Stripe account for each test, on the same port
    yield fake
    fake.assert_clean()


@pytest.fixture(autouse=True)
def _empty_queues(runtime: Any) -> Iterator[None]:
    drain_all(runtime)
    yield
    drain_all(runtime)


def stripe_tenant(services: Any, fake: Fake, url: str, *, with_credentials: bool = True) -> Any:
    return sender_api_tenant(services, "stripe", fake, url, api_credentials=with_credentials)


@pytest.fixture
def tenant(services: Any, fake: Fake, server: tuple[Fake, FakeServer]) -> Any:
    return stripe_tenant(services, fake, server[1].url)


def post(runtime: Any, tenant: str, body: dict[str, Any]) -> str:
    """POST an event to the webhook signed as Stripe signs it now; its delivery id (the event id)."""
    from mutabik.sources.base import Delivery
    from mutabik.sources.stripe import StripeSource

    raw = json.dumps(body).encode()
    signed = StripeSource().sign(Delivery("stripe", tenant, {"content-type": "application/json"}, raw), DEMO_SECRET)
    _, event = runtime.http.event("POST", f"/v1/webhooks/stripe/{tenant}", dict(signed.headers), raw)
    answer = runtime.host.invoke("WebhookFunction", event)
    assert answer["statusCode"] == 202, answer
    return str(body["id"])


def map_queue(runtime: Any) -> int:
    return int(runtime.pollers["MapperFunction"].poll_once())


def return_invoice(tenant: Any, refund: str = "re_3QdemoTRY0001") -> str:
    return keys.document_key(tenant.tenant, "export", DocumentType.RETURN_INVOICE, f"stripe:{refund}")


def test_a_refund_without_order_becomes_a_return_invoice_of_the_shops_order(
    runtime: Any, services: Any, fake: Fake, tenant: Any
) -> None:
    # GIVEN the capture (its charge names the order) and then the refund (it names only its PaymentIntent)
    post(runtime, tenant.tenant, sample_body("charge-succeeded"))
    refund_id = post(runtime, tenant.tenant, sample_body("refund-created"))
    handled = 0
    for _ in range(5):  # SQS may hand the two messages over in two receives
        handled += map_queue(runtime)
        if handled == 2:
            break
    assert handled == 2

    # THEN the return invoice refers to the same order as the collection, read once from the PaymentIntent
    record = services.deliveries.get(tenant.tenant, "stripe", refund_id)
    assert record.state is DeliveryState.MAPPED
    assert record.documents == (return_invoice(tenant),)
    document = services.documents.get(return_invoice(tenant))
    assert document.status is DocumentStatus.PENDING
    refund = document.payload["refund"]
    collection = keys.document_key(tenant.tenant, "export", DocumentType.COLLECTION, "stripe:ch_3QdemoTRY0001")
    payment = services.documents.get(collection).payload["payment"]
    assert refund["order_ref"] == payment["order_ref"] == SAMPLE_ORDER
    assert Decimal(refund["amount"]["amount"]) == Decimal("250.00")
    assert Decimal(refund["amount"]["amount"]) <= Decimal(payment["amount"]["amount"]) == Decimal("1640.00")
    assert fake.reads() == [f"/v1/payment_intents/{SAMPLE_PAYMENT_INTENT}"]


def test_a_replayed_refund_makes_nothing_twice_and_reads_nothing_again(
    runtime: Any, services: Any, fake: Fake, tenant: Any
) -> None:
    post(runtime, tenant.tenant, sample_body("refund-created"))
    (message,) = drain(runtime, "IngestQueue")
    message.pop("_attributes")
    for _ in range(2):  # a redrive of the same delivery
        runtime.sqs.send_message(QueueUrl=runtime.resource("IngestQueue"), MessageBody=json.dumps(message))
        assert map_queue(runtime) == 1
    # The same refund listed again on charge.refunded is the same document.
    post(runtime, tenant.tenant, sample_body("charge-refunded"))
    assert map_queue(runtime) == 1

    today = services.documents.list_day(tenant.tenant, services.clock().date())
    assert [d.key for d in today if d.type is DocumentType.RETURN_INVOICE] == [return_invoice(tenant)]
    assert fake.reads() == [f"/v1/payment_intents/{SAMPLE_PAYMENT_INTENT}"]  # cached in the table after one read
    assert drain(runtime, "IngestDLQ") == []


def test_missing_credentials_dead_letter_the_refund_naming_the_secret(
    runtime: Any, services: Any, fake: Fake, server: tuple[Fake, FakeServer]
) -> None:
    tenant = stripe_tenant(services, fake, server[1].url, with_credentials=False)
    delivery_id = post(runtime, tenant.tenant, sample_body("refund-created"))
    assert map_queue(runtime) == 1

    secret = services.secrets.sender_api_secret_name(tenant.tenant, "stripe")
    record = services.deliveries.get(tenant.tenant, "stripe", delivery_id)
    assert record.state is DeliveryState.FAILED
    assert secret in record.reason
    (dead,) = drain(runtime, "IngestDLQ")
    assert dead["delivery_id"] == delivery_id
    assert services.documents.get(return_invoice(tenant)) is None  # nothing issued under the PaymentIntent
    assert fake.requests == []


def test_a_refund_with_no_order_anywhere_waits_in_the_dlq_and_replays_once_the_shop_sets_it(
    runtime: Any, services: Any, fake: Fake, tenant: Any
) -> None:
    from mutabik.pipeline.redrive import redrive

    fake.set_metadata(SAMPLE_PAYMENT_INTENT, {})
    fake.set_metadata("ch_3QdemoTRY0001", {})
    delivery_id = post(runtime, tenant.tenant, sample_body("refund-created"))
    assert map_queue(runtime) == 1

    record = services.deliveries.get(tenant.tenant, "stripe", delivery_id)
    assert record.state is DeliveryState.FAILED
    assert "refund re_3QdemoTRY0001 names no order" in record.reason
    (dead,) = drain(runtime, "IngestDLQ")

    # The shop puts its order id on the PaymentIntent; the operator redrives.
    fake.set_metadata(SAMPLE_PAYMENT_INTENT, {"order_id": SAMPLE_ORDER})
    dead.pop("_attributes")
    services.ingest_dlq.send(dead)
    assert redrive(services.ingest_dlq, services.ingest_queue).moved == 1
    assert map_queue(runtime) == 1
    assert services.deliveries.get(tenant.tenant, "stripe", delivery_id).state is DeliveryState.MAPPED
    assert services.documents.get(return_invoice(tenant)).payload["refund"]["order_ref"] == SAMPLE_ORDER


def test_an_outage_keeps_the_reason_and_the_message_comes_back(
    runtime: Any, services: Any, fake: Fake, tenant: Any
) -> None:
    fake.fail_next(1, 503)
    delivery_id = post(runtime, tenant.tenant, sample_body("refund-created"))
    assert map_queue(runtime) == 1

    record = services.deliveries.get(tenant.tenant, "stripe", delivery_id)
    assert record.state is not DeliveryState.FAILED
    assert "stripe answered 503" in record.reason

    deadline = time.monotonic() + 15  # the visibility timeout, scaled 1:100 in tests
    while map_queue(runtime) == 0:
        assert time.monotonic() < deadline, "the message did not come back"
        time.sleep(0.2)
    assert services.deliveries.get(tenant.tenant, "stripe", delivery_id).state is DeliveryState.MAPPED
    assert services.documents.get(return_invoice(tenant)).payload["refund"]["order_ref"] == SAMPLE_ORDER
    assert len(fake.reads()) == 2
