"""KDV decomposition: from what the buyer paid to each line's net, KDV and withholding, exact to the kuruş.

How amounts are rounded, and where the remainders go (the one place this is decided)
------------------------------------------------------------------------------------
1. Each line's amount is rounded to kuruş first (quantity × unit price − line discount), half up.
2. The order discount is spread over the lines in proportion to those amounts, by largest remainder: every
   line gets its share rounded down to the kuruş, and the kuruşes left over go one each to the lines with the
   largest fractional parts (earlier lines first on ties). The shares then add up to the discount exactly,
   which rounding each share separately would not guarantee.
3. Prices with KDV included: net = round(amount ÷ (1 + rate)) and KDV = amount − net, so that net + KDV is
   the amount the buyer saw on that line, to the kuruş. Prices without KDV: net = amount and
   KDV = round(net × rate). Özel matrah lines compute KDV on their special base instead. Withheld KDV
   (tevkifat) = round(KDV × ratio).
4. Per-rate totals are sums of the line figures, never recomputed from the summed base: the invoice then
   adds up both along its lines and along its tax subtotals. A subtotal whose KDV rounds to 0 at a positive
   rate carries code 351, because GİB wants a reason on every zero KDV subtotal.
5. Payable = Σ net + Σ KDV − Σ withheld. When it differs from what the buyer paid (the seller's platform
   rounded its tax per unit, per order, or its discount differently), the difference, at most one kuruş per
   line plus one, goes onto the net amount of the line that charges the most (the first on ties).
   Why there: one kuruş moves that line's implied unit price the least, KDV figures printed on the invoice
   stay what the rate gives, and the payable amount becomes exactly what the buyer paid (DESIGN rule 3).
   A larger difference is not rounding but a mapping error, and raises `TotalMismatchError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from mutabik.model.commerce import Line, LineKind, Order
from mutabik.model.money import KURUS, round_kurus
from mutabik.tax.codes import Exemption, ExemptionKind, Withholding, exemption, withholding
from mutabik.tax.errors import ExemptionRequiredError, TaxRuleError, TotalMismatchError

__all__ = [
    "KdvSubtotal",
    "TaxBreakdown",
    "TaxedLine",
    "WithholdingSubtotal",
    "allocate",
    "decompose",
    "decompose_order",
]

#: Unit prices carry up to this many decimals (GİB limits totals to 2, not unit prices).
UNIT_PRICE_PLACES = Decimal("1e-8")
_ZERO = Decimal(0)
#: GİB's code for "KDV 0, but not an exemption" (İstisna olmayan diğer).
NOT_EXEMPT = "351"
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class TaxedLine:
    """One invoice line with every amount the document prints, all without KDV unless named `kdv`."""

    number: int  # 1-based, the InvoiceLine ID
    name: str
    sku: str
    kind: LineKind
    quantity: Decimal
    unit: str
    unit_price: Decimal  # PriceAmount: without KDV, before discounts
    discount: Decimal  # AllowanceCharge on the line (its own discount plus its share of the order's)
    net: Decimal  # LineExtensionAmount = quantity × unit_price − discount
    kdv_rate: Decimal
    kdv_base: Decimal  # TaxableAmount: the net, or the özel matrah
    kdv: Decimal
    withholding: Withholding | None
    withheld: Decimal
    exemption: Exemption | None
    exemption_reason: str

    @property
    def gross(self) -> Decimal:
        """What the buyer pays for this line: net + KDV − withheld KDV."""
        return self.net + self.kdv - self.withheld


@dataclass(frozen=True, slots=True)
class KdvSubtotal:
    rate: Decimal
    exemption: Exemption | None
    exemption_reason: str
    taxable: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class WithholdingSubtotal:
    withholding: Withholding
    percent: Decimal
    taxable: Decimal  # the KDV the ratio applies to
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TaxBreakdown:
    """An invoice's amounts: lines, KDV per rate and exemption, withholding per code, and the totals."""

    lines: tuple[TaxedLine, ...]
    kdv_subtotals: tuple[KdvSubtotal, ...]
    withholding_subtotals: tuple[WithholdingSubtotal, ...]
    line_extension: Decimal  # Σ net = TaxExclusiveAmount (discounts sit on the lines)
    kdv_total: Decimal
    withheld_total: Decimal
    tax_inclusive: Decimal  # Σ net + Σ KDV
    payable: Decimal  # tax_inclusive − withheld_total: what the buyer pays
    allowance_total: Decimal  # Σ line discounts, for display
    rounding_adjustment: Decimal  # what step 5 moved onto one line (0 when the platform rounded as we do)


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split `total` (kuruş) over `weights` in proportion, by largest remainder, so the shares add up exactly."""
    if not weights:
        raise ValueError("nothing to allocate over")
    weight_sum = sum(weights, _ZERO)
    if weight_sum == 0:
        shares = [_ZERO] * len(weights)
        shares[0] = total
        return shares
    exact = [total * w / weight_sum for w in weights]
    shares = [e.quantize(KURUS, rounding=ROUND_DOWN) for e in exact]
    left = int((total - sum(shares, _ZERO)) / KURUS)
    # Largest fractional part first; the stable sort keeps earlier lines first on ties.
    order = sorted(range(len(weights)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in order[:left]:
        shares[i] += KURUS
    return shares


def _check_codes(line: Line, number: int) -> tuple[Withholding | None, Exemption | None]:
    held = withholding(line.withholding_code, line=number) if line.withholding_code else None
    exempt = exemption(line.exemption_code, line=number) if line.exemption_code else None
    if held is not None and line.kdv_rate == 0:
        raise TaxRuleError(
            "a tevkifat code needs KDV to withhold, but the rate is 0 %", field="withholding_code", line=number
        )
    if line.kdv_rate == 0 and exempt is None:
        raise ExemptionRequiredError(
            "a 0 % KDV line needs an exemption code and reason (GİB: TaxExemptionReasonCode, e.g. 351)",
            field="exemption_code",
            line=number,
        )
    if exempt is not None:
        if exempt.kind is ExemptionKind.SPECIAL_BASE and line.kdv_rate == 0:
            raise TaxRuleError(
                f"özel matrah code {exempt.code} computes KDV on a special base: the rate cannot be 0 %",
                field="kdv_rate",
                line=number,
            )
        zero_rated = (
            ExemptionKind.PARTIAL,
            ExemptionKind.FULL,
            ExemptionKind.NON_EXEMPT,
            ExemptionKind.EXPORT_REGISTERED,
        )
        if exempt.kind in zero_rated and line.kdv_rate != 0:
            raise TaxRuleError(
                f"exemption code {exempt.code} ({exempt.kind}) means no KDV, but the rate is {line.kdv_rate} %",
                field="kdv_rate",
                line=number,
            )
    return held, exempt


@dataclass(slots=True)
class _Draft:
    """A line's amounts while the rounding remainder (step 5) may still move onto it."""

    charged: Decimal  # what the buyer pays for the line on the price basis, after all discounts
    net: Decimal
    kdv: Decimal
    base: Decimal  # the KDV base: the net, or the özel matrah
    discount: Decimal  # without KDV
    withheld: Decimal
    special: bool  # an özel matrah line


def _draft(
    line: Line,
    number: int,
    amount: Decimal,
    share: Decimal,
    codes: tuple[Withholding | None, Exemption | None],
    prices_include_tax: bool,
    special_bases: Mapping[int, Decimal],
) -> _Draft:
    """Step 3 of the module docstring, for one line."""
    held, exempt = codes
    rate = line.kdv_rate / _HUNDRED
    charged = amount - share
    discount = round_kurus(line.discount) + share
    special = exempt is not None and exempt.kind is ExemptionKind.SPECIAL_BASE
    if special and number not in special_bases:
        raise TaxRuleError(
            f"özel matrah code {exempt.code if exempt else ''} needs the line's special base",
            field="special_base",
            line=number,
        )
    special_base = round_kurus(special_bases[number]) if special else None
    if prices_include_tax:
        if special_base is not None:
            kdv = round_kurus(special_base / (1 + rate) * rate)
            net, base = charged - kdv, special_base - kdv
        else:
            net = round_kurus(charged / (1 + rate))
            kdv, base = charged - net, net
        discount = round_kurus(discount / (1 + rate))
    else:
        net = charged
        base = special_base if special_base is not None else net
        kdv = round_kurus(base * rate)
    withheld = round_kurus(kdv * held.ratio) if held else _ZERO
    return _Draft(charged, net, kdv, base, discount, withheld, special)


def decompose(
    lines: Sequence[Line],
    *,
    total_paid: Decimal,
    prices_include_tax: bool = True,
    order_discount: Decimal = _ZERO,
    special_bases: Mapping[int, Decimal] | None = None,
) -> TaxBreakdown:
    """Net, KDV and withholding for each line such that the payable amount is `total_paid` to the kuruş.

    `special_bases` maps a 1-based line number to its özel matrah (on the lines' price basis) for lines whose
    exemption code is an özel matrah code (801–812).
    """
    if not lines:
        raise TaxRuleError("an invoice needs at least one line", field="lines")
    special_bases = special_bases or {}
    codes = [_check_codes(line, n) for n, line in enumerate(lines, start=1)]
    amounts = [round_kurus(line.gross) for line in lines]
    order_discount = round_kurus(order_discount)
    if order_discount > sum(amounts, _ZERO):
        raise TaxRuleError("the order discount is larger than all lines together", field="order_discount")
    shares = allocate(order_discount, amounts) if order_discount else [_ZERO] * len(lines)

    drafts = [
        _draft(line, n, amount, share, codes[n - 1], prices_include_tax, special_bases)
        for n, (line, amount, share) in enumerate(zip(lines, amounts, shares, strict=True), start=1)
    ]
    payable = sum((d.net + d.kdv - d.withheld for d in drafts), _ZERO)
    difference = round_kurus(total_paid) - payable
    tolerance = KURUS * (len(lines) + 1)
    if abs(difference) > tolerance:
        raise TotalMismatchError(
            f"the lines come to {payable} but the buyer paid {round_kurus(total_paid)}: a difference of "
            f"{difference} is more than rounding ({tolerance}) can explain",
            field="total_paid",
        )
    if difference:
        # Step 5 of the module docstring: the remainder goes onto the net of the line that charges the most.
        draft = max(drafts, key=lambda d: d.charged)  # max() keeps the first of equals: the earliest line
        draft.net += difference
        if not draft.special:  # an özel matrah line's KDV base is its special base, not its net
            draft.base += difference
        if draft.net < 0:
            raise TotalMismatchError("the rounding remainder would make a line negative", field="total_paid")

    taxed: list[TaxedLine] = []
    for n, (line, draft) in enumerate(zip(lines, drafts, strict=True), start=1):
        held, exempt = codes[n - 1]
        net, discount = draft.net, draft.discount
        unit_price = ((net + discount) / line.quantity).quantize(UNIT_PRICE_PLACES).normalize()
        if unit_price == unit_price.to_integral_value():
            unit_price = unit_price.quantize(Decimal(1))
        taxed.append(
            TaxedLine(
                number=n,
                name=line.name,
                sku=line.sku,
                kind=line.kind,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=unit_price,
                discount=discount,
                net=net,
                kdv_rate=line.kdv_rate,
                kdv_base=draft.base,
                kdv=draft.kdv,
                withholding=held,
                withheld=draft.withheld,
                exemption=exempt,
                exemption_reason=(line.exemption_reason or (exempt.reason if exempt else "")),
            )
        )
    return _summarise(tuple(taxed), difference)


def _summarise(lines: tuple[TaxedLine, ...], adjustment: Decimal) -> TaxBreakdown:
    kdv: dict[tuple[Decimal, str], KdvSubtotal] = {}
    for line in lines:
        key = (line.kdv_rate, line.exemption.code if line.exemption else "")
        old = kdv.get(key)
        kdv[key] = KdvSubtotal(
            rate=line.kdv_rate,
            exemption=line.exemption,
            exemption_reason=line.exemption_reason if old is None else old.exemption_reason,
            taxable=line.kdv_base + (old.taxable if old else _ZERO),
            amount=line.kdv + (old.amount if old else _ZERO),
        )
    for key, subtotal in kdv.items():
        if subtotal.amount == 0 and subtotal.rate != 0 and subtotal.exemption is None:
            # Tiny lines whose KDV rounds to nothing: GİB wants a reason on every KDV subtotal of 0
            # (TaxExemptionReasonCheck), and "351 İstisna olmayan diğer" is the one that says "not exempt".
            none = exemption(NOT_EXEMPT)
            kdv[key] = KdvSubtotal(subtotal.rate, none, none.reason, subtotal.taxable, subtotal.amount)
    held: dict[tuple[str, Decimal], WithholdingSubtotal] = {}
    for line in lines:
        if line.withholding is None:
            continue
        held_key = (line.withholding.code, line.withholding.percent)
        previous = held.get(held_key)
        held[held_key] = WithholdingSubtotal(
            withholding=line.withholding,
            percent=line.withholding.percent,
            taxable=line.kdv + (previous.taxable if previous else _ZERO),
            amount=line.withheld + (previous.amount if previous else _ZERO),
        )
    line_extension = sum((line.net for line in lines), _ZERO)
    kdv_total = sum((line.kdv for line in lines), _ZERO)
    withheld_total = sum((line.withheld for line in lines), _ZERO)
    return TaxBreakdown(
        lines=lines,
        kdv_subtotals=tuple(kdv.values()),
        withholding_subtotals=tuple(held.values()),
        line_extension=line_extension,
        kdv_total=kdv_total,
        withheld_total=withheld_total,
        tax_inclusive=line_extension + kdv_total,
        payable=line_extension + kdv_total - withheld_total,
        allowance_total=sum((line.discount for line in lines), _ZERO),
        rounding_adjustment=adjustment,
    )


def decompose_order(order: Order, *, special_bases: Mapping[int, Decimal] | None = None) -> TaxBreakdown:
    """`decompose` for a canonical order: its lines, price basis, order discount and what the buyer paid."""
    return decompose(
        order.lines,
        total_paid=order.total_paid.amount,
        prices_include_tax=order.prices_include_tax,
        order_discount=order.order_discount,
        special_bases=special_bases,
    )
