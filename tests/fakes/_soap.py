"""What the three GİB integrator fakes share: a SOAP 1.1 WSGI app that plays GİB behind the integrator.

Each fake (`qnb_efinans`, `sovos`, `izibiz`) speaks its integrator's dialect — paths, namespaces,
authentication, packaging — and this base plays the part that is GİB's, the same for all three:

- the UBL inside is checked with GİB's XSD and schematron (`mutabik.ubl`); a failure is refused with GİB's
  code (1160 XSD, 1150 schematron) and GİB's own message, as the integrators' pre-checks do;
- an e-Fatura is accepted asynchronously: its envelope answers 1000, then 1100 for `polls_before_final`
  status queries, then 1300 (or 1230 when `refuse_at_recipient` was switched on);
- a resend of a known ETTN is a duplicate (GİB 1163), answered in the integrator's dialect;
- an e-Arşiv invoice for a registered e-Fatura user, or an e-Fatura for someone who is not one, is
  refused with the words integrators use, so the adapter can tell which profile was wrong;
- a small user list (`users`) answers the mailbox look-ups and is served in GİB's `UserList` format
  (e-FaturaPaketi/xsd/Userlist/NewUserList.xsd);
- failure switches: the next N calls answer 5xx or a "system busy" fault, or their answer comes back only
  after a delay *after* the document was stored (the lost answer: did it arrive?).

Everything it received stays in `invoices` (by ETTN) for tests to count: "exactly one, never two".
Credentials are compared in constant time. Nothing is read from the network; requests are parsed with a
parser that resolves no entities.
"""

from __future__ import annotations

import base64
import hmac
import io
import threading
import time
import uuid as uuidlib
import warnings
import zipfile
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from lxml import etree
from lxml.etree import _Element
from werkzeug.wrappers import Request, Response

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
USERLIST_XSD = SHARED / "specs" / "ubl-tr" / "e-FaturaPaketi" / "xsd" / "Userlist" / "NewUserList.xsd"

#: The words integrators refuse a wrong profile with (read by mutabik.providers._gib.profile_refusal).
REGISTERED_REFUSAL = "Alıcı e-Fatura mükellefidir; e-Arşiv faturası düzenlenemez, e-Fatura olarak gönderiniz."
NOT_REGISTERED_REFUSAL = "Alıcı e-Fatura mükellefi değildir; e-Arşiv faturası düzenleyiniz."
DUPLICATE_WORDS = "GÖNDERİLEN ZARF SİSTEMDE DAHA ÖNCE KAYITLI OLAN BİR FATURAYI İÇERMEKTEDİR"
GIB_WORDS = {1000: "ZARF KUYRUĞA EKLENDİ", 1100: "ZARF İŞLENİYOR", 1230: "HEDEFTEN SİSTEM YANITI BAŞARISIZ GELDİ"}
GIB_WORDS[1300] = "BAŞARIYLA TAMAMLANDI"
FAKE_PDF = b"%PDF-1.4\n% mutabik fake integrator\n%%EOF\n"


@dataclass(frozen=True)
class FakeUser:
    """One line of GİB's user list: a VKN/TCKN, its title and its mailboxes."""

    tax_id: str
    title: str
    aliases: tuple[str, ...]  # PK (posta kutusu) aliases
    sender_aliases: tuple[str, ...] = ()  # GB (gönderici birim) aliases
    registered_at: str = "2014-01-01T00:00:00"


#: A registered company buyer (VKN 1234567808, checksum-valid) and the demo seller (DEMO_SELLER, 3880000006).
DEFAULT_USERS = (
    FakeUser("1234567808", "Kurumsal Alıcı A.Ş.", ("urn:mail:defaultpk@kurumsal-alici.example",)),
    FakeUser(
        "3880000006",
        "Kahve Dükkanı Gıda Ticaret Ltd. Şti.",
        ("urn:mail:defaultpk@kahve-dukkani.example",),
        ("urn:mail:defaultgb@kahve-dukkani.example",),
    ),
)


@dataclass
class StoredInvoice:
    """An invoice as the fake integrator holds it."""

    uuid: str  # upper case
    number: str
    profile: str
    invoice_type: str
    channel: str  # "efatura" or "earsiv"
    xml: bytes
    supplier: str
    customer: str
    receiver_alias: str = ""
    ref: str = ""  # the integrator's own id (QNB belgeOid, Sovos envelope UUID, …)
    final_code: int = 1300
    polls: int = 0
    cancelled: bool = False
    returned_invoices: tuple[str, ...] = ()
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class FaultError(Exception):
    """Answer with a SOAP fault (HTTP 500): `detail` is put under `<detail>` as is."""

    def __init__(self, message: str, *, code: str = "soap:Server", detail: _Element | None = None) -> None:
        self.message, self.code, self.detail = message, code, detail
        super().__init__(message)


class UblRefusedError(Exception):
    """The UBL fails GİB's checks: GİB's code (1160 XSD, 1150 schematron) and its messages."""

    def __init__(self, code: int, message: str) -> None:
        self.code, self.message = code, message
        super().__init__(f"{code}: {message}")


def safe_parse(data: bytes) -> _Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)
    root = etree.fromstring(data, parser=parser)
    if root.getroottree().docinfo.doctype:
        raise FaultError("DOCTYPE is not allowed", code="soap:Client")
    return root


def local(node: _Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def find(node: _Element | None, name: str) -> _Element | None:
    if node is None:
        return None
    return next((n for n in node.iter() if n is not node and local(n) == name), None)


def find_all(node: _Element | None, name: str) -> list[_Element]:
    return [] if node is None else [n for n in node.iter() if n is not node and local(n) == name]


def value(node: _Element | None, name: str, default: str = "") -> str:
    found = find(node, name)
    return (found.text or "").strip() if found is not None else default


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except ValueError as exc:
        raise FaultError(f"not base64: {exc}", code="soap:Client") from exc


def unzip_one(data: bytes) -> tuple[str, bytes]:
    """The single file of a zip, as GİB's envelope rules want it (1131 otherwise)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = [e for e in archive.infolist() if not e.is_dir()]
            if len(entries) != 1:
                raise FaultError(f"1131 ZIP BİR DOSYA İÇERMELİ: {len(entries)} files", code="soap:Client")
            return entries[0].filename, archive.read(entries[0])
    except zipfile.BadZipFile as exc:
        raise FaultError("1110 ZIP DOSYASI DEĞİL", code="soap:Client") from exc


def zip_one(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


_VALIDATION_WARNED = False


def gib_check(xml: bytes) -> None:
    """GİB's XSD then schematron; UblRefusedError with GİB's code and messages. Without GİB's files (no
    ../shared, no installed copy) the check is skipped with one warning, so the fake still runs."""
    global _VALIDATION_WARNED
    from mutabik import ubl

    try:
        failures = ubl.check_xsd(xml)
        if failures:
            raise UblRefusedError(1160, "; ".join(f.message for f in failures))
        failures = ubl.check_schematron(xml)
        if failures:
            raise UblRefusedError(1150, "; ".join(dict.fromkeys(f.message for f in failures)))
    except ubl.SchemaMissingError as exc:
        if not _VALIDATION_WARNED:
            warnings.warn(f"GİB's schemas are missing, the fake skips UBL validation: {exc}", stacklevel=2)
            _VALIDATION_WARNED = True


Handler = Callable[[_Element, Request], _Element]


class SoapFake:
    """Base of the integrator fakes. Subclasses set `routes()` and `authenticate()`, and use `accept()`."""

    name: ClassVar[str] = "soap"
    #: The operation that sends an invoice, per channel ("efatura", "earsiv"): for tests that count sends.
    SEND_OPERATIONS: ClassVar[dict[str, str]] = {}

    def __init__(self, *, polls_before_final: int = 2, users: Iterable[FakeUser] = DEFAULT_USERS) -> None:
        self.lock = threading.RLock()
        self.polls_before_final = polls_before_final
        self.users: dict[str, FakeUser] = {u.tax_id: u for u in users}
        self.invoices: dict[str, StoredInvoice] = {}
        self.calls: list[str] = []  # operation names, in order
        self.stale_users: set[str] = set()  # registered, but the look-ups still say otherwise
        self._failures: deque[tuple[str, int, str]] = deque()
        self._delays: deque[tuple[str | None, float]] = deque()
        self._request = threading.local()  # the operation being handled, and the delay its answer owes
        self._recipient_refusals = 0

    # --- switches ----------------------------------------------------------------------------------

    def fail_next(self, count: int = 1, *, status: int = 503) -> None:
        """The next `count` calls answer `status` with no SOAP body (a load balancer's error page)."""
        with self.lock:
            self._failures.extend(("status", status, "Service Unavailable") for _ in range(count))

    def fault_next(self, count: int = 1, *, message: str = "Sistem meşgul, lütfen daha sonra tekrar deneyin") -> None:
        """The next `count` calls answer a SOAP fault saying the system is busy (HTTP 500)."""
        with self.lock:
            self._failures.extend(("fault", 500, message) for _ in range(count))

    def delay_next(self, seconds: float, count: int = 1, *, operation: str | None = None) -> None:
        """The next `count` calls (of `operation`, when given) that store a document are answered only
        `seconds` after storing it: the caller has given up by then, the lost answer."""
        with self.lock:
            self._delays.extend((operation, seconds) for _ in range(count))

    def _take_delay(self, operation: str) -> float:
        with self.lock:
            for index, (wanted, seconds) in enumerate(self._delays):
                if wanted is None or wanted == operation:
                    del self._delays[index]
                    return seconds
        return 0.0

    def refuse_at_recipient(self, count: int = 1) -> None:
        """The next `count` e-Fatura invoices end with GİB 1230: the buyer's system refused them."""
        with self.lock:
            self._recipient_refusals += count

    # --- what tests look at -------------------------------------------------------------------------

    def documents(self, channel: str | None = None) -> list[StoredInvoice]:
        with self.lock:
            return [i for i in self.invoices.values() if channel is None or i.channel == channel]

    # --- subclass hooks -----------------------------------------------------------------------------

    def routes(self) -> dict[tuple[str, str], Handler]:
        """(path, operation local name) → handler(body element, request) returning the answer element."""
        raise NotImplementedError

    def authenticate(self, request: Request, envelope: _Element, operation: _Element) -> None:
        """Raise FaultError (or return a Response-worthy FaultError) when the caller is not who it should be."""
        raise NotImplementedError

    def credentials(self) -> dict[str, str]:
        raise NotImplementedError

    def options(self) -> dict[str, str]:
        return {}

    # --- GİB's part ---------------------------------------------------------------------------------

    def registered(self, tax_id: str) -> bool:
        return tax_id in self.users

    def lookup(self, tax_id: str) -> FakeUser | None:
        """What the integrator's user-list look-up says (stale entries say "not registered")."""
        return None if tax_id in self.stale_users else self.users.get(tax_id)

    def accept(self, xml: bytes, channel: str, *, receiver_alias: str = "", ref: str = "") -> StoredInvoice:
        """Check and store one invoice. Raises UblRefusedError (GİB's checks), ValueError(REGISTERED_REFUSAL
        or NOT_REGISTERED_REFUSAL) for the wrong profile, KeyError(uuid) for a known ETTN (1163)."""
        from mutabik import ubl

        gib_check(xml)
        parsed = ubl.parse_invoice(xml)
        key = parsed.uuid.upper()
        with self.lock:
            if key in self.invoices:
                raise KeyError(key)
            if any(i.number == parsed.number for i in self.invoices.values()):
                raise UblRefusedError(1163, f"{parsed.number} numaralı fatura daha önce kayıtlı")
            registered = self.registered(parsed.customer.tax_id)
            if channel == "earsiv" and (parsed.profile != "EARSIVFATURA" or registered):
                raise ValueError(REGISTERED_REFUSAL if registered else f"profil {parsed.profile} e-Arşiv değil")
            if channel == "efatura" and (parsed.profile == "EARSIVFATURA" or not registered):
                raise ValueError(NOT_REGISTERED_REFUSAL if not registered else "EARSIVFATURA e-Fatura ile gönderilmez")
            final = 1300
            if channel == "efatura" and self._recipient_refusals:
                self._recipient_refusals -= 1
                final = 1230
            stored = StoredInvoice(
                uuid=key,
                number=parsed.number,
                profile=parsed.profile,
                invoice_type=parsed.invoice_type,
                channel=channel,
                xml=xml,
                supplier=parsed.supplier.tax_id,
                customer=parsed.customer.tax_id,
                receiver_alias=receiver_alias,
                ref=ref or str(uuidlib.uuid4()),
                final_code=final,
                returned_invoices=parsed.returned_invoices,
            )
            self.invoices[key] = stored
            self._request.delay = self._take_delay(getattr(self._request, "operation", ""))
            return stored

    def poll(self, stored: StoredInvoice) -> int:
        """GİB's code for an e-Fatura envelope now: 1000, 1100 … then its final code."""
        with self.lock:
            stored.polls += 1
            if stored.polls > self.polls_before_final:
                return stored.final_code
            return 1000 if stored.polls == 1 else 1100

    def user_list_xml(self) -> bytes:
        """GİB's registered-user list (NewUserList.xsd): every user, its Invoice mailboxes."""
        root = etree.Element("UserList")
        for user in self.users.values():
            entry = etree.SubElement(root, "User")
            etree.SubElement(entry, "Identifier").text = user.tax_id
            etree.SubElement(entry, "Title").text = user.title
            etree.SubElement(entry, "Type").text = "OZEL"
            etree.SubElement(entry, "FirstCreationTime").text = user.registered_at
            etree.SubElement(entry, "AccountType").text = "OZELENTEGRASYON"
            documents = etree.SubElement(entry, "Documents")
            document = etree.SubElement(documents, "Document", type="Invoice")
            for alias in user.aliases:
                node = etree.SubElement(document, "Alias")
                etree.SubElement(node, "Name").text = alias
                etree.SubElement(node, "CreationTime").text = user.registered_at
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    # --- WSGI ---------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            failure = self._failures.popleft() if self._failures else None
        self._request.operation, self._request.delay = "", 0.0
        if failure is not None and failure[0] == "status":
            return Response(failure[2], status=failure[1], content_type="text/html")(environ, start_response)
        try:
            if request.method != "POST":
                raise FaultError("SOAP wants POST", code="soap:Client")
            envelope = safe_parse(request.get_data())
            body = find(envelope, "Body")
            operation = next((n for n in body if isinstance(n.tag, str)), None) if body is not None else None
            if envelope.tag != f"{{{SOAP_NS}}}Envelope" or operation is None:
                raise FaultError("not a SOAP 1.1 envelope with a body", code="soap:Client")
            with self.lock:
                self.calls.append(local(operation))
            self._request.operation = local(operation)
            if failure is not None:
                raise FaultError(failure[2])
            handler = self.routes().get((request.path, local(operation)))
            if handler is None:
                raise FaultError(f"no operation {local(operation)} at {request.path}", code="soap:Client")
            self.authenticate(request, envelope, operation)
            response = self.answer(handler(operation, request))
        except FaultError as fault:
            response = self.fault(fault)
        except etree.XMLSyntaxError as exc:
            response = self.fault(FaultError(f"unreadable XML: {exc}", code="soap:Client"))
        if self._request.delay:
            time.sleep(self._request.delay)  # the document is stored; the answer is late (the caller gave up)
        return response(environ, start_response)

    @staticmethod
    def answer(element: _Element) -> Response:
        root = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"S": SOAP_NS})
        etree.SubElement(root, f"{{{SOAP_NS}}}Body").append(element)
        return Response(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), content_type="text/xml")

    @staticmethod
    def fault(fault: FaultError) -> Response:
        root = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"S": SOAP_NS})
        node = etree.SubElement(etree.SubElement(root, f"{{{SOAP_NS}}}Body"), f"{{{SOAP_NS}}}Fault")
        etree.SubElement(node, "faultcode").text = fault.code
        etree.SubElement(node, "faultstring").text = fault.message
        if fault.detail is not None:
            etree.SubElement(node, "detail").append(fault.detail)
        return Response(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), 500, content_type="text/xml")
