"""Payroll: Elektraweb's answer read into a run, refused when it does not add up, posted as a balanced accrual
entry on the tenant's accounts. The fake HR module is served in-process (httpx's WSGI transport)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from mutabik.payroll.accrual import accrual_entry
from mutabik.payroll.elektraweb import ElektrawebPayroll
from mutabik.payroll.exceptions import (
    PayrollAuthError,
    PayrollFormatError,
    PayrollTotalsError,
    PayrollUnavailableError,
)
from mutabik.payroll.period import Period, parse_period, previous_period
from mutabik.payroll.run import PayrollFigures, PayrollLine, PayrollRun, check_totals
from mutabik.payroll.settings import PayrollAccounts

from tests.fakes.elektraweb import EMPLOYEES, Fake

OCTOBER = Period("2026-10")


def client(fake: Fake, waits: list[float] | None = None, **credentials: str) -> ElektrawebPayroll:
    return ElektrawebPayroll(
        "http://elektraweb.test",
        {**fake.credentials(), **credentials},
        fake.options(),
        transport=httpx.WSGITransport(app=fake),
        sleep=(waits.append if waits is not None else lambda _: None),
    )


def line(ref: str, gross: str, net: str, department: str = "", **figures: str) -> PayrollLine:
    return PayrollLine(employee_ref=ref, department=department, gross=gross, net=net, **figures)  # type: ignore[arg-type]


def run_of(*lines: PayrollLine, **total_changes: str) -> PayrollRun:
    totals = {
        name: sum((getattr(item, name) for item in lines), Decimal(0))
        for name in PayrollFigures.model_fields
        if name != "net"
    }
    totals["net"] = sum((item.net for item in lines), Decimal(0))
    return PayrollRun(period="2026-10", lines=lines, totals=PayrollFigures(**{**totals, **total_changes}))


class TestPeriods:
    def test_a_period_is_a_month(self) -> None:
        assert parse_period("2026-10").last_day == date(2026, 10, 31)
        assert parse_period("2028-02").last_day == date(2028, 2, 29)
        assert previous_period(date(2027, 1, 5)) == "2026-12"

    @pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-10", "2026/10", ""])
    def test_anything_else_is_refused(self, bad: str) -> None:
        with pytest.raises(ValueError, match="YYYY-MM"):
            parse_period(bad)


class TestElektraweb:
    def test_reads_the_run_of_a_period_as_the_hr_module_sends_it(self) -> None:
        fake = Fake()
        run = client(fake).fetch(OCTOBER)

        assert [item.employee_ref for item in run.lines] == [e[0] for e in EMPLOYEES]
        assert run.lines[1].department == "Mutfak"
        assert run.headcount == 3
        assert run.totals.gross == Decimal("165500.50")
        check_totals(run)
        # What we sent: the company and the period, as numbers, with the token it gave us.
        (execution,) = fake.executions()
        assert execution["Parameters"] == {"FIRMAID": "7", "YEAR": 2026, "MONTH": 10}
        assert execution["LoginToken"] in fake.tokens

    def test_names_and_tckns_never_leave_the_run(self) -> None:
        run = client(Fake()).fetch(OCTOBER)
        shown = repr(run) + run.model_dump_json() + run.fingerprint()
        for _, name, tckn, _, _ in EMPLOYEES:
            assert name not in shown
            assert tckn not in shown

    def test_wrong_credentials_are_refused_in_the_hr_modules_words(self) -> None:
        with pytest.raises(PayrollAuthError, match="refused the payroll credentials: Kullanıcı kodu veya şifre"):
            client(Fake(), password="wrong").fetch(OCTOBER)

    def test_an_expired_token_is_renewed_once(self) -> None:
        fake = Fake()
        payroll = client(fake)
        payroll.fetch(OCTOBER)
        fake.expire_tokens()

        assert payroll.fetch(OCTOBER).headcount == 3
        assert fake.logins == 2

    def test_a_busy_hr_module_is_asked_again_within_bounds(self) -> None:
        fake, waits = Fake(), []
        fake.fail_next(503, times=2, retry_after=1.5)
        assert client(fake, waits).fetch(OCTOBER).headcount == 3
        assert waits == [1.5, 1.5]

        fake.fail_next(429, times=3, retry_after=600)
        waits.clear()
        with pytest.raises(PayrollUnavailableError, match=r"answered 429.*after 3 attempts"):
            client(fake, waits).fetch(OCTOBER)
        assert waits == [30.0, 30.0]  # Retry-After is honoured up to a cap

    def test_a_period_not_calculated_yet_says_so(self) -> None:
        with pytest.raises(PayrollFormatError, match="no payroll for 2026-11"):
            client(Fake()).fetch(Period("2026-11"))

    def test_a_line_that_is_not_a_payroll_line_names_the_line_and_field_only(self) -> None:
        fake = Fake()
        fake.payrolls["2026-10"][2]["BRUT"] = "Ilgaz"
        with pytest.raises(PayrollFormatError, match=r"line 3, gross: not a valid value") as error:
            client(fake).fetch(OCTOBER)
        assert "Ilgaz" not in str(error.value)


class TestTotals:
    def test_a_net_that_does_not_follow_from_its_figures_is_refused(self) -> None:
        bad = line("42", "1000", "900", sgk_worker="140")
        with pytest.raises(PayrollTotalsError, match=r"sicil 42: net 900.00 but .* is 860.00"):
            check_totals(run_of(bad))

    def test_totals_that_are_not_the_sum_of_the_lines_are_refused(self) -> None:
        fake = Fake()
        fake.break_totals("2026-10")
        with pytest.raises(PayrollTotalsError) as refused:
            check_totals(client(fake).fetch(OCTOBER))
        assert "total net is" in str(refused.value)
        assert "but the lines add up to" in str(refused.value)

    def test_an_employee_twice_is_refused(self) -> None:
        with pytest.raises(PayrollTotalsError, match="sicil 7 appears twice"):
            check_totals(run_of(line("7", "100", "100"), line("7", "100", "100")))


class TestAccrual:
    def test_the_entry_balances_and_uses_the_tenants_accounts(self) -> None:
        run = client(Fake()).fetch(OCTOBER)
        accounts = PayrollAccounts(expense_by_department={"Mutfak": "730.01"}, taxes="360.01")

        entry = accrual_entry(run, OCTOBER, accounts)

        assert entry.total_debit == entry.total_credit
        assert entry.total_debit == run.totals.gross + run.totals.sgk_employer + run.totals.unemployment_employer
        assert (entry.date, entry.reference) == (date(2026, 10, 31), "payroll:2026-10")
        by_account: dict[str, Any] = {}
        for item in entry.lines:
            by_account[item.account] = by_account.get(item.account, 0) + item.debit - item.credit
        assert set(by_account) == {"770", "730.01", "335", "360.01", "361"}
        assert by_account["335"] == -run.totals.net
        kitchen = [item for item in run.lines if item.department == "Mutfak"]
        assert by_account["730.01"] == sum(
            (item.gross + item.sgk_employer + item.unemployment_employer for item in kitchen), Decimal(0)
        )

    def test_agi_is_paid_with_the_net_and_offset_against_income_tax(self) -> None:
        with_agi = line(
            "1", "5000", "3982.50", sgk_worker="700", unemployment_worker="50", income_tax="400",
            stamp_tax="37.95", agi="170.45", sgk_employer="787.50", unemployment_employer="100",
        )  # fmt: skip
        run = run_of(with_agi)
        check_totals(run)

        entry = accrual_entry(run, OCTOBER, PayrollAccounts())

        income_tax = next(item for item in entry.lines if item.account == "360" and "Gelir" in item.description)
        assert income_tax.credit == Decimal("229.55")  # 400 income tax less 170.45 AGİ paid with the net
        assert entry.total_debit == entry.total_credit
