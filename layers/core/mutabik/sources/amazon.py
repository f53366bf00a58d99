"""Amazon SP-API notifications (ORDER_CHANGE, TRANSACTION_UPDATE) from EventBridge into canonical events.

Amazon does not call our webhook. SP-API delivers notifications to a destination in our AWS account
(https://developer-docs.amazon.com/sp-api/docs/notifications-api-v1-use-case-guide): an EventBridge partner
event source, whose bus a rule in template.yaml forwards to the ingest queue (`AmazonEventBusName`), or an
SQS queue, for which the template lets SP-API's account write to the ingest queue (`AmazonSqsNotifications`;
Amazon's docs list ORDER_CHANGE under the SQS workflow, https://developer-docs.amazon.com/sp-api/docs/
set-up-notifications-with-amazon-sqs). The message is the EventBridge event (its `detail` is the
notification) or the bare notification; both are taken (`recognises`).

Verification is AWS's: only Amazon can put events on the partner event source or send as its account, and
only our rule and queue policy, under IAM, let them onto the queue; there is no signature to check. No URL
names the tenant: the mapper finds it by the seller (`account`: `SellerId` / `SellingPartnerId`), through the
seller → tenant registry (mutabik.pipeline.intake.register_account). `verify` binds a notification to a
tenant's secret (the seller, and the application when the secret names one) for callers that hold it. The
delivery id is `NotificationMetadata.NotificationId`, the same for every redelivery of one notification.

Notifications (schemas and examples in ../shared/payloads/amazon-sp-api;
https://developer-docs.amazon.com/sp-api/docs/notification-type-values):
- ORDER_CHANGE carries statuses, not prices: OrderStatus Canceled → OrderCancelled; Shipped → ShipmentCreated of
  the items shipped; anything else (Pending, Unshipped, a buyer's cancel *request*) yields no event. The order's
  amounts come from getOrder / getOrderItems with the seller's LWA token: a pull, not this module.
- TRANSACTION_UPDATE (Finances): TransactionType Shipment → PaymentCaptured of TotalAmount for the OrderId in
  RelatedIdentifiers; Refund → RefundCreated of its absolute amount; Transfer → PayoutPaid. Other types (fees,
  adjustments) yield no event.

Secret (Secrets Manager SecretString): JSON `{"seller_id": "A3…"}`, optionally with `"application_id"`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field, ValidationError

from mutabik.model import (
    Money,
    OrderCancelled,
    Payment,
    PaymentCaptured,
    Payout,
    PayoutPaid,
    Refund,
    RefundCreated,
    Shipment,
    ShipmentCreated,
    ShipmentLine,
)
from mutabik.model.events import CanonicalEvent
from mutabik.sources.base import (
    Delivery,
    SenderShape,
    SourceContext,
    WebhookSource,
    constant_time_equal,
    json_secret,
    payload_error_from,
    validate_shape,
    with_headers,
)
from mutabik.sources.exceptions import PayloadError, SignatureError

__all__ = ["PARTNER_SOURCE_PREFIX", "AmazonSource", "seller_of"]

#: EventBridge `source` of SP-API's partner event sources (aws.partner/sellingpartnerapi.amazon/<application>).
PARTNER_SOURCE_PREFIX = "aws.partner/sellingpartnerapi.amazon"


class _Metadata(SenderShape):
    ApplicationId: str = ""
    NotificationId: str = Field(min_length=1, max_length=200)
    PublishTime: datetime | None = None


class _OrderItem(SenderShape):
    OrderItemId: str = ""
    SellerSKU: str = ""
    Quantity: int = Field(default=0, ge=0, le=10**6)
    QuantityShipped: int = Field(default=0, ge=0, le=10**6)


class _Summary(SenderShape):
    OrderStatus: str = ""
    OrderItems: list[_OrderItem] = Field(default_factory=list)


class _OrderChange(SenderShape):
    SellerId: str = Field(min_length=1, max_length=100)
    AmazonOrderId: str = Field(min_length=1, max_length=100)
    OrderChangeType: str = ""
    Summary: _Summary = _Summary()


class _Amount(SenderShape):
    CurrencyAmount: Decimal = Field(ge=-(10**12), le=10**12)
    CurrencyCode: str = Field(min_length=3, max_length=3)


class _Identifier(SenderShape):
    RelatedIdentifierName: str = ""
    RelatedIdentifierValue: str = ""


class _Partner(SenderShape):
    SellingPartnerId: str = Field(min_length=1, max_length=100)


class _TransactionUpdate(SenderShape):
    SellingPartnerMetadata: _Partner
    RelatedIdentifiers: list[_Identifier] = Field(default_factory=list)
    TransactionType: str = ""
    PostedDate: datetime
    TotalAmount: _Amount


class _Payload(SenderShape):
    OrderChangeNotification: _OrderChange | None = None
    TransactionUpdateNotification: _TransactionUpdate | None = None


class _Notification(SenderShape):
    NotificationType: str = Field(min_length=1, max_length=100)
    EventTime: datetime
    Payload: _Payload
    NotificationMetadata: _Metadata


class AmazonSource(WebhookSource):
    name = "amazon"
    #: Arrives from EventBridge through the ingest queue, never over HTTP.
    http = False

    def verify(self, delivery: Delivery, secret: str) -> None:
        expected = json_secret(secret, "seller_id")
        try:
            notification = _notification(delivery)
        except PayloadError as exc:
            raise SignatureError("the notification cannot be read to check its seller") from exc
        if not constant_time_equal(expected["seller_id"], _seller(notification)):
            raise SignatureError("the notification is for another seller than the tenant's")
        application = expected.get("application_id")
        if application and not constant_time_equal(application, notification.NotificationMetadata.ApplicationId):
            raise SignatureError("the notification is for another application than the tenant's")

    def delivery_id(self, delivery: Delivery) -> str:
        return _notification(delivery).NotificationMetadata.NotificationId

    def topic(self, delivery: Delivery) -> str:
        try:
            return _notification(delivery).NotificationType
        except PayloadError:
            return ""

    def sign(self, delivery: Delivery, secret: str) -> Delivery:
        return with_headers(delivery, {})  # nothing to sign: AWS IAM stands behind the queue

    def recognises(self, message: Any) -> bool:
        """An EventBridge event from an SP-API partner event source, or a bare notification (SQS workflow)."""
        if not isinstance(message, dict):
            return False
        if {"detail-type", "source", "detail"} <= message.keys():
            return str(message["source"]).startswith(PARTNER_SOURCE_PREFIX)
        return "NotificationType" in message and "NotificationMetadata" in message

    def account(self, delivery: Delivery) -> str:
        return seller_of(delivery)

    def parse(self, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
        notification = _notification(delivery)
        handler = _NOTIFICATION_TYPES.get(notification.NotificationType)
        return handler(notification) if handler else []


def seller_of(delivery: Delivery) -> str:
    """The seller a notification is for: how the ingest side finds the tenant of an EventBridge event."""
    return _seller(_notification(delivery))


def _notification(delivery: Delivery) -> _Notification:
    body: Any = delivery.json()
    if isinstance(body, dict) and "detail" in body and "NotificationType" not in body:
        return validate_shape(_Notification, body["detail"], "detail")
    return validate_shape(_Notification, body)


def _seller(notification: _Notification) -> str:
    payload = notification.Payload
    if payload.OrderChangeNotification is not None:
        return payload.OrderChangeNotification.SellerId
    if payload.TransactionUpdateNotification is not None:
        return payload.TransactionUpdateNotification.SellingPartnerMetadata.SellingPartnerId
    raise PayloadError("the payload names no seller", "Payload")


def _order_change(notification: _Notification) -> list[CanonicalEvent]:
    change = notification.Payload.OrderChangeNotification
    if change is None:
        raise PayloadError("Field required", "Payload.OrderChangeNotification")
    status = change.Summary.OrderStatus.lower()
    at = notification.EventTime
    if status in ("canceled", "cancelled"):
        return [OrderCancelled(occurred_at=at, source="amazon", order_ref=change.AmazonOrderId)]
    if status == "shipped":
        try:
            shipment = Shipment(
                source="amazon",
                source_ref=f"{change.AmazonOrderId}:shipped",
                order_ref=change.AmazonOrderId,
                shipped_at=at,
                lines=tuple(
                    ShipmentLine(
                        sku=item.SellerSKU, name=item.SellerSKU or item.OrderItemId or "Ürün", quantity=shipped
                    )
                    for item in change.Summary.OrderItems
                    if (shipped := item.QuantityShipped or item.Quantity) > 0
                ),
            )
        except ValidationError as exc:
            raise payload_error_from(exc, "Payload.OrderChangeNotification.Summary.OrderItems") from exc
        return [ShipmentCreated(occurred_at=at, shipment=shipment)]
    return []


def _transaction(notification: _Notification) -> list[CanonicalEvent]:
    update = notification.Payload.TransactionUpdateNotification
    if update is None:
        raise PayloadError("Field required", "Payload.TransactionUpdateNotification")
    handler = _TRANSACTION_TYPES.get(update.TransactionType.lower())
    return [handler(update, notification.NotificationMetadata.NotificationId)] if handler else []


def _order_id(update: _TransactionUpdate) -> str:
    return next(
        (i.RelatedIdentifierValue for i in update.RelatedIdentifiers if i.RelatedIdentifierName == "OrderId"), ""
    )


def _money(update: _TransactionUpdate) -> Money:
    try:
        return Money(amount=abs(update.TotalAmount.CurrencyAmount), currency=update.TotalAmount.CurrencyCode)
    except ValidationError as exc:
        raise payload_error_from(exc, "Payload.TransactionUpdateNotification.TotalAmount") from exc


def _sale(update: _TransactionUpdate, ref: str) -> CanonicalEvent:
    payment = Payment(
        source="amazon",
        source_ref=ref,
        order_ref=_order_id(update),
        captured_at=update.PostedDate,
        amount=_money(update),
    )
    return PaymentCaptured(occurred_at=update.PostedDate, payment=payment)


def _refund(update: _TransactionUpdate, ref: str) -> CanonicalEvent:
    order = _order_id(update)
    if not order:
        raise PayloadError("a refund names its OrderId", "Payload.TransactionUpdateNotification.RelatedIdentifiers")
    refund = Refund(
        source="amazon", source_ref=ref, order_ref=order, created_at=update.PostedDate, amount=_money(update)
    )
    return RefundCreated(occurred_at=update.PostedDate, refund=refund)


def _transfer(update: _TransactionUpdate, ref: str) -> CanonicalEvent:
    payout = Payout(source="amazon", source_ref=ref, paid_at=update.PostedDate, amount=_money(update))
    return PayoutPaid(occurred_at=update.PostedDate, payout=payout)


#: Finances TransactionType (lower-cased) → canonical event.
_TRANSACTION_TYPES: dict[str, Callable[[_TransactionUpdate, str], CanonicalEvent]] = {
    "shipment": _sale,
    "refund": _refund,
    "transfer": _transfer,
}
_NOTIFICATION_TYPES: dict[str, Callable[[_Notification], list[CanonicalEvent]]] = {
    "ORDER_CHANGE": _order_change,
    "TRANSACTION_UPDATE": _transaction,
}
