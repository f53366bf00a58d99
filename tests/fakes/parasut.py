"""A fake Paraşüt API v4 that checks every request against Paraşüt's own swagger.json.

What it plays (https://apidocs.parasut.com, the description of the swagger this fake loads):
- OAuth2 at `/oauth/token` as Doorkeeper answers it: password and refresh_token grants, access tokens that
  last `token_ttl` seconds, a refresh token that ROTATES on every use (the old one is refused with
  `invalid_grant`, and the access token it belonged to stops working), 401 for an expired or unknown token.
- `/v4/{company_id}/…`: contacts, products, sales invoices (payments, cancel), purchase bills, e-Fatura inbox
  lookup, e-Arşiv and e-Fatura creation through trackable jobs that finish after `job_polls` polls or
  `job_seconds`, the e-document PDF (204 until it is ready, as the docs say), in JSON:API.
- "10 requests in 10 seconds" per company (`rate_limit`), 429 with Retry-After beyond it.
- 422 with JSON:API errors for what Paraşüt refuses: an e-Arşiv to a registered e-Fatura user, an e-Fatura to
  someone who is not one, a second e-document for one invoice, a payment above what is left to pay …

Every request is validated with openapi-core against swagger.json converted to OpenAPI 3 at load time
(`to_openapi3`; openapi-core reads OpenAPI 3 only). A request that does not match is answered 400 and
recorded in `violations`; so is an answer of the fake that does not match the documented response.
Tests call `assert_clean()` at teardown: a mismatch fails them loudly.

Failure switches, for "exactly one document each, never two": `expire_tokens()`, `fail_next(n, status)`,
`slow_next(n, seconds)` (the work is done, then the answer comes too late: the lost-answer case),
`reject_next_job(message)`.

Standalone: needs only this module, werkzeug and openapi-core. swagger.json is read from
`../shared/specs/parasut` next to the repository; without it the fake runs unvalidated, with a warning.
"""

from __future__ import annotations

import hmac
import itertools
import json
import math
import re
import secrets
import threading
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

__all__ = ["SWAGGER", "Fake", "to_openapi3"]

SWAGGER = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "parasut" / "swagger.json"
_MEDIA = ("application/json", "application/vnd.api+json")
_PARAMETER_SCHEMA = ("type", "format", "items", "enum", "default", "minimum", "maximum", "pattern", "maxLength")
KURUS = Decimal("0.01")


# --- swagger 2.0 → OpenAPI 3.0 ----------------------------------------------------------------------------


def _fix_schema(node: Any) -> Any:
    """A schema as OpenAPI 3 reads it, with Paraşüt's slips mended (each one named):
    `$ref`s to definitions move to components; `"type": "Number"` is `number`; `"pattern": "YYYY-MM-DD"` is a
    placeholder, not a regex, and is dropped (it would refuse every real date); a property given as a
    one-element list is that element (CompanyAttributes.logo); `required: true` on a property (a Swagger 1
    habit, StockUpdateDetailAttributes) is dropped; string enums listing numbers are compared as strings."""
    if isinstance(node, list):
        return [_fix_schema(value) for value in node]
    if not isinstance(node, dict):
        return node
    fixed: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            fixed[key] = value.replace("#/definitions/", "#/components/schemas/")
        elif key == "type" and value == "Number":
            fixed[key] = "number"
        elif (key == "pattern" and value == "YYYY-MM-DD") or (key == "required" and isinstance(value, bool)):
            continue
        else:
            fixed[key] = _fix_schema(value)
    properties = fixed.get("properties")
    if isinstance(properties, dict):
        fixed["properties"] = {
            name: (value[0] if isinstance(value, list) and len(value) == 1 else value)
            for name, value in properties.items()
        }
    if fixed.get("type") == "string" and isinstance(fixed.get("enum"), list):
        fixed["enum"] = [str(value) for value in fixed["enum"]]
    return fixed


def _operation(operation: dict[str, Any], shared: list[dict[str, Any]]) -> dict[str, Any]:
    parameters = {(p["name"], p["in"]): p for p in [*shared, *operation.get("parameters", [])]}.values()
    converted: dict[str, Any] = {k: operation[k] for k in ("tags", "operationId", "summary") if k in operation}
    converted["parameters"] = [
        {
            "name": p["name"],
            "in": p["in"],
            "required": bool(p.get("required", p["in"] == "path")),
            "schema": _fix_schema({k: p[k] for k in _PARAMETER_SCHEMA if k in p}),
        }
        for p in parameters
        if p["in"] not in ("body", "formData")
    ]
    body = next((p for p in parameters if p["in"] == "body"), None)
    if body is not None:
        schema = _fix_schema(body["schema"])
        converted["requestBody"] = {
            "required": bool(body.get("required")),
            "content": {media: {"schema": schema} for media in _MEDIA},
        }
    converted["responses"] = {
        code: {
            "description": answer.get("description") or code,
            **(
                {"content": {m: {"schema": _fix_schema(answer["schema"])} for m in _MEDIA}}
                if "schema" in answer
                else {}
            ),
        }
        for code, answer in operation["responses"].items()
    }
    return converted


def to_openapi3(swagger: dict[str, Any]) -> dict[str, Any]:
    """Paraşüt's Swagger 2.0 as OpenAPI 3.0.3. Body parameters become request bodies (JSON and JSON:API media
    types, the docs accept both); `/purchase_bills#basic` and `#detailed` — two shapes of one POST, told apart
    by a URL fragment no request carries — become one operation whose body may be either (anyOf). Security is
    left out: the fake checks Bearer tokens itself."""
    paths: dict[str, dict[str, Any]] = {}
    for raw_path, item in swagger["paths"].items():
        target = paths.setdefault(raw_path.partition("#")[0], {})
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            converted = _operation(operation, shared)
            existing = target.get(method)
            if existing is None:
                target[method] = converted
                continue
            existing.pop("operationId", None)
            for media in _MEDIA:
                before = existing["requestBody"]["content"][media]["schema"]
                added = converted["requestBody"]["content"][media]["schema"]
                existing["requestBody"]["content"][media]["schema"] = {"anyOf": [*before.get("anyOf", [before]), added]}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Paraşüt API v4 (converted)", "version": str(swagger.get("info", {}).get("version", "4"))},
        "servers": [{"url": swagger.get("basePath", "/v4")}],
        "paths": paths,
        "components": {"schemas": _fix_schema(swagger.get("definitions", {}))},
    }


@dataclass(frozen=True)
class _Spec:
    """The validator, and the query parameters each operation declares (openapi-core lets unknown ones pass)."""

    openapi: Any
    queries: tuple[tuple[str, re.Pattern[str], frozenset[str]], ...]

    def undeclared(self, request: Request) -> list[str]:
        method = request.method.lower()
        for verb, pattern, declared in self.queries:
            if verb == method and pattern.match(request.path):
                return [
                    f"query parameter {name!r} is not in the swagger" for name in request.args if name not in declared
                ]
        return []


@cache
def _spec() -> _Spec | None:
    """Built once per process (the swagger is 800 kB). None, with a warning, when the swagger is not there."""
    if not SWAGGER.exists():
        warnings.warn(
            f"{SWAGGER} is missing: the Paraşüt fake runs WITHOUT checking requests against the swagger",
            stacklevel=2,
        )
        return None
    from openapi_core import Config, OpenAPI

    converted = to_openapi3(json.loads(SWAGGER.read_text(encoding="utf-8")))
    config = Config(
        spec_validator_cls=None,  # the converted spec is checked once by a test, not on every start
        extra_media_type_deserializers={"application/vnd.api+json": json.loads},
    )
    base = converted["servers"][0]["url"]
    queries = []
    # Literal paths before templated ones, so /e_archives/{id}/pdf never passes for /e_archives/{id}.
    for template, item in sorted(converted["paths"].items(), key=lambda kv: kv[0].count("{")):
        pattern = re.compile("^" + base + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
        for method, operation in item.items():
            names = frozenset(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
            queries.append((method, pattern, names))
    return _Spec(OpenAPI.from_dict(converted, config=config), tuple(queries))


# --- state -------------------------------------------------------------------------------------------------


def _today() -> str:
    return date.today().isoformat()


def _money(value: Decimal) -> float:
    return float(value.quantize(KURUS, rounding=ROUND_HALF_UP))


@dataclass
class _Switch:
    """Something to do to the next `count` requests that `when` picks."""

    count: int
    when: Callable[[Request], bool]
    status: int = 500
    seconds: float = 0.0
    retry_after: int | None = None


@dataclass
class _Resource:
    id: int
    type: str
    attributes: dict[str, Any]
    relationships: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"id": str(self.id), "type": self.type, "attributes": self.attributes}
        if self.relationships:
            document["relationships"] = self.relationships
        return document


class _Answer(Exception):  # noqa: N818 - not an error: the answer to send
    """Stop handling and answer this (a JSON:API error, usually)."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _errors(status: int, *pairs: tuple[str, str]) -> _Answer:
    return _Answer(status, {"errors": [{"title": title, "detail": detail} for title, detail in pairs]})


_ROUTES = Map(
    [
        Rule("/oauth/token", endpoint="token", methods=["POST"]),
        Rule("/v4/<int:company>/contacts", endpoint="contacts"),
        Rule("/v4/<int:company>/products", endpoint="products"),
        Rule("/v4/<int:company>/sales_invoices", endpoint="sales_invoices"),
        Rule("/v4/<int:company>/sales_invoices/<int:ident>", endpoint="sales_invoice"),
        Rule("/v4/<int:company>/sales_invoices/<int:ident>/cancel", endpoint="cancel"),
        Rule("/v4/<int:company>/sales_invoices/<int:ident>/payments", endpoint="payments"),
        Rule("/v4/<int:company>/purchase_bills", endpoint="purchase_bills"),
        Rule("/v4/<int:company>/purchase_bills/<int:ident>", endpoint="purchase_bill"),
        Rule("/v4/<int:company>/e_invoice_inboxes", endpoint="inboxes"),
        Rule("/v4/<int:company>/e_archives", endpoint="e_archives"),
        Rule("/v4/<int:company>/e_archives/<int:ident>", endpoint="e_archive"),
        Rule("/v4/<int:company>/e_archives/<int:ident>/pdf", endpoint="e_archive_pdf"),
        Rule("/v4/<int:company>/e_invoices", endpoint="e_invoices"),
        Rule("/v4/<int:company>/e_invoices/<int:ident>", endpoint="e_invoice"),
        Rule("/v4/<int:company>/e_invoices/<int:ident>/pdf", endpoint="e_invoice_pdf"),
        Rule("/v4/<int:company>/trackable_jobs/<int:ident>", endpoint="trackable_job"),
    ]
)


class Fake:
    """Paraşüt for one company, in memory. Thread-safe: werkzeug serves it from several threads."""

    def __init__(
        self,
        *,
        company_id: int = 4242,
        account_id: int = 1001,
        token_ttl: float = 7200.0,
        rate_limit: tuple[int, float] = (10, 10.0),
        job_polls: int = 2,
        job_seconds: float = 1.0,
        pdf_polls: int = 1,
        validate: bool = True,
    ) -> None:
        self.company_id = company_id
        self.account_id = account_id
        self.client_id = "fake-parasut-client"
        self.client_secret = secrets.token_urlsafe(16)
        self.username = "muhasebe@kahve.example"
        self.password = secrets.token_urlsafe(12)
        self.token_ttl = token_ttl
        self.rate_limit = rate_limit
        self.job_polls = job_polls
        self.job_seconds = job_seconds
        self.pdf_polls = pdf_polls
        self.spec = _spec() if validate else None
        self.lock = threading.RLock()
        self._ids = itertools.count(101)
        # Tokens: access token → (expires at, its refresh token); refresh token → still usable.
        self.access_tokens: dict[str, tuple[float, str]] = {}
        self.refresh_tokens: dict[str, bool] = {}
        self.grants: list[str] = []  # grant_type of every token request that issued a token
        self.token_delay = 0.0  # seconds a token answer takes (after the token is issued)
        # What the company has.
        self.contacts: dict[int, _Resource] = {}
        self.products: dict[int, _Resource] = {}
        self.sales_invoices: dict[int, _Resource] = {}
        self.details: dict[int, _Resource] = {}
        self.purchase_bills: dict[int, _Resource] = {}
        self.payments: dict[int, _Resource] = {}
        self.e_archives: dict[int, _Resource] = {}
        self.e_invoices: dict[int, _Resource] = {}
        self.jobs: dict[int, dict[str, Any]] = {}
        self.inboxes: dict[str, list[dict[str, Any]]] = {}
        self.pdf_requests: dict[tuple[str, int], int] = {}
        self.accounts = {account_id: "TRL"}
        self._numbers = itertools.count(1)
        # What happened.
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self.violations: list[str] = []
        self.throttled = 0  # requests answered 429 by the rate limit (not by `fail_next`)
        self._window: deque[float] = deque()
        self._fail: list[_Switch] = []
        self._slow: list[_Switch] = []
        self._job_errors: list[str] = []

    # --- what a tenant needs ---------------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "username": self.username,
            "password": self.password,
            "company_id": str(self.company_id),
        }

    def options(self) -> dict[str, str]:
        return {"company_id": str(self.company_id), "account_id": str(self.account_id)}

    # --- switches --------------------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working now (refresh tokens still do)."""
        with self.lock:
            self.access_tokens = {token: (0.0, refresh) for token, (_, refresh) in self.access_tokens.items()}

    def fail_next(
        self,
        count: int,
        status: int = 500,
        *,
        when: Callable[[Request], bool] | None = None,
        retry_after: int | None = None,
    ) -> None:
        """The next `count` API requests (that `when` picks) are answered `status` without doing anything."""
        with self.lock:
            self._fail.append(_Switch(count, when or (lambda _: True), status, retry_after=retry_after))

    def slow_next(self, count: int, seconds: float, *, when: Callable[[Request], bool] | None = None) -> None:
        """The next `count` API requests (that `when` picks) are carried out, then answered `seconds` late."""
        with self.lock:
            self._slow.append(_Switch(count, when or (lambda _: True), seconds=seconds))

    def reject_next_job(self, message: str) -> None:
        """The next e-document job ends in `error` with this message (GİB refused, say)."""
        with self.lock:
            self._job_errors.append(message)

    def finish_jobs(self) -> None:
        """Every running e-document job finishes now."""
        with self.lock:
            self.job_polls, self.job_seconds = 0, 0.0
            self._settle_jobs()

    def forget_jobs(self) -> None:
        """Trackable job ids are gone, as they are 15 minutes after creation (the e-documents stay)."""
        with self.lock:
            self.jobs.clear()

    def register_inbox(self, vkn: str, name: str = "Alıcı A.Ş.", alias: str = "") -> None:
        """Make `vkn` a registered e-Fatura user with one receiving mailbox."""
        with self.lock:
            self.inboxes.setdefault(vkn, []).append(
                {
                    "vkn": vkn,
                    "e_invoice_address": alias or f"urn:mail:defaultpk@{vkn}.example",
                    "name": name,
                    "inbox_type": "ENTITY",
                    "address_registered_at": "2020-01-01T00:00:00+03:00",
                    "registered_at": "2020-01-01T00:00:00+03:00",
                    "created_at": "2020-01-01",
                    "updated_at": "2020-01-01",
                }
            )

    def assert_clean(self) -> None:
        """Fail with every request (or fake answer) that did not match Paraşüt's swagger."""
        if self.violations:
            raise AssertionError("requests that do not match Paraşüt's swagger:\n" + "\n".join(self.violations))

    def e_documents(self) -> list[_Resource]:
        return [*self.e_archives.values(), *self.e_invoices.values()]

    # --- WSGI ------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response, delay = self._respond(request)
        if delay:
            time.sleep(delay)  # the work is done; the answer is late (the client has given up by now)
        return response(environ, start_response)

    def _respond(self, request: Request) -> tuple[Response, float]:
        with self.lock:
            self.requests.append((request.method, request.path))
        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
        except HTTPException:  # not found, or a method the route does not have
            endpoint, args = "", {}
        if endpoint == "token":
            return self._token(request), 0.0
        delay = 0.0
        try:
            self._validate_request(request)
            self._authorize(request)
            if args.get("company") != self.company_id:
                raise _errors(404, ("Not Found", "Firma bulunamadı"))
            with self.lock:
                self._inject_failure(request)
                self._count_against_limit()
                slow = self._take(self._slow, request)
                delay = slow.seconds if slow else 0.0
                if not endpoint:
                    raise _errors(404, ("Not Found", f"{request.method} {request.path} is not played by the fake"))
                self._settle_jobs()
                status, body = getattr(self, f"_{endpoint}")(
                    request, **{k: v for k, v in args.items() if k != "company"}
                )
            answer = _Answer(status, body)
        except _Answer as exc:
            answer = exc
        response = Response(
            json.dumps(answer.body) if answer.body is not None else None,
            status=answer.status,
            headers=answer.headers,
            content_type="application/vnd.api+json; charset=utf-8" if answer.body is not None else None,
        )
        self._validate_response(request, response)
        return response, delay

    # --- checks ----------------------------------------------------------------------------------------

    def _violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)

    def _validate_request(self, request: Request) -> None:
        if self.spec is None:
            return
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest

        errors = [_describe_error(e) for e in self.spec.openapi.iter_request_errors(WerkzeugOpenAPIRequest(request))]
        errors += self.spec.undeclared(request)
        if request.get_data() and request.mimetype not in _MEDIA:
            errors.append(f"Content-Type {request.mimetype!r}: the docs ask for application/json or JSON:API")
        if errors:
            self._violation(f"{request.method} {request.full_path.rstrip('?')}: " + "; ".join(errors))
            raise _errors(400, *(("Bad Request (swagger)", e) for e in errors))

    def _validate_response(self, request: Request, response: Response) -> None:
        # 429 and the PDF's 204 are documented in prose (rate limit; "PDF henüz yoksa … 204"), not as responses.
        if self.spec is None or response.status_code in (429, 204) or response.status_code >= 500:
            return
        if request.path == "/oauth/token":
            return
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse

        errors = [
            _describe_error(e)
            for e in self.spec.openapi.iter_response_errors(
                WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response)
            )
        ]
        if errors and response.status_code != 400:  # a 400 already follows a recorded request violation
            self._violation(f"the FAKE answered {request.method} {request.path} off the swagger: " + "; ".join(errors))

    def _authorize(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        with self.lock:
            known = self.access_tokens.get(token) if scheme.lower() == "bearer" else None
        if known is None or known[0] <= time.time():
            answer = _errors(401, ("Unauthorized", "The access token is invalid" if known is None else "expired"))
            reason = "invalid_token"
            answer.headers["WWW-Authenticate"] = f'Bearer realm="Doorkeeper", error="{reason}"'
            raise answer

    @staticmethod
    def _take(switches: list[_Switch], request: Request) -> _Switch | None:
        """The first switch that picks this request, used once."""
        for switch in switches:
            if switch.when(request):
                switch.count -= 1
                if switch.count <= 0:
                    switches.remove(switch)
                return switch
        return None

    def _inject_failure(self, request: Request) -> None:
        switch = self._take(self._fail, request)
        if switch is None:
            return
        if switch.status == 429:
            answer = _errors(429, ("Too Many Requests", "Rate limit exceeded"))
            answer.headers["Retry-After"] = str(switch.retry_after if switch.retry_after is not None else 1)
            raise answer
        raise _errors(switch.status, ("Server Error", "Beklenmeyen bir hata oluştu"))

    def _count_against_limit(self) -> None:
        """10 requests in 10 seconds per company (apidocs.parasut.com, Genel Bilgiler): beyond, 429."""
        limit, window = self.rate_limit
        now = time.monotonic()
        while self._window and self._window[0] <= now - window:
            self._window.popleft()
        if len(self._window) >= limit:
            self.throttled += 1
            answer = _errors(429, ("Too Many Requests", f"{limit} istek / {window:g} sn sınırı aşıldı"))
            answer.headers["Retry-After"] = str(max(1, math.ceil(self._window[0] + window - now)))
            raise answer
        self._window.append(now)

    # --- OAuth (Doorkeeper) ----------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        form = request.form
        if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            self._violation(f"POST /oauth/token with {request.mimetype!r}: Doorkeeper reads a form")
        grant = form.get("grant_type", "")

        def refuse(status: int, error: str, description: str) -> Response:
            body = {"error": error, "error_description": description}
            return Response(json.dumps(body), status=status, content_type="application/json")

        if not (_same(form.get("client_id"), self.client_id) and _same(form.get("client_secret"), self.client_secret)):
            return refuse(401, "invalid_client", "Client authentication failed due to unknown client.")
        with self.lock:
            if grant == "password":
                if form.get("redirect_uri") != "urn:ietf:wg:oauth:2.0:oob":
                    self._violation("password grant without redirect_uri=urn:ietf:wg:oauth:2.0:oob (see the docs)")
                if not (_same(form.get("username"), self.username) and _same(form.get("password"), self.password)):
                    return refuse(400, "invalid_grant", "The provided authorization grant is invalid.")
            elif grant == "refresh_token":
                used = form.get("refresh_token", "")
                if not self.refresh_tokens.get(used):
                    return refuse(
                        400, "invalid_grant", "The provided authorization grant is invalid, expired, revoked."
                    )
                # Rotation: this refresh token and the access tokens it stood behind are spent.
                self.refresh_tokens[used] = False
                self.access_tokens = {t: v for t, v in self.access_tokens.items() if v[1] != used}
            else:
                return refuse(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
            access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            self.access_tokens[access] = (time.time() + self.token_ttl, refresh)
            self.refresh_tokens[refresh] = True
            self.grants.append(grant)
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.token_ttl),
            "refresh_token": refresh,
            "created_at": int(time.time()),
        }
        if self.token_delay:
            time.sleep(self.token_delay)
        return Response(json.dumps(body), status=200, content_type="application/json")

    # --- helpers ---------------------------------------------------------------------------------------

    def _next_id(self) -> int:
        return next(self._ids)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        data = request.get_json(force=True, silent=True) or {}
        return data.get("data") or {}

    @staticmethod
    def _page(request: Request, items: list[_Resource]) -> tuple[list[_Resource], dict[str, int]]:
        size = int(request.args.get("page[size]", 15))
        number = int(request.args.get("page[number]", 1))
        pages = max(1, math.ceil(len(items) / size))
        chosen = items[(number - 1) * size : number * size]
        return chosen, {"current_page": number, "total_pages": pages, "total_count": len(items)}

    @staticmethod
    def _related_id(body: dict[str, Any], name: str) -> int | None:
        data = (body.get("relationships") or {}).get(name, {}).get("data") or {}
        try:
            return int(data.get("id"))
        except (TypeError, ValueError):
            return None

    def _new(
        self, store: dict[int, _Resource], kind: str, attributes: dict[str, Any], **relationships: Any
    ) -> _Resource:
        ident = self._next_id()
        stamped = {**attributes, "created_at": _today(), "updated_at": _today()}
        resource = _Resource(ident, kind, stamped, {k: v for k, v in relationships.items() if v is not None})
        store[ident] = resource
        return resource

    @staticmethod
    def _one(kind: str, ident: int | None) -> dict[str, Any] | None:
        return None if ident is None else {"data": {"id": str(ident), "type": kind}}

    # --- contacts and products -------------------------------------------------------------------------

    def _contacts(self, request: Request) -> tuple[int, Any]:
        if request.method == "POST":
            body = self._body(request)
            attributes = dict(body.get("attributes") or {})
            if not attributes.get("name"):
                raise _errors(422, ("Geçersiz kayıt", "İsim boş bırakılamaz"))
            contact = self._new(self.contacts, "contacts", {**attributes, "balance": 0.0, "trl_balance": 0.0})
            return 201, {"data": contact.json()}
        filters = {k[7:-1]: v for k, v in request.args.items() if k.startswith("filter[")}
        found = [
            c for c in self.contacts.values() if all(str(c.attributes.get(k, "")) == v for k, v in filters.items())
        ]
        chosen, meta = self._page(request, found)
        return 200, {"data": [c.json() for c in chosen], "meta": meta}

    def _products(self, request: Request) -> tuple[int, Any]:
        if request.method == "POST":
            attributes = dict(self._body(request).get("attributes") or {})
            product = self._new(self.products, "products", attributes)
            return 201, {"data": product.json()}
        filters = {k[7:-1]: v for k, v in request.args.items() if k.startswith("filter[")}
        found = [
            p for p in self.products.values() if all(str(p.attributes.get(k, "")) == v for k, v in filters.items())
        ]
        chosen, meta = self._page(request, found)
        return 200, {"data": [p.json() for p in chosen], "meta": meta}

    # --- sales invoices --------------------------------------------------------------------------------

    def _lines(self, body: dict[str, Any], kind: str) -> tuple[list[_Resource], dict[str, Decimal]]:
        """Create the detail lines of an invoice or bill and add them up as Paraşüt does: KDV per line."""
        data = ((body.get("relationships") or {}).get("details") or {}).get("data") or []
        if not data:
            raise _errors(422, ("Geçersiz kayıt", "Fatura kalemleri boş olamaz"))
        lines, totals = [], {"gross": Decimal(0), "discount": Decimal(0), "vat": Decimal(0)}
        for item in data:
            a = item.get("attributes") or {}
            quantity, price = Decimal(str(a["quantity"])), Decimal(str(a["unit_price"]))
            rate = Decimal(str(a["vat_rate"]))
            gross = quantity * price
            value = Decimal(str(a.get("discount_value") or 0))
            discount = gross * value / 100 if a.get("discount_type") == "percentage" else value
            if discount > gross:
                raise _errors(422, ("Geçersiz kayıt", "İndirim tutarı satır tutarından büyük olamaz"))
            net = (gross - discount).quantize(KURUS, rounding=ROUND_HALF_UP)
            vat = (net * rate / 100).quantize(KURUS, rounding=ROUND_HALF_UP)
            product = self._related_id(item, "product")
            if product is not None and product not in self.products:
                raise _errors(422, ("Geçersiz kayıt", f"Ürün {product} bulunamadı"))
            line = self._new(
                self.details,
                kind,
                {**a, "net_total": _money(net)},
                product=self._one("products", product),
            )
            lines.append(line)
            totals["gross"] += gross
            totals["discount"] += discount
            totals["vat"] += vat
        return lines, totals

    def _sales_invoices(self, request: Request) -> tuple[int, Any]:
        if request.method == "GET":
            filters = {k[7:-1]: v for k, v in request.args.items() if k.startswith("filter[")}
            types = {t.strip() for t in filters.pop("item_type", "invoice,refund,estimate").split(",")}
            found = [
                i
                for i in self.sales_invoices.values()
                if i.attributes["item_type"] in types and all(self._matches(i, k, v) for k, v in filters.items())
            ]
            chosen, meta = self._page(request, found)
            return 200, {"data": [i.json() for i in chosen], "meta": meta, **self._included(request, chosen)}
        body = self._body(request)
        if body.get("id"):
            raise _errors(422, ("Geçersiz kayıt", "Yeni kayıtta data.id boş olmalı"))
        attributes = dict(body.get("attributes") or {})
        contact = self._related_id(body, "contact")
        if contact is None or contact not in self.contacts:
            raise _errors(422, ("Geçersiz kayıt", "Müşteri seçilmelidir"))
        lines, totals = self._lines(body, "sales_invoice_details")
        net = (totals["gross"] - totals["discount"]).quantize(KURUS, rounding=ROUND_HALF_UP)
        total = net + totals["vat"]
        invoice = self._new(
            self.sales_invoices,
            "sales_invoices",
            {
                **attributes,
                "invoice_no": "",
                "archived": False,
                "gross_total": _money(totals["gross"]),
                "total_discount": _money(totals["discount"]),
                "total_vat": _money(totals["vat"]),
                "before_taxes_total": _money(net),
                "net_total": _money(total),
                "remaining": _money(total),
                "remaining_in_trl": _money(total),
                "payment_status": "unpaid",
            },
            contact=self._one("contacts", contact),
            details={"data": [{"id": str(line.id), "type": line.type} for line in lines]},
        )
        invoice.relationships["payments"] = {"data": []}
        return 201, {"data": invoice.json(), **self._included(request, [invoice])}

    def _matches(self, invoice: _Resource, name: str, value: str) -> bool:
        if name == "contact_id":
            return invoice.relationships.get("contact", {}).get("data", {}).get("id") == value
        return str(invoice.attributes.get(name, "")) == value

    def _included(self, request: Request, resources: Iterable[_Resource]) -> dict[str, Any]:
        wanted = {name.strip() for name in request.args.get("include", "").split(",") if name.strip()}
        if not wanted:
            return {}
        included: list[dict[str, Any]] = []
        for resource in resources:
            for name in wanted:
                related = resource.relationships.get(name, {}).get("data")
                for ref in related if isinstance(related, list) else [related] if related else []:
                    store = {
                        "contacts": self.contacts,
                        "sales_invoice_details": self.details,
                        "payments": self.payments,
                        "e_archives": self.e_archives,
                        "e_invoices": self.e_invoices,
                    }.get(ref["type"])
                    if store is not None and int(ref["id"]) in store:
                        included.append(store[int(ref["id"])].json())
        return {"included": included}

    def _invoice(self, ident: int) -> _Resource:
        invoice = self.sales_invoices.get(ident)
        if invoice is None:
            raise _errors(404, ("Not Found", f"Satış faturası {ident} bulunamadı"))
        return invoice

    def _sales_invoice(self, request: Request, ident: int) -> tuple[int, Any]:
        if request.method != "GET":
            raise _errors(404, ("Not Found", f"{request.method} is not played by the fake"))
        invoice = self._invoice(ident)
        return 200, {"data": invoice.json(), **self._included(request, [invoice])}

    def _cancel(self, request: Request, ident: int) -> tuple[int, Any]:
        invoice = self._invoice(ident)
        document = self._active(invoice)
        if document is not None and document.type == "e_invoices":
            raise _errors(422, ("İptal edilemez", "e-Fatura iptal edilemez; alıcının iade faturası kesmesi gerekir"))
        if document is not None:
            until = datetime.fromisoformat(document.attributes["cancellable_until"])
            if until < datetime.now(UTC):
                raise _errors(422, ("İptal edilemez", "e-Arşiv faturanın iptal süresi geçmiştir"))
        if invoice.attributes["item_type"] == "cancelled":
            raise _errors(422, ("İptal edilemez", "Fatura zaten iptal edilmiş"))
        invoice.attributes["item_type"] = "cancelled"
        return 200, {"data": invoice.json()}

    def _payments(self, request: Request, ident: int) -> tuple[int, Any]:
        invoice = self._invoice(ident)
        attributes = self._body(request).get("attributes") or {}
        if int(attributes.get("account_id") or 0) not in self.accounts:
            raise _errors(422, ("Geçersiz kayıt", "Kasa / banka hesabı bulunamadı"))
        amount = Decimal(str(attributes.get("amount") or 0))
        remaining = Decimal(str(invoice.attributes["remaining"]))
        if amount <= 0 or amount > remaining:
            raise _errors(422, ("Geçersiz kayıt", f"Tahsilat tutarı 0 ile kalan tutar ({remaining}) arasında olmalı"))
        payment = self._new(
            self.payments,
            "payments",
            {
                "date": attributes.get("date") or _today(),
                "amount": _money(amount),
                "notes": attributes.get("description", ""),
            },
            payable=self._one("sales_invoices", ident),
        )
        left = remaining - amount
        invoice.attributes.update(
            remaining=_money(left),
            remaining_in_trl=_money(left),
            payment_status="paid" if left == 0 else "partially_paid",
        )
        invoice.relationships["payments"]["data"].append({"id": str(payment.id), "type": "payments"})
        return 201, {"data": payment.json()}

    # --- purchase bills (a sales return is recorded here) ---------------------------------------------

    def _purchase_bills(self, request: Request) -> tuple[int, Any]:
        if request.method == "GET":
            filters = {k[7:-1]: v for k, v in request.args.items() if k.startswith("filter[")}
            found = [
                b
                for b in self.purchase_bills.values()
                if all(
                    (b.relationships.get("supplier", {}).get("data", {}).get("id") == v)
                    if k == "supplier_id"
                    else str(b.attributes.get(k, "")) == v
                    for k, v in filters.items()
                )
            ]
            chosen, meta = self._page(request, found)
            return 200, {"data": [b.json() for b in chosen], "meta": meta}
        body = self._body(request)
        attributes = dict(body.get("attributes") or {})
        supplier = self._related_id(body, "supplier")
        if supplier is not None and supplier not in self.contacts:
            raise _errors(422, ("Geçersiz kayıt", "Tedarikçi bulunamadı"))
        lines, totals = self._lines(body, "purchase_bill_details")
        net = (totals["gross"] - totals["discount"]).quantize(KURUS, rounding=ROUND_HALF_UP)
        bill = self._new(
            self.purchase_bills,
            "purchase_bills",
            {
                **attributes,
                "net_total": _money(net + totals["vat"]),
                "total_vat": _money(totals["vat"]),
                "gross_total": _money(totals["gross"]),
                "remaining": _money(net + totals["vat"]),
                "is_detailed": True,
            },
            supplier=self._one("contacts", supplier),
            details={"data": [{"id": str(line.id), "type": "purchase_bill_details"} for line in lines]},
        )
        return 201, {"data": bill.json()}

    def _purchase_bill(self, request: Request, ident: int) -> tuple[int, Any]:
        bill = self.purchase_bills.get(ident)
        if bill is None or request.method != "GET":
            raise _errors(404, ("Not Found", f"Fiş/fatura {ident} bulunamadı"))
        return 200, {"data": bill.json()}

    # --- e-documents -----------------------------------------------------------------------------------

    def _inboxes(self, request: Request) -> tuple[int, Any]:
        vkn = request.args.get("filter[vkn]", "")
        found = [_Resource(1000 + i, "e_invoice_inboxes", box) for i, box in enumerate(self.inboxes.get(vkn, []))]
        chosen, meta = self._page(request, found)
        return 200, {"data": [box.json() for box in chosen], "meta": meta}

    def _active(self, invoice: _Resource) -> _Resource | None:
        ref = invoice.relationships.get("active_e_document", {}).get("data")
        if not ref:
            return None
        return (self.e_archives if ref["type"] == "e_archives" else self.e_invoices).get(int(ref["id"]))

    def _buyer_vkn(self, invoice: _Resource) -> str:
        contact_id = int(invoice.relationships["contact"]["data"]["id"])
        return str(invoice.attributes.get("tax_number") or self.contacts[contact_id].attributes.get("tax_number") or "")

    def _formalise(self, invoice: _Resource, kind: str, attributes: dict[str, Any]) -> tuple[int, Any]:
        if self._active(invoice) is not None or any(
            job["invoice"] == invoice.id and job["status"] == "running" for job in self.jobs.values()
        ):
            raise _errors(422, ("Geçersiz işlem", "Bu fatura zaten resmileştirilmiş ya da resmileştiriliyor"))
        if invoice.attributes["item_type"] == "cancelled":
            raise _errors(422, ("Geçersiz işlem", "İptal edilmiş fatura resmileştirilemez"))
        if bool(invoice.attributes.get("order_no")) != bool(invoice.attributes.get("order_date")):
            raise _errors(422, ("Geçersiz kayıt", "Sipariş no ve sipariş tarihi birlikte girilmelidir"))
        ident = self._next_id()
        self.jobs[ident] = {
            "invoice": invoice.id,
            "kind": kind,
            "attributes": attributes,
            "status": "running",
            "errors": [],
            "polls": 0,
            "started": time.monotonic(),
            "error": self._job_errors.pop(0) if self._job_errors else "",
        }
        return 201, {"data": {"id": str(ident), "type": "trackable_jobs", "attributes": {"status": "running"}}}

    def _e_archives(self, request: Request) -> tuple[int, Any]:
        body = self._body(request)
        invoice = self._invoice(self._related_id(body, "sales_invoice") or 0)
        if self._buyer_vkn(invoice) in self.inboxes:
            raise _errors(
                422, ("Geçersiz işlem", "Alıcı e-Fatura kullanıcısıdır; e-Arşiv yerine e-Fatura düzenlenmelidir")
            )
        return self._formalise(invoice, "e_archives", body.get("attributes") or {})

    def _e_invoices(self, request: Request) -> tuple[int, Any]:
        body = self._body(request)
        invoice = self._invoice(self._related_id(body, "invoice") or 0)
        attributes = body.get("attributes") or {}
        boxes = self.inboxes.get(self._buyer_vkn(invoice), [])
        if not boxes:
            raise _errors(422, ("Geçersiz işlem", "Alıcı e-Fatura kullanıcısı değildir; e-Arşiv düzenlenmelidir"))
        if attributes.get("to") not in {box["e_invoice_address"] for box in boxes}:
            raise _errors(422, ("Geçersiz kayıt", "Alıcı etiketi (to) alıcının gelen kutularından biri olmalı"))
        return self._formalise(invoice, "e_invoices", attributes)

    def _settle_jobs(self) -> None:
        """Jobs run on their own: one is done once polled `job_polls` times or `job_seconds` after it began."""
        for job in self.jobs.values():
            if job["status"] != "running":
                continue
            if job["polls"] < self.job_polls and time.monotonic() - job["started"] < self.job_seconds:
                continue
            if job["error"]:
                job.update(status="error", errors=[job["error"]])
                continue
            invoice = self.sales_invoices[job["invoice"]]
            number = f"PRS{date.today().year}{next(self._numbers):09d}"
            common = {"uuid": str(uuid.uuid4()), "created_at": _today(), "updated_at": _today()}
            if job["kind"] == "e_archives":
                document = _Resource(
                    self._next_id(),
                    "e_archives",
                    {
                        **common,
                        "vkn": self._buyer_vkn(invoice),
                        "invoice_number": number,
                        "status": "sent",
                        "is_printed": False,
                        "is_signed": True,
                        "cancellable_until": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
                    },
                    {"sales_invoice": self._one("sales_invoices", invoice.id)},
                )
                self.e_archives[document.id] = document
            else:
                document = _Resource(
                    self._next_id(),
                    "e_invoices",
                    {
                        **common,
                        "to_vkn": self._buyer_vkn(invoice),
                        "to_address": job["attributes"].get("to", ""),
                        "direction": "outbound",
                        "scenario": job["attributes"].get("scenario", "basic"),
                        "status": "successful",
                        "item_type": "invoice",
                        "issue_date": invoice.attributes["issue_date"],
                        "net_total": invoice.attributes["net_total"],
                    },
                )
                self.e_invoices[document.id] = document
            invoice.attributes["invoice_no"] = number
            invoice.relationships["active_e_document"] = self._one(document.type, document.id) or {}
            job.update(status="done", document=(document.type, document.id))

    def _trackable_job(self, request: Request, ident: int) -> tuple[int, Any]:
        job = self.jobs.get(ident)
        if job is None:
            raise _errors(404, ("Not Found", "İşlem bulunamadı"))
        job["polls"] += 1
        self._settle_jobs()
        attributes: dict[str, Any] = {"status": job["status"]}
        if job["errors"]:
            attributes["errors"] = job["errors"]
        return 200, {"data": {"id": str(ident), "type": "trackable_jobs", "attributes": attributes}}

    def _e_document(self, store: dict[int, _Resource], ident: int) -> tuple[int, Any]:
        document = store.get(ident)
        if document is None:
            raise _errors(404, ("Not Found", "e-Belge bulunamadı"))
        return 200, {"data": document.json()}

    def _e_archive(self, request: Request, ident: int) -> tuple[int, Any]:
        return self._e_document(self.e_archives, ident)

    def _e_invoice(self, request: Request, ident: int) -> tuple[int, Any]:
        return self._e_document(self.e_invoices, ident)

    def _pdf(self, request: Request, kind: str, store: dict[int, _Resource], ident: int) -> tuple[int, Any]:
        if ident not in store:
            raise _errors(404, ("Not Found", "e-Belge bulunamadı"))
        seen = self.pdf_requests.get((kind, ident), 0)
        self.pdf_requests[(kind, ident)] = seen + 1
        if seen < self.pdf_polls:
            raise _Answer(204)  # "PDF henüz yoksa boş bir yanıt ile birlikte 204 döner"
        expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        url = f"{request.host_url}files/{kind}/{ident}.pdf"
        return 200, {
            "data": {"id": str(ident), "type": "e_document_pdfs", "attributes": {"url": url, "expires_at": expires}}
        }

    def _e_archive_pdf(self, request: Request, ident: int) -> tuple[int, Any]:
        return self._pdf(request, "e_archives", self.e_archives, ident)

    def _e_invoice_pdf(self, request: Request, ident: int) -> tuple[int, Any]:
        return self._pdf(request, "e_invoices", self.e_invoices, ident)


def _same(given: str | None, expected: str) -> bool:
    """Credentials compared in constant time, as a real token endpoint compares them."""
    return hmac.compare_digest((given or "").encode(), expected.encode())


def _describe_error(error: Exception) -> str:
    """openapi-core's error with its cause (which field, which rule), short enough to read in a test report."""
    cause = error.__cause__
    details = getattr(cause, "schema_errors", None)
    if details:
        return f"{type(error).__name__}: " + "; ".join(
            f"{'/'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}" for e in details
        )
    return f"{type(error).__name__}: {cause or error}"
