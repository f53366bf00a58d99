"""GİB's tax code lists as data: tax types, tevkifat (withholding) ratios and exemption codes.

The tables live in `data/*.csv`; their codes are the ones of GİB's schematron code list
(UBL-TR_Codelist.xml: TaxType, WithholdingTaxType, WithholdingTaxTypeWithPercent, TaxExemptionReasonCodeType),
and a unit test keeps the two in step. Ratios follow the KDV Genel Uygulama Tebliği (I/C-2.1.3), as GİB's
code list encodes them ("60290" is code 602 at 90 %).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources

from mutabik.tax.errors import UnknownTaxCodeError

__all__ = [
    "KDV_TAX_TYPE",
    "Exemption",
    "ExemptionKind",
    "TaxType",
    "Withholding",
    "exemption",
    "exemptions",
    "tax_type",
    "tax_types",
    "withholding",
    "withholdings",
]

#: KDV's code in GİB's tax type list.
KDV_TAX_TYPE = "0015"


class ExemptionKind(StrEnum):
    PARTIAL = "partial"  # 2xx: kısmi istisna (KDVK 17 …)
    FULL = "full"  # 3xx: tam istisna (KDVK 11, 13, 14, 15 …)
    NON_EXEMPT = "non_exempt"  # 351: KDV 0 without an exemption ("istisna olmayan diğer")
    EXPORT_REGISTERED = "export_registered"  # 701–704: ihraç kayıtlı teslim
    SPECIAL_BASE = "special_base"  # 801–812: özel matrah
    OTV = "otv"  # 1xx: ÖTV exemptions
    OTV_NON_EXEMPT = "otv_non_exempt"  # 151
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class TaxType:
    code: str
    short_name: str
    name: str
    kind: str  # kdv, withholding, otv, stopaj, other


@dataclass(frozen=True, slots=True)
class Withholding:
    """A tevkifat code: the share of the KDV the buyer withholds and pays to the tax office itself."""

    code: str
    percent: Decimal  # the ratio in force, in percent (9/10 → 90)
    allowed_percents: frozenset[Decimal]  # what GİB's schematron accepts for this code
    name: str

    @property
    def ratio(self) -> Decimal:
        return self.percent / 100


@dataclass(frozen=True, slots=True)
class Exemption:
    code: str
    kind: ExemptionKind
    name: str

    @property
    def reason(self) -> str:
        """The text for TaxExemptionReason: GİB wants it non-empty whenever a code is given."""
        return self.name or f"KDV istisna/muafiyet kodu {self.code}"


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("mutabik.tax").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def tax_types() -> dict[str, TaxType]:
    return {row["code"]: TaxType(**row) for row in _rows("tax_types.csv")}


@cache
def withholdings() -> dict[str, Withholding]:
    table = {}
    for row in _rows("withholding.csv"):
        percent = Decimal(row["percent"])
        others = {Decimal(p) for p in row["also_allowed"].split(";") if p}
        table[row["code"]] = Withholding(row["code"], percent, frozenset({percent, *others}), row["name"])
    return table


@cache
def exemptions() -> dict[str, Exemption]:
    return {
        row["code"]: Exemption(row["code"], ExemptionKind(row["kind"]), row["name"]) for row in _rows("exemptions.csv")
    }


def tax_type(code: str, *, field: str = "tax_type", line: int | None = None) -> TaxType:
    try:
        return tax_types()[code]
    except KeyError:
        raise UnknownTaxCodeError(f"unknown tax type code {code!r}", field=field, line=line) from None


def withholding(code: str, *, field: str = "withholding_code", line: int | None = None) -> Withholding:
    try:
        return withholdings()[code]
    except KeyError:
        raise UnknownTaxCodeError(
            f"unknown tevkifat code {code!r} (GİB's list has 601–627 and 801–825)", field=field, line=line
        ) from None


def exemption(code: str, *, field: str = "exemption_code", line: int | None = None) -> Exemption:
    try:
        return exemptions()[code]
    except KeyError:
        raise UnknownTaxCodeError(
            f"unknown exemption code {code!r} (see TaxExemptionReasonCodeType in GİB's code list)",
            field=field,
            line=line,
        ) from None
