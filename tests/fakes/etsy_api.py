"""A fake Etsy Open API v3: shop receipts behind OAuth 2, checked against Etsy's published description.

What it plays:
- `GET /v3/application/shops/{shop_id}/receipts/{receipt_id}` (getShopReceipt,
  https://developers.etsy.com/documentation/reference#operation/getShopReceipt): the seeded receipts; 404
  `{"error": ...}` for one it does not know.
- Every API call needs `x-api-key: <keystring>:<shared secret>` (403 "Shared secret is required in x-api-key
  header." for the bare keystring, as Etsy answers since 2026,
  https://developers.etsy.com/documentation/essentials/requests) and `Authorization: Bearer <token>` (401
  `invalid_token` for an unknown or expired one).
- `POST /v3/public/oauth/token` with `grant_type=refresh_token`, `client_id`, `refresh_token`
  (https://developers.etsy.com/documentation/essentials/authentication): a new access token (`token_ttl`
  seconds) and a NEW refresh token each time; the one spent is refused afterwards with `invalid_grant`
  "refresh_token is revoked" (github.com/etsy/open-api/issues/353).

Requests and the fake's own 200/4xx answers are validated with openapi-core against the excerpt of Etsy's
OpenAPI description in `specs/etsy/openapi.json` (see SOURCE.md); a mismatch answers 400 and is recorded in
`violations` (`assert_clean()`). Without the excerpt the fake runs unvalidated, with a warning.

Failure switches: `fail_next(n, status, retry_after=None)` (429 storms, 5xx), `expire_tokens()`,
`revoke_refresh_token()`. State: `requests` (method, path), `token_requests`, `receipts`.

By default it knows the receipt the committed samples name (shop 51234567, receipt 3456789012), with the same
content as events/etsy/order-paid-with-receipt.json carries inline, so `mutabik send` can demo the pull.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
import time
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

__all__ = ["SAMPLE_RECEIPT", "SAMPLE_SHOP", "SENDER", "SPEC", "Fake"]

#: The sender whose API this fakes: `mutabik local` points every demo tenant's etsy at it.
SENDER = "etsy"

SPEC = Path(__file__).resolve().parent / "specs" / "etsy" / "openapi.json"
SAMPLE_SHOP = 51234567
_RECEIPT = re.compile(r"^/v3/application/shops/([^/]+)/receipts/([^/]+)$")
_TOKEN_PATH = "/v3/public/oauth/token"
_TOKEN_FORM = frozenset({"grant_type", "client_id", "refresh_token"})


def _money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "divisor": 100, "currency_code": "USD"}


#: The sample receipt (events/etsy/order-paid-with-receipt.json `data`), as getShopReceipt answers it.
SAMPLE_RECEIPT: dict[str, Any] = {
    "receipt_id": 3456789012,
    "receipt_type": 0,
    "seller_user_id": 1001,
    "seller_email": None,
    "buyer_user_id": 2002,
    "buyer_email": "jane@example.com",
    "name": "Jane Doe",
    "first_line": "12 Main Street",
    "second_line": None,
    "city": "Springfield",
    "state": "IL",
    "zip": "62701",
    "status": "paid",
    "formatted_address": "Jane Doe\n12 Main Street\nSpringfield, IL 62701\nUnited States",
    "country_iso": "US",
    "payment_method": "cc",
    "payment_email": None,
    "message_from_seller": None,
    "message_from_buyer": None,
    "message_from_payment": None,
    "is_paid": True,
    "is_shipped": True,
    "create_timestamp": 1768469100,
    "created_timestamp": 1768469100,
    "update_timestamp": 1768469160,
    "updated_timestamp": 1768469160,
    "is_gift": False,
    "gift_message": "",
    "gift_sender": "",
    "grandtotal": _money(10275),
    "subtotal": _money(8500),
    "total_price": _money(9000),
    "total_shipping_cost": _money(1200),
    "total_tax_cost": _money(575),
    "total_vat_cost": _money(0),
    "discount_amt": _money(500),
    "gift_wrap_price": _money(0),
    "shipments": [
        {
            "receipt_shipping_id": 7000000001,
            "shipment_notification_timestamp": 1768469400,
            "carrier_name": "UPS",
            "tracking_code": "1Z999AA10123456784",
        }
    ],
    "transactions": [
        {
            "transaction_id": 4100000001,
            "title": "Hand-painted İznik tile",
            "quantity": 2,
            "price": _money(3000),
            "sku": "IZNIK-TILE-20",
            "listing_id": 1500000001,
            "receipt_id": 3456789012,
            "shipping_cost": _money(0),
        },
        {
            "transaction_id": 4100000002,
            "title": "Copper coffee pot",
            "quantity": 1,
            "price": _money(3000),
            "sku": "CEZVE-BAKIR",
            "listing_id": 1500000002,
            "receipt_id": 3456789012,
            "shipping_cost": _money(0),
        },
    ],
    "refunds": [],
}


@cache
def _openapi() -> Any:
    if not SPEC.exists():
        warnings.warn(f"{SPEC} is missing: the Etsy fake runs WITHOUT checking against Etsy's API", stacklevel=2)
        return None
    from openapi_core import Config, OpenAPI

    description = json.loads(SPEC.read_text(encoding="utf-8"))
    description["servers"] = [{"url": "/"}]  # the fake answers on its own loopback address
    for item in description["paths"].values():  # openapi-core cannot read oauth2: the fake checks both itself
        for operation in item.values():
            operation.pop("security", None)
    # The excerpt is checked once by a test (test_etsy_pull), not on every start.
    return OpenAPI.from_dict(description, config=Config(spec_validator_cls=None))


@dataclass
class _Failure:
    count: int
    status: int
    retry_after: int | None


class _Answer(Exception):  # noqa: N818 - an answer, raised from deep in a handler
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class Fake:
    """The WSGI app. `credentials()` is what a tenant stores at `<prefix>/<tenant>/sender-apis/etsy`."""

    def __init__(self, *, token_ttl: int = 3600, validate: bool = True) -> None:
        self.keystring = "demoetsykeystring000000"
        self.shared_secret = "demo-etsy-shared-secret"
        self.token_ttl = token_ttl
        #: Off only where answers are fuzzed on purpose (they break the description by design).
        self.validate = validate
        self.lock = threading.Lock()
        self.receipts: dict[tuple[int, int], dict[str, Any]] = {
            (SAMPLE_SHOP, SAMPLE_RECEIPT["receipt_id"]): copy.deepcopy(SAMPLE_RECEIPT)
        }
        self.refresh_token = "1001." + secrets.token_urlsafe(24)
        self.access_tokens: dict[str, float] = {}
        self.requests: list[tuple[str, str]] = []
        self.token_requests = 0
        self.violations: list[str] = []
        self._failures: list[_Failure] = []

    # --- what tests use ----------------------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        return {"client_id": self.keystring, "client_secret": self.shared_secret, "refresh_token": self.refresh_token}

    def options(self) -> dict[str, str]:
        return {}

    def seed(self, shop_id: int, receipt: dict[str, Any]) -> None:
        with self.lock:
            self.receipts[(shop_id, int(receipt["receipt_id"]))] = copy.deepcopy(receipt)

    def fail_next(self, count: int, status: int, *, retry_after: int | None = None) -> None:
        """The next `count` receipt reads answer `status` (429 with Retry-After when given, 5xx)."""
        with self.lock:
            self._failures.append(_Failure(count, status, retry_after))

    def expire_tokens(self) -> None:
        with self.lock:
            self.access_tokens.clear()

    def revoke_refresh_token(self) -> None:
        with self.lock:
            self.refresh_token = ""

    def receipt_reads(self) -> int:
        return sum(1 for method, path in self.requests if method == "GET" and _RECEIPT.match(path))

    def assert_clean(self) -> None:
        if self.violations:
            raise AssertionError("requests that do not match Etsy's API:\n" + "\n".join(self.violations))

    # --- WSGI --------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.requests.append((request.method, request.path))
        try:
            if request.path == _TOKEN_PATH and request.method == "POST":
                status, body, headers = 200, self._token(request), {"Cache-Control": "no-store"}
            else:
                status, body, headers = 200, self._receipt(request), {}
        except _Answer as answer:
            status, body, headers = answer.status, answer.body, answer.headers
        response = Response(json.dumps(body), status=status, headers=headers, content_type="application/json")
        if request.path != _TOKEN_PATH:
            self._validate_response(request, response)
        return response(environ, start_response)

    def _token(self, request: Request) -> dict[str, Any]:
        form = request.form
        problems = [f"{name} is missing" for name in ("grant_type", "client_id", "refresh_token") if not form.get(name)]
        # The docs list these three and no client secret: Etsy's apps are public clients.
        problems += [f"{name} is not a documented parameter" for name in sorted(set(form) - _TOKEN_FORM)]
        if request.mimetype != "application/x-www-form-urlencoded":
            problems.append(f"Content-Type {request.mimetype!r}: the docs send a form")
        if problems:
            self.violations.append(f"POST {_TOKEN_PATH}: " + "; ".join(problems))
            raise _Answer(400, {"error": "invalid_request", "error_description": "; ".join(problems)})
        if form["grant_type"] != "refresh_token":
            raise _Answer(400, {"error": "unsupported_grant_type"})
        if form["client_id"] != self.keystring:
            raise _Answer(401, {"error": "invalid_client", "error_description": "client_id not found"})
        with self.lock:
            self.token_requests += 1
            if not self.refresh_token or not secrets.compare_digest(form["refresh_token"], self.refresh_token):
                raise _Answer(400, {"error": "invalid_grant", "error_description": "refresh_token is revoked"})
            access = "1001." + secrets.token_urlsafe(32)
            self.access_tokens[access] = time.time() + self.token_ttl
            self.refresh_token = "1001." + secrets.token_urlsafe(24)  # rotated: the old one is spent
            return {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": self.token_ttl,
                "refresh_token": self.refresh_token,
            }

    def _receipt(self, request: Request) -> Any:
        self._validate_request(request)
        self._authorize(request)
        match = _RECEIPT.match(request.path)
        if request.method != "GET" or not match:
            raise _Answer(404, {"error": f"{request.method} {request.path} is not played by the fake"})
        with self.lock:
            failure = self._failures[0] if self._failures else None
            if failure is not None:
                failure.count -= 1
                if failure.count <= 0:
                    self._failures.pop(0)
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                raise _Answer(
                    failure.status, {"error": "Too Many Requests" if failure.status == 429 else "Server Error"}, headers
                )
            key = (int(match.group(1)), int(match.group(2)))
            if key not in self.receipts:
                raise _Answer(404, {"error": f"A receipt with receipt_id {match.group(2)} does not exist."})
            return copy.deepcopy(self.receipts[key])

    # --- checks ------------------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> None:
        key = request.headers.get("x-api-key", "")
        keystring, colon, shared = key.partition(":")
        if not keystring:
            raise _Answer(403, {"error": "Missing API key"})  # spec: x-api-key is the api_key scheme
        if not colon:
            raise _Answer(403, {"error": "Shared secret is required in x-api-key header."})
        if keystring != self.keystring or not secrets.compare_digest(shared, self.shared_secret):
            raise _Answer(403, {"error": "Invalid API key"})
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self.lock:
            expires = self.access_tokens.get(token) if scheme.lower() == "bearer" else None
        if expires is None or expires <= time.time():
            raise _Answer(401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})

    def _validate_request(self, request: Request) -> None:
        openapi = _openapi()
        if openapi is None or not _RECEIPT.match(request.path):
            return
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest

        errors = [str(error) for error in openapi.iter_request_errors(WerkzeugOpenAPIRequest(request))]
        errors += [f"query parameter {name!r} is not in the description" for name in request.args]
        if errors:
            self.violations.append(f"{request.method} {request.path}: " + "; ".join(errors))
            raise _Answer(400, {"error": "; ".join(errors)})

    def _validate_response(self, request: Request, response: Response) -> None:
        # 429 is documented in prose (rate limits), not as a response of the operation.
        openapi = _openapi() if self.validate else None
        if openapi is None or response.status_code in (400, 429) or response.status_code > 500:
            return
        if not _RECEIPT.match(request.path):
            return
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse

        errors = [
            str(error)
            for error in openapi.iter_response_errors(
                WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response)
            )
        ]
        if errors:
            self.violations.append(f"the FAKE answered {request.method} {request.path} off Etsy's API: {errors}")
