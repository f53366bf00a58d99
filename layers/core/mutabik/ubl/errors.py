"""What can go wrong with a UBL-TR document, from our own rules to GİB's XSD and schematron.

```
UblError
├── DocumentRuleError        the input cannot make this document (a tax.TaxError is raised as is)
│   └── PartyError           a party's VKN/TCKN or required data is wrong
├── SchemaMissingError       GİB's XSD / schematron files are not where we look for them
└── ValidationError          the document fails a check; `.failures` say where and why
    ├── XsdValidationError
    └── SchematronValidationError
```
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mutabik.tax.errors import TaxRuleError

__all__ = [
    "DocumentRuleError",
    "Failure",
    "PartyError",
    "SchemaMissingError",
    "SchematronValidationError",
    "UblError",
    "ValidationError",
    "XsdValidationError",
]


class UblError(Exception):
    """Base of the UBL package's errors."""


class DocumentRuleError(UblError, TaxRuleError):
    """The input breaks a rule of the document type (e.g. IADE without the invoice it returns)."""


class PartyError(DocumentRuleError):
    """A party cannot appear on a GİB document as given (bad VKN/TCKN, missing tax office …)."""


class SchemaMissingError(UblError):
    """GİB's schemas are not installed: run `python tools/gib_schemas.py`."""


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed check: GİB's own message and where in the document it points."""

    message: str
    location: str  # an XPath for schematron failures, "line N" for XSD ones
    rule: str = ""  # the schematron assertion's test, or the XSD error type

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class ValidationError(UblError):
    def __init__(self, kind: str, failures: Sequence[Failure]) -> None:
        self.failures = tuple(failures)
        lines = "\n".join(f"  - {f}" for f in self.failures)
        super().__init__(f"{kind} validation failed with {len(self.failures)} error(s):\n{lines}")


class XsdValidationError(ValidationError):
    def __init__(self, failures: Sequence[Failure]) -> None:
        super().__init__("XSD", failures)


class SchematronValidationError(ValidationError):
    def __init__(self, failures: Sequence[Failure]) -> None:
        super().__init__("GİB schematron", failures)
