"""WooCommerce webhooks: `X-WC-Webhook-Signature` verified order topics into canonical events.

WooCommerce signs the raw body with the webhook's secret: `X-WC-Webhook-Signature` is the base64 HMAC-SHA256
digest; `X-WC-Webhook-Topic` says `order.created`, `order.updated` … and `X-WC-Webhook-ID` which webhook sent it
(https://developer.woocommerce.com/docs/apis/rest-api/v3/webhooks/, `WC_Webhook::get_delivery_headers`).
When a webhook is saved, WooCommerce pings the delivery URL once with the form body `webhook_id=<id>` and no
signature, and disables the webhook unless it gets a 2xx: the ping is taken (200) and yields no events.

Topics: order.created and order.updated map by the order's status (`ORDER_STATUS_EVENTS`): pending/on-hold →
OrderPlaced, processing/completed → OrderPaid, cancelled → OrderCancelled; every refund listed on the order
(`refunds`) → RefundCreated (the mapper keys them by refund id, so a refund listed again is not a second one).
Other topics (products, customers, coupons, order.deleted) are taken without events.

WooCommerce re-sends a failed delivery with a new `X-WC-Webhook-Delivery-ID`, so that header cannot dedupe:
the delivery id is the webhook id with a SHA-256 of the exact body, the same for every re-send of the same
content.

Amounts: the REST order gives line totals without tax and the tax beside them; lines are made tax-inclusive
(`total + total_tax`) so that lines − order discount add up to `total`, which is what the buyer paid.

Secret (Secrets Manager SecretString): the webhook's secret, as entered in WooCommerce → Settings → Advanced →
Webhooks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal
from enum import Enum
from typing import Any

from pydantic import Field, ValidationError

from mutabik.model import (
    Line,
    LineKind,
    Money,
    Order,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    Refund,
    RefundCreated,
    WebSale,
)
from mutabik.model.events import CanonicalEvent
from mutabik.sources._common import address, buyer, kdv_rate_of, tax_id_from
from mutabik.sources.base import (
    Delivery,
    Reply,
    SenderShape,
    SourceContext,
    WebhookSource,
    constant_time_equal,
    payload_error_from,
    validate_shape,
    with_headers,
)
from mutabik.sources.exceptions import PayloadError, SignatureError

__all__ = ["WooCommerceSource"]

_PING = re.compile(rb"^webhook_id=(\d{1,20})$")
_UNIT_PRICE_PLACES = Decimal("0.0001")


class _Act(Enum):
    PLACED = "placed"
    PAID = "paid"
    CANCELLED = "cancelled"


#: Order status (https://woocommerce.com/document/managing-orders/order-statuses/) → what it means for us.
#: failed, trash, checkout-draft and unknown statuses are no document.
ORDER_STATUS_EVENTS: dict[str, _Act] = {
    "pending": _Act.PLACED,
    "on-hold": _Act.PLACED,
    "processing": _Act.PAID,
    "completed": _Act.PAID,
    "refunded": _Act.PAID,  # the sale happened; the refunds listed on the order return it
    "cancelled": _Act.CANCELLED,
}
ORDER_TOPICS = frozenset({"order.created", "order.updated"})

#: WooCommerce payment gateway ids → GİB's e-Arşiv payment methods.
PAYMENT_METHODS = {"bacs": "EFT/HAVALE", "cod": "KAPIDAODEME", "cheque": "DIGER"}
DEFAULT_PAYMENT_METHOD = "KREDIKARTI/BANKAKARTI"
TAX_OFFICE_KEYS = frozenset({"billing_vergi_dairesi", "vergi_dairesi", "tax_office", "billing_tax_office"})


class _Address(SenderShape):
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address_1: str = ""
    address_2: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""
    email: str | None = None
    phone: str | None = None


class _Meta(SenderShape):
    key: str
    value: Any = None


class _LineItem(SenderShape):
    id: int
    name: str = ""
    sku: str | None = None
    product_id: int | None = None
    quantity: Decimal = Field(gt=0, le=10**9)
    subtotal: Decimal = Field(ge=0, le=10**12)
    subtotal_tax: Decimal = Field(default=Decimal(0), ge=0, le=10**12)
    total: Decimal = Field(ge=0, le=10**12)
    total_tax: Decimal = Field(default=Decimal(0), ge=0, le=10**12)


class _ShippingLine(SenderShape):
    method_title: str = "Kargo"
    total: Decimal = Field(ge=0, le=10**12)
    total_tax: Decimal = Field(default=Decimal(0), ge=0, le=10**12)


class _FeeLine(SenderShape):
    name: str = "Ücret"
    total: Decimal = Field(ge=-(10**12), le=10**12)
    total_tax: Decimal = Field(default=Decimal(0), ge=-(10**12), le=10**12)


class _RefundSummary(SenderShape):
    id: int
    reason: str | None = ""
    total: Decimal = Field(ge=-(10**12), le=10**12)  # negative: money going back


class _Order(SenderShape):
    id: int
    number: str = ""
    status: str
    currency: str = Field(min_length=3, max_length=3)
    date_created_gmt: datetime
    date_paid_gmt: datetime | None = None
    date_modified_gmt: datetime | None = None
    total: Decimal = Field(ge=0, le=10**12)
    payment_method: str = ""
    payment_method_title: str = ""
    customer_note: str = ""
    billing: _Address = _Address()
    shipping: _Address | None = None
    line_items: list[_LineItem] = Field(min_length=1)
    shipping_lines: list[_ShippingLine] = Field(default_factory=list)
    fee_lines: list[_FeeLine] = Field(default_factory=list)
    refunds: list[_RefundSummary] = Field(default_factory=list)
    meta_data: list[_Meta] = Field(default_factory=list)


class WooCommerceSource(WebhookSource):
    name = "woocommerce"

    def verify(self, delivery: Delivery, secret: str) -> None:
        if _is_ping(delivery):
            return  # the creation ping is unsigned and carries nothing but the webhook id
        given = delivery.header("x-wc-webhook-signature")
        if not constant_time_equal(_signature(delivery.body, secret), given):
            raise SignatureError("X-WC-Webhook-Signature does not match the body signed with the webhook's secret")

    def delivery_id(self, delivery: Delivery) -> str:
        ping = _PING.match(delivery.body)
        if ping and _is_ping(delivery):
            return f"ping:{ping.group(1).decode()}"
        webhook = delivery.header("x-wc-webhook-id") or "-"
        return f"{webhook[:40]}:{hashlib.sha256(delivery.body).hexdigest()[:40]}"

    def topic(self, delivery: Delivery) -> str:
        return "ping" if _is_ping(delivery) else delivery.header("x-wc-webhook-topic") or ""

    def reply(self, delivery: Delivery, *, duplicate: bool) -> Reply:
        if _is_ping(delivery):
            return Reply(200, json.dumps({"status": "accepted"}))
        return super().reply(delivery, duplicate=duplicate)

    def sign(self, delivery: Delivery, secret: str) -> Delivery:
        if _is_ping(delivery):
            return delivery
        return with_headers(delivery, {"X-WC-Webhook-Signature": _signature(delivery.body, secret)})

    def parse(self, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
        if _is_ping(delivery):
            return []
        topic = self.topic(delivery)
        if not topic:
            raise PayloadError("X-WC-Webhook-Topic is missing", "headers.x-wc-webhook-topic")
        if topic not in ORDER_TOPICS:
            return []
        order = validate_shape(_Order, delivery.json())
        events: list[CanonicalEvent] = []
        act = ORDER_STATUS_EVENTS.get(order.status)
        if act is _Act.CANCELLED:
            at = order.date_modified_gmt or order.date_created_gmt
            events.append(OrderCancelled(occurred_at=_utc(at), source=self.name, order_ref=str(order.id)))
        elif act is not None:
            canonical = _order(order, delivery, context)
            if act is _Act.PAID:
                paid_at = _utc(order.date_paid_gmt or order.date_created_gmt)
                events.append(OrderPaid(occurred_at=paid_at, order=canonical))
            else:
                events.append(OrderPlaced(occurred_at=_utc(order.date_created_gmt), order=canonical))
        events += [_refund(order, r, i) for i, r in enumerate(order.refunds)]
        return events


def _is_ping(delivery: Delivery) -> bool:
    return delivery.header("x-wc-webhook-signature") is None and _PING.match(delivery.body) is not None


def _signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _utc(value: datetime) -> datetime:
    # WooCommerce's *_gmt fields are UTC without an offset.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _inclusive_line(
    sku: str, name: str, kind: LineKind, quantity: Decimal, before: Decimal, after: Decimal, rate: Decimal
) -> Line:
    """A tax-inclusive line whose gross is exactly `after`: unit price from `before` (rounded up to 4 places),
    the difference as the line's discount."""
    unit_price = (before / quantity).quantize(_UNIT_PRICE_PLACES, rounding=ROUND_CEILING)
    return Line(
        sku=sku,
        name=name,
        kind=kind,
        quantity=quantity,
        unit_price=unit_price,
        discount=quantity * unit_price - after,
        kdv_rate=rate,
    )


def _order(order: _Order, delivery: Delivery, context: SourceContext) -> Order:
    default = context.default_kdv_rate
    try:
        lines = [
            _inclusive_line(
                item.sku or str(item.product_id or item.id),
                item.name or str(item.id),
                LineKind.GOODS,
                item.quantity,
                item.subtotal + item.subtotal_tax,
                item.total + item.total_tax,
                kdv_rate_of(item.total_tax, item.total, default),
            )
            for item in order.line_items
        ]
        lines += [
            _inclusive_line(
                "SHIPPING",
                shipping.method_title or "Kargo",
                LineKind.SHIPPING,
                Decimal(1),
                shipping.total + shipping.total_tax,
                shipping.total + shipping.total_tax,
                kdv_rate_of(shipping.total_tax, shipping.total, default),
            )
            for shipping in order.shipping_lines
            if shipping.total > 0
        ]
        lines += [
            _inclusive_line(
                "FEE",
                fee.name or "Ücret",
                LineKind.SERVICE,
                Decimal(1),
                fee.total + fee.total_tax,
                fee.total + fee.total_tax,
                kdv_rate_of(fee.total_tax, fee.total, default),
            )
            for fee in order.fee_lines
            if fee.total > 0
        ]
    except ValidationError as exc:
        raise payload_error_from(exc, "line_items") from exc
    # A negative fee is how many discount plugins give money off the whole order.
    order_discount = -sum((f.total + f.total_tax for f in order.fee_lines if f.total < 0), Decimal(0))
    meta = [(m.key, m.value) for m in order.meta_data]
    billing = order.billing
    bill_to = address(
        street=" ".join(p for p in (billing.address_1, billing.address_2) if p),
        district=billing.state,
        city=billing.city,
        postal_code=billing.postcode,
        country_code=billing.country or "TR",
        path="billing",
    )
    ship = order.shipping
    ship_to = (
        address(
            street=" ".join(p for p in (ship.address_1, ship.address_2) if p),
            district=ship.state,
            city=ship.city,
            postal_code=ship.postcode,
            country_code=ship.country or "TR",
            path="shipping",
        )
        if ship and (ship.address_1 or ship.city)
        else None
    )
    person = " ".join(p for p in (billing.first_name, billing.last_name) if p)
    tax_office = next(
        (str(v) for k, v in meta if k.strip().lstrip("_").lower() in TAX_OFFICE_KEYS and isinstance(v, str)), ""
    )
    party = buyer(
        name=billing.company or person,
        tax_id=tax_id_from(meta),
        tax_office=tax_office,
        address=bill_to,
        email=billing.email,
        phone=billing.phone,
        first_name=billing.first_name,
        family_name=billing.last_name,
        path="billing",
    )
    try:
        return Order(
            source="woocommerce",
            source_ref=str(order.id),
            number=order.number or str(order.id),
            ordered_at=_utc(order.date_created_gmt),
            currency=order.currency,
            prices_include_tax=True,
            buyer=party,
            shipping_address=ship_to,
            lines=tuple(lines),
            order_discount=order_discount,
            total_paid=Money(amount=order.total, currency=order.currency),
            web_sale=WebSale(
                website=delivery.header("x-wc-webhook-source") or "woocommerce",
                payment_method=PAYMENT_METHODS.get(order.payment_method, DEFAULT_PAYMENT_METHOD),
                payment_agent=order.payment_method_title or order.payment_method,
                payment_date=_utc(order.date_paid_gmt or order.date_created_gmt),
            ),
        )
    except ValidationError as exc:
        raise payload_error_from(exc) from exc


def _refund(order: _Order, refund: _RefundSummary, index: int) -> RefundCreated:
    at = _utc(order.date_modified_gmt or order.date_created_gmt)
    try:
        canonical = Refund(
            source="woocommerce",
            source_ref=str(refund.id),
            order_ref=str(order.id),
            created_at=at,
            amount=Money(amount=abs(refund.total), currency=order.currency),
            reason=refund.reason or "",
        )
    except ValidationError as exc:
        raise payload_error_from(exc, f"refunds.{index}") from exc
    return RefundCreated(occurred_at=at, refund=canonical)
