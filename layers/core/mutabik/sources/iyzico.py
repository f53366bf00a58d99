"""iyzico merchant notifications: `X-IYZ-SIGNATURE-V3` verified payment results into canonical events.

iyzico posts a JSON notification 10–15 s after a payment attempt and retries every 15 minutes, 3 times, until
it gets a 2xx (https://docs.iyzico.com/en/advanced/webhook). `X-IYZ-SIGNATURE-V3` is the hex
HMAC-SHA256, keyed with the merchant's secret key, of the secret key followed by some of the payload's values
in a fixed order that depends on the format (iyzipay-php `samples/webhook_Signature_Validation.php`):

    Direct (API payments):            iyziEventType, paymentId, paymentConversationId, status
    HPP (checkout form / pay w/ iyzico): iyziEventType, iyziPaymentId, token, paymentConversationId, status

A body with `token` is HPP, one without is Direct. The Subscription format is signed differently and is not
taken (401, so iyzico's panel shows it failing rather than us dropping it silently).

A notification carries the payment's ids and result but no amounts: a successful payment (`status` SUCCESS,
an `…_AUTH` event type) becomes PaymentCaptured in `parse` only when the notification also has `paidPrice` and
`currency`. The order is `paymentConversationId` (the conversationId the shop sent with the payment, by
convention its order id). The delivery id is `iyziReferenceCode` with the event type, the same on every retry.

The pull (`complete`, run by the mapper, never by the webhook). What a notification lacks is read from iyzico's
Transaction Detail Reporting, `GET /v2/reporting/payment/details?paymentId=…`
(https://docs.iyzico.com/en/advanced/reporting-service): the payment as iyzico holds it now — `paidPrice`,
`currency`, `basketId`, `paymentConversationId`, `paymentStatus` (1 = paid), iyzico's commission
(`iyziCommissionRateAmount` + `iyziCommissionFee`), its `cancels` and, per basket item (`itemTransactions`), its
`refunds` (field names as iyzipay-java's PaymentDetail / PaymentTxDetail / RefundTxDetail / RefundDetail read
them). It is chosen over Retrieve Payment (`POST /payment/detail`,
https://docs.iyzico.com/en/advanced/retrieve-payment) because it is the one service that also carries refunds
and cancels, so one call completes both kinds of notification; it is asked by `paymentId` (every notification
carries it) rather than by conversationId, under which a retried checkout leaves its failed attempts too.
- A successful `…_AUTH` notification without amounts → PaymentCaptured of `paidPrice` in `currency`, fee =
  iyzico's commission, keyed as `parse` keys it (source_ref = paymentId, order_ref = paymentConversationId;
  iyzico's `basketId` is not the order). One call; a notification with amounts costs none.
- A refund notification (`REFUND_RETRY_SUCCESS`, `CONTACTLESS_REFUND`: the event types iyzico's webhook page
  lists for refunds, https://docs.iyzico.com/ek-servisler/webhook) → one RefundCreated per successful refund
  transaction (`refundStatus` 1, no `errorCode`) and per cancel of the payment, keyed `refund-<refundTxId>` /
  `cancel-<refundId>`, so a replay or a later notification of the same payment re-plans the same documents.
  A refund or cancel the merchant makes through the API is answered synchronously and NOT notified by
  iyzico's webhook: those reach mutabik through the shop's own refund webhook (Shopify, WooCommerce …).
- Authentication: IYZWSv2 (https://docs.iyzico.com/en/getting-started/preliminaries/authentication/hmacsha256-auth;
  iyzipay-python `get_http_header_v2`, iyzipay-php `IyziAuthV2Generator`): `Authorization: IYZWSv2 ` +
  base64("apiKey:<key>&randomKey:<rnd>&signature:<hex HMAC-SHA256(secretKey, rnd + uriPath + body)>"), with
  `x-iyzi-rnd: <rnd>`; uriPath is the path without the query, and a GET has no body.
- Errors: iyzico answers `status: failure` with `errorCode`/`errorMessage`/`errorGroup`, often on HTTP 200.
  System errors (`errorGroup` SYSTEM_ERROR, or errorCode 1 / 100001, "Sistem hatası") → RetryableProviderError;
  any other refusal (unknown payment, invalid signature, unknown API key) → PermanentProviderError in iyzico's
  words; 429/5xx/network → Retryable (Retry-After honoured), other 4xx → Permanent (`providers._http`).
- Rate limits: iyzico publishes none for reporting ("Limiters" page speaks of payment attempts); one call per
  notification, at most 3 retries of a notification by iyzico, keeps us far from any.

Secret (Secrets Manager SecretString): the merchant's iyzico secret key (it signs the notifications), as is.
Sender API secret (`<prefix>/<tenant>/sender-apis/iyzico`, JSON): {"api_key": "...", "secret_key": "..."}.
Options: none. `sources.iyzico.api_url`: https://sandbox-api.iyzipay.com for the sandbox (production default).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import Field, ValidationError

from mutabik.model import Money, Payment, PaymentCaptured, Refund, RefundCreated
from mutabik.model.events import CanonicalEvent
from mutabik.providers._http import classify, request
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError
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

if TYPE_CHECKING:
    from mutabik.sources._api import SenderApi

__all__ = ["DETAILS_PATH", "PRODUCTION_URL", "SANDBOX_URL", "SIGNED_FIELDS", "IyzicoSource", "authorization"]

PRODUCTION_URL = "https://api.iyzipay.com"
SANDBOX_URL = "https://sandbox-api.iyzipay.com"
#: Transaction Detail Reporting (https://docs.iyzico.com/en/advanced/reporting-service).
DETAILS_PATH = "/v2/reporting/payment/details"

#: The payload values signed, in order, per notification format.
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "hpp": ("iyziEventType", "iyziPaymentId", "token", "paymentConversationId", "status"),
    "direct": ("iyziEventType", "paymentId", "paymentConversationId", "status"),
}
#: Event types ending so are a payment's authorization result (CHECKOUT_FORM_AUTH, API_AUTH, THREE_DS_AUTH …).
CAPTURE_EVENT_SUFFIX = "_AUTH"
#: Event types that say money went back to the buyer (https://docs.iyzico.com/ek-servisler/webhook).
REFUND_EVENT_TYPES = frozenset({"REFUND_RETRY_SUCCESS", "CONTACTLESS_REFUND"})
#: iyzico currency names that are not ISO 4217.
CURRENCIES = {"TL": "TRY"}
#: Reporting's numeric statuses: a paid payment, a refund that went through (iyzipay-java PaymentDetail).
PAID, REFUNDED = 1, 1
#: iyzico's "Sistem hatası" codes and group: a fault on iyzico's side, worth asking again later.
SYSTEM_ERROR_CODES = frozenset({"1", "100001"})
SYSTEM_ERROR_GROUP = "SYSTEM_ERROR"


class _Notification(SenderShape):
    iyziEventType: str = Field(min_length=1, max_length=100)  # noqa: N815 - iyzico's field names
    iyziEventTime: int | None = Field(default=None, ge=0, le=2**45)  # noqa: N815
    iyziReferenceCode: str | None = Field(default=None, max_length=200)  # noqa: N815
    iyziPaymentId: int | str | None = None  # noqa: N815
    paymentId: int | str | None = None  # noqa: N815
    paymentConversationId: str | None = Field(default=None, max_length=200)  # noqa: N815
    token: str | None = None
    status: str = Field(max_length=40)
    paidPrice: Decimal | None = Field(default=None, ge=0, le=10**12)  # noqa: N815
    currency: str | None = Field(default=None, min_length=2, max_length=3)

    @property
    def payment_id(self) -> str:
        return str(self.paymentId or self.iyziPaymentId or "")

    @property
    def captured(self) -> bool:
        return self.iyziEventType.upper().endswith(CAPTURE_EVENT_SUFFIX) and self.status.upper() == "SUCCESS"

    @property
    def refunded(self) -> bool:
        return self.iyziEventType.upper() in REFUND_EVENT_TYPES and self.status.upper() != "FAILURE"


# --- Transaction Detail Reporting's answer (only what we read) ---------------------------------------------
_Price = Decimal  # iyzico sends prices as JSON numbers; read exactly
_When = int | str | None  # createdDate: epoch milliseconds or an ISO date-time, depending on the client


class _RefundTx(SenderShape):
    refundTxId: int | str  # noqa: N815 - iyzico's field names
    refundPrice: _Price = Field(ge=0, le=10**12)  # noqa: N815
    refundStatus: int | None = None  # noqa: N815
    currencyCode: str | None = Field(default=None, max_length=3)  # noqa: N815
    createdDate: _When = None  # noqa: N815
    errorCode: str | None = None  # noqa: N815


class _Cancel(SenderShape):
    refundId: int | str  # noqa: N815
    refundPrice: _Price = Field(ge=0, le=10**12)  # noqa: N815
    refundStatus: int | None = None  # noqa: N815
    currencyCode: str | None = Field(default=None, max_length=3)  # noqa: N815
    createdDate: _When = None  # noqa: N815
    errorCode: str | None = None  # noqa: N815


class _ItemTx(SenderShape):
    refunds: list[_RefundTx] | None = None


class _PaymentDetail(SenderShape):
    paymentId: int | str  # noqa: N815
    paymentStatus: int | None = None  # noqa: N815
    paidPrice: _Price = Field(ge=0, le=10**12)  # noqa: N815
    currency: str = Field(min_length=2, max_length=3)
    paymentConversationId: str | None = Field(default=None, max_length=200)  # noqa: N815
    basketId: str | None = None  # noqa: N815
    iyziCommissionRateAmount: _Price | None = Field(default=None, ge=0, le=10**12)  # noqa: N815
    iyziCommissionFee: _Price | None = Field(default=None, ge=0, le=10**12)  # noqa: N815
    cancels: list[_Cancel] | None = None
    itemTransactions: list[_ItemTx] | None = None  # noqa: N815


class _Answer(SenderShape):
    status: str
    errorCode: str | int | None = None  # noqa: N815
    errorMessage: str | None = None  # noqa: N815
    errorGroup: str | None = None  # noqa: N815
    payments: list[_PaymentDetail] | None = None


class IyzicoSource(WebhookSource):
    name = "iyzico"
    pulls = True

    def verify(self, delivery: Delivery, secret: str) -> None:
        given = delivery.header("x-iyz-signature-v3")
        if not given:
            raise SignatureError("X-IYZ-SIGNATURE-V3 is missing")
        try:
            body = delivery.json()
        except PayloadError as exc:
            raise SignatureError("the signed values cannot be read from the body") from exc
        expected = signature(secret, body)
        if expected is None or not constant_time_equal(expected, given.strip().lower()):
            raise SignatureError("X-IYZ-SIGNATURE-V3 does not match the notification signed with the secret key")

    def delivery_id(self, delivery: Delivery) -> str:
        notification = validate_shape(_Notification, delivery.json())
        reference = notification.iyziReferenceCode or notification.token or str(notification.paymentId or "")
        if not reference:
            raise PayloadError("Field required", "iyziReferenceCode")
        return f"{reference}:{notification.iyziEventType}"[:240]

    def topic(self, delivery: Delivery) -> str:
        try:
            return validate_shape(_Notification, delivery.json()).iyziEventType
        except PayloadError:
            return ""

    def sign(self, delivery: Delivery, secret: str) -> Delivery:
        value = signature(secret, delivery.json())
        if value is None:
            raise PayloadError("the body is not an iyzico notification")
        return with_headers(delivery, {"X-IYZ-SIGNATURE-V3": value})

    def parse(self, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
        notification = validate_shape(_Notification, delivery.json())
        if not notification.captured:
            return []  # a failure, or a refund notification (no amounts in it: `complete` reads them)
        if notification.paidPrice is None or not notification.currency:
            return []  # the amount has to be read from iyzico's payment detail
        if not notification.payment_id:
            raise PayloadError("Field required", "paymentId")
        at = _at(notification, delivery.received_at or self.clock())
        payment = _payment(notification, notification.paidPrice, notification.currency, None, at, "")
        return [PaymentCaptured(occurred_at=at, payment=payment)]

    def complete(
        self, delivery: Delivery, events: list[CanonicalEvent], api: SenderApi, context: SourceContext
    ) -> list[CanonicalEvent]:
        """What the notification lacks, from Transaction Detail Reporting (see the module docstring)."""
        if events:
            return events  # the notification carried its amounts: no call
        notification = validate_shape(_Notification, delivery.json())
        if not (notification.captured or notification.refunded):
            return []  # a failed attempt, or an event that makes no document
        if not notification.payment_id:
            raise PayloadError("Field required", "paymentId")
        detail = _read_payment(api, notification.payment_id)
        at = _at(notification, delivery.received_at or self.clock())
        if notification.captured:
            return [_captured(notification, detail, at)]
        return _refunds(notification, detail, at)


def authorization(api_key: str, secret_key: str, random_key: str, path: str, body: str = "") -> str:
    """The IYZWSv2 Authorization header value for one request (module docstring, iyzico's HMACSHA256 Auth)."""
    digest = hmac.new(secret_key.encode(), (random_key + path + body).encode(), hashlib.sha256).hexdigest()
    plain = f"apiKey:{api_key}&randomKey:{random_key}&signature:{digest}"
    return "IYZWSv2 " + base64.b64encode(plain.encode()).decode()


def _read_payment(api: SenderApi, payment_id: str) -> _PaymentDetail:
    """The payment as iyzico's reporting holds it; errors as the module docstring says."""
    keys = api.credentials("api_key", "secret_key")
    random_key = secrets.token_hex(8)
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Authorization": authorization(str(keys["api_key"]), str(keys["secret_key"]), random_key, DETAILS_PATH),
        "x-iyzi-rnd": random_key,
    }
    client = api.client(default_url=PRODUCTION_URL)
    response = request(client, "iyzico", "GET", DETAILS_PATH, params={"paymentId": payment_id}, headers=headers)
    classify(response, "iyzico", _words)
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        raise PayloadError("iyzico's answer is not JSON", "payments") from exc
    answer = validate_shape(_Answer, body)
    if answer.status.lower() != "success":
        words = _error_words(answer)
        if answer.errorGroup == SYSTEM_ERROR_GROUP or str(answer.errorCode or "") in SYSTEM_ERROR_CODES:
            raise RetryableProviderError(f"iyzico could not answer: {words}", provider="iyzico")
        raise PermanentProviderError(f"iyzico refused to read payment {payment_id}: {words}", provider="iyzico")
    for detail in answer.payments or []:
        if str(detail.paymentId) == payment_id:
            return detail
    raise PermanentProviderError(f"iyzico knows no payment {payment_id}", provider="iyzico")


def _error_words(answer: _Answer) -> str:
    parts = [f"errorCode {answer.errorCode}" if answer.errorCode else "", answer.errorMessage or ""]
    return " ".join(p for p in parts if p)[:500] or "status failure"


def _words(response: httpx.Response) -> str:
    """iyzico's errorMessage from a failed HTTP answer, if it sent one."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return _error_words(_Answer.model_validate({"status": "failure", **_strings(body)}))
    return ""


def _strings(body: dict[str, Any]) -> dict[str, str]:
    return {k: str(body[k]) for k in ("errorCode", "errorMessage", "errorGroup") if body.get(k) is not None}


def _captured(notification: _Notification, detail: _PaymentDetail, at: datetime) -> PaymentCaptured:
    if detail.paymentStatus is not None and detail.paymentStatus != PAID:
        raise PermanentProviderError(
            f"iyzico reports payment {detail.paymentId} as not paid (paymentStatus {detail.paymentStatus}) "
            "although its notification said SUCCESS",
            provider="iyzico",
        )
    fee: Decimal | None = None
    if detail.iyziCommissionRateAmount is not None or detail.iyziCommissionFee is not None:
        fee = (detail.iyziCommissionRateAmount or Decimal(0)) + (detail.iyziCommissionFee or Decimal(0))
    order_ref = _order_ref(notification, detail)
    payment = _payment(notification, detail.paidPrice, detail.currency, fee, at, order_ref, prefix="payments.0")
    return PaymentCaptured(occurred_at=at, payment=payment)


def _refunds(notification: _Notification, detail: _PaymentDetail, at: datetime) -> list[CanonicalEvent]:
    """Every refund and cancel iyzico holds for the payment: their keys make a repeat plan nothing new."""
    order_ref = _order_ref(notification, detail)
    taken: list[tuple[str, _RefundTx | _Cancel]] = [
        (f"cancel-{cancel.refundId}", cancel) for cancel in detail.cancels or [] if _went_through(cancel)
    ]
    for item in detail.itemTransactions or []:
        taken += [(f"refund-{tx.refundTxId}", tx) for tx in item.refunds or [] if _went_through(tx)]
    events: list[CanonicalEvent] = []
    for ref, money_back in taken:
        created = _when(money_back.createdDate, at, "payments.0.refunds.createdDate")
        currency = _currency(money_back.currencyCode or detail.currency)
        try:
            refund = Refund(
                source="iyzico",
                source_ref=ref,
                order_ref=order_ref,
                created_at=created,
                amount=Money(amount=money_back.refundPrice, currency=currency),
                reason="cancelled" if ref.startswith("cancel-") else "",
            )
        except ValidationError as exc:
            raise payload_error_from(exc, "payments.0") from exc
        events.append(RefundCreated(occurred_at=created, refund=refund))
    return events


def _went_through(money_back: _RefundTx | _Cancel) -> bool:
    return money_back.refundStatus in (None, REFUNDED) and not money_back.errorCode


def _order_ref(notification: _Notification, detail: _PaymentDetail) -> str:
    given, held = notification.paymentConversationId, detail.paymentConversationId
    if given and held and given != held:
        raise PayloadError("is not the notification's paymentConversationId", "payments.0.paymentConversationId")
    order_ref = given or held or ""
    if not order_ref:
        raise PayloadError("Field required", "paymentConversationId")
    return order_ref


def _payment(
    notification: _Notification,
    amount: Decimal,
    currency: str,
    fee: Decimal | None,
    at: datetime,
    order_ref: str,
    prefix: str = "",
) -> Payment:
    code = _currency(currency)
    try:
        return Payment(
            source="iyzico",
            source_ref=notification.payment_id,
            order_ref=order_ref or notification.paymentConversationId or "",
            captured_at=at,
            amount=Money(amount=amount, currency=code),
            fee=Money(amount=fee, currency=code) if fee is not None else None,
            method="KREDIKARTI/BANKAKARTI",
        )
    except ValidationError as exc:
        raise payload_error_from(exc, prefix) from exc


def _currency(value: str) -> str:
    return CURRENCIES.get(value.upper(), value.upper())


def _when(value: int | str | None, fallback: datetime, path: str) -> datetime:
    """A reporting date: epoch milliseconds or ISO 8601 (a naive one is Istanbul time, as iyzico keeps it)."""
    if value is None or value == "":
        return fallback
    try:
        if isinstance(value, int):
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        moment = datetime.fromisoformat(value)
    except (OverflowError, OSError, ValueError) as exc:
        raise PayloadError("is not a date", path) from exc
    if moment.tzinfo is None:
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo("Europe/Istanbul"))
    return moment


def signature(secret: str, body: object) -> str | None:
    """The X-IYZ-SIGNATURE-V3 of a decoded notification, or None if it is no format we know."""
    if not isinstance(body, dict) or "subscriptionReferenceCode" in body:
        return None
    fields = SIGNED_FIELDS["hpp" if "token" in body else "direct"]
    values = [body.get(name) for name in fields]
    if any(v is None or isinstance(v, dict | list | bool) for v in values):
        return None
    message = secret + "".join(str(v) for v in values)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _at(notification: _Notification, fallback: datetime) -> datetime:
    if notification.iyziEventTime is not None:
        try:
            return datetime.fromtimestamp(notification.iyziEventTime / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise PayloadError("out of range", "iyziEventTime") from exc
    return fallback
