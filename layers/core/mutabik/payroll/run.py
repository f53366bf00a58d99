"""A payroll run (bordro) of one period: each employee's figures and the run's totals (icmal), and the checks
that they add up before anything is posted.

The figures of a Turkish payroll line, as every payroll program prints them (hesap pusulası):

    net = gross − SGK worker share − unemployment worker share − income tax − stamp tax − other deductions + AGİ

and the employer's cost is gross + SGK employer share + unemployment employer share. AGİ (asgari geçim
indirimi) was paid with the net until 2022 (7349 sayılı Kanun replaced it with the minimum-wage exemption); it is
kept for runs that still carry it. Names and TCKNs are read (the HR system sends them) but never leave this
module: not in logs, not in errors, not in the document.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from mutabik.model.money import Amount, round_kurus
from mutabik.payroll.exceptions import PayrollTotalsError

__all__ = ["AMOUNT_FIELDS", "PayrollFigures", "PayrollLine", "PayrollRun", "check_totals"]

_ZERO = Decimal(0)

#: Every amount of a line and of the totals, in the order an icmal prints them.
AMOUNT_FIELDS = (
    "gross",
    "sgk_worker",
    "unemployment_worker",
    "income_tax",
    "stamp_tax",
    "other_deductions",
    "agi",
    "net",
    "sgk_employer",
    "unemployment_employer",
)


class PayrollFigures(BaseModel):
    """The amounts of one employee, or of the whole run (icmal)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gross: Amount = Field(ge=0)  # brüt ücret (ek kazançlar dahil)
    sgk_worker: Amount = Field(default=_ZERO, ge=0)  # SGK işçi payı
    unemployment_worker: Amount = Field(default=_ZERO, ge=0)  # işsizlik sigortası işçi payı
    income_tax: Amount = Field(default=_ZERO, ge=0)  # gelir vergisi (after exemptions)
    stamp_tax: Amount = Field(default=_ZERO, ge=0)  # damga vergisi
    other_deductions: Amount = Field(default=_ZERO, ge=0)  # icra, nafaka, BES, avans kesintisi …
    agi: Amount = Field(default=_ZERO, ge=0)  # asgari geçim indirimi, paid with the net
    net: Amount  # net ödenen
    sgk_employer: Amount = Field(default=_ZERO, ge=0)  # SGK işveren payı (after incentives)
    unemployment_employer: Amount = Field(default=_ZERO, ge=0)  # işsizlik sigortası işveren payı

    @property
    def expected_net(self) -> Decimal:
        return (
            self.gross
            - self.sgk_worker
            - self.unemployment_worker
            - self.income_tax
            - self.stamp_tax
            - self.other_deductions
            + self.agi
        )

    def amounts(self) -> dict[str, Decimal]:
        return {name: round_kurus(getattr(self, name)) for name in AMOUNT_FIELDS}


class PayrollLine(PayrollFigures):
    """One employee's line. `employee_ref` is the sicil (employee number), the only identity we repeat."""

    employee_ref: str = Field(min_length=1, max_length=50)
    department: str = Field(default="", max_length=100)
    # Read so that a line is complete, never repeated: repr=False keeps them out of tracebacks and logs.
    name: str = Field(default="", repr=False, exclude=True)
    tckn: str = Field(default="", repr=False, exclude=True)


class PayrollRun(BaseModel):
    """One period's payroll as the HR system gave it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    period: str
    currency: str = "TRY"
    lines: tuple[PayrollLine, ...]
    totals: PayrollFigures
    #: Employees the HR system says the run has (personel sayısı), when it says.
    headcount: int | None = None

    def fingerprint(self) -> str:
        """A hash of every figure of the run (never names or TCKNs): the same payroll, the same fingerprint;
        any changed amount, a new employee or a department moved gives another."""
        lines = sorted(
            ({"ref": line.employee_ref, "department": line.department, **line.amounts()} for line in self.lines),
            key=lambda item: str(item["ref"]),
        )
        canonical = json.dumps(
            {"period": self.period, "currency": self.currency, "lines": lines, "totals": self.totals.amounts()},
            sort_keys=True,
            default=str,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def check_totals(run: PayrollRun) -> None:
    """Raise PayrollTotalsError unless every line's net follows from its figures, the totals are the sum of
    the lines, and the headcount matches. Exact to the kuruş: a payroll program's totals are sums."""
    reasons: list[str] = []
    if not run.lines:
        reasons.append("it has no employee lines")
    seen: set[str] = set()
    for line in run.lines:
        if line.employee_ref in seen:
            reasons.append(f"sicil {line.employee_ref} appears twice")
        seen.add(line.employee_ref)
        if round_kurus(line.expected_net) != round_kurus(line.net):
            reasons.append(
                f"sicil {line.employee_ref}: net {round_kurus(line.net)} but gross less deductions plus AGİ is "
                f"{round_kurus(line.expected_net)}"
            )
    if round_kurus(run.totals.expected_net) != round_kurus(run.totals.net):
        reasons.append(
            f"totals: net {round_kurus(run.totals.net)} but gross less deductions plus AGİ is "
            f"{round_kurus(run.totals.expected_net)}"
        )
    for name in AMOUNT_FIELDS:
        summed = sum((round_kurus(getattr(line, name)) for line in run.lines), _ZERO)
        stated = round_kurus(getattr(run.totals, name))
        if summed != stated:
            reasons.append(f"total {name} is {stated} but the lines add up to {summed}")
    if run.headcount is not None and run.headcount != len(run.lines):
        reasons.append(f"the run says {run.headcount} employees but has {len(run.lines)} lines")
    if reasons:
        raise PayrollTotalsError(run.period, reasons)
