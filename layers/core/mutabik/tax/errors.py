"""Why a sale cannot be taxed as given: each error names the line and the field that caused it."""

from __future__ import annotations

__all__ = [
    "ExemptionRequiredError",
    "TaxError",
    "TaxRuleError",
    "TotalMismatchError",
    "UnknownTaxCodeError",
]


class TaxError(ValueError):
    """Base of the tax engine's errors. `field` is a path into the input, e.g. `lines[2].kdv_rate`."""

    def __init__(self, message: str, *, field: str = "", line: int | None = None) -> None:
        self.field = field
        self.line = line  # 1-based line number, as the invoice shows it
        where = f"line {line}, {field}: " if line is not None else (f"{field}: " if field else "")
        super().__init__(f"{where}{message}")
        self.message = message


class UnknownTaxCodeError(TaxError):
    """A withholding, exemption or tax type code that GİB's code lists do not know."""


class TaxRuleError(TaxError):
    """Codes that exist but do not fit together (e.g. a withholding code on a sale that is not TEVKIFAT)."""


class ExemptionRequiredError(TaxRuleError):
    """A 0 % KDV line without an exemption code: GİB asks for the code and its reason (TaxExemptionReason)."""


class TotalMismatchError(TaxError):
    """What the lines add up to differs from what the buyer paid by more than rounding can explain."""
