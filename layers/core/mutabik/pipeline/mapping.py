"""Mapping: a queued delivery → canonical events → the documents a tenant issues for them (PENDING)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from mutabik.model.document import Document, DocumentType, document_uuid
from mutabik.model.events import CanonicalEvent, EventKind
from mutabik.pipeline.intake import IngestMessage
from mutabik.pipeline.services import Services
from mutabik.providers import is_settled, provider_class
from mutabik.providers.base import CAPABILITY_FOR
from mutabik.sources import get_source
from mutabik.sources.base import SourceContext
from mutabik.sources.exceptions import SourceError
from mutabik.store import keys
from mutabik.store.deliveries import DeliveryRecord, DeliveryState
from mutabik.store.exceptions import TenantNotFoundError
from mutabik.store.tenants import TenantConfig

__all__ = ["EVENT_DOCUMENTS", "PermanentMappingError", "map_delivery"]

logger = Logger(child=True)

#: Which document each event asks for. Events not listed (an order placed, unpaid) issue nothing.
EVENT_DOCUMENTS: dict[EventKind, DocumentType] = {
    EventKind.ORDER_PAID: DocumentType.SALES_INVOICE,
    EventKind.REFUND_CREATED: DocumentType.RETURN_INVOICE,
    EventKind.PAYMENT_CAPTURED: DocumentType.COLLECTION,
    EventKind.SHIPMENT_CREATED: DocumentType.DESPATCH_ADVICE,
    EventKind.PAYOUT_PAID: DocumentType.JOURNAL_ENTRY,
}


class PermanentMappingError(Exception):
    """Retrying will not help (unknown tenant, a body the parser refuses): dead-letter it with the reason."""


@dataclass(frozen=True)
class PlannedDocument:
    type: DocumentType
    source_ref: str
    payload: dict[str, Any]


def plan(event: CanonicalEvent) -> PlannedDocument | None:
    """The document one event asks for, independent of tenant routing."""
    doc_type = EVENT_DOCUMENTS.get(event.kind)
    if doc_type is None:
        return None
    subject = event.model_dump(mode="json", exclude={"kind", "occurred_at"})
    ((name, body),) = subject.items()
    # Refs are namespaced by sender: Shopify order 1001 and Trendyol order 1001 are different sales.
    return PlannedDocument(doc_type, f"{body['source']}:{body['source_ref']}", {name: body})


def map_delivery(message: Mapping[str, Any], services: Services) -> list[Document]:
    """Create the PENDING documents of one delivery and queue each for the pusher. Safe to run twice."""
    tenant_id, source_name = message["tenant"], message["source"]
    record = services.deliveries.get(tenant_id, source_name, message["delivery_id"])
    try:
        tenant = services.tenants.get(tenant_id)
        source = get_source(source_name)
        body = (
            services.blobs.get(message["payload_ref"])
            if message.get("payload_ref")
            else base64.b64decode(message["body_b64"])
        )
        settings = tenant.sources.get(source_name)
        context = SourceContext(tenant=tenant_id)
        if settings is not None:
            context = SourceContext(tenant=tenant_id, default_kdv_rate=settings.default_kdv_rate)
        events = source.parse(IngestMessage.delivery(message, body), context)
    except (SourceError, TenantNotFoundError) as exc:
        raise PermanentMappingError(str(exc)) from exc

    documents: list[Document] = []
    unrouted: list[str] = []
    for event in events:
        planned = plan(event)
        if planned is None:
            continue
        provider = tenant.routes.get(planned.type)
        if provider is None or not _provider_can(provider, planned.type):
            unrouted.append(planned.type.value)
            continue
        documents.append(_create_and_queue(tenant, provider, source_name, planned, services))

    if record is not None:
        if documents:
            services.deliveries.update(
                record, state=DeliveryState.MAPPED, documents=tuple(d.key for d in documents), reason=""
            )
        else:
            reason = f"no route for {', '.join(unrouted)}" if unrouted else "no document for this event"
            services.deliveries.update(record, state=DeliveryState.IGNORED, reason=reason)
    return documents


def _provider_can(provider: str, doc_type: DocumentType) -> bool:
    return CAPABILITY_FOR[doc_type] in provider_class(provider).capabilities


def _create_and_queue(
    tenant: TenantConfig, provider: str, source: str, planned: PlannedDocument, services: Services
) -> Document:
    key = keys.document_key(tenant.tenant, provider, planned.type, planned.source_ref)
    now = services.clock()
    document, created = services.documents.create(
        Document(
            tenant=tenant.tenant,
            provider=provider,
            type=planned.type,
            source=source,
            source_ref=planned.source_ref,
            key=key,
            uuid=str(document_uuid(key)),
            created_at=now,
            updated_at=now,
            payload=planned.payload,
        )
    )
    # A replayed delivery finds its documents; only those not yet settled go to the pusher again.
    if not is_settled(document):
        services.push_queue.send({"key": key})
    logger.info("document planned", extra={"key": key, "created": created, "status": document.status})
    return document


def record_failure(message: Mapping[str, Any], reason: str, services: Services, *, dead: bool) -> None:
    """Note on the delivery why mapping failed: FAILED when it is dead-lettered, else the reason so far."""
    record: DeliveryRecord | None = services.deliveries.get(
        message["tenant"], message["source"], message["delivery_id"]
    )
    if record is not None:
        changes: dict[str, Any] = {"reason": reason[:1000], "attempts": record.attempts + 1}
        if dead:
            changes["state"] = DeliveryState.FAILED
        services.deliveries.update(record, **changes)
