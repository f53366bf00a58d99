"""Trendyol seller webhooks: shipment packages, authenticated by Basic auth or `x-api-key`, into canonical events.

Trendyol calls the seller's webhook URL with the full shipment package (the getShipmentPackages model) on every
subscribed status change (https://developers.trendyol.com/docs/webhook-model, createWebhook:
https://developers.trendyol.com/docs/webhook-yaratma). It proves itself with what the seller registered:
`authenticationType` BASIC_AUTHENTICATION (an `Authorization: Basic` header with the username and password) or
API_KEY (an `x-api-key` header). There is no signature over the body and no delivery id header.

Statuses (`PACKAGE_STATUS_EVENTS`): Created → OrderPaid (Trendyol packages an order only after the payment is
verified), Shipped → ShipmentCreated, Cancelled / UnSupplied → OrderCancelled, Returned → RefundCreated of the
package; the rest (Awaiting, Picking, Invoiced, Delivered, UnDelivered, UnPacked, AtCollectionPoint,
Verified) are taken without events. A package is what Trendyol invoices, so the package id is the order ref
(`number` is the customer's orderNumber), and refunds, shipments and cancellations refer to it.

Amounts (https://developers.trendyol.com/docs/sipariş-paketlerini-çekme-servisindeki-i̇ndirim-gösterimleri):
prices include KDV; a line is its gross unit price less the seller's discount; a discount Trendyol funds
(`tyDiscount`) is paid to the seller by Trendyol, so it is not off the seller's invoice: the order's payable
amount is the package total plus Trendyol's discount, and the lines add up to exactly that.

The delivery id is the package id, its status and its last modification time: a retry of the same
notification has the same three, the next status change does not.

Secret (Secrets Manager SecretString): JSON with what was registered at createWebhook, either
`{"username": "…", "password": "…"}` or `{"api_key": "…"}` (both may be present while switching).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from pydantic import AliasChoices, Field, ValidationError

from mutabik.model import (
    Line,
    Money,
    Order,
    OrderCancelled,
    OrderPaid,
    Refund,
    RefundCreated,
    RefundLine,
    Shipment,
    ShipmentCreated,
    ShipmentLine,
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
    constant_time_equal,
    payload_error_from,
    validate_shape,
    with_headers,
)
from mutabik.sources.exceptions import PayloadError, SignatureError

__all__ = ["TrendyolSource"]

#: Trendyol's dates are Unix milliseconds of Turkish local time written as if it were UTC.
TURKEY = timezone(timedelta(hours=3))
_MAX = 10**12


class _Address(SenderShape):
    firstName: str = ""  # noqa: N815 - Trendyol's field names
    lastName: str = ""  # noqa: N815
    company: str | None = ""
    fullName: str | None = None  # noqa: N815
    address1: str | None = ""
    address2: str | None = ""
    district: str | None = ""
    city: str | None = ""
    postalCode: str | None = ""  # noqa: N815
    countryCode: str | None = "TR"  # noqa: N815
    taxNumber: str | None = None  # noqa: N815
    taxOffice: str | None = None  # noqa: N815


class _Line(SenderShape):
    id: int | None = None
    quantity: Decimal = Field(gt=0, le=10**6)
    productName: str = ""  # noqa: N815
    merchantSku: str | None = None  # noqa: N815
    barcode: str | None = None
    # Unit gross price, before any discount (newer: lineGrossAmount; classic: amount).
    gross: Decimal = Field(ge=0, le=_MAX, validation_alias=AliasChoices("lineGrossAmount", "amount"))
    # The seller's discount on the line, all units (newer: lineSellerDiscount; classic: discount).
    seller_discount: Decimal = Field(
        default=Decimal(0), ge=0, le=_MAX, validation_alias=AliasChoices("lineSellerDiscount", "discount")
    )
    ty_discount: Decimal = Field(
        default=Decimal(0), ge=0, le=_MAX, validation_alias=AliasChoices("lineTyDiscount", "tyDiscount")
    )
    vatRate: Decimal | None = Field(default=None, ge=0, le=100)  # noqa: N815


class _Package(SenderShape):
    id: int = Field(validation_alias=AliasChoices("shipmentPackageId", "id"))
    orderNumber: str  # noqa: N815
    status: str = Field(validation_alias=AliasChoices("shipmentPackageStatus", "status"))
    orderDate: int = Field(ge=0, le=2**45)  # noqa: N815
    lastModifiedDate: int | None = Field(default=None, ge=0, le=2**45)  # noqa: N815
    currencyCode: str = Field(default="TRY", min_length=3, max_length=3)  # noqa: N815
    totalPrice: Decimal | None = Field(default=None, ge=0, le=_MAX)  # noqa: N815
    packageTotalPrice: Decimal | None = Field(default=None, ge=0, le=_MAX)  # noqa: N815
    tcIdentityNumber: str | None = None  # noqa: N815
    taxNumber: str | None = None  # noqa: N815
    customerFirstName: str = ""  # noqa: N815
    customerLastName: str = ""  # noqa: N815
    customerEmail: str | None = None  # noqa: N815
    invoiceAddress: _Address = _Address()  # noqa: N815
    shipmentAddress: _Address | None = None  # noqa: N815
    cargoProviderName: str | None = None  # noqa: N815
    cargoTrackingNumber: str | int | None = None  # noqa: N815
    lines: list[_Line] = Field(min_length=1)


class _Page(SenderShape):
    content: list[dict[str, Any]] = Field(max_length=200)


class TrendyolSource(WebhookSource):
    name = "trendyol"

    def verify(self, delivery: Delivery, secret: str) -> None:
        credentials = _credentials(secret)
        api_key = credentials.get("api_key")
        if api_key and constant_time_equal(api_key, delivery.header("x-api-key")):
            return
        username, password = credentials.get("username"), credentials.get("password")
        if username and password and basic_auth_matches(delivery.header("authorization"), username, password):
            return
        raise SignatureError("neither Authorization (Basic) nor x-api-key carries the credentials registered")

    def delivery_id(self, delivery: Delivery) -> str:
        packages = _packages(delivery)
        if len(packages) == 1:
            package = packages[0]
            return f"{package.id}:{package.status}:{package.lastModifiedDate or package.orderDate}"
        return "sha256:" + hashlib.sha256(delivery.body).hexdigest()

    def topic(self, delivery: Delivery) -> str:
        try:
            return ",".join(sorted({p.status for p in _packages(delivery)}))
        except PayloadError:
            return ""

    def sign(self, delivery: Delivery, secret: str) -> Delivery:
        credentials = _credentials(secret)
        if credentials.get("username") and credentials.get("password"):
            header = basic_auth_header(credentials["username"], credentials["password"])
            return with_headers(delivery, {"Authorization": header})
        return with_headers(delivery, {"x-api-key": credentials["api_key"]})

    def parse(self, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
        events: list[CanonicalEvent] = []
        for package in _packages(delivery):
            handler = PACKAGE_STATUS_EVENTS.get(package.status.replace("_", "").lower())
            if handler:
                events += handler(package, context)
        return events


def _credentials(secret: str) -> dict[str, str]:
    try:
        data = json.loads(secret)
    except ValueError as exc:
        raise SignatureError("the tenant's Trendyol secret is not the expected JSON object") from exc
    if not isinstance(data, dict):
        raise SignatureError("the tenant's Trendyol secret is not the expected JSON object")
    found = {k: v for k, v in data.items() if isinstance(v, str) and v}
    if not (found.get("api_key") or (found.get("username") and found.get("password"))):
        raise SignatureError("the tenant's Trendyol secret has neither api_key nor username and password")
    return found


def _packages(delivery: Delivery) -> list[_Package]:
    body = delivery.json()
    if isinstance(body, dict) and "content" in body:
        page = validate_shape(_Page, body)
        return [validate_shape(_Package, item, f"content.{i}") for i, item in enumerate(page.content)]
    return [validate_shape(_Package, body)]


def _local(millis: int) -> datetime:
    """Trendyol's millisecond timestamps are Turkish wall-clock time: read them as such."""
    try:
        naive = datetime.fromtimestamp(millis / 1000, tz=UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError) as exc:
        raise PayloadError("timestamp out of range", "orderDate") from exc
    return naive.replace(tzinfo=TURKEY)


def _line_rate(line: _Line, context: SourceContext) -> Decimal:
    return nearest_kdv_rate(line.vatRate, context.default_kdv_rate)


def _order(package: _Package, context: SourceContext) -> Order:
    try:
        lines = tuple(
            Line(
                sku=line.merchantSku or line.barcode or str(line.id or ""),
                name=line.productName or line.merchantSku or "Ürün",
                quantity=line.quantity,
                unit_price=line.gross,
                discount=line.seller_discount,
                kdv_rate=_line_rate(line, context),
            )
            for line in package.lines
        )
    except ValidationError as exc:
        raise payload_error_from(exc, "lines") from exc
    invoice = package.invoiceAddress
    bill_to = address(
        street=" ".join(p for p in (invoice.address1, invoice.address2) if p),
        district=invoice.district,
        city=invoice.city,
        postal_code=invoice.postalCode,
        country_code=invoice.countryCode,
        path="invoiceAddress",
    )
    ship = package.shipmentAddress
    ship_to = (
        address(
            street=" ".join(p for p in (ship.address1, ship.address2) if p),
            district=ship.district,
            city=ship.city,
            postal_code=ship.postalCode,
            country_code=ship.countryCode,
            path="shipmentAddress",
        )
        if ship
        else None
    )
    first = invoice.firstName or package.customerFirstName
    last = invoice.lastName or package.customerLastName
    tax_id = tax_id_from(
        [
            ("taxNumber", invoice.taxNumber or package.taxNumber),
            ("tcIdentityNumber", package.tcIdentityNumber),
        ]
    )
    party = buyer(
        name=invoice.company or invoice.fullName or " ".join(p for p in (first, last) if p),
        tax_id=tax_id,
        tax_office=invoice.taxOffice or "",
        address=bill_to,
        email=package.customerEmail,
        first_name=first,
        family_name=last,
        path="invoiceAddress",
    )
    ordered_at = _local(package.orderDate)
    payable = sum((line.gross for line in lines), Decimal(0))
    try:
        return Order(
            source="trendyol",
            source_ref=str(package.id),
            number=package.orderNumber,
            ordered_at=ordered_at,
            currency=package.currencyCode,
            prices_include_tax=True,
            buyer=party,
            shipping_address=ship_to,
            lines=lines,
            total_paid=Money(amount=payable, currency=package.currencyCode),
            web_sale=WebSale(
                website="www.trendyol.com",
                payment_method="ODEMEARACISI",
                payment_agent="Trendyol",
                payment_date=ordered_at,
                carrier_name=package.cargoProviderName or "",
            ),
        )
    except ValidationError as exc:
        raise payload_error_from(exc) from exc


def _created(package: _Package, context: SourceContext) -> list[CanonicalEvent]:
    order = _order(package, context)
    return [OrderPaid(occurred_at=order.ordered_at, order=order)]


def _changed_at(package: _Package) -> datetime:
    return _local(package.lastModifiedDate or package.orderDate)


def _shipped(package: _Package, context: SourceContext) -> list[CanonicalEvent]:
    at = _changed_at(package)
    try:
        shipment = Shipment(
            source="trendyol",
            source_ref=f"{package.id}:shipped",
            order_ref=str(package.id),
            shipped_at=at,
            carrier_name=package.cargoProviderName or "",
            tracking_number=str(package.cargoTrackingNumber or ""),
            lines=tuple(
                ShipmentLine(
                    sku=line.merchantSku or line.barcode or "",
                    name=line.productName or line.merchantSku or "Ürün",
                    quantity=line.quantity,
                )
                for line in package.lines
            ),
        )
    except ValidationError as exc:
        raise payload_error_from(exc, "lines") from exc
    return [ShipmentCreated(occurred_at=at, shipment=shipment)]


def _cancelled(package: _Package, context: SourceContext) -> list[CanonicalEvent]:
    return [
        OrderCancelled(
            occurred_at=_changed_at(package), source="trendyol", order_ref=str(package.id), reason=package.status
        )
    ]


def _returned(package: _Package, context: SourceContext) -> list[CanonicalEvent]:
    at = _changed_at(package)
    order = _order(package, context)
    try:
        refund = Refund(
            source="trendyol",
            source_ref=f"{package.id}:returned",
            order_ref=str(package.id),
            created_at=at,
            amount=order.total_paid,
            lines=tuple(
                RefundLine(
                    sku=line.sku, name=line.name, quantity=line.quantity, amount=line.gross, kdv_rate=line.kdv_rate
                )
                for line in order.lines
            ),
            reason="Returned",
        )
    except ValidationError as exc:
        raise payload_error_from(exc, "lines") from exc
    return [RefundCreated(occurred_at=at, refund=refund)]


#: Package status (lower-cased, underscores removed: the webhook says AT_COLLECTION_POINT, the API
#: AtCollectionPoint) → what it means for us. Statuses not listed are taken without events.
PACKAGE_STATUS_EVENTS: dict[str, Callable[[_Package, SourceContext], list[CanonicalEvent]]] = {
    "created": _created,
    "shipped": _shipped,
    "cancelled": _cancelled,
    "unsupplied": _cancelled,
    "returned": _returned,
}
