"""Etsy webhooks: Standard Webhooks signatures, order notifications into canonical events.

Etsy signs with the Standard Webhooks scheme (https://developers.etsy.com/documentation/essentials/webhooks,
https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md): the signed
content is `{webhook-id}.{webhook-timestamp}.{raw body}`, the key is the base64 part of the endpoint's
`whsec_…` secret, and `webhook-signature` is a space-separated list of `v1,<base64 HMAC-SHA256>` (several while
a secret rolls; any one may match). A timestamp more than 5 minutes from now is refused. `webhook-id` is the
same on every retry and is our dedupe key.

Events: Etsy sends a thin notification `{"event_type": "order.paid", "resource_url": ".../shops/{shop_id}/
receipts/{receipt_id}", "shop_id": …}` (the docs' older form says `ORDER_PAID` and nests a `data` object).
- order.canceled → OrderCancelled for the receipt named in `resource_url` (the id is all a cancellation needs:
  never a pull);
- order.shipped → ShipmentCreated for that receipt, its lines the receipt's transactions and its carrier the
  receipt's last shipment; a despatch advice needs lines, so a thin order.shipped is completed by a pull;
- order.paid → OrderPaid from the receipt: the one the delivery carries (`data` with a ShopReceipt), else the
  one `complete` reads from Etsy (below). Both go through one model and one mapping: identical events;
- order.delivered and anything else: taken without events.

Receipt amounts are `{amount, divisor, currency_code}`. Lines are the transactions at their price; the order
is what the buyer paid the seller: grand total less the sales tax / VAT that Etsy collects and remits itself.

Secret (Secrets Manager SecretString): the endpoint's signing secret as Etsy shows it, `whsec_<base64>`.

The pull (`complete`, in the mapper only; a delivery that carries its receipt, and every cancellation, costs no
call): GET {api}/v3/application/shops/{shop_id}/receipts/{receipt_id} (getShopReceipt, OAuth scope
`transactions_r`, https://developers.etsy.com/documentation/reference#operation/getShopReceipt). The ids come
from the delivery's `resource_url`, which is only taken on Etsy's API hosts (api.etsy.com, openapi.etsy.com) or
the tenant's own `api_url`: the URL is never requested as given, the path is rebuilt from the two ids.
- Headers (https://developers.etsy.com/documentation/essentials/requests): `x-api-key: <keystring>:<shared
  secret>` (since early 2026 Etsy refuses the bare keystring with 403 "Shared secret is required in x-api-key
  header.") and `Authorization: Bearer <access token>`.
- Tokens (https://developers.etsy.com/documentation/essentials/authentication): access tokens last an hour;
  POST {api}/v3/public/oauth/token with grant_type=refresh_token, client_id, refresh_token. Etsy answers with a
  NEW refresh token every time (github.com/etsy/open-api/issues/353), and a spent or revoked one is refused with
  `invalid_grant` "refresh_token is revoked": so the refresh runs under a lease and the new tokens are written
  back to the secret before use (providers/_oauth.py).
- Rate limits (https://developers.etsy.com/documentation/essentials/rate-limits): per second and per sliding
  24 h, per API key; beyond them 429 (with Retry-After when Etsy sends one) → RetryableProviderError, like
  5xx and network failures. 404 (the shop has no such receipt) and other 4xx → PermanentProviderError.
- Secret `<prefix>/<tenant>/sender-apis/etsy` (JSON): `client_id` (the app's keystring), `client_secret` (its
  shared secret), `refresh_token` (from the shop owner's consent), and what the refresh writes back:
  `access_token`, `expires_at`. Options: none. API URL: `sources.etsy.api_url`, default https://api.etsy.com.
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
from typing import Any
from urllib.parse import urlsplit

import httpx
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
    ShipmentLine,
    WebSale,
)
from mutabik.model.events import CanonicalEvent
from mutabik.providers._http import classify, request
from mutabik.providers._oauth import OAuthTokens, TokenEndpoint
from mutabik.providers.exceptions import PermanentProviderError
from mutabik.sources._api import SenderApi
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

#: Etsy Open API v3 in production; a tenant's `sources.etsy.api_url` replaces it (a fake in tests).
PRODUCTION_URL = "https://api.etsy.com"
#: The hosts Etsy's notifications name in `resource_url` (api.etsy.com in the docs, openapi.etsy.com in the
#: OpenAPI description's `servers`).
ETSY_API_HOSTS = frozenset({"api.etsy.com", "openapi.etsy.com"})
#: Refreshing sends grant_type, client_id and refresh_token only: Etsy treats apps as public clients
#: (https://developers.etsy.com/documentation/essentials/authentication#refreshing-an-oauth-token).
TOKEN_ENDPOINT = TokenEndpoint(url="/v3/public/oauth/token", client_auth="public")
_RECEIPT_PATH = re.compile(r"/v3/application/shops/([1-9]\d{0,19})/receipts/([1-9]\d{0,19})/?")


class _Amount(SenderShape):
    amount: int = Field(ge=0, le=_MAX)
    divisor: int = Field(default=100, gt=0, le=10**6)
    currency_code: str = Field(min_length=3, max_length=3)

    @property
    def value(self) -> Decimal:
        return Decimal(self.amount) / Decimal(self.divisor)


class _Transaction(SenderShape):
    transaction_id: int
    title: str | None = None
    sku: str | None = None
    listing_id: int | None = None
    quantity: Decimal = Field(gt=0, le=10**9)
    price: _Amount


class _Shipment(SenderShape):
    carrier_name: str | None = Field(default=None, max_length=200)
    tracking_code: str | None = Field(default=None, max_length=200)


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
    shipments: list[_Shipment] = Field(default_factory=list, max_length=1000)


class _Notification(SenderShape):
    event_type: str = Field(min_length=1, max_length=100)
    resource_url: str | None = Field(default=None, max_length=2000)
    shop_id: int | str | None = None
    data: _Receipt | None = None


class EtsySource(WebhookSource):
    name = "etsy"
    pulls = True

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

    def complete(
        self, delivery: Delivery, events: list[CanonicalEvent], api: SenderApi, context: SourceContext
    ) -> list[CanonicalEvent]:
        """A thin order.paid or order.shipped with the receipt read from Etsy; everything else as parsed."""
        notification = validate_shape(_Notification, delivery.json())
        kind = _event_type(notification)
        if notification.data is not None or kind not in ("order.paid", "order.shipped"):
            return events
        shop_id, receipt_id = _resource(notification, api)
        receipt = _pull_receipt(api, shop_id, receipt_id)
        if str(receipt.receipt_id) != receipt_id:
            raise PayloadError("Etsy answered with another receipt than the one asked for", "receipt.receipt_id")
        if kind == "order.paid":
            return _paid_events(receipt, context, "receipt")
        return [_shipment_event(receipt, _sent_at(delivery))]


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
    if notification.data is not None:
        return [_shipment_event(notification.data, _sent_at(delivery))]
    # A thin notification: the shipment without lines, until `complete` reads them from the receipt.
    ref = _receipt_ref(notification)
    at = _sent_at(delivery)
    shipment = Shipment(source="etsy", source_ref=f"{ref}:shipped", order_ref=ref, shipped_at=at)
    return [ShipmentCreated(occurred_at=at, shipment=shipment)]


def _shipment_event(receipt: _Receipt, at: datetime) -> ShipmentCreated:
    """What left: the receipt's transactions, carried by the receipt's latest shipment."""
    ref = str(receipt.receipt_id)
    last = receipt.shipments[-1] if receipt.shipments else _Shipment()
    lines = tuple(
        ShipmentLine(sku=_sku(t), name=t.title or str(t.transaction_id), quantity=t.quantity)
        for t in receipt.transactions
    )
    shipment = Shipment(
        source="etsy",
        source_ref=f"{ref}:shipped",
        order_ref=ref,
        shipped_at=at,
        carrier_name=last.carrier_name or "",
        tracking_number=last.tracking_code or "",
        lines=lines,
    )
    return ShipmentCreated(occurred_at=at, shipment=shipment)


def _paid(notification: _Notification, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
    if notification.data is None:
        return []  # a thin notification: `complete` reads the receipt from Etsy
    return _paid_events(notification.data, context, "data")


def _paid_events(receipt: _Receipt, context: SourceContext, where: str) -> list[CanonicalEvent]:
    """The order of a receipt, inline (`where` = "data") or pulled ("receipt"): one mapping for both."""
    if not receipt.is_paid:
        return []
    order = _order(receipt, context, where)
    return [OrderPaid(occurred_at=order.ordered_at, order=order)]


def _sku(transaction: _Transaction) -> str:
    return transaction.sku or str(transaction.listing_id or transaction.transaction_id)


# --- the pull ---------------------------------------------------------------------------------------------


def _resource(notification: _Notification, api: SenderApi) -> tuple[str, str]:
    """Shop and receipt ids from `resource_url`, only if it points at Etsy's API (or the tenant's api_url):
    a URL elsewhere is not Etsy's, whatever the body says."""
    url = urlsplit(notification.resource_url or "")
    origin = (url.scheme, (url.hostname or "").lower(), url.port)
    own = urlsplit(api.settings.api_url) if api.settings.api_url else None
    on_etsy = url.scheme == "https" and origin[1] in ETSY_API_HOSTS and url.port in (None, 443)
    on_tenant_url = own is not None and origin == (own.scheme, (own.hostname or "").lower(), own.port)
    if not (on_etsy or on_tenant_url):
        raise PayloadError("resource_url is not on Etsy's API host", "resource_url")
    match = _RECEIPT_PATH.fullmatch(url.path)
    if not match or url.query or url.fragment:
        raise PayloadError("resource_url does not name a shop receipt", "resource_url")
    shop_id, receipt_id = match.groups()
    if notification.shop_id is not None and str(notification.shop_id) != shop_id:
        raise PayloadError("shop_id is not the shop of resource_url", "shop_id")
    return shop_id, receipt_id


def _pull_receipt(api: SenderApi, shop_id: str, receipt_id: str) -> _Receipt:
    """getShopReceipt with the shop's OAuth token, renewed (and its rotated refresh token stored) as needed."""
    credentials = api.credentials("client_id", "client_secret", "refresh_token")
    api_key = f"{credentials['client_id']}:{credentials['client_secret']}"
    client = api.client(default_url=PRODUCTION_URL)
    tokens = OAuthTokens("etsy", api.provider_context(), api.secret_name, TOKEN_ENDPOINT, client)
    path = f"/v3/application/shops/{shop_id}/receipts/{receipt_id}"

    def get(token: str) -> httpx.Response:
        headers = {"x-api-key": api_key, "Authorization": f"Bearer {token}", "Accept": "application/json"}
        return request(client, "etsy", "GET", path, headers=headers)

    response = tokens.send(get)
    if response.status_code == httpx.codes.NOT_FOUND:
        raise PermanentProviderError(
            f"etsy has no receipt {receipt_id} in shop {shop_id} for this token ({_describe(response)})",
            provider="etsy",
            status_code=404,
        )
    classify(response, "etsy", _describe)
    try:
        body: Any = response.json()
    except ValueError as exc:
        raise PayloadError("Etsy's answer is not JSON", "receipt") from exc
    return validate_shape(_Receipt, body, "receipt")


def _describe(response: httpx.Response) -> str:
    """Etsy's own words: its errors are `{"error": "..."}` (ErrorSchema), OAuth's add `error_description`."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and body.get("error"):
        return f"{body['error']} {body.get('error_description') or ''}".strip()[:300]
    return str(body)[:300]


def _value(amount: _Amount | None) -> Decimal:
    return amount.value if amount else Decimal(0)


def _order(receipt: _Receipt, context: SourceContext, where: str) -> Order:
    currency = receipt.grandtotal.currency_code.upper()
    # A sale abroad is an export (KDV 0, the exemption is the mapper's); at home the tenant's rate applies.
    abroad = (receipt.country_iso or "TR").upper() != "TR"
    rate = Decimal(0) if abroad else context.default_kdv_rate
    try:
        lines = [
            Line(
                sku=_sku(t),
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
        raise payload_error_from(exc, f"{where}.transactions") from exc
    collected_by_etsy = _value(receipt.total_tax_cost) + _value(receipt.total_vat_cost)
    ordered_at = datetime.fromtimestamp(receipt.create_timestamp, tz=UTC)
    bill_to = address(
        street=" ".join(p for p in (receipt.first_line, receipt.second_line) if p),
        district=receipt.state,
        city=receipt.city,
        postal_code=receipt.zip,
        country_code=receipt.country_iso,
        path=where,
    )
    try:
        return Order(
            source="etsy",
            source_ref=str(receipt.receipt_id),
            number=str(receipt.receipt_id),
            ordered_at=ordered_at,
            currency=currency,
            prices_include_tax=True,
            buyer=buyer(name=receipt.name, tax_id="", address=bill_to, email=receipt.buyer_email, path=where),
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
        raise payload_error_from(exc, where) from exc


_EVENT_TYPES: dict[str, Callable[[_Notification, Delivery, SourceContext], list[CanonicalEvent]]] = {
    "order.paid": _paid,
    "order.canceled": _cancelled,
    "order.cancelled": _cancelled,
    "order.shipped": _shipped,
}
