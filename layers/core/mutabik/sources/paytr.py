"""PayTR payment callbacks: a form POST whose `hash` field proves it, answered with the plain text `OK`.

PayTR posts the result of each payment to the shop's Bildirim URL as `application/x-www-form-urlencoded`
fields: merchant_oid, status (success | failed), total_amount (kuruş: 34.56 → 3456), hash, and optionally
failed_reason_code, failed_reason_msg, test_mode, payment_type, currency, payment_amount
(https://dev.paytr.com/en/iframe-api/iframe-api-2-adim, https://dev.paytr.com/direkt-api/direkt-api-2-adim).
`hash` is base64(HMAC-SHA256(merchant_key, merchant_oid + merchant_salt + status + total_amount)).

PayTR wants the plain text `OK` and nothing else, or it shows the payment as "in progress" and posts again
every minute; repeated notifications for the same `merchant_oid` must be answered `OK` too and counted once.
So the delivery id is `merchant_oid:status` and the reply is `OK` (200, text/plain) whether new or duplicate.

A successful callback is PaymentCaptured of `total_amount` (what the buyer paid, installment interest
included) for the order `merchant_oid`; a failed one yields no event.

Secret (Secrets Manager SecretString): JSON `{"merchant_key": "…", "merchant_salt": "…"}` from the PayTR
merchant panel (Destek & Kurulum → Entegrasyon Bilgileri); `merchant_id` may be there too and is not needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

from pydantic import Field, ValidationError

from mutabik.model import Money, Payment, PaymentCaptured
from mutabik.model.events import CanonicalEvent
from mutabik.sources._common import from_minor_units
from mutabik.sources.base import (
    Delivery,
    Reply,
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

__all__ = ["PaytrSource"]

#: PayTR's currency names → ISO 4217.
CURRENCIES = {"TL": "TRY", "TRY": "TRY", "USD": "USD", "EUR": "EUR", "GBP": "GBP", "RUB": "RUB"}
#: payment_type → GİB's e-Arşiv payment method.
PAYMENT_METHODS = {"card": "KREDIKARTI/BANKAKARTI", "eft": "EFT/HAVALE", "bex": "ODEMEARACISI"}
OK = Reply(200, "OK", "text/plain")


class _Callback(SenderShape):
    merchant_oid: str = Field(min_length=1, max_length=64)
    status: str = Field(max_length=20)
    total_amount: int = Field(ge=0, le=10**14)
    hash: str
    payment_type: str = ""
    currency: str = "TL"
    payment_amount: int | None = Field(default=None, ge=0, le=10**14)
    test_mode: str = "0"


class PaytrSource(WebhookSource):
    name = "paytr"

    def verify(self, delivery: Delivery, secret: str) -> None:
        keys = json_secret(secret, "merchant_key", "merchant_salt")
        try:
            form = delivery.form()
        except PayloadError as exc:
            raise SignatureError("the hashed fields cannot be read from the body") from exc
        fields = [form.get(name) for name in ("merchant_oid", "status", "total_amount")]
        if any(value is None for value in fields):
            raise SignatureError("the hashed fields merchant_oid, status and total_amount are not all there")
        oid, status, total = (value or "" for value in fields)
        expected = _hash(keys["merchant_key"], keys["merchant_salt"], oid, status, total)
        if not constant_time_equal(expected, form.get("hash")):
            raise SignatureError("hash does not match the callback hashed with the merchant key and salt")

    def delivery_id(self, delivery: Delivery) -> str:
        callback = _callback(delivery)
        return f"{callback.merchant_oid}:{callback.status}"

    def topic(self, delivery: Delivery) -> str:
        try:
            return f"payment.{_callback(delivery).status}"
        except PayloadError:
            return ""

    def reply(self, delivery: Delivery, *, duplicate: bool) -> Reply:
        # "OK" and nothing else, for a repeat too: anything more makes PayTR post again every minute.
        return OK

    def sign(self, delivery: Delivery, secret: str) -> Delivery:
        keys = json_secret(secret, "merchant_key", "merchant_salt")
        form = delivery.form()
        form["hash"] = _hash(
            keys["merchant_key"],
            keys["merchant_salt"],
            form.get("merchant_oid", ""),
            form.get("status", ""),
            form.get("total_amount", ""),
        )
        return with_headers(delivery, {}, body=urlencode(form).encode())

    def parse(self, delivery: Delivery, context: SourceContext) -> list[CanonicalEvent]:
        callback = _callback(delivery)
        if callback.status != "success":
            return []
        currency = CURRENCIES.get(callback.currency.upper(), callback.currency.upper())
        # The callback says no time: when it reached us is when the payment was confirmed.
        at = delivery.received_at or self.clock()
        try:
            payment = Payment(
                source=self.name,
                source_ref=callback.merchant_oid,
                order_ref=callback.merchant_oid,
                captured_at=at,
                amount=Money(amount=from_minor_units(callback.total_amount, currency), currency=currency),
                method=PAYMENT_METHODS.get(callback.payment_type, "KREDIKARTI/BANKAKARTI"),
            )
        except ValidationError as exc:
            raise payload_error_from(exc) from exc
        return [PaymentCaptured(occurred_at=at, payment=payment)]


def _hash(key: str, salt: str, oid: str, status: str, total: str) -> str:
    message = (oid + salt + status + total).encode()
    return base64.b64encode(hmac.new(key.encode(), message, hashlib.sha256).digest()).decode()


def _callback(delivery: Delivery) -> _Callback:
    return validate_shape(_Callback, delivery.form())
