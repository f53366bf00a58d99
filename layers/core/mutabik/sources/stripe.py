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

The order a payment belongs to is `metadata.order_id` (or `order_ref`, `order_number`) when the shop set it,
else the PaymentIntent, else the charge: the mapper matches refunds and payments to orders by that ref.

Secret (Secrets Manager SecretString): the endpoint's signing secret, `whsec_…`, as is.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

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

__all__ = ["StripeSource"]

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


class StripeSource(WebhookSource):
    name = "stripe"

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
    for key in ORDER_METADATA_KEYS:
        value = metadata.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return payment_intent or charge or ""


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
