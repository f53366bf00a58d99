"""Through the mapper against moto: a tenant's mapping (table data) changes what is planned; cancellations
cancel only what was invoiced, and say why when there is nothing to cancel."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from mutabik.model import Address, Line, LineKind, Money, Order, Party
from mutabik.model.document import DocumentStatus, DocumentType
from mutabik.store import keys
from mutabik.store.deliveries import DeliveryRecord, DeliveryState

from tests.support import GENERIC_SECRET, drain, drain_all, generic_delivery

AT = "2026-10-12T09:30:00+00:00"


@pytest.fixture(autouse=True)
def _empty_queues(runtime: Any) -> Iterator[None]:
    drain_all(runtime)
    yield
    drain_all(runtime)


def make_tenant(services: Any, mapping: dict[str, Any] | None = None) -> Any:
    from mutabik.store.tenants import SourceSettings, TenantConfig
    from mutabik_local.demo import DEMO_SELLER

    name = f"t{uuid.uuid4().hex[:10]}"
    services.secrets.put(keys.source_secret_name(services.secrets.prefix, name, "generic"), GENERIC_SECRET)
    config = TenantConfig.model_validate(
        {
            "tenant": name,
            "seller": DEMO_SELLER.model_dump(mode="json"),
            "sources": {"generic": SourceSettings().model_dump(mode="json")},
            "routes": dict.fromkeys(DocumentType, "export"),
            "mapping": mapping or {},
        }
    )
    services.tenants.put(config)
    return config


def order_event(kind: str = "order.paid", order_id: str = "PKG-1", tax_id: str = "10000000146") -> dict[str, Any]:
    order = Order(
        source="pos",
        source_ref=order_id,
        ordered_at=datetime(2026, 10, 12, 9, 0, tzinfo=UTC),
        buyer=Party(name="Ayşe Yılmaz", tax_id=tax_id, address=Address(city="İstanbul", district="Kadıköy")),
        lines=(
            Line(sku="KHV-250", name="Filtre Kahve", quantity=2, unit_price=Decimal("150")),
            Line(name="Kargo", kind=LineKind.SHIPPING, quantity=1, unit_price=Decimal("49.90")),
        ),
        total_paid=Money(amount="349.90"),
    )
    return {"kind": kind, "occurred_at": AT, "order": order.model_dump(mode="json")}


def cancelled(order_id: str = "PKG-1") -> dict[str, Any]:
    return {"kind": "order.cancelled", "occurred_at": AT, "source": "pos", "order_ref": order_id, "reason": "stok yok"}


def deliver(services: Any, tenant: Any, events: list[dict[str, Any]]) -> tuple[list[Any], DeliveryRecord]:
    """One generic delivery through the mapper, as the ingest queue hands it over."""
    from mutabik.pipeline.mapping import map_delivery

    body, headers = generic_delivery(events)
    delivery_id = headers["x-mutabik-delivery-id"]
    services.deliveries.record(
        DeliveryRecord(
            tenant=tenant.tenant,
            source="generic",
            delivery_id=delivery_id,
            state=DeliveryState.ENQUEUED,
            received_at=datetime.now(UTC),
        )
    )
    message = {
        "tenant": tenant.tenant,
        "source": "generic",
        "delivery_id": delivery_id,
        "received_at": datetime.now(UTC).isoformat(),
        "headers": headers,
        "body_b64": base64.b64encode(body).decode(),
    }
    documents = map_delivery(message, services)
    return documents, services.deliveries.get(tenant.tenant, "generic", delivery_id)


def test_the_same_order_is_planned_as_each_tenants_mapping_says(runtime: Any, services: Any) -> None:
    plain = make_tenant(services)
    mapped = make_tenant(
        services,
        {
            "products": {"KHV-250": {"code": "153.01.0042", "name": "Filtre Kahve 250 gr", "kdv_rate": "10"}},
            "shipping": {"name": "Kargo Bedeli", "code": "KARGO"},
            "customers": {"consumers": "retail", "retail_codes": {"pos": "120.01.009"}},
        },
    )

    (as_sent,), _ = deliver(services, plain, [order_event()])
    (as_mapped,), record = deliver(services, mapped, [order_event()])

    assert [(line["sku"], line["name"], line["kdv_rate"]) for line in as_sent.payload["order"]["lines"]] == [
        ("KHV-250", "Filtre Kahve", "20"),
        ("", "Kargo", "20"),
    ]
    assert [(line["sku"], line["name"], line["kdv_rate"]) for line in as_mapped.payload["order"]["lines"]] == [
        ("153.01.0042", "Filtre Kahve 250 gr", "10"),
        ("KARGO", "Kargo Bedeli", "20"),
    ]
    assert as_mapped.payload["account"]["code"] == "120.01.009"
    assert as_sent.payload["account"]["kind"] == "consumer"
    # What the pusher reads is the mapped document, stored and queued once.
    stored = services.documents.get(as_mapped.key)
    assert stored.payload == as_mapped.payload
    assert stored.status is DocumentStatus.PENDING
    assert record.state is DeliveryState.MAPPED
    assert sorted(m["key"] for m in drain(runtime, "PushQueue")) == sorted([as_sent.key, as_mapped.key])


def test_a_tenant_that_invoices_on_placement_gets_the_invoice_at_placement(runtime: Any, services: Any) -> None:
    default = make_tenant(services)
    on_placement = make_tenant(services, {"events": {"order.placed": "sales_invoice"}})

    nothing, record = deliver(services, default, [order_event("order.placed")])
    (invoice,), _ = deliver(services, on_placement, [order_event("order.placed")])

    assert nothing == []
    assert (record.state, record.reason) == (DeliveryState.IGNORED, "no document for this event")
    assert invoice.key == keys.document_key(on_placement.tenant, "export", DocumentType.SALES_INVOICE, "pos:PKG-1")
    # Paid later: the same key, no second invoice.
    (again,), _ = deliver(services, on_placement, [order_event("order.paid")])
    assert again.key == invoice.key


def test_a_cancellation_before_invoicing_is_ignored_with_the_reason(runtime: Any, services: Any) -> None:
    tenant = make_tenant(services)

    documents, record = deliver(services, tenant, [cancelled("NEVER-PAID")])

    assert documents == []
    assert (record.state, record.reason) == (DeliveryState.IGNORED, "cancelled before invoicing")
    assert drain(runtime, "PushQueue") == []


def test_a_cancellation_of_an_invoiced_order_is_planned_even_before_the_invoice_is_final(
    runtime: Any, services: Any
) -> None:
    tenant = make_tenant(services)
    (invoice,), _ = deliver(services, tenant, [order_event(order_id="PKG-7")])
    assert invoice.status is DocumentStatus.PENDING

    (cancellation,), record = deliver(services, tenant, [cancelled("PKG-7")])

    assert cancellation.type is DocumentType.CANCELLATION
    assert cancellation.key == keys.document_key(tenant.tenant, "export", DocumentType.CANCELLATION, "pos:PKG-7")
    assert cancellation.payload == {"cancellation": {"source": "pos", "order_ref": "PKG-7", "reason": "stok yok"}}
    assert (record.state, record.documents) == (DeliveryState.MAPPED, (cancellation.key,))


def test_a_cancellation_of_a_rejected_invoice_issues_nothing(runtime: Any, services: Any) -> None:
    tenant = make_tenant(services)
    (invoice,), _ = deliver(services, tenant, [order_event(order_id="PKG-8")])
    services.documents.transition(invoice, DocumentStatus.REJECTED, error="refused by the provider")

    documents, record = deliver(services, tenant, [cancelled("PKG-8")])

    assert documents == []
    assert record.state is DeliveryState.IGNORED
    assert "rejected" in record.reason


def test_a_tenant_that_turned_cancellations_off_keeps_its_invoice(runtime: Any, services: Any) -> None:
    tenant = make_tenant(services, {"sources": {"pos": {"events": {"order.cancelled": None}}}})
    deliver(services, tenant, [order_event(order_id="PKG-9")])

    documents, record = deliver(services, tenant, [cancelled("PKG-9")])

    assert documents == []
    assert record.state is DeliveryState.IGNORED


def test_a_stored_mapping_that_is_wrong_dead_letters_with_the_field(runtime: Any, services: Any) -> None:
    from mutabik.pipeline.mapping import PermanentMappingError

    tenant = make_tenant(services)
    body = json.loads(tenant.model_dump_json())
    body["mapping"] = {"products": {"KHV-250": {"kdv_rate": "18"}}}  # written by hand, never validated
    services.tenants.client.put_item(
        TableName=services.tenants.table_name,
        Item={**{k: {"S": v} for k, v in keys.tenant_key(tenant.tenant).items()}, "body": {"S": json.dumps(body)}},
    )

    with pytest.raises(PermanentMappingError, match=r"mapping\.products\.KHV-250\.kdv_rate: .*not one in force"):
        deliver(services, tenant, [order_event()])
