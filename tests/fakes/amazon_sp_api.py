"""A fake Amazon Selling Partner API for one seller: Login with Amazon tokens and the Orders API v0 reads.

What it plays:
- LWA `POST /auth/o2/token` (the tenant's `token_url` option points here): the refresh_token grant as the docs
  describe it (https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api, step 1):
  a form with grant_type, refresh_token, client_id and client_secret, all required; `invalid_request`,
  `invalid_client` (401), `invalid_grant`, `unsupported_grant_type` otherwise. Access tokens last `token_ttl`
  seconds; the refresh token does not rotate. LWA publishes no OpenAPI: these rules are checked by hand, and a
  request that breaks them is recorded in `violations`.
- getOrder `GET /orders/v0/orders/{orderId}` and getOrderItems `GET /orders/v0/orders/{orderId}/orderItems`
  (NextToken pages of `items_per_page`), with the token in `x-amz-access-token`: 403 `Unauthorized` for a
  missing, unknown or expired token, as SP-API answers; 404 for an order the seller does not have. Every
  answer carries `x-amzn-RateLimit-Limit` and `x-amzn-RequestId`.

Every Orders request and every answer of the fake is validated with openapi-core against the committed excerpt
of Amazon's ordersV0.json (specs/amazon, see SOURCE.md); a mismatch is answered 400 / recorded in
`violations`, and `assert_clean()` fails the test with them.

Seeded with the order of the committed samples (events/amazon, 903-8868176-2219830: an amazon.com.tr order in
TRY), so the local runtime can demo the pull. `add_order` seeds more.

Failure switches: `expire_tokens()`, `fail_next(count, status, operation=, retry_after=)` (429 carries
x-amzn-RateLimit-Limit and, only if asked, Retry-After — SP-API documents the former), `raw_answer(operation,
body)` (an answer off the spec, for fuzzing; not validated).

Standalone: needs only this module, werkzeug and openapi-core.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

__all__ = ["SAMPLE_ORDER", "SENDER", "SPEC", "TURKEY", "Fake", "item"]

#: The sender whose API this fakes (the local runtime starts it for the demo tenant's Amazon deliveries).
SENDER = "amazon"
SPEC = Path(__file__).resolve().parent / "specs" / "amazon" / "ordersV0.excerpt.json"
#: The order every committed ORDER_CHANGE sample names.
SAMPLE_ORDER = "903-8868176-2219830"
#: amazon.com.tr's MarketplaceId (https://developer-docs.amazon.com/sp-api/docs/marketplace-ids).
TURKEY = "A33AVAJ2PDY3EV"
RATE_LIMIT = "0.5"  # getOrder / getOrderItems default usage plan, requests per second

_ROUTES = Map(
    [
        Rule("/auth/o2/token", endpoint="token", methods=["POST"]),
        Rule("/orders/v0/orders/<order_id>", endpoint="getOrder", methods=["GET"]),
        Rule("/orders/v0/orders/<order_id>/orderItems", endpoint="getOrderItems", methods=["GET"]),
    ]
)
_QUERIES = {"getOrder": frozenset[str](), "getOrderItems": frozenset({"NextToken"})}


def _money(amount: str | Decimal, currency: str = "TRY") -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": f"{Decimal(amount):.2f}"}


def item(
    sku: str,
    quantity: int,
    price: str,
    *,
    tax: str = "0",
    promotion: str = "0",
    shipping: str = "0",
    shipping_tax: str = "0",
    title: str = "",
    currency: str = "TRY",
) -> dict[str, Any]:
    """An OrderItem as getOrderItems gives it: `price` (ItemPrice) is for the whole quantity."""
    return {
        "ASIN": "B0" + hashlib.sha256(sku.encode()).hexdigest()[:8].upper(),
        "OrderItemId": str(int(hashlib.sha256(f"{sku}:{quantity}".encode()).hexdigest()[:12], 16)),
        "SellerSKU": sku,
        "Title": title or f"Ürün {sku}",
        "QuantityOrdered": quantity,
        "QuantityShipped": 0,
        "ItemPrice": _money(price, currency),
        "ItemTax": _money(tax, currency),
        "PromotionDiscount": _money(promotion, currency),
        "PromotionDiscountTax": _money("0", currency),
        "ShippingPrice": _money(shipping, currency),
        "ShippingTax": _money(shipping_tax, currency),
        "ShippingDiscount": _money("0", currency),
        "IsGift": False,
        "ConditionId": "New",
    }


@dataclass
class _Switch:
    count: int
    status: int
    operation: str | None
    retry_after: int | None


class _Answer(Exception):  # noqa: N818 (an answer, raised to end the handling early)
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _errors(status: int, code: str, message: str, details: str = "") -> _Answer:
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return _Answer(status, {"errors": [error]})


@cache
def _openapi() -> Any | None:
    """The excerpt, loaded once; None (with a warning) when it is missing."""
    if not SPEC.exists():
        warnings.warn(f"{SPEC} is missing: the Amazon fake runs WITHOUT checking against ordersV0", stacklevel=2)
        return None
    from openapi_core import Config, OpenAPI

    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    spec["servers"] = [{"url": "/"}]  # the fake serves on whatever loopback URL it was given
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


class Fake:
    """Amazon for one seller and one app, in memory. Thread-safe: werkzeug serves it from several threads."""

    def __init__(self, *, token_ttl: float = 3600.0, items_per_page: int = 100, validate: bool = True) -> None:
        self.client_id = "amzn1.application-oa2-client.fake"
        self.client_secret = "amzn1.oa2-cs.v1." + secrets.token_hex(16)
        self.refresh_token = "Atzr|" + secrets.token_urlsafe(32)
        self.token_ttl = token_ttl
        self.items_per_page = items_per_page
        self.openapi = _openapi() if validate else None
        self.lock = threading.RLock()
        self.access_tokens: dict[str, float] = {}  # token → expires at (Unix seconds)
        self.orders: dict[str, dict[str, Any]] = {}
        self.items: dict[str, list[dict[str, Any]]] = {}
        # What happened.
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self.token_requests = 0
        self.violations: list[str] = []
        self._fail: list[_Switch] = []
        self._raw: dict[str, Any] = {}
        # The samples' order: 10 × SellerSKUID1 at 120 TRY (KDV 20 % included), 50 TRY promotion, 29.90 shipping.
        self.add_order(
            SAMPLE_ORDER,
            [
                item(
                    "SellerSKUID1",
                    10,
                    "1200.00",
                    tax="200.00",
                    promotion="50.00",
                    shipping="29.90",
                    shipping_tax="4.98",
                )
            ],
            purchase_date="2022-07-13T19:42:04Z",
        )

    # --- what a tenant needs ---------------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        """The sender-apis secret: the app's LWA client and the seller's refresh token."""
        return {"client_id": self.client_id, "client_secret": self.client_secret, "refresh_token": self.refresh_token}

    def options(self) -> dict[str, str]:
        """LWA is on another host in production; here the fake serves it, relative to `api_url`."""
        return {"token_url": "/auth/o2/token"}

    # --- seeding and switches --------------------------------------------------------------------------

    def add_order(
        self,
        order_id: str,
        items: list[dict[str, Any]],
        *,
        status: str = "Unshipped",
        marketplace: str = TURKEY,
        currency: str = "TRY",
        total: str | None = None,
        purchase_date: str = "2026-01-15T09:00:00Z",
    ) -> dict[str, Any]:
        """An order the seller has; OrderTotal defaults to what its items add up to (tax-inclusive prices)."""
        if total is None:
            paid = sum(
                Decimal(i["ItemPrice"]["Amount"])
                - Decimal(i["PromotionDiscount"]["Amount"])
                + Decimal(i["ShippingPrice"]["Amount"])
                - Decimal(i["ShippingDiscount"]["Amount"])
                for i in items
            )
            total = str(paid)
        order = {
            "AmazonOrderId": order_id,
            "PurchaseDate": purchase_date,
            "LastUpdateDate": purchase_date,
            "OrderStatus": status,
            "FulfillmentChannel": "MFN",
            "SalesChannel": "Amazon.com.tr",
            "OrderTotal": _money(total, currency),
            "NumberOfItemsShipped": 0,
            "NumberOfItemsUnshipped": sum(i["QuantityOrdered"] for i in items),
            "PaymentMethod": "Other",
            "PaymentMethodDetails": ["Standard"],
            "MarketplaceId": marketplace,
            "ShipmentServiceLevelCategory": "Standard",
            "OrderType": "StandardOrder",
            "IsBusinessOrder": False,
            "IsPrime": False,
            "IsPremiumOrder": False,
            "IsGlobalExpressEnabled": False,
            "IsReplacementOrder": False,
            "IsSoldByAB": False,
        }
        with self.lock:
            self.orders[order_id] = order
            self.items[order_id] = copy.deepcopy(items)
        return order

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working now (the refresh token still does)."""
        with self.lock:
            self.access_tokens = dict.fromkeys(self.access_tokens, 0.0)

    def fail_next(
        self, count: int, status: int = 500, *, operation: str | None = None, retry_after: int | None = None
    ) -> None:
        """The next `count` Orders requests (of `operation`, if named) are answered `status` and nothing else."""
        with self.lock:
            self._fail.append(_Switch(count, status, operation, retry_after))

    def raw_answer(self, operation: str, body: Any) -> None:
        """Answer `operation` (getOrder / getOrderItems) with `body` as it is, 200, off the spec (fuzzing);
        None answers normally again."""
        with self.lock:
            if body is None:
                self._raw.pop(operation, None)
            else:
                self._raw[operation] = body

    def api_calls(self) -> list[str]:
        """The Orders operations called, in order (tokens not counted)."""
        return [
            ("getOrderItems" if path.endswith("/orderItems") else "getOrder")
            for _, path in self.requests
            if path.startswith("/orders/")
        ]

    def assert_clean(self) -> None:
        if self.violations:
            raise AssertionError("requests off Amazon's documented API:\n" + "\n".join(self.violations))

    # --- WSGI ------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self._respond(request)(environ, start_response)

    def _respond(self, request: Request) -> Response:
        with self.lock:
            self.requests.append((request.method, request.path))
        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
        except HTTPException:
            return _json(_errors(404, "NotFound", f"{request.method} {request.path} is not played by the fake"))
        if endpoint == "token":
            return self._token(request)
        raw = False
        try:
            self._validate_request(request, endpoint)
            self._authorize(request)
            with self.lock:
                self._inject_failure(endpoint)
                if endpoint in self._raw:
                    raw = True
                    raise _Answer(200, self._raw[endpoint])
                body = self._get_order(**args) if endpoint == "getOrder" else self._get_items(request, **args)
            answer = _Answer(200, body)
        except _Answer as exc:
            answer = exc
        answer.headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
        if answer.status not in (403, 404):  # as ordersV0.json documents the header
            answer.headers.setdefault("x-amzn-RateLimit-Limit", RATE_LIMIT)
        response = _json(answer)
        if not raw:
            self._validate_response(request, response)
        return response

    # --- checks ----------------------------------------------------------------------------------------

    def _violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)

    def _validate_request(self, request: Request, endpoint: str) -> None:
        errors = [
            f"query parameter {name!r} is not in ordersV0" for name in request.args if name not in _QUERIES[endpoint]
        ]
        if self.openapi is not None:
            from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest

            errors += [str(e.__cause__ or e) for e in self.openapi.iter_request_errors(WerkzeugOpenAPIRequest(request))]
        if errors:
            self._violation(f"{request.method} {request.full_path.rstrip('?')}: " + "; ".join(errors))
            raise _errors(400, "InvalidInput", "Invalid Input", "; ".join(errors))

    def _validate_response(self, request: Request, response: Response) -> None:
        if self.openapi is None:
            return
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse

        errors = [
            str(e.__cause__ or e)
            for e in self.openapi.iter_response_errors(
                WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response)
            )
        ]
        if errors:
            self._violation(f"the FAKE answered {request.method} {request.path} off ordersV0: " + "; ".join(errors))

    def _authorize(self, request: Request) -> None:
        token = request.headers.get("x-amz-access-token", "")
        with self.lock:
            expires = self.access_tokens.get(token)
        if expires is None:
            raise _errors(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token you provided is revoked, malformed or invalid.",
            )
        if expires <= time.time():
            raise _errors(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token you provided has expired.",
            )

    def _inject_failure(self, endpoint: str) -> None:
        switch = next((s for s in self._fail if s.operation in (None, endpoint)), None)
        if switch is None:
            return
        switch.count -= 1
        if switch.count <= 0:
            self._fail.remove(switch)
        if switch.status == 429:
            answer = _errors(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
            if switch.retry_after is not None:
                answer.headers["Retry-After"] = str(switch.retry_after)
            raise answer
        if switch.status == 503:
            raise _errors(503, "ServiceUnavailable", "Service temporarily unavailable.")
        raise _errors(switch.status, "InternalFailure", "We encountered an internal error. Please try again.")

    # --- LWA ------------------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        def refuse(status: int, error: str, description: str) -> Response:
            body = {"error": error, "error_description": description}
            return Response(json.dumps(body), status=status, content_type="application/json")

        if request.mimetype != "application/x-www-form-urlencoded":
            self._violation(f"POST /auth/o2/token with {request.mimetype!r}: LWA reads an urlencoded form")
            return refuse(400, "invalid_request", "The request is missing a required parameter or is malformed.")
        form = request.form
        missing = [k for k in ("grant_type", "refresh_token", "client_id", "client_secret") if not form.get(k)]
        if missing:
            self._violation(f"POST /auth/o2/token without {', '.join(missing)}")
            return refuse(400, "invalid_request", f"The request is missing a required parameter : {missing[0]}")
        if form["grant_type"] != "refresh_token":
            self._violation(f"POST /auth/o2/token with grant_type {form['grant_type']!r}")
            return refuse(400, "unsupported_grant_type", "The authorization grant type is not supported.")
        if not (_same(form["client_id"], self.client_id) and _same(form["client_secret"], self.client_secret)):
            return refuse(401, "invalid_client", "Client authentication failed")
        if not _same(form["refresh_token"], self.refresh_token):
            return refuse(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
        access = "Atza|" + secrets.token_urlsafe(32)
        with self.lock:
            self.access_tokens[access] = time.time() + self.token_ttl
            self.token_requests += 1
        body = {
            "access_token": access,
            "refresh_token": self.refresh_token,
            "token_type": "bearer",
            "expires_in": int(self.token_ttl),
        }
        return Response(json.dumps(body), status=200, content_type="application/json")

    # --- Orders ---------------------------------------------------------------------------------------

    def _order(self, order_id: str) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise _errors(404, "NotFound", "Invalid AmazonOrderId: the order was not found for this seller.")
        return order

    def _get_order(self, order_id: str) -> dict[str, Any]:
        return {"payload": self._order(order_id)}

    def _get_items(self, request: Request, order_id: str) -> dict[str, Any]:
        self._order(order_id)
        start = 0
        if "NextToken" in request.args:
            try:
                owner, _, offset = base64.urlsafe_b64decode(request.args["NextToken"]).decode().rpartition(":")
                start = int(offset)
            except ValueError:
                owner = ""
            if owner != order_id:
                raise _errors(400, "InvalidInput", "Invalid Input", "NextToken is not one of this order's")
        items = self.items[order_id]
        page: dict[str, Any] = {
            "AmazonOrderId": order_id,
            "OrderItems": items[start : start + self.items_per_page],
        }
        if start + self.items_per_page < len(items):
            page["NextToken"] = base64.urlsafe_b64encode(f"{order_id}:{start + self.items_per_page}".encode()).decode()
        return {"payload": page}


def _json(answer: _Answer) -> Response:
    return Response(
        json.dumps(answer.body), status=answer.status, headers=answer.headers, content_type="application/json"
    )


def _same(given: str, expected: str) -> bool:
    """Credentials compared in constant time, as a real token endpoint compares them."""
    return hmac.compare_digest(given.encode(), expected.encode())
