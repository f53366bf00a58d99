"""What every GİB integrator adapter shares: GİB's envelope status codes, how an invoice is packaged for an
integrator, and the invoice itself (our UBL-TR, numbered by us, checked before a number is spent).

GİB's status codes (zarf durum kodları) are GİB's own, whatever the integrator: each one's API reports
them for an e-Fatura envelope (QNB `gonderimCevabiKodu`, Sovos `ResponseCode`, İzibiz `GIB_STATUS_CODE`).
The table below is GİB's list as the integrators publish it:

- İzibiz, "GİB Durum Kodları" (github.com/izibiz/api-documentation, source/includes/efatura/_gibdurumkodlari);
- Logo, "e-Fatura Durum Kodları" (https://docs.logo.com.tr/pages/viewpage.action?pageId=50684268);
- GİB's schematron lists the system-response codes 1000–1200 (e-FaturaPaketi UBL-TR_Codelist.xml,
  `AppResponseCodeType`); 1210–1300 are the later stages of delivery to the buyer's mailbox.

Our reading: 1000/1100 queued or processing, 1200 processed by GİB, 1210 and 1220 waiting on the
buyer's side (GİB retries) → SUBMITTED; 1300 "BAŞARIYLA TAMAMLANDI" → ACCEPTED; every 11xx error, 1215 (GİB
gave up delivering) and 1230 (the buyer's system refused) → REJECTED with GİB's words. 1163 ("the envelope
holds an invoice already registered") is a duplicate: ours when we resent our own ETTN, which the adapter
confirms by asking for the ETTN and then follows the original to its verdict. Note that GİB's 1150 is the
*schematron* failure and 1160 the *XSD* failure.

A TICARIFATURA's commercial answer (KABUL / RED application response) can follow 1300 within 8 days; an
answer already known when we ask is honoured (RED → REJECTED), a later one is not followed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import zipfile
from abc import abstractmethod
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from mutabik.model.document import Document, DocumentStatus, DocumentType, document_uuid
from mutabik.providers.base import (
    EARSIV,
    Capability,
    Outcome,
    Provider,
    RegisteredUser,
    efatura_profile,
    never_registered,
    return_profile,
)
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError, WrongProfileError

if TYPE_CHECKING:
    from mutabik.model.commerce import Order
    from mutabik.model.party import Party

__all__ = [
    "EARSIV",
    "GIB_CODES",
    "GibIntegrator",
    "Sending",
    "Verdict",
    "b64decode",
    "b64encode",
    "describe",
    "fold",
    "md5_hex",
    "outcome_for",
    "profile_refusal",
    "refusal",
    "unzip_document",
    "verdict",
    "zip_document",
]


class Verdict(StrEnum):
    PROCESSING = "processing"  # on its way: ask again later
    ACCEPTED = "accepted"  # delivered: the invoice is issued
    REJECTED = "rejected"  # refused by GİB or by the buyer's system: final, with GİB's words
    DUPLICATE = "duplicate"  # 1163: an invoice with this ETTN is already registered


#: GİB's envelope status codes with their official descriptions (see the module docstring for sources).
GIB_CODES: dict[int, tuple[str, Verdict]] = {
    1000: ("ZARF KUYRUĞA EKLENDİ", Verdict.PROCESSING),
    1100: ("ZARF İŞLENİYOR", Verdict.PROCESSING),
    1110: ("ZIP DOSYASI DEĞİL", Verdict.REJECTED),
    1111: ("ZARF ID UZUNLUĞU GEÇERSİZ", Verdict.REJECTED),
    1120: ("ZARF ARŞİVDEN KOPYALANAMADI", Verdict.REJECTED),
    1130: ("ZIP AÇILAMADI", Verdict.REJECTED),
    1131: ("ZIP BİR DOSYA İÇERMELİ", Verdict.REJECTED),
    1132: ("XML DOSYASI DEĞİL", Verdict.REJECTED),
    1133: ("ZARF ID VE XML DOSYASININ ADI AYNI OLMALI", Verdict.REJECTED),
    1140: ("DOKUMAN AYRIŞTIRILAMADI", Verdict.REJECTED),
    1141: ("ZARF ID YOK", Verdict.REJECTED),
    1142: ("ZARF ID VE ZIP DOSYASI ADI AYNI OLMALI", Verdict.REJECTED),
    1143: ("GEÇERSİZ VERSİYON", Verdict.REJECTED),
    1150: ("SCHEMATRON KONTROL SONUCU HATALI", Verdict.REJECTED),
    1160: ("XML ŞEMA KONTROLÜNDEN GEÇEMEDİ", Verdict.REJECTED),
    1161: ("İMZA SAHİBİ TCKN VKN ALINAMADI", Verdict.REJECTED),
    1162: ("İMZA KAYDEDİLEMEDİ", Verdict.REJECTED),
    1163: ("GÖNDERİLEN ZARF SİSTEMDE DAHA ÖNCE KAYITLI OLAN BİR FATURAYI İÇERMEKTEDİR", Verdict.DUPLICATE),
    1170: ("YETKİ KONTROL EDİLEMEDİ", Verdict.REJECTED),
    1171: ("GÖNDERİCİ BİRİM YETKİSİ YOK", Verdict.REJECTED),
    1172: ("POSTA KUTUSU YETKİSİ YOK", Verdict.REJECTED),
    1175: ("İMZA YETKİSİ KONTROL EDİLEMEDİ", Verdict.REJECTED),
    1176: ("İMZA SAHİBİ YETKİSİZ", Verdict.REJECTED),
    1177: ("GEÇERSİZ İMZA", Verdict.REJECTED),
    1180: ("ADRES KONTROL EDİLEMEDİ", Verdict.REJECTED),
    1181: ("ADRES BULUNAMADI", Verdict.REJECTED),
    1182: ("KULLANICI EKLENEMEDİ", Verdict.REJECTED),
    1183: ("KULLANICI SİLİNEMEDİ", Verdict.REJECTED),
    1190: ("SİSTEM YANITI HAZIRLANAMADI", Verdict.REJECTED),
    1191: ("", Verdict.REJECTED),  # in GİB's code list (AppResponseCodeType); no description published with it
    1195: ("SİSTEM HATASI", Verdict.REJECTED),
    1200: ("ZARF BAŞARIYLA İŞLENDİ", Verdict.PROCESSING),
    1210: ("DOKUMAN BULUNAN ADRESE GÖNDERİLEMEDİ", Verdict.PROCESSING),
    1215: ("DOKÜMAN GÖNDERİMİ BAŞARISIZ. TEKRAR GÖNDERME SONLANDI", Verdict.REJECTED),
    1220: ("HEDEFTEN SİSTEM YANITI GELMEDİ", Verdict.PROCESSING),
    1230: ("HEDEFTEN SİSTEM YANITI BAŞARISIZ GELDİ", Verdict.REJECTED),
    1300: ("BAŞARIYLA TAMAMLANDI", Verdict.ACCEPTED),
}
#: The buyer's application response to a TICARIFATURA (UBL-TR_Codelist.xml `ResponseCodeType`).
APPLICATION_RESPONSES: dict[str, Verdict] = {"KABUL": Verdict.ACCEPTED, "RED": Verdict.REJECTED}


def _code(value: int | str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None and str(value).strip() else None
    except ValueError:
        return None


def verdict(code: int | str | None, application_response: str = "") -> Verdict:
    """What a GİB status code (and a commercial answer, if any) means. No code yet is PROCESSING; an
    unknown 11xx is an envelope error (REJECTED), an unknown 12xx a delivery stage (PROCESSING)."""
    answer = APPLICATION_RESPONSES.get(application_response.strip().upper())
    number = _code(code)
    if answer is Verdict.REJECTED:
        return answer
    if number is None or number == 0:
        return Verdict.PROCESSING
    known = GIB_CODES.get(number)
    if known is not None:
        return known[1]
    if 1100 <= number < 1200 or number >= 2000:  # 2000–2006: GİB refused the envelope's upload
        return Verdict.REJECTED
    return Verdict.PROCESSING


def describe(code: int | str | None, detail: str = "") -> str:
    """`GİB 1150 SCHEMATRON KONTROL SONUCU HATALI: <the integrator's detail>` (GİB's words first)."""
    number = _code(code)
    official = GIB_CODES.get(number, ("", Verdict.PROCESSING))[0] if number is not None else ""
    head = f"GİB {number} {official}".strip() if number is not None else "GİB"
    detail = " ".join(detail.split())
    if detail and detail.upper() != official:
        return f"{head}: {detail}"[:4000]
    return head


def outcome_for(
    code: int | str | None,
    detail: str = "",
    *,
    refs: dict[str, str] | None = None,
    number: str = "",
    application_response: str = "",
) -> Outcome:
    """An Outcome from a GİB status code; a REJECTED one carries GİB's words. A duplicate the adapter could
    not confirm as its own is REJECTED too (with 1163's words), never silently accepted."""
    found = verdict(code, application_response)
    status = {
        Verdict.PROCESSING: DocumentStatus.SUBMITTED,
        Verdict.ACCEPTED: DocumentStatus.ACCEPTED,
    }.get(found, DocumentStatus.REJECTED)
    error = ""
    if status is DocumentStatus.REJECTED:
        error = describe(code, detail)
        if application_response.strip().upper() == "RED":
            error = f"the buyer answered RED: {detail}".strip(": ") if detail else "the buyer answered RED"
    return Outcome(status, dict(refs or {}), number=number, error=error)


# --- Refusals ------------------------------------------------------------------------------------------

_FOLD = str.maketrans("ıİşŞğĞüÜöÖçÇ", "iissgguuoocc")
_NOT_REGISTERED = re.compile(
    r"(mukellef|kullanici|user)\w*\s+(degil|not)|not an? e-?(fatura|invoice) user|kayitli (kullanici|mukellef)\w* "
    r"(degil|bulunama)|e-?fatura (mukellefi|kullanicisi) olmayan"
)
_REGISTERED = re.compile(
    r"e-?fatura (mukellefi|kullanicisi)(dir)?\b|is an? e-?(fatura|invoice) user|e-?arsiv (fatura(si)? )?"
    r"(duzenlenemez|kesilemez|gonderilemez)|e-?fatura (olarak )?gonder"
)


def fold(words: str) -> str:
    """Lower case without Turkish diacritics, for matching an integrator's words."""
    return words.translate(_FOLD).lower()


def profile_refusal(words: str) -> bool | None:
    """Whether a refusal is about the profile: True "the buyer IS an e-Fatura user" (an e-Arşiv invoice to a
    registered user), False "the buyer is NOT one" (an e-Fatura to an unregistered VKN), None otherwise."""
    folded = fold(words)
    if _NOT_REGISTERED.search(folded):
        return False
    if _REGISTERED.search(folded):
        return True
    return None


def refusal(words: str, provider: str, *, status_code: int | None = None) -> PermanentProviderError:
    """The error for an integrator's refusal: WrongProfileError when it is about e-Fatura vs e-Arşiv."""
    message = f"{provider}: {words}"[:4000]
    registered = profile_refusal(words)
    if registered is not None:
        return WrongProfileError(message, registered=registered, provider=provider, status_code=status_code)
    return PermanentProviderError(message, provider=provider, status_code=status_code)


# --- Packaging -----------------------------------------------------------------------------------------

#: A fixed timestamp for the zip entry: the same invoice always zips to the same bytes (and the same MD5),
#: so a retry sends exactly what the first attempt sent.
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
#: No single invoice is larger than this once unzipped (GİB caps an envelope at 100 MB; we stay far below).
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


def zip_document(content: bytes, name: str) -> bytes:
    """A zip holding one file, `name` (e.g. `<ETTN>.xml`): how Sovos and İzibiz take an invoice, and how GİB
    packs one into an envelope."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, content)
    return buffer.getvalue()


def unzip_document(data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> tuple[str, bytes]:
    """The one file of a zip: its name and content. Refuses an archive with more or fewer files, a path in
    the name, or content larger than `max_bytes` (a zip bomb is not read past the limit)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = [e for e in archive.infolist() if not e.is_dir()]
            if len(entries) != 1:
                raise ValueError(f"the zip holds {len(entries)} files, not one")
            entry = entries[0]
            if "/" in entry.filename or "\\" in entry.filename or entry.filename.startswith(".."):
                raise ValueError(f"the zip entry {entry.filename[:80]!r} has a path")
            if entry.file_size > max_bytes:
                raise ValueError(f"the zip entry is {entry.file_size} bytes, more than {max_bytes}")
            with archive.open(entry) as handle:
                content = handle.read(max_bytes + 1)
            if len(content) > max_bytes:
                raise ValueError(f"the zip entry unpacks to more than {max_bytes} bytes")
            return entry.filename, content
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a zip file: {exc}") from exc


def md5_hex(data: bytes) -> str:
    """MD5 of the bytes as lower-case hex: the integrity hash QNB (`belgeHash`) and Sovos e-Arşiv (`hash`)
    ask for. Not a security measure: a transport checksum the integrator defines."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(value: str) -> bytes:
    """Strict base64 (whitespace ignored); ValueError for anything else."""
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64: {exc}") from exc


# --- The invoice an integrator receives -----------------------------------------------------------------

#: Document types that are invoices we write as UBL-TR and number ourselves.
INVOICE_TYPES = frozenset({DocumentType.SALES_INVOICE, DocumentType.RETURN_INVOICE})


@dataclass(frozen=True)
class Sending:
    """One invoice ready to go: its UBL-TR, the profile it goes under and the buyer's mailbox (PK alias)."""

    xml: bytes
    profile: str
    number: str
    uuid: str  # the ETTN as written in cbc:UUID (upper case)
    buyer: Party
    receiver_alias: str = ""
    internet_sale: bool = False

    @property
    def earchive(self) -> bool:
        return self.profile == EARSIV


class GibIntegrator(Provider):
    """The part of an integrator adapter that is GİB's and not the integrator's: the invoice we write and
    number, the profile it goes under, the buyer's mailbox. Subclasses talk to their integrator."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.SALES_INVOICE,
            Capability.RETURN_INVOICE,
            Capability.CANCELLATION,
            Capability.FIND,
            Capability.STATUS,
            Capability.PDF,
            Capability.USER_LIST,
        }
    )
    #: How long a buyer's mailbox (PK alias) is remembered in the tenant's provider cache.
    ALIAS_TTL = timedelta(hours=6)

    def issue(self, document: Document, invoice: Document | None = None) -> Outcome:
        if document.type is DocumentType.CANCELLATION:
            return self._cancel(document, invoice)
        sending = self.prepare(document, invoice)
        return self._send_earchive(sending) if sending.earchive else self._send_efatura(sending)

    @abstractmethod
    def _send_efatura(self, sending: Sending) -> Outcome:
        """Send an e-Fatura (TEMELFATURA/TICARIFATURA) to the buyer's mailbox, in the integrator's dialect."""

    @abstractmethod
    def _send_earchive(self, sending: Sending) -> Outcome:
        """Send an e-Arşiv invoice (EARSIVFATURA) through the integrator's e-Arşiv service."""

    @abstractmethod
    def _cancel(self, document: Document, invoice: Document | None) -> Outcome:
        """Cancel the issued e-Arşiv `invoice` (e-Fatura cannot be cancelled: it is returned instead)."""

    def status(self, document: Document) -> Outcome:
        """The verdict is what `find` reads by ETTN; a document the integrator does not list yet is still
        on its way through its queue (it took it: `issue` answered), so ask again."""
        found = self.find(document)
        if found is None:
            raise RetryableProviderError(
                f"{self.name} does not list {document.uuid} (yet)", provider=self.name, retry_after=30
            )
        return found

    def numbers(self, document: Document) -> bool:
        return document.type in INVOICE_TYPES

    def check(self, document: Document, number: str, invoice: Document | None = None) -> None:
        """Our UBL with the stand-in number, through GİB's XSD and schematron: a document GİB would refuse
        is refused here with GİB's own message, before a number is spent on it."""
        if document.type not in INVOICE_TYPES:
            return
        from mutabik import ubl

        xml = self.render(document, number, invoice, document.profile or EARSIV)
        try:
            ubl.validate_xsd(xml)
            ubl.validate_schematron(xml)
        except ubl.UblError as exc:
            raise PermanentProviderError(str(exc), provider=self.name) from exc

    # --- what the subclasses use -----------------------------------------------------------------------

    def seller(self) -> Party:
        seller = self.context.tenant.seller
        if seller is None:
            raise PermanentProviderError("the tenant has no seller configured", provider=self.name)
        return seller

    def order_of(self, document: Document, invoice: Document | None) -> Order:
        """The order an invoice is about: its own for a sale, the returned invoice's for a return."""
        from mutabik.model.commerce import Order

        source = document if document.type is DocumentType.SALES_INVOICE else invoice
        if source is None or "order" not in source.payload:
            raise PermanentProviderError(
                f"a {document.type.value.replace('_', ' ')} needs the sales invoice it refers to", provider=self.name
            )
        return Order.model_validate(source.payload["order"])

    def profile_of(self, document: Document, invoice: Document | None) -> str:
        """The profile to send under: the pusher's choice when it made one; else a return goes the way its
        invoice went, and a sale asks GİB's user list (through this integrator)."""
        if document.profile:
            return document.profile
        if document.type is DocumentType.RETURN_INVOICE and invoice is not None:
            went = invoice.profile or invoice.provider_refs.get("profile", "")
            if went:
                return return_profile(went)
        tax_id = self.order_of(document, invoice).buyer.tax_id
        if never_registered(tax_id) or not self.registered_user(tax_id).registered:
            return EARSIV
        if document.type is DocumentType.SALES_INVOICE:
            return efatura_profile(self.context.settings)
        return return_profile("TEMELFATURA")

    def render(self, document: Document, number: str, invoice: Document | None, profile: str) -> bytes:
        """Our UBL-TR for the document under `profile`; PermanentProviderError when it cannot be written."""
        from pydantic import ValidationError

        from mutabik import ubl
        from mutabik.model.commerce import Refund
        from mutabik.tax.errors import TaxError

        if profile == "TICARIFATURA" and document.type is DocumentType.RETURN_INVOICE:
            profile = "TEMELFATURA"
        try:
            order = self.order_of(document, invoice)
            if document.type is DocumentType.SALES_INVOICE:
                return ubl.render_invoice(
                    order,
                    seller=self.seller(),
                    number=number,
                    uuid=document.uuid,
                    issue_date=document.created_at.date(),
                    profile=profile,
                )
            assert invoice is not None  # order_of refused a return without its invoice
            if not invoice.number:
                raise PermanentProviderError(
                    f"the returned invoice {invoice.key} has no number yet", provider=self.name
                )
            return ubl.render_invoice(
                Refund.model_validate(document.payload["refund"]),
                seller=self.seller(),
                number=number,
                uuid=document.uuid,
                issue_date=document.created_at.date(),
                profile=profile,
                invoice_type="IADE",
                buyer=order.buyer,
                returned_invoice=ubl.InvoiceReference(invoice.number, invoice.created_at.date()),
            )
        except (TaxError, ubl.UblError, ValidationError, KeyError) as exc:
            raise PermanentProviderError(f"cannot write the invoice: {exc}", provider=self.name) from exc

    def prepare(self, document: Document, invoice: Document | None) -> Sending:
        """The invoice as it goes now: numbered, under its profile, with the buyer's mailbox for e-Fatura."""
        from mutabik import ubl

        if not document.number:
            raise PermanentProviderError("the invoice has no number (the pusher numbers it first)", provider=self.name)
        profile = self.profile_of(document, invoice)
        if profile == "TICARIFATURA" and document.type is DocumentType.RETURN_INVOICE:
            profile = "TEMELFATURA"
        xml = self.render(document, document.number, invoice, profile)
        try:
            ubl.validate_xsd(xml)  # cheap; the schematron ran in `check`
        except ubl.UblError as exc:
            raise PermanentProviderError(str(exc), provider=self.name) from exc
        order = self.order_of(document, invoice)
        alias = "" if profile == EARSIV else self.receiver_alias(order.buyer.tax_id)
        return Sending(
            xml=xml,
            profile=profile,
            number=document.number,
            uuid=document.uuid.upper(),
            buyer=order.buyer,
            receiver_alias=alias,
            internet_sale=order.web_sale is not None and document.type is DocumentType.SALES_INVOICE,
        )

    def receiver_alias(self, tax_id: str) -> str:
        """The buyer's first mailbox (PK etiketi) from the user list, remembered for a few hours; "" lets the
        integrator pick the buyer's default mailbox."""
        cache = self.context.cache
        if cache is not None:
            cached = cache.get("gib-alias", tax_id)
            if isinstance(cached, str):
                return cached
        user: RegisteredUser = self.registered_user(tax_id)
        alias = user.aliases[0] if user.aliases else ""
        if cache is not None and user.registered:
            cache.put("gib-alias", tax_id, alias, self.ALIAS_TTL)
        return alias

    def invoice_uuid_of(self, document: Document) -> str:
        """For a cancellation: the ETTN of the sales invoice it cancels (the same key the pusher uses)."""
        from mutabik.store import keys

        body = document.payload.get("cancellation", {})
        order_ref, source = str(body.get("order_ref") or ""), str(body.get("source") or document.source)
        if not order_ref:
            raise PermanentProviderError("the cancellation names no order", provider=self.name)
        route = self.context.tenant.routes.get(DocumentType.SALES_INVOICE, document.provider)
        key = keys.document_key(document.tenant, route, DocumentType.SALES_INVOICE, f"{source}:{order_ref}")
        return str(document_uuid(key)).upper()

    @staticmethod
    def earchive_invoice(invoice: Document) -> bool:
        """Whether an issued invoice went as e-Arşiv (only those are cancelled through the integrator)."""
        return (invoice.profile or invoice.provider_refs.get("profile", "")) == EARSIV
