"""GİB's e-Arşiv Portal: invoices as drafts the seller signs, for sellers without an integrator.

We create each invoice as a DRAFT in the portal (earsivportal.efatura.gov.tr; GİB's test portal is
earsivportaltest.efatura.gov.tr). Signing stays with the seller: GİB signs a draft only after an SMS code sent
to the seller's phone is typed into the portal. Our document therefore stays SUBMITTED until the draft is
signed ("Onaylandı" → ACCEPTED, with the portal's invoice number) or deleted ("Silinmiş", or gone → REJECTED).

GİB publishes no API description of the portal. What the adapter sends is what the portal's own web page sends,
as the open-source clients record it (read 2026):
- mlevent/fatura `src/Gib.php`, `src/Client.php`: paths (`/earsiv-services/assos-login`, `/earsiv-services/
  dispatch`), login (`assoscmd` = `anologin` on the production portal, `login` on the test portal; `userid`,
  `sifre`, `sifre2`, `parola`), dispatch form (`cmd`, `callid`, `pageName`, `token`, `jp`), the commands
  EARSIV_PORTAL_FATURA_OLUSTUR (RG_BASITFATURA), EARSIV_PORTAL_TASLAKLARI_GETIR (`baslangic`, `bitis`
  dd/MM/yyyy, `hangiTip` "5000/30000"), EARSIV_PORTAL_FATURA_GETIR (`ettn`), EARSIV_PORTAL_FATURA_SIL
  (`silinecekler`, `aciklama`), EARSIV_PORTAL_FATURA_GOSTER (`ettn`, `onayDurumu` → HTML); the draft states
  "Onaylanmadı" / "Onaylandı" / "Silinmiş"; the failure shapes `{"error": "1", "messages": [...]}` and
  `{"data": {"hata": "..."}}`. `src/Models/InvoiceModel.php`, `InvoiceItemModel.php`: the draft's fields
  (`faturaUuid`, `faturaTarihi`, `malHizmetTable`, `matrah`, `hesaplanankdv`, `odenecekTutar`, `iadeTable`
  with `faturaNo`/`duzenlenmeTarihi` for İADE …); `src/Enums/Unit.php`: the unit codes the portal takes.
- furkankadioglu/efatura `src/InvoiceManager.php`, `src/Models/Invoice.php`: the same commands with
  pageName RG_BASITTASLAKLAR, `rtype=json`, `parola=1`, the Referer `/intragiris.html`, the success answer
  "Faturanız başarıyla oluşturulmuştur…".
- bilaleren/e-fatura `packages/e-fatura/src/EInvoiceApi.ts`: a message of `type` "4" is an expired session;
  amounts travel as strings.
- f/fatura pull request #47 and mlevent/fatura issue #98 (2026): the portal now assigns the ETTN itself and
  refuses a client-made `faturaUuid` with `{"data": "Ettn ya eksik ya boş ya da 36 uzunluk sınırına
  uymuyor."}` (no `error` field, no draft made); an empty `faturaUuid` works. mlevent/fatura issue #101: finding
  the new draft by "the latest draft of this buyer" mixes up concurrent invoices.

So we send our ETTN (our `document.uuid`) and, when the portal refuses it, send the same draft with an empty one
(and remember, in this process, that this portal assigns ETTNs). We never rely on the ETTN being kept: each
draft carries our reference (`mutabik:<document uuid>`) in its note (`not`), and we find it again by listing the
drafts of its invoice date, taking those of the same buyer, and reading their notes (newest first, bounded).

Credentials (secret JSON): `{"userid": "...", "password": "..."}` — the portal user (usually the VKN/TCKN) and
password. Settings: `base_url` (default the production portal). Options: `assoscmd` (`anologin` or `login`;
default `login` for the test portal's host, else `anologin`), `ettn` (`ours`, default: send our ETTN, fall back
as above; `portal`: always let the portal assign it).

What the portal cannot do through this API, and the adapter therefore refuses (PermanentProviderError, before
anything is sent): foreign-currency invoices, tevkifat / istisna / özel matrah lines (0 % KDV), unit codes the
portal does not list. A signed invoice is cancelled only through the portal's cancellation request, which the
buyer answers in their own portal; mutabik does not file or follow it (docs/providers/gib-portal.md).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid as uuidlib
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from mutabik.model.commerce import Line, LineKind, Order, Refund
from mutabik.model.document import Document, DocumentStatus, DocumentType
from mutabik.model.money import KURUS, round_kurus
from mutabik.model.party import PartyKind
from mutabik.providers import _http
from mutabik.providers.base import Capability, DocumentFile, ListedDocument, Outcome, Provider
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError

if TYPE_CHECKING:
    import httpx

    from mutabik.model.party import Party
    from mutabik.tax.decompose import TaxBreakdown, TaxedLine

__all__ = [
    "DELETED",
    "DELETED_BEFORE_SIGNING",
    "PRODUCTION_URL",
    "SIGNED",
    "TEST_URL",
    "UNSIGNED",
    "GibPortalProvider",
    "draft_body",
    "reference_of",
]

PRODUCTION_URL = "https://earsivportal.efatura.gov.tr"
TEST_URL = "https://earsivportaltest.efatura.gov.tr"
LOGIN_PATH = "/earsiv-services/assos-login"
DISPATCH_PATH = "/earsiv-services/dispatch"
REFERER_PATH = "/intragiris.html"

#: The draft states the portal lists (`onayDurumu`).
UNSIGNED, SIGNED, DELETED = "Onaylanmadı", "Onaylandı", "Silinmiş"
DELETED_BEFORE_SIGNING = "deleted in the portal before signing"
#: `hangiTip` of an ordinary e-Arşiv portal user (the 5000/30000 TL limits), as the portal's page sends it.
PORTAL_USER_TYPE = "5000/30000"
#: The portal's sessions end after a while idle; GİB does not say when. Renewing well before is cheap, and an
#: expired session is still caught by the relogin below.
SESSION_LIFETIME = timedelta(minutes=20)
#: Türkiye keeps UTC+3 all year (since 2016): invoice dates and times are printed in it.
TURKIYE = timezone(timedelta(hours=3), "TRT")
#: The longest date range we ask the draft list for at once (the portal refuses long ranges; GİB gives no
#: figure, clients report a week for other lists).
LIST_SPAN = timedelta(days=7)
#: How many of one buyer's drafts of a day we open to read their notes. Sellers on the portal issue few invoices
#: a day; an anonymous-consumer day beyond this is not searched further (the document then waits, never doubles).
MAX_CANDIDATES = 100
#: Unit codes (UN/ECE Rec 20) the portal's unit list offers (mlevent/fatura src/Enums/Unit.php).
_UNIT_CODES = (
    "DAY MON ANN HUR D61 D62 C62 PA BX MGM GRM KGM LTR TNE NT GT MMT CMT MTR KTM MLT MMQ CMK CMQ MTK MTQ KJO CLT "
    "Ct KWH MWH CCT D30 D40 LPA B32 NCL Pr R9 SET T3 Q37 Q39 J39 G52 DZN DMK DMT HAR LM"
)
PORTAL_UNITS = frozenset(_UNIT_CODES.split())
#: KDV rates the portal's form offers today.
PORTAL_KDV_RATES = frozenset({Decimal(1), Decimal(10), Decimal(20)})
#: The portal's answer when it refuses a client-made ETTN (f/fatura #47): nothing was stored.
_ETTN_REFUSED = re.compile(r"\bettn\b.*\b36\b", re.IGNORECASE | re.DOTALL)
#: Words of the portal's "not now" answers: an overloaded back end, a Java failure behind the page.
_BUSY_WORDS = ("yoğun", "daha sonra tekrar", "geçici", "genel sistem hatası", "bakım")
#: A message about the session (type "4", bilaleren/e-fatura EInvoiceApi.ts): log in again.
_SESSION_TYPE = "4"
_SESSION_WORDS = ("oturum", "token")


def reference_of(document: Document) -> str:
    """What we write into the draft's note so that we can find it again whatever ETTN the portal gave it."""
    return f"mutabik:{document.uuid}"


@dataclass
class _Session:
    token: str
    expires: float  # time.monotonic()


#: Portal sessions of this process, by (portal URL, user): a pusher container reuses its login across documents.
_SESSIONS: dict[tuple[str, str], _Session] = {}
#: Portals (by URL) seen refusing our ETTN: later drafts go with an empty one straight away.
_ASSIGNS_ETTN: set[str] = set()
_LOCK = threading.Lock()


class GibPortalProvider(Provider):
    name = "gib_portal"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.SALES_INVOICE,
            Capability.RETURN_INVOICE,
            Capability.CANCELLATION,
            Capability.FIND,
            Capability.STATUS,
            Capability.PDF,
            Capability.LIST,
        }
    )

    _client_instance: httpx.Client | None = None

    # -- the Provider protocol --------------------------------------------------------------------------------

    def issue(self, document: Document, invoice: Document | None = None) -> Outcome:
        if document.type is DocumentType.CANCELLATION:
            return self._cancel(document, invoice)
        body = self._draft_for(document, invoice)
        self._create(body)
        day = _invoice_day(document)
        row = self._locate(document, day)
        if row is None:
            # Created, but not listed yet: the follow-up finds it by our reference.
            return Outcome(DocumentStatus.SUBMITTED, self._refs(document, day))
        return self._outcome(document, day, row)

    def find(self, document: Document) -> Outcome | None:
        if document.type is DocumentType.CANCELLATION:
            return None  # issuing a cancellation again is harmless: a deleted draft stays deleted
        day = _invoice_day(document)
        row = self._locate(document, day)
        return None if row is None else self._outcome(document, day, row)

    def status(self, document: Document) -> Outcome:
        day = _refs_day(document.provider_refs) or _invoice_day(document)
        ettn = document.provider_refs.get("ettn", "")
        if ettn:
            row = _by_ettn(self._drafts(day, day), ettn)
            if row is None:
                return Outcome(DocumentStatus.REJECTED, error=f"{DELETED_BEFORE_SIGNING} (no longer listed)")
            return self._outcome(document, day, row)
        row = self._locate(document, day)
        if row is None:
            return Outcome(DocumentStatus.SUBMITTED, self._refs(document, day))
        return self._outcome(document, day, row)

    def pdf(self, document: Document) -> DocumentFile:
        """The portal renders its invoices as HTML only (EARSIV_PORTAL_FATURA_GOSTER): that is what we return,
        as text/html, rather than pretend to a PDF."""
        day = _refs_day(document.provider_refs) or _invoice_day(document)
        row = self._row(document, day)
        if row is None:
            raise PermanentProviderError("the draft is not in the portal", provider=self.name)
        data = self._dispatch(
            "EARSIV_PORTAL_FATURA_GOSTER",
            "RG_BASITTASLAKLAR",
            {"ettn": row["ettn"], "onayDurumu": row.get("onayDurumu", UNSIGNED)},
        )
        if not isinstance(data, str) or not data.strip():
            raise RetryableProviderError("the portal sent no HTML for the invoice", provider=self.name)
        return DocumentFile(content=data.encode(), content_type="text/html; charset=utf-8")

    def list_documents(self, start: date, end: date) -> Iterator[ListedDocument]:
        """Every FATURA in the portal from `start` to `end`, signed, unsigned or deleted (the `status` says which).
        The list carries no notes, so `reference` stays empty; `uuid` is the portal's ETTN."""
        span_start = start
        for _ in range((end - start).days // LIST_SPAN.days + 1):  # bounded: one request per span
            if span_start > end:
                return
            span_end = min(end, span_start + LIST_SPAN - timedelta(days=1))
            for row in self._drafts(span_start, span_end):
                if row.get("belgeTuru", "FATURA") != "FATURA":
                    continue
                yield ListedDocument(
                    provider_id=str(row.get("ettn", "")),
                    issue_date=_listed_day(str(row.get("belgeTarihi", ""))) or span_start,
                    number=str(row.get("belgeNumarasi", "")),
                    uuid=str(row.get("ettn", "")),
                    status=str(row.get("onayDurumu", "")),
                )
            span_start = span_end + timedelta(days=1)

    def numbers(self, document: Document) -> bool:
        return False  # the portal numbers its drafts

    def logout(self) -> None:
        """End this process's portal session (assoscmd=logout). The pipeline keeps sessions for reuse; this is
        for tools that log in for one task."""
        credentials = self.credentials()
        key = (self._base_url, credentials.get("userid", ""))
        with _LOCK:
            session = _SESSIONS.pop(key, None)
        if session is not None:
            self._post(LOGIN_PATH, {"assoscmd": "logout", "rtype": "json", "token": session.token})

    # -- drafts ------------------------------------------------------------------------------------------------

    def _draft_for(self, document: Document, invoice: Document | None) -> dict[str, Any]:
        """The jp of EARSIV_PORTAL_FATURA_OLUSTUR for a sales or return invoice, or PermanentProviderError."""
        from mutabik.tax.errors import TaxError

        issued_at = document.created_at.astimezone(TURKIYE)
        try:
            if document.type is DocumentType.SALES_INVOICE:
                order = Order.model_validate(document.payload["order"])
                return draft_body(
                    order,
                    buyer=order.buyer,
                    issued_at=issued_at,
                    ettn=document.uuid,
                    reference=reference_of(document),
                    order_number=order.number or order.source_ref,
                )
            if document.type is DocumentType.RETURN_INVOICE:
                refund = Refund.model_validate(document.payload["refund"])
                if invoice is None or not invoice.number:
                    raise PermanentProviderError(
                        "a return invoice needs its sales invoice signed in the portal (it has no number yet)",
                        provider=self.name,
                    )
                returned_day = _refs_day(invoice.provider_refs) or _invoice_day(invoice)
                buyer = Order.model_validate(invoice.payload["order"]).buyer
                return draft_body(
                    refund,
                    buyer=buyer,
                    issued_at=issued_at,
                    ettn=document.uuid,
                    reference=reference_of(document),
                    order_number=refund.order_ref,
                    returned=(invoice.number, returned_day),
                )
        except (TaxError, ValueError, KeyError) as exc:
            raise PermanentProviderError(f"cannot write the draft: {exc}", provider=self.name) from exc
        raise PermanentProviderError(f"the portal does not take a {document.type.value}", provider=self.name)

    def _create(self, body: dict[str, Any]) -> None:
        """EARSIV_PORTAL_FATURA_OLUSTUR; our ETTN first, an empty one if the portal refuses ours."""
        if self.context.settings.options.get("ettn") == "portal" or self._base_url in _ASSIGNS_ETTN:
            body = {**body, "faturaUuid": ""}
        for _ in range(2):  # ours, then the portal's
            try:
                data = self._dispatch("EARSIV_PORTAL_FATURA_OLUSTUR", "RG_BASITFATURA", body)
            except PermanentProviderError as exc:
                data = str(exc)  # the refusal of our ETTN may also come as an error message
                if not (body["faturaUuid"] and _ETTN_REFUSED.search(data)):
                    raise
            words = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
            if isinstance(data, str) and "başarıyla" in data:
                return
            if body["faturaUuid"] and _ETTN_REFUSED.search(words):
                with _LOCK:
                    _ASSIGNS_ETTN.add(self._base_url)
                body = {**body, "faturaUuid": ""}
                continue
            raise PermanentProviderError(f"the portal refused the draft: {words}"[:4000], provider=self.name)
        raise PermanentProviderError("the portal refused the draft twice", provider=self.name)  # pragma: no cover

    def _drafts(self, start: date, end: date) -> list[dict[str, Any]]:
        data = self._dispatch(
            "EARSIV_PORTAL_TASLAKLARI_GETIR",
            "RG_BASITTASLAKLAR",
            {"baslangic": _portal_day(start), "bitis": _portal_day(end), "hangiTip": PORTAL_USER_TYPE, "table": []},
        )
        if data is None:
            return []
        if not isinstance(data, list):
            raise RetryableProviderError("the portal's draft list was not a list", provider=self.name)
        return [row for row in data if isinstance(row, dict) and row.get("ettn")]

    def _details(self, ettn: str) -> dict[str, Any] | None:
        data = self._dispatch("EARSIV_PORTAL_FATURA_GETIR", "RG_BASITFATURA", {"ettn": ettn}, missing_ok=True)
        return data if isinstance(data, dict) and "hata" not in data else None

    def _locate(self, document: Document, day: date) -> dict[str, Any] | None:
        """Our draft in the day's list: by our ETTN if the portal kept it, else by our reference in the notes of
        the same buyer's drafts, newest first. A live draft wins over a deleted one (a replay after deletion)."""
        rows = [r for r in self._drafts(day, day) if r.get("belgeTuru", "FATURA") == "FATURA"]
        mine = _by_ettn(rows, document.uuid)
        if mine is not None:
            return mine
        tax_id = _buyer_tax_id(document)
        candidates = [r for r in rows if not tax_id or str(r.get("aliciVknTckn", "")) == tax_id]
        candidates.sort(key=lambda r: str(r.get("belgeNumarasi", "")), reverse=True)
        reference, deleted = reference_of(document), None
        for row in candidates[:MAX_CANDIDATES]:
            details = self._details(str(row["ettn"]))
            if details is None or reference not in str(details.get("not", "")):
                continue
            if row.get("onayDurumu") != DELETED:
                return row
            deleted = deleted or row
        return deleted

    def _row(self, document: Document, day: date) -> dict[str, Any] | None:
        ettn = document.provider_refs.get("ettn", "")
        if ettn:
            return _by_ettn(self._drafts(day, day), ettn)
        return self._locate(document, day)

    def _outcome(self, document: Document, day: date, row: Mapping[str, Any]) -> Outcome:
        refs = {**self._refs(document, day), "ettn": str(row["ettn"])}
        number = str(row.get("belgeNumarasi", ""))
        if number:
            refs["belge_numarasi"] = number
        state = row.get("onayDurumu")
        if state == SIGNED:
            return Outcome(DocumentStatus.ACCEPTED, refs, number=number)
        if state == DELETED:
            return Outcome(DocumentStatus.REJECTED, refs, error=DELETED_BEFORE_SIGNING)
        return Outcome(DocumentStatus.SUBMITTED, refs)

    def _refs(self, document: Document, day: date) -> dict[str, str]:
        return {"reference": reference_of(document), "date": _portal_day(day)}

    def _cancel(self, document: Document, invoice: Document | None) -> Outcome:
        """Delete the sales invoice's draft while it is unsigned (EARSIV_PORTAL_FATURA_SIL). A signed invoice is
        refused with the way out: the portal's cancellation request, which the buyer answers."""
        if invoice is None:
            raise PermanentProviderError("there is no sales invoice to cancel", provider=self.name)
        day = _refs_day(invoice.provider_refs) or _invoice_day(invoice)
        row = self._row(invoice, day)
        if row is None:
            raise PermanentProviderError("the sales invoice's draft is not in the portal", provider=self.name)
        refs = {"ettn": str(row["ettn"]), "date": _portal_day(day)}
        state = row.get("onayDurumu")
        if state == DELETED:
            return Outcome(DocumentStatus.ACCEPTED, refs)
        if state == SIGNED:
            raise PermanentProviderError(
                f"invoice {row.get('belgeNumarasi', '')} is already signed: the portal cancels it only through a "
                "cancellation request (İptal Talebi) the buyer accepts; file it in the portal",
                provider=self.name,
            )
        body = document.payload.get("cancellation", {})
        reason = str(body.get("reason") or "Sipariş iptal edildi")[:200]
        data = self._dispatch(
            "EARSIV_PORTAL_FATURA_SIL", "RG_BASITTASLAKLAR", {"silinecekler": [row], "aciklama": reason}
        )
        if not (isinstance(data, str) and "başarıyla" in data):
            words = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
            raise PermanentProviderError(f"the portal did not delete the draft: {words}"[:4000], provider=self.name)
        return Outcome(DocumentStatus.ACCEPTED, refs)

    # -- the portal's session and its answers ------------------------------------------------------------------

    @property
    def _base_url(self) -> str:
        return (self.context.settings.base_url or PRODUCTION_URL).rstrip("/")

    @property
    def _client(self) -> httpx.Client:
        if self._client_instance is None:
            client = _http.new_client(
                self.context,
                default_url=PRODUCTION_URL,
                headers={"Referer": self._base_url + REFERER_PATH, "Accept": "application/json"},
            )
            weakref.finalize(self, client.close)
            self._client_instance = client
        return self._client_instance

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        response = _http.request(self._client, self.name, "POST", path, data=form)
        _http.classify(response, self.name, lambda r: r.text[:300])
        try:
            answer = response.json()
        except ValueError as exc:
            # A maintenance page or a proxy's error in HTML: the portal is not answering as itself.
            raise RetryableProviderError("the portal answered without JSON", provider=self.name) from exc
        if not isinstance(answer, dict):
            raise RetryableProviderError("the portal's answer was not a JSON object", provider=self.name)
        return answer

    def _login(self) -> str:
        """assos-login; a refused login is tried once more with the secret read afresh (it may have rotated)."""
        command = self.context.settings.options.get("assoscmd") or (
            "login" if "earsivportaltest" in self._base_url else "anologin"
        )
        tried: dict[str, str] = {}
        refused = ""
        for fresh in (False, True):
            credentials = self.credentials(fresh=fresh)
            if credentials == tried:
                break  # the secret has not changed: the same login would be refused again
            tried = credentials
            userid, password = credentials.get("userid", ""), credentials.get("password", "")
            if not userid or not password:
                raise PermanentProviderError(f"{self.secret_name} needs userid and password", provider=self.name)
            answer = self._post(
                LOGIN_PATH,
                {
                    "assoscmd": command,
                    "rtype": "json",
                    "userid": userid,
                    "sifre": password,
                    "sifre2": password,
                    "parola": "1",
                },
            )
            token = answer.get("token")
            if isinstance(token, str) and token:
                with _LOCK:
                    _SESSIONS[(self._base_url, userid)] = _Session(
                        token, time.monotonic() + SESSION_LIFETIME.total_seconds()
                    )
                return token
            words = _messages(answer)
            if _is_busy(words):
                raise RetryableProviderError(f"the portal could not log in now: {words}", provider=self.name)
            refused = words
        raise PermanentProviderError(f"the portal refused the login: {refused}"[:4000], provider=self.name)

    def _token(self, *, renew: bool) -> str:
        userid = self.credentials().get("userid", "")
        with _LOCK:
            session = _SESSIONS.get((self._base_url, userid))
            if renew:
                _SESSIONS.pop((self._base_url, userid), None)
        if session is not None and not renew and session.expires > time.monotonic():
            return session.token
        return self._login()

    def _dispatch(self, command: str, page: str, jp: Mapping[str, Any], *, missing_ok: bool = False) -> Any:
        """One dispatch command; its `data`. An expired session is renewed once; "busy" is Retryable; any
        other refusal is Permanent with the portal's words."""
        for renew in (False, True):
            answer = self._post(
                DISPATCH_PATH,
                {
                    "cmd": command,
                    "callid": str(uuidlib.uuid4()),
                    "pageName": page,
                    "token": self._token(renew=renew),
                    "jp": json.dumps(jp, ensure_ascii=False),
                },
            )
            if "error" not in answer:
                data = answer.get("data")
                if isinstance(data, dict) and data.get("hata") and not missing_ok:
                    raise PermanentProviderError(f"{command}: {data['hata']}"[:4000], provider=self.name)
                return data
            words = _messages(answer)
            if _is_session_end(answer):
                if renew:
                    raise RetryableProviderError(
                        f"the portal ended a fresh session at once: {words}", provider=self.name
                    )
                continue
            if _is_busy(words):
                raise RetryableProviderError(f"the portal is busy: {words}", provider=self.name)
            raise PermanentProviderError(f"{command}: {words}"[:4000], provider=self.name)
        raise AssertionError("unreachable")  # pragma: no cover


# -- the draft's body ------------------------------------------------------------------------------------------


def draft_body(
    source: Order | Refund,
    *,
    buyer: Party,
    issued_at: datetime,
    ettn: str,
    reference: str,
    order_number: str,
    returned: tuple[str, date] | None = None,
) -> dict[str, Any]:
    """The jp of EARSIV_PORTAL_FATURA_OLUSTUR (fields as mlevent/fatura's InvoiceModel exports them). Amounts come
    from our tax engine, so `odenecekTutar` is what the buyer paid (or is paid back), to the kuruş."""
    from mutabik.tax.words import amount_in_words

    currency = source.currency if isinstance(source, Order) else source.amount.currency
    if currency != "TRY":
        raise PermanentProviderError(
            f"the portal adapter issues TRY invoices only, not {currency}", provider=GibPortalProvider.name
        )
    breakdown = _breakdown(source)
    for line in breakdown.lines:
        _check_line(line)
    total = breakdown.payable
    note = f"{amount_in_words(total, 'TRY')}. Sipariş: {order_number}. Ref: {reference}"
    person = buyer.kind is PartyKind.PERSON
    address = buyer.address
    return {
        "faturaUuid": ettn,
        "belgeNumarasi": "",
        "faturaTarihi": issued_at.strftime("%d/%m/%Y"),
        "saat": issued_at.strftime("%H:%M:%S"),
        "paraBirimi": "TRY",
        "dovzTLkur": "0",
        "faturaTipi": "IADE" if returned else "SATIS",
        "hangiTip": PORTAL_USER_TYPE,
        "vknTckn": buyer.tax_id,
        "aliciUnvan": "" if person else buyer.name,
        "aliciAdi": buyer.first_name if person else "",
        "aliciSoyadi": buyer.family_name if person else "",
        "binaAdi": address.building,
        "binaNo": "",
        "kapiNo": "",
        "kasabaKoy": "",
        "vergiDairesi": buyer.tax_office,
        "ulke": address.country,
        "bulvarcaddesokak": address.street,
        "mahalleSemtIlce": address.district,
        "sehir": address.city,
        "postaKodu": address.postal_code,
        "tel": buyer.phone or "",
        "fax": "",
        "eposta": buyer.email or "",
        "websitesi": "",
        "iadeTable": [{"faturaNo": returned[0], "duzenlenmeTarihi": _portal_day(returned[1])}] if returned else [],
        "ozelMatrahTutari": "0",
        "ozelMatrahOrani": 0,
        "ozelMatrahVergiTutari": "0",
        "vergiCesidi": " ",
        "malHizmetTable": [_line(line) for line in breakdown.lines],
        "tip": "İskonto",
        "matrah": _money(breakdown.line_extension),
        "malhizmetToplamTutari": _money(sum((t.net + t.discount for t in breakdown.lines), Decimal(0))),
        "toplamIskonto": _money(breakdown.allowance_total),
        "hesaplanankdv": _money(breakdown.kdv_total),
        "vergilerToplami": _money(breakdown.kdv_total),
        "vergilerDahilToplamTutar": _money(breakdown.tax_inclusive),
        "toplamMasraflar": "0",
        "odenecekTutar": _money(total),
        "not": note,
        "siparisNumarasi": order_number,
        "siparisTarihi": source.ordered_at.astimezone(TURKIYE).strftime("%d/%m/%Y")
        if isinstance(source, Order)
        else "",
        "irsaliyeNumarasi": "",
        "irsaliyeTarihi": "",
        "fisNo": "",
        "fisTarihi": "",
        "fisSaati": "",
        "fisTipi": "",
        "zRaporNo": "",
        "okcSeriNo": "",
    }


def _breakdown(source: Order | Refund) -> TaxBreakdown:
    from mutabik.tax.decompose import decompose, decompose_order

    if isinstance(source, Order):
        return decompose_order(source)
    lines = [
        Line(sku=r.sku, name=r.name, quantity=r.quantity, unit_price=r.amount / r.quantity, kdv_rate=r.kdv_rate)
        for r in source.lines
    ]
    if source.shipping_refund:
        # The canonical refund carries no rate for shipping; kargo is taxed at the standard rate (as ubl/invoice.py).
        lines.append(
            Line(
                name="Kargo bedeli iadesi",
                kind=LineKind.SHIPPING,
                quantity=Decimal(1),
                unit_price=source.shipping_refund,
            )
        )
    if not lines:
        raise PermanentProviderError("a refund without lines cannot say which KDV it returns", provider="gib_portal")
    return decompose(lines, total_paid=source.amount.amount)


def _check_line(line: TaxedLine) -> None:
    where = f"line {line.number} ({line.name[:40]})"
    if line.withholding is not None or line.exemption is not None or line.kdv_rate not in PORTAL_KDV_RATES:
        raise PermanentProviderError(
            f"{where}: the portal adapter issues SATIS/IADE at KDV 1, 10 or 20 % only; tevkifat, istisna and "
            "özel matrah need an integrator",
            provider=GibPortalProvider.name,
        )
    if line.unit not in PORTAL_UNITS:
        raise PermanentProviderError(f"{where}: unit {line.unit} is not in the portal's list", provider="gib_portal")


def _line(line: TaxedLine) -> dict[str, Any]:
    gross = line.net + line.discount  # quantity × unit price, before the discount
    rate = (line.discount / gross * 100).quantize(KURUS) if gross else Decimal(0)
    return {
        "malHizmet": line.name[:200],
        "miktar": _quantity(line.quantity),
        "birim": line.unit,
        "birimFiyat": format(line.unit_price, "f"),
        "fiyat": _money(gross),
        "iskontoArttm": "İskonto",
        "iskontoOrani": float(rate),
        "iskontoTutari": _money(line.discount),
        "iskontoNedeni": "",
        "malHizmetTutari": _money(line.net),
        "kdvOrani": format(line.kdv_rate.normalize(), "f"),
        "kdvTutari": _money(line.kdv),
        "vergiOrani": 0,
        "vergininKdvTutari": "0",
        "ozelMatrahTutari": "0",
    }


# -- small readings and writings -------------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return format(round_kurus(value), "f")


def _quantity(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _portal_day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _refs_day(refs: Mapping[str, str]) -> date | None:
    try:
        return datetime.strptime(refs.get("date", ""), "%d/%m/%Y").date()
    except ValueError:
        return None


def _listed_day(text: str) -> date | None:
    """The list writes dates as dd-MM-yyyy (the query takes dd/MM/yyyy)."""
    for pattern in ("%d-%m-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _invoice_day(document: Document) -> date:
    """The draft's invoice date: the document's creation day in Türkiye, the same on every retry."""
    return document.created_at.astimezone(TURKIYE).date()


def _by_ettn(rows: list[dict[str, Any]], ettn: str) -> dict[str, Any] | None:
    wanted = ettn.lower()
    return next((row for row in rows if str(row.get("ettn", "")).lower() == wanted), None)


def _buyer_tax_id(document: Document) -> str:
    order = document.payload.get("order")
    if isinstance(order, dict):
        buyer = order.get("buyer")
        if isinstance(buyer, dict):
            return str(buyer.get("tax_id", ""))
    return ""  # a refund's buyer is on its invoice: search the whole day


def _messages(answer: Mapping[str, Any]) -> str:
    """The portal's own words: `messages` as [{"type", "text"}] or plain strings."""
    messages = answer.get("messages")
    if not isinstance(messages, list) or not messages:
        return json.dumps(answer, ensure_ascii=False)[:500]
    texts = [str(m.get("text", "")) if isinstance(m, dict) else str(m) for m in messages]
    return "; ".join(t for t in texts if t)


def _is_session_end(answer: Mapping[str, Any]) -> bool:
    messages = answer.get("messages")
    if not isinstance(messages, list):
        return False
    for message in messages:
        if isinstance(message, dict) and str(message.get("type")) == _SESSION_TYPE:
            return True
        text = (message.get("text", "") if isinstance(message, dict) else str(message)).lower()
        if any(word in text for word in _SESSION_WORDS):
            return True
    return False


def _is_busy(words: str) -> bool:
    lowered = words.lower()
    return any(word in lowered for word in _BUSY_WORDS)
