"""A fake Sovos (FIT "fitbulut"): ClientEInvoiceServices (e-Fatura) and ClientEArsivServicesPort (e-Arşiv).

What it checks of every call: HTTP Basic credentials, `SOAPAction` = the operation, the namespaces
(`http:/fitcons.com/eInvoice/` with qualified children for e-Fatura; `http://fitcons.com/earchive/invoice`
and `.../invoicecancellation` for e-Arşiv), and the packaging: `DocData` / `binaryData` is base64 of a zip
holding exactly one `<ETTN>.xml`, the e-Arşiv `hash` is the MD5 of that zip. Refusals are SOAP faults with
a `ProcessingFault` (`Code`, `Message`) or e-Arşiv `preCheckErrorResults`, as in Sovos's WSDL. See
`tests/fakes/_soap.py` for GİB's part, and mutabik.providers.sovos for the sources.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any, ClassVar

from lxml import etree
from lxml.builder import ElementMaker
from lxml.etree import _Element
from werkzeug.wrappers import Request

from tests.fakes._soap import (
    DUPLICATE_WORDS,
    FAKE_PDF,
    GIB_WORDS,
    FaultError,
    Handler,
    SoapFake,
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

EINVOICE_NS = "http:/fitcons.com/eInvoice/"
EARCHIVE_NS = "http://fitcons.com/earchive/invoice"
CANCELLATION_NS = "http://fitcons.com/earchive/invoicecancellation"
EFATURA_PATH = "/ClientEInvoiceServices/ClientEInvoiceServicesPort.svc"
EARSIV_PATH = "/ClientEArsivServicesPort.svc"
_Q = ElementMaker(namespace=EINVOICE_NS, nsmap={"ns": EINVOICE_NS})
_E = ElementMaker()
_A = ElementMaker(namespace=EARCHIVE_NS, nsmap={"ns": EARCHIVE_NS})
_C = ElementMaker(namespace=CANCELLATION_NS, nsmap={"ns": CANCELLATION_NS})


def processing_fault(code: int, message: str) -> FaultError:
    detail = _Q.ProcessingFault(_Q.Code(str(code)), _Q.Message(message))
    return FaultError(message, code="s:Client", detail=detail)


class Fake(SoapFake):
    name = "sovos"
    SEND_OPERATIONS: ClassVar[dict[str, str]] = {"efatura": "sendUBLRequest", "earsiv": "sendInvoiceRequestType"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.username, self.password = "sovos-ws", "sovos-secret"
        self.sender_alias = "urn:mail:defaultgb@kahve-dukkani.example"

    def credentials(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}

    def options(self) -> dict[str, str]:
        return {"sender_alias": self.sender_alias, "branch": "default"}

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            (EFATURA_PATH, "sendUBLRequest"): self.send_ubl,
            (EFATURA_PATH, "getUBLListRequest"): self.get_ubl_list,
            (EFATURA_PATH, "getEnvelopeStatusRequest"): self.get_envelope_status,
            (EFATURA_PATH, "getUserListRequest"): self.get_user_list,
            (EFATURA_PATH, "getRAWUserListRequest"): self.get_raw_user_list,
            (EFATURA_PATH, "getInvoiceViewRequest"): self.get_invoice_view,
            (EARSIV_PATH, "sendInvoiceRequestType"): self.send_invoice,
            (EARSIV_PATH, "getInvoiceDocumentRequestType"): self.get_invoice_document,
            (EARSIV_PATH, "invoiceCancellationServiceRequestType"): self.cancel_invoice,
        }

    def authenticate(self, request: Request, envelope: _Element, operation: _Element) -> None:
        auth = request.authorization
        if auth is None or not (
            same_secret(auth.username or "", self.username) and same_secret(auth.password or "", self.password)
        ):
            raise FaultError("Unauthorized", code="s:Client")
        name = local(operation)
        action = request.headers.get("SOAPAction", "").strip('"')
        expected = {
            "sendInvoiceRequestType": "sendInvoice",
            "getInvoiceDocumentRequestType": "getInvoiceDocument",
            "invoiceCancellationServiceRequestType": "cancelInvoice",
        }.get(name, name.removesuffix("Request"))
        if action != expected:
            raise FaultError(f"SOAPAction {action!r} is not {expected!r}", code="s:Client")
        namespace = EINVOICE_NS if request.path == EFATURA_PATH else EARCHIVE_NS
        if name == "invoiceCancellationServiceRequestType":
            namespace = CANCELLATION_NS
        if etree.QName(operation).namespace != namespace:
            raise FaultError(f"{name} is not in {namespace}", code="s:Client")
        if request.path == EFATURA_PATH and any(etree.QName(c).namespace != EINVOICE_NS for c in operation):
            raise FaultError("children of an eInvoice request are qualified", code="s:Client")

    # --- e-Fatura -----------------------------------------------------------------------------------

    def send_ubl(self, operation: _Element, request: Request) -> _Element:
        if value(operation, "DocType") != "INVOICE":
            raise processing_fault(1000, "DocType INVOICE olmalı")
        name, xml = unzip_one(unb64(value(operation, "DocData")))
        stored_uuid = _uuid_of(xml)
        if name.upper() != f"{stored_uuid}.XML":
            raise processing_fault(1133, f"1133 ZARF ID VE XML DOSYASININ ADI AYNI OLMALI: {name}")
        if value(operation, "SenderIdentifier") not in {"", self.sender_alias}:
            raise processing_fault(1171, "1171 GÖNDERİCİ BİRİM YETKİSİ YOK")
        alias = value(operation, "ReceiverIdentifier")
        try:
            stored = self.accept(xml, "efatura", receiver_alias=alias)
        except UblRefusedError as refused:
            raise processing_fault(refused.code, f"Şema validasyon hatası: {refused.message}") from refused
        except ValueError as wrong:
            raise processing_fault(1181, str(wrong)) from wrong
        except KeyError as known:
            raise processing_fault(1163, f"{DUPLICATE_WORDS} (UUID {known.args[0]})") from known
        return _Q.sendUBLResponse(_Q.Response(_Q.EnvUUID(stored.ref), _Q.UUID(stored.uuid), _Q.ID(stored.number)))

    def get_ubl_list(self, operation: _Element, request: Request) -> _Element:
        wanted = {n.text.upper() for n in find_all(operation, "UUID") if n.text}
        rows = [i for i in self.documents("efatura") if not wanted or i.uuid in wanted]
        return _Q.getUBLListResponse(
            *(
                _Q.UBLList(
                    _Q.UUID(i.uuid),
                    _Q.Identifier(self.sender_alias),
                    _Q.VKN_TCKN(i.supplier),
                    _Q.EnvType("SENDERENVELOPE"),
                    _Q.EnvUUID(i.ref),
                    _Q.ID(i.number),
                    _Q.InsertDateTime(i.received_at.isoformat()),
                )
                for i in rows
            )
        )

    def get_envelope_status(self, operation: _Element, request: Request) -> _Element:
        envelope = value(operation, "UUID")
        stored = next((i for i in self.documents("efatura") if i.ref == envelope), None)
        if stored is None:
            raise processing_fault(2004, "2004 ZARF ID BULUNAMADI")
        code = self.poll(stored)
        return _Q.getEnvelopeStatusResponse(
            _Q.Response(
                _Q.UUID(envelope),
                _Q.IssueDate(stored.received_at.date().isoformat()),
                _Q.DocumentTypeCode("SYSTEMENVELOPE"),
                _Q.DocumentType("SİSTEM YANITI"),
                _Q.ResponseCode(str(code)),
                _Q.Description(GIB_WORDS.get(code, "")),
            )
        )

    def get_user_list(self, operation: _Element, request: Request) -> _Element:
        if value(operation, "Role") != "PK":
            raise processing_fault(1000, "Role PK veya GB olmalı")
        user = self.lookup(value(operation, "Filter_VKN_TCKN"))
        aliases = user.aliases if user is not None else ()
        return _Q.getUserListResponse(
            *(
                _Q.User(
                    _Q.Identifier(user.tax_id),
                    _Q.Alias(alias),
                    _Q.Title(user.title),
                    _Q.Type("OZEL"),
                    _Q.RegisterTime(user.registered_at),
                    _Q.FirstCreationTime(user.registered_at),
                )
                for alias in aliases
                if user is not None
            )
        )

    def get_raw_user_list(self, operation: _Element, request: Request) -> _Element:
        return _Q.getRAWUserListResponse(_Q.DocData(b64(zip_one("userlist.xml", self.user_list_xml()))))

    def get_invoice_view(self, operation: _Element, request: Request) -> _Element:
        stored = self.invoices.get(value(operation, "UUID").upper())
        if stored is None or value(operation, "DocType") != "PDF":
            raise processing_fault(404, "Fatura bulunamadı")
        return _Q.getInvoiceViewResponse(_Q.DocData(b64(zip_one(f"{stored.uuid}.pdf", FAKE_PDF))))

    # --- e-Arşiv ------------------------------------------------------------------------------------

    def send_invoice(self, operation: _Element, request: Request) -> _Element:
        package = unb64(value(operation, "binaryData"))
        if value(operation, "hash").lower() != hashlib.md5(package, usedforsecurity=False).hexdigest():
            return _precheck_error("", "HASH_MISMATCH", "Gönderilen hash değeri dosya ile uyuşmuyor")
        name, xml = unzip_one(package)
        ettn = _uuid_of(xml)
        if name.upper() != f"{ettn}.XML" or value(operation, "docType") != "XML":
            return _precheck_error(ettn, "1133", f"1133 ZARF ID VE XML DOSYASININ ADI AYNI OLMALI: {name}")
        if value(find(operation, "customizationParams"), "paramName") != "BRANCH":
            return _precheck_error(ettn, "BRANCH", "BRANCH parametresi zorunludur")
        try:
            stored = self.accept(xml, "earsiv", ref=ettn)
        except UblRefusedError as refused:
            return _precheck_error(ettn, str(refused.code), refused.message)
        except ValueError as wrong:
            return _precheck_error(ettn, "1181", str(wrong))
        except KeyError:
            return _precheck_error(ettn, "1163", f"{DUPLICATE_WORDS}: bu UUID ile daha önce fatura gönderilmiş")
        digest = hashlib.sha256(xml).hexdigest()
        return _A.sendInvoiceResponseType(
            _E.Result(_E.Result("SUCCESS")),
            _E.Detail("1 fatura başarıyla alındı"),
            _E.preCheckSuccessResults(
                _E.UUID(stored.uuid),
                _E.Vkn(stored.supplier),
                _E.InvoiceNumber(stored.number),
                _E.SuccessCode("0"),
                _E.SuccessDesc("Başarılı"),
                _E.Filename(name),
                _E.sha256Hash(digest),
            ),
        )

    def get_invoice_document(self, operation: _Element, request: Request) -> _Element:
        stored = self.invoices.get(value(operation, "UUID").upper())
        if stored is None or stored.channel != "earsiv":
            raise FaultError(
                "Fatura bulunamadı",
                code="s:Client",
                detail=_E.processingFaultType(_E.Code("404"), _E.Message("Fatura bulunamadı")),
            )
        content = FAKE_PDF if value(operation, "outputType") == "PDF" else stored.xml
        return _A.getInvoiceDocumentResponseType(
            _E.UUID(stored.uuid),
            _E.vkn(stored.supplier),
            _E.invoiceNumber(stored.number),
            _E.statusCode("IPTAL" if stored.cancelled else "ONAYLANDI"),
            _E.Detail("İptal edildi" if stored.cancelled else ""),
            _E.binaryData(base64.b64encode(content).decode()),
        )

    def cancel_invoice(self, operation: _Element, request: Request) -> _Element:
        info = find(operation, "invoiceCancelInfoTypeList")
        stored = self.invoices.get(value(info, "invoiceId").upper())
        if stored is None or stored.channel != "earsiv":
            raise FaultError("İptal edilecek fatura bulunamadı", code="s:Client")
        if stored.cancelled:
            raise FaultError("Fatura daha önce iptal edilmiş", code="s:Client")
        datetime.strptime(value(info, "cancelDate"), "%Y-%m-%d").replace(tzinfo=UTC)  # refuse a malformed date
        stored.cancelled = True
        return _C.invoiceCancellationServiceResponseType(_E.Result(_E.Result("SUCCESS")), _E.Detail("İptal edildi"))


def _uuid_of(xml: bytes) -> str:
    from mutabik import ubl

    return ubl.parse_invoice(xml).uuid.upper()


def _precheck_error(uuid: str, code: str, words: str) -> _Element:
    return _A.sendInvoiceResponseType(
        _E.Result(_E.Result("FAIL")),
        _E.Detail(words),
        _E.preCheckErrorResults(_E.UUID(uuid), _E.ErrorCode(code), _E.ErrorDesc(words)),
    )
