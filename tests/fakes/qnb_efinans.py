"""A fake QNB eSolutions (eFinans): its e-Fatura connectorService and e-Arşiv EarsivWebService.

What it checks of every call: the path and the operation's namespace (`http://service.connector.uut.cs.com.tr/`
or `http://service.earsiv.uut.cs.com.tr/`), the WS-Security UsernameToken of that service's user, and the
packaging — `veri` is the UBL in base64 and `belgeHash` its MD5, `belgeTuru=FATURA_UBL`,
`mimeType=application/xml`, `belgeNo` the invoice's own ID, `vergiTcKimlikNo` its supplier, `erpKodu` ours;
e-Arşiv `input` is JSON with `islemId` = the ETTN. A repeated `islemId` returns the invoice QNB already has,
as QNB does. See `tests/fakes/_soap.py` for the part played by GİB, and mutabik.providers.qnb_efinans for
the sources.
"""

from __future__ import annotations

import hashlib
import json
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
    StoredInvoice,
    UblRefusedError,
    b64,
    find,
    local,
    same_secret,
    unb64,
    value,
    zip_one,
)

__all__ = ["Fake"]

CONNECTOR_NS = "http://service.connector.uut.cs.com.tr/"
EARSIV_NS = "http://service.earsiv.uut.cs.com.tr/"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
EFATURA_PATH = "/efatura/ws/connectorService"
EARSIV_PATH = "/earsiv/ws/EarsivWebService"
_E = ElementMaker()
_C = ElementMaker(namespace=CONNECTOR_NS, nsmap={"ns2": CONNECTOR_NS})
_A = ElementMaker(namespace=EARSIV_NS, nsmap={"ns2": EARSIV_NS})


class Fake(SoapFake):
    name = "qnb_efinans"
    SEND_OPERATIONS: ClassVar[dict[str, str]] = {"efatura": "belgeGonderExt", "earsiv": "faturaOlusturExt"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.users_by_service = {
            EFATURA_PATH: ("qnb-efatura-ws", "efatura-secret"),
            EARSIV_PATH: ("qnb-earsiv-ws", "earsiv-secret"),
        }
        self.erp_code = "MTB31415"

    def credentials(self) -> dict[str, str]:
        (user, password), (earsiv_user, earsiv_password) = self.users_by_service.values()
        return {
            "username": user,
            "password": password,
            "earsiv_username": earsiv_user,
            "earsiv_password": earsiv_password,
        }

    def options(self) -> dict[str, str]:
        return {"erp_code": self.erp_code}

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            (EFATURA_PATH, "belgeGonderExt"): self.belge_gonder_ext,
            (EFATURA_PATH, "gidenBelgeDurumSorgulaEttn"): self.giden_belge_durum,
            (EFATURA_PATH, "efaturaKullaniciBilgisi"): self.kullanici_bilgisi,
            (EFATURA_PATH, "kayitliKullaniciListeleExtended"): self.kullanici_listesi,
            (EFATURA_PATH, "gidenBelgeleriIndir"): self.giden_belgeleri_indir,
            (EARSIV_PATH, "faturaOlusturExt"): self.fatura_olustur,
            (EARSIV_PATH, "faturaSorgula"): self.fatura_sorgula,
            (EARSIV_PATH, "faturaIptalEt"): self.fatura_iptal,
        }

    def authenticate(self, request: Request, envelope: _Element, operation: _Element) -> None:
        namespace = CONNECTOR_NS if request.path == EFATURA_PATH else EARSIV_NS
        if etree.QName(operation).namespace != namespace:
            raise FaultError(f"{local(operation)} is not in {namespace}", code="soap:Client")
        header = find(envelope, "Header")
        token = find(header, "UsernameToken")
        if token is None or etree.QName(token).namespace != WSSE_NS:
            raise FaultError("WS-Security UsernameToken yok", code="soap:Client")
        user, password = self.users_by_service[request.path]
        if not (same_secret(value(token, "Username"), user) and same_secret(value(token, "Password"), password)):
            raise FaultError("username.pwd.mismatch", code="soap:Client")

    # --- e-Fatura -----------------------------------------------------------------------------------

    def belge_gonder_ext(self, operation: _Element, request: Request) -> _Element:
        from mutabik import ubl

        p = find(operation, "parametreler")
        if value(p, "belgeTuru") != "FATURA_UBL" or value(p, "mimeType") != "application/xml":
            raise FaultError("belgeTuru FATURA_UBL ve mimeType application/xml olmalı", code="soap:Client")
        xml = unb64(value(p, "veri"))
        if value(p, "belgeHash").lower() != hashlib.md5(xml, usedforsecurity=False).hexdigest():
            raise FaultError("Belge hash değeri belge içeriği ile uyuşmuyor", code="soap:Client")
        if value(p, "erpKodu") != self.erp_code:
            raise FaultError(f"ERP kodu {value(p, 'erpKodu')!r} ERP kayıt listesinde bulunamadı", code="soap:Client")
        parsed = ubl.parse_invoice(xml)
        if value(p, "belgeNo") != parsed.number or value(p, "vergiTcKimlikNo") != parsed.supplier.tax_id:
            raise FaultError("belgeNo / vergiTcKimlikNo belgedeki ile aynı olmalı", code="soap:Client")
        alias = value(p, "alanEtiket")
        buyer = self.users.get(parsed.customer.tax_id)
        if alias and buyer is not None and alias not in buyer.aliases:
            raise FaultError(f"1172 POSTA KUTUSU YETKİSİ YOK: {alias}")
        try:
            stored = self.accept(xml, "efatura", receiver_alias=alias)
        except UblRefusedError as refused:
            raise FaultError(f"Belge doğrulanamadı: {refused.code} {refused.message}") from refused
        except ValueError as wrong:
            raise FaultError(str(wrong)) from wrong
        except KeyError as known:
            raise FaultError(f"1163 {DUPLICATE_WORDS} (ETTN {known.args[0]})") from known
        return _C.belgeGonderExtResponse(_E.belgeOid(stored.ref))

    def giden_belge_durum(self, operation: _Element, request: Request) -> _Element:
        stored = self.invoices.get(value(operation, "ettn").upper())
        if stored is None or stored.channel != "efatura":
            raise FaultError("Belge bulunamadı")
        code = self.poll(stored)
        return _C.gidenBelgeDurumSorgulaEttnResponse(
            _E("return", *_durum(stored, code)),
        )

    def kullanici_bilgisi(self, operation: _Element, request: Request) -> _Element:
        user = self.lookup(value(operation, "vergiTcKimlikNo"))
        records = [] if user is None else user.aliases
        return _C.efaturaKullaniciBilgisiResponse(
            *(
                _E(
                    "return",
                    _E.etiket(alias),
                    _E.kayitZamani(user.registered_at.replace("-", "").replace("T", "").replace(":", "")),
                    _E.unvan(user.title),
                    _E.vergiTcKimlikNo(user.tax_id),
                )
                for alias in records
                if user is not None
            )
        )

    def kullanici_listesi(self, operation: _Element, request: Request) -> _Element:
        return _C.kayitliKullaniciListeleExtendedResponse(_E("return", b64(zip_one("users.xml", self.user_list_xml()))))

    def giden_belgeleri_indir(self, operation: _Element, request: Request) -> _Element:
        oid = value(operation, "belgeOidListesi")
        if not any(i.ref == oid for i in self.documents("efatura")) or value(operation, "belgeFormati") != "PDF":
            raise FaultError("Belge bulunamadı")
        return _C.gidenBelgeleriIndirResponse(_E("return", b64(zip_one(f"{oid}.pdf", FAKE_PDF))))

    # --- e-Arşiv ------------------------------------------------------------------------------------

    def _input(self, operation: _Element) -> dict[str, Any]:
        try:
            data = json.loads(value(operation, "input"))
        except json.JSONDecodeError as exc:
            raise FaultError(f"No content to map: {exc}", code="soap:Client") from exc
        if not isinstance(data, dict):
            raise FaultError("input bir JSON nesnesi olmalı", code="soap:Client")
        return data

    def fatura_olustur(self, operation: _Element, request: Request) -> _Element:
        from mutabik import ubl

        data = self._input(operation)
        if value(operation, "belgeFormati") != "UBL":
            raise FaultError("belgeFormati UBL olmalı", code="soap:Client")
        if data.get("erpKodu") != self.erp_code:
            return _result("faturaOlusturExt", "AE00009", "ERP kayıt listesinde bulunamadı")
        xml = unb64(value(operation, "belgeIcerigi"))
        parsed = ubl.parse_invoice(xml)
        if str(data.get("islemId", "")).upper() != parsed.uuid.upper() or data.get("vkn") != parsed.supplier.tax_id:
            return _result("faturaOlusturExt", "AE00004", "islemId faturanın ETTN'si, vkn satıcının VKN'si olmalı")
        if data.get("numaraVerilsinMi") != 0:
            return _result(
                "faturaOlusturExt", "AE00005", "Fatura numarası dışarıdan verildiyse numaraVerilsinMi 0 olmalı"
            )
        known = self.invoices.get(parsed.uuid.upper())
        if known is not None and known.channel == "earsiv":
            return _result(
                "faturaOlusturExt", "AE00000", "İşlem başarılı.", _extras(known)
            )  # the same islemId: the same invoice
        try:
            stored = self.accept(xml, "earsiv", ref=parsed.uuid.upper())
        except UblRefusedError as refused:
            return _result("faturaOlusturExt", "AE00001", f"Fatura doğrulanamadı: {refused.code} {refused.message}")
        except ValueError as wrong:
            return _result("faturaOlusturExt", "AE00020", str(wrong))
        except KeyError as duplicate:
            return _result("faturaOlusturExt", "AE00021", f"1163 {DUPLICATE_WORDS} (ETTN {duplicate.args[0]})")
        return _result("faturaOlusturExt", "AE00000", "İşlem başarılı.", _extras(stored))

    def fatura_sorgula(self, operation: _Element, request: Request) -> _Element:
        data = self._input(operation)
        stored = self.invoices.get(str(data.get("faturaUuid", "")).upper())
        if stored is None or stored.channel != "earsiv":
            return _result("faturaSorgula", "AE00002", "Fatura bulunamadı.")
        content = b64(FAKE_PDF) if data.get("donenBelgeFormati") == 3 else ""
        return _result("faturaSorgula", "AE00000", "İşlem başarılı.", _extras(stored), content=content)

    def fatura_iptal(self, operation: _Element, request: Request) -> _Element:
        data = self._input(operation)
        stored = self.invoices.get(str(data.get("faturaUuid", "")).upper())
        if stored is None or stored.channel != "earsiv":
            return _result("faturaIptalEt", "AE00002", "Fatura bulunamadı.")
        if stored.cancelled:
            return _result("faturaIptalEt", "AE00011", "Fatura daha önce iptal edilmiş.")
        stored.cancelled = True
        return _result("faturaIptalEt", "AE00000", "İşlem başarılı.")


def _durum(stored: StoredInvoice, code: int) -> list[_Element]:
    return [
        _E.aciklama(""),
        _E.belgeNo(stored.number),
        _E.durum("3" if code >= 1200 else "1"),
        _E.ettn(stored.uuid),
        _E.gonderimCevabiDetayi(GIB_WORDS.get(code, "")),
        _E.gonderimCevabiKodu(str(code)),
        _E.gonderimDurumu("3" if code == 1300 else "1"),
        _E.yanitDurumu("0"),
    ]


def _extras(stored: StoredInvoice) -> dict[str, str]:
    extras = {
        "faturaNo": stored.number,
        "uuid": stored.uuid,
        "faturaURL": f"https://earsivtest.qnbesolutions.com.tr/earsiv/goruntule?ettn={stored.uuid}",
    }
    if stored.cancelled:
        extras["iptalTarihi"] = "20260115"
    return extras


def _result(
    operation: str, code: str, words: str, extras: dict[str, str] | None = None, *, content: str = ""
) -> _Element:
    result = _E(
        "return",
        _E.resultCode(code),
        _E.resultText(words),
        _E.resultExtra(*(_E.entry(_E.key(k), _E.value(v)) for k, v in (extras or {}).items())),
    )
    output = [_E.output(_E.belgeIcerigi(content))] if content else []
    return _A(f"{operation}Response", result, *output)
