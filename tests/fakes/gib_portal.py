"""A fake of GİB's e-Arşiv Portal (earsivportal.efatura.gov.tr): login, the dispatch commands we use, logout.

It answers as the open-source portal clients record the portal answering (see the docstring of
`mutabik.providers.gib_portal` for the sources) and checks what we send: each command's form fields and page
name, the draft's JSON (required fields, dd/MM/yyyy dates, HH:mm:ss times, VKN/TCKN, names, units, KDV rates,
amounts with two decimals, that every line and every total adds up). What it refuses it records in
`rejections` and answers with the portal's error shape `{"error": "1", "messages": [{"type", "text"}]}`.

It keeps drafts, gives each its own number and — per `ettn_mode` — keeps our ETTN (`keep`), ignores it and
assigns one (`replace`), or refuses a client-made ETTN as the live portal has since 2026 (`refuse`: the answer
f/fatura#47 reports, with no draft made). A test plays the seller with `sign(ettn)` (the SMS approval) and
`delete(ettn)`.

Failure switches: `expire_sessions()` (every token dies, as after the portal's idle timeout), `busy` (the next
N dispatch calls answer "system busy"), `server_errors` (the next N calls answer 503), `lose_create_answers`
(the next N drafts are stored, then the answer is lost: 504).

Messages the sources do not quote (the busy and validation texts) are illustrative.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Request, Response

__all__ = ["Draft", "Fake"]

UNSIGNED, SIGNED, DELETED = "Onaylanmadı", "Onaylandı", "Silinmiş"
CREATED = "Faturanız başarıyla oluşturulmuştur. Düzenlenen Belgeler menüsünden faturanıza ulaşabilirsiniz."
ETTN_REFUSED = "Ettn ya eksik ya boş ya da 36 uzunluk sınırına uymuyor."
SESSION_ENDED = {"type": "4", "text": "Oturum zamanaşımına uğradı, yeniden giriş yapmalısınız."}
BUSY = {"type": "1", "text": "Sistem şu anda yoğun. Lütfen daha sonra tekrar deneyiniz."}
NOT_FOUND = "Düzenlenmek üzere fatura getirilemedi. Hata kodu: 2-1109"

#: The page names the portal's own page uses for each command (clients use either of the list pages).
PAGES = {
    "EARSIV_PORTAL_FATURA_OLUSTUR": {"RG_BASITFATURA"},
    "EARSIV_PORTAL_TASLAKLARI_GETIR": {"RG_BASITTASLAKLAR", "RG_TASLAKLAR"},
    "EARSIV_PORTAL_FATURA_GETIR": {"RG_BASITFATURA", "RG_TASLAKLAR"},
    "EARSIV_PORTAL_FATURA_SIL": {"RG_BASITTASLAKLAR", "RG_TASLAKLAR"},
    "EARSIV_PORTAL_FATURA_GOSTER": {"RG_BASITTASLAKLAR", "RG_TASLAKLAR"},
}
_UNIT_CODES = (
    "DAY MON ANN HUR D61 D62 C62 PA BX MGM GRM KGM LTR TNE NT GT MMT CMT MTR KTM MLT MMQ CMK CMQ MTK MTQ KJO CLT "
    "Ct KWH MWH CCT D30 D40 LPA B32 NCL Pr R9 SET T3 Q37 Q39 J39 G52 DZN DMK DMT HAR LM"
)
UNITS = frozenset(_UNIT_CODES.split())
_REQUIRED_FIELDS = (
    "faturaUuid belgeNumarasi faturaTarihi saat paraBirimi faturaTipi hangiTip vknTckn aliciUnvan aliciAdi "
    "aliciSoyadi ulke bulvarcaddesokak mahalleSemtIlce sehir iadeTable malHizmetTable matrah malhizmetToplamTutari "
    "toplamIskonto hesaplanankdv vergilerToplami vergilerDahilToplamTutar odenecekTutar not"
)
REQUIRED = _REQUIRED_FIELDS.split()
LINE_REQUIRED = "malHizmet miktar birim birimFiyat fiyat iskontoOrani iskontoTutari malHizmetTutari kdvOrani kdvTutari"
MONEY = re.compile(r"^-?\d+(\.\d{1,2})?$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
#: The portal keeps line KDV as sent; ours is the tax engine's, which may differ from net × rate by the kuruşes
#: its rounding rule moves. More than this per line is a wrong amount, not rounding.
KDV_TOLERANCE = Decimal("0.05")
#: The longest draft-list range the fake answers (GİB gives no figure; long ranges are refused).
MAX_LIST_DAYS = 31


class PortalRefusalError(Exception):
    """What the portal would refuse, in its words."""


@dataclass
class Draft:
    ettn: str
    number: str
    body: dict[str, Any]
    state: str = UNSIGNED
    deleted_reason: str = ""
    created: float = field(default_factory=time.monotonic)

    @property
    def row(self) -> dict[str, Any]:
        """The draft as EARSIV_PORTAL_TASLAKLARI_GETIR lists it (dates as dd-MM-yyyy)."""
        body = self.body
        name = body.get("aliciUnvan") or f"{body.get('aliciAdi', '')} {body.get('aliciSoyadi', '')}".strip()
        return {
            "belgeNumarasi": self.number,
            "aliciVknTckn": body["vknTckn"],
            "aliciUnvanAdSoyad": name,
            "belgeTarihi": body["faturaTarihi"].replace("/", "-"),
            "belgeTuru": "FATURA",
            "onayDurumu": self.state,
            "ettn": self.ettn,
        }


@dataclass
class Fake:
    """The portal. `userid`/`password` are what it accepts; the rest is state and switches for tests."""

    userid: str = "33333301"
    password: str = "1"
    ettn_mode: str = "keep"  # keep | replace | refuse
    #: For demos (`mutabik local`): the "seller" signs each draft this many seconds after it was made. Tests
    #: leave it None and sign with `sign()`.
    auto_sign_after: float | None = None
    drafts: dict[str, Draft] = field(default_factory=dict)
    rejections: list[str] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    logins: int = 0
    logouts: int = 0
    busy: int = 0
    server_errors: int = 0
    lose_create_answers: int = 0
    _sessions: set[str] = field(default_factory=set)
    _sequence: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what a tenant needs ---------------------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        return {"userid": self.userid, "password": self.password}

    def options(self) -> dict[str, str]:
        return {}

    # -- the seller in the portal, and failure switches -------------------------------------------------------

    def sign(self, ettn: str) -> Draft:
        """The seller approves the draft with the SMS code: GİB signs it."""
        with self._lock:
            draft = self.drafts[ettn]
            assert draft.state == UNSIGNED, f"{ettn} is {draft.state}"
            draft.state = SIGNED
            return draft

    def delete(self, ettn: str, reason: str = "Hatalı işlem") -> Draft:
        """The seller deletes the unsigned draft in the portal."""
        with self._lock:
            return self._delete(self.drafts[ettn], reason)

    def expire_sessions(self) -> None:
        with self._lock:
            self._sessions.clear()

    def with_reference(self, reference: str) -> list[Draft]:
        """Drafts whose note carries `reference` (what tests count: exactly one each)."""
        return [d for d in self.drafts.values() if reference in str(d.body.get("not", ""))]

    # -- WSGI --------------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._route(request)
        except PortalRefusalError as exc:
            with self._lock:
                self.rejections.append(str(exc))
            response = _json({"error": "1", "messages": [{"type": "2", "text": str(exc)}]})
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        if request.method != "POST":
            return Response("method not allowed", status=405)
        if not (request.mimetype or "").startswith("application/x-www-form-urlencoded"):
            raise PortalRefusalError(f"form beklenirken {request.mimetype or 'gövdesiz'} istek geldi")
        if request.path == "/earsiv-services/assos-login":
            return self._assos_login(request.form)
        if request.path == "/earsiv-services/dispatch":
            return self._dispatch(request.form)
        return Response("not found", status=404)

    def _assos_login(self, form: Any) -> Response:
        command = form.get("assoscmd", "")
        if command == "logout":
            with self._lock:
                self._sessions.discard(form.get("token", ""))
                self.logouts += 1
            return _json({"data": {"msg": "Çıkış yapıldı."}})
        if command not in ("login", "anologin"):
            raise PortalRefusalError(f"bilinmeyen assoscmd: {command!r}")
        for name in ("userid", "sifre", "sifre2", "parola"):
            if not form.get(name):
                raise PortalRefusalError(f"{name} eksik")
        if form.get("rtype") != "json":
            raise PortalRefusalError("rtype=json bekleniyordu")
        if not (
            secrets.compare_digest(form["userid"], self.userid) and secrets.compare_digest(form["sifre"], self.password)
        ):
            return _json({"error": "1", "messages": [{"type": "2", "text": "Kullanıcı adı veya şifre hatalı."}]})
        token = secrets.token_hex(64)
        with self._lock:
            self._sessions.add(token)
            self.logins += 1
        return _json({"token": token, "redirectUrl": "/index.jsp"})

    def _dispatch(self, form: Any) -> Response:
        command = form.get("cmd", "")
        if command not in PAGES:
            raise PortalRefusalError(f"bilinmeyen komut: {command!r}")
        if form.get("pageName") not in PAGES[command]:
            raise PortalRefusalError(f"{command} için sayfa {form.get('pageName')!r} olamaz")
        if not form.get("callid"):
            raise PortalRefusalError("callid eksik")
        with self._lock:
            self.calls[command] += 1
            if self.server_errors:
                self.server_errors -= 1
                return Response("Service Unavailable", status=503)
            if form.get("token", "") not in self._sessions:
                return _json({"error": "1", "messages": [SESSION_ENDED]})
            if self.busy:
                self.busy -= 1
                return _json({"error": "1", "messages": [BUSY]})
        try:
            jp = json.loads(form.get("jp", ""))
        except ValueError as exc:
            raise PortalRefusalError(f"jp JSON değil: {exc}") from exc
        if not isinstance(jp, dict):
            raise PortalRefusalError("jp bir JSON nesnesi olmalı")
        handler = {
            "EARSIV_PORTAL_FATURA_OLUSTUR": self._create,
            "EARSIV_PORTAL_TASLAKLARI_GETIR": self._list,
            "EARSIV_PORTAL_FATURA_GETIR": self._get,
            "EARSIV_PORTAL_FATURA_SIL": self._delete_rows,
            "EARSIV_PORTAL_FATURA_GOSTER": self._show,
        }[command]
        return handler(jp)

    # -- commands ----------------------------------------------------------------------------------------------

    def _create(self, jp: dict[str, Any]) -> Response:
        _check_draft(jp)
        ours = jp["faturaUuid"]
        if ours and not UUID.match(ours):
            raise PortalRefusalError(f"faturaUuid {ours!r} bir UUID değil")
        if ours and self.ettn_mode == "refuse":
            return _json({"data": ETTN_REFUSED})  # no `error`, no draft (f/fatura#47)
        with self._lock:
            ettn = ours if ours and self.ettn_mode == "keep" else str(uuid.uuid1())
            if ettn in self.drafts:
                raise PortalRefusalError(f"{ettn} ETTN'li fatura zaten mevcut")
            self._sequence += 1
            year = datetime.strptime(jp["faturaTarihi"], "%d/%m/%Y").year
            stored = {**jp, "faturaUuid": ettn}
            self.drafts[ettn] = Draft(ettn, f"GIB{year}{self._sequence:09d}", stored)
            if self.lose_create_answers:
                self.lose_create_answers -= 1
                return Response("Gateway Timeout", status=504)  # stored, but the answer never reaches us
        return _json({"data": CREATED, "metadata": {"optime": datetime.now().strftime("%Y%m%d%H%M%S+0300")}})

    def _seller_signs(self) -> None:
        if self.auto_sign_after is None:
            return
        due = time.monotonic() - self.auto_sign_after
        with self._lock:
            for draft in self.drafts.values():
                if draft.state == UNSIGNED and draft.created <= due:
                    draft.state = SIGNED

    def _list(self, jp: dict[str, Any]) -> Response:
        self._seller_signs()
        start, end = _day(jp.get("baslangic"), "baslangic"), _day(jp.get("bitis"), "bitis")
        if end < start or end - start > timedelta(days=MAX_LIST_DAYS):
            raise PortalRefusalError(f"tarih aralığı {MAX_LIST_DAYS} günden uzun ya da ters")
        if jp.get("hangiTip") not in ("5000/30000", "Buyuk"):
            raise PortalRefusalError(f"hangiTip {jp.get('hangiTip')!r} geçersiz")
        with self._lock:
            rows = [
                d.row
                for d in self.drafts.values()
                if start <= datetime.strptime(d.body["faturaTarihi"], "%d/%m/%Y").date() <= end
            ]
        return _json({"data": rows, "metadata": {"optime": "x"}})

    def _get(self, jp: dict[str, Any]) -> Response:
        self._seller_signs()
        draft = self.drafts.get(str(jp.get("ettn", "")))
        if draft is None:
            return _json({"data": {"hata": NOT_FOUND}})
        return _json({"data": {**draft.body, "belgeNumarasi": draft.number}})

    def _delete_rows(self, jp: dict[str, Any]) -> Response:
        rows, reason = jp.get("silinecekler"), jp.get("aciklama")
        if not isinstance(rows, list) or not rows or not reason:
            raise PortalRefusalError("silinecekler ve aciklama gerekli")
        with self._lock:
            for row in rows:
                draft = self.drafts.get(str(row.get("ettn", "")) if isinstance(row, dict) else "")
                if draft is None or draft.state != UNSIGNED:
                    raise PortalRefusalError("yalnız onaylanmamış taslaklar silinebilir")
                self._delete(draft, str(reason))
        return _json({"data": f"{len(rows)} fatura başarıyla silindi."})

    def _show(self, jp: dict[str, Any]) -> Response:
        draft = self.drafts.get(str(jp.get("ettn", "")))
        if draft is None or jp.get("onayDurumu") != draft.state:
            return _json({"data": {"hata": NOT_FOUND}})
        body = draft.body
        page = (
            f"<html><body><h1>e-Arşiv Fatura {html.escape(draft.number)}</h1>"
            f"<p>ETTN {html.escape(draft.ettn)}</p><p>Ödenecek Tutar {html.escape(body['odenecekTutar'])} TL</p>"
            f"<p>{html.escape(body['not'])}</p></body></html>"
        )
        return _json({"data": page})

    def _delete(self, draft: Draft, reason: str) -> Draft:
        assert draft.state == UNSIGNED, f"{draft.ettn} is {draft.state}"
        draft.state, draft.deleted_reason = DELETED, reason
        return draft


# -- validation of a draft ------------------------------------------------------------------------------------


def _check_draft(jp: dict[str, Any]) -> None:
    missing = [name for name in REQUIRED if name not in jp]
    if missing:
        raise PortalRefusalError(f"eksik alanlar: {', '.join(missing)}")
    _day(jp["faturaTarihi"], "faturaTarihi")
    if not re.fullmatch(r"\d{2}:\d{2}:\d{2}", str(jp["saat"])):
        raise PortalRefusalError(f"saat {jp['saat']!r} SS:dd:ss olmalı")
    if jp["paraBirimi"] != "TRY":
        raise PortalRefusalError("bu sahte portal yalnız TRY alır")
    if jp["hangiTip"] != "5000/30000":
        raise PortalRefusalError(f"hangiTip {jp['hangiTip']!r} geçersiz")
    _check_buyer(jp)
    if jp["faturaTipi"] == "SATIS":
        if jp["iadeTable"]:
            raise PortalRefusalError("SATIS faturasında iade tablosu olmaz")
    elif jp["faturaTipi"] == "IADE":
        table = jp["iadeTable"]
        if not isinstance(table, list) or not table:
            raise PortalRefusalError("IADE faturası iade edilen faturayı (iadeTable) belirtmeli")
        for row in table:
            if not re.fullmatch(r"[A-Z0-9]{3}20\d{2}\d{9}", str(row.get("faturaNo", ""))):
                raise PortalRefusalError(f"iade edilen fatura numarası {row.get('faturaNo')!r} geçersiz")
            _day(row.get("duzenlenmeTarihi"), "duzenlenmeTarihi")
    else:
        raise PortalRefusalError(f"faturaTipi {jp['faturaTipi']!r} desteklenmiyor")
    lines = jp["malHizmetTable"]
    if not isinstance(lines, list) or not lines:
        raise PortalRefusalError("en az bir mal/hizmet satırı gerekli")
    sums = {name: Decimal(0) for name in ("fiyat", "iskontoTutari", "malHizmetTutari", "kdvTutari")}
    for number, line in enumerate(lines, start=1):
        for name, value in _check_line(line, number).items():
            sums[name] += value
    expected = {
        "malhizmetToplamTutari": sums["fiyat"],
        "toplamIskonto": sums["iskontoTutari"],
        "matrah": sums["malHizmetTutari"],
        "hesaplanankdv": sums["kdvTutari"],
        "vergilerToplami": sums["kdvTutari"],
        "vergilerDahilToplamTutar": sums["malHizmetTutari"] + sums["kdvTutari"],
        "odenecekTutar": sums["malHizmetTutari"] + sums["kdvTutari"],
    }
    for name, value in expected.items():
        if _money(jp, name) != value:
            raise PortalRefusalError(f"{name} {jp[name]} tutmuyor: satırların toplamı {value}")
    if not str(jp["not"]).strip():
        raise PortalRefusalError("not boş")


def _check_buyer(jp: dict[str, Any]) -> None:
    tax_id = str(jp["vknTckn"])
    if not re.fullmatch(r"\d{10}|\d{11}", tax_id):
        raise PortalRefusalError(f"VKN/TCKN {tax_id!r} 10 ya da 11 hane olmalı")
    if len(tax_id) == 11 and not (jp["aliciAdi"] and jp["aliciSoyadi"]):
        raise PortalRefusalError("TCKN ile alıcı adı ve soyadı gerekli")
    if len(tax_id) == 10 and not jp["aliciUnvan"]:
        raise PortalRefusalError("VKN ile alıcı unvanı gerekli")
    if not jp["sehir"] or not jp["ulke"]:
        raise PortalRefusalError("alıcının şehri ve ülkesi gerekli")


def _check_line(line: Any, number: int) -> dict[str, Decimal]:
    if not isinstance(line, dict):
        raise PortalRefusalError(f"satır {number} bir nesne değil")
    missing = [name for name in LINE_REQUIRED.split() if name not in line]
    if missing:
        raise PortalRefusalError(f"satır {number}: eksik alanlar {', '.join(missing)}")
    if not str(line["malHizmet"]).strip():
        raise PortalRefusalError(f"satır {number}: mal/hizmet adı boş")
    if line["birim"] not in UNITS:
        raise PortalRefusalError(f"satır {number}: birim {line['birim']!r} listede yok")
    if line.get("iskontoArttm", "İskonto") != "İskonto":
        raise PortalRefusalError(f"satır {number}: yalnız iskonto bekleniyordu")
    quantity, unit_price = (
        _decimal(line["miktar"], number, "miktar"),
        _decimal(line["birimFiyat"], number, "birimFiyat"),
    )
    if quantity <= 0 or unit_price < 0:
        raise PortalRefusalError(f"satır {number}: miktar pozitif, birim fiyat negatif olmayan olmalı")
    rate = _decimal(line["kdvOrani"], number, "kdvOrani")
    if rate not in (0, 1, 10, 20):
        raise PortalRefusalError(f"satır {number}: KDV oranı %{rate} geçersiz")
    if not 0 <= _decimal(line["iskontoOrani"], number, "iskontoOrani") <= 100:
        raise PortalRefusalError(f"satır {number}: iskonto oranı 0–100 olmalı")
    amounts = {name: _money(line, name, number) for name in ("fiyat", "iskontoTutari", "malHizmetTutari", "kdvTutari")}
    if (quantity * unit_price).quantize(Decimal("0.01")) != amounts["fiyat"]:
        raise PortalRefusalError(f"satır {number}: fiyat {amounts['fiyat']} ≠ miktar × birim fiyat")
    if amounts["fiyat"] - amounts["iskontoTutari"] != amounts["malHizmetTutari"]:
        raise PortalRefusalError(f"satır {number}: mal/hizmet tutarı fiyat − iskonto değil")
    if abs(amounts["malHizmetTutari"] * rate / 100 - amounts["kdvTutari"]) > KDV_TOLERANCE:
        raise PortalRefusalError(f"satır {number}: KDV tutarı {amounts['kdvTutari']} oranla tutmuyor")
    return amounts


def _money(source: dict[str, Any], name: str, line: int | None = None) -> Decimal:
    value = source[name]
    where = f"satır {line}: " if line else ""
    if not isinstance(value, str) or not MONEY.match(value):
        raise PortalRefusalError(f"{where}{name} {value!r} en çok iki ondalıklı bir tutar (metin) olmalı")
    return Decimal(value)


def _decimal(value: Any, line: int, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise PortalRefusalError(f"satır {line}: {name} {value!r} sayı değil") from exc


def _day(value: Any, name: str) -> date:
    try:
        return datetime.strptime(str(value), "%d/%m/%Y").date()
    except ValueError as exc:
        raise PortalRefusalError(f"{name} {value!r} gg/aa/yyyy olmalı") from exc


def _json(body: Any) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")
