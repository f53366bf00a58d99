"""Intake: what the webhook does with a delivery: verify, refuse bad input, dedupe, enqueue, answer; and how the
mapper admits what reached the ingest queue without the webhook (Amazon SP-API notifications)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger

from mutabik.pipeline.services import Services
from mutabik.sources import available_sources, get_source
from mutabik.sources.base import Delivery, SourceContext, WebhookSource
from mutabik.sources.exceptions import PayloadError, SourceError
from mutabik.store import keys
from mutabik.store.deliveries import DeliveryRecord, DeliveryState
from mutabik.store.exceptions import SecretNotFoundError, TenantNotFoundError
from mutabik.store.queues import MAX_MESSAGE_BYTES

__all__ = [
    "EVENT_PATH_METHODS",
    "Answer",
    "IngestMessage",
    "UnroutableDeliveryError",
    "admit",
    "bounded_id",
    "queue_sender",
    "receive",
    "register_account",
    "tenant_of_account",
]

logger = Logger(child=True)

#: Headers that carry credentials: verified here, never copied onto the queue.
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "cookie"})
#: Longer delivery ids are stored as their digest (DynamoDB keys are at most 2048 bytes, with tenant and source).
MAX_DELIVERY_ID = 200
#: The methods senders with event paths use (Hepsiburada: POST to create, PUT for status changes).
EVENT_PATH_METHODS = ("POST", "PUT")
#: A repeat of a delivery in one of these states has nothing left to do.
_SETTLED = frozenset({DeliveryState.MAPPED, DeliveryState.IGNORED, DeliveryState.HELD})


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: str
    content_type: str = "application/json"


def bounded_id(delivery_id: str) -> str:
    """A sender's delivery id, short enough for a table key: one longer than MAX_DELIVERY_ID characters (no
    sender's is; a signed one can be) is kept as its SHA-256, which dedupes retries just the same."""
    if len(delivery_id) <= MAX_DELIVERY_ID:
        return delivery_id
    return "sha256:" + hashlib.sha256(delivery_id.encode()).hexdigest()


def _error(status_code: int, message: str, path: str = "", request_id: str = "") -> Answer:
    body = {"error": message, "path": path, "request_id": request_id}
    return Answer(status_code, json.dumps(body, ensure_ascii=False))


class IngestMessage:
    """The ingest queue's message: the delivery as received (body inline, or in S3 when too large)."""

    @staticmethod
    def build(delivery: Delivery, delivery_id: str, topic: str, payload_ref: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "tenant": delivery.tenant,
            "source": delivery.source,
            "delivery_id": delivery_id,
            "topic": topic,
            "received_at": delivery.received_at.isoformat() if delivery.received_at else "",
            "headers": {k: v for k, v in delivery.headers.items() if k not in CREDENTIAL_HEADERS},
            "query": dict(delivery.query),
            "path": delivery.path,
        }
        if payload_ref:
            message["payload_ref"] = payload_ref
        else:
            message["body_b64"] = base64.b64encode(delivery.body).decode()
        return message

    @staticmethod
    def delivery(message: Mapping[str, Any], body: bytes) -> Delivery:
        from datetime import datetime

        received = message.get("received_at")
        return Delivery(
            source=message["source"],
            tenant=message["tenant"],
            headers=message.get("headers", {}),
            body=body,
            query=message.get("query", {}),
            received_at=datetime.fromisoformat(received) if received else None,
            path=message.get("path", ""),
        )


def receive(delivery: Delivery, services: Services, *, request_id: str = "") -> Answer:
    """Answer one webhook delivery. Nothing is enqueued unless it is verified, new and well-formed.
    Error answers carry `request_id` (API Gateway's) for the sender to quote."""
    refuse = partial(_error, request_id=request_id)
    try:
        source = get_source(delivery.source)
        if not source.http:
            # Amazon SP-API arrives through EventBridge, authenticated by IAM; over HTTP, a seller id in the
            # body would be the only "proof", and a seller id is not a secret.
            return refuse(404, f"source {delivery.source} does not deliver over HTTP")
        if delivery.path and not source.event_paths:
            return refuse(404, f"source {delivery.source} takes no path after the tenant")
        if len(delivery.body) > source.max_body_bytes:
            return refuse(413, f"body larger than {source.max_body_bytes} bytes")
        tenant = services.tenants.get(delivery.tenant)
        settings = tenant.sources.get(delivery.source)
        if settings is None or not settings.enabled:
            return refuse(404, f"source {delivery.source} is not enabled for this tenant")
        secret = services.secrets.source_secret(delivery.tenant, delivery.source)
        source.verify(delivery, secret)
        delivery_id = bounded_id(source.delivery_id(delivery))
        context = SourceContext(tenant=delivery.tenant, default_kdv_rate=settings.default_kdv_rate)
        events = source.parse(delivery, context)
    except PayloadError as exc:
        logger.info("delivery refused", extra={"source": delivery.source, "reason": exc.reason, "path": exc.path})
        return refuse(422, exc.reason, exc.path)
    except SourceError as exc:
        logger.info("delivery refused", extra={"source": delivery.source, "status": exc.status_code})
        return refuse(exc.status_code, str(exc))
    except TenantNotFoundError:
        return refuse(404, "unknown tenant")
    except SecretNotFoundError:
        return refuse(404, f"source {delivery.source} has no secret for this tenant")
    return _enqueue(source, delivery, delivery_id, len(events), services)


def _enqueue(source: WebhookSource, delivery: Delivery, delivery_id: str, events: int, services: Services) -> Answer:
    topic = source.topic(delivery)
    received_at = delivery.received_at or services.clock()
    record, first_time = services.deliveries.record(
        DeliveryRecord(
            tenant=delivery.tenant,
            source=delivery.source,
            delivery_id=delivery_id,
            topic=topic,
            state=DeliveryState.RECEIVED,
            received_at=received_at,
        )
    )
    # A duplicate of a delivery that never reached the queue (we crashed in between) is enqueued now:
    # the mapper is idempotent by document key, so enqueuing twice is safe, losing it is not.
    if not first_time and record.state is not DeliveryState.RECEIVED:
        logger.info("duplicate delivery", extra={"source": delivery.source, "delivery_id": delivery_id})
        reply = source.reply(delivery, duplicate=True)
        return Answer(reply.status_code, reply.body, reply.content_type)
    payload_ref = ""
    message = IngestMessage.build(delivery, delivery_id, topic, payload_ref)
    if len(json.dumps(message)) > MAX_MESSAGE_BYTES:
        payload_ref = services.blobs.put(
            f"raw/{delivery.tenant}/{delivery.source}/{received_at:%Y/%m/%d}/{delivery_id}", delivery.body
        )
        message = IngestMessage.build(delivery, delivery_id, topic, payload_ref)
    services.ingest_queue.send(message)
    # The mapper may have mapped it already: ENQUEUED only replaces RECEIVED, never a later state.
    services.deliveries.update(
        record, only_if=DeliveryState.RECEIVED, state=DeliveryState.ENQUEUED, payload_ref=payload_ref
    )
    logger.info(
        "delivery accepted",
        extra={"source": delivery.source, "delivery_id": delivery_id, "topic": topic, "events": events},
    )
    reply = source.reply(delivery, duplicate=False)
    return Answer(reply.status_code, reply.body, reply.content_type)


# ---------------------------------------------------------------------------------------------------------
# Deliveries that reach the ingest queue without the webhook: Amazon SP-API notifications from EventBridge
# (template.yaml AmazonNotificationsRule) or from SP-API's SQS workflow. No URL names their tenant and no
# webhook recorded them: the mapper admits them here first.
# ---------------------------------------------------------------------------------------------------------


class UnroutableDeliveryError(Exception):
    """A queue message no tenant takes (an unknown seller, an unreadable notification): it goes to the ingest
    DLQ with this reason, and a redrive after the tenant is set up maps it."""


def register_account(services: Services, source: str, account: str, tenant: str) -> None:
    """Route a queue sender's account (Amazon's SellerId) to a tenant: part of setting the tenant up."""
    services.cache.put(keys.account_namespace(source), account, {"tenant": tenant})


def tenant_of_account(services: Services, source: str, account: str) -> str | None:
    found = services.cache.get(keys.account_namespace(source), account)
    return str(found["tenant"]) if isinstance(found, dict) and found.get("tenant") else None


def queue_sender(message: Any) -> WebhookSource | None:
    """The sender of a message found on the ingest queue that is not an ingest message, if any claims it."""
    for name in sorted(available_sources()):
        source = get_source(name)
        if not source.http and source.recognises(message):
            return source
    return None


def admit(raw: str, message: Any, services: Services) -> dict[str, Any] | None:
    """The ingest message of a delivery that came straight onto the ingest queue, recorded in the delivery log
    once, as the webhook records an HTTP delivery; None for a repeat of one already mapped (or held).

    `raw` is the queue message's body and `message` its decoded JSON. UnroutableDeliveryError when no sender claims
    it, it names no account, or no enabled tenant has that account.
    """
    source = queue_sender(message)
    if source is None:
        raise UnroutableDeliveryError("not an ingest message")
    delivery = Delivery(source=source.name, tenant="", headers={}, body=raw.encode(), received_at=services.clock())
    try:
        account = source.account(delivery)
        delivery_id = bounded_id(source.delivery_id(delivery))
    except PayloadError as exc:
        raise UnroutableDeliveryError(f"{source.name} delivery refused: {exc}") from exc
    tenant = tenant_of_account(services, source.name, account)
    if tenant is None:
        raise UnroutableDeliveryError(f"no tenant has {source.name} account {account[:100]}")
    try:
        settings = services.tenants.get(tenant).sources.get(source.name)
    except TenantNotFoundError as exc:
        raise UnroutableDeliveryError(f"{source.name} account {account[:100]} names a missing tenant {tenant}") from exc
    if settings is None or not settings.enabled:
        raise UnroutableDeliveryError(f"source {source.name} is not enabled for tenant {tenant}")
    delivery = replace(delivery, tenant=tenant)
    topic = source.topic(delivery)
    record, first_time = services.deliveries.record(
        DeliveryRecord(
            tenant=tenant,
            source=source.name,
            delivery_id=delivery_id,
            topic=topic,
            state=DeliveryState.ENQUEUED,  # it is on the ingest queue: that is where we found it
            received_at=delivery.received_at or services.clock(),
        )
    )
    if not first_time and record.state in _SETTLED:
        logger.info("duplicate delivery", extra={"source": source.name, "delivery_id": delivery_id})
        return None
    logger.info("delivery admitted", extra={"source": source.name, "delivery_id": delivery_id, "topic": topic})
    return IngestMessage.build(delivery, delivery_id, topic, payload_ref="")
