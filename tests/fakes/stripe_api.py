"""A fake Stripe API for the reads mutabik's Stripe pull makes, checked against Stripe's own OpenAPI description.

What it plays (https://docs.stripe.com/api):
- `GET /v1/payment_intents/{intent}` and `GET /v1/charges/{charge}`: the objects it was seeded with, with
  their metadata (by default the PaymentIntent and charge of the samples in events/stripe, whose order is
  `5800000000001`).
- `Authorization: Bearer <key>` (https://docs.stripe.com/api/authentication): 401 `invalid_request_error`
  for any other key, or for every key after `revoke_key()`.
- `Stripe-Version` must be sent and well-formed (https://docs.stripe.com/api/versioning); the versions seen
  are recorded in `versions`.
- Errors as Stripe answers them (https://docs.stripe.com/api/errors): `{"error": {"type", "code", "message"}}`,
  404 `resource_missing` for an unknown id, 429 `rate_limit` from `fail_next(n, 429, retry_after=…)`, 5xx.

Every request is validated with openapi-core against `specs/stripe/spec3.excerpt.json` (a trimmed excerpt of
stripe/openapi `openapi/spec3.json`, see SOURCE.md beside it), and so is every answer of the fake. A mismatch
is answered 400 and recorded in `violations`; tests call `assert_clean()`.

Standalone: needs only this module, werkzeug and openapi-core; without the excerpt the fake runs unvalidated,
with a warning.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

__all__ = ["SAMPLE_CHARGE", "SAMPLE_ORDER", "SAMPLE_PAYMENT_INTENT", "SPEC", "Fake"]

#: The sender whose API this fakes: `mutabik local` points every demo tenant's stripe at it.
SENDER = "stripe"

SPEC = Path(__file__).resolve().parent / "specs" / "stripe" / "spec3.excerpt.json"
#: What the samples in events/stripe name: the refund's PaymentIntent and charge, and the shop's order.
SAMPLE_PAYMENT_INTENT = "pi_3QdemoTRY0001"
SAMPLE_CHARGE = "ch_3QdemoTRY0001"
SAMPLE_ORDER = "5800000000001"
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")
_ROUTES = Map(
    [
        Rule("/v1/payment_intents/<intent>", endpoint="payment_intents", methods=["GET"]),
        Rule("/v1/charges/<charge>", endpoint="charges", methods=["GET"]),
    ]
)


@cache
def _openapi() -> Any:
    if not SPEC.exists():
        warnings.warn(f"{SPEC} is missing: the Stripe fake runs WITHOUT checking against Stripe's spec", stacklevel=2)
        return None
    from openapi_core import OpenAPI

    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    spec["servers"] = [{"url": "/"}]  # the fake serves on whatever loopback URL it is given, not api.stripe.com
    for item in spec["paths"].values():
        for parameter in item["get"]["parameters"]:
            if parameter.get("style") == "deepObject" and parameter["schema"].get("type") == "array":
                # Stripe publishes `expand` as an array in deepObject style, which OpenAPI 3.0 defines for objects
                # only and openapi-core cannot read; its wire form is `expand[]=…`, accepted by name below.
                parameter["style"] = "form"
    return OpenAPI.from_dict(spec)


@dataclass
class _Switch:
    count: int
    status: int
    retry_after: int | None = None


class _Answer(Exception):  # noqa: N818 - not an error: the answer to send
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _error(status: int, kind: str, message: str, code: str = "", param: str = "") -> _Answer:
    error = {"type": kind, "message": message}
    if code:
        error |= {"code": code, "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"}
    if param:
        error["param"] = param
    return _Answer(status, {"error": error})


class Fake:
    """The Stripe API of one account: seed with `add_payment_intent` / `add_charge`."""

    def __init__(self, *, validate: bool = True, samples: bool = True) -> None:
        self.secret_key = "sk_test_" + secrets.token_hex(12)
        self.openapi = _openapi() if validate else None
        self.lock = threading.RLock()
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self.versions: list[str] = []  # Stripe-Version of every request
        self.violations: list[str] = []
        self.revoked = False
        self._fail: list[_Switch] = []
        if samples:
            self.add_payment_intent(SAMPLE_PAYMENT_INTENT, {"order_id": SAMPLE_ORDER}, amount=164000)
            self.add_charge(SAMPLE_CHARGE, {"order_id": SAMPLE_ORDER}, payment_intent=SAMPLE_PAYMENT_INTENT)

    # --- what a tenant needs ---------------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        return {"secret_key": self.secret_key}

    def options(self) -> dict[str, str]:
        return {}

    # --- seeding and switches --------------------------------------------------------------------------

    def add_payment_intent(
        self, ident: str, metadata: dict[str, str] | None = None, *, amount: int = 10000, currency: str = "try"
    ) -> None:
        with self.lock:
            self.payment_intents[ident] = {
                "id": ident,
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_received": amount,
                "canceled_at": None,
                "capture_method": "automatic",
                "client_secret": f"{ident}_secret_{secrets.token_hex(6)}",
                "confirmation_method": "automatic",
                "created": 1768469400,
                "currency": currency,
                "customer": None,
                "description": None,
                "livemode": False,
                "metadata": dict(metadata or {}),
                "payment_method": "pm_card_visa",
                "payment_method_types": ["card"],
                "receipt_email": None,
                "status": "succeeded",
            }

    def add_charge(
        self,
        ident: str,
        metadata: dict[str, str] | None = None,
        *,
        payment_intent: str | None = None,
        amount: int = 164000,
        currency: str = "try",
    ) -> None:
        with self.lock:
            self.charges[ident] = {
                "id": ident,
                "object": "charge",
                "amount": amount,
                "amount_captured": amount,
                "amount_refunded": 0,
                "balance_transaction": None,
                "billing_details": {"address": None, "email": None, "name": None, "phone": None},
                "captured": True,
                "created": 1768469460,
                "currency": currency,
                "customer": None,
                "description": None,
                "disputed": False,
                "livemode": False,
                "metadata": dict(metadata or {}),
                "paid": True,
                "payment_intent": payment_intent,
                "payment_method": "pm_card_visa",
                "refunded": False,
                "refunds": {"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{ident}/refunds"},
                "status": "succeeded",
            }

    def set_metadata(self, ident: str, metadata: dict[str, str]) -> None:
        """What the shop does in Stripe: set (or fix) an object's metadata."""
        with self.lock:
            target = self.payment_intents.get(ident) or self.charges[ident]
            target["metadata"] = dict(metadata)

    def fail_next(self, count: int, status: int = 500, *, retry_after: int | None = None) -> None:
        """The next `count` requests are answered `status` (429 as Stripe's rate limiter, 5xx as an outage)."""
        with self.lock:
            self._fail.append(_Switch(count, status, retry_after))

    def revoke_key(self) -> None:
        """The tenant's key was rolled or deleted in the Dashboard: every request is refused with 401."""
        with self.lock:
            self.revoked = True

    def reads(self, prefix: str = "/v1/") -> list[str]:
        with self.lock:
            return [path for method, path in self.requests if method == "GET" and path.startswith(prefix)]

    def assert_clean(self) -> None:
        if self.violations:
            raise AssertionError("requests that do not match Stripe's spec:\n" + "\n".join(self.violations))

    # --- WSGI ------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.requests.append((request.method, request.path))
        try:
            status, body = self._handle(request)
            answer = _Answer(status, body)
        except _Answer as exc:
            answer = exc
        response = Response(
            json.dumps(answer.body), status=answer.status, headers=answer.headers, content_type="application/json"
        )
        if answer.status != 400:
            self._check_answer(request, response)
        return response(environ, start_response)

    def _handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            message = f"Unrecognized request URL ({request.method}: {request.path})"
            raise _error(404, "invalid_request_error", message) from exc
        self._check_request(request)
        self._authorize(request)
        with self.lock:
            self._inject_failure()
            table = self.payment_intents if endpoint == "payment_intents" else self.charges
            ident = next(iter(args.values()))
            found = table.get(ident)
            if found is None:
                kind = "payment_intent" if endpoint == "payment_intents" else "charge"
                raise _error(404, "invalid_request_error", f"No such {kind}: '{ident}'", "resource_missing", "id")
            return 200, json.loads(json.dumps(found, default=str))

    def _authorize(self, request: Request) -> None:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        known = scheme.lower() == "bearer" and secrets.compare_digest(key.encode(), self.secret_key.encode())
        if not known or self.revoked:
            shown = f"{key[:8]}****{key[-4:]}" if len(key) > 12 else "****"
            raise _error(401, "invalid_request_error", f"Invalid API Key provided: {shown}")

    def _inject_failure(self) -> None:
        switch = next((s for s in self._fail if s.count > 0), None)
        if switch is None:
            return
        switch.count -= 1
        headers = {"Retry-After": str(switch.retry_after)} if switch.retry_after is not None else {}
        if switch.status == 429:
            message = (
                "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."
            )
            answer = _error(429, "invalid_request_error", message, "rate_limit")
        else:
            answer = _error(switch.status, "api_error", "Sorry, something went wrong on Stripe's end.")
        answer.headers = headers | {"Stripe-Should-Retry": "true"}
        raise answer

    # --- checks ----------------------------------------------------------------------------------------

    def _violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)

    def _check_request(self, request: Request) -> None:
        errors: list[str] = []
        version = request.headers.get("Stripe-Version", "")
        with self.lock:
            self.versions.append(version)
        if not _VERSION.match(version):
            errors.append(f"Stripe-Version {version!r} is not an API version (https://docs.stripe.com/api/versioning)")
        if self.openapi is not None:
            from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest

            errors += [_describe(e) for e in self.openapi.iter_request_errors(WerkzeugOpenAPIRequest(request))]
            declared = {"expand", "expand[]", "client_secret"}
            errors += [f"query parameter {name!r} is not in the spec" for name in request.args if name not in declared]
        if errors:
            self._violation(f"{request.method} {request.full_path.rstrip('?')}: " + "; ".join(errors))
            raise _error(400, "invalid_request_error", "; ".join(errors))

    def _check_answer(self, request: Request, response: Response) -> None:
        if self.openapi is None:
            return
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse

        found = self.openapi.iter_response_errors(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
        errors = [_describe(e) for e in found]
        if errors:
            self._violation(f"the FAKE answered {request.method} {request.path} off the spec: " + "; ".join(errors))


def _describe(error: Exception) -> str:
    cause = error.__cause__
    details = getattr(cause, "schema_errors", None)
    if details:
        return f"{type(error).__name__}: " + "; ".join(
            f"{'/'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}" for e in details
        )
    return f"{type(error).__name__}: {cause or error}"
