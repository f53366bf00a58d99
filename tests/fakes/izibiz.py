"""A fake İzibiz: AuthenticationWS (login, CheckUser, GİB user list), EInvoiceWS and EIArchiveWS/EFaturaArchive.

What it checks of every call: the operation's namespace (`http://schemas.i2i.com/ei/wsdl`, or
`.../wsdl/archive`), a live `REQUEST_HEADER/SESSION_ID` from `LoginRequest` (sessions can be expired with
`expire_sessions`, to prove the adapter logs in again once), `APPLICATION_NAME`, and the packaging:
`CONTENT` / `INVOICE_CONTENT` is base64 of a zip holding exactly one `.xml`, and the `INVOICE@UUID` /
`INVOICE@ID` attributes match the invoice inside. Errors are `ERROR_TYPE` elements in an HTTP 200 answer
with İzibiz's codes (10003 schematron, 10004 session, 10008 no record, 10009 already sent), as measured
against İzibiz's test service. e-Arşiv invoices go 100 → 110 → 130 (reported) over status queries.
See `tests/fakes/_soap.py` for GİB's part, and mutabik.providers.izibiz for the sources.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, ClassVar

from lxml import etree
from lxml.builder import ElementMaker
from lxml.etree import _Element
from werkzeug.wrappers import Request

from tests.fakes._soap import (
    FAKE_PDF,
    GIB_WORDS,
    FaultError,
    Handler,
    SoapFake,
    StoredInvoice,
    UblRefusedError,
    b64,
    find,
    find_all,
    local,
    same_secret,
    unb64,
    unzip_one,
    value,
    zip_one,
)

__all__ = ["Fake"]

WSDL_NS = "http://schemas.i2i.com/ei/wsdl"
ARCHIVE_NS = "http://schemas.i2i.com/ei/wsdl/archive"
AUTH_PATH, INVOICE_PATH, ARCHIVE_PATH = "/AuthenticationWS", "/EInvoiceWS", "/EIArchiveWS/EFaturaArchive"
_E = ElementMaker()
_W = ElementMaker(namespace=WSDL_NS, nsmap={"ns2": WSDL_NS})
_A = ElementMaker(namespace=ARCHIVE_NS, nsmap={"ns2": ARCHIVE_NS})


class IzibizRefusal(Exception):  # noqa: N818 - İzibiz's word for it
    def __init__(self, code: str, words: str) -> None:
        self.code, self.words = code, words
        super().__init__(f"{code}: {words}")


class Fake(SoapFake):
    name = "izibiz"
    SEND_OPERATIONS: ClassVar[dict[str, str]] = {
        "efatura": "SendInvoiceRequest",
        "earsiv": "ArchiveInvoiceExtendedRequest",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.username, self.password = "izibiz-test2", "izi321"
        self.sender_alias = "urn:mail:defaultgb@kahve-dukkani.example"
        self.sessions: dict[str, float] = {}
        self.logins = 0

    def credentials(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}

    def options(self) -> dict[str, str]:
        return {"sender_alias": self.sender_alias, "application_name": "mutabik-tests"}

    def expire_sessions(self) -> None:
        """Every session so far is invalid from now on (İzibiz's 8 hours have passed)."""
        with self.lock:
            self.sessions.clear()

    def routes(self) -> dict[tuple[str, str], Handler]:
        handlers = {
            (AUTH_PATH, "LoginRequest"): self.login,
            (AUTH_PATH, "CheckUserRequest"): self.check_user,
            (AUTH_PATH, "GetGibUserListRequest"): self.gib_user_list,
            (INVOICE_PATH, "SendInvoiceRequest"): self.send_invoice,
            (INVOICE_PATH, "GetInvoiceStatusRequest"): self.invoice_status,
            (INVOICE_PATH, "GetInvoiceWithTypeRequest"): self.invoice_with_type,
            (ARCHIVE_PATH, "ArchiveInvoiceExtendedRequest"): self.write_to_archive,
            (ARCHIVE_PATH, "GetEArchiveInvoiceStatusRequest"): self.archive_status,
            (ARCHIVE_PATH, "CancelEArchiveInvoiceRequest"): self.cancel_archive,
            (ARCHIVE_PATH, "ReadFromArchiveRequest"): self.read_from_archive,
        }
        return {key: self._answering(handler, key[1]) for key, handler in handlers.items()}

    def _answering(self, handler: Handler, operation: str) -> Handler:
        """Turn an IzibizRefusal into İzibiz's ERROR_TYPE answer (HTTP 200), as the real service does."""

        def run(element: _Element, request: Request) -> _Element:
            try:
                return handler(element, request)
            except IzibizRefusal as refusal:
                namespace = ARCHIVE_NS if request.path == ARCHIVE_PATH else WSDL_NS
                maker = ElementMaker(namespace=namespace, nsmap={"ns2": namespace})
                name = operation.removesuffix("Request") + "Response"
                if operation == "ArchiveInvoiceExtendedRequest":
                    name = "ArchiveInvoiceExtendedResponse"
                return maker(
                    name,
                    _E.ERROR_TYPE(
                        _E.INTL_TXN_ID(str(secrets.randbelow(10**8))),
                        _E.ERROR_CODE(refusal.code),
                        _E.ERROR_SHORT_DES(refusal.words),
                    ),
                )

        return run

    def authenticate(self, request: Request, envelope: _Element, operation: _Element) -> None:
        namespace = ARCHIVE_NS if request.path == ARCHIVE_PATH else WSDL_NS
        if etree.QName(operation).namespace != namespace:
            raise FaultError(f"{local(operation)} is not in {namespace}", code="S:Client")
        if any(etree.QName(child).namespace for child in operation):
            raise FaultError("children of an İzibiz request are unqualified", code="S:Client")
        if request.headers.get("SOAPAction", "").strip('"'):
            raise FaultError("İzibiz's SOAPAction is empty", code="S:Client")

    def _session(self, operation: _Element) -> None:
        header = find(operation, "REQUEST_HEADER")
        session = value(header, "SESSION_ID")
        if not value(header, "APPLICATION_NAME"):
            raise IzibizRefusal("10013", "Gönderilen istek geçersizdir. Hata sebebi: APPLICATION_NAME zorunlu")
        with self.lock:
            expires = self.sessions.get(session)
        if expires is None or expires < time.monotonic():
            raise IzibizRefusal("10004", "Geçersiz oturum. Lütfen tekrar oturum oluşturunuz ve tekrar deneyiniz")

    def _content(self, encoded: str) -> bytes:
        name, xml = unzip_one(unb64(encoded))
        if not name.lower().endswith(".xml"):
            raise IzibizRefusal("10007", "Zip bir dosya içermelidir.")
        return xml

    # --- AuthenticationWS ---------------------------------------------------------------------------

    def login(self, operation: _Element, request: Request) -> _Element:
        if value(operation, "SESSION_ID") != "-1":
            raise IzibizRefusal("10013", "Login isteğinde SESSION_ID -1 olmalıdır")
        if not (
            same_secret(value(operation, "USER_NAME"), self.username)
            and same_secret(value(operation, "PASSWORD"), self.password)
        ):
            raise IzibizRefusal("10002", "Oturum oluşturulamadı: kullanıcı adı veya şifre hatalı")
        session = secrets.token_urlsafe(48)
        with self.lock:
            self.sessions[session] = time.monotonic() + 8 * 3600
            self.logins += 1
        return _W.LoginResponse(_E.SESSION_ID(session))

    def check_user(self, operation: _Element, request: Request) -> _Element:
        self._session(operation)
        if value(operation, "DOCUMENT_TYPE") != "INVOICE":
            raise IzibizRefusal("10013", "DOCUMENT_TYPE INVOICE veya DESPATCHADVICE olmalıdır")
        user = self.lookup(value(find(operation, "USER"), "IDENTIFIER"))
        rows = []
        if user is not None:
            for unit, aliases in (("GB", user.sender_aliases), ("PK", user.aliases)):
                rows += [
                    _E.USER(
                        _E.IDENTIFIER(user.tax_id),
                        _E.ALIAS(alias),
                        _E.TITLE(user.title),
                        _E.TYPE("OZEL"),
                        _E.REGISTER_TIME(user.registered_at),
                        _E.UNIT(unit),
                        _E.ALIAS_CREATION_TIME(user.registered_at),
                    )
                    for alias in aliases
                ]
        return _W.CheckUserResponse(*rows)

    def gib_user_list(self, operation: _Element, request: Request) -> _Element:
        self._session(operation)
        return _W.GetGibUserListResponse(_E.CONTENT(b64(zip_one("userlist.xml", self.user_list_xml()))))

    # --- EInvoiceWS ---------------------------------------------------------------------------------

    def send_invoice(self, operation: _Element, request: Request) -> _Element:
        from mutabik import ubl

        self._session(operation)
        if value(find(operation, "REQUEST_HEADER"), "COMPRESSED") != "Y":
            raise IzibizRefusal("10007", "Zip bir dosya içermelidir.")
        invoice = find(operation, "INVOICE")
        xml = self._content(value(invoice, "CONTENT"))
        parsed = ubl.parse_invoice(xml)
        if invoice is None or invoice.get("UUID", "").upper() != parsed.uuid.upper():
            raise IzibizRefusal("10013", "Gönderilen istek geçersizdir. Hata sebebi: INVOICE UUID belgeyle aynı değil")
        if invoice.get("ID") != parsed.number:
            raise IzibizRefusal("10013", "Gönderilen istek geçersizdir. Hata sebebi: INVOICE ID belgeyle aynı değil")
        sender, receiver = find(operation, "SENDER"), find(operation, "RECEIVER")
        if sender is not None and sender.get("alias", "") not in {"", self.sender_alias}:
            raise IzibizRefusal("10006", "Yetkiniz bulunmamaktadır: gönderici birim etiketi")
        alias = receiver.get("alias", "") if receiver is not None else ""
        try:
            self.accept(xml, "efatura", receiver_alias=alias)
        except UblRefusedError as refused:
            raise IzibizRefusal("10003", f"Belge Şematron Kontrolünden Geçemedi: {refused.message}") from refused
        except ValueError as wrong:
            raise IzibizRefusal("10013", f"Gönderilen istek geçersizdir. Hata sebebi: {wrong}") from wrong
        except KeyError as known:
            raise IzibizRefusal(
                "10009", f"Gönderilen belge daha önce gönderilmiş bir belge ile eşleşmektedir. UUID: {known.args[0]}"
            ) from known
        return _W.SendInvoiceResponse(_E.REQUEST_RETURN(_E.INTL_TXN_ID("1"), _E.RETURN_CODE("0")))

    def invoice_status(self, operation: _Element, request: Request) -> _Element:
        self._session(operation)
        rows = []
        for invoice in find_all(operation, "INVOICE"):
            stored = self.invoices.get(invoice.get("UUID", "").upper())
            if stored is None or stored.channel != "efatura":
                continue
            code = self.poll(stored)
            status = _E.INVOICE_STATUS(
                _E.STATUS("SEND - SUCCEED" if code == 1300 else "SEND - WAIT_GIB_RESPONSE"),
                _E.STATUS_DESCRIPTION("GÖNDERİLDİ" if code == 1300 else "GİB'DEN YANIT BEKLİYOR"),
                _E.GIB_STATUS_CODE(str(code)),
                _E.GIB_STATUS_DESCRIPTION(GIB_WORDS.get(code, "")),
                _E.DIRECTION("OUT"),
                ID=stored.number,
                UUID=stored.uuid,
            )
            rows.append(status)
        if not rows:
            raise IzibizRefusal("10008", "Belirtilen kriterlere uygun kayıt bulunamamıştır")
        return _W.GetInvoiceStatusResponse(*rows)

    def invoice_with_type(self, operation: _Element, request: Request) -> _Element:
        self._session(operation)
        key = find(operation, "INVOICE_SEARCH_KEY")
        stored = self.invoices.get(value(key, "UUID").upper())
        if stored is None or value(key, "TYPE") != "PDF":
            raise IzibizRefusal("10008", "Belirtilen kriterlere uygun kayıt bulunamamıştır")
        content = _E.CONTENT(b64(zip_one(f"{stored.uuid}.pdf", FAKE_PDF)))
        return _W.GetInvoiceWithTypeResponse(_E.INVOICE(content, ID=stored.number, UUID=stored.uuid))

    # --- EIArchiveWS --------------------------------------------------------------------------------

    def write_to_archive(self, operation: _Element, request: Request) -> _Element:
        self._session(operation)
        properties = find(operation, "INVOICE_PROPERTIES")
        earsiv = find(properties, "EARSIV_PROPERTIES")
        if value(properties, "EARSIV_FLAG") != "Y" or value(earsiv, "SUB_STATUS") != "NEW":
            raise IzibizRefusal("10013", "Gönderilen istek geçersizdir. Hata sebebi: EARSIV_FLAG Y, SUB_STATUS NEW")
        if value(earsiv, "EARSIV_TYPE") not in {"NORMAL", "INTERNET"}:
            raise IzibizRefusal("10013", "Gönderilen istek geçersizdir. Hata sebebi: EARSIV_TYPE")
        xml = self._content(value(properties, "INVOICE_CONTENT"))
        internet = b"<cbc:WebsiteURI>" in xml
        if internet != (value(earsiv, "EARSIV_TYPE") == "INTERNET"):
            raise IzibizRefusal("10013", "İnternet satışı için e-arşiv tipi INTERNET olmak zorundadır")
        try:
            stored = self.accept(xml, "earsiv")
        except UblRefusedError as refused:
            raise IzibizRefusal("10003", f"Belge Şematron Kontrolünden Geçemedi: {refused.message}") from refused
        except ValueError as wrong:
            raise IzibizRefusal("10013", f"Gönderilen istek geçersizdir. Hata sebebi: {wrong}") from wrong
        except KeyError as known:
            raise IzibizRefusal(
                "10009", f"Gönderilen belge daha önce gönderilmiş bir belge ile eşleşmektedir. UUID: {known.args[0]}"
            ) from known
        return _A.ArchiveInvoiceExtendedResponse(
            _E.REQUEST_RETURN(_E.INTL_TXN_ID("1"), _E.RETURN_CODE("0")),
            _E.INVOICE_ID(stored.number),
            _E.WEB_KEY(_web_key(stored)),
        )

    def archive_status(self, operation: _Element, request: Request) -> _Element:
        self._session(operation)
        rows = []
        for node in find_all(operation, "UUID"):
            ettn = (node.text or "").upper()
            stored = self.invoices.get(ettn)
            if stored is None or stored.channel != "earsiv":
                rows.append(
                    _E.INVOICE(_E.HEADER(_E.UUID(ettn), _E.STATUS("200"), _E.STATUS_DESC("FATURA ID BULUNAMADI")))
                )
                continue
            status = "100" if self.poll(stored) == 1000 else "110" if stored.polls <= self.polls_before_final else "130"
            words = {"100": "KUYRUĞA EKLENDİ", "110": "İŞLENİYOR", "130": "RAPORLANDI"}[status]
            rows.append(
                _E.INVOICE(
                    _E.HEADER(
                        _E.INVOICE_ID(stored.number),
                        _E.UUID(stored.uuid),
                        _E.PROFILE(stored.profile),
                        _E.STATUS(status),
                        _E.STATUS_DESC("İPTAL EDİLDİ" if stored.cancelled else words),
                        _E.WEB_KEY(_web_key(stored)),
                    ),
                    ID=stored.number,
                    UUID=stored.uuid,
                )
            )
        return _A.GetEArchiveInvoiceStatusResponse(*rows, _E.REQUEST_RETURN(_E.INTL_TXN_ID("1"), _E.RETURN_CODE("0")))

    def cancel_archive(self, operation: _Element, request: Request) -> _Element:
        self._session(operation)
        stored = self.invoices.get(value(operation, "FATURA_UUID").upper())
        if stored is None or stored.channel != "earsiv":
            raise IzibizRefusal("10008", "İptal edilecek belge bulunamadı")
        stored.cancelled = True
        return _A.CancelEArchiveInvoiceResponse(_E.REQUEST_RETURN(_E.INTL_TXN_ID("1"), _E.RETURN_CODE("0")))

    def read_from_archive(self, operation: _Element, request: Request) -> _Element:
        self._session(operation)
        stored = self.invoices.get(value(operation, "INVOICEID").upper())
        if stored is None or value(operation, "PROFILE") != "PDF":
            raise IzibizRefusal("10008", "Belirtilen kriterlere uygun kayıt bulunamamıştır")
        return _A.ArchiveInvoiceReadResponse(_E.INVOICE(b64(zip_one(f"{stored.uuid}.pdf", FAKE_PDF))))


def _web_key(stored: StoredInvoice) -> str:
    return f"https://portaltest.izibiz.com.tr/earsiv/{stored.uuid}"
