"""KDV decomposition: payable equals what was paid, discounts spread exactly, remainders go where documented."""

from __future__ import annotations

from decimal import Decimal

import pytest
from mutabik.model import Line
from mutabik.tax import (
    ExemptionRequiredError,
    TaxRuleError,
    TotalMismatchError,
    allocate,
    decompose,
)

D = Decimal


def test_kdv_included_price_splits_into_net_and_kdv() -> None:
    breakdown = decompose([Line(name="a", quantity=1, unit_price=D("120.00"), kdv_rate=20)], total_paid=D("120.00"))
    (line,) = breakdown.lines
    assert (line.net, line.kdv, line.unit_price) == (D("100.00"), D("20.00"), D(100))
    assert breakdown.payable == D("120.00")
    assert breakdown.rounding_adjustment == 0


def test_net_prices_add_kdv_per_line() -> None:
    breakdown = decompose(
        [Line(name="a", quantity=100, unit_price=D("1.235"), kdv_rate=20)],
        total_paid=D("148.20"),
        prices_include_tax=False,
    )
    assert (breakdown.line_extension, breakdown.kdv_total, breakdown.payable) == (D("123.50"), D("24.70"), D("148.20"))


def test_mixed_rates_give_one_subtotal_per_rate() -> None:
    breakdown = decompose(
        [
            Line(name="a", quantity=1, unit_price=D("110"), kdv_rate=10),
            Line(name="b", quantity=1, unit_price=D("120"), kdv_rate=20),
            Line(name="c", quantity=1, unit_price=D("101"), kdv_rate=1),
            Line(name="d", quantity=1, unit_price=D("120"), kdv_rate=20),
        ],
        total_paid=D("451"),
    )
    assert [(s.rate, s.taxable, s.amount) for s in breakdown.kdv_subtotals] == [
        (D(10), D("100.00"), D("10.00")),
        (D(20), D("200.00"), D("40.00")),
        (D(1), D("100.00"), D("1.00")),
    ]


def test_order_discount_is_spread_by_largest_remainder_and_adds_up() -> None:
    lines = [Line(name=n, quantity=1, unit_price=D("10.00")) for n in "abc"]
    breakdown = decompose(lines, total_paid=D("29.00"), order_discount=D("1.00"))
    # 1.00 over three equal lines: 0.33 each and the last kuruş to the first line (earliest on ties)
    gross_discounts = [D("10.00") - (line.net + line.kdv) for line in breakdown.lines]
    assert gross_discounts == [D("0.34"), D("0.33"), D("0.33")]
    assert breakdown.payable == D("29.00")


def test_allocate_is_exact_and_proportional() -> None:
    assert allocate(D("10.00"), [D(1), D(1), D(1)]) == [D("3.34"), D("3.33"), D("3.33")]
    assert allocate(D("1.00"), [D(0), D(0)]) == [D("1.00"), D(0)]
    assert sum(allocate(D("7.77"), [D("1.1"), D("2.2"), D("3.3"), D("0.4")])) == D("7.77")


def test_a_platform_kurus_goes_onto_the_largest_lines_net() -> None:
    lines = [
        Line(name="small", quantity=1, unit_price=D("10.00")),
        Line(name="large", quantity=1, unit_price=D("99.99")),
    ]
    breakdown = decompose(lines, total_paid=D("110.00"))  # the lines say 109.99; the platform charged 110.00
    assert breakdown.rounding_adjustment == D("0.01")
    assert breakdown.payable == D("110.00")
    assert breakdown.lines[1].net == D("83.33") + D("0.01")
    assert breakdown.lines[1].kdv == D("16.66")


def test_more_than_rounding_is_a_mismatch() -> None:
    with pytest.raises(TotalMismatchError) as caught:
        decompose([Line(name="a", quantity=1, unit_price=D("10.00"))], total_paid=D("11.00"))
    assert caught.value.field == "total_paid"


def test_withholding_is_taken_from_kdv_and_reduces_payable() -> None:
    breakdown = decompose(
        [Line(name="temizlik", quantity=1, unit_price=D("1200"), withholding_code="612")], total_paid=D("1020")
    )
    (line,) = breakdown.lines
    assert (line.net, line.kdv, line.withheld) == (D("1000.00"), D("200.00"), D("180.00"))
    assert breakdown.tax_inclusive == D("1200.00")
    assert breakdown.payable == D("1020.00")
    assert breakdown.withholding_subtotals[0].taxable == D("200.00")


def test_zero_rate_needs_an_exemption_code() -> None:
    with pytest.raises(ExemptionRequiredError) as caught:
        decompose([Line(name="a", quantity=1, unit_price=D(1), kdv_rate=0)], total_paid=D(1))
    assert (caught.value.line, caught.value.field) == (1, "exemption_code")


def test_withholding_needs_kdv() -> None:
    with pytest.raises(TaxRuleError) as caught:
        decompose(
            [Line(name="a", quantity=1, unit_price=D(1), kdv_rate=0, exemption_code="351", withholding_code="612")],
            total_paid=D(1),
        )
    assert caught.value.field == "withholding_code"


def test_a_full_exemption_with_kdv_is_refused() -> None:
    with pytest.raises(TaxRuleError) as caught:
        decompose([Line(name="a", quantity=1, unit_price=D(1), kdv_rate=20, exemption_code="301")], total_paid=D(1))
    assert caught.value.field == "kdv_rate"


def test_special_base_lines_need_their_base() -> None:
    with pytest.raises(TaxRuleError) as caught:
        decompose([Line(name="a", quantity=1, unit_price=D(100), exemption_code="806")], total_paid=D(100))
    assert (caught.value.line, caught.value.field) == (1, "special_base")


def test_an_order_discount_larger_than_the_order_is_refused() -> None:
    with pytest.raises(TaxRuleError, match="discount"):
        decompose([Line(name="a", quantity=1, unit_price=D(1))], total_paid=D(0), order_discount=D(2))


def test_unit_price_and_discount_reproduce_the_line_amount() -> None:
    breakdown = decompose(
        [Line(name="a", quantity=D("2.5"), unit_price=D("38.40"), discount=D("3.00"), kdv_rate=1)],
        total_paid=D("93.00"),
    )
    (line,) = breakdown.lines
    assert (line.quantity * line.unit_price - line.discount).quantize(D("0.01")) == line.net


def test_on_ties_the_remainder_goes_to_the_earliest_line() -> None:
    lines = [Line(name=n, quantity=1, unit_price=D("10.00")) for n in "ab"]
    breakdown = decompose(lines, total_paid=D("20.01"))
    assert [line.net for line in breakdown.lines] == [D("8.34"), D("8.33")]
