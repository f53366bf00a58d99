"""Paraşüt (API v4): sales invoices formalised as e-Arşiv or e-Fatura, sales returns, collections, cancellations.

Rules from Paraşüt's documentation (https://apidocs.parasut.com, the description of its swagger.json):
- Base URL `https://api.parasut.com/v4/{company_id}/…`; JSON:API bodies (`application/vnd.api+json`).
- OAuth2 at `/oauth/token`: password grant (client id/secret, username, password,
  `redirect_uri=urn:ietf:wg:oauth:2.0:oob`) and refresh_token grant; the access token lasts 2 hours and every
  refresh returns a NEW refresh token (kept by `mutabik.providers._oauth`).
- 10 requests in 10 seconds per company; beyond, 429.
- "Satış Faturası Oluşturma": a sales invoice needs a contact id (found by `filter[tax_number]`/`filter[email]`,
  else created) and detail lines; product ids are optional.
- "Satış Faturası Resmileştirme": ask `e_invoice_inboxes?filter[vkn]=` whether the buyer is an e-Fatura user;
  create an e-Fatura (`/e_invoices`) if so, an e-Arşiv (`/e_archives`) if not. Both answer a trackable job,
  followed with `/trackable_jobs/{id}` (the id lives 15 minutes) until `done` or `error`; the e-document is
  then `active_e_document` of the sales invoice. Its PDF answers 204 until it is ready.
- Lira is `TRL`, not `TRY`.

How exactly-once is kept (the pusher may call `issue` again, or `find`, after a timeout whose request DID
arrive): every step that creates something at Paraşüt first writes what it is about to do into the table
cache (keyed by the document key), and the id it gets right after. A later attempt continues from the last
step that is known to have happened, and where an answer was lost it looks the thing up before creating it:
sales invoices and return bills by our reference in their description (contact + issue date filters),
payments by our reference in their notes, e-documents through the invoice's `active_e_document`. A second
e-document is never posted while the first one's job may still be running.

Sales returns: Paraşüt records a sales return on the expense side — the buyer's return invoice, or the seller's
gider pusulası for a consumer — as a purchase bill with `item_type: refund`; a sales invoice with
`item_type: refund` is a return *to a supplier*. RETURN_INVOICE documents become such a purchase bill, its
description naming the sales invoice returned. Paraşüt formalises no e-document for it.

Cancellation: `DELETE /sales_invoices/{id}/cancel`. An e-Arşiv can be cancelled until its `cancellable_until`
(7 days); an e-Fatura cannot be cancelled through Paraşüt at all (the buyer rejects a TICARIFATURA, or issues
a return invoice for a TEMELFATURA) — such documents are refused with that explanation.

Secret (JSON, `<prefix>/<tenant>/providers/parasut`): `client_id`, `client_secret`, `username`, `password`,
optionally `company_id`; the adapter adds `access_token`, `refresh_token`, `expires_at`.
Options (`providers.parasut.options`): `company_id` (or in the secret), `account_id` (kasa/banka account that
collections go to), `products` (`true`: find or create products by SKU code), `efatura_profile`
(TEMELFATURA or TICARIFATURA, used by the pusher's profile choice). Sandbox: the tenant's `base_url`.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from aws_lambda_powertools import Logger

from mutabik.model.commerce import Order, Payment, Refund, WebSale
from mutabik.model.document import Document, DocumentStatus, DocumentType
from mutabik.model.money import round_kurus
from mutabik.model.party import ANONYMOUS_CONSUMER_TCKN, FOREIGN_BUYER_VKN, Party, PartyKind
from mutabik.providers._http import classify, new_client, request, retry_after
from mutabik.providers._oauth import OAuthTokens, TokenEndpoint
from mutabik.providers.base import (
    EARSIV,
    Capability,
    DocumentFile,
    ListedDocument,
    Outcome,
    Provider,
    ProviderContext,
    RegisteredUser,
    efatura_profile,
    never_registered,
)
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError, WrongProfileError

if TYPE_CHECKING:
    from mutabik.store.cache import ScopedCache

__all__ = ["ParasutProvider"]

logger = Logger(child=True)

API_URL = "https://api.parasut.com"
TOKEN_ENDPOINT = TokenEndpoint("/oauth/token", redirect_uri="urn:ietf:wg:oauth:2.0:oob")
#: Paraşüt's currency codes (SalesInvoiceAttributes.currency): lira is TRL.
CURRENCIES = {"TRY": "TRL", "USD": "USD", "EUR": "EUR", "GBP": "GBP"}
#: e-Arşiv internet_sale.payment_type (EArchiveFormAttributes); GİB's DIGER has no counterpart there.
PAYMENT_TYPES = frozenset({"KREDIKARTI/BANKAKARTI", "EFT/HAVALE", "KAPIDAODEME", "ODEMEARACISI"})
#: Türkiye keeps UTC+3 all year: dates on documents are Turkish calendar dates.
TURKEY = timezone(timedelta(hours=3), "TRT")
#: "id'nin kullanım süresi oluşturulduktan sonra 15 dakikadır": a job id older than this is gone.
JOB_LIFETIME = timedelta(minutes=15)
PAGE_SIZE = 25  # the swagger's maximum page[size]
#: Answers that say the request was turned away before any work (rate limit, maintenance): safe to send again.
NOT_DONE = frozenset({429, 503})
MAX_PAGES = 200  # a bound on every listing loop
#: What the cache remembers per document (steps done, ids) and per buyer or product (Paraşüt's ids).
#: A contact deleted in Paraşüt's screens is looked up again after ID_TTL at the latest.
RECORD_TTL = timedelta(days=60)
ID_TTL = timedelta(days=7)


def _day(moment: datetime) -> str:
    """The Turkish calendar date of a moment (naive moments are taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(TURKEY).date().isoformat()


def _number(value: Decimal) -> float | int:
    """A JSON number for Paraşüt: integral amounts as integers, others as the shortest float that reads back."""
    return int(value) if value == value.to_integral_value() else float(value)


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    """Attributes without the empty ones: Paraşüt reads an empty string as a value."""
    return {k: v for k, v in values.items() if v not in ("", None)}


def _digest(*parts: str) -> str:
    """A cache key for a buyer or product that keeps tax ids, e-mails and names out of the table's keys."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def _describe(response: httpx.Response) -> str:
    """Paraşüt's own words: each JSON:API error's title and detail (or Doorkeeper's `error_description`)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(
                ": ".join(str(e.get(k)) for k in ("title", "detail") if isinstance(e, dict) and e.get(k))
                for e in errors
            )
        if body.get("error"):
            return f"{body['error']}: {body.get('error_description') or ''}".strip(": ")
    return str(body)[:300]


class ParasutProvider(Provider):
    name = "parasut"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.SALES_INVOICE,
            Capability.RETURN_INVOICE,
            Capability.CANCELLATION,
            Capability.COLLECTION,
            Capability.FIND,
            Capability.STATUS,
            Capability.PDF,
            Capability.LIST,
            Capability.USER_LIST,
        }
    )
    #: A 429 whose Retry-After is at most `rate_wait_max` seconds is waited out inside the call, up to
    #: `rate_waits` times and `rate_wait_budget` seconds per adapter instance (the pusher's Lambda has 60 s);
    #: beyond that only this message is postponed, with Paraşüt's Retry-After.
    rate_waits: ClassVar[int] = 3
    rate_wait_max: ClassVar[float] = 10.0
    rate_wait_budget: ClassVar[float] = 25.0
    #: While another worker creates the same contact or product.
    poll_seconds: ClassVar[float] = 0.3
    creation_wait: ClassVar[float] = 15.0

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self._waited = 0.0
        self.sleep: Callable[[float], None] = time.sleep

    # --- plumbing --------------------------------------------------------------------------------------

    @cached_property
    def client(self) -> httpx.Client:
        return new_client(self.context, default_url=API_URL)

    @cached_property
    def tokens(self) -> OAuthTokens:
        return OAuthTokens(self.name, self.context, self.secret_name, TOKEN_ENDPOINT, self.client)

    @cached_property
    def company_id(self) -> str:
        value = self.context.settings.options.get("company_id") or self.credentials().get("company_id", "")
        if not value.strip().isdigit():
            raise PermanentProviderError(
                "set the Paraşüt company id (firma no) as option company_id or in the secret", provider=self.name
            )
        return value.strip()

    @property
    def cache(self) -> ScopedCache:
        if self.context.cache is None:
            raise PermanentProviderError("the Paraşüt adapter needs the table cache", provider=self.name)
        return self.context.cache

    def _call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        """One API request with a valid token; a short 429 waited out here (see `rate_waits`); a failure
        classified for the pusher (429/5xx/timeouts: retry later; 4xx: Paraşüt's words)."""
        url = f"/v4/{self.company_id}{path}"
        headers = {"Accept": "application/vnd.api+json"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/vnd.api+json"
            content = json.dumps(body, ensure_ascii=False).encode()

        def send(token: str) -> httpx.Response:
            return request(
                self.client,
                self.name,
                method,
                url,
                params=params,
                content=content,
                headers={**headers, "Authorization": f"Bearer {token}"},
            )

        for attempt in range(self.rate_waits + 1):
            response = self.tokens.send(send)
            if response.status_code != httpx.codes.TOO_MANY_REQUESTS:
                break
            wait = retry_after(response)
            if wait is None:
                # No Retry-After: the window is 10 s, so that is how long this message waits.
                raise RetryableProviderError(
                    f"{self.name} answered 429 without Retry-After", provider=self.name, status_code=429, retry_after=10
                )
            if attempt == self.rate_waits or wait > self.rate_wait_max or self._waited + wait > self.rate_wait_budget:
                break
            logger.info("rate limited by Paraşüt, waiting", extra={"seconds": wait})
            self.sleep(wait)
            self._waited += wait
        classify(response, self.name, _describe)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._call(method, path, **kwargs)
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise RetryableProviderError(
                f"{self.name} answered {method} {path} with something other than JSON", provider=self.name
            ) from exc
        return body

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every page of a listing (JSON:API `meta.total_pages`), bounded by MAX_PAGES."""
        for number in range(1, MAX_PAGES + 1):
            page = self._json("GET", path, params={**params, "page[number]": number, "page[size]": PAGE_SIZE})
            yield page
            if number >= int((page.get("meta") or {}).get("total_pages") or 1):
                return

    # --- the cache: what was done for a document, and Paraşüt's ids for buyers and products -------------

    def _record(self, document: Document) -> dict[str, Any]:
        value = self.cache.get("documents", document.key)
        return dict(value) if isinstance(value, dict) else {}

    def _save(self, document: Document, record: dict[str, Any]) -> None:
        self.cache.put("documents", document.key, record, RECORD_TTL)

    @staticmethod
    def _reference(document: Document) -> str:
        """What we write into Paraşüt's description/notes to find a document again: its ETTN, which is ours."""
        return f"mutabik:{document.uuid}"

    def _remembered(self, namespace: str, key: str, find: Callable[[], str | None], create: Callable[[], str]) -> str:
        """Paraşüt's id for a buyer or product: from the cache, found at Paraşüt, or created — by one worker
        only (a lease), so that many orders from one buyer arriving at once create one contact."""
        cached = self.cache.get(namespace, key)
        if cached:
            return str(cached)
        owner, deadline = uuid.uuid4().hex, time.monotonic() + self.creation_wait
        while True:
            if self.cache.claim(f"{namespace}-creation", key, owner, timedelta(seconds=60)):
                try:
                    ident = find() or create()
                    return str(self.cache.put_if_absent(namespace, key, ident, ID_TTL))
                finally:
                    self.cache.release(f"{namespace}-creation", key, owner)
            self.sleep(self.poll_seconds)
            cached = self.cache.get(namespace, key)
            if cached:
                return str(cached)
            if time.monotonic() > deadline:
                raise RetryableProviderError(
                    f"another worker is still creating this {namespace[:-1]} at {self.name}",
                    provider=self.name,
                    retry_after=5,
                )

    # --- contacts and products -------------------------------------------------------------------------

    def _contact(self, buyer: Party) -> str:
        """The buyer's contact id: by tax number (VKN/TCKN), or for GİB's placeholder numbers (final consumer,
        buyer abroad) by e-mail, else by name."""
        if buyer.tax_id not in (ANONYMOUS_CONSUMER_TCKN, FOREIGN_BUYER_VKN):
            key, filters = _digest("tax", buyer.tax_id), {"filter[tax_number]": buyer.tax_id}
        elif buyer.email:
            key, filters = _digest("email", buyer.email.lower()), {"filter[email]": buyer.email}
        else:
            key, filters = _digest("name", buyer.name), {"filter[name]": buyer.name}

        def find() -> str | None:
            page = self._json("GET", "/contacts", params={**filters, "filter[account_type]": "customer"})
            found = page.get("data") or []
            return str(found[0]["id"]) if found else None

        def create() -> str:
            address = buyer.address
            attributes = _compact(
                {
                    "name": buyer.name,
                    "account_type": "customer",
                    "contact_type": "person" if buyer.kind is PartyKind.PERSON else "company",
                    "tax_number": buyer.tax_id,
                    "tax_office": buyer.tax_office,
                    "email": buyer.email,
                    "phone": buyer.phone,
                    "address": " ".join(p for p in (address.street, address.building) if p),
                    "district": address.district,
                    "city": address.city,
                    "postal_code": address.postal_code,
                    "country": address.country,
                    "is_abroad": buyer.is_foreign,
                }
            )
            created = self._json("POST", "/contacts", body={"data": {"type": "contacts", "attributes": attributes}})
            logger.info("contact created at Paraşüt")
            return str(created["data"]["id"])

        return self._remembered("contacts", key, find, create)

    def _product(self, sku: str, name: str, kdv_rate: Decimal, unit: str) -> str:
        def find() -> str | None:
            found = self._json("GET", "/products", params={"filter[code]": sku}).get("data") or []
            return str(found[0]["id"]) if found else None

        def create() -> str:
            attributes = {
                "code": sku,
                "name": name,
                "vat_rate": _number(kdv_rate),
                "unit": "Adet" if unit == "C62" else unit,
            }
            created = self._json("POST", "/products", body={"data": {"type": "products", "attributes": attributes}})
            return str(created["data"]["id"])

        return self._remembered("products", _digest("sku", sku), find, create)

    def _products_enabled(self) -> bool:
        return self.context.settings.options.get("products", "").strip().lower() in ("true", "1", "yes")

    # --- issue -----------------------------------------------------------------------------------------

    def issue(self, document: Document, invoice: Document | None = None) -> Outcome:
        if document.type is DocumentType.SALES_INVOICE:
            return self._issue_sales_invoice(document)
        if document.type is DocumentType.RETURN_INVOICE:
            return self._issue_return(document, self._referred(document, invoice))
        if document.type is DocumentType.COLLECTION:
            return self._issue_collection(document, self._referred(document, invoice))
        if document.type is DocumentType.CANCELLATION:
            return self._issue_cancellation(document, self._referred(document, invoice))
        raise self._unsupported(f"does not issue {document.type.value}")

    def _referred(self, document: Document, invoice: Document | None) -> Document:
        if invoice is None or not invoice.provider_refs.get("sales_invoice_id"):
            raise PermanentProviderError(
                f"a {document.type.value.replace('_', ' ')} at Paraşüt refers to its sales invoice, "
                "which has not been issued there",
                provider=self.name,
            )
        return invoice

    # --- sales invoice, then its e-document ------------------------------------------------------------

    def _issue_sales_invoice(self, document: Document) -> Outcome:
        order = Order.model_validate(document.payload["order"])
        record = self._record(document)
        if not record.get("sales_invoice_id"):
            record = self._create_sales_invoice(document, order, record)
        return self._formalise(document, order, record)

    def _create_sales_invoice(self, document: Document, order: Order, record: dict[str, Any]) -> dict[str, Any]:
        currency = CURRENCIES.get(order.currency)
        if currency is None:
            raise PermanentProviderError(
                f"Paraşüt invoices in {', '.join(CURRENCIES)} only, not {order.currency}", provider=self.name
            )
        details = self._details(order)
        if record.get("creating_invoice"):
            # An earlier attempt sent the invoice and lost the answer, perhaps: look before sending again.
            found = self._search_invoice(document, record["contact_id"], record["issue_date"])
            if found:
                record.update(sales_invoice_id=found)
                self._save(document, record)
                return record
        contact = record.get("contact_id") or self._contact(order.buyer)
        issue_date = record.get("issue_date") or _day(document.created_at)
        record.update(contact_id=contact, issue_date=issue_date, creating_invoice=True)
        self._save(document, record)
        address = order.buyer.address
        shipping = order.shipping_address
        attributes = _compact(
            {
                "item_type": "invoice",
                "description": f"Sipariş {order.number or order.source_ref} ({self._reference(document)})",
                "issue_date": issue_date,
                "due_date": issue_date,
                "currency": currency,
                "order_no": order.number or order.source_ref,
                "order_date": _day(order.ordered_at),
                "tax_number": order.buyer.tax_id,
                "tax_office": order.buyer.tax_office,
                "billing_address": " ".join(p for p in (address.street, address.building) if p),
                "billing_postal_code": address.postal_code,
                "billing_phone": order.buyer.phone,
                "district": address.district,
                "city": address.city,
                "country": address.country,
                "is_abroad": order.buyer.is_foreign,
                "shipment_addres": (  # sic: the swagger's spelling
                    ", ".join(p for p in (shipping.street, shipping.district, shipping.city) if p) if shipping else ""
                ),
            }
        )
        body = {
            "data": {
                "type": "sales_invoices",
                "attributes": attributes,
                "relationships": {
                    "contact": {"data": {"id": contact, "type": "contacts"}},
                    "details": {"data": details},
                },
            }
        }
        created = self._json("POST", "/sales_invoices", body=body)
        record.update(sales_invoice_id=str(created["data"]["id"]))
        self._save(document, record)  # before anything else can fail: a retry must never create a second one
        logger.info("sales invoice created at Paraşüt", extra={"key": document.key})
        return record

    def _details(self, order: Order) -> list[dict[str, Any]]:
        """Invoice lines with prices net of KDV, from the tax engine (the payable equals what the buyer paid);
        Paraşüt adds KDV per line itself."""
        from mutabik.tax import TaxError, decompose_order

        try:
            breakdown = decompose_order(order)
        except TaxError as exc:
            raise PermanentProviderError(str(exc), provider=self.name) from exc
        if any(line.withholding for line in breakdown.lines):
            raise PermanentProviderError(
                "tevkifat (KDV withholding) lines are not sent to Paraşüt by this adapter yet", provider=self.name
            )
        details = []
        for line in breakdown.lines:
            attributes = _compact(
                {
                    "quantity": _number(line.quantity),
                    "unit_price": _number(line.unit_price),
                    "vat_rate": _number(line.kdv_rate),
                    "discount_type": "amount" if line.discount else None,
                    "discount_value": _number(line.discount) if line.discount else None,
                    "description": line.name,
                }
            )
            detail: dict[str, Any] = {"type": "sales_invoice_details", "attributes": attributes}
            if line.sku and self._products_enabled():
                product = self._product(line.sku, line.name, line.kdv_rate, line.unit)
                detail["relationships"] = {"product": {"data": {"id": product, "type": "products"}}}
            details.append(detail)
        return details

    def _search_invoice(self, document: Document, contact_id: str, issue_date: str) -> str | None:
        """Our sales invoice among the contact's invoices of that day, by the reference in its description."""
        reference = self._reference(document)
        params = {"filter[contact_id]": contact_id, "filter[issue_date]": issue_date}
        for page in self._pages("/sales_invoices", params):
            for item in page.get("data") or []:
                if reference in str((item.get("attributes") or {}).get("description") or ""):
                    return str(item["id"])
        return None

    def _formalise(self, document: Document, order: Order, record: dict[str, Any]) -> Outcome:
        """Post the e-document once; a later attempt picks up the job or the finished e-document instead."""
        sales_invoice_id = record["sales_invoice_id"]
        if record.get("e_document_posted_at"):
            issued = self._active_e_document(sales_invoice_id)
            if issued is not None:
                return issued
            if record.get("trackable_job_id") or not self._job_may_be_gone(record):
                return Outcome(DocumentStatus.SUBMITTED, self._refs(record))
            # Posted long ago and nothing came of it: that request never arrived. Post it again.
        profile = document.profile or self._profile_of(order.buyer)
        if profile == EARSIV:
            kind, body = "e_archives", self._e_archive_body(order, sales_invoice_id)
        else:
            kind, body = "e_invoices", self._e_invoice_body(order, sales_invoice_id, profile)
        record.update(e_document_type=kind, e_document_posted_at=datetime.now(UTC).isoformat(), trackable_job_id="")
        self._save(document, record)
        try:
            job = self._json("POST", f"/{kind}", body=body)
        except RetryableProviderError as exc:
            if exc.status_code in NOT_DONE:  # Paraşüt turned the request away: no job was started
                record.pop("e_document_posted_at", None)
                self._save(document, record)
            raise  # a timeout, a 500 …: it may have been done; the retry looks before posting again
        except PermanentProviderError as exc:
            issued = self._active_e_document(sales_invoice_id)
            if issued is not None:  # refused because an earlier request of ours did formalise it
                return issued
            record.pop("e_document_posted_at", None)  # refused: nothing was created
            self._save(document, record)
            raise self._wrong_profile(exc, kind, order.buyer.tax_id) from exc
        record.update(trackable_job_id=str(job["data"]["id"]))
        self._save(document, record)
        logger.info("e-document requested at Paraşüt", extra={"key": document.key, "kind": kind})
        return Outcome(DocumentStatus.SUBMITTED, self._refs(record))

    @staticmethod
    def _job_may_be_gone(record: dict[str, Any]) -> bool:
        posted = datetime.fromisoformat(str(record["e_document_posted_at"]))
        return datetime.now(UTC) - posted > JOB_LIFETIME

    @staticmethod
    def _refs(record: dict[str, Any]) -> dict[str, str]:
        names = ("sales_invoice_id", "trackable_job_id", "e_document_type")
        return {name: str(record[name]) for name in names if record.get(name)}

    def _profile_of(self, buyer: Party) -> str:
        """Where the pusher did not choose: e-Fatura for a registered user, e-Arşiv for everyone else."""
        if never_registered(buyer.tax_id) or buyer.is_foreign or not self.registered_user(buyer.tax_id).registered:
            return EARSIV
        return efatura_profile(self.context.settings)

    def _e_archive_body(self, order: Order, sales_invoice_id: str) -> dict[str, Any]:
        attributes: dict[str, Any] = self._exemption(order)
        if order.web_sale is not None:
            attributes.update(self._internet_sale(order.web_sale))
        return {
            "data": {
                "type": "e_archives",
                "attributes": attributes,
                "relationships": {"sales_invoice": {"data": {"id": sales_invoice_id, "type": "sales_invoices"}}},
            }
        }

    @staticmethod
    def _internet_sale(sale: WebSale) -> dict[str, Any]:
        """EArchiveFormAttributes.internet_sale and .shipment: GİB's İnternet Satış Bilgileri. The carrier is
        named only with its tax id, as GİB asks of a carrier (a courier would need a TCKN instead)."""
        payment_type = sale.payment_method if sale.payment_method in PAYMENT_TYPES else ""
        if not payment_type and sale.payment_agent:
            payment_type = "ODEMEARACISI"
        attributes: dict[str, Any] = {
            "internet_sale": _compact(
                {
                    "url": sale.website,
                    "payment_type": payment_type,
                    "payment_platform": sale.payment_agent,
                    "payment_date": _day(sale.payment_date),
                }
            )
        }
        if sale.carrier_name and sale.carrier_tax_id:
            attributes["shipment"] = _compact(
                {
                    "title": sale.carrier_name,
                    "vkn": sale.carrier_tax_id,
                    "date": _day(sale.shipment_date or sale.payment_date),
                }
            )
        return attributes

    def _e_invoice_body(self, order: Order, sales_invoice_id: str, profile: str) -> dict[str, Any]:
        user = self.registered_user(order.buyer.tax_id)
        if not user.registered or not user.aliases:
            raise WrongProfileError(
                f"{profile} needs a registered e-Fatura user, and Paraşüt's copy of GİB's user list has no inbox "
                "for this buyer",
                registered=False,
                provider=self.name,
            )
        attributes = {
            **self._exemption(order),
            "scenario": "commercial" if profile == "TICARIFATURA" else "basic",
            "to": user.aliases[0],
        }
        return {
            "data": {
                "type": "e_invoices",
                "attributes": attributes,
                "relationships": {"invoice": {"data": {"id": sales_invoice_id, "type": "sales_invoices"}}},
            }
        }

    def _exemption(self, order: Order) -> dict[str, Any]:
        """vat_exemption_reason_code for 0 % lines: Paraşüt takes one per e-document."""
        codes = {(line.exemption_code, line.exemption_reason or "") for line in order.lines if line.kdv_rate == 0}
        if not codes:
            return {}
        if len({code for code, _ in codes}) > 1:
            raise PermanentProviderError(
                "Paraşüt takes one KDV exemption code per e-document; the order has "
                + ", ".join(sorted(str(code) for code, _ in codes)),
                provider=self.name,
            )
        ((code, reason),) = list(codes)[:1]
        return _compact({"vat_exemption_reason_code": code, "vat_exemption_reason": reason})

    def _wrong_profile(self, refusal: PermanentProviderError, kind: str, tax_id: str) -> PermanentProviderError:
        """Whether Paraşüt refused the e-document because of the buyer's e-Fatura registration: asked of the
        inbox list rather than read from the wording of the refusal."""
        if never_registered(tax_id):
            return refusal
        registered = self.registered_user(tax_id).registered
        if (kind == "e_archives") == registered:
            return WrongProfileError(str(refusal), registered=registered, provider=self.name, status_code=422)
        return refusal

    def _active_e_document(self, sales_invoice_id: str) -> Outcome | None:
        """The formalised e-document of a sales invoice (ACCEPTED), or None while there is none."""
        invoice = self._json("GET", f"/sales_invoices/{sales_invoice_id}", params={"include": "active_e_document"})
        data = invoice.get("data") or {}
        ref = ((data.get("relationships") or {}).get("active_e_document") or {}).get("data")
        if not ref:
            return None
        included: dict[str, Any] = next(
            (i for i in invoice.get("included") or [] if i.get("type") == ref["type"] and i.get("id") == ref["id"]),
            {},
        )
        attributes = included.get("attributes") or {}
        number = str(attributes.get("invoice_number") or (data.get("attributes") or {}).get("invoice_no") or "")
        refs = {
            "sales_invoice_id": sales_invoice_id,
            "e_document_type": str(ref["type"]),
            "e_document_id": str(ref["id"]),
            "e_document_uuid": str(attributes.get("uuid") or ""),
        }
        return Outcome(DocumentStatus.ACCEPTED, {k: v for k, v in refs.items() if v}, number=number)

    # --- follow-up, find -------------------------------------------------------------------------------

    def status(self, document: Document) -> Outcome:
        if document.type is not DocumentType.SALES_INVOICE:
            return self.find(document) or Outcome(DocumentStatus.SUBMITTED, document.provider_refs)
        record = {**self._record(document), **document.provider_refs}
        sales_invoice_id = record.get("sales_invoice_id")
        if not sales_invoice_id:
            return Outcome(DocumentStatus.REJECTED, error="no Paraşüt sales invoice is known for this document")
        job_id = record.get("trackable_job_id")
        if job_id:
            try:
                job = self._json("GET", f"/trackable_jobs/{job_id}")
            except PermanentProviderError as exc:
                if exc.status_code != httpx.codes.NOT_FOUND:
                    raise
                job = {}  # the id lived its 15 minutes: the invoice tells the rest
            attributes = (job.get("data") or {}).get("attributes") or {}
            if attributes.get("status") == "error":
                return self._job_failed(document, record, attributes.get("errors") or [])
            if job and attributes.get("status") != "done":
                return Outcome(DocumentStatus.SUBMITTED, self._refs(record))
        issued = self._active_e_document(str(sales_invoice_id))
        if issued is not None:
            return issued
        if record.get("e_document_posted_at") and not self._job_may_be_gone(record):
            return Outcome(DocumentStatus.SUBMITTED, self._refs(record))
        return Outcome(
            DocumentStatus.REJECTED,
            self._refs(record),
            error=f"Paraşüt shows no e-document for sales invoice {sales_invoice_id}: replay the document to "
            "formalise it again (the sales invoice is kept)",
        )

    def _job_failed(self, document: Document, record: dict[str, Any], errors: list[Any]) -> Outcome:
        record.pop("e_document_posted_at", None)  # a replay may post the e-document again
        record.pop("trackable_job_id", None)
        self._save(document, record)
        words = "; ".join(str(e) for e in errors) or "the e-document job ended in error"
        return Outcome(DocumentStatus.REJECTED, self._refs(record), error=f"Paraşüt: {words}"[:4000])

    def find(self, document: Document) -> Outcome | None:
        record = self._record(document)
        if document.type is DocumentType.SALES_INVOICE:
            return self._find_sales_invoice(document, record)
        if document.type is DocumentType.RETURN_INVOICE:
            bill = record.get("purchase_bill_id") or (
                record.get("creating_bill") and self._search_bill(document, record["contact_id"], record["issue_date"])
            )
            if not bill:
                return None
            record.update(purchase_bill_id=str(bill))
            self._save(document, record)
            return Outcome(DocumentStatus.ACCEPTED, self._return_refs(record))
        if document.type is DocumentType.COLLECTION:
            payment = record.get("payment_id") or (
                record.get("creating_payment") and self._search_payment(document, record["sales_invoice_id"])
            )
            if not payment:
                return None
            record.update(payment_id=str(payment))
            self._save(document, record)
            return Outcome(DocumentStatus.ACCEPTED, self._payment_refs(record))
        cancelled = record.get("sales_invoice_id")
        if document.type is DocumentType.CANCELLATION and cancelled and self._cancelled(str(cancelled)):
            return Outcome(DocumentStatus.ACCEPTED, {"sales_invoice_id": str(record["sales_invoice_id"])})
        return None

    def _find_sales_invoice(self, document: Document, record: dict[str, Any]) -> Outcome | None:
        """The sales invoice, if an earlier attempt created it; with its e-document's state. None when there is
        nothing, or an invoice whose e-document was never asked for: `issue` then continues from there."""
        sales_invoice_id = record.get("sales_invoice_id")
        if not sales_invoice_id and record.get("creating_invoice"):
            sales_invoice_id = self._search_invoice(document, record["contact_id"], record["issue_date"])
            if sales_invoice_id:
                record.update(sales_invoice_id=sales_invoice_id)
                self._save(document, record)
        if not sales_invoice_id or not record.get("e_document_posted_at"):
            return None
        issued = self._active_e_document(str(sales_invoice_id))
        if issued is not None:
            return issued
        if record.get("trackable_job_id") or not self._job_may_be_gone(record):
            return Outcome(DocumentStatus.SUBMITTED, self._refs(record))
        return None

    # --- sales return: a purchase bill of item_type refund ---------------------------------------------

    def _issue_return(self, document: Document, invoice: Document) -> Outcome:
        found = self.find(document)
        if found is not None:
            return found
        refund = Refund.model_validate(document.payload["refund"])
        order = Order.model_validate(invoice.payload["order"])
        currency = CURRENCIES.get(refund.amount.currency)
        if currency is None:
            raise PermanentProviderError(f"Paraşüt takes no {refund.amount.currency}", provider=self.name)
        record = self._record(document)
        contact = record.get("contact_id") or self._contact(order.buyer)
        issue_date = record.get("issue_date") or _day(refund.created_at)
        sales_invoice_id = invoice.provider_refs["sales_invoice_id"]
        record.update(contact_id=contact, issue_date=issue_date, sales_invoice_id=sales_invoice_id, creating_bill=True)
        self._save(document, record)
        returned = invoice.number or f"Paraşüt #{sales_invoice_id}"
        description = f"Satış iadesi {refund.source_ref}: {returned} ({self._reference(document)})"
        if refund.reason:
            description += f" — {refund.reason}"
        body = {
            "data": {
                "type": "purchase_bills",
                "attributes": {
                    "item_type": "refund",
                    "description": description[:250],
                    "issue_date": issue_date,
                    "due_date": issue_date,
                    "currency": currency,
                },
                "relationships": {
                    "supplier": {"data": {"id": contact, "type": "contacts"}},
                    "details": {"data": self._return_details(refund, order)},
                },
            }
        }
        created = self._json("POST", "/purchase_bills", body=body)
        record.update(purchase_bill_id=str(created["data"]["id"]))
        self._save(document, record)
        logger.info("sales return recorded at Paraşüt", extra={"key": document.key})
        return Outcome(DocumentStatus.ACCEPTED, self._return_refs(record))

    @staticmethod
    def _return_refs(record: dict[str, Any]) -> dict[str, str]:
        return {k: str(record[k]) for k in ("purchase_bill_id", "sales_invoice_id") if record.get(k)}

    def _return_details(self, refund: Refund, order: Order) -> list[dict[str, Any]]:
        """The returned lines net of KDV (refund amounts include it). A refund without lines is spread over the
        order's KDV rates in proportion to what each rate charged."""
        from mutabik.model.commerce import LineKind
        from mutabik.tax import allocate

        def line(name: str, quantity: Decimal, gross: Decimal, rate: Decimal) -> dict[str, Any]:
            net = round_kurus(gross / (1 + rate / 100))
            unit_price = (net / quantity).quantize(Decimal("1e-8")).normalize()
            attributes = {
                "quantity": _number(quantity),
                "unit_price": _number(unit_price),
                "vat_rate": _number(rate),
                "description": name,
            }
            return {"type": "purchase_bill_details", "attributes": attributes}

        details = [line(r.name, r.quantity, r.amount, r.kdv_rate) for r in refund.lines if r.amount > 0]
        shipping_rate = next((ln.kdv_rate for ln in order.lines if ln.kind is LineKind.SHIPPING), Decimal(20))
        if refund.shipping_refund > 0:
            details.append(line("Kargo iadesi", Decimal(1), refund.shipping_refund, shipping_rate))
        rest = refund.amount.amount - sum((r.amount for r in refund.lines), Decimal(0)) - refund.shipping_refund
        if not refund.lines and rest > 0:
            rates = sorted({ln.kdv_rate for ln in order.lines})
            weights = [sum((ln.gross for ln in order.lines if ln.kdv_rate == rate), Decimal(0)) for rate in rates]
            for rate, share in zip(rates, allocate(round_kurus(rest), weights), strict=True):
                if share > 0:
                    details.append(line(f"İade (KDV %{_number(rate)})", Decimal(1), share, rate))
        if not details:
            raise PermanentProviderError("the refund returns nothing: no lines and no amount", provider=self.name)
        return details

    def _search_bill(self, document: Document, contact_id: str, issue_date: str) -> str | None:
        reference = self._reference(document)
        params = {"filter[supplier_id]": contact_id, "filter[issue_date]": issue_date, "filter[item_type]": "refund"}
        for page in self._pages("/purchase_bills", params):
            for item in page.get("data") or []:
                if reference in str((item.get("attributes") or {}).get("description") or ""):
                    return str(item["id"])
        return None

    # --- collection: a payment on the sales invoice ----------------------------------------------------

    def _issue_collection(self, document: Document, invoice: Document) -> Outcome:
        found = self.find(document)
        if found is not None:
            return found
        payment = Payment.model_validate(document.payload["payment"])
        order = Order.model_validate(invoice.payload["order"])
        account = self.context.settings.options.get("account_id", "").strip()
        if not account.isdigit():
            raise PermanentProviderError(
                "set option account_id to the Paraşüt kasa/banka account that collections go to", provider=self.name
            )
        if payment.amount.currency != order.currency:
            raise PermanentProviderError(
                f"the payment is in {payment.amount.currency}, its invoice in {order.currency}: Paraşüt needs the "
                "exchange rate of such a collection, which this adapter does not send",
                provider=self.name,
            )
        record = self._record(document)
        sales_invoice_id = invoice.provider_refs["sales_invoice_id"]
        record.update(sales_invoice_id=sales_invoice_id, creating_payment=True)
        self._save(document, record)
        method = f", {payment.method}" if payment.method else ""
        attributes = {
            "description": f"Tahsilat {payment.source_ref}{method} ({self._reference(document)})",
            "account_id": int(account),
            "date": _day(payment.captured_at),
            "amount": _number(round_kurus(payment.amount.amount)),
        }
        created = self._json(
            "POST",
            f"/sales_invoices/{sales_invoice_id}/payments",
            body={"data": {"type": "payments", "attributes": attributes}},
        )
        record.update(payment_id=str(created["data"]["id"]))
        self._save(document, record)
        logger.info("collection recorded at Paraşüt", extra={"key": document.key})
        return Outcome(DocumentStatus.ACCEPTED, self._payment_refs(record))

    @staticmethod
    def _payment_refs(record: dict[str, Any]) -> dict[str, str]:
        return {k: str(record[k]) for k in ("payment_id", "sales_invoice_id") if record.get(k)}

    def _search_payment(self, document: Document, sales_invoice_id: str) -> str | None:
        """Our payment among the invoice's, by the reference Paraşüt keeps in its notes."""
        reference = self._reference(document)
        invoice = self._json("GET", f"/sales_invoices/{sales_invoice_id}", params={"include": "payments"})
        for item in invoice.get("included") or []:
            if item.get("type") == "payments" and reference in str((item.get("attributes") or {}).get("notes") or ""):
                return str(item["id"])
        return None

    # --- cancellation ----------------------------------------------------------------------------------

    def _issue_cancellation(self, document: Document, invoice: Document) -> Outcome:
        sales_invoice_id = invoice.provider_refs["sales_invoice_id"]
        kind = invoice.provider_refs.get("e_document_type", "")
        if kind == "e_invoices":
            raise PermanentProviderError(
                "Paraşüt cannot cancel an e-Fatura: the buyer rejects a TICARIFATURA within its term, or issues a "
                "return invoice for a TEMELFATURA",
                provider=self.name,
            )
        e_document_id = invoice.provider_refs.get("e_document_id", "")
        if kind == "e_archives" and e_document_id:
            archive = self._json("GET", f"/e_archives/{e_document_id}")
            until = str(((archive.get("data") or {}).get("attributes") or {}).get("cancellable_until") or "")
            if until and datetime.fromisoformat(until.replace("Z", "+00:00")) < datetime.now(UTC):
                raise PermanentProviderError(
                    f"the e-Arşiv invoice could be cancelled until {until}; record a return instead",
                    provider=self.name,
                )
        record = {**self._record(document), "sales_invoice_id": sales_invoice_id}
        self._save(document, record)
        try:
            self._call("DELETE", f"/sales_invoices/{sales_invoice_id}/cancel")
        except PermanentProviderError:
            if not self._cancelled(sales_invoice_id):  # an earlier attempt's cancel did arrive
                raise
        logger.info("sales invoice cancelled at Paraşüt", extra={"key": document.key})
        return Outcome(DocumentStatus.ACCEPTED, {"sales_invoice_id": sales_invoice_id})

    def _cancelled(self, sales_invoice_id: str) -> bool:
        invoice = self._json("GET", f"/sales_invoices/{sales_invoice_id}")
        return ((invoice.get("data") or {}).get("attributes") or {}).get("item_type") == "cancelled"

    # --- user list, PDF, listing -----------------------------------------------------------------------

    def registered_user(self, tax_id: str) -> RegisteredUser:
        """GİB's user list as Paraşüt has it: an e-Fatura inbox for the VKN/TCKN means a registered user."""
        if not tax_id.isdigit():
            return RegisteredUser(tax_id, registered=False)
        boxes = self._json("GET", "/e_invoice_inboxes", params={"filter[vkn]": tax_id}).get("data") or []
        attributes = [box.get("attributes") or {} for box in boxes]
        return RegisteredUser(
            tax_id,
            registered=bool(boxes),
            title=str(attributes[0].get("name") or "") if attributes else "",
            aliases=tuple(str(a["e_invoice_address"]) for a in attributes if a.get("e_invoice_address")),
        )

    def pdf(self, document: Document) -> DocumentFile:
        kind = document.provider_refs.get("e_document_type", "")
        ident = document.provider_refs.get("e_document_id", "")
        if kind not in ("e_archives", "e_invoices") or not ident:
            raise PermanentProviderError("the document has no e-document at Paraşüt (yet)", provider=self.name)
        response = self._call("GET", f"/{kind}/{ident}/pdf")
        if response.status_code == httpx.codes.NO_CONTENT:  # "PDF henüz yoksa … 204 döner"
            raise RetryableProviderError("Paraşüt is still preparing the PDF", provider=self.name, retry_after=5)
        url = str((((response.json() or {}).get("data") or {}).get("attributes") or {}).get("url") or "")
        if not url:
            raise RetryableProviderError("Paraşüt gave no PDF url", provider=self.name, retry_after=5)
        return DocumentFile(url=url)  # valid for an hour: fetch it, never hand it to the buyer

    def list_documents(self, start: date, end: date) -> Iterator[ListedDocument]:
        """Sales invoices day by day (`filter[issue_date]` takes one date in the swagger), with their
        e-documents. Estimates (proformas) are not invoices and are left out."""
        day = start
        while day <= end:
            params = {"filter[issue_date]": day.isoformat(), "include": "active_e_document"}
            for page in self._pages("/sales_invoices", params):
                included = {(i.get("type"), i.get("id")): i.get("attributes") or {} for i in page.get("included") or []}
                for item in page.get("data") or []:
                    listed = self._listed(item, included)
                    if listed is not None:
                        yield listed
            day += timedelta(days=1)

    @staticmethod
    def _listed(item: dict[str, Any], included: dict[tuple[Any, Any], dict[str, Any]]) -> ListedDocument | None:
        attributes = item.get("attributes") or {}
        if attributes.get("item_type") == "estimate":
            return None
        ref = ((item.get("relationships") or {}).get("active_e_document") or {}).get("data") or {}
        e_document = included.get((ref.get("type"), ref.get("id")), {})
        description = str(attributes.get("description") or "")
        marker = description.rpartition("mutabik:")[2].rstrip(")").split()[0] if "mutabik:" in description else ""
        currency = str(attributes.get("currency") or "TRL")
        total = attributes.get("net_total")
        return ListedDocument(
            provider_id=str(item["id"]),
            issue_date=date.fromisoformat(str(attributes["issue_date"])[:10]),
            number=str(e_document.get("invoice_number") or attributes.get("invoice_no") or ""),
            uuid=str(e_document.get("uuid") or ""),
            reference=marker,
            total=Decimal(str(total)) if total is not None else None,
            currency="TRY" if currency == "TRL" else currency,
            status=str(attributes.get("item_type") or ""),
        )
