"""Etsy webhooks: Standard Webhooks signatures, order notifications into canonical events.

Etsy signs with the Standard Webhooks scheme (https://developers.etsy.com/documentation/essentials/webhooks,
https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md): the signed
content is `{webhook-id}.{webhook-timestamp}.{raw body}`, the key is the base64 part of the endpoint's
`whsec_…` secret, and `webhook-signature` is a space-separated list of `v1,<base64 HMAC-SHA256>` (several while
a secret rolls; any one may match). A timestamp more than 5 minutes from now is refused. `webhook-id` is the
same on every retry and is our dedupe key.

Events: Etsy sends a thin notification `{"event_type": "order.paid", "resource_url": ".../shops/{shop_id}/
receipts/{receipt_id}", "shop_id": …}` (the docs' older form says `ORDER_PAID` and nests a `data` object).
- order.canceled → OrderCancelled for the receipt named in `resource_url`;
- order.shipped → ShipmentCreated for that receipt (no lines: the receipt's shipments say what left);
- order.paid → OrderPaid when the delivery carries the receipt (`data` with a ShopReceipt,
  https://developers.etsy.com/documentation/reference#operation/getShopReceipt); a thin order.paid yields no
  event here: the receipt has to be read from `resource_url` with the shop's OAuth token (a pull the mapper
  or a pull source does; see docs/webhooks.md);
- order.delivered and anything else: taken without events.

Receipt amounts are `{amount, divisor, currency_code}`. Lines are the transactions at their price; the order
is what the buyer paid the seller: grand total less the sales tax / VAT that Etsy collects and remits itself.

Secret (Secrets Manager SecretString): the endpoint's signing secret as Etsy shows it, `whsec_<base64>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pydantic import Field, ValidationError

from mutabik.model import (
    Line,
    LineKind,
    Money,
    Order,
    OrderCancelled,
    OrderPaid,
    Shipment,
    ShipmentCreated,
    WebSale,
)
from mutabik.model.events import CanonicalEvent
from mutabik.sources._common import address, buyer
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

__all__ = ["EtsySource"]

TOLERANCE = timedelta(minutes=5)
_RECEIPT_URL = re.compile(r"/shops/(\d{1,20})/receipts/(\d{1,20})(?:[/?#]|$)")
_MAX = 10**15


class _Amount(SenderShape):
    amount: int = Field(ge=0, le=_MAX)
    divisor: int = Field(default=100, gt=0, le=10**6)
    currency_code: str = Field(min_length=3, max_length=3)

    @property
    def value(self) -> Decimal:
        return Decimal(self.amount) / Decimal(self.divisor)


class _Transaction(SenderShape):
    transaction_id: int
    title: str = ""
    sku: str | None = None
    listing_id: int | None = None
    quantity: Decimal = Field(gt=0, le=10**9)
    price: _Amount


class _Receipt(SenderShape):
    receipt_id: int
    name: str = ""
    first_line: str | None = None
    second_line: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country_iso: str | None = None
    buyer_email: str | None = None
    is_paid: bool = True
    create_timestamp: int = Field(ge=0, le=2**33)
    grandtotal: _Amount
    total_shipping_cost: _Amount | None = None
    total_tax_cost: _Amount | None = None
    total_vat_cost: _Amount | None = None
    discount_amt: _Amount | None = None
    transactions: list[_Transaction] = Field(min_length=1)


class _Notification(SenderShape):
    event_type: str = Field(min_length=1, max_length=100)
    resource_url: str | None = Field(default=None, max_length=2000)
    shop_id: int | str | None = None
    data: _Receipt | None = None


class EtsySource(WebhookSource):
    name = "etsy"

    def verify(self, delivery: Delivery, secret: str) -> None:
        message_id = delivery.header("webhook-id")
        if not message_id:
            raise SignatureError("webhook-id is missing")
        timestamp = delivery.header("webhook-timestamp")
        check_timestamp(timestamp, self.clock(), TOLERANCE, "webhook-timestamp")
        expected = _signature(_key(secret), message_id, timestamp or "", delivery.body)
        given = [sig for version, _, sig in _entries(delivery.header("webhook-signature")) if version == "v1"]
        if not any([constant_time_equal(expected, sig) for sig in given]):
            raise SignatureError("no webhook-signature v1 matches the body signed with the endpoint's secret")

    def delivery_id(self, delivery: Delivery) -> str:
        return delivery.header("webhook-id") or ""

    def topic(self, delivery: Delivery) -> str:
        try:
            return _event_type(validate_shape(_Notification, delivery.json()))
        except PayloadError:
            return ""

    def sign(self, delivery: Delivery, secret: str) -> Delivery:
        timestamp = str(int(self.clock().timestamp()))
        message_id = delivery.header("webhook-id") or "msg_demo"
        signature = _signature(_key(secret), message_id, timestamp, delivery.body)
        headers = {"webhook-id": message_id, "webhook-timestamp": timestamp, "webhook-signature": f"v1,{signature}"}
        return with_headers(delivery, headers)

    def parse(self, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
        notification = validate_shape(_Notification, delivery.json())
        handler = _EVENT_TYPES.get(_event_type(notification))
        return handler(notification, delivery, context) if handler else []


def _key(secret: str) -> bytes:
    """The signing key: the base64 after `whsec_` (Standard Webhooks); a secret without the prefix as is."""
    encoded = secret.strip().removeprefix("whsec_")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return secret.encode()


def _signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    content = message_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def _entries(header: str | None) -> list[tuple[str, str, str]]:
    if not header:
        raise SignatureError("webhook-signature is missing")
    return [entry.partition(",") for entry in header.split(" ") if entry]


def _event_type(notification: _Notification) -> str:
    # The docs say ORDER_PAID, deliveries say order.paid: one vocabulary.
    return notification.event_type.strip().lower().replace("_", ".")


def _receipt_ref(notification: _Notification) -> str:
    if notification.data is not None:
        return str(notification.data.receipt_id)
    match = _RECEIPT_URL.search(notification.resource_url or "")
    if not match:
        raise PayloadError("resource_url does not name a shop receipt", "resource_url")
    return match.group(2)


def _sent_at(delivery: Delivery) -> datetime:
    timestamp = delivery.header("webhook-timestamp") or ""
    if timestamp.isdigit() and len(timestamp) <= 12:
        return datetime.fromtimestamp(int(timestamp), tz=UTC)
    raise PayloadError("webhook-timestamp is missing", "headers.webhook-timestamp")


def _cancelled(notification: _Notification, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
    ref = _receipt_ref(notification)
    return [OrderCancelled(occurred_at=_sent_at(delivery), source="etsy", order_ref=ref)]


def _shipped(notification: _Notification, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
    ref = _receipt_ref(notification)
    at = _sent_at(delivery)
    shipment = Shipment(source="etsy", source_ref=f"{ref}:shipped", order_ref=ref, shipped_at=at)
    return [ShipmentCreated(occurred_at=at, shipment=shipment)]


def _paid(notification: _Notification, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
    receipt = notification.data
    if receipt is None or not receipt.is_paid:
        return []  # a thin notification: the receipt must be read from resource_url
    order = _order(receipt, context)
    return [OrderPaid(occurred_at=order.ordered_at, order=order)]


def _value(amount: _Amount | None) -> Decimal:
    return amount.value if amount else Decimal(0)


def _order(receipt: _Receipt, context: SourceContext) -> Order:
    currency = receipt.grandtotal.currency_code.upper()
    # A sale abroad is an export (KDV 0, the exemption is the mapper's); at home the tenant's rate applies.
    abroad = (receipt.country_iso or "TR").upper() != "TR"
    rate = Decimal(0) if abroad else context.default_kdv_rate
    try:
        lines = [
            Line(
                sku=t.sku or str(t.listing_id or t.transaction_id),
                name=t.title or str(t.transaction_id),
                quantity=t.quantity,
                unit_price=t.price.value,
                kdv_rate=rate,
            )
            for t in receipt.transactions
        ]
        shipping = _value(receipt.total_shipping_cost)
        if shipping > 0:
            lines.append(
                Line(
                    sku="SHIPPING",
                    name="Kargo",
                    kind=LineKind.SHIPPING,
                    quantity=Decimal(1),
                    unit_price=shipping,
                    kdv_rate=rate,
                )
            )
    except ValidationError as exc:
        raise payload_error_from(exc, "data.transactions") from exc
    collected_by_etsy = _value(receipt.total_tax_cost) + _value(receipt.total_vat_cost)
    ordered_at = datetime.fromtimestamp(receipt.create_timestamp, tz=UTC)
    bill_to = address(
        street=" ".join(p for p in (receipt.first_line, receipt.second_line) if p),
        district=receipt.state,
        city=receipt.city,
        postal_code=receipt.zip,
        country_code=receipt.country_iso,
        path="data",
    )
    try:
        return Order(
            source="etsy",
            source_ref=str(receipt.receipt_id),
            number=str(receipt.receipt_id),
            ordered_at=ordered_at,
            currency=currency,
            prices_include_tax=True,
            buyer=buyer(name=receipt.name, tax_id="", address=bill_to, email=receipt.buyer_email, path="data"),
            lines=tuple(lines),
            order_discount=_value(receipt.discount_amt),
            total_paid=Money(amount=receipt.grandtotal.value - collected_by_etsy, currency=currency),
            web_sale=WebSale(
                website="etsy.com",
                payment_method="ODEMEARACISI",
                payment_agent="Etsy Payments",
                payment_date=ordered_at,
            ),
        )
    except ValidationError as exc:
        raise payload_error_from(exc, "data") from exc


_EVENT_TYPES: dict[str, Callable[[_Notification, Delivery, SourceContext], list[CanonicalEvent]]] = {
    "order.paid": _paid,
    "order.canceled": _cancelled,
    "order.cancelled": _cancelled,
    "order.shipped": _shipped,
}
