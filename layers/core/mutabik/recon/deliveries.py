"""Daily reconciliation of deliveries: each accepted delivery has its documents, or a DLQ entry with a reason."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mutabik.pipeline.services import Services
from mutabik.store.deliveries import DeliveryState
from mutabik.store.queues import Queue

__all__ = [
    "dead_letters",
    "reconcile_tenant",
    "report_key",
    "resolve_day",
    "unrouted_dead_letters",
    "write_report",
]

#: A delivery younger than this may still be on its way through the queues.
IN_FLIGHT = timedelta(minutes=30)


def resolve_day(value: str | None, today: date) -> date:
    """`yesterday` (what the daily schedule sends), `today`, or an ISO date."""
    if value in (None, "", "yesterday"):
        return today - timedelta(days=1)
    if value == "today":
        return today
    return date.fromisoformat(str(value))


def _peek(dlq: Queue, limit: int) -> list[tuple[Any, str, str]]:
    """Each message in a DLQ as (decoded body, reason, ISO time it was dead-lettered), up to `limit`.
    Peeks with a zero visibility timeout so the messages stay where they are."""
    found: list[tuple[Any, str, str]] = []
    seen: set[str] = set()
    for _ in range(max(1, limit // 10)):
        response = dlq.client.receive_message(
            QueueUrl=dlq.url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            MessageAttributeNames=["All"],
            AttributeNames=["SentTimestamp"],
        )
        fresh = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            try:
                body = json.loads(message["Body"])
            except ValueError:
                body = None
            attributes: dict[str, Any] = dict(message.get("MessageAttributes", {}))
            reason = str(attributes.get("reason", {}).get("StringValue", ""))
            sent = int(message.get("Attributes", {}).get("SentTimestamp", "0")) / 1000
            found.append((body, reason, datetime.fromtimestamp(sent, UTC).isoformat(timespec="seconds")))
    return found


def dead_letters(dlq: Queue, *, limit: int = 1000) -> dict[tuple[str, str, str], str]:
    """Deliveries waiting in a DLQ, by (tenant, source, delivery id), with the reason given when known."""
    found: dict[tuple[str, str, str], str] = {}
    for body, reason, _ in _peek(dlq, limit):
        if isinstance(body, dict) and all(isinstance(body.get(k), str) for k in ("tenant", "source", "delivery_id")):
            found[(body["tenant"], body["source"], body["delivery_id"])] = reason
    return found


def unrouted_dead_letters(dlq: Queue, *, limit: int = 1000) -> list[dict[str, str]]:
    """Messages in the ingest DLQ that belong to no tenant: a queue sender's notification for an account no
    tenant has registered (an Amazon seller not set up yet), or something no sender recognises. No tenant's
    day lists them, so the report lists them on their own: each is an order nobody will invoice until the
    account is registered and the DLQ redriven."""
    from mutabik.pipeline.intake import queue_sender
    from mutabik.sources.base import Delivery
    from mutabik.sources.exceptions import PayloadError

    unrouted: list[dict[str, str]] = []
    for body, reason, since in _peek(dlq, limit):
        if isinstance(body, dict) and isinstance(body.get("tenant"), str) and body["tenant"]:
            continue  # a tenant's delivery: that tenant's day lists it
        source = queue_sender(body) if body is not None else None
        entry = {"source": source.name if source else "", "account": "", "delivery_id": "", "reason": reason}
        entry["dead_lettered_at"] = since
        if source is not None:
            delivery = Delivery(source=source.name, tenant="", headers={}, body=json.dumps(body).encode())
            try:
                entry["account"] = source.account(delivery)[:100]
                entry["delivery_id"] = source.delivery_id(delivery)[:200]
            except PayloadError:
                pass
        unrouted.append(entry)
    return unrouted


def reconcile_tenant(tenant: str, day: date, services: Services) -> dict[str, Any]:
    """Account for every delivery of the tenant's day. `unaccounted` lists those with no document and no
    reason: the ones a person must look at."""
    deliveries = services.deliveries.list_day(tenant, day)
    dlq = dead_letters(services.ingest_dlq)
    now = services.clock()
    states: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    dead_lettered: list[dict[str, str]] = []
    unaccounted: list[dict[str, str]] = []
    not_final: list[dict[str, str]] = []
    for record in deliveries:
        ident = {"source": record.source, "delivery_id": record.delivery_id, "topic": record.topic}
        in_dlq = (record.tenant, record.source, record.delivery_id) in dlq
        if record.state is DeliveryState.MAPPED:
            states["mapped"] += 1
            for key in record.documents:
                document = services.documents.get(key)
                status = document.status.value if document else "MISSING"
                statuses[status] += 1
                if document is None or status in ("PENDING", "SUBMITTING"):
                    not_final.append({**ident, "document": key, "status": status})
        elif record.state in (DeliveryState.IGNORED, DeliveryState.HELD):
            states[record.state.value.lower()] += 1
        elif record.state is DeliveryState.FAILED or in_dlq:
            states["dead_lettered"] += 1
            reason = record.reason or dlq.get((record.tenant, record.source, record.delivery_id), "")
            dead_lettered.append({**ident, "reason": reason or "no reason recorded"})
        elif now - record.received_at < IN_FLIGHT:
            states["in_flight"] += 1
        else:
            states["unaccounted"] += 1
            unaccounted.append({**ident, "state": record.state.value, "last_error": record.reason})
    from mutabik.recon.documents import reconcile_providers

    providers = reconcile_providers(tenant, day, services)
    return {
        "tenant": tenant,
        "date": day.isoformat(),
        "providers": providers,
        "deliveries": len(deliveries),
        "delivery_states": dict(states),
        "document_statuses": dict(statuses),
        "dead_lettered": dead_lettered,
        "not_final": not_final,
        "unaccounted": unaccounted,
        "ok": not unaccounted and all(p.get("ok") for p in providers.values()),
    }


def report_key(day: str) -> str:
    return f"reports/reconciliation/{day}.json"


def write_report(day: str, results: list[dict[str, Any]], services: Services) -> dict[str, Any]:
    unrouted = unrouted_dead_letters(services.ingest_dlq)
    report = {
        "date": day,
        "generated_at": services.clock().isoformat(),
        "ok": all(r.get("ok") for r in results) and not unrouted,
        "tenants": results,
        "unrouted": unrouted,
    }
    key = services.blobs.put_json(report_key(day), report)
    return {
        "bucket": services.blobs.bucket,
        "key": key,
        "ok": report["ok"],
        "tenants": len(results),
        "unrouted": len(unrouted),
    }
