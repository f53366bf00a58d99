"""Lines as the tenant's books know them: SKU → provider product code, name, unit and KDV rate; the shipping
line's name, code and rate. Unmapped SKUs pass through unchanged.

After mapping, a line's `sku` is the provider's product code (UBL-TR writes it as SellersItemIdentification,
adapters look products up by it); `applied` records which seller SKU each code came from, for the accountant.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from mutabik.mapping.config import MappingConfig, ProductMapping, ShippingMapping
from mutabik.model.commerce import Line, LineKind, Order, Refund, RefundLine, Shipment, ShipmentLine

__all__ = ["describe", "map_order", "map_refund", "map_shipment"]

#: Unit prices keep up to eight decimals (the tax engine's UNIT_PRICE_PLACES): a re-priced line stays exact
#: to well under a kuruş.
_PLACES = Decimal("1e-8")
_HUNDRED = Decimal(100)


def _rule(sku: str, config: MappingConfig) -> ProductMapping | None:
    return config.products.get(sku) if sku else None


def _line_changes(line: Line, rule: ProductMapping | ShippingMapping, prices_include_tax: bool) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if rule.code:
        changes["sku"] = rule.code
    if rule.name:
        changes["name"] = rule.name
    if rule.unit:
        changes["unit"] = rule.unit
    if rule.kdv_rate is not None and rule.kdv_rate != line.kdv_rate:
        changes["kdv_rate"] = rule.kdv_rate
        if not prices_include_tax:
            # What the buyer paid for the line stays what it was: on a tax-exclusive order a new rate means a
            # new net, so price and discount are scaled by (100 + old) / (100 + new).
            factor = (_HUNDRED + line.kdv_rate) / (_HUNDRED + rule.kdv_rate)
            unit_price = (line.unit_price * factor).quantize(_PLACES, ROUND_HALF_UP)
            discount = (line.discount * factor).quantize(_PLACES, ROUND_HALF_UP)
            changes["unit_price"] = unit_price
            changes["discount"] = min(discount, line.quantity * unit_price)
    return changes


def map_order(order: Order, config: MappingConfig) -> tuple[Order, dict[str, str]]:
    """The order with the tenant's product and shipping mapping applied, and {seller SKU: product code}."""
    lines: list[Line] = []
    applied: dict[str, str] = {}
    for line in order.lines:
        rule: ProductMapping | ShippingMapping | None
        rule = config.shipping if line.kind is LineKind.SHIPPING else _rule(line.sku, config)
        if rule is None:
            lines.append(line)
            continue
        changes = _line_changes(line, rule, order.prices_include_tax)
        if "sku" in changes and line.sku:
            applied[line.sku] = changes["sku"]
        # model_validate, not model_copy: the line's own checks (rate in force, discount within line) run again.
        lines.append(Line.model_validate({**line.model_dump(), **changes}) if changes else line)
    if lines == list(order.lines):
        return order, applied
    return order.model_copy(update={"lines": tuple(lines)}), applied


def map_refund(refund: Refund, config: MappingConfig) -> tuple[Refund, dict[str, str]]:
    """A refund's lines under the same mapping as the invoice they return (amounts include KDV: unchanged)."""
    lines, applied = _relabel(refund.lines, config, ("kdv_rate",))
    if lines == list(refund.lines):
        return refund, applied
    return refund.model_copy(update={"lines": tuple(lines)}), applied


def map_shipment(shipment: Shipment, config: MappingConfig) -> tuple[Shipment, dict[str, str]]:
    """A shipment's lines (e-İrsaliye) with the product codes, names and units of the mapping."""
    lines, applied = _relabel(shipment.lines, config, ("unit",))
    if lines == list(shipment.lines):
        return shipment, applied
    return shipment.model_copy(update={"lines": tuple(lines)}), applied


_Relabelled = TypeVar("_Relabelled", RefundLine, ShipmentLine)


def _relabel(
    lines: tuple[_Relabelled, ...], config: MappingConfig, also: tuple[str, ...]
) -> tuple[list[_Relabelled], dict[str, str]]:
    """Each line with its SKU rule's code (as `sku`) and name, and the rule's `also` fields where set; no prices
    to re-derive, unlike an order's lines."""
    relabelled: list[_Relabelled] = []
    applied: dict[str, str] = {}
    for line in lines:
        rule = _rule(line.sku, config)
        changes: dict[str, Any] = {}
        if rule is not None:
            if rule.code:
                changes["sku"] = applied[line.sku] = rule.code
            if rule.name:
                changes["name"] = rule.name
            changes.update({name: getattr(rule, name) for name in also if getattr(rule, name) not in (None, "")})
        relabelled.append(type(line).model_validate({**line.model_dump(), **changes}) if changes else line)
    return relabelled, applied


def describe(applied: Mapping[str, str]) -> dict[str, Any]:
    """The `mapping` note of a payload: which seller SKU became which product code."""
    return {"skus": dict(sorted(applied.items()))} if applied else {}
