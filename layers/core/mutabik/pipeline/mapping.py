"""Mapping: a queued delivery → canonical events → the documents a tenant issues for them (PENDING)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from mutabik.mapping.config import DEFAULT_EVENT_DOCUMENTS
from mutabik.mapping.planning import PlannedDocument, plan
from mutabik.model.document import Document, DocumentStatus, DocumentType, document_uuid
from mutabik.pipeline.intake import IngestMessage
from mutabik.pipeline.services import Services
from mutabik.providers import document_types, is_settled
from mutabik.providers.exceptions import PermanentProviderError
from mutabik.sources import get_source
from mutabik.sources.base import SourceContext
from mutabik.sources.exceptions import SourceError
from mutabik.store import keys
from mutabik.store.deliveries import DeliveryRecord, DeliveryState
from mutabik.store.exceptions import TenantNotFoundError
from mutabik.store.tenants import SourceSettings, TenantConfig

__all__ = [
    "CANCELLED_BEFORE_INVOICING",
    "EVENT_DOCUMENTS",
    "PermanentMappingError",
    "PlannedDocument",
    "create_and_queue",
    "map_delivery",
    "plan",
    "record_failure",
]

logger = Logger(child=True)

#: The default event → document table; a tenant overrides it in its mapping (mutabik.mapping.config).
EVENT_DOCUMENTS = DEFAULT_EVENT_DOCUMENTS

#: Why a cancellation issues nothing when the order was never invoiced.
CANCELLED_BEFORE_INVOICING = "cancelled before invoicing"


class PermanentMappingError(Exception):
    """Retrying will not help (unknown tenant, a body the parser refuses): dead-letter it with the reason."""


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
        delivery = IngestMessage.delivery(message, body)
        events = source.parse(delivery, context)
        if source.pulls:
            # What the delivery does not carry is read from the sender's API. A retryable failure propagates:
            # the message comes back, and after the queue's receives it is in the DLQ with the reason.
            api = services.sender_api(tenant, source_name, settings or SourceSettings())
            events = source.complete(delivery, events, api, context)
    except (SourceError, TenantNotFoundError) as exc:
        raise PermanentMappingError(str(exc)) from exc
    except PermanentProviderError as exc:  # credentials missing or refused, the order unknown to the sender
        raise PermanentMappingError(str(exc)) from exc
    except ValidationError as exc:  # the tenant's stored configuration does not validate
        raise PermanentMappingError(f"tenant configuration: {_first_error(exc)}") from exc
    try:
        # The tenant's mapping is applied here; a mapping that makes a line invalid is the tenant's to fix.
        planned = [document for event in events for document in plan(event, tenant.mapping)]
    except ValidationError as exc:
        raise PermanentMappingError(f"the tenant's mapping makes an invalid document: {_first_error(exc)}") from exc
    except ValueError as exc:  # e.g. a journal entry that does not balance
        raise PermanentMappingError(f"the tenant's mapping makes an invalid document: {exc}") from exc

    documents: list[Document] = []
    unrouted: list[str] = []
    held_back: list[str] = []
    for planned_document in planned:
        provider = tenant.routes.get(planned_document.type)
        if provider is None or not _provider_can(provider, planned_document.type):
            unrouted.append(planned_document.type.value)
            continue
        if planned_document.type is DocumentType.CANCELLATION:
            reason = _nothing_to_cancel(tenant, provider, planned_document, services)
            if reason:
                held_back.append(reason)
                continue
        documents.append(create_and_queue(tenant, provider, source_name, planned_document, services))

    if record is not None:
        if documents:
            services.deliveries.update(
                record, state=DeliveryState.MAPPED, documents=tuple(d.key for d in documents), reason=""
            )
        else:
            reasons = held_back + ([f"no route for {', '.join(unrouted)}"] if unrouted else [])
            reason = "; ".join(reasons) or "no document for this event"
            services.deliveries.update(record, state=DeliveryState.IGNORED, reason=reason)
    return documents


def _first_error(exc: ValidationError) -> str:
    """pydantic's first complaint and where, never the value (it may be a buyer's name or TCKN)."""
    first = exc.errors(include_input=False, include_url=False, include_context=False)[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


def _provider_can(provider: str, doc_type: DocumentType) -> bool:
    return doc_type in document_types(provider)


def _nothing_to_cancel(tenant: TenantConfig, provider: str, planned: PlannedDocument, services: Services) -> str:
    """Why a cancellation issues nothing ("" when it must be issued). Only an invoiced order is cancelled;
    an invoice still on its way (not final) is cancelled too: the pusher holds the cancellation until the
    invoice is final."""
    body = planned.payload["cancellation"]
    order = f"{body.get('order_source') or body['source']}:{body['order_ref']}"
    invoice_key = keys.document_key(tenant.tenant, provider, DocumentType.SALES_INVOICE, order)
    invoice = services.documents.get(invoice_key)
    if invoice is None:
        return CANCELLED_BEFORE_INVOICING
    if invoice.status is DocumentStatus.REJECTED:
        return "cancelled; its sales invoice was rejected, so nothing was issued to cancel"
    return ""


def create_and_queue(
    tenant: TenantConfig, provider: str, source: str, planned: PlannedDocument, services: Services
) -> Document:
    """Create the PENDING document (once per key) and put it on the push queue unless it is settled."""
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
