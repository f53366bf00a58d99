"""The code tables agree with GİB's schematron code list, and look-ups fail with the code's name."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from mutabik.tax import (
    ExemptionKind,
    UnknownTaxCodeError,
    exemption,
    exemptions,
    tax_type,
    tax_types,
    withholding,
    withholdings,
)

CODELIST = (
    Path(__file__).resolve().parents[3].parent
    / "shared"
    / "specs"
    / "ubl-tr"
    / "e-FaturaPaketi"
    / "schematron"
    / "UBL-TR_Codelist.xml"
)


def _gib_list(name: str) -> list[str]:
    if not CODELIST.is_file():
        pytest.skip("GİB's code list (../shared) is not next to this checkout")
    text = CODELIST.read_text(encoding="utf-8")
    match = re.search(rf'name="{name}"\s+value\s*="\',(.*?),\'"', text)
    assert match, name
    return match.group(1).split(",")


def test_withholding_codes_are_gibs() -> None:
    assert set(withholdings()) == set(_gib_list("WithholdingTaxType"))


def test_every_withholding_ratio_is_one_gib_accepts() -> None:
    accepted = set(_gib_list("WithholdingTaxTypeWithPercent"))
    for code, held in withholdings().items():
        for percent in held.allowed_percents:
            assert f"{code}{percent}" in accepted, (code, percent)


def test_exemption_codes_are_gibs() -> None:
    assert set(exemptions()) == set(_gib_list("TaxExemptionReasonCodeType"))


def test_tax_types_are_gibs() -> None:
    assert set(tax_types()) == set(_gib_list("TaxType"))


@pytest.mark.parametrize(
    ("code", "percent"), [("601", 40), ("602", 90), ("604", 50), ("624", 20), ("625", 30), ("801", 100)]
)
def test_withholding_ratios(code: str, percent: int) -> None:
    assert withholding(code).percent == percent
    assert withholding(code).ratio == Decimal(percent) / 100


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("301", ExemptionKind.FULL),
        ("213", ExemptionKind.PARTIAL),
        ("351", ExemptionKind.NON_EXEMPT),
        ("701", ExemptionKind.EXPORT_REGISTERED),
        ("806", ExemptionKind.SPECIAL_BASE),
    ],
)
def test_exemption_kinds(code: str, kind: ExemptionKind) -> None:
    assert exemption(code).kind is kind
    assert exemption(code).reason  # GİB wants a non-empty TaxExemptionReason


def test_tax_type_names() -> None:
    assert tax_type("0015").short_name == "KDV"
    assert tax_type("0071").kind == "otv"
    assert tax_type("0003").kind == "stopaj"


@pytest.mark.parametrize(("lookup", "code"), [(withholding, "650"), (exemption, "999"), (tax_type, "0016")])
def test_unknown_codes_raise_with_the_code(lookup: object, code: str) -> None:
    with pytest.raises(UnknownTaxCodeError, match=code):
        lookup(code)  # type: ignore[operator]
