"""What happens in commerce, in canonical form: orders and their lines, refunds, payments and payouts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mutabik.model.money import Amount, Money
from mutabik.model.party import Address, Party

__all__ = [
    "KDV_RATES",
    "Line",
    "LineKind",
    "Order",
    "Payment",
    "Payout",
    "Refund",
    "RefundLine",
    "Shipment",
    "ShipmentLine",
    "WebSale",
]

#: KDV rates in force (percent). A rate outside this set is a mapping error, not a new rate.
KDV_RATES = frozenset({Decimal(0), Decimal(1), Decimal(10), Decimal(20)})


class LineKind(StrEnum):
    GOODS = "goods"
    SHIPPING = "shipping"  # kargo bedeli, invoiced as its own line
    SERVICE = "service"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Line(_Frozen):
    """One invoice line as the seller sold it. `unit_price` includes KDV when the order says prices do."""

    sku: str = ""
    name: str = Field(min_length=1)
    kind: LineKind = LineKind.GOODS
    quantity: Amount = Field(gt=0)
    unit: str = "C62"  # UN/ECE Rec 20 unit code; C62 is "adet" (one)
    unit_price: Amount = Field(ge=0)
    discount: Amount = Field(default=Decimal(0), ge=0)  # total discount on the line, same basis as unit_price
    kdv_rate: Amount = Decimal(20)  # percent
    withholding_code: str | None = None  # tevkifat kodu, 601–627 / 801–825
    exemption_code: str | None = None  # istisna / özel matrah kodu
    exemption_reason: str | None = None

    @field_validator("kdv_rate")
    @classmethod
    def _known_rate(cls, value: Decimal) -> Decimal:
        if value not in KDV_RATES:
            rates = ", ".join(str(r) for r in sorted(KDV_RATES))
            raise ValueError(f"KDV rate {value} % is not one in force ({rates})")
        return value

    @model_validator(mode="after")
    def _discount_within_line(self) -> Line:
        if self.discount > self.quantity * self.unit_price:
            raise ValueError("discount is larger than quantity × unit_price")
        return self

    @property
    def gross(self) -> Decimal:
        """Quantity × unit price less the line discount, on the order's price basis, unrounded."""
        return self.quantity * self.unit_price - self.discount


class WebSale(_Frozen):
    """What GİB asks an e-Arşiv internet sale to carry (İnternet Satış Bilgileri)."""

    website: str
    payment_method: str  # KREDIKARTI/BANKAKARTI, EFT/HAVALE, KAPIDAODEME, ODEMEARACISI, DIGER
    payment_date: datetime
    payment_agent: str = ""  # the PSP or marketplace that collected the money
    carrier_name: str = ""
    carrier_tax_id: str = ""
    shipment_date: datetime | None = None


class Order(_Frozen):
    """A sale as the buyer made it. `total_paid` is the truth the invoice's payable amount must equal."""

    source: str
    source_ref: str = Field(min_length=1)  # the sender's order id
    number: str = ""  # the human order number (Shopify "#1001")
    ordered_at: datetime
    currency: str = "TRY"
    prices_include_tax: bool = True
    buyer: Party
    shipping_address: Address | None = None
    lines: tuple[Line, ...] = Field(min_length=1)
    order_discount: Amount = Field(default=Decimal(0), ge=0)  # spread over lines by the tax engine
    total_paid: Money
    web_sale: WebSale | None = None
    note: str = ""

    @model_validator(mode="after")
    def _one_currency(self) -> Order:
        if self.total_paid.currency != self.currency:
            raise ValueError(f"total_paid is in {self.total_paid.currency}, the order in {self.currency}")
        return self


class RefundLine(_Frozen):
    sku: str = ""
    name: str = Field(min_length=1)
    quantity: Amount = Field(gt=0)
    amount: Amount = Field(ge=0)  # what is paid back for this line, KDV included
    kdv_rate: Amount = Decimal(20)


class Refund(_Frozen):
    """Money paid back against an order; becomes a return invoice (İADE) referring to the sales invoice."""

    source: str
    source_ref: str = Field(min_length=1)
    order_ref: str = Field(min_length=1)
    #: The sender that reported the order, when it is not `source`: a payment provider refunding a shop's order
    #: (set by the tenant's mapping, `sources.<sender>.orders_from`). Empty: `source`.
    order_source: str = ""
    created_at: datetime
    amount: Money
    lines: tuple[RefundLine, ...] = ()
    shipping_refund: Amount = Decimal(0)
    reason: str = ""


class Payment(_Frozen):
    """Money received for an order (tahsilat): recorded against the order's invoice."""

    source: str
    source_ref: str = Field(min_length=1)
    order_ref: str = ""
    #: As on Refund: the sender whose order this pays, when it is not `source`.
    order_source: str = ""
    captured_at: datetime
    amount: Money
    fee: Money | None = None
    method: str = ""


class Payout(_Frozen):
    """A settlement from a marketplace or PSP to the seller's bank: gross, fees and what arrived."""

    source: str
    source_ref: str = Field(min_length=1)
    paid_at: datetime
    amount: Money  # net amount that reached the bank
    gross: Money | None = None
    fees: Money | None = None
    transaction_refs: tuple[str, ...] = ()


class ShipmentLine(_Frozen):
    sku: str = ""
    name: str = Field(min_length=1)
    quantity: Amount = Field(gt=0)
    unit: str = "C62"


class Shipment(_Frozen):
    """Goods leaving the warehouse: the input to an e-İrsaliye (DespatchAdvice)."""

    source: str
    source_ref: str = Field(min_length=1)
    order_ref: str = ""
    shipped_at: datetime
    carrier_name: str = ""
    tracking_number: str = ""
    lines: tuple[ShipmentLine, ...] = ()
