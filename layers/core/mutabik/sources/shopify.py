"""Shopify webhooks: HMAC-verified order, refund, transaction and fulfillment topics into canonical events.

Shopify signs the raw body with the app's client secret: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256
digest, and `X-Shopify-Webhook-Id` is the same on every retry of one delivery, so it is our dedupe key
(https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook,
https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates). Shopify waits 5 s for a 2xx and retries
8 times over 4 hours, so the webhook answers before doing any work.

Topics (`X-Shopify-Topic`, https://shopify.dev/docs/api/webhooks): orders/create → OrderPlaced,
orders/paid → OrderPaid, orders/cancelled → OrderCancelled, refunds/create → RefundCreated,
order_transactions/create (a successful sale or capture) → PaymentCaptured, fulfillments/create and
fulfillments/update (a successful fulfillment) → ShipmentCreated. Other topics are taken without events.
Lines an order edit removed (`current_quantity` 0) are not sold. Shopify sends no payout webhook:
`payout_paid` turns a Shopify Payments payout read by a pull into PayoutPaid.

Secret (Secrets Manager SecretString): the app's client secret, as is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mutabik.model import (
    ANONYMOUS_CONSUMER_TCKN,
    FOREIGN_BUYER_VKN,
    KDV_RATES,
    Address,
    Line,
    LineKind,
    Money,
    Order,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    Party,
    Payment,
    PaymentCaptured,
    Payout,
    PayoutPaid,
    Refund,
    RefundCreated,
    RefundLine,
    Shipment,
    ShipmentCreated,
    ShipmentLine,
    WebSale,
)
from mutabik.model.events import CanonicalEvent
from mutabik.sources.base import (
    Delivery,
    SenderShape,
    SourceContext,
    WebhookSource,
    constant_time_equal,
    payload_error_from,
    validate_shape,
    with_headers,
)
from mutabik.sources.exceptions import PayloadError, SignatureError

__all__ = ["ShopifySource", "payout_paid"]

#: note_attributes a Turkish storefront uses to collect the buyer's identity for the invoice.
TAX_ID_ATTRIBUTES = frozenset({"tckn", "vkn", "tax_id", "vergi_no", "vergi no", "tc kimlik no", "tckn/vkn"})
TAX_OFFICE_ATTRIBUTES = frozenset({"vergi_dairesi", "vergi dairesi", "tax_office"})

#: Shopify gateway names → GİB's e-Arşiv payment methods (İnternet Satış Bilgileri "ödeme şekli").
PAYMENT_METHODS = {
    "manual": "EFT/HAVALE",
    "bank_deposit": "EFT/HAVALE",
    "bank transfer": "EFT/HAVALE",
    "cash_on_delivery": "KAPIDAODEME",
    "cash on delivery (cod)": "KAPIDAODEME",
}
DEFAULT_PAYMENT_METHOD = "KREDIKARTI/BANKAKARTI"


class _Shape(BaseModel):
    # Shopify adds fields over time; we read what we need and ignore the rest.
    model_config = ConfigDict(extra="ignore")


class _TaxLine(_Shape):
    rate: Decimal = Decimal(0)
    price: Decimal = Decimal(0)


class _Allocation(_Shape):
    amount: Decimal = Field(ge=0)


class _LineItem(_Shape):
    id: int
    sku: str | None = None
    title: str = ""
    name: str = ""
    quantity: Decimal = Field(gt=0)
    # After an order edit, what is left of the line (0 when removed); absent on unedited orders.
    current_quantity: Decimal | None = Field(default=None, ge=0)
    price: Decimal = Field(ge=0)
    total_discount: Decimal = Decimal(0)
    tax_lines: list[_TaxLine] = []
    discount_allocations: list[_Allocation] = []


class _ShippingLine(_Shape):
    title: str = "Kargo"
    price: Decimal = Field(ge=0)
    tax_lines: list[_TaxLine] = []
    discount_allocations: list[_Allocation] = []


class _Address(_Shape):
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    company: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


class _Customer(_Shape):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


class _NoteAttribute(_Shape):
    name: str
    value: Any = None


class _Order(_Shape):
    id: int
    name: str = ""
    created_at: datetime
    processed_at: datetime | None = None
    currency: str
    taxes_included: bool = False
    total_price: Decimal
    email: str | None = None
    gateway: str | None = None
    payment_gateway_names: list[str] | None = None
    line_items: list[_LineItem] = Field(min_length=1)
    shipping_lines: list[_ShippingLine] = []
    billing_address: _Address | None = None
    shipping_address: _Address | None = None
    customer: _Customer | None = None
    note_attributes: list[_NoteAttribute] = []
    order_status_url: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None


class _RefundLineItem(_Shape):
    quantity: Decimal = Field(gt=0)
    subtotal: Decimal | None = None
    total_tax: Decimal | None = None
    line_item: _LineItem


class _Transaction(_Shape):
    id: int | None = None
    order_id: int | None = None
    kind: str
    status: str | None = None
    amount: Decimal
    currency: str | None = None
    gateway: str | None = None
    created_at: datetime | None = None
    processed_at: datetime | None = None


class _OrderAdjustment(_Shape):
    kind: str = ""
    amount: Decimal = Decimal(0)
    tax_amount: Decimal = Decimal(0)


class _Refund(_Shape):
    id: int
    order_id: int
    created_at: datetime
    note: str | None = None
    refund_line_items: list[_RefundLineItem] = []
    transactions: list[_Transaction] = []
    order_adjustments: list[_OrderAdjustment] = []


class _FulfillmentLineItem(_Shape):
    id: int
    sku: str | None = None
    title: str = ""
    name: str = ""
    quantity: Decimal = Field(gt=0)


class _Fulfillment(_Shape):
    id: int
    order_id: int
    status: str | None = None
    created_at: datetime
    tracking_company: str | None = None
    tracking_number: str | None = None
    line_items: list[_FulfillmentLineItem] = []


#: Transactions that mean money reached the shop (https://shopify.dev/docs/api/admin-rest/latest/resources/transaction).
CAPTURE_KINDS = frozenset({"sale", "capture"})
#: Fulfillment statuses that mean goods left (https://shopify.dev/docs/api/admin-rest/latest/resources/fulfillment).
SHIPPED_STATUSES = frozenset({"success", "open", "pending"})


class ShopifySource(WebhookSource):
    name = "shopify"

    def verify(self, delivery: Delivery, secret: str) -> None:
        given = delivery.header("x-shopify-hmac-sha256")
        if not constant_time_equal(_signature(delivery.body, secret), given):
            raise SignatureError("X-Shopify-Hmac-Sha256 does not match the body signed with the app's secret")
        if not delivery.header("x-shopify-webhook-id"):
            raise SignatureError("X-Shopify-Webhook-Id is missing")

    def delivery_id(self, delivery: Delivery) -> str:
        return delivery.header("x-shopify-webhook-id") or ""

    def topic(self, delivery: Delivery) -> str:
        return delivery.header("x-shopify-topic") or ""

    def sign(self, delivery: Delivery, secret: str) -> Delivery:
        return with_headers(delivery, {"X-Shopify-Hmac-Sha256": _signature(delivery.body, secret)})

    def parse(self, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
        topic = self.topic(delivery)
        if not topic:
            raise PayloadError("X-Shopify-Topic is missing", "headers.x-shopify-topic")
        handler = _TOPICS.get(topic)
        # A topic the shop sends but we do not act on (e.g. products/update): taken and recorded, no document.
        return handler(delivery, context) if handler else []


def _signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _order_placed(delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
    order = validate_shape(_Order, delivery.json())
    return [OrderPlaced(occurred_at=order.created_at, order=_order(order, delivery, context))]


def _order_paid(delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
    order = validate_shape(_Order, delivery.json())
    paid_at = order.processed_at or order.created_at
    return [OrderPaid(occurred_at=paid_at, order=_order(order, delivery, context))]


def _order_cancelled(delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
    order = validate_shape(_Order, delivery.json())
    return [
        OrderCancelled(
            occurred_at=order.cancelled_at or order.created_at,
            source="shopify",
            order_ref=str(order.id),
            reason=order.cancel_reason or "",
        )
    ]


def _refund_created(delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
    refund = validate_shape(_Refund, delivery.json())
    return [RefundCreated(occurred_at=refund.created_at, refund=_refund(refund, context))]


def _transaction_created(delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
    transaction = validate_shape(_Transaction, delivery.json())
    if transaction.kind not in CAPTURE_KINDS or transaction.status not in (None, "success"):
        return []
    if transaction.id is None or transaction.order_id is None:
        missing = "id" if transaction.id is None else "order_id"
        raise PayloadError("Field required", missing)
    captured_at = transaction.processed_at or transaction.created_at
    if captured_at is None:
        raise PayloadError("Field required", "created_at")
    currency = transaction.currency or context.currency
    try:
        payment = Payment(
            source="shopify",
            source_ref=str(transaction.id),
            order_ref=str(transaction.order_id),
            captured_at=captured_at,
            amount=Money(amount=transaction.amount, currency=currency),
            method=PAYMENT_METHODS.get((transaction.gateway or "").lower(), DEFAULT_PAYMENT_METHOD),
        )
    except ValidationError as exc:
        raise payload_error_from(exc) from exc
    return [PaymentCaptured(occurred_at=captured_at, payment=payment)]


def _fulfillment(delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
    fulfillment = validate_shape(_Fulfillment, delivery.json())
    if fulfillment.status not in SHIPPED_STATUSES:
        return []  # cancelled, error or failure: nothing left the warehouse
    shipment = Shipment(
        source="shopify",
        source_ref=str(fulfillment.id),
        order_ref=str(fulfillment.order_id),
        shipped_at=fulfillment.created_at,
        carrier_name=fulfillment.tracking_company or "",
        tracking_number=fulfillment.tracking_number or "",
        lines=tuple(
            ShipmentLine(
                sku=item.sku or str(item.id),
                name=item.name or item.title or str(item.id),
                quantity=item.quantity,
            )
            for item in fulfillment.line_items
        ),
    )
    return [ShipmentCreated(occurred_at=fulfillment.created_at, shipment=shipment)]


_Handler = Callable[[Delivery, SourceContext], list[CanonicalEvent]]
_TOPICS: dict[str, _Handler] = {
    "orders/create": _order_placed,
    "orders/paid": _order_paid,
    "orders/cancelled": _order_cancelled,
    "refunds/create": _refund_created,
    "order_transactions/create": _transaction_created,
    "fulfillments/create": _fulfillment,
    "fulfillments/update": _fulfillment,
}


def _kdv_rate(tax_lines: list[_TaxLine], context: SourceContext) -> Decimal:
    """Shopify gives rates as fractions (0.2); a rate that is not a KDV rate falls back to the tenant's."""
    rate = sum((t.rate for t in tax_lines), Decimal(0)) * 100
    if not tax_lines or rate not in KDV_RATES:
        return context.default_kdv_rate
    return Decimal(int(rate))


def _address(address: _Address) -> Address:
    return Address(
        street=" ".join(p for p in (address.address1, address.address2) if p),
        district=address.province or "",
        city=address.city or address.province or "-",
        postal_code=address.zip or "",
        country_code=address.country_code or "TR",
        country=address.country or "Türkiye",
    )


def _buyer(order: _Order) -> Party:
    attributes = {a.name.strip().lower(): str(a.value or "").strip() for a in order.note_attributes}
    billing = order.billing_address or order.shipping_address or _Address(city="-")
    address = _address(billing)
    tax_id = next((v for k, v in attributes.items() if k in TAX_ID_ATTRIBUTES and v), "")
    if not tax_id:
        tax_id = FOREIGN_BUYER_VKN if address.country_code != "TR" else ANONYMOUS_CONSUMER_TCKN
    customer = order.customer or _Customer()
    first = billing.first_name or customer.first_name or ""
    last = billing.last_name or customer.last_name or ""
    name = billing.company or billing.name or " ".join(p for p in (first, last) if p) or "Nihai Tüketici"
    try:
        return Party(
            name=name,
            tax_id=tax_id,
            tax_office=next((v for k, v in attributes.items() if k in TAX_OFFICE_ATTRIBUTES), ""),
            address=address,
            email=order.email or customer.email,
            phone=billing.phone,
            first_name=first,
            family_name=last,
        )
    except ValidationError as exc:
        raise payload_error_from(exc, "note_attributes") from exc


def _order(order: _Order, delivery: Delivery, context: SourceContext) -> Order:
    try:
        return _canonical_order(order, delivery, context)
    except ValidationError as exc:
        # What the shapes allow but no invoice can carry (a discount above its line …), named by field.
        raise payload_error_from(exc, "order") from exc


def _canonical_order(order: _Order, delivery: Delivery, context: SourceContext) -> Order:
    lines = [
        Line(
            sku=item.sku or str(item.id),
            name=item.name or item.title or str(item.id),
            quantity=item.current_quantity if item.current_quantity is not None else item.quantity,
            unit_price=item.price,
            # discount_allocations carry order-level discounts already spread to lines by Shopify.
            discount=sum((a.amount for a in item.discount_allocations), Decimal(0)) or item.total_discount,
            kdv_rate=_kdv_rate(item.tax_lines, context),
        )
        for item in order.line_items
        if item.current_quantity != 0  # removed by an order edit
    ]
    lines += [
        Line(
            sku="SHIPPING",
            name=shipping.title,
            kind=LineKind.SHIPPING,
            quantity=Decimal(1),
            unit_price=shipping.price,
            discount=sum((a.amount for a in shipping.discount_allocations), Decimal(0)),
            kdv_rate=_kdv_rate(shipping.tax_lines, context),
        )
        for shipping in order.shipping_lines
        if shipping.price > 0
    ]
    gateway = (order.gateway or next(iter(order.payment_gateway_names or []), "") or "").lower()
    website = urlsplit(order.order_status_url).hostname if order.order_status_url else None
    try:
        return Order(
            source="shopify",
            source_ref=str(order.id),
            number=order.name,
            ordered_at=order.created_at,
            currency=order.currency,
            prices_include_tax=order.taxes_included,
            buyer=_buyer(order),
            shipping_address=_address(order.shipping_address) if order.shipping_address else None,
            lines=tuple(lines),
            total_paid=Money(amount=order.total_price, currency=order.currency),
            web_sale=WebSale(
                website=website or delivery.header("x-shopify-shop-domain") or "shopify",
                payment_method=PAYMENT_METHODS.get(gateway, DEFAULT_PAYMENT_METHOD),
                payment_agent=gateway,
                payment_date=order.processed_at or order.created_at,
            ),
        )
    except ValidationError as exc:
        raise payload_error_from(exc) from exc


def _refund_line_amount(item: _RefundLineItem, tax_in_subtotal: bool) -> Decimal:
    """What a returned line is worth, tax included: Shopify's subtotal (+ total_tax unless the shop's prices
    include tax), or (older payloads without them) the line's price less discount plus tax, pro rata."""
    if item.subtotal is not None:
        return item.subtotal + (Decimal(0) if tax_in_subtotal else item.total_tax or Decimal(0))
    line = item.line_item
    share = item.quantity / line.quantity
    tax = sum((t.price for t in line.tax_lines), Decimal(0))
    return (item.quantity * line.price - line.total_discount * share + tax * share).quantize(Decimal("0.01"))


def _refund(refund: _Refund, context: SourceContext) -> Refund:
    paid_back = [t for t in refund.transactions if t.kind == "refund" and t.status in (None, "success")]
    currency = next((t.currency for t in paid_back if t.currency), context.currency)
    # Shipping refunds come as order adjustments of kind shipping_refund, negative amounts.
    adjustments = (a for a in refund.order_adjustments if a.kind == "shipping_refund")
    shipping = sum((-(a.amount + a.tax_amount) for a in adjustments), Decimal(0))
    # The refund does not say whether the shop's prices include tax; its subtotals do when they alone add up
    # to the money paid back.
    paid_back_total = sum((t.amount for t in paid_back), Decimal(0))
    subtotals = sum((i.subtotal or Decimal(0) for i in refund.refund_line_items), Decimal(0))
    taxed = any(i.total_tax for i in refund.refund_line_items)
    tax_in_subtotal = taxed and subtotals + shipping == paid_back_total
    try:
        return Refund(
            source="shopify",
            source_ref=str(refund.id),
            order_ref=str(refund.order_id),
            created_at=refund.created_at,
            amount=Money(amount=paid_back_total, currency=currency),
            lines=tuple(
                RefundLine(
                    sku=item.line_item.sku or str(item.line_item.id),
                    name=item.line_item.name or item.line_item.title or str(item.line_item.id),
                    quantity=item.quantity,
                    amount=_refund_line_amount(item, tax_in_subtotal),
                    kdv_rate=_kdv_rate(item.line_item.tax_lines, context),
                )
                for item in refund.refund_line_items
            ),
            shipping_refund=max(shipping, Decimal(0)),
            reason=refund.note or "",
        )
    except ValidationError as exc:
        raise payload_error_from(exc) from exc


class _PayoutSummary(SenderShape):
    adjustments_fee_amount: Decimal = Decimal(0)
    adjustments_gross_amount: Decimal = Decimal(0)
    charges_fee_amount: Decimal = Decimal(0)
    charges_gross_amount: Decimal = Decimal(0)
    refunds_fee_amount: Decimal = Decimal(0)
    refunds_gross_amount: Decimal = Decimal(0)
    reserved_funds_fee_amount: Decimal = Decimal(0)
    reserved_funds_gross_amount: Decimal = Decimal(0)
    retried_payouts_fee_amount: Decimal = Decimal(0)
    retried_payouts_gross_amount: Decimal = Decimal(0)


class _Payout(SenderShape):
    id: int
    status: str
    date: date
    currency: str
    amount: Decimal = Field(ge=0, le=10**12)
    summary: _PayoutSummary = _PayoutSummary()


def payout_paid(body: Any) -> list[CanonicalEvent]:
    """A Shopify Payments payout (Admin API `payouts/{id}`, https://shopify.dev/docs/api/admin-rest/latest/
    resources/payouts) as PayoutPaid, gross and fees from its summary so that gross − fees = amount.

    Shopify sends no webhook for payouts: a scheduled pull calls this; a payout not yet `paid` yields nothing.
    """
    payout = validate_shape(_Payout, body)
    if payout.status != "paid":
        return []
    summary = payout.summary
    gross = sum((v for k, v in summary if k.endswith("_gross_amount")), Decimal(0))
    fees = sum((v for k, v in summary if k.endswith("_fee_amount")), Decimal(0))
    paid_at = datetime.combine(payout.date, time(0), tzinfo=UTC)
    try:
        canonical = Payout(
            source="shopify",
            source_ref=str(payout.id),
            paid_at=paid_at,
            amount=Money(amount=payout.amount, currency=payout.currency),
            gross=Money(amount=gross, currency=payout.currency),
            fees=Money(amount=fees, currency=payout.currency),
        )
    except ValidationError as exc:
        raise payload_error_from(exc) from exc
    return [PayoutPaid(occurred_at=paid_at, payout=canonical)]
