"""İzibiz, özel entegratör: our UBL-TR over its SOAP services, with a login session.

Every body carries `REQUEST_HEADER` (`SESSION_ID`, `APPLICATION_NAME`, `COMPRESSED`); the root element is
`<Operation>Request` in the service's namespace, its children unqualified; `SOAPAction` is empty.

- `AuthenticationWS` (`http://schemas.i2i.com/ei/wsdl`): `LoginRequest` (`SESSION_ID=-1`, `USER_NAME`,
  `PASSWORD`) → `SESSION_ID`, valid 8 hours; `CheckUserRequest` (`USER/IDENTIFIER`, `DOCUMENT_TYPE=INVOICE`)
  → the buyer's `USER` records (`ALIAS`, `UNIT` GB/PK, `TITLE`); none means "not an e-Fatura user".
- `EInvoiceWS` (same namespace): `SendInvoiceRequest` (`SENDER`/`RECEIVER` with `vkn` and `alias`
  attributes, `INVOICE` with `ID` and `UUID` attributes and `CONTENT` = base64 of a zip holding
  `<ETTN>.xml`) → `RETURN_CODE` 0; `GetInvoiceStatusRequest` (`INVOICE@UUID`) → `INVOICE_STATUS` with İzibiz's
  `STATUS` and GİB's `GIB_STATUS_CODE` (see `_gib`); `GetInvoiceWithTypeRequest` → the PDF.
- `EIArchiveWS/EFaturaArchive` (`http://schemas.i2i.com/ei/wsdl/archive`): `ArchiveInvoiceExtendedRequest`
  (`EARSIV_FLAG=Y`, `EARSIV_TYPE` NORMAL or INTERNET for internet sales, `SUB_STATUS=NEW`,
  `INVOICE_CONTENT` = base64 of the zip) → `INVOICE_ID`; `GetEArchiveInvoiceStatusRequest` (`UUID`) →
  `STATUS` 100–115 processing, 120 processed, 130 reported to GİB, 200 unknown ETTN;
  `CancelEArchiveInvoiceRequest` (`FATURA_UUID`); `ReadFromArchiveRequest` (`PROFILE=PDF`) → the PDF.

Errors come as `ERROR_TYPE` (`ERROR_CODE`, `ERROR_SHORT_DES`, `ERROR_LONG_DES`) in an HTTP 200 answer, or
as a SOAP fault: 10004 is an expired session (we log in again, once), 10003 a schematron refusal, 10009 /
10017 an ETTN or number already sent (ours: we ask for its status and follow it), 10008 "no such record",
-1 / 10001 a system error (retried).

Sources: İzibiz's API documentation, github.com/izibiz/api-documentation (source/includes/authentication/
_login.md, _checkuser.md; efatura/_sendinvoice.md, _getinvoicestatus.md with İzibiz's and GİB's status
codes; earsiv/_writetoarchiveextended.md, _getearchivestatus.md, _cancelinvoice.md) and İzibiz's own
client github.com/izibiz/izibiz-python-soap-client (Archive.py). Not confirmed, and kept here: the
element names of `GetInvoiceWithTypeRequest` and `ReadFromArchiveRequest` answers, and how a cancelled
e-Arşiv invoice shows in its status (we read "IPTAL" in `STATUS_DESC`).

Secret (JSON): `username`, `password` (the portal user). Options: `sender_alias` (our GB alias),
`application_name` (default `mutabik`), `efatura_profile`, `timeout_seconds`. Base URL: İzibiz's
`https://efatura.izibiz.com.tr` (test: `https://efaturatest.izibiz.com.tr`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from lxml.builder import ElementMaker

from mutabik.model.document import Document, DocumentStatus, DocumentType
from mutabik.providers import _gib, _soap
from mutabik.providers.base import DocumentFile, Outcome, RegisteredUser
from mutabik.providers.exceptions import PermanentProviderError, ProviderError, RetryableProviderError

if TYPE_CHECKING:
    from lxml.etree import _Element

__all__ = ["IzibizProvider"]

WSDL_NS = "http://schemas.i2i.com/ei/wsdl"
ARCHIVE_NS = "http://schemas.i2i.com/ei/wsdl/archive"
LIVE_URL = "https://efatura.izibiz.com.tr"
AUTH_PATH, INVOICE_PATH, ARCHIVE_PATH = "/AuthenticationWS", "/EInvoiceWS", "/EIArchiveWS/EFaturaArchive"
#: İzibiz keeps a session 8 hours; we renew 10 minutes early.
SESSION_SECONDS = 8 * 3600 - 600
SESSION_EXPIRED = frozenset({"10004", "10002"})
DUPLICATE = frozenset({"10009", "10011", "10017"})
NOT_FOUND = "10008"
SYSTEM_ERRORS = frozenset({"-1", "10001"})
#: e-Arşiv statuses (İzibiz "E-Arşiv Durumları"): processed or reported is final; 200 is an unknown ETTN.
EARSIV_DONE, EARSIV_UNKNOWN = frozenset({"120", "130"}), "200"
#: İzibiz's own outgoing statuses that end the road before GİB had a say ("Giden Fatura Durumları").
EFATURA_FAILED = frozenset({"136", "139"})
EFATURA_REJECTED, EFATURA_ACCEPTED = "120", "112"

_E = ElementMaker()
_WSDL = ElementMaker(namespace=WSDL_NS, nsmap={"wsdl": WSDL_NS})
_ARCHIVE = ElementMaker(namespace=ARCHIVE_NS, nsmap={"arc": ARCHIVE_NS})
_T = TypeVar("_T")
_ERROR_CODE = re.compile(r"(?<![\d-])(-1|1000\d|1001\d)(?!\d)")

#: Sessions per (base URL, user), shared by every adapter instance in this process (a Lambda container).
_SESSIONS: dict[tuple[str, str], tuple[str, float]] = {}
_SESSIONS_LOCK = threading.Lock()


class IzibizError(Exception):
    """An İzibiz `ERROR_TYPE`: its code and words."""

    def __init__(self, code: str, words: str) -> None:
        self.code, self.words = code, words
        super().__init__(f"{code}: {words}" if code else words)


class IzibizProvider(_gib.GibIntegrator):
    name = "izibiz"

    # --- plumbing -----------------------------------------------------------------------------------

    @cached_property
    def _client(self) -> _soap.SoapClient:
        return _soap.SoapClient(self.context, self.name, self.context.settings.base_url or LIVE_URL)

    def _base(self) -> str:
        return (self.context.settings.base_url or LIVE_URL).rstrip("/")

    def _user(self) -> tuple[str, str]:
        secret = self.credentials()
        try:
            return secret["username"], secret["password"]
        except KeyError as exc:
            raise PermanentProviderError(f"{self.secret_name} lacks {exc}", provider=self.name) from exc

    def _header(self, session: str, *, compressed: bool = False) -> _Element:
        return _E.REQUEST_HEADER(
            _E.SESSION_ID(session),
            _E.APPLICATION_NAME(self.context.settings.options.get("application_name", "mutabik")),
            _E.COMPRESSED("Y" if compressed else "N"),
        )

    def _post(self, path: str, body: _Element) -> _Element:
        """One call; an `ERROR_TYPE` answer or a fault becomes IzibizError, transport trouble Retryable."""
        try:
            answer = self._client.call(f"{self._base()}{path}", body)
        except _soap.SoapFaultError as fault:
            words = " ".join(part for part in (fault.message, fault.detail) if part)
            found = _ERROR_CODE.search(words)  # a fault carries İzibiz's code in its words or detail
            code = found.group(1) if found else fault.code
            if (fault.status_code or 0) >= 502 or _soap.is_transient(words):
                raise RetryableProviderError(f"{self.name}: {words}", provider=self.name) from fault
            raise IzibizError(code, words) from fault
        error = _soap.child(answer, "ERROR_TYPE")
        if error is not None:
            words = _soap.text(error, "ERROR_SHORT_DES") or _soap.text(error, "ERROR_LONG_DES")
            long = _soap.text(error, "ERROR_LONG_DES")
            if long and long != words:
                words = f"{words} {long}"
            raise IzibizError(_soap.text(error, "ERROR_CODE"), words or "error without description")
        return answer

    def _login(self) -> str:
        username, password = self._user()
        key = (self._base(), username)
        with _SESSIONS_LOCK:
            cached = _SESSIONS.get(key)
            if cached is not None and cached[1] > time.monotonic():
                return cached[0]
        body = _WSDL.LoginRequest(self._header("-1"), _E.USER_NAME(username), _E.PASSWORD(password))
        try:
            session = _soap.text(self._post(AUTH_PATH, body), "SESSION_ID")
        except IzibizError as exc:
            raise PermanentProviderError(f"{self.name} refused the login: {exc}", provider=self.name) from exc
        if not session:
            raise PermanentProviderError(f"{self.name} gave no SESSION_ID", provider=self.name)
        with _SESSIONS_LOCK:
            _SESSIONS[key] = (session, time.monotonic() + SESSION_SECONDS)
        return session

    def _forget_session(self) -> None:
        with _SESSIONS_LOCK:
            _SESSIONS.pop((self._base(), self._user()[0]), None)

    def _with_session(self, work: Callable[[str], _T]) -> _T:
        """Run `work(session)`; on an expired-session error log in again and run it once more."""
        try:
            return work(self._login())
        except IzibizError as exc:
            if exc.code not in SESSION_EXPIRED and "oturum" not in _gib.fold(exc.words):
                raise
        self._forget_session()
        return work(self._login())

    def _error(self, exc: IzibizError) -> ProviderError:
        if exc.code in SYSTEM_ERRORS or _soap.is_transient(exc.words):
            return RetryableProviderError(f"{self.name}: {exc}", provider=self.name)
        return _gib.refusal(str(exc), self.name)

    def _run(self, path: str, build: Callable[[str], _Element]) -> _Element:
        """`build(session)` posted to `path`, with the session handling and İzibiz's errors mapped."""
        try:
            return self._with_session(lambda session: self._post(path, build(session)))
        except IzibizError as exc:
            raise self._error(exc) from exc

    # --- e-Fatura -----------------------------------------------------------------------------------

    def _send_efatura(self, sending: _gib.Sending) -> Outcome:
        package = _gib.zip_document(sending.xml, f"{sending.uuid}.xml")
        sender = self.context.settings.options.get("sender_alias", "")
        seller = self.seller().tax_id

        def build(session: str) -> _Element:
            return _WSDL.SendInvoiceRequest(
                self._header(session, compressed=True),
                _E.SENDER(vkn=seller, alias=sender),
                _E.RECEIVER(vkn=sending.buyer.tax_id, alias=sending.receiver_alias),
                _E.INVOICE(_E.CONTENT(_gib.b64encode(package)), ID=sending.number, UUID=sending.uuid),
            )

        try:
            self._with_session(lambda session: self._post(INVOICE_PATH, build(session)))
        except IzibizError as exc:
            if exc.code in DUPLICATE:
                found = self._efatura_by_ettn(sending.uuid)
                if found is not None:
                    return found
            raise self._error(exc) from exc
        return Outcome(DocumentStatus.SUBMITTED, {"channel": "efatura", "profile": sending.profile}, sending.number)

    def _efatura_by_ettn(self, ettn: str) -> Outcome | None:
        def build(session: str) -> _Element:
            return _WSDL.GetInvoiceStatusRequest(self._header(session), _E.INVOICE(UUID=ettn))

        try:
            answer = self._with_session(lambda session: self._post(INVOICE_PATH, build(session)))
        except IzibizError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise self._error(exc) from exc
        status = _soap.child(answer, "INVOICE_STATUS")
        if status is None:
            return None
        refs = {"channel": "efatura"}
        number = status.get("ID", "")
        own, own_words = _soap.text(status, "STATUS"), _soap.text(status, "STATUS_DESCRIPTION")
        own_code, plain = (own.split()[0] if own else ""), own.upper().replace(" ", "")
        if own_code in EFATURA_FAILED or plain in {"SEND-FAILED", "AUTO-FAILED"}:
            return Outcome(DocumentStatus.REJECTED, refs, number=number, error=f"{self.name}: {own} {own_words}")
        if own_code == EFATURA_REJECTED or plain.startswith("REJECTED"):  # a TICARIFATURA the buyer refused
            return _gib.outcome_for(1300, own_words, refs=refs, number=number, application_response="RED")
        code, words = _soap.text(status, "GIB_STATUS_CODE"), _soap.text(status, "GIB_STATUS_DESCRIPTION")
        return _gib.outcome_for(code, words, refs=refs, number=number)

    # --- e-Arşiv ------------------------------------------------------------------------------------

    def _send_earchive(self, sending: _gib.Sending) -> Outcome:
        package = _gib.zip_document(sending.xml, f"{sending.uuid}.xml")

        def build(session: str) -> _Element:
            return _ARCHIVE.ArchiveInvoiceExtendedRequest(
                self._header(session, compressed=True),
                _E.ArchiveInvoiceExtendedContent(
                    _E.INVOICE_PROPERTIES(
                        _E.EARSIV_FLAG("Y"),
                        _E.EARSIV_PROPERTIES(
                            _E.EARSIV_TYPE("INTERNET" if sending.internet_sale else "NORMAL"),
                            _E.EARSIV_EMAIL_FLAG("N"),
                            _E.SUB_STATUS("NEW"),
                        ),
                        _E.INVOICE_CONTENT(_gib.b64encode(package)),
                    )
                ),
            )

        try:
            answer = self._with_session(lambda session: self._post(ARCHIVE_PATH, build(session)))
        except IzibizError as exc:
            if exc.code in DUPLICATE:
                found = self._earchive_by_ettn(sending.uuid)
                if found is not None:
                    return found
            raise self._error(exc) from exc
        refs = {"channel": "earsiv", "profile": sending.profile}
        return Outcome(DocumentStatus.SUBMITTED, refs, number=_soap.text(answer, "INVOICE_ID") or sending.number)

    def _earchive_header(self, ettn: str) -> _Element | None:
        answer = self._run(
            ARCHIVE_PATH, lambda session: _ARCHIVE.GetEArchiveInvoiceStatusRequest(self._header(session), _E.UUID(ettn))
        )
        header = next(
            (h for h in _soap.children(answer, "HEADER") if _soap.text(h, "UUID").upper() == ettn.upper()), None
        )
        if header is None or _soap.text(header, "STATUS") == EARSIV_UNKNOWN:
            return None
        return header

    def _earchive_by_ettn(self, ettn: str) -> Outcome | None:
        header = self._earchive_header(ettn)
        if header is None:
            return None
        refs = {"channel": "earsiv", "profile": _gib.EARSIV}
        if web_key := _soap.text(header, "WEB_KEY"):
            refs["url"] = web_key
        status = DocumentStatus.ACCEPTED if _soap.text(header, "STATUS") in EARSIV_DONE else DocumentStatus.SUBMITTED
        return Outcome(status, refs, number=_soap.text(header, "INVOICE_ID"))

    def _cancel(self, document: Document, invoice: Document | None) -> Outcome:
        if invoice is None:
            raise PermanentProviderError("a cancellation needs the invoice it cancels", provider=self.name)
        if not self.earchive_invoice(invoice):
            raise PermanentProviderError(
                "an e-Fatura is not cancelled through the integrator: issue a return invoice, or the buyer "
                "objects through GİB's portal",
                provider=self.name,
            )
        ettn = invoice.uuid.upper()
        self._run(
            ARCHIVE_PATH,
            lambda session: _ARCHIVE.CancelEArchiveInvoiceRequest(
                self._header(session), _E.CancelEArsivInvoiceContent(_E.FATURA_UUID(ettn))
            ),
        )
        return Outcome(DocumentStatus.ACCEPTED, {"cancelled": ettn})

    # --- the Provider protocol ----------------------------------------------------------------------

    def find(self, document: Document) -> Outcome | None:
        if document.type is DocumentType.CANCELLATION:
            ettn = self.invoice_uuid_of(document)
            header = self._earchive_header(ettn)
            if header is None or "iptal" not in _gib.fold(_soap.text(header, "STATUS_DESC")):
                return None
            return Outcome(DocumentStatus.ACCEPTED, {"cancelled": ettn})
        ettn = document.uuid.upper()
        if document.profile != _gib.EARSIV:
            outcome = self._efatura_by_ettn(ettn)
            if outcome is not None or document.profile:
                return outcome
        return self._earchive_by_ettn(ettn)

    def registered_user(self, tax_id: str) -> RegisteredUser:
        answer = self._run(
            AUTH_PATH,
            lambda session: _WSDL.CheckUserRequest(
                self._header(session), _E.USER(_E.IDENTIFIER(tax_id)), _E.DOCUMENT_TYPE("INVOICE")
            ),
        )
        users = [
            u
            for u in _soap.children(answer, "USER")
            if _soap.text(u, "IDENTIFIER") == tax_id and _soap.text(u, "UNIT", "PK") == "PK"
        ]
        aliases = tuple(dict.fromkeys(_soap.text(u, "ALIAS") for u in users if _soap.text(u, "ALIAS")))
        title = _soap.text(users[0], "TITLE") if users else ""
        return RegisteredUser(tax_id, registered=bool(aliases), title=title, aliases=aliases)

    def pdf(self, document: Document) -> DocumentFile:
        ettn = document.uuid.upper()
        if document.profile == _gib.EARSIV or document.provider_refs.get("channel") == "earsiv":
            answer = self._run(
                ARCHIVE_PATH,
                lambda session: _ARCHIVE.ReadFromArchiveRequest(
                    self._header(session, compressed=True),
                    _E.INVOICEID(ettn),
                    _E.PORTAL_DIRECTION("OUT"),
                    _E.PROFILE("PDF"),
                ),
            )
            content = _soap.text(answer, "INVOICE")
        else:
            answer = self._run(
                INVOICE_PATH,
                lambda session: _WSDL.GetInvoiceWithTypeRequest(
                    self._header(session, compressed=True),
                    _E.INVOICE_SEARCH_KEY(_E.UUID(ettn), _E.TYPE("PDF"), _E.DIRECTION("OUT")),
                    _E.HEADER_ONLY("N"),
                ),
            )
            content = _soap.text(answer, "CONTENT")
        if not content:
            raise PermanentProviderError(f"{self.name} returned no PDF for {ettn}", provider=self.name)
        data = _gib.b64decode(content)
        return DocumentFile(content=_gib.unzip_document(data)[1] if data[:2] == b"PK" else data)
