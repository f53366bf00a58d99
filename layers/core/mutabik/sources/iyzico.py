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
an `…_AUTH` event type) becomes PaymentCaptured only when the notification also has `paidPrice` and
`currency`; otherwise it yields no event here and the payment's detail has to be read with the merchant's API
key (`/payment/detail`, a pull). The order is `paymentConversationId` (the conversationId the shop sent with
the payment, by convention its order id). The delivery id is `iyziReferenceCode` with the event type, the same
on every retry.

Secret (Secrets Manager SecretString): the merchant's iyzico secret key (the one the API calls use), as is.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import Field, ValidationError

from mutabik.model import Money, Payment, PaymentCaptured
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

__all__ = ["SIGNED_FIELDS", "IyzicoSource"]

#: The payload values signed, in order, per notification format.
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "hpp": ("iyziEventType", "iyziPaymentId", "token", "paymentConversationId", "status"),
    "direct": ("iyziEventType", "paymentId", "paymentConversationId", "status"),
}
#: Event types ending so are a payment's authorization result (CHECKOUT_FORM_AUTH, API_AUTH, THREE_DS_AUTH …).
CAPTURE_EVENT_SUFFIX = "_AUTH"
#: iyzico currency names that are not ISO 4217.
CURRENCIES = {"TL": "TRY"}


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


class IyzicoSource(WebhookSource):
    name = "iyzico"

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
        captured = notification.iyziEventType.upper().endswith(CAPTURE_EVENT_SUFFIX)
        if not captured or notification.status.upper() != "SUCCESS":
            return []  # a failure, or a refund/cancel notification (no amounts in it)
        if notification.paidPrice is None or not notification.currency:
            return []  # the amount has to be read from iyzico's payment detail
        payment_id = notification.paymentId or notification.iyziPaymentId
        if payment_id is None:
            raise PayloadError("Field required", "paymentId")
        currency = CURRENCIES.get(notification.currency.upper(), notification.currency.upper())
        at = _at(notification, delivery.received_at or self.clock())
        try:
            payment = Payment(
                source=self.name,
                source_ref=str(payment_id),
                order_ref=notification.paymentConversationId or "",
                captured_at=at,
                amount=Money(amount=notification.paidPrice, currency=currency),
                method="KREDIKARTI/BANKAKARTI",
            )
        except ValidationError as exc:
            raise payload_error_from(exc) from exc
        return [PaymentCaptured(occurred_at=at, payment=payment)]


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
