"""Payroll periods: a calendar month, written YYYY-MM (the bordro dönemi)."""

from __future__ import annotations

import calendar
import re
from datetime import date

__all__ = ["Period", "parse_period", "previous_period"]

_PERIOD = re.compile(r"^(?P<year>20[0-9]{2})-(?P<month>0[1-9]|1[0-2])$")


class Period(str):
    """A month, as `2026-10`. A str, so it goes into keys and JSON as it is."""

    __slots__ = ()

    @property
    def year(self) -> int:
        return int(self[:4])

    @property
    def month(self) -> int:
        return int(self[5:7])

    @property
    def last_day(self) -> date:
        """The accrual date of the period's payroll (tahakkuk: the month's last day)."""
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


def parse_period(value: str) -> Period:
    """`2026-10` as a Period; ValueError naming the expected shape otherwise."""
    if not isinstance(value, str) or not _PERIOD.match(value.strip()):
        raise ValueError(f"a payroll period is a month written YYYY-MM (like 2026-10), not {str(value)[:20]!r}")
    return Period(value.strip())


def previous_period(today: date) -> Period:
    """The month before `today`'s: what a monthly schedule early in the month pulls."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return Period(f"{year:04d}-{month:02d}")
