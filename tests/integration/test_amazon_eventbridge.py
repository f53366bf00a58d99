"""Amazon SP-API notifications: EventBridge (the template's rule) → ingest queue → mapper, against moto.

No URL names the tenant: the mapper finds it by the seller, records the delivery once (by the notification
id) and maps it like any delivery; what it cannot route goes to the ingest DLQ with the reason, replayable.
ORDER_CHANGE notifications of paid orders are completed from SP-API (the fake); test_pull_amazon.py says more.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mutabik.model.document import DocumentType
from mutabik.store import keys
from mutabik.store.deliveries import DeliveryState

from tests.conftest import ROOT
from tests.fakes import FakeServer
from tests.fakes.amazon_sp_api import Fake
from tests.support import drain, drain_all

SELLER = "A3TH9S8BH6GOGM"  # the seller of every sample in events/amazon


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(Path(ROOT, "events", "amazon", f"{name}.json").read_text())
    return loaded


def notification_id(event: dict[str, Any]) -> str:
    body = event.get("detail", event)
    return str(body["NotificationMetadata"]["NotificationId"])


@pytest.fixture(autouse=True)
def _empty_queues(runtime: Any) -> Iterator[None]:
    drain_all(runtime)
    yield
    drain_all(runtime)


@pytest.fixture
def sp_api() -> Iterator[tuple[Fake, FakeServer]]:
    """SP-API for the samples' seller: it knows their order, 903-8868176-2219830."""
    fake = Fake()
    with FakeServer(fake) as server:
        yield fake, server
    fake.assert_clean()


@pytest.fixture
def amazon_tenant(services: Any, sp_api: tuple[Fake, FakeServer]) -> Any:
    """A tenant with Amazon enabled, its SP-API access (the fake) stored, and the samples' seller routed to it,
    every document to `export`."""
    from mutabik.pipeline.intake import register_account
    from mutabik.store.tenants import SourceSettings, TenantConfig
    from mutabik_local.demo import DEMO_SELLER

    fake, server = sp_api
    config = TenantConfig(
        tenant=f"t{uuid.uuid4().hex[:10]}",
        seller=DEMO_SELLER,
        sources={"amazon": SourceSettings(api_url=server.url, options=fake.options())},
        routes=dict.fromkeys(DocumentType, "export"),
    )
    services.secrets.put(
        services.secrets.sender_api_secret_name(config.tenant, "amazon"), json.dumps(fake.credentials())
    )
    services.tenants.put(config)
    register_account(services, "amazon", SELLER, config.tenant)
    return config


def through_eventbridge(runtime: Any, services: Any, event: dict[str, Any]) -> None:
    """Put the event on the local stand-in for the partner bus, as Amazon does; the template's rule queues it."""
    bus = runtime.resource("AmazonNotificationsRule", "EventBusName")
    entry = {
        "EventBusName": bus,
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
    }
    assert runtime.session.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def map_queue(runtime: Any) -> int:
    """One poll of the ingest queue into the mapper, as the event source mapping does; messages handled."""
    return int(runtime.pollers["MapperFunction"].poll_once())


def test_the_rule_takes_sp_api_notifications_and_nothing_else(runtime: Any, services: Any) -> None:
    through_eventbridge(runtime, services, sample("transaction-update"))
    other = {**sample("transaction-update"), "detail-type": "LISTINGS_ITEM_STATUS_CHANGE"}
    through_eventbridge(runtime, services, other)

    (queued,) = drain(runtime, "IngestQueue")
    assert queued["detail-type"] == "TRANSACTION_UPDATE"
    assert queued["source"].startswith("aws.partner/sellingpartnerapi.amazon")
    assert queued["detail"] == sample("transaction-update")["detail"]


def test_a_transaction_update_becomes_a_collection_of_its_order(
    runtime: Any, services: Any, amazon_tenant: Any
) -> None:
    event = sample("transaction-update")
    through_eventbridge(runtime, services, event)
    assert map_queue(runtime) == 1

    record = services.deliveries.get(amazon_tenant.tenant, "amazon", notification_id(event))
    assert record.state is DeliveryState.MAPPED
    assert record.topic == "TRANSACTION_UPDATE"
    ref = f"amazon:{notification_id(event)}"
    key = keys.document_key(amazon_tenant.tenant, "export", DocumentType.COLLECTION, ref)
    assert record.documents == (key,)
    payment = services.documents.get(key).payload["payment"]
    assert (payment["order_ref"], payment["amount"]) == ("8129762527551", {"amount": "10", "currency": "USD"})
    assert [m["key"] for m in drain(runtime, "PushQueue")] == [key]


def test_a_shipped_order_change_becomes_a_despatch_advice_and_its_invoice(
    runtime: Any, services: Any, amazon_tenant: Any
) -> None:
    event = sample("order-change-shipped")
    through_eventbridge(runtime, services, event)
    assert map_queue(runtime) == 1

    def key(doc_type: DocumentType, ref: str) -> str:
        return keys.document_key(amazon_tenant.tenant, "export", doc_type, ref)

    despatch = key(DocumentType.DESPATCH_ADVICE, "amazon:903-8868176-2219830:shipped")
    invoice = key(DocumentType.SALES_INVOICE, "amazon:903-8868176-2219830")
    shipment = services.documents.get(despatch).payload["shipment"]
    assert [(line["sku"], line["quantity"]) for line in shipment["lines"]] == [("SellerSKUID1", "10")]
    record = services.deliveries.get(amazon_tenant.tenant, "amazon", notification_id(event))
    assert record.documents == (invoice, despatch)
    assert len(drain(runtime, "PushQueue")) == 2


def test_a_buyers_cancel_request_is_recorded_as_ignored(
    runtime: Any, services: Any, amazon_tenant: Any, sp_api: tuple[Fake, FakeServer]
) -> None:
    event = sample("order-change")
    through_eventbridge(runtime, services, event)
    assert map_queue(runtime) == 1

    record = services.deliveries.get(amazon_tenant.tenant, "amazon", notification_id(event))
    assert record.state is DeliveryState.IGNORED
    assert drain(runtime, "PushQueue") == []
    assert sp_api[0].requests == []  # nothing to invoice, nothing asked of Amazon


def test_a_redelivered_notification_is_one_delivery_and_one_document(
    runtime: Any, services: Any, amazon_tenant: Any
) -> None:
    """EventBridge and SQS deliver at least once: the notification id makes the second copy a no-op."""
    event = sample("transaction-update")
    through_eventbridge(runtime, services, event)
    through_eventbridge(runtime, services, event)
    assert map_queue(runtime) == 2

    days = services.deliveries.list_day(amazon_tenant.tenant, services.clock().date())
    assert [(d.delivery_id, d.state) for d in days] == [(notification_id(event), DeliveryState.MAPPED)]
    assert len(drain(runtime, "PushQueue")) == 1
    assert drain(runtime, "IngestDLQ") == []


def test_mutabik_send_routes_the_seller_to_the_tenant_and_puts_the_event_on_the_bus(
    runtime: Any, services: Any, amazon_tenant: Any
) -> None:
    from mutabik.pipeline.intake import tenant_of_account
    from mutabik_local.demo import post_event

    services.cache.delete("accounts/amazon", SELLER)
    event = sample("transaction-update")
    response = post_event(runtime.webhook_base, event, services, amazon_tenant.tenant)
    assert (response.status_code, response.json()["via"]) == (202, "EventBridge bus mutabik-local-amazon")
    assert tenant_of_account(services, "amazon", SELLER) == amazon_tenant.tenant
    assert map_queue(runtime) == 1
    record = services.deliveries.get(amazon_tenant.tenant, "amazon", notification_id(event))
    assert record.state is DeliveryState.MAPPED


def test_the_sqs_workflow_message_is_taken_the_same_way(runtime: Any, services: Any, amazon_tenant: Any) -> None:
    """SP-API's SQS destination puts the bare notification on the queue (no EventBridge envelope)."""
    from mutabik_local.demo import post_event

    event = sample("order-change-shipped-sqs")
    response = post_event(runtime.webhook_base, event, services, amazon_tenant.tenant)
    assert response.json()["via"] == "ingest queue"
    assert map_queue(runtime) == 1
    record = services.deliveries.get(amazon_tenant.tenant, "amazon", notification_id(event))
    assert record.state is DeliveryState.MAPPED


def test_an_unknown_seller_is_dead_lettered_with_its_reason_and_replays_once_routed(
    runtime: Any, services: Any, amazon_tenant: Any
) -> None:
    from mutabik.pipeline.intake import register_account
    from mutabik.pipeline.redrive import redrive

    event = sample("transaction-update")
    update = event["detail"]["Payload"]["TransactionUpdateNotification"]
    update["SellingPartnerMetadata"]["SellingPartnerId"] = "A1NEWSELLER"
    through_eventbridge(runtime, services, event)
    assert map_queue(runtime) == 1  # handled: no crash, no retry

    (dead,) = drain(runtime, "IngestDLQ")
    assert dead["_attributes"]["reason"]["StringValue"] == "no tenant has amazon account A1NEWSELLER"
    assert dead["detail"] == event["detail"]  # kept as it arrived

    # The seller is set up; a redrive maps it.
    register_account(services, "amazon", "A1NEWSELLER", amazon_tenant.tenant)
    dead.pop("_attributes")
    services.ingest_dlq.send(dead)
    assert redrive(services.ingest_dlq, services.ingest_queue).moved == 1
    assert map_queue(runtime) == 1
    record = services.deliveries.get(amazon_tenant.tenant, "amazon", notification_id(event))
    assert record.state is DeliveryState.MAPPED


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"version": "0", "detail-type": "Order", "source": "com.example.shop", "detail": {}}, "not an ingest message"),
        (
            {"detail-type": "ORDER_CHANGE", "source": "aws.partner/sellingpartnerapi.amazon/x", "detail": {}},
            "amazon delivery refused: detail.NotificationType: Field required",
        ),
    ],
    ids=["another partner's event", "an unreadable notification"],
)
def test_messages_no_tenant_takes_go_to_the_dlq_with_the_reason(
    runtime: Any, services: Any, message: dict[str, Any], reason: str
) -> None:
    services.ingest_queue.send(message)
    assert map_queue(runtime) == 1
    (dead,) = drain(runtime, "IngestDLQ")
    assert dead["_attributes"]["reason"]["StringValue"] == reason


def test_a_tenant_without_amazon_enabled_takes_none(runtime: Any, services: Any, amazon_tenant: Any) -> None:
    from mutabik.store.tenants import SourceSettings

    services.tenants.put(amazon_tenant.model_copy(update={"sources": {"amazon": SourceSettings(enabled=False)}}))
    through_eventbridge(runtime, services, sample("transaction-update"))
    assert map_queue(runtime) == 1
    (dead,) = drain(runtime, "IngestDLQ")
    assert (
        dead["_attributes"]["reason"]["StringValue"]
        == f"source amazon is not enabled for tenant {amazon_tenant.tenant}"
    )


def test_with_the_pipeline_running_a_shipped_order_ends_in_settled_documents(
    running_pipeline: Any, services: Any, amazon_tenant: Any
) -> None:
    """What `mutabik send events/amazon/order-change-shipped.json` shows on `mutabik local`."""
    from mutabik.providers import is_settled
    from mutabik_local.runtime import wait_until

    through_eventbridge(running_pipeline, services, sample("order-change-shipped"))

    def documents() -> list[Any]:
        return services.documents.list_day(amazon_tenant.tenant, services.clock().date())

    assert wait_until(lambda: len(documents()) == 2 and all(is_settled(d) for d in documents()), 30)
    assert {d.type for d in documents()} == {DocumentType.SALES_INVOICE, DocumentType.DESPATCH_ADVICE}


def test_saving_a_tenant_with_its_amazon_seller_id_routes_that_sellers_notifications(services: Any) -> None:
    """Onboarding is configuration: `sources.amazon.account` in the tenant is all it takes."""
    import uuid

    from mutabik.pipeline.intake import tenant_of_account
    from mutabik.store.tenants import SourceSettings, TenantConfig

    seller, name = f"A{uuid.uuid4().hex[:12].upper()}", f"t{uuid.uuid4().hex[:10]}"
    assert tenant_of_account(services, "amazon", seller) is None

    services.tenants.put(TenantConfig(tenant=name, sources={"amazon": SourceSettings(account=seller)}))

    assert tenant_of_account(services, "amazon", seller) == name
