"""Our own webhook for the seller's apps (POS, warehouse, CRM): canonical events, signed with a timestamp.

The scheme, documented for sellers in docs/webhooks.md (and in docs/openapi.yaml):

    X-Mutabik-Delivery-Id: <the sender's id of this delivery, the same on every retry; 1–200 characters>
    X-Mutabik-Timestamp:   <Unix seconds when it was signed>
    X-Mutabik-Signature:   v1=<hex HMAC-SHA256(secret, "{timestamp}.{raw body}")>[,v1=<hex>…]

Several v1 signatures may be listed while a secret rolls; any one may match. A timestamp more than 300 s from
now is refused (as Stripe does), so a captured delivery cannot be replayed later.

The body is one canonical event or a JSON list of up to `MAX_EVENTS` of them, exactly as
`mutabik.model.events` defines them (discriminated by `kind`: order.placed, order.paid, order.cancelled,
refund.created, payment.captured, payout.paid, shipment.created). Amounts are JSON strings or numbers and are
read as Decimal. The parser does no mapping: what the seller's app says is what the mapper gets.

Secret (Secrets Manager SecretString): the shared secret, as is (the seller's app holds the same string).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from mutabik.model.events import CanonicalEvent
from mutabik.sources.base import (
    Delivery,
    SourceContext,
    WebhookSource,
    check_timestamp,
    constant_time_equal,
    payload_error_from,
    with_headers,
)
from mutabik.sources.exceptions import PayloadError, SignatureError

__all__ = ["MAX_EVENTS", "GenericSource", "signature"]

TOLERANCE = timedelta(seconds=300)
MAX_EVENTS = 100
MAX_DELIVERY_ID = 200

_events: TypeAdapter[list[CanonicalEvent]] = TypeAdapter(list[CanonicalEvent])


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The v1 signature of a body: hex HMAC-SHA256 of `{timestamp}.{body}` with the shared secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class GenericSource(WebhookSource):
    name = "generic"

    def verify(self, delivery: Delivery, secret: str) -> None:
        delivery_id = delivery.header("x-mutabik-delivery-id")
        if not delivery_id or len(delivery_id) > MAX_DELIVERY_ID:
            raise SignatureError(f"X-Mutabik-Delivery-Id is missing or longer than {MAX_DELIVERY_ID} characters")
        timestamp = delivery.header("x-mutabik-timestamp")
        check_timestamp(timestamp, self.clock(), TOLERANCE, "X-Mutabik-Timestamp")
        expected = signature(secret, (timestamp or "").strip(), delivery.body)
        given = [value for key, _, value in _entries(delivery.header("x-mutabik-signature")) if key == "v1"]
        if not any([constant_time_equal(expected, value) for value in given]):
            raise SignatureError("no X-Mutabik-Signature v1 matches the body signed with the shared secret")

    def delivery_id(self, delivery: Delivery) -> str:
        return delivery.header("x-mutabik-delivery-id") or ""

    def topic(self, delivery: Delivery) -> str:
        try:
            body = delivery.json()
        except PayloadError:
            return ""
        first = body[0] if isinstance(body, list) and body else body
        kind = first.get("kind") if isinstance(first, dict) else None
        return kind if isinstance(kind, str) and len(kind) < 40 else ""

    def sign(self, delivery: Delivery, secret: str) -> Delivery:
        timestamp = str(int(self.clock().timestamp()))
        v1 = signature(secret, timestamp, delivery.body)
        return with_headers(delivery, {"X-Mutabik-Timestamp": timestamp, "X-Mutabik-Signature": f"v1={v1}"})

    def parse(self, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
        body: Any = delivery.json()
        items = body if isinstance(body, list) else [body]
        if not items:
            raise PayloadError("the body holds no event")
        if len(items) > MAX_EVENTS:
            raise PayloadError(f"a delivery holds at most {MAX_EVENTS} events")
        try:
            return _events.validate_python(items)
        except ValidationError as exc:
            error = payload_error_from(exc)
            # A single event's path starts at the event, not at the list we wrapped it in.
            path = error.path if isinstance(body, list) else error.path.partition(".")[2]
            raise PayloadError(error.reason, path) from exc


def _entries(header: str | None) -> list[tuple[str, str, str]]:
    if not header:
        raise SignatureError("X-Mutabik-Signature is missing")
    return [entry.strip().partition("=") for entry in header.split(",") if entry.strip()]
