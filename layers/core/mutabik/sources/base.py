"""The shape every sender module has: verify a delivery, name it, parse it into canonical events, reply."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, ValidationError

from mutabik.model.events import CanonicalEvent
from mutabik.sources.exceptions import PayloadError, SignatureError

if TYPE_CHECKING:
    from mutabik.sources._api import SenderApi

__all__ = [
    "Clock",
    "Delivery",
    "Reply",
    "SenderShape",
    "SourceContext",
    "WebhookSource",
    "basic_auth_header",
    "basic_auth_matches",
    "check_timestamp",
    "constant_time_equal",
    "json_secret",
    "payload_error_from",
    "utc_now",
    "validate_shape",
    "with_headers",
]

#: Where "now" comes from: tolerance checks take it as a seam so tests can freeze it.
Clock = Callable[[], datetime]

_ShapeT = TypeVar("_ShapeT", bound=BaseModel)


def utc_now() -> datetime:
    return datetime.now(UTC)


class SenderShape(BaseModel):
    """Base of every sender's payload models: senders add fields over time, we read what we need."""

    model_config = ConfigDict(extra="ignore")


@dataclass(frozen=True)
class Delivery:
    """One HTTP delivery as it reached us: header names lower-cased, the body as the exact bytes signed."""

    source: str
    tenant: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)
    received_at: datetime | None = None
    #: What follows `/v1/webhooks/{source}/{tenant}` in the URL, without slashes at either end. Senders that
    #: call one path per event under a base URL (Hepsiburada) say the event here; empty for everyone else.
    path: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        try:
            return json.loads(self.body, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PayloadError(f"body is not JSON: {type(exc).__name__}") from exc
        except RecursionError as exc:
            raise PayloadError("body is nested too deeply") from exc

    def form(self) -> dict[str, str]:
        """An `application/x-www-form-urlencoded` body as a dict (the last value of a repeated field wins)."""
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError("form body is not UTF-8") from exc
        try:
            return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=1000))
        except ValueError as exc:
            raise PayloadError("body is not a form") from exc


@dataclass(frozen=True)
class SourceContext:
    """A tenant's mapping choices the parser needs (the rest of field mapping is applied by the mapper)."""

    tenant: str
    default_kdv_rate: Decimal = Decimal(20)
    currency: str = "TRY"


@dataclass(frozen=True)
class Reply:
    """What the sender is answered. Most want any 2xx; PayTR wants the plain text `OK`."""

    status_code: int = 202
    body: str = '{"status":"accepted"}'
    content_type: str = "application/json"


def constant_time_equal(expected: str | bytes, given: str | bytes | None) -> bool:
    """Compare signatures in constant time (hmac.compare_digest), treating a missing one as a mismatch."""
    if given is None:
        return False
    a = expected.encode() if isinstance(expected, str) else expected
    b = given.encode() if isinstance(given, str) else given
    return hmac.compare_digest(a, b)


def payload_error_from(exc: ValidationError, prefix: str = "") -> PayloadError:
    """Turn pydantic's first error into a PayloadError naming the field path.

    Only pydantic's message and the path are kept, never the input value (it may be a name or a TCKN).
    """
    first = exc.errors(include_input=False, include_url=False, include_context=False)[0]
    path = ".".join(str(p) for p in first["loc"])
    return PayloadError(first["msg"], f"{prefix}.{path}" if prefix and path else prefix or path)


def validate_shape(shape: type[_ShapeT], body: Any, prefix: str = "") -> _ShapeT:
    """Validate a decoded body against a sender's payload model; PayloadError names the failing field."""
    try:
        return shape.model_validate(body)
    except ValidationError as exc:
        raise payload_error_from(exc, prefix) from exc


def check_timestamp(value: str | None, now: datetime, tolerance: timedelta, header: str) -> int:
    """The signed Unix timestamp, if it is within `tolerance` of `now`; SignatureError otherwise.

    A signature over a timestamp only stops replays if old timestamps are refused (Stripe, Standard
    Webhooks and our own scheme all use 5 minutes, in both directions for clock skew).
    """
    if value is None or not value.strip().isdigit() or len(value.strip()) > 12:
        raise SignatureError(f"{header} is missing or not a Unix timestamp")
    seconds = int(value.strip())
    if abs(now.timestamp() - seconds) > tolerance.total_seconds():
        raise SignatureError(f"{header} is outside the {int(tolerance.total_seconds())} s tolerance")
    return seconds


def json_secret(secret: str, *keys: str) -> dict[str, str]:
    """A multi-part secret stored as a JSON object in Secrets Manager; SignatureError if a key is missing.

    The message names the missing key, never a value.
    """
    try:
        data = json.loads(secret)
    except ValueError as exc:
        raise SignatureError("the tenant's secret for this source is not the expected JSON object") from exc
    if not isinstance(data, dict):
        raise SignatureError("the tenant's secret for this source is not the expected JSON object")
    missing = [k for k in keys if not isinstance(data.get(k), str) or not data[k]]
    if missing:
        raise SignatureError(f"the tenant's secret for this source lacks {', '.join(missing)}")
    return {k: v for k, v in data.items() if isinstance(v, str)}


def basic_auth_matches(authorization: str | None, username: str, password: str) -> bool:
    """Whether an `Authorization: Basic …` header carries exactly these credentials (constant time)."""
    if not authorization or authorization[:6].lower() != "basic ":
        return False
    try:
        given = base64.b64decode(authorization[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = f"{username}:{password}".encode()
    return hmac.compare_digest(expected, given)


def basic_auth_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class WebhookSource(ABC):
    """A sender that calls our webhook URL. Subclasses are one module each under `mutabik.sources`.

    The webhook calls `verify` before anything else reads the body, then `delivery_id` to dedupe, then
    `parse` to refuse what the sender would never send; the mapper calls `parse` again on the queued body.

    Contract: `verify` raises only SignatureError (401); `delivery_id`, `parse` and `account` raise only
    PayloadError (422); `topic`, `reply` and `recognises` never raise. Time comes from `clock` (tolerance
    checks, and the time of deliveries that carry none, unless `Delivery.received_at` is set): pass a frozen one
    in tests. Senders with `http = False` arrive straight on the ingest queue (Amazon: EventBridge, or its SQS
    workflow) and must not be taken over HTTP: the mapper tells their messages apart with `recognises` and
    finds the tenant by `account`, since no URL names it.
    """

    #: The `{source}` path segment of the webhook URL.
    name: ClassVar[str]
    #: Deliveries larger than this are refused with 413 before verification.
    max_body_bytes: ClassVar[int] = 5 * 1024 * 1024
    #: Senders that never call over HTTP (Amazon SP-API arrives through EventBridge → the ingest queue).
    http: ClassVar[bool] = True
    #: Senders that call one path per event under the URL they were given (`Delivery.path`); the webhook
    #: refuses a path after the tenant for everyone else.
    event_paths: ClassVar[bool] = False
    #: Senders some of whose deliveries lack what a document needs (amounts, the order): the mapper calls
    #: `complete` with the tenant's access to the sender's API.
    pulls: ClassVar[bool] = False

    def __init__(self, clock: Clock = utc_now) -> None:
        self.clock = clock

    @abstractmethod
    def verify(self, delivery: Delivery, secret: str) -> None:
        """Raise SignatureError unless the delivery is signed with the tenant's secret."""

    @abstractmethod
    def delivery_id(self, delivery: Delivery) -> str:
        """A stable id of this delivery: a retry of the same delivery gives the same id."""

    @abstractmethod
    def parse(self, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
        """The canonical events in this delivery; [] for a topic we take but do not act on.
        Raise PayloadError for a body this sender would not send."""

    def complete(
        self, delivery: Delivery, events: list[CanonicalEvent], api: SenderApi, context: SourceContext
    ) -> list[CanonicalEvent]:
        """For senders with `pulls`: the delivery's events with what only the sender's API knows, given what
        `parse` made of it. Called by the mapper only, never by the webhook; deliveries that carry everything
        should cost no API call. Raise RetryableProviderError (the API is unavailable: the mapper tries again
        later) or PermanentProviderError (credentials missing or refused, the order unknown: dead-lettered
        with the reason), PayloadError for an API answer this sender would not give."""
        return events

    def topic(self, delivery: Delivery) -> str:
        """The sender's name for what happened (for logs and metrics), if it says."""
        return ""

    def reply(self, delivery: Delivery, *, duplicate: bool) -> Reply:
        """The answer that makes the sender stop retrying."""
        status = "duplicate" if duplicate else "accepted"
        return Reply(202, json.dumps({"status": status}))

    def recognises(self, message: Any) -> bool:
        """For senders with `http = False`: whether a message found on the ingest queue (decoded JSON) is one
        of theirs."""
        return False

    def account(self, delivery: Delivery) -> str:
        """For senders with `http = False`: the sender's account the delivery is for (Amazon's SellerId), by
        which its tenant is found. PayloadError if the delivery names none."""
        raise NotImplementedError(f"{self.name} deliveries name their tenant in the URL")

    def sign(self, delivery: Delivery, secret: str) -> Delivery:
        """The delivery as the sender would sign it with `secret` at `self.clock()`.

        For tests, the sample events (tools/make_events.py) and `mutabik send`; never used on a real request.
        Signature headers (and, for senders that sign inside the body, the body) are replaced.
        """
        raise NotImplementedError(f"{self.name} does not sign deliveries")


def with_headers(delivery: Delivery, headers: Mapping[str, str], body: bytes | None = None) -> Delivery:
    """A copy of the delivery with these headers set (names lower-cased) and, if given, another body."""
    merged = dict(delivery.headers)
    merged.update({k.lower(): v for k, v in headers.items()})
    return replace(delivery, headers=merged, body=delivery.body if body is None else body)
