"""The payroll accrual entry (bordro tahakkuk fişi) of one period, on the tenant's Tekdüzen accounts.

    7xx gider (per department)   B   gross wages
    7xx gider (per department)   B   SGK and unemployment employer shares
        335 Personele Borçlar              A   net pay
        360 Ödenecek Vergi ve Fonlar       A   income tax − AGİ, stamp tax
        361 Ödenecek SGK Kesintileri       A   SGK worker + employer, unemployment worker + employer
        369 Ödenecek Diğer Yükümlülükler   A   other deductions (icra, nafaka, BES …)

It balances by construction when each line's net follows from its figures (payroll.run.check_totals checks that
first): debits = gross + employer shares = net + taxes − AGİ + all contributions + other deductions = credits.
Amounts are the lines' sums, so the entry and the run's icmal agree to the kuruş.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from mutabik.mapping.journal import JournalEntry, journal_entry
from mutabik.payroll.period import Period
from mutabik.payroll.run import PayrollRun
from mutabik.payroll.settings import PayrollAccounts

__all__ = ["accrual_entry"]

_ZERO = Decimal(0)


def accrual_entry(run: PayrollRun, period: Period, accounts: PayrollAccounts) -> JournalEntry:
    """One balanced entry for the whole run, dated the period's last day, expenses split by department."""
    wages: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    employer: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    for line in run.lines:
        expense = accounts.expense_by_department.get(line.department, accounts.expense)
        wages[expense] += line.gross
        employer[expense] += line.sgk_employer + line.unemployment_employer
    t = run.totals
    lines: list[tuple[str, Decimal, Decimal, str]] = []
    lines += [(account, amount, _ZERO, "Brüt ücretler") for account, amount in sorted(wages.items())]
    lines += [
        (account, amount, _ZERO, "SGK ve işsizlik işveren payları") for account, amount in sorted(employer.items())
    ]
    lines += [
        (accounts.net_pay, _ZERO, t.net, "Net ödenecek ücretler"),
        (accounts.taxes, _ZERO, t.income_tax - t.agi, "Gelir vergisi (AGİ mahsubu sonrası)"),
        (accounts.taxes, _ZERO, t.stamp_tax, "Damga vergisi"),
        (accounts.social_security, _ZERO, t.sgk_worker + t.sgk_employer, "SGK primleri (işçi ve işveren)"),
        (
            accounts.social_security,
            _ZERO,
            t.unemployment_worker + t.unemployment_employer,
            "İşsizlik sigortası primleri (işçi ve işveren)",
        ),
        (accounts.other_deductions, _ZERO, t.other_deductions, "Diğer kesintiler"),
    ]
    return journal_entry(
        on=period.last_day,
        description=f"Bordro tahakkuku {period}",
        currency=run.currency,
        reference=f"payroll:{period}",
        lines=lines,
    )
