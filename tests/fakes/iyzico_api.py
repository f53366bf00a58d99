"""A fake iyzico API: Transaction Detail Reporting, the one call `mutabik.sources.iyzico.complete` makes.

iyzico publishes no machine-readable description of this service, so the fake checks what iyzico documents:
- `GET /v2/reporting/payment/details` with `paymentId` or `paymentConversationId` (at least one), and no body
  (https://docs.iyzico.com/en/advanced/reporting-service; iyzipay-python `RetrievePaymentDetails`).
- IYZWSv2 authentication, recomputed here and compared in constant time: `Authorization: IYZWSv2 ` +
  base64("apiKey:<key>&randomKey:<rnd>&signature:<hex HMAC-SHA256(secretKey, rnd + uriPath + body)>") and
  `x-iyzi-rnd` equal to the randomKey (https://docs.iyzico.com/en/getting-started/preliminaries/authentication/
  hmacsha256-auth; iyzipay-php `IyziAuthV2Generator`, which signs only the path up to `?` for /v2 URLs).
- Answers in iyzico's shape: `{"status": "success", "locale", "systemTime", "payments": [...]}` where each
  payment has the fields iyzipay-java's PaymentDetail reads (paymentId, paymentStatus 1 = paid, price,
  paidPrice, currency, basketId, paymentConversationId, iyziCommissionRateAmount, iyziCommissionFee,
  createdDate, cancels[RefundDetail], itemTransactions[PaymentTxDetail with refunds[RefundTxDetail]]); a refusal
  is `{"status": "failure", "errorCode", "errorMessage", "errorGroup", ...}` on HTTP 200, as iyzico answers
  (https://docs.iyzico.com/en/add-ons/error-codes). A request that breaks a documented rule is answered
  400 and recorded in `violations`; `assert_clean()` fails a test that caused one.

By default it knows the payments named in events/iyzico/*.json (`SAMPLE_PAYMENTS`), so the local runtime can
demo the pull. Failure switches: `fail_next(count, status, retry_after)` (429/5xx), `system_error_next(count)`
(iyzico's "Sistem hatası" on HTTP 200), `revoke_key()` (iyzico no longer knows the API key). Standalone: needs
only this module and werkzeug.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

__all__ = ["DETAILS_PATH", "SAMPLE_PAYMENTS", "SENDER", "Fake", "payment"]

#: The sender whose API this fakes: `mutabik local` points every demo tenant's iyzico at it.
SENDER = "iyzico"

DETAILS_PATH = "/v2/reporting/payment/details"
#: The order (paymentConversationId) of the committed sample notifications.
SAMPLE_ORDER = "5800000000001"


def payment(
    payment_id: int,
    paid_price: str,
    *,
    conversation_id: str = SAMPLE_ORDER,
    currency: str = "TRY",
    status: int = 1,
    refunds: Sequence[tuple[int, str]] = (),
    cancels: Sequence[tuple[int, str]] = (),
    commission: tuple[str, str] = ("41.00", "0.25"),
) -> dict[str, Any]:
    """One payment as Transaction Detail Reporting describes it, prices as JSON numbers (iyzico sends them so).
    `refunds`/`cancels` are (id, price) pairs; refunds sit on the first basket item."""
    item_refunds = [
        {
            "refundTxId": ref,
            "refundConversationId": f"r{ref}",
            "refundPrice": float(price),
            "refundStatus": 1,
            "isAfterSettlement": False,
            "createdDate": "2026-01-16T10:00:00",
            "currencyCode": currency,
        }
        for ref, price in refunds
    ]
    return {
        "paymentId": payment_id,
        "paymentStatus": status,
        "paymentRefundStatus": "PARTIAL_REFUNDED" if refunds else "NOT_REFUNDED",
        "price": float(paid_price),
        "paidPrice": float(paid_price),
        "installment": 1,
        "merchantCommissionRate": 0,
        "merchantCommissionRateAmount": 0,
        "iyziCommissionRateAmount": float(commission[0]),
        "iyziCommissionFee": float(commission[1]),
        "paymentConversationId": conversation_id,
        "fraudStatus": 1,
        "cardType": "CREDIT_CARD",
        "cardAssociation": "MASTER_CARD",
        "basketId": f"B{conversation_id}",
        "currency": currency,
        "threeDS": True,
        "phase": "AUTH",
        "createdDate": "2026-01-15T12:21:00",
        "cancels": [
            {
                "refundId": ref,
                "cancelConversationId": f"c{ref}",
                "refundPrice": float(price),
                "refundStatus": 1,
                "isAfterSettlement": False,
                "createdDate": "2026-01-15T18:00:00",
                "currencyCode": currency,
            }
            for ref, price in cancels
        ],
        "itemTransactions": [
            {
                "itemId": "KHV-250",
                "paymentTransactionId": payment_id * 10,
                "transactionStatus": 1,
                "price": float(paid_price),
                "paidPrice": float(paid_price),
                "refunds": item_refunds,
            }
        ],
    }


#: The payments of events/iyzico/*.json: api-auth (which carries its amount), checkout-form-auth (which does
#: not) and refund-retry-success (a 400.00 refund of the checkout-form payment).
SAMPLE_PAYMENTS: dict[str, dict[str, Any]] = {
    "22484059": payment(22484059, "1640.00"),
    "22483975": payment(22483975, "1640.00", refunds=[(31000001, "400.00")]),
}


@dataclass
class _Failure:
    status: int
    retry_after: str | None


class Fake:
    """The reporting service of one merchant (one API key pair)."""

    def __init__(self, payments: dict[str, dict[str, Any]] | None = None) -> None:
        self.api_key = "sandbox-" + secrets.token_urlsafe(12)
        self.secret_key = "sandbox-" + secrets.token_urlsafe(18)
        self.payments: dict[str, dict[str, Any]] = deepcopy(SAMPLE_PAYMENTS if payments is None else payments)
        self.requests: list[dict[str, Any]] = []  # what was asked: method, path, query (never the key)
        self.violations: list[str] = []
        self.lock = threading.Lock()
        self._failures: list[_Failure] = []
        self._system_errors = 0
        self._revoked = False

    # --- what a tenant stores ---------------------------------------------------------------------------
    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key, "secret_key": self.secret_key}

    def options(self) -> dict[str, str]:
        return {}

    # --- failure switches ------------------------------------------------------------------------------
    def fail_next(self, count: int, status: int = 503, retry_after: str | None = None) -> None:
        with self.lock:
            self._failures += [_Failure(status, retry_after)] * count

    def system_error_next(self, count: int = 1) -> None:
        with self.lock:
            self._system_errors += count

    def revoke_key(self) -> None:
        with self.lock:
            self._revoked = True

    def assert_clean(self) -> None:
        assert not self.violations, f"requests iyzico would refuse: {self.violations}"

    # --- WSGI ------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self._respond(request)(environ, start_response)

    def _respond(self, request: Request) -> Response:
        with self.lock:
            self.requests.append({"method": request.method, "path": request.path, "query": dict(request.args)})
            if request.path != DETAILS_PATH:
                return _json({"status": "failure", "errorCode": "404", "errorMessage": "Not Found"}, 404)
            if request.method != "GET":
                return self._violation(f"{request.method} {request.path}: the reporting service is a GET")
            problem = self._documented_problem(request)
            if problem:
                return self._violation(problem)
            if self._failures:
                failure = self._failures.pop(0)
                headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                return _json({"status": "failure", "errorMessage": "try later"}, failure.status, headers)
            if self._revoked:
                return _failure("1001", "api bilgileri bulunamadı", "")
            if self._system_errors:
                self._system_errors -= 1
                return _failure("1", "Sistem hatası", "SYSTEM_ERROR")
            return self._details(request)

    def _documented_problem(self, request: Request) -> str:
        """What iyzico's documentation says this request gets wrong ('' when nothing)."""
        if request.get_data():
            return "a GET to the reporting service carries no body"
        if not (request.args.get("paymentId") or request.args.get("paymentConversationId")):
            return "paymentId or paymentConversationId is required"
        unknown = set(request.args) - {"paymentId", "paymentConversationId", "locale", "conversationId"}
        if unknown:
            return f"undocumented query parameters {sorted(unknown)}"
        return self._authentication_problem(request)

    def _authentication_problem(self, request: Request) -> str:
        header = request.headers.get("Authorization", "")
        random_key = request.headers.get("x-iyzi-rnd", "")
        if not header.startswith("IYZWSv2 ") or not random_key:
            return "Authorization must be 'IYZWSv2 <base64>' with an x-iyzi-rnd header"
        try:
            plain = base64.b64decode(header[8:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "the IYZWSv2 value is not base64"
        parts = dict(part.split(":", 1) for part in plain.split("&") if ":" in part)
        if set(parts) != {"apiKey", "randomKey", "signature"}:
            return "the IYZWSv2 value must be apiKey:…&randomKey:…&signature:…"
        if not hmac.compare_digest(parts["randomKey"].encode(), random_key.encode()):
            return "randomKey differs from x-iyzi-rnd"
        if not hmac.compare_digest(parts["apiKey"].encode(), self.api_key.encode()):
            return "unknown apiKey"
        message = (random_key + request.path + request.get_data(as_text=True)).encode()
        expected = hmac.new(self.secret_key.encode(), message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(parts["signature"].encode(), expected.encode()):
            return "signature is not HMAC-SHA256(secretKey, randomKey + uriPath + body)"
        return ""

    def _violation(self, text: str) -> Response:
        self.violations.append(text)
        return _json({"status": "failure", "errorCode": "11", "errorMessage": f"Geçersiz istek: {text}"}, 400)

    def _details(self, request: Request) -> Response:
        wanted_id = request.args.get("paymentId")
        wanted_conversation = request.args.get("paymentConversationId")
        found = [
            p
            for key, p in self.payments.items()
            if (wanted_id and key == wanted_id) or (not wanted_id and p["paymentConversationId"] == wanted_conversation)
        ]
        if not found:
            # iyzico's full error list is not public: the code is illustrative, the shape is iyzico's.
            return _failure("5004", "Ödeme bulunamadı", "")
        body = {"status": "success", "locale": "tr", "systemTime": int(time.time() * 1000), "payments": found}
        return _json(body)


def _failure(code: str, message: str, group: str) -> Response:
    body = {"status": "failure", "errorCode": code, "errorMessage": message, "locale": "tr"}
    if group:
        body["errorGroup"] = group
    body["systemTime"] = int(time.time() * 1000)
    return _json(body)  # iyzico answers its refusals on HTTP 200


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")
