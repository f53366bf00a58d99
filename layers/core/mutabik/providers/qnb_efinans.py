"""QNB eSolutions (formerly QNB eFinans), özel entegratör: our UBL-TR over its SOAP connector services.

Two services, two hosts, the same WS-Security UsernameToken header (plain-text password over TLS):

- e-Fatura, `connectorService`, namespace `http://service.connector.uut.cs.com.tr/`:
  `belgeGonderExt(parametreler)` with `belgeTuru=FATURA_UBL`, `veri` = the UBL as base64 (not zipped),
  `belgeHash` = MD5 of the UBL bytes, `mimeType=application/xml`, `belgeNo` = our invoice number,
  `alanEtiket` = the buyer's mailbox, `erpKodu` → `belgeOid`. The verdict comes later:
  `gidenBelgeDurumSorgulaEttn(vergiTcKimlikNo, ettn)` → `durum` (QNB's own stage: 2 = could not process)
  and `gonderimCevabiKodu` (GİB's envelope code, see `_gib`). `efaturaKullaniciBilgisi(vergiTcKimlikNo)` →
  the buyer's mailboxes (`etiket`); `gidenBelgeleriIndir(..., belgeFormati=PDF)` → the PDF.
- e-Arşiv, `EarsivWebService`, namespace `http://service.earsiv.uut.cs.com.tr/`: synchronous.
  `faturaOlusturExt(input, fatura)` where `input` is a JSON string (`islemId` = our ETTN, `vkn`, `sube`,
  `kasa`, `numaraVerilsinMi=0` because we number) and `fatura` = `belgeFormati=UBL` + `belgeIcerigi`
  (base64) → `resultCode` `AE00000` and the number, ETTN and link as `entry` key/values. QNB returns the
  same invoice for a repeated `islemId`, so a retry after a timeout creates nothing new. `faturaSorgula`
  (`AE00002` = no such invoice; `iptalTarihi` once cancelled) and `faturaIptalEt` take the same JSON input.

Sources: the operation names and parameter types are those of QNB's WSDL as generated into
github.com/tnhnclskn/efinans-php (src/EfinansClient.php, Type/GidenBelgeParametreleri.php,
Type/GidenBelgeDurum.php, generated from connectortest.efinans.com.tr/connector/ws/connectorService?wsdl);
the envelope, the hash and the e-Arşiv JSON from github.com/emrearal/qnb_efinans_efatura_ve_earsiv_entegrasyonu
(efinans.php) and from public clients measured against QNB's test service. Not confirmed, and kept here:
the `durum` values other than 2, the exact `resultCode` of an e-Arşiv refusal (we read its words), and the
shape of `gidenBelgeleriIndir`'s answer (base64 PDF, possibly zipped).

Secret (JSON): `username`, `password` (the e-Fatura web-service user), optionally `earsiv_username`,
`earsiv_password` (QNB gives e-Arşiv its own user; default: the same), `vkn` (default: the seller's).
Options: `erp_code` (QNB's ERP code for this software), `branch` / `till` (e-Arşiv `sube` / `kasa`,
default `DFLT`), `efatura_url`, `earsiv_url` (full service URLs; default from the base URL, or QNB's live
hosts), `efatura_profile`, `timeout_seconds`. A wrong password is never retried: QNB locks the user.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING

from lxml.builder import ElementMaker

from mutabik.model.document import Document, DocumentStatus, DocumentType
from mutabik.providers import _gib, _soap
from mutabik.providers.base import DocumentFile, Outcome, RegisteredUser
from mutabik.providers.exceptions import PermanentProviderError, ProviderError, RetryableProviderError

if TYPE_CHECKING:
    from lxml.etree import _Element

__all__ = ["QnbEfinansProvider"]

CONNECTOR_NS = "http://service.connector.uut.cs.com.tr/"
EARSIV_NS = "http://service.earsiv.uut.cs.com.tr/"
LIVE_EFATURA_URL = "https://efaturaconnector.qnbesolutions.com.tr/connector/ws/connectorService"
LIVE_EARSIV_URL = "https://earsivconnector.qnbesolutions.com.tr/earsiv/ws/EarsivWebService"
EFATURA_PATH = "/efatura/ws/connectorService"
EARSIV_PATH = "/earsiv/ws/EarsivWebService"
#: e-Arşiv result codes: success, no such invoice (QNB e-Arşiv Entegrasyon Kılavuzu, as clients report it).
EARSIV_OK, EARSIV_NOT_FOUND = "AE00000", "AE00002"
#: `donenBelgeFormati` 3 returns the PDF, 9 only the metadata.
EARSIV_PDF, EARSIV_METADATA = 3, 9

_E = ElementMaker()  # children are unqualified (elementFormDefault unqualified)
_CONNECTOR = ElementMaker(namespace=CONNECTOR_NS, nsmap={"ser": CONNECTOR_NS})
_EARSIV = ElementMaker(namespace=EARSIV_NS, nsmap={"ser": EARSIV_NS})
_NOT_FOUND = ("bulunamad", "bulunmamakta", "kayıt yok", "kayit yok", "not found")


class QnbEfinansProvider(_gib.GibIntegrator):
    name = "qnb_efinans"

    # --- plumbing -----------------------------------------------------------------------------------

    @cached_property
    def _client(self) -> _soap.SoapClient:
        return _soap.SoapClient(self.context, self.name, self.context.settings.base_url or LIVE_EFATURA_URL)

    def _url(self, option: str, path: str, live: str) -> str:
        explicit = self.context.settings.options.get(option, "")
        base = self.context.settings.base_url.rstrip("/")
        return explicit or (f"{base}{path}" if base else live)

    def _vkn(self) -> str:
        return self.credentials().get("vkn") or self.seller().tax_id

    def _header(self, earsiv: bool) -> _Element:
        secret = self.credentials()
        if earsiv:
            return _soap.wsse_header(
                secret.get("earsiv_username") or secret["username"],
                secret.get("earsiv_password") or secret["password"],
            )
        return _soap.wsse_header(secret["username"], secret["password"])

    def _call(self, body: _Element, *, earsiv: bool) -> _Element:
        try:
            header = self._header(earsiv)
        except KeyError as exc:
            raise PermanentProviderError(f"{self.secret_name} lacks {exc}", provider=self.name) from exc
        url = (
            self._url("earsiv_url", EARSIV_PATH, LIVE_EARSIV_URL)
            if earsiv
            else self._url("efatura_url", EFATURA_PATH, LIVE_EFATURA_URL)
        )
        return self._client.call(url, body, header=header)

    def _fault(self, fault: _soap.SoapFaultError) -> ProviderError:
        words = f"{fault.message} {fault.detail}".strip()
        if "username.pwd.mismatch" in words.lower():
            # QNB blocks a user that keeps logging in with an old password: stop, do not retry.
            return PermanentProviderError(
                f"{self.name}: wrong web-service password (username.pwd.mismatch); update {self.secret_name}",
                provider=self.name,
            )
        if _soap.is_transient(words) or (fault.status_code or 0) >= 502:
            return RetryableProviderError(f"{self.name}: {words}", provider=self.name, status_code=fault.status_code)
        return _gib.refusal(words, self.name, status_code=fault.status_code)

    # --- e-Fatura -----------------------------------------------------------------------------------

    def _send_efatura(self, sending: _gib.Sending) -> Outcome:
        parameters = [
            _E.vergiTcKimlikNo(self._vkn()),
            _E.belgeTuru("FATURA_UBL"),
            _E.belgeNo(sending.number),
            _E.veri(_gib.b64encode(sending.xml)),
            _E.belgeHash(_gib.md5_hex(sending.xml)),
            _E.mimeType("application/xml"),
            _E.belgeVersiyon("1.0"),
        ]
        if erp_code := self.context.settings.options.get("erp_code", ""):
            parameters.append(_E.erpKodu(erp_code))
        if sending.receiver_alias:
            parameters.append(_E.alanEtiket(sending.receiver_alias))
        try:
            answer = self._call(_CONNECTOR.belgeGonderExt(_E.parametreler(*parameters)), earsiv=False)
        except _soap.SoapFaultError as fault:
            if _gib.verdict(_duplicate_code(fault)) is _gib.Verdict.DUPLICATE:
                return self._own_duplicate(sending, fault)
            raise self._fault(fault) from fault
        refs = {"channel": "efatura", "profile": sending.profile, "belge_oid": _soap.text(answer, "belgeOid")}
        return Outcome(DocumentStatus.SUBMITTED, refs, number=sending.number)

    def _own_duplicate(self, sending: _gib.Sending, fault: _soap.SoapFaultError) -> Outcome:
        """1163 for our ETTN: the first attempt arrived. Follow it, if QNB has it under this ETTN."""
        found = self._efatura_by_ettn(sending.uuid)
        if found is None:
            raise _gib.refusal(_gib.describe(1163, fault.message), self.name)
        return found

    def _efatura_by_ettn(self, ettn: str) -> Outcome | None:
        try:
            answer = self._call(
                _CONNECTOR.gidenBelgeDurumSorgulaEttn(_E.vergiTcKimlikNo(self._vkn()), _E.ettn(ettn)), earsiv=False
            )
        except _soap.SoapFaultError as fault:
            if any(word in fault.message.lower() for word in _NOT_FOUND):
                return None
            raise self._fault(fault) from fault
        if _soap.child(answer, "return") is None or not _soap.text(answer, "ettn"):
            return None
        refs = {"channel": "efatura"}
        number = _soap.text(answer, "belgeNo")
        if _soap.text(answer, "durum") == "2":  # QNB could not process it; GİB never saw it
            detail = _soap.text(answer, "aciklama") or _soap.text(answer, "gonderimCevabiDetayi")
            return Outcome(DocumentStatus.REJECTED, refs, number=number, error=f"{self.name}: {detail}")
        return _gib.outcome_for(
            _soap.text(answer, "gonderimCevabiKodu"),
            _soap.text(answer, "gonderimCevabiDetayi") or _soap.text(answer, "aciklama"),
            refs=refs,
            number=number,
        )

    # --- e-Arşiv ------------------------------------------------------------------------------------

    def _earsiv_input(self, **fields: object) -> str:
        return json.dumps({"vkn": self._vkn(), **fields}, ensure_ascii=False, separators=(",", ":"))

    def _earsiv(self, operation: str, *content: _Element) -> tuple[str, str, dict[str, str], _Element]:
        """Call an e-Arşiv operation: its result code, words, key/value extras and the answer."""
        try:
            answer = self._call(getattr(_EARSIV, operation)(*content), earsiv=True)
        except _soap.SoapFaultError as fault:
            raise self._fault(fault) from fault
        extras = {_soap.text(entry, "key"): _soap.text(entry, "value") for entry in _soap.children(answer, "entry")}
        return _soap.text(answer, "resultCode"), _soap.text(answer, "resultText"), extras, answer

    def _send_earchive(self, sending: _gib.Sending) -> Outcome:
        options = self.context.settings.options
        fields: dict[str, object] = {
            "islemId": sending.uuid,
            "sube": options.get("branch", "DFLT"),
            "kasa": options.get("till", "DFLT"),
            "numaraVerilsinMi": 0,
            "donenBelgeFormati": EARSIV_METADATA,
        }
        if erp_code := options.get("erp_code", ""):
            fields["erpKodu"] = erp_code
        code, words, extras, _ = self._earsiv(
            "faturaOlusturExt",
            _E.input(self._earsiv_input(**fields)),
            _E.fatura(_E.belgeFormati("UBL"), _E.belgeIcerigi(_gib.b64encode(sending.xml))),
        )
        if code != EARSIV_OK:
            raise _gib.refusal(f"{code} {words}".strip(), self.name)
        refs = {"channel": "earsiv", "profile": sending.profile}
        if url := extras.get("faturaURL", ""):
            refs["url"] = url
        return Outcome(DocumentStatus.ACCEPTED, refs, number=extras.get("faturaNo") or sending.number)

    def _earchive_by_ettn(self, ettn: str, *, form: int = EARSIV_METADATA) -> tuple[Outcome, _Element] | None:
        code, words, extras, answer = self._earsiv(
            "faturaSorgula", _E.input(self._earsiv_input(faturaUuid=ettn, donenBelgeFormati=form))
        )
        if code == EARSIV_NOT_FOUND:
            return None
        if code != EARSIV_OK:
            raise _gib.refusal(f"{code} {words}".strip(), self.name)
        refs = {"channel": "earsiv", "profile": _gib.EARSIV}
        if extras.get("faturaURL"):
            refs["url"] = extras["faturaURL"]
        if extras.get("iptalTarihi"):
            refs["cancelled_at"] = extras["iptalTarihi"]
        return Outcome(DocumentStatus.ACCEPTED, refs, number=extras.get("faturaNo", "")), answer

    def _cancel(self, document: Document, invoice: Document | None) -> Outcome:
        if invoice is None:
            raise PermanentProviderError("a cancellation needs the invoice it cancels", provider=self.name)
        if not self.earchive_invoice(invoice):
            raise PermanentProviderError(
                "an e-Fatura is not cancelled through the integrator: issue a return invoice, or the buyer "
                "objects through GİB's portal",
                provider=self.name,
            )
        code, words, _, _ = self._earsiv("faturaIptalEt", _E.input(self._earsiv_input(faturaUuid=invoice.uuid.upper())))
        if code != EARSIV_OK and "iptal edilmi" not in _gib.fold(words):  # already cancelled: done
            raise _gib.refusal(f"{code} {words}".strip(), self.name)
        return Outcome(DocumentStatus.ACCEPTED, {"cancelled": invoice.uuid.upper()})

    # --- the Provider protocol ----------------------------------------------------------------------

    def find(self, document: Document) -> Outcome | None:
        if document.type is DocumentType.CANCELLATION:
            found = self._earchive_by_ettn(self.invoice_uuid_of(document))
            if found is None or "cancelled_at" not in found[0].provider_refs:
                return None
            return Outcome(DocumentStatus.ACCEPTED, {"cancelled": self.invoice_uuid_of(document)})
        ettn = document.uuid.upper()
        if document.profile != _gib.EARSIV:
            outcome = self._efatura_by_ettn(ettn)
            if outcome is not None or document.profile:
                return outcome
        earchive = self._earchive_by_ettn(ettn)
        return earchive[0] if earchive is not None else None

    def registered_user(self, tax_id: str) -> RegisteredUser:
        try:
            answer = self._call(_CONNECTOR.efaturaKullaniciBilgisi(_E.vergiTcKimlikNo(tax_id)), earsiv=False)
        except _soap.SoapFaultError as fault:
            raise self._fault(fault) from fault
        records = [r for r in _soap.children(answer, "return") if _soap.text(r, "etiket")]
        aliases = tuple(dict.fromkeys(_soap.text(r, "etiket") for r in records))
        title = _soap.text(records[0], "unvan") if records else ""
        return RegisteredUser(tax_id, registered=bool(aliases), title=title, aliases=aliases)

    def pdf(self, document: Document) -> DocumentFile:
        if document.profile == _gib.EARSIV or document.provider_refs.get("channel") == "earsiv":
            found = self._earchive_by_ettn(document.uuid.upper(), form=EARSIV_PDF)
            if found is None:
                raise PermanentProviderError(f"{self.name} has no invoice {document.uuid}", provider=self.name)
            return DocumentFile(content=_decode_file(_soap.text(found[1], "belgeIcerigi")))
        oid = document.provider_refs.get("belge_oid", "")
        if not oid:
            raise PermanentProviderError("no QNB belgeOid is recorded for this invoice", provider=self.name)
        try:
            answer = self._call(
                _CONNECTOR.gidenBelgeleriIndir(
                    _E.vergiTcKimlikNo(self._vkn()),
                    _E.belgeOidListesi(oid),
                    _E.belgeTuru("FATURA"),
                    _E.belgeFormati("PDF"),
                ),
                earsiv=False,
            )
        except _soap.SoapFaultError as fault:
            raise self._fault(fault) from fault
        return DocumentFile(content=_decode_file(_soap.text(answer, "return")))


def _duplicate_code(fault: _soap.SoapFaultError) -> int | None:
    """1163 when QNB's refusal says the invoice is already registered (code or GİB's words)."""
    words = _gib.fold(f"{fault.code} {fault.message} {fault.detail}")
    if "1163" in words or "daha once kayitli" in words or "ayni ettn" in words:
        return 1163
    return None


def _decode_file(value: str) -> bytes:
    """A file QNB returns as base64, zipped or not."""
    content = _gib.b64decode(value)
    if content[:2] == b"PK":
        return _gib.unzip_document(content)[1]
    return content
