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
  the items shipped; Pending and a buyer's cancel *request* yield no event of their own.
- TRANSACTION_UPDATE (Finances): TransactionType Shipment → PaymentCaptured of TotalAmount for the OrderId in
  RelatedIdentifiers; Refund → RefundCreated of its absolute amount; Transfer → PayoutPaid. Other types (fees,
  adjustments) yield no event.

The pull (`complete`, the mapper only): an ORDER_CHANGE whose status says Amazon holds the payment — Unshipped
("Payment has been authorized and order is ready for shipment"), PartiallyShipped, Shipped, InvoiceUnconfirmed
(Order.OrderStatus in amzn/selling-partner-api-models models/orders-api-model/ordersV0.json) — is completed with
OrderPaid, the sales invoice, read from the Orders API v0 (`_OrdersApi` below). A Shipped notification may be
the first we see of an order (a lost or never-subscribed Unshipped one), so it invoices too; the invoice is
keyed `amazon:<AmazonOrderId>` whichever notification made it, so the mapper's conditional put makes it once,
and the order read for the first notification is kept in the tenant's cache (30 days), so the next ones cost
no API call. A cancel request (IsBuyerRequestedCancel) on an unshipped order does not invoice it, nor does an
order that the API says is no longer paid (cancelled since the notification).

Secret (Secrets Manager SecretString): JSON `{"seller_id": "A3…"}`, optionally with `"application_id"` (binds
notifications to the tenant). The pull reads another, `<prefix>/<tenant>/sender-apis/amazon`: `client_id`,
`client_secret` (the app's LWA credentials) and `refresh_token` (the seller's authorisation; LWA refresh tokens
do not rotate).
Options (`sources.amazon.options`): `token_url` (default https://api.amazon.com/auth/o2/token; a relative URL is
taken against `api_url`, which defaults to the EU endpoint that serves amazon.com.tr).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from pydantic import Field, ValidationError

from mutabik.model import (
    KURUS,
    Line,
    LineKind,
    Money,
    Order,
    OrderCancelled,
    OrderPaid,
    Payment,
    PaymentCaptured,
    Payout,
    PayoutPaid,
    Refund,
    RefundCreated,
    Shipment,
    ShipmentCreated,
    ShipmentLine,
    WebSale,
)
from mutabik.model.events import CanonicalEvent
from mutabik.providers._http import classify, request
from mutabik.providers._http import retry_after as retry_after_header
from mutabik.providers._oauth import Token, TokenMemo
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError
from mutabik.sources._common import address, buyer, kdv_rate_of
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

if TYPE_CHECKING:
    from mutabik.sources._api import SenderApi

__all__ = ["LWA_TOKEN_URL", "PARTNER_SOURCE_PREFIX", "PRODUCTION_URL", "AmazonSource", "seller_of"]

#: EventBridge `source` of SP-API's partner event sources (aws.partner/sellingpartnerapi.amazon/<application>).
PARTNER_SOURCE_PREFIX = "aws.partner/sellingpartnerapi.amazon"
#: SP-API's Europe endpoint, which serves Türkiye (amazon.com.tr) with the other European marketplaces
#: (https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints).
PRODUCTION_URL = "https://sellingpartnerapi-eu.amazon.com"
#: Login with Amazon's token endpoint, for every region
#: (https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api, step 1).
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # noqa: S105 (a URL, not a secret)
#: Order statuses in which Amazon has authorised the payment (ordersV0.json, Order.OrderStatus): the order is
#: invoiced. Pending / PendingAvailability are not paid yet; Canceled and Unfulfillable never will be.
PAID_STATUSES = frozenset({"Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed"})
#: getOrderItems pages followed at most (NextToken): far more items than any order has.
MAX_ITEM_PAGES = 10
#: How long an order read from the API stands in for the next notifications of the same order.
ORDER_CACHE_TTL = timedelta(days=30)


class _Metadata(SenderShape):
    ApplicationId: str = ""
    NotificationId: str = Field(min_length=1, max_length=200)
    PublishTime: datetime | None = None


class _OrderItem(SenderShape):
    OrderItemId: str = ""
    SellerSKU: str = ""
    Quantity: int = Field(default=0, ge=0, le=10**6)
    QuantityShipped: int = Field(default=0, ge=0, le=10**6)
    IsBuyerRequestedCancel: bool = False


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
    #: ORDER_CHANGE carries no amounts: the sales invoice is read from the Orders API (`complete`).
    pulls = True

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

    def complete(
        self, delivery: Delivery, events: list[CanonicalEvent], api: SenderApi, context: SourceContext
    ) -> list[CanonicalEvent]:
        """OrderPaid, read from the Orders API, before the events of an ORDER_CHANGE that says the order is
        paid (module docstring); every other delivery as it is, with no API call."""
        notification = _notification(delivery)
        change = notification.Payload.OrderChangeNotification
        if notification.NotificationType != "ORDER_CHANGE" or change is None or not _invoices(change):
            return events
        order = _paid_order(change.AmazonOrderId, api, context)
        if order is None:
            return events
        return [OrderPaid(occurred_at=notification.EventTime, order=order), *events]


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


# --- the pull: Orders API v0 -------------------------------------------------------------------------------


def _invoices(change: _OrderChange) -> bool:
    """Whether this ORDER_CHANGE asks for the sales invoice: Amazon holds the payment, and the buyer has not
    asked to cancel what is still unshipped (the seller will cancel it, or ship it and we invoice then)."""
    status = change.Summary.OrderStatus
    if status not in PAID_STATUSES:
        return False
    cancel_requested = any(item.IsBuyerRequestedCancel for item in change.Summary.OrderItems)
    return status == "Shipped" or not cancel_requested


def _paid_order(order_id: str, api: SenderApi, context: SourceContext) -> Order | None:
    """The canonical order, from the tenant's cache or the API; None when the API says it is not paid (any
    more). Only paid orders are cached: they are what later notifications of the order reuse."""
    cached = api.cache.get("orders", order_id) if api.cache is not None else None
    if cached is not None:
        try:
            return Order.model_validate(cached)
        except ValidationError:
            pass  # written by an older release: read the order again
    orders = _OrdersApi(api)
    found = orders.order(order_id)
    if found.OrderStatus not in PAID_STATUSES:
        return None
    order = _order(found, orders.items(order_id), context)
    if api.cache is not None:
        api.cache.put("orders", order_id, order.model_dump(mode="json"), ttl=ORDER_CACHE_TTL)
    return order


class _Money(SenderShape):
    CurrencyCode: str = Field(min_length=3, max_length=3)
    Amount: Decimal = Field(ge=-(10**12), le=10**12)


class _ApiOrder(SenderShape):
    """getOrder's payload, the fields an invoice needs (ordersV0.json, Order)."""

    AmazonOrderId: str = Field(min_length=1, max_length=100)
    PurchaseDate: datetime
    OrderStatus: str = Field(min_length=1, max_length=50)
    OrderTotal: _Money | None = None
    MarketplaceId: str = Field(default="", max_length=50)


class _ApiItem(SenderShape):
    """One of getOrderItems' OrderItems (ordersV0.json, OrderItem). Amounts are for the whole quantity."""

    OrderItemId: str = Field(min_length=1, max_length=100)
    ASIN: str = Field(default="", max_length=50)
    SellerSKU: str = Field(default="", max_length=200)
    Title: str = Field(default="", max_length=2000)
    QuantityOrdered: int = Field(ge=0, le=10**6)
    ItemPrice: _Money | None = None
    ItemTax: _Money | None = None
    PromotionDiscount: _Money | None = None
    ShippingPrice: _Money | None = None
    ShippingTax: _Money | None = None
    ShippingDiscount: _Money | None = None


class _OrderAnswer(SenderShape):
    payload: _ApiOrder


class _ItemsPage(SenderShape):
    AmazonOrderId: str = Field(min_length=1, max_length=100)
    OrderItems: list[_ApiItem] = Field(max_length=1000)
    NextToken: str = Field(default="", max_length=10_000)


class _ItemsAnswer(SenderShape):
    payload: _ItemsPage


#: Access tokens by app, seller authorisation and token endpoint, for the life of the container: an LWA token
#: lasts an hour, and the refresh token that makes it never rotates, so threads may refresh side by side.
_TOKENS = TokenMemo()


class _OrdersApi:
    """The seller's Orders API v0 with an LWA access token (header `x-amz-access-token`; SigV4 signing is no
    longer required, https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api).

    - getOrder `GET /orders/v0/orders/{orderId}` and getOrderItems `GET /orders/v0/orders/{orderId}/orderItems`
      (NextToken pages, at most MAX_ITEM_PAGES), ordersV0.json. Both are rate-limited per seller and app
      (0.5 requests/s, burst 30 by default): a 429 is RetryableProviderError after Retry-After if given, else
      one token's time at the `x-amzn-RateLimit-Limit` rate the answer states
      (https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits).
    - 401/403 (SP-API answers 403 "Unauthorized" to an expired or revoked token): one new token and one more
      try; refused again, PermanentProviderError with Amazon's words (the app lacks the role, or the seller
      revoked it). 404: the order is unknown to this seller. 5xx, timeouts: RetryableProviderError.
    - The token: `POST` the form `grant_type=refresh_token, refresh_token, client_id, client_secret` to LWA;
      `{"access_token", "expires_in"}` back. `invalid_grant` means the seller must authorise the app again.
    """

    def __init__(self, api: SenderApi) -> None:
        self.credentials = api.credentials("client_id", "client_secret", "refresh_token")
        self.secret_name = api.secret_name
        self.token_url = api.option("token_url", LWA_TOKEN_URL)
        self.client = api.client(default_url=PRODUCTION_URL)
        digest = hashlib.sha256(
            "\n".join((self.token_url, self.credentials["client_id"], self.credentials["refresh_token"])).encode()
        ).hexdigest()
        self.memo_key = f"amazon/{digest}"

    def order(self, order_id: str) -> _ApiOrder:
        body = self._get("getOrder", f"/orders/v0/orders/{quote(order_id, safe='')}", {})
        found = validate_shape(_OrderAnswer, body, "getOrder").payload
        if found.AmazonOrderId != order_id:
            raise PayloadError("getOrder answered for another order", "getOrder.payload.AmazonOrderId")
        return found

    def items(self, order_id: str) -> list[_ApiItem]:
        path = f"/orders/v0/orders/{quote(order_id, safe='')}/orderItems"
        items: list[_ApiItem] = []
        params: dict[str, str] = {}
        for _ in range(MAX_ITEM_PAGES):
            page = validate_shape(_ItemsAnswer, self._get("getOrderItems", path, params), "getOrderItems").payload
            items += page.OrderItems
            if not page.NextToken:
                return items
            params = {"NextToken": page.NextToken}
        raise PayloadError(f"more than {MAX_ITEM_PAGES} pages of items", "getOrderItems.payload.NextToken")

    # --- HTTP ----------------------------------------------------------------------------------------------

    def _get(self, operation: str, path: str, params: dict[str, str]) -> Any:
        token = self._access_token()
        response = self._send(path, params, token)
        if response.status_code in (401, 403):
            response = self._send(path, params, self._access_token(stale=token))
        if response.status_code == 429:
            raise RetryableProviderError(
                f"amazon answered 429 to {operation}: {_errors(response)}",
                provider="amazon",
                status_code=429,
                retry_after=_rate_limit_wait(response),
            )
        classify(response, "amazon", lambda answer: f"{operation}: {_errors(answer)}")
        try:
            return response.json(parse_float=Decimal)
        except ValueError as exc:
            raise PayloadError("the answer is not JSON", operation) from exc

    def _send(self, path: str, params: dict[str, str], token: str) -> httpx.Response:
        headers = {"x-amz-access-token": token, "accept": "application/json", "user-agent": "mutabik/1.0"}
        return request(self.client, "amazon", "GET", path, params=params, headers=headers)

    def _access_token(self, stale: str = "") -> str:
        """A token this container holds, or a new one from LWA (never `stale`, one the API refused)."""
        token = _TOKENS.get(self.memo_key)
        if token is not None and token.access_token != stale and token.usable(time.time()):
            return token.access_token
        with _TOKENS.lock(self.memo_key):
            token = _TOKENS.get(self.memo_key)
            if token is not None and token.access_token != stale and token.usable(time.time()):
                return token.access_token  # another thread got one meanwhile
            token = self._grant()
            _TOKENS.put(self.memo_key, token)
            return token.access_token

    def _grant(self) -> Token:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.credentials["refresh_token"],
            "client_id": self.credentials["client_id"],
            "client_secret": self.credentials["client_secret"],
        }
        sent = time.time()
        response = request(
            self.client, "amazon", "POST", self.token_url, data=form, headers={"accept": "application/json"}
        )
        try:
            classify(response, "amazon", _lwa_error)
        except PermanentProviderError as exc:
            raise PermanentProviderError(
                f"Login with Amazon refused the credentials in {self.secret_name} ({exc}): the seller must "
                "authorise the app again, and the new refresh token be stored there",
                provider="amazon",
                status_code=exc.status_code,
            ) from exc
        try:
            body = response.json()
            access, lifetime = str(body["access_token"]), float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise PayloadError("the LWA token answer has no access_token", "access_token") from exc
        if not access:
            raise PayloadError("the LWA token answer has an empty access_token", "access_token")
        return Token(access_token=access, expires_at=sent + lifetime)


def _errors(response: httpx.Response) -> str:
    """SP-API's own words: `{"errors": [{"code", "message", "details"}]}` (ordersV0.json, ErrorList)."""
    try:
        errors = response.json().get("errors") or []
        return (
            "; ".join(
                ": ".join(str(e[k]) for k in ("code", "message", "details") if isinstance(e, dict) and e.get(k))
                for e in errors
            )[:1000]
            or response.reason_phrase
        )
    except (ValueError, AttributeError, TypeError):
        return response.reason_phrase


def _lwa_error(response: httpx.Response) -> str:
    """LWA's OAuth2 error: `{"error", "error_description"}`."""
    try:
        body = response.json()
        return f"{body.get('error', '')}: {body.get('error_description', '')}".strip(": ")[:500]
    except (ValueError, AttributeError):
        return response.reason_phrase


def _rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds until the next request may pass: Retry-After if SP-API sends one, else the time the token bucket
    takes to refill one request at the rate `x-amzn-RateLimit-Limit` states (requests per second)."""
    stated = retry_after_header(response)
    if stated is not None:
        return stated
    try:
        rate = float(response.headers.get("x-amzn-ratelimit-limit", ""))
    except ValueError:
        return None
    return 1 / rate if 0 < rate < float("inf") else None


@dataclass(frozen=True)
class _Marketplace:
    country: str  # ISO 3166-1 alpha-2 of the buyers it serves
    website: str  # for e-Arşiv's İnternet Satış Bilgileri
    #: ItemPrice includes the VAT (ItemTax is the part of it that is tax) everywhere but the US and Canada,
    #: whose prices are before sales tax (the Orders API in VAT and consumption-tax marketplaces gives
    #: "tax inclusive prices and tax amounts").
    prices_include_tax: bool = True


#: MarketplaceId → marketplace (https://developer-docs.amazon.com/sp-api/docs/marketplace-ids).
_MARKETPLACES: dict[str, _Marketplace] = {
    "A33AVAJ2PDY3EV": _Marketplace("TR", "www.amazon.com.tr"),
    "A28R8C7NBKEWEA": _Marketplace("IE", "www.amazon.ie"),
    "A1RKKUPIHCS9HS": _Marketplace("ES", "www.amazon.es"),
    "A1F83G8C2ARO7P": _Marketplace("GB", "www.amazon.co.uk"),
    "A13V1IB3VIYZZH": _Marketplace("FR", "www.amazon.fr"),
    "AMEN7PMS3EDWL": _Marketplace("BE", "www.amazon.com.be"),
    "A1805IZSGTT6HS": _Marketplace("NL", "www.amazon.nl"),
    "A1PA6795UKMFR9": _Marketplace("DE", "www.amazon.de"),
    "APJ6JRA9NG5V4": _Marketplace("IT", "www.amazon.it"),
    "A2NODRKZP88ZB9": _Marketplace("SE", "www.amazon.se"),
    "AE08WJ6YKNBMC": _Marketplace("ZA", "www.amazon.co.za"),
    "A1C3SOZRARQ6R3": _Marketplace("PL", "www.amazon.pl"),
    "ARBP9OOSHTCHU": _Marketplace("EG", "www.amazon.eg"),
    "A17E79C6D8DWNP": _Marketplace("SA", "www.amazon.sa"),
    "A2VIGQ35RCS4UG": _Marketplace("AE", "www.amazon.ae"),
    "A21TJRUUN4KGV": _Marketplace("IN", "www.amazon.in"),
    "A2EUQ1WTGCTBG2": _Marketplace("CA", "www.amazon.ca", prices_include_tax=False),
    "ATVPDKIKX0DER": _Marketplace("US", "www.amazon.com", prices_include_tax=False),
    "A1AM78C64UM0Y8": _Marketplace("MX", "www.amazon.com.mx"),
    "A2Q3Y263D00KWC": _Marketplace("BR", "www.amazon.com.br"),
    "A19VAU5U5O7RUS": _Marketplace("SG", "www.amazon.sg"),
    "A39IBJ37TRP1C6": _Marketplace("AU", "www.amazon.com.au"),
    "A1VC38T7YXB528": _Marketplace("JP", "www.amazon.co.jp"),
}


class _Amounts:
    """An order's amounts in its one currency; a Money in another currency is an answer we cannot read."""

    def __init__(self, currency: str) -> None:
        self.currency = currency

    def __call__(self, money: _Money | None, path: str) -> Decimal:
        if money is None:
            return Decimal(0)
        if money.CurrencyCode.upper() != self.currency:
            raise PayloadError(f"{money.CurrencyCode} in an order in {self.currency}", f"{path}.CurrencyCode")
        return money.Amount


def _rate(tax: Decimal, amount: Decimal, inclusive: bool, default: Decimal) -> Decimal:
    """The KDV rate ItemTax/ShippingTax says; the tenant's default when Amazon computed none (EU sellers
    without Amazon's VAT calculation service get 0.00 there, which is not a 0 % rate)."""
    if tax <= 0 or amount <= 0:
        return default
    return kdv_rate_of(tax, amount - tax if inclusive else amount, default)


def _order(found: _ApiOrder, items: list[_ApiItem], context: SourceContext) -> Order:
    """The canonical order: one line per item (ItemPrice is for the whole quantity; PromotionDiscount its
    discount), one shipping line for the items' ShippingPrice less ShippingDiscount, and OrderTotal as what the
    buyer paid — checked against the lines, so an order whose lines do not add up is refused here, named, rather
    than at the integrator.

    The buyer: Amazon gives the buyer's name, address and tax id only with a Restricted Data Token, which this
    pull does not ask for (no PII leaves Amazon for it). The invoice goes to a final consumer — GİB's
    11111111111 "Nihai Tüketici" for amazon.com.tr, the foreign-buyer 2222222222 elsewhere — with the
    marketplace's country, which is what e-Arşiv allows for internet sales to consumers. An Amazon Business
    buyer's VKN is therefore not on the invoice either."""
    marketplace = _MARKETPLACES.get(found.MarketplaceId)
    if marketplace is None:
        raise PayloadError(f"unknown MarketplaceId {found.MarketplaceId[:50]!r}", "getOrder.payload.MarketplaceId")
    if found.OrderTotal is None:
        raise PayloadError("a paid order has an OrderTotal", "getOrder.payload.OrderTotal")
    currency = found.OrderTotal.CurrencyCode.upper()
    amount = _Amounts(currency)
    inclusive, default = marketplace.prices_include_tax, context.default_kdv_rate
    lines: list[Line] = []
    shipping = shipping_discount = shipping_tax = Decimal(0)
    try:
        for n, item in enumerate(items):
            path = f"getOrderItems.payload.OrderItems.{n}"
            shipping += amount(item.ShippingPrice, f"{path}.ShippingPrice")
            shipping_discount += amount(item.ShippingDiscount, f"{path}.ShippingDiscount")
            shipping_tax += amount(item.ShippingTax, f"{path}.ShippingTax")
            if item.QuantityOrdered == 0:
                continue  # an item cancelled before the order was paid
            price = amount(item.ItemPrice, f"{path}.ItemPrice")
            unit_price = price / item.QuantityOrdered
            discount = amount(item.PromotionDiscount, f"{path}.PromotionDiscount")
            lines.append(
                Line(
                    sku=item.SellerSKU or item.ASIN,
                    name=item.Title or item.SellerSKU or item.ASIN or "Ürün",
                    quantity=Decimal(item.QuantityOrdered),
                    unit_price=unit_price,
                    # ItemPrice/quantity may not divide evenly: the discount is capped at the line it reduces.
                    discount=min(discount, unit_price * item.QuantityOrdered),
                    kdv_rate=_rate(amount(item.ItemTax, f"{path}.ItemTax"), price, inclusive, default),
                )
            )
        if shipping > 0:
            lines.append(
                Line(
                    name="Kargo",
                    kind=LineKind.SHIPPING,
                    quantity=Decimal(1),
                    unit_price=shipping,
                    discount=min(shipping_discount, shipping),
                    kdv_rate=_rate(shipping_tax, shipping, inclusive, default),
                )
            )
    except ValidationError as exc:
        raise payload_error_from(exc, "getOrderItems.payload.OrderItems") from exc
    if not lines:
        raise PayloadError("the order has no item to invoice", "getOrderItems.payload.OrderItems")
    total = found.OrderTotal.Amount
    if inclusive:
        # What decompose() will ask of the invoice, asked now: the lines must come to what the buyer paid.
        charged = sum((line.gross for line in lines), Decimal(0))
        if abs(charged - total) > KURUS * (len(lines) + 1):
            raise PayloadError(
                f"the items come to {charged.quantize(KURUS)} but OrderTotal is {total} (gift wrap and COD fees "
                "are not in getOrderItems)",
                "getOrder.payload.OrderTotal",
            )
    purchased = found.PurchaseDate
    consumer = buyer(
        name="",
        tax_id="",
        address=address(country_code=marketplace.country, path="getOrder.payload.MarketplaceId"),
        path="getOrder.payload",
    )
    try:
        return Order(
            source="amazon",
            source_ref=found.AmazonOrderId,
            number=found.AmazonOrderId,
            ordered_at=purchased,
            currency=currency,
            prices_include_tax=inclusive,
            buyer=consumer,
            lines=tuple(lines),
            total_paid=Money(amount=total, currency=currency),
            web_sale=WebSale(
                website=marketplace.website,
                payment_method="ODEMEARACISI",
                payment_agent="Amazon",
                payment_date=purchased,
            ),
        )
    except ValidationError as exc:
        raise payload_error_from(exc, "getOrder.payload") from exc
