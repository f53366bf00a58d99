"""What every sender's tests share: the real payloads, the signed sample events, a frozen clock, fuzzing."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from mutabik.model import Order
from mutabik.model.events import CanonicalEvent
from mutabik.sources.base import Delivery, SourceContext, WebhookSource
from mutabik.sources.exceptions import PayloadError

ROOT = Path(__file__).resolve().parents[3]
#: ../shared beside the repository: real payloads from the senders' own docs and SDKs.
PAYLOADS = ROOT.parent / "shared" / "payloads"
EVENTS = ROOT / "events"
#: When the committed sample events are signed (tools/make_events.py SIGNED_AT).
SIGNED_AT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
CONTEXT = SourceContext(tenant="demo")
SECRETS: dict[str, str] = json.loads((EVENTS / "secrets.json").read_text())

#: Fuzzing stays quick: every sender's tests together run well under a minute.
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frozen(at: datetime = SIGNED_AT) -> Callable[[], datetime]:
    return lambda: at


def payload(*parts: str) -> Any:
    return json.loads((PAYLOADS.joinpath(*parts)).read_text(), parse_float=Decimal)


def sample_event(source: str, name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / source / f"{name}.json").read_text())
    return event


def sample_delivery(source: str, name: str) -> Delivery:
    """The sample event events/<source>/<name>.json as the webhook turns it into a Delivery."""
    event = sample_event(source, name)
    body = event["body"]
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    return Delivery(
        source=source,
        tenant="demo",
        headers={k.lower(): v for k, v in event["headers"].items()},
        body=raw,
        query=event.get("queryStringParameters") or {},
        path=(event.get("pathParameters") or {}).get("proxy", ""),
    )


def delivery(source: str, body: bytes | str | Any, headers: dict[str, str] | None = None) -> Delivery:
    raw = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else dumps(body)
    return Delivery(source=source, tenant="demo", headers={k.lower(): v for k, v in (headers or {}).items()}, body=raw)


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=str, separators=(",", ":")).encode()


def retouched(original: Delivery, **changes: Any) -> Delivery:
    from dataclasses import replace

    return replace(original, **changes)


def lines_total(order: Order) -> Decimal:
    """Sum of the order's lines (quantity × unit price − discount), shipping included, on its price basis."""
    return sum((line.gross for line in order.lines), Decimal(0))


def parse_only_payload_errors(source: WebhookSource, d: Delivery) -> list[CanonicalEvent]:
    """Parse, accepting PayloadError as the only way to refuse; any other exception fails the test."""
    try:
        return source.parse(d, CONTEXT)
    except PayloadError:
        return []


# Arbitrary JSON, bounded so examples stay small.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


def mutations(sample: Any) -> st.SearchStrategy[Any]:
    """The sample with one field (at any depth) replaced by arbitrary JSON: near misses of a real payload."""
    paths = _paths(sample)
    return st.tuples(st.sampled_from(paths), json_values).map(lambda pv: _replace(sample, pv[0], pv[1]))
