"""Stripe webhooks: `Stripe-Signature` verified events for charges, refunds and payouts into canonical events.

Stripe signs `{t}.{raw body}` with the endpoint's signing secret (HMAC-SHA256, hex) and sends
`Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]`; any one v1 may match (several while a secret rolls),
and a timestamp more than 300 s from now is refused against replays
(https://docs.stripe.com/webhooks#verify-manually, https://docs.stripe.com/webhooks/signature).
The event id (`evt_…`) is the same on every retry, so it is our dedupe key
(https://docs.stripe.com/webhooks#handle-duplicate-events). Amounts are integers in the currency's minor unit
(https://docs.stripe.com/currencies#zero-decimal).

Events (https://docs.stripe.com/api/events/types): charge.succeeded and charge.captured → PaymentCaptured (with
the fee when `balance_transaction` is expanded); charge.refunded → one RefundCreated per refund listed on the
charge; refund.created / refund.updated (succeeded) → RefundCreated; payout.paid → PayoutPaid (gross and fees
when `balance_transaction` is expanded). Every other type is taken without events.

The order a payment or refund belongs to is the shop's own order id in `metadata.order_id` (or `order_ref`,
`order_number`, `orderId`), the same ref the shop's sales invoice is keyed by. `parse` (webhook and mapper alike)
takes it from the event's object, else writes the PaymentIntent (else the charge) in its place; the mapper then
calls `complete`, which puts the real order there by reading the PaymentIntent (`pulls`):

- Why a read is needed: a Refund carries its own metadata only, usually empty, and a Charge gets its
  PaymentIntent's metadata copied once, when the PaymentIntent is confirmed — metadata the shop sets later is on
  the PaymentIntent alone (https://support.stripe.com/questions/how-metadata-works-with-related-objects; Stripe
  "almost never does metadata inheritance", https://github.com/stripe/stripe-node/issues/644).
- What is read: `GET https://api.stripe.com/v1/payment_intents/{intent}`
  (https://docs.stripe.com/api/payment_intents/retrieve) when the object names a PaymentIntent, and
  `GET /v1/charges/{charge}` (https://docs.stripe.com/api/charges/retrieve) for a refund that names only its
  charge, or whose PaymentIntent has no order (the shop may have put it on the charge). At most two reads a
  delivery; an event whose object already names its order reads nothing.
- Cached: PaymentIntent (or charge) → order in `api.cache` with no expiry, since an order id once set on a
  payment does not change: each PaymentIntent costs one read, however many refunds and captures follow. A
  PaymentIntent without an order is not cached, so a replay reads it again after the shop has set it.
- Auth: `Authorization: Bearer <key>` (https://docs.stripe.com/api/authentication) with the pinned
  `Stripe-Version: STRIPE_VERSION` (https://docs.stripe.com/api/versioning), so the answer's shape does not move
  with the account's default version.
- Secret `<prefix>/<tenant>/sender-apis/stripe`: `{"secret_key": "sk_live_…"}` or a restricted key `rk_live_…`
  with read access to PaymentIntents and Charges (https://docs.stripe.com/keys#limit-access).
- Option `sources.stripe.options.order_lookup`: `api` (default) or `off`. With `off` nothing is read and the
  PaymentIntent (else the charge) stands for the order, as before the pull: only right for a shop whose own
  sales invoices are keyed by the PaymentIntent.
- Errors (https://docs.stripe.com/api/errors): the body is `{"error": {"type", "code", "message"}}`; 429
  (https://docs.stripe.com/rate-limits: 100 reads/s live, 25 in test mode), 5xx and network failures are
  retryable (the delivery comes back); 401/403 (key refused) and 404 `resource_missing` (a PaymentIntent of
  another account or mode) are permanent: the delivery goes to the ingest DLQ with Stripe's words.
- Decided for missing credentials or a missing order: when a delivery needs the read and the secret is missing,
  or when neither the object, its PaymentIntent nor its charge names an order, the delivery is dead-lettered
  (PermanentProviderError) with a reason saying what to set; `mutabik dlq redrive` maps it once that is done.
  Nothing is issued under a PaymentIntent id in the meantime (a return invoice keyed by `pi_…` would wait for a
  sales invoice that never comes, and its document could not be corrected by a replay).

Secret (Secrets Manager SecretString): the endpoint's signing secret, `whsec_…`, as is.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from pydantic import Field, ValidationError

from mutabik.model import (
    Money,
    Payment,
    PaymentCaptured,
    Payout,
    PayoutPaid,
    Refund,
    RefundCreated,
)
from mutabik.model.events import CanonicalEvent
from mutabik.providers._http import classify, request
from mutabik.providers.exceptions import PermanentProviderError
from mutabik.sources._common import from_minor_units
from mutabik.sources.base import (
    Delivery,
    SenderShape,
    SourceContext,
    WebhookSource,
    check_timestamp,
    constant_time_equal,
    payload_error_from,
    validate_shape,
    with_headers,
)
from mutabik.sources.exceptions import PayloadError, SignatureError

if TYPE_CHECKING:
    from mutabik.sources._api import SenderApi

__all__ = ["PRODUCTION_URL", "STRIPE_VERSION", "StripeSource"]

PRODUCTION_URL = "https://api.stripe.com"
#: The API version every read is pinned to (the samples' webhook version): the objects we read keep this shape
#: whatever the account's default is.
STRIPE_VERSION = "2024-06-20"
#: Cache namespace of PaymentIntent / charge id → the shop's order id.
ORDER_CACHE = "orders"

#: Stripe's default tolerance between the signed timestamp and now.
TOLERANCE = timedelta(seconds=300)
#: Metadata keys a shop uses to name its own order on a PaymentIntent or Charge.
ORDER_METADATA_KEYS = ("order_id", "order_ref", "order_number", "orderId")
_MAX_AMOUNT = 10**15


class _BalanceTransaction(SenderShape):
    id: str
    amount: int = Field(ge=-_MAX_AMOUNT, le=_MAX_AMOUNT)
    fee: int = Field(default=0, ge=-_MAX_AMOUNT, le=_MAX_AMOUNT)
    net: int = Field(ge=-_MAX_AMOUNT, le=_MAX_AMOUNT)
    currency: str = Field(min_length=3, max_length=3)


class _Refund(SenderShape):
    id: str = Field(min_length=1)
    amount: int = Field(ge=0, le=_MAX_AMOUNT)
    currency: str = Field(min_length=3, max_length=3)
    created: int = Field(ge=0, le=2**33)
    charge: str | None = None
    payment_intent: str | None = None
    status: str | None = None
    reason: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class _RefundList(SenderShape):
    data: list[_Refund] = Field(default_factory=list)


class _Charge(SenderShape):
    id: str = Field(min_length=1)
    amount: int = Field(ge=0, le=_MAX_AMOUNT)
    amount_captured: int = Field(default=0, ge=0, le=_MAX_AMOUNT)
    amount_refunded: int = Field(default=0, ge=0, le=_MAX_AMOUNT)
    currency: str = Field(min_length=3, max_length=3)
    created: int = Field(ge=0, le=2**33)
    captured: bool = True
    paid: bool = True
    status: str | None = None
    payment_intent: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    balance_transaction: str | _BalanceTransaction | None = None
    payment_method_details: dict[str, Any] | None = None
    refunds: _RefundList | None = None


class _Payout(SenderShape):
    id: str = Field(min_length=1)
    amount: int = Field(ge=0, le=_MAX_AMOUNT)
    currency: str = Field(min_length=3, max_length=3)
    arrival_date: int = Field(ge=0, le=2**33)
    status: str | None = None
    balance_transaction: str | _BalanceTransaction | None = None


class _EventData(SenderShape):
    object: dict[str, Any]


class _Event(SenderShape):
    id: str = Field(min_length=1)
    type: str
    created: int = Field(ge=0, le=2**33)
    data: _EventData


class _Looked(SenderShape):
    """What we read of a PaymentIntent or Charge from the API."""

    id: str = Field(min_length=1, max_length=255)
    metadata: dict[str, Any] = Field(default_factory=dict)
    payment_intent: str | dict[str, Any] | None = None  # charges only


class StripeSource(WebhookSource):
    name = "stripe"
    pulls = True

    def verify(self, delivery: Delivery, secret: str) -> None:
        timestamp, signatures = _parse_header(delivery.header("stripe-signature"))
        check_timestamp(timestamp, self.clock(), TOLERANCE, "Stripe-Signature t")
        expected = _signature(secret, timestamp or "", delivery.body)
        # Compare with every v1 in full (no early exit) so timing says nothing about which one matched.
        matches = [constant_time_equal(expected, given) for given in signatures]
        if not any(matches):
            raise SignatureError("no Stripe-Signature v1 matches the body signed with the endpoint's secret")

    def delivery_id(self, delivery: Delivery) -> str:
        return _event(delivery).id

    def topic(self, delivery: Delivery) -> str:
        try:
            return _event(delivery).type
        except PayloadError:
            return ""

    def sign(self, delivery: Delivery, secret: str) -> Delivery:
        timestamp = str(int(self.clock().timestamp()))
        header = f"t={timestamp},v1={_signature(secret, timestamp, delivery.body)}"
        return with_headers(delivery, {"Stripe-Signature": header})

    def parse(self, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
        event = _event(delivery)
        handler = _EVENT_TYPES.get(event.type)
        return handler(event.data.object) if handler else []

    def complete(
        self, delivery: Delivery, events: list[CanonicalEvent], api: SenderApi, context: SourceContext
    ) -> list[CanonicalEvent]:
        """The events with the shop's order read from the PaymentIntent (or charge) when the event's object does
        not name it; no call when it does (see the module docstring)."""
        if not any(isinstance(e, PaymentCaptured | RefundCreated) for e in events):
            return events
        wanted = _lookup_of(_event(delivery))
        if wanted is None or api.option("order_lookup", "api").strip().lower() == "off":
            return events
        order = _OrderReader(api).order_of(wanted)
        if not order:
            raise PermanentProviderError(wanted.nothing_found(), provider=self.name)
        return [_with_order(e, order) for e in events]


def _parse_header(header: str | None) -> tuple[str | None, list[str]]:
    """`t=…,v1=…,v1=…` → (t, [v1 …]); other schemes (v0) are ignored as Stripe's libraries do."""
    if not header:
        raise SignatureError("Stripe-Signature is missing")
    timestamp: str | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1" and value:
            signatures.append(value)
    if not signatures:
        raise SignatureError("Stripe-Signature has no v1 signature")
    return timestamp, signatures


def _signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _event(delivery: Delivery) -> _Event:
    return validate_shape(_Event, delivery.json())


def _at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, tz=UTC)


def _money(amount: int, currency: str) -> Money:
    code = currency.upper()
    return Money(amount=from_minor_units(amount, code), currency=code)


def _order_ref(metadata: dict[str, Any], payment_intent: str | None, charge: str | None) -> str:
    """The shop's order from metadata, else the PaymentIntent (else the charge) until `complete` reads it."""
    return _metadata_order(metadata) or payment_intent or charge or ""


def _metadata_order(metadata: dict[str, Any]) -> str:
    for key in ORDER_METADATA_KEYS:
        value = metadata.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return ""


@dataclass(frozen=True)
class _Lookup:
    """What to read for an object that does not name its order: its PaymentIntent, else its charge."""

    what: str  # "refund re_…" / "charge ch_…", for the reason
    payment_intent: str | None
    charge: str | None

    def nothing_found(self) -> str:
        where = " or ".join(
            f"{kind} {ident}"
            for kind, ident in (("PaymentIntent", self.payment_intent), ("charge", self.charge))
            if ident
        )
        keys = ", ".join(f"metadata.{key}" for key in ORDER_METADATA_KEYS)
        return (
            f"stripe {self.what} names no order: neither it nor {where or 'anything it refers to'} has {keys}; "
            "set the shop's order id on the PaymentIntent in Stripe, then replay the delivery (mutabik dlq redrive)"
        )


def _lookup_of(event: _Event) -> _Lookup | None:
    """The read this event needs to find its order, or None when its object names the order itself."""
    obj = event.data.object
    if event.type in ("charge.succeeded", "charge.captured", "charge.refunded"):
        charge = validate_shape(_Charge, obj, "data.object")
        if _metadata_order(charge.metadata):
            return None
        # The charge itself is in hand: only its PaymentIntent can say more.
        return _Lookup(f"charge {charge.id}", charge.payment_intent, None)
    refund = validate_shape(_Refund, obj, "data.object")
    if _metadata_order(refund.metadata):
        return None
    return _Lookup(f"refund {refund.id}", refund.payment_intent, refund.charge)


def _with_order(event: CanonicalEvent, order: str) -> CanonicalEvent:
    if isinstance(event, PaymentCaptured):
        return event.model_copy(update={"payment": event.payment.model_copy(update={"order_ref": order})})
    if isinstance(event, RefundCreated):
        return event.model_copy(update={"refund": event.refund.model_copy(update={"order_ref": order})})
    return event


class _OrderReader:
    """Reads the shop's order off a PaymentIntent or charge, through the tenant's cache."""

    def __init__(self, api: SenderApi) -> None:
        self.api = api

    def order_of(self, wanted: _Lookup) -> str:
        order = ""
        if wanted.payment_intent:
            order = self._order("payment_intents", wanted.payment_intent)
        if not order and wanted.charge:
            order = self._order("charges", wanted.charge)
        return order

    def _order(self, resource: str, ident: str) -> str:
        cache = self.api.cache
        cached = cache.get(ORDER_CACHE, ident) if cache is not None else None
        if isinstance(cached, str) and cached:
            return cached
        found = self._read(resource, ident)
        order = _metadata_order(found.metadata)
        if not order and resource == "charges":
            intent = found.payment_intent
            intent_id = intent.get("id") if isinstance(intent, dict) else intent
            if isinstance(intent_id, str) and intent_id:
                order = self._order("payment_intents", intent_id)
        if order and cache is not None:
            cache.put(ORDER_CACHE, ident, order)  # an order once set on a payment does not change: no expiry
        return order

    def _read(self, resource: str, ident: str) -> _Looked:
        key = str(self.api.credentials("secret_key")["secret_key"])
        headers = {"Authorization": f"Bearer {key}", "Stripe-Version": STRIPE_VERSION}
        client = self.api.client(default_url=PRODUCTION_URL)
        response = request(client, "stripe", "GET", f"/v1/{resource}/{quote(ident, safe='')}", headers=headers)
        classify(response, "stripe", _stripe_words)
        try:
            body = response.json()
        except ValueError as exc:
            raise PayloadError(f"Stripe's answer to GET /v1/{resource}/… is not JSON", resource) from exc
        return validate_shape(_Looked, body, resource)


def _stripe_words(response: httpx.Response) -> str:
    """Stripe's own words from `{"error": {"type", "code", "message"}}` (https://docs.stripe.com/api/errors)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, dict):
        return ""
    kind = "/".join(str(error[k]) for k in ("type", "code") if isinstance(error.get(k), str) and error[k])
    message = error.get("message")
    return f"{kind}: {message}" if kind and isinstance(message, str) else kind or str(message or "")


def _charge_captured(obj: dict[str, Any]) -> list[CanonicalEvent]:
    charge = validate_shape(_Charge, obj, "data.object")
    if not charge.paid or charge.status not in (None, "succeeded") or not charge.captured:
        return []  # an authorization only; charge.captured follows when the money is taken
    fee: Money | None = None
    if isinstance(charge.balance_transaction, _BalanceTransaction):
        txn = charge.balance_transaction
        fee = _money(txn.fee, txn.currency)
    amount = charge.amount_captured or charge.amount
    method = (charge.payment_method_details or {}).get("type", "")
    try:
        payment = Payment(
            source="stripe",
            source_ref=charge.id,
            order_ref=_order_ref(charge.metadata, charge.payment_intent, charge.id),
            captured_at=_at(charge.created),
            amount=_money(amount, charge.currency),
            fee=fee,
            method=method if isinstance(method, str) else "",
        )
    except ValidationError as exc:
        raise payload_error_from(exc, "data.object") from exc
    return [PaymentCaptured(occurred_at=payment.captured_at, payment=payment)]


def _refund(refund: _Refund, order_ref: str, path: str) -> RefundCreated:
    try:
        canonical = Refund(
            source="stripe",
            source_ref=refund.id,
            order_ref=order_ref or refund.payment_intent or refund.charge or refund.id,
            created_at=_at(refund.created),
            amount=_money(refund.amount, refund.currency),
            reason=refund.reason or "",
        )
    except ValidationError as exc:
        raise payload_error_from(exc, path) from exc
    return RefundCreated(occurred_at=canonical.created_at, refund=canonical)


def _charge_refunded(obj: dict[str, Any]) -> list[CanonicalEvent]:
    charge = validate_shape(_Charge, obj, "data.object")
    order_ref = _order_ref(charge.metadata, charge.payment_intent, charge.id)
    listed = [r for r in (charge.refunds.data if charge.refunds else []) if r.status in (None, "succeeded")]
    if listed:
        # Each refund is its own return document; the mapper keys them by refund id, so a refund listed again
        # on a later charge.refunded is the same document, not a second one.
        return [_refund(r, order_ref, f"data.object.refunds.data.{i}") for i, r in enumerate(listed)]
    if charge.amount_refunded == 0:
        return []
    # API versions since 2022-11-15 no longer list refunds on the charge: one refund for the total so far.
    total = _Refund(
        id=f"{charge.id}:refunded:{charge.amount_refunded}",
        amount=charge.amount_refunded,
        currency=charge.currency,
        created=charge.created,
        charge=charge.id,
    )
    return [_refund(total, order_ref, "data.object")]


def _refund_object(obj: dict[str, Any]) -> list[CanonicalEvent]:
    refund = validate_shape(_Refund, obj, "data.object")
    if refund.status not in (None, "succeeded"):
        return []
    return [_refund(refund, _order_ref(refund.metadata, refund.payment_intent, refund.charge), "data.object")]


def _payout_paid(obj: dict[str, Any]) -> list[CanonicalEvent]:
    payout = validate_shape(_Payout, obj, "data.object")
    gross = fees = None
    if isinstance(payout.balance_transaction, _BalanceTransaction):
        # What reached the bank is the payout's amount; what left the balance is that plus the payout's fee.
        txn = payout.balance_transaction
        gross = _money(payout.amount + txn.fee, payout.currency)
        fees = _money(txn.fee, payout.currency)
    try:
        canonical = Payout(
            source="stripe",
            source_ref=payout.id,
            paid_at=_at(payout.arrival_date),
            amount=_money(payout.amount, payout.currency),
            gross=gross,
            fees=fees,
        )
    except ValidationError as exc:
        raise payload_error_from(exc, "data.object") from exc
    return [PayoutPaid(occurred_at=canonical.paid_at, payout=canonical)]


_EVENT_TYPES: dict[str, Callable[[dict[str, Any]], list[CanonicalEvent]]] = {
    "charge.succeeded": _charge_captured,
    "charge.captured": _charge_captured,
    "charge.refunded": _charge_refunded,
    "refund.created": _refund_object,
    "refund.updated": _refund_object,
    "charge.refund.updated": _refund_object,
    "payout.paid": _payout_paid,
}
