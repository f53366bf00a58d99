"""A fake Elektraweb HR module (İK / personelweb): Login, then the payroll export of a period.

It speaks the shape of Elektraweb's API (JSON POSTs, `Action`, `LoginToken`, `ResultSets`; see
mutabik.payroll.elektraweb) and checks what it is sent: the action matches the path, the tenant is the one it
serves, the token is one it issued, and the parameters are FIRMAID / YEAR / MONTH of a company it has. Its
column names are written out here, not imported, so the client's are tested against an independent copy.

Standalone: `python tests/fakes/elektraweb.py` serves it on 127.0.0.1 with one calculated period (2026-10).

Switches for tests: `fail_next(status, times, retry_after)`, `expire_tokens()`, `break_totals(period)` (the
icmal no longer matches the lines), `change(period)` (a recalculated payroll: one employee's bonus).
"""

from __future__ import annotations

import json
import secrets
import threading
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

__all__ = ["EMPLOYEES", "Fake"]

USERCODE = "entegrasyon"
PASSWORD = "bordro-2026"
TENANT = "1"  # the HR module's RemoteTenantId (hotel id)
FIRMA_ID = "7"
OBJECT = "SP_PERSONEL_BORDRO_MUHASEBE"

#: Invented people (names and TCKNs that belong to nobody): (sicil, name, TCKN, department, gross).
EMPLOYEES: tuple[tuple[str, str, str, str, str], ...] = (
    ("1001", "Deniz Örnekoğlu", "10000000146", "Yönetim", "85000.00"),
    ("1002", "Ekin Sahteyılmaz", "10000000078", "Mutfak", "42000.00"),
    ("1003", "Ilgaz Denemeci", "10000000010", "Mutfak", "38500.50"),
)

_K = Decimal("0.01")


def _k(value: Decimal) -> Decimal:
    return value.quantize(_K, ROUND_HALF_UP)


def payroll_line(ref: str, name: str, tckn: str, department: str, gross: Decimal) -> dict[str, Any]:
    """One employee as a payroll program computes it (2026-style rates, simplified income tax)."""
    sgk_worker = _k(gross * Decimal("0.14"))
    ui_worker = _k(gross * Decimal("0.01"))
    income_tax = _k((gross - sgk_worker - ui_worker) * Decimal("0.15"))
    stamp_tax = _k(gross * Decimal("0.00759"))
    net = gross - sgk_worker - ui_worker - income_tax - stamp_tax
    return {
        "SICILNO": ref,
        "ADSOYAD": name,
        "TCKIMLIKNO": tckn,
        "DEPARTMAN": department,
        "BRUT": float(gross),  # Elektraweb answers JSON numbers
        "SGKISCI": float(sgk_worker),
        "ISSIZLIKISCI": float(ui_worker),
        "GELIRVERGISI": float(income_tax),
        "DAMGAVERGISI": float(stamp_tax),
        "DIGERKESINTI": 0,
        "AGI": 0,
        "NET": float(net),
        "SGKISVEREN": float(_k(gross * Decimal("0.1575"))),
        "ISSIZLIKISVEREN": float(_k(gross * Decimal("0.02"))),
    }


_AMOUNTS = (
    "BRUT",
    "SGKISCI",
    "ISSIZLIKISCI",
    "GELIRVERGISI",
    "DAMGAVERGISI",
    "DIGERKESINTI",
    "AGI",
    "NET",
    "SGKISVEREN",
    "ISSIZLIKISVEREN",
)


def icmal(period: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    totals: dict[str, Any] = {
        column: float(sum((Decimal(str(line[column])) for line in lines), Decimal(0))) for column in _AMOUNTS
    }
    return {**totals, "PERSONELSAYISI": len(lines), "DONEM": period}


class Fake:
    """The HR module of one Elektraweb tenant with one company (FIRMA_ID) and its calculated payrolls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tokens: set[str] = set()
        self.logins = 0
        #: Every call as received, password removed: (path, body).
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.payrolls: dict[str, list[dict[str, Any]]] = {}
        self.totals: dict[str, dict[str, Any]] = {}
        self._failures: list[tuple[int, float | None]] = []
        self.calculate("2026-10")

    # -- what a tenant configures -----------------------------------------------------------------------
    def credentials(self) -> dict[str, str]:
        return {"usercode": USERCODE, "password": PASSWORD}

    def options(self) -> dict[str, str]:
        return {"tenant": TENANT, "firma_id": FIRMA_ID, "object": OBJECT}

    # -- state and switches ------------------------------------------------------------------------------
    def calculate(self, period: str) -> None:
        """Calculate a period's payroll (bordro hesapla) for EMPLOYEES."""
        lines = [payroll_line(r, n, t, d, Decimal(g)) for r, n, t, d, g in EMPLOYEES]
        self.payrolls[period] = lines
        self.totals[period] = icmal(period, lines)

    def change(self, period: str) -> None:
        """Recalculate after a late bonus for the first employee (the payroll now differs from the posted one)."""
        first = self.payrolls[period][0]
        gross = Decimal(str(first["BRUT"])) + Decimal("5000.00")
        self.payrolls[period][0] = payroll_line(first["SICILNO"], first["ADSOYAD"], first["TCKIMLIKNO"],
                                                first["DEPARTMAN"], gross)  # fmt: skip
        self.totals[period] = icmal(period, self.payrolls[period])

    def break_totals(self, period: str) -> None:
        """The icmal's net no longer equals the lines' (as after an edit that was not recalculated)."""
        self.totals[period]["NET"] = float(Decimal(str(self.totals[period]["NET"])) + Decimal("100.00"))

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        with self._lock:
            self._failures.extend([(status, retry_after)] * times)

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def executions(self) -> list[dict[str, Any]]:
        return [body for path, body in self.calls if path.startswith("/Execute/")]

    # -- WSGI ----------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self._respond(request)(environ, start_response)

    def _respond(self, request: Request) -> Response:
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            status, retry_after = failure
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return _answer({"Success": False, "Message": "Servis geçici olarak kullanılamıyor"}, status, headers)
        if request.method != "POST" or request.mimetype != "application/json":
            return _answer({"Success": False, "Message": "JSON POST bekleniyor"}, 400)
        try:
            body = json.loads(request.get_data())
        except ValueError:
            return _answer({"Success": False, "Message": "Geçersiz JSON"}, 400)
        if not isinstance(body, dict):
            return _answer({"Success": False, "Message": "Geçersiz istek"}, 400)
        self.calls.append((request.path, {k: v for k, v in body.items() if k != "Password"}))
        parts = request.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "Login":
            return self._login(parts[1], body)
        if len(parts) == 2 and parts[0] == "Execute":
            return self._execute(parts[1], body)
        return _answer({"Success": False, "Message": f"Bilinmeyen uç {request.path}"}, 404)

    def _login(self, tenant: str, body: dict[str, Any]) -> Response:
        if body.get("Action") != "Login" or body.get("Tenant") != tenant:
            return _answer({"Success": False, "Message": "Action/Tenant yolla uyuşmuyor"}, 400)
        if tenant != TENANT:
            return _answer({"Success": False, "Message": "Tenant bulunamadı"}, 200)
        given = (str(body.get("Usercode", "")), str(body.get("Password", "")))
        if not (secrets.compare_digest(given[0], USERCODE) and secrets.compare_digest(given[1], PASSWORD)):
            # Elektraweb answers a refused login with 200 and Success false.
            return _answer({"Success": False, "Message": "Kullanıcı kodu veya şifre hatalı"}, 200)
        token = secrets.token_hex(32)
        with self._lock:
            self.tokens.add(token)
            self.logins += 1
        return _answer({"Success": True, "LoginToken": token})

    def _execute(self, name: str, body: dict[str, Any]) -> Response:
        if body.get("Action") != "Execute" or body.get("Object") != name:
            return _answer({"Success": False, "Message": "Action/Object yolla uyuşmuyor"}, 400)
        if body.get("LoginToken") not in self.tokens:
            return _answer({"Success": False, "Message": "Oturum geçersiz veya süresi dolmuş"}, 401)
        if name != OBJECT:
            return _answer({"Success": False, "Message": f"{name} bulunamadı"}, 404)
        parameters = body.get("Parameters")
        if not isinstance(parameters, dict) or set(parameters) != {"FIRMAID", "YEAR", "MONTH"}:
            return _answer({"Success": False, "Message": "FIRMAID, YEAR ve MONTH parametreleri gerekli"}, 400)
        if str(parameters["FIRMAID"]) != FIRMA_ID:
            return _answer({"Success": False, "Message": "Firma bulunamadı"}, 400)
        year, month = parameters["YEAR"], parameters["MONTH"]
        if not isinstance(year, int) or not isinstance(month, int) or not 1 <= month <= 12:
            return _answer({"Success": False, "Message": "YEAR ve MONTH sayı olmalı"}, 400)
        period = f"{year:04d}-{month:02d}"
        if period not in self.payrolls:
            return _answer({"Success": True, "ResultSets": [[], []]})
        return _answer({"Success": True, "ResultSets": [self.payrolls[period], [self.totals[period]]]})


def _answer(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers,
                    content_type="application/json; charset=utf-8")  # fmt: skip


if __name__ == "__main__":  # pragma: no cover - a manual aid
    from werkzeug.serving import run_simple

    fake = Fake()
    print(json.dumps({"credentials": fake.credentials(), "options": fake.options()}))
    run_simple("127.0.0.1", 8091, fake)
