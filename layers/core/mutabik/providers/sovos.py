"""Sovos (formerly FIT / Foriba "fitbulut"), özel entegratör: our UBL-TR over its SOAP client services.

Authentication is HTTP Basic with the web-service user on every call; `SOAPAction` is the operation name.

- e-Fatura, `ClientEInvoiceServices`, namespace `http:/fitcons.com/eInvoice/` (one slash, as published):
  `sendUBL` (`VKN_TCKN`, `SenderIdentifier` = our GB alias, `ReceiverIdentifier` = the buyer's PK alias,
  `DocType=INVOICE`, `DocData` = base64 of a zip holding `<ETTN>.xml`) → `EnvUUID`, `UUID`, `ID`.
  `getUBLList` (`UUID`, `DocType=INVOICE`, `Type=OUTBOUND`) finds an invoice we sent by its ETTN and
  names its envelope; `getEnvelopeStatus` (`UUID` = the envelope) → `ResponseCode`, GİB's code (see
  `_gib`), and `Description`. `getUserList` (`Role=PK`, `Filter_VKN_TCKN`) → the buyer's mailboxes;
  `getInvoiceView` (`DocType=PDF`) → the PDF. Errors are SOAP faults carrying `ProcessingFault`
  (`Code`, `Message`).
- e-Arşiv, `ClientEArsivServicesPort`, namespace `http://fitcons.com/earchive/invoice` (cancellation:
  `http://fitcons.com/earchive/invoicecancellation`): synchronous. `sendInvoice` (`senderID`,
  `receiverID`, `docType=XML`, `fileName`, `hash` = MD5 of the zip, `binaryData` = base64 of the zip,
  `customizationParams` BRANCH) → `preCheckSuccessResults` (`InvoiceNumber`) or `preCheckErrorResults`
  (`ErrorCode`, `ErrorDesc`). `getInvoiceDocument` (`UUID`, `vkn`, `outputType`) → the invoice;
  `cancelInvoice` (`invoiceCancelInfoTypeList`: `invoiceId`, `vkn`, `branch`, `totalAmount`,
  `cancelDate`).

Sources: Sovos's WSDL and schemas, github.com/sovos-foriba-rd/cloud_einvoice_sample_api_client_java
(wsdl/.../ClientEInvoiceServices-2.1.wsdl and its three imported schemas); its e-Arşiv sample client,
github.com/sovos-foriba-rd/cloud_sample_api_client_php (src/Bulut/FITApi/FITArchiveService.php,
example/Code.php: the zip, `md5_file` of it, the BRANCH parameter) and github.com/ahmeti/sovos-api
(src/Archive/*: element names). Not confirmed, and kept here: the fault `Code` of a duplicate ETTN (we also
read GİB's 1163 words), that `invoiceId` of a cancellation takes the ETTN, the `Result` word of a
successful e-Arşiv call, and how a cancelled e-Arşiv invoice shows in `getInvoiceDocument` (we read
"IPTAL" in its status or detail).

Secret (JSON): `username`, `password`. Options: `sender_alias` (our GB alias, `urn:mail:defaultgb@...`;
also the `Identifier` of queries, default the seller's VKN), `branch` (e-Arşiv BRANCH, default `default`),
`efatura_url`, `earsiv_url` (full URLs; default from the base URL, or Sovos's live hosts),
`efatura_profile`, `timeout_seconds`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING

from lxml.builder import ElementMaker

from mutabik.model.document import Document, DocumentStatus, DocumentType
from mutabik.providers import _gib, _soap
from mutabik.providers.base import DocumentFile, Outcome, RegisteredUser
from mutabik.providers.exceptions import PermanentProviderError, ProviderError, RetryableProviderError

if TYPE_CHECKING:
    from lxml.etree import _Element

__all__ = ["SovosProvider"]

EINVOICE_NS = "http:/fitcons.com/eInvoice/"
EARCHIVE_NS = "http://fitcons.com/earchive/invoice"
CANCELLATION_NS = "http://fitcons.com/earchive/invoicecancellation"
LIVE_EFATURA_URL = "https://efaturaws.fitbulut.com/ClientEInvoiceServices/ClientEInvoiceServicesPort.svc"
LIVE_EARSIV_URL = "https://earsivws.fitbulut.com/ClientEArsivServicesPort.svc"
EFATURA_PATH = "/ClientEInvoiceServices/ClientEInvoiceServicesPort.svc"
EARSIV_PATH = "/ClientEArsivServicesPort.svc"

_E = ElementMaker()
_INVOICE = ElementMaker(namespace=EINVOICE_NS, nsmap={"ein": EINVOICE_NS})
_ARCHIVE = ElementMaker(namespace=EARCHIVE_NS, nsmap={"inv": EARCHIVE_NS})
_CANCEL = ElementMaker(namespace=CANCELLATION_NS, nsmap={"inv": CANCELLATION_NS})
_NOT_FOUND = ("bulunamad", "bulunmamakta", "not found", "kayit yok")


class SovosProvider(_gib.GibIntegrator):
    name = "sovos"

    # --- plumbing -----------------------------------------------------------------------------------

    @cached_property
    def _client(self) -> _soap.SoapClient:
        secret = self.credentials()
        try:
            auth = (secret["username"], secret["password"])
        except KeyError as exc:
            raise PermanentProviderError(f"{self.secret_name} lacks {exc}", provider=self.name) from exc
        return _soap.SoapClient(self.context, self.name, self.context.settings.base_url or LIVE_EFATURA_URL, auth)

    def _url(self, option: str, path: str, live: str) -> str:
        explicit = self.context.settings.options.get(option, "")
        base = self.context.settings.base_url.rstrip("/")
        return explicit or (f"{base}{path}" if base else live)

    def _vkn(self) -> str:
        return self.seller().tax_id

    def _identifier(self) -> str:
        return self.context.settings.options.get("sender_alias", "") or self._vkn()

    def _call(self, body: _Element, action: str, *, earsiv: bool = False) -> _Element:
        url = (
            self._url("earsiv_url", EARSIV_PATH, LIVE_EARSIV_URL)
            if earsiv
            else self._url("efatura_url", EFATURA_PATH, LIVE_EFATURA_URL)
        )
        return self._client.call(url, body, action=action)

    def _fault(self, fault: _soap.SoapFaultError) -> ProviderError:
        words = " ".join(part for part in (fault.message, fault.detail) if part)
        if _soap.is_transient(words) or (fault.status_code or 0) >= 502:
            return RetryableProviderError(f"{self.name}: {words}", provider=self.name, status_code=fault.status_code)
        if fault.message == "Unauthorized":
            return PermanentProviderError(f"{self.name}: wrong web-service user or password", provider=self.name)
        return _gib.refusal(words, self.name, status_code=fault.status_code)

    # --- e-Fatura -----------------------------------------------------------------------------------

    def _send_efatura(self, sending: _gib.Sending) -> Outcome:
        package = _gib.zip_document(sending.xml, f"{sending.uuid}.xml")
        q = _INVOICE  # Sovos qualifies the children of its requests (elementFormDefault="qualified")
        fields = [q.VKN_TCKN(self._vkn())]
        if sender := self.context.settings.options.get("sender_alias", ""):
            fields.append(q.SenderIdentifier(sender))
        if sending.receiver_alias:
            fields.append(q.ReceiverIdentifier(sending.receiver_alias))
        request = q.sendUBLRequest(*fields, q.DocType("INVOICE"), q.DocData(_gib.b64encode(package)))
        try:
            answer = self._call(request, "sendUBL")
        except _soap.SoapFaultError as fault:
            if _is_duplicate(fault):
                found = self._efatura_by_ettn(sending.uuid)
                if found is None:
                    raise _gib.refusal(_gib.describe(1163, fault.detail or fault.message), self.name) from fault
                return found
            raise self._fault(fault) from fault
        refs = {"channel": "efatura", "profile": sending.profile, "env_uuid": _soap.text(answer, "EnvUUID")}
        return Outcome(DocumentStatus.SUBMITTED, refs, number=_soap.text(answer, "ID") or sending.number)

    def _query(self, operation: str, *fields: _Element, identity_first: bool = True) -> _Element:
        """A query of the e-Fatura service; `Identifier` and `VKN_TCKN` lead unless the schema says otherwise."""
        identity = (_INVOICE.Identifier(self._identifier()), _INVOICE.VKN_TCKN(self._vkn()))
        request = getattr(_INVOICE, f"{operation}Request")(*(identity + fields if identity_first else fields))
        try:
            return self._call(request, operation)
        except _soap.SoapFaultError as fault:
            raise self._fault(fault) from fault

    def _efatura_by_ettn(self, ettn: str, envelope: str = "") -> Outcome | None:
        """Where our invoice stands: its envelope (found by ETTN when we do not know it) and GİB's code."""
        if not envelope:
            try:
                listed = self._query(
                    "getUBLList", _INVOICE.UUID(ettn), _INVOICE.DocType("INVOICE"), _INVOICE.Type("OUTBOUND")
                )
            except PermanentProviderError as exc:
                if any(word in _gib.fold(str(exc)) for word in _NOT_FOUND):
                    return None
                raise
            entry = next(
                (e for e in _soap.children(listed, "UBLList") if _soap.text(e, "UUID").upper() == ettn.upper()), None
            )
            if entry is None:
                return None
            envelope = _soap.text(entry, "EnvUUID")
        answer = self._query("getEnvelopeStatus", _INVOICE.UUID(envelope))
        response = _soap.child(answer, "Response")
        refs = {"channel": "efatura", "env_uuid": envelope}
        return _gib.outcome_for(_soap.text(response, "ResponseCode"), _soap.text(response, "Description"), refs=refs)

    # --- e-Arşiv ------------------------------------------------------------------------------------

    def _send_earchive(self, sending: _gib.Sending) -> Outcome:
        package = _gib.zip_document(sending.xml, f"{sending.uuid}.xml")
        request = _ARCHIVE.sendInvoiceRequestType(
            _E.senderID(self._vkn()),
            _E.receiverID(sending.buyer.tax_id),
            _E.docType("XML"),
            _E.fileName(f"{sending.uuid}.zip"),
            _E.hash(_gib.md5_hex(package)),
            _E.binaryData(_gib.b64encode(package)),
            _E.customizationParams(
                _E.paramName("BRANCH"), _E.paramValue(self.context.settings.options.get("branch", "default"))
            ),
        )
        try:
            answer = self._call(request, "sendInvoice", earsiv=True)
        except _soap.SoapFaultError as fault:
            raise self._fault(fault) from fault
        refs = {"channel": "earsiv", "profile": sending.profile}
        for error in _soap.children(answer, "preCheckErrorResults"):
            code, words = _soap.text(error, "ErrorCode"), _soap.text(error, "ErrorDesc")
            if not (code or words):
                continue
            if _gib.verdict(code) is _gib.Verdict.DUPLICATE or "daha once" in _gib.fold(words):
                found = self._earchive_by_ettn(sending.uuid)
                if found is not None:
                    return found
            raise _gib.refusal(f"{code} {words}".strip(), self.name)
        success = _soap.child(answer, "preCheckSuccessResults")
        if success is None:
            detail = _soap.text(answer, "Detail") or _soap.text(answer, "Result") or "no result"
            raise PermanentProviderError(f"{self.name}: {detail}", provider=self.name)
        return Outcome(DocumentStatus.ACCEPTED, refs, number=_soap.text(success, "InvoiceNumber") or sending.number)

    def _earchive_document(self, ettn: str, output: str) -> _Element | None:
        request = _ARCHIVE.getInvoiceDocumentRequestType(_E.UUID(ettn), _E.vkn(self._vkn()), _E.outputType(output))
        try:
            return self._call(request, "getInvoiceDocument", earsiv=True)
        except _soap.SoapFaultError as fault:
            if any(word in _gib.fold(f"{fault.message} {fault.detail}") for word in _NOT_FOUND):
                return None
            raise self._fault(fault) from fault

    def _earchive_by_ettn(self, ettn: str) -> Outcome | None:
        answer = self._earchive_document(ettn, "XML")
        if answer is None or not _soap.text(answer, "UUID"):
            return None
        refs = {"channel": "earsiv", "profile": _gib.EARSIV}
        if "iptal" in _gib.fold(f"{_soap.text(answer, 'statusCode')} {_soap.text(answer, 'Detail')}"):
            refs["cancelled"] = "true"
        return Outcome(DocumentStatus.ACCEPTED, refs, number=_soap.text(answer, "invoiceNumber"))

    def _cancel(self, document: Document, invoice: Document | None) -> Outcome:
        if invoice is None:
            raise PermanentProviderError("a cancellation needs the invoice it cancels", provider=self.name)
        if not self.earchive_invoice(invoice):
            raise PermanentProviderError(
                "an e-Fatura is not cancelled through the integrator: issue a return invoice, or the buyer "
                "objects through GİB's portal",
                provider=self.name,
            )
        total = Decimal(str(invoice.payload.get("order", {}).get("total_paid", {}).get("amount", "0")))
        request = _CANCEL.invoiceCancellationServiceRequestType(
            _E.invoiceCancelInfoTypeList(
                _E.invoiceId(invoice.uuid.upper()),
                _E.vkn(self._vkn()),
                _E.branch(self.context.settings.options.get("branch", "default")),
                _E.totalAmount(f"{total:.2f}"),
                _E.cancelDate(datetime.now(UTC).date().isoformat()),
            )
        )
        try:
            answer = self._call(request, "cancelInvoice", earsiv=True)
        except _soap.SoapFaultError as fault:
            if "iptal edilmi" in _gib.fold(f"{fault.message} {fault.detail}"):  # already cancelled: done
                return Outcome(DocumentStatus.ACCEPTED, {"cancelled": invoice.uuid.upper()})
            raise self._fault(fault) from fault
        result = _soap.text(answer, "Result")
        if result and result.upper() not in {"SUCCESS", "BASARILI", "OK", "TRUE"}:
            raise _gib.refusal(_soap.text(answer, "Detail") or result, self.name)
        return Outcome(DocumentStatus.ACCEPTED, {"cancelled": invoice.uuid.upper()})

    # --- the Provider protocol ----------------------------------------------------------------------

    def find(self, document: Document) -> Outcome | None:
        if document.type is DocumentType.CANCELLATION:
            ettn = self.invoice_uuid_of(document)
            found = self._earchive_by_ettn(ettn)
            if found is None or "cancelled" not in found.provider_refs:
                return None
            return Outcome(DocumentStatus.ACCEPTED, {"cancelled": ettn})
        ettn = document.uuid.upper()
        if document.profile != _gib.EARSIV:
            outcome = self._efatura_by_ettn(ettn, document.provider_refs.get("env_uuid", ""))
            if outcome is not None or document.profile:
                return outcome
        return self._earchive_by_ettn(ettn)

    def registered_user(self, tax_id: str) -> RegisteredUser:
        answer = self._query("getUserList", _INVOICE.Role("PK"), _INVOICE.Filter_VKN_TCKN(tax_id))
        users = [u for u in _soap.children(answer, "User") if _soap.text(u, "Identifier") == tax_id]
        aliases = tuple(dict.fromkeys(_soap.text(u, "Alias") for u in users if _soap.text(u, "Alias")))
        title = _soap.text(users[0], "Title") if users else ""
        return RegisteredUser(tax_id, registered=bool(aliases), title=title, aliases=aliases)

    def pdf(self, document: Document) -> DocumentFile:
        ettn = document.uuid.upper()
        if document.profile == _gib.EARSIV or document.provider_refs.get("channel") == "earsiv":
            answer = self._earchive_document(ettn, "PDF")
            if answer is None:
                raise PermanentProviderError(f"{self.name} has no invoice {ettn}", provider=self.name)
            return DocumentFile(content=_decode_file(_soap.text(answer, "binaryData")))
        q = _INVOICE  # this one's schema puts the ETTN before the identity
        answer = self._query(
            "getInvoiceView",
            *(q.UUID(ettn), q.CustInvID(""), q.Identifier(self._identifier()), q.VKN_TCKN(self._vkn())),
            *(q.Type("OUTBOUND"), q.DocType("PDF")),
            identity_first=False,
        )
        return DocumentFile(content=_decode_file(_soap.text(answer, "DocData")))


def _is_duplicate(fault: _soap.SoapFaultError) -> bool:
    words = _gib.fold(f"{fault.code} {fault.message} {fault.detail}")
    return "1163" in words or "daha once kayitli" in words or "daha once gonderilmis" in words


def _decode_file(value: str) -> bytes:
    content = _gib.b64decode(value)
    return _gib.unzip_document(content)[1] if content[:2] == b"PK" else content
