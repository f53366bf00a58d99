"""Money: a Decimal amount in an ISO 4217 currency, rounded to kuruş (cents) half-up, never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator

__all__ = ["KURUS", "Money", "round_kurus", "to_decimal"]

#: Totals carry two decimals (GİB: "en fazla 2 ondalık" on monetary totals); line prices may carry more.
KURUS = Decimal("0.01")


def to_decimal(value: Any) -> Decimal:
    """Coerce a JSON number or string to Decimal without passing through float's binary error."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # repr() gives the shortest string that round-trips, so 19.99 stays 19.99.
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            result = Decimal(text)
        except ArithmeticError as exc:
            raise ValueError(f"not a decimal amount: {value!r}") from exc
        if not result.is_finite():
            raise ValueError(f"not a finite amount: {value!r}")
        return result
    raise ValueError(f"not an amount: {type(value).__name__}")


def round_kurus(value: Decimal) -> Decimal:
    """Round to two decimals, half away from zero (the convention of Turkish invoices and GİB's portal)."""
    return value.quantize(KURUS, rounding=ROUND_HALF_UP)


Amount = Annotated[Decimal, BeforeValidator(to_decimal)]


class Money(BaseModel):
    """An amount and its currency. Arithmetic keeps full precision; `.rounded()` gives kuruş."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Amount
    currency: str = "TRY"

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        code = value.strip().upper()
        # Paraşüt and older GİB samples say TRL for lira; the canonical model speaks ISO 4217 only.
        if code == "TRL":
            code = "TRY"
        if len(code) != 3 or not code.isalpha():
            raise ValueError(f"currency must be an ISO 4217 code like TRY or EUR, got {value!r}")
        return code

    @classmethod
    def zero(cls, currency: str = "TRY") -> Money:
        return cls(amount=Decimal(0), currency=currency)

    def rounded(self) -> Money:
        return Money(amount=round_kurus(self.amount), currency=self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(amount=self.amount * Decimal(factor), currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
