"""Hepsiburada order webhooks: one path per event under the seller's base URL, Basic auth, into canonical events.

Hepsiburada calls `{base URL}/<event path>` with POST or PUT and JSON, authenticated with the username and
password the seller gave Hepsiburada's integration team (https://developers.hepsiburada.com/hepsiburada/
reference/webhook-önemli-bilgiler, Create Order: .../reference/create-order, Create Packages:
.../reference/create-packages, status webhooks: .../reference/yoldateslim-edilditeslim-edilemedi-statüleri-
webhook). The base URL registered is `https://<api>/v1/webhooks/hepsiburada/{tenant}`, so the event is what
follows it (`Delivery.path`); a body with `items` and no path is taken as Create Order.

Events (`EVENT_PATHS`, matched in order):
    orders                          Create Order            → OrderPaid (Hepsiburada sends paid orders only)
    orders/{n}/cancel               order cancelled         → OrderCancelled
    packages/{p}/intransit          package on its way      → ShipmentCreated (order ref from the body, if any)
    packages, packages/{p}/…, orders/{n}/shippingaddress, lineitems/{id}/cancel, claims…
                                    taken without events (a line cancelled before invoicing, packaging,
                                    delivery and address changes change no document; claims are not mapped yet)

Amounts: each item's `totalPrice` is what the buyer paid for the line, KDV included, at `vatRate`; the unit
price is `unitPrice` and the difference is the line's discount, so lines add up to the order's total.
Discounts Hepsiburada funds (`hbDiscount`) are not on the seller's invoice lines here.

There is no delivery id header: the delivery id is the event path and a SHA-256 of the body, the same for a
retry of the same call.

Secret (Secrets Manager SecretString): JSON `{"username": "…", "password": "…"}` (what Hepsiburada sends).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import ROUND_CEILING, Decimal

from pydantic import Field, ValidationError

from mutabik.model import (
    Line,
    Money,
    Order,
    OrderCancelled,
    OrderPaid,
    Shipment,
    ShipmentCreated,
    WebSale,
)
from mutabik.model.events import CanonicalEvent
from mutabik.sources._common import address, buyer, nearest_kdv_rate, tax_id_from
from mutabik.sources.base import (
    Delivery,
    SenderShape,
    SourceContext,
    WebhookSource,
    basic_auth_header,
    basic_auth_matches,
    json_secret,
    payload_error_from,
    validate_shape,
    with_headers,
)
from mutabik.sources.exceptions import PayloadError, SignatureError

__all__ = ["HepsiburadaSource"]

#: Hepsiburada's dates carry no offset and are Turkish time.
TURKEY = timezone(timedelta(hours=3))
_MAX = 10**12
_UNIT_PLACES = Decimal("0.0001")


class _Price(SenderShape):
    currency: str = Field(default="TRY", min_length=3, max_length=3)
    amount: Decimal = Field(ge=0, le=_MAX)


class _Address(SenderShape):
    address: str | None = ""
    name: str | None = ""
    district: str | None = ""
    town: str | None = ""
    city: str | None = ""
    countryCode: str | None = "TR"  # noqa: N815 - Hepsiburada's field names
    postalCode: str | None = ""  # noqa: N815
    email: str | None = None
    phoneNumber: str | None = None  # noqa: N815


class _Invoice(SenderShape):
    turkishIdentityNumber: str | None = None  # noqa: N815
    taxNumber: str | None = None  # noqa: N815
    taxOffice: str | None = None  # noqa: N815
    address: _Address | None = None


class _Item(SenderShape):
    id: str = Field(min_length=1, max_length=100)
    name: str = ""
    sku: str | None = None
    merchantSku: str | None = None  # noqa: N815
    quantity: Decimal = Field(gt=0, le=10**6)
    orderNumber: str = Field(min_length=1, max_length=64)  # noqa: N815
    orderDate: datetime  # noqa: N815
    totalPrice: _Price  # noqa: N815
    unitPrice: _Price  # noqa: N815
    vatRate: Decimal | None = Field(default=None, ge=0, le=100)  # noqa: N815
    customerName: str | None = None  # noqa: N815
    shippingAddress: _Address | None = None  # noqa: N815
    invoice: _Invoice | None = None
    cargoCompany: str | None = None  # noqa: N815


class _CreateOrder(SenderShape):
    items: list[_Item] = Field(min_length=1, max_length=500)


class _StatusChange(SenderShape):
    orderNumber: str | None = Field(default=None, max_length=64)  # noqa: N815
    trackingNumber: str | None = Field(default=None, max_length=100)  # noqa: N815
    cargoCompany: str | None = Field(default=None, max_length=100)  # noqa: N815
    reason: str | None = Field(default=None, max_length=500)


class HepsiburadaSource(WebhookSource):
    name = "hepsiburada"
    event_paths = True

    def verify(self, delivery: Delivery, secret: str) -> None:
        credentials = json_secret(secret, "username", "password")
        if not basic_auth_matches(delivery.header("authorization"), credentials["username"], credentials["password"]):
            raise SignatureError("Authorization (Basic) does not carry the credentials given to Hepsiburada")

    def delivery_id(self, delivery: Delivery) -> str:
        event = _event(delivery)[0] or "orders"
        return f"{event[:120]}:{hashlib.sha256(delivery.body).hexdigest()[:40]}"

    def topic(self, delivery: Delivery) -> str:
        return _event(delivery)[1]

    def sign(self, delivery: Delivery, secret: str) -> Delivery:
        credentials = json_secret(secret, "username", "password")
        header = basic_auth_header(credentials["username"], credentials["password"])
        return with_headers(delivery, {"Authorization": header})

    def parse(self, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
        path, topic, match = _event(delivery)
        if not topic:
            if path:
                return []  # an event path we take but do not act on
            raise PayloadError("the event path after the tenant is missing", "path")
        handler = _HANDLERS.get(topic)
        # Status webhooks say no time: when they reached us is when it happened.
        stamped = replace(delivery, received_at=delivery.received_at or self.clock())
        return handler(stamped, match or {}, context) if handler else []


def _event(delivery: Delivery) -> tuple[str, str, dict[str, str] | None]:
    """(path, topic, path parameters): the topic is the first EVENT_PATHS entry the path matches."""
    path = delivery.path.strip("/").lower()
    if not path and delivery.body.lstrip().startswith(b"{") and b'"items"' in delivery.body:
        path = "orders"
    for pattern, topic in EVENT_PATHS:
        match = pattern.fullmatch(path)
        if match:
            return path, topic, match.groupdict()
    return path, "", None


def _local(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=TURKEY)


def _created(delivery: Delivery, params: dict[str, str], context: SourceContext) -> list[CanonicalEvent]:
    body = validate_shape(_CreateOrder, delivery.json())
    by_order: dict[str, list[tuple[int, _Item]]] = {}
    for index, item in enumerate(body.items):
        by_order.setdefault(item.orderNumber, []).append((index, item))
    return [_order_paid(items, context) for items in by_order.values()]


def _order_paid(items: list[tuple[int, _Item]], context: SourceContext) -> OrderPaid:
    first = items[0][1]
    currency = first.totalPrice.currency.upper()
    lines = []
    for index, item in items:
        try:
            paid_unit = (item.totalPrice.amount / item.quantity).quantize(_UNIT_PLACES, rounding=ROUND_CEILING)
            unit = max(item.unitPrice.amount, paid_unit)
            lines.append(
                Line(
                    sku=item.merchantSku or item.sku or item.id,
                    name=item.name or item.merchantSku or item.sku or "Ürün",
                    quantity=item.quantity,
                    unit_price=unit,
                    discount=item.quantity * unit - item.totalPrice.amount,
                    kdv_rate=nearest_kdv_rate(item.vatRate, context.default_kdv_rate),
                )
            )
        except ValidationError as exc:
            raise payload_error_from(exc, f"items.{index}") from exc
    invoice = first.invoice or _Invoice()
    bill = invoice.address or first.shippingAddress or _Address()
    bill_to = address(
        street=bill.address,
        district=bill.town or bill.district,
        city=bill.city,
        postal_code=bill.postalCode,
        country_code=bill.countryCode,
        path="items.0.invoice.address",
    )
    ship = first.shippingAddress
    ship_to = (
        address(
            street=ship.address,
            district=ship.town or ship.district,
            city=ship.city,
            postal_code=ship.postalCode,
            country_code=ship.countryCode,
            path="items.0.shippingAddress",
        )
        if ship
        else None
    )
    tax_id = tax_id_from([("taxNumber", invoice.taxNumber), ("turkishIdentityNumber", invoice.turkishIdentityNumber)])
    party = buyer(
        name=bill.name or first.customerName or "",
        tax_id=tax_id,
        tax_office=invoice.taxOffice or "",
        address=bill_to,
        email=bill.email,
        phone=bill.phoneNumber,
        path="items.0.invoice",
    )
    ordered_at = _local(first.orderDate)
    try:
        order = Order(
            source="hepsiburada",
            source_ref=first.orderNumber,
            number=first.orderNumber,
            ordered_at=ordered_at,
            currency=currency,
            prices_include_tax=True,
            buyer=party,
            shipping_address=ship_to,
            lines=tuple(lines),
            total_paid=Money(amount=sum((i.totalPrice.amount for _, i in items), Decimal(0)), currency=currency),
            web_sale=WebSale(
                website="www.hepsiburada.com",
                payment_method="ODEMEARACISI",
                payment_agent="Hepsiburada",
                payment_date=ordered_at,
                carrier_name=first.cargoCompany or "",
            ),
        )
    except ValidationError as exc:
        raise payload_error_from(exc, "items") from exc
    return OrderPaid(occurred_at=ordered_at, order=order)


def _received(delivery: Delivery) -> datetime:
    assert delivery.received_at is not None  # parse stamps it
    return delivery.received_at


def _status(delivery: Delivery) -> _StatusChange:
    body = delivery.json() if delivery.body.strip() else {}
    return validate_shape(_StatusChange, body)


def _cancelled(delivery: Delivery, params: dict[str, str], context: SourceContext) -> list[CanonicalEvent]:
    change = _status(delivery)
    at = _received(delivery)
    reason = change.reason or ""
    return [OrderCancelled(occurred_at=at, source="hepsiburada", order_ref=params["order"], reason=reason)]


def _in_transit(delivery: Delivery, params: dict[str, str], context: SourceContext) -> list[CanonicalEvent]:
    change = _status(delivery)
    at = _received(delivery)
    shipment = Shipment(
        source="hepsiburada",
        source_ref=f"{params['package']}:intransit",
        order_ref=change.orderNumber or "",
        shipped_at=at,
        carrier_name=change.cargoCompany or "",
        tracking_number=change.trackingNumber or "",
    )
    return [ShipmentCreated(occurred_at=at, shipment=shipment)]


_SEGMENT = r"[a-z0-9_.\-]{1,64}"
#: Event paths under the registered base URL (lower-cased) → topic. First match wins.
EVENT_PATHS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"orders"), "order.created"),
    (re.compile(rf"orders/(?P<order>{_SEGMENT})/cancel"), "order.cancelled"),
    (re.compile(rf"orders/(?P<order>{_SEGMENT})/shippingaddress"), "order.shipping_address"),
    (re.compile(rf"(?:orders/{_SEGMENT}/)?lineitems/(?P<line>{_SEGMENT})/cancel"), "lineitem.cancelled"),
    (re.compile(r"packages"), "package.created"),
    (re.compile(rf"packages/(?P<package>{_SEGMENT})/intransit"), "package.in_transit"),
    (re.compile(rf"packages/(?P<package>{_SEGMENT})/(?P<status>{_SEGMENT})"), "package.status"),
    (re.compile(rf"claims(?:/{_SEGMENT}){{0,3}}"), "claim"),
]
_HANDLERS: dict[str, Callable[[Delivery, dict[str, str], SourceContext], list[CanonicalEvent]]] = {
    "order.created": _created,
    "order.cancelled": _cancelled,
    "package.in_transit": _in_transit,
}
