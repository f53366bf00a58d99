"""Intake: what the webhook does with a delivery: verify, refuse bad input, dedupe, enqueue, answer."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from mutabik.pipeline.services import Services
from mutabik.sources import get_source
from mutabik.sources.base import Delivery, SourceContext, WebhookSource
from mutabik.sources.exceptions import PayloadError, SourceError
from mutabik.store.deliveries import DeliveryRecord, DeliveryState
from mutabik.store.exceptions import SecretNotFoundError, TenantNotFoundError
from mutabik.store.queues import MAX_MESSAGE_BYTES

__all__ = ["Answer", "IngestMessage", "receive"]

logger = Logger(child=True)

#: Headers that carry credentials: verified here, never copied onto the queue.
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "cookie"})


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: str
    content_type: str = "application/json"


def _error(status_code: int, message: str, path: str = "") -> Answer:
    return Answer(status_code, json.dumps({"error": message, "path": path}, ensure_ascii=False))


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
        )


def receive(delivery: Delivery, services: Services) -> Answer:
    """Answer one webhook delivery. Nothing is enqueued unless it is verified, new and well-formed."""
    try:
        source = get_source(delivery.source)
        if not source.http:
            # Amazon SP-API arrives through EventBridge, authenticated by IAM; over HTTP, a seller id in the
            # body would be the only "proof", and a seller id is not a secret.
            return _error(404, f"source {delivery.source} does not deliver over HTTP")
        if len(delivery.body) > source.max_body_bytes:
            return _error(413, f"body larger than {source.max_body_bytes} bytes")
        tenant = services.tenants.get(delivery.tenant)
        settings = tenant.sources.get(delivery.source)
        if settings is None or not settings.enabled:
            return _error(404, f"source {delivery.source} is not enabled for this tenant")
        secret = services.secrets.source_secret(delivery.tenant, delivery.source)
        source.verify(delivery, secret)
        delivery_id = source.delivery_id(delivery)
        context = SourceContext(tenant=delivery.tenant, default_kdv_rate=settings.default_kdv_rate)
        events = source.parse(delivery, context)
    except PayloadError as exc:
        logger.info("delivery refused", extra={"source": delivery.source, "reason": exc.reason, "path": exc.path})
        return _error(422, exc.reason, exc.path)
    except SourceError as exc:
        logger.info("delivery refused", extra={"source": delivery.source, "status": exc.status_code})
        return _error(exc.status_code, str(exc))
    except TenantNotFoundError:
        return _error(404, "unknown tenant")
    except SecretNotFoundError:
        return _error(404, f"source {delivery.source} has no secret for this tenant")
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
