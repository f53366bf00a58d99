"""Journal entries (yevmiye fişi): balanced debit and credit lines on Tekdüzen accounts.

A JOURNAL_ENTRY document carries one under `payload["journal"]` (payroll accruals, payout settlements,
marketplace fees). An entry that does not balance to the kuruş cannot be built: the error says by how much.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mutabik.mapping.accounts import AccountCode
from mutabik.model.money import Amount, round_kurus

__all__ = ["JournalEntry", "JournalLine", "UnbalancedEntryError", "journal_entry"]

_ZERO = Decimal(0)
#: Ledgers cut descriptions (açıklama) short; we cut them first, so a long reference never fails an entry.
MAX_DESCRIPTION = 200


def _short_text(value: str) -> str:
    return value.strip()[:MAX_DESCRIPTION]


class UnbalancedEntryError(ValueError):
    """Debits and credits differ: the figures the entry was made from do not add up."""


class JournalLine(BaseModel):
    """One line of an entry: an account and an amount on exactly one side."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: AccountCode
    debit: Amount = _ZERO  # borç
    credit: Amount = _ZERO  # alacak
    description: str = ""

    _short = field_validator("description")(lambda value: _short_text(value))

    @field_validator("debit", "credit")
    @classmethod
    def _kurus(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("a journal amount is never negative: put it on the other side")
        return round_kurus(value)

    @model_validator(mode="after")
    def _one_side(self) -> JournalLine:
        if (self.debit > 0) == (self.credit > 0):
            raise ValueError(f"line on {self.account} must have either a debit or a credit, not both or neither")
        return self


class JournalEntry(BaseModel):
    """A balanced entry: Σ debit = Σ credit, to the kuruş."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    description: str = Field(min_length=1)
    currency: str = "TRY"
    reference: str = ""  # our reference (e.g. payroll:2026-10), for the accountant to find it again
    lines: tuple[JournalLine, ...] = Field(min_length=2)

    _short = field_validator("description")(lambda value: _short_text(value))

    @model_validator(mode="after")
    def _balanced(self) -> JournalEntry:
        if self.total_debit != self.total_credit:
            raise UnbalancedEntryError(
                f"debits {self.total_debit} and credits {self.total_credit} differ by "
                f"{self.total_debit - self.total_credit}"
            )
        return self

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), _ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), _ZERO)


def journal_entry(
    *,
    on: date,
    description: str,
    lines: Iterable[tuple[str, Decimal, Decimal, str]],
    currency: str = "TRY",
    reference: str = "",
) -> JournalEntry:
    """An entry from (account, debit, credit, description) tuples. Zero lines are left out, and lines on the
    same account, side and description are added together, as an accountant would write them.
    Raises UnbalancedEntryError (a ValueError) when the sides differ."""
    merged: dict[tuple[str, str, str], Decimal] = {}
    for account, debit, credit, text in lines:
        for side, amount in (("debit", debit), ("credit", credit)):
            if amount:
                merged[(account, side, text)] = merged.get((account, side, text), _ZERO) + amount
    journal_lines: list[JournalLine] = []
    for (account, side, text), amount in merged.items():
        if amount < 0:  # a negative debit is a credit (a refund larger than the fee, say)
            side, amount = ("credit" if side == "debit" else "debit"), -amount
        if round_kurus(amount):
            journal_lines.append(JournalLine.model_validate({"account": account, side: amount, "description": text}))
    debits = sum((line.debit for line in journal_lines), _ZERO)
    credits = sum((line.credit for line in journal_lines), _ZERO)
    if debits != credits:
        raise UnbalancedEntryError(f"debits {debits} and credits {credits} differ by {debits - credits}")
    return JournalEntry(
        date=on, description=description, currency=currency, reference=reference, lines=tuple(journal_lines)
    )
