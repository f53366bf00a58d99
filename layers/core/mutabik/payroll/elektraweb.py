"""Pulling one period's payroll from Elektraweb's HR module (İK / personelweb) — its "veri al".

Elektraweb's API (the hoteladvisor.net service every Elektraweb client calls) takes JSON POSTs:

    POST {base}/Login/{tenant}    {"Action": "Login", "Usercode", "Password", "Tenant"}
                                  → {"Success": true, "LoginToken": "…"} or {"Success": false, "Message": "…"}
    POST {base}/Execute/{object}  {"Action": "Execute", "Object", "Parameters": {…}, "LoginToken"}
                                  → {"Success": true, "ResultSets": [[row, …], …]}

(the same Login / Select / Execute shape public Elektraweb clients use, e.g. `https://4001.hoteladvisor.net/
Select/QA_HOTEL_RESERVATION` with a LoginToken and `ResultSets` in the answer). For the HR module's accounting
integration Elektraweb asks for an integration user of the HR module, the URL (https://3013.hoteladvisor.net
on the web), the RemoteTenantId (the HR hotel id) and the FirmaId of the company
(https://ikkilavuz-yeni.elektraweb.com/16.-muhasebe-entegrasyonu); the HR module keeps each company's payroll
accounts (https://ikkilavuz-yeni.elektraweb.com/2.-tanimlar/2.13-muhasebe-hesap-tanimlari).

Elektraweb does not publish the payroll export procedure's name or columns. We call `options["object"]`
(default `SP_PERSONEL_BORDRO_MUHASEBE`) with FIRMAID, YEAR and MONTH, and read two result sets: the run's lines
(one per employee, columns in `LINE_COLUMNS`) and its icmal (`TOTAL_COLUMNS`). An installation whose export
differs changes `options["object"]` and these two tables, nothing else.

Secret (Secrets Manager, `<prefix>/<tenant>/sources/payroll`): {"usercode": "…", "password": "…"}.
Names and TCKNs in the answer are read into the run and go no further (payroll.run).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx
from pydantic import ValidationError

from mutabik.payroll.exceptions import (
    PayrollAuthError,
    PayrollFormatError,
    PayrollNotConfiguredError,
    PayrollUnavailableError,
)
from mutabik.payroll.period import Period
from mutabik.payroll.run import PayrollFigures, PayrollLine, PayrollRun

__all__ = ["DEFAULT_OBJECT", "LINE_COLUMNS", "TOTAL_COLUMNS", "ElektrawebPayroll"]

DEFAULT_OBJECT = "SP_PERSONEL_BORDRO_MUHASEBE"

#: Our field → the export's column, for the employee lines.
LINE_COLUMNS: dict[str, str] = {
    "employee_ref": "SICILNO",
    "name": "ADSOYAD",
    "tckn": "TCKIMLIKNO",
    "department": "DEPARTMAN",
    "gross": "BRUT",
    "sgk_worker": "SGKISCI",
    "unemployment_worker": "ISSIZLIKISCI",
    "income_tax": "GELIRVERGISI",
    "stamp_tax": "DAMGAVERGISI",
    "other_deductions": "DIGERKESINTI",
    "agi": "AGI",
    "net": "NET",
    "sgk_employer": "SGKISVEREN",
    "unemployment_employer": "ISSIZLIKISVEREN",
}
#: Our field → the icmal's column (the run's totals), plus its headcount and period.
TOTAL_COLUMNS: dict[str, str] = {
    **{k: v for k, v in LINE_COLUMNS.items() if k not in ("employee_ref", "name", "tckn", "department")},
    "headcount": "PERSONELSAYISI",
    "period": "DONEM",
}

#: Not now rather than not this: asked again (bounded) before giving up.
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
#: The longest we wait between two attempts, whatever Retry-After says (a Lambda has minutes, not hours).
MAX_WAIT_SECONDS = 30.0


class ElektrawebPayroll:
    """A client for one tenant's HR module. `transport` and `sleep` are seams for tests."""

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, str],
        options: Mapping[str, str],
        *,
        timeout_seconds: float = 20.0,
        max_attempts: int = 3,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        missing = [k for k in ("usercode", "password") if not credentials.get(k)]
        if missing:
            raise PayrollAuthError(f"the payroll secret lacks {', '.join(missing)}")
        for name in ("tenant", "firma_id"):
            if not options.get(name):
                raise PayrollNotConfiguredError(f"payroll.options.{name} is not set (see docs/payroll.md)")
        self._credentials = credentials
        self.tenant = options["tenant"]
        self.firma_id = options["firma_id"]
        self.object = options.get("object") or DEFAULT_OBJECT
        self.max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_seconds, connect=min(5.0, timeout_seconds)),
            follow_redirects=False,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._token: str | None = None

    def close(self) -> None:
        self._client.close()

    def fetch(self, period: Period) -> PayrollRun:
        """The period's payroll run, as the HR module has it now (not yet checked: see run.check_totals)."""
        body = {
            "Action": "Execute",
            "Object": self.object,
            "Parameters": {"FIRMAID": self.firma_id, "YEAR": period.year, "MONTH": period.month},
        }
        answer = self._authorized(f"/Execute/{self.object}", body)
        result_sets = answer.get("ResultSets")
        if (
            not isinstance(result_sets, list)
            or len(result_sets) < 2
            or not all(isinstance(rows, list) for rows in result_sets[:2])
        ):
            raise PayrollFormatError("Elektraweb's answer has no ResultSets with the lines and the icmal")
        rows, totals = result_sets[0], result_sets[1]
        if not rows or not totals:
            raise PayrollFormatError(f"Elektraweb has no payroll for {period} (not calculated yet?)")
        return _run(period, rows, totals[0])

    # -- the API ------------------------------------------------------------------------------------------

    def _login(self) -> str:
        body = {
            "Action": "Login",
            "Usercode": self._credentials["usercode"],
            "Password": self._credentials["password"],
            "Tenant": self.tenant,
        }
        response = self._send(f"/Login/{self.tenant}", body)
        answer = _json(response)
        if response.status_code in (401, 403) or answer.get("Success") is False:
            words = str(answer.get("Message") or response.reason_phrase)[:300]
            raise PayrollAuthError(f"Elektraweb refused the payroll credentials: {words}")
        _raise_for(response, answer)
        token = answer.get("LoginToken")
        if not isinstance(token, str) or not token:
            raise PayrollFormatError("Elektraweb's login answer has no LoginToken")
        return token

    def _authorized(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        # A token may expire between calls: log in again once, never in a loop.
        for fresh in (False, True):
            if self._token is None or fresh:
                self._token = self._login()
            response = self._send(path, {**body, "LoginToken": self._token})
            answer = _json(response)
            if response.status_code == 401 and not fresh:
                continue
            if response.status_code in (401, 403):
                raise PayrollAuthError(f"Elektraweb refused the integration user: {_words(response, answer)}")
            _raise_for(response, answer)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST with bounded retries on network failures, 429 and 5xx (Retry-After honoured up to a cap)."""
        wait: float | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._client.post(path, json=body)
            except httpx.TimeoutException as exc:
                failure = f"Elektraweb did not answer in time ({type(exc).__name__})"
            except httpx.TransportError as exc:
                failure = f"Elektraweb could not be reached ({type(exc).__name__})"
            else:
                if response.status_code not in _RETRYABLE:
                    return response
                failure = f"Elektraweb answered {response.status_code}: {_words(response, _json(response))}"
                wait = _retry_after(response)
            if attempt == self.max_attempts:
                raise PayrollUnavailableError(f"{failure} (after {attempt} attempts)", retry_after=wait)
            self._sleep(min(MAX_WAIT_SECONDS, wait if wait is not None else 2.0**attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.content, parse_float=Decimal) if response.content else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _words(response: httpx.Response, answer: Mapping[str, Any]) -> str:
    return str(answer.get("Message") or response.reason_phrase or "")[:300]


def _raise_for(response: httpx.Response, answer: Mapping[str, Any]) -> None:
    if not response.is_success:
        raise PayrollFormatError(f"Elektraweb answered {response.status_code}: {_words(response, answer)}")
    if answer.get("Success") is False:
        raise PayrollFormatError(f"Elektraweb refused the request: {_words(response, answer)}")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _pick(row: Any, columns: Mapping[str, str], where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise PayrollFormatError(f"{where} is not an object")
    return {ours: row[theirs] for ours, theirs in columns.items() if row.get(theirs) is not None}


def _run(period: Period, rows: list[Any], totals_row: Any) -> PayrollRun:
    lines = []
    for index, row in enumerate(rows, start=1):
        fields = _pick(row, LINE_COLUMNS, f"line {index}")
        for text in ("employee_ref", "name", "tckn", "department"):
            if text in fields:
                fields[text] = str(fields[text]).strip()
        try:
            lines.append(PayrollLine.model_validate(fields))
        except ValidationError as exc:
            first = exc.errors(include_input=False, include_url=False, include_context=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            # Which line and field, never the value: it may be a name or a TCKN (and our own validators'
            # messages quote it).
            words = "not a valid value" if first["type"] == "value_error" else first["msg"]
            raise PayrollFormatError(f"Elektraweb's payroll line {index}, {where}: {words}") from exc
    totals = _pick(totals_row, TOTAL_COLUMNS, "the icmal")
    stated_period = str(totals.pop("period", period)).strip()
    if stated_period and stated_period != period:
        raise PayrollFormatError(f"Elektraweb answered with the payroll of {stated_period}, not {period}")
    headcount = totals.pop("headcount", None)
    try:
        figures = PayrollFigures.model_validate(totals)
        count = int(headcount) if headcount is not None else None
    except (ValidationError, ValueError, TypeError) as exc:
        raise PayrollFormatError("Elektraweb's icmal (totals) is not readable") from exc
    return PayrollRun(period=period, lines=tuple(lines), totals=figures, headcount=count)
