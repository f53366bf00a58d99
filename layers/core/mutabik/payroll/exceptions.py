"""What can go wrong pulling a payroll, sorted by what the operator does next.

PayrollError
├── PayrollNotConfiguredError  the tenant has no payroll section, or no provider takes journal entries
├── PayrollAuthError           the HR system refused the credentials in Secrets Manager: fix the secret
├── PayrollUnavailableError    the HR system did not answer (network, 429, 5xx) after bounded retries: try later
├── PayrollFormatError         the HR system answered something we cannot read, or has no payroll for the period
└── PayrollTotalsError         the payroll does not add up (`reasons`): nothing is posted; fix it in the HR system

Messages name employees by their sicil (employee number) at most, never by name or TCKN.
"""

from __future__ import annotations

__all__ = [
    "PayrollAuthError",
    "PayrollError",
    "PayrollFormatError",
    "PayrollNotConfiguredError",
    "PayrollTotalsError",
    "PayrollUnavailableError",
]


class PayrollError(Exception):
    pass


class PayrollNotConfiguredError(PayrollError):
    pass


class PayrollAuthError(PayrollError):
    pass


class PayrollUnavailableError(PayrollError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PayrollFormatError(PayrollError):
    pass


class PayrollTotalsError(PayrollError):
    """The payroll's figures contradict each other; `reasons` lists each contradiction."""

    def __init__(self, period: str, reasons: list[str]) -> None:
        self.period = period
        self.reasons = reasons
        shown = "; ".join(reasons[:10]) + (f"; and {len(reasons) - 10} more" if len(reasons) > 10 else "")
        super().__init__(f"payroll {period} does not add up: {shown}")
