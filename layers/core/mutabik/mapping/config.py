"""A tenant's field mapping, as data: what its SKUs, statuses, shipping, fees and buyers become.

It is the `mapping` section of the tenant's configuration (`TenantConfig.mapping`), validated here when the
configuration is read, so a mistake in it is refused before any document is planned. docs/mapping.md explains
each part with examples. Every part has a default that reproduces what mutabik did before a mapping existed.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from mutabik.mapping.accounts import AccountCode
from mutabik.model.commerce import KDV_RATES
from mutabik.model.document import DocumentType
from mutabik.model.events import EventKind
from mutabik.model.money import Amount

__all__ = [
    "DEFAULT_EVENT_DOCUMENTS",
    "DOCUMENTS_AN_EVENT_CAN_BE",
    "CommissionMapping",
    "CommissionTreatment",
    "ConsumerAccounts",
    "CustomerRules",
    "EventDocuments",
    "MappingConfig",
    "ProductMapping",
    "ShippingMapping",
    "SourceMapping",
]

#: Which document each event asks for when the tenant says nothing. An order placed (not yet paid) issues
#: nothing; a cancellation cancels the sales invoice if there is one (the mapper checks).
DEFAULT_EVENT_DOCUMENTS: dict[EventKind, DocumentType] = {
    EventKind.ORDER_PAID: DocumentType.SALES_INVOICE,
    EventKind.ORDER_CANCELLED: DocumentType.CANCELLATION,
    EventKind.REFUND_CREATED: DocumentType.RETURN_INVOICE,
    EventKind.PAYMENT_CAPTURED: DocumentType.COLLECTION,
    EventKind.SHIPMENT_CREATED: DocumentType.DESPATCH_ADVICE,
    EventKind.PAYOUT_PAID: DocumentType.JOURNAL_ENTRY,
}

#: What each event's content can become. An order can be invoiced when it is placed or when it is paid; the
#: rest carry what exactly one document type needs. A tenant chooses within this, or turns an event off.
DOCUMENTS_AN_EVENT_CAN_BE: dict[EventKind, frozenset[DocumentType]] = {
    EventKind.ORDER_PLACED: frozenset({DocumentType.SALES_INVOICE}),
    EventKind.ORDER_PAID: frozenset({DocumentType.SALES_INVOICE}),
    EventKind.ORDER_CANCELLED: frozenset({DocumentType.CANCELLATION}),
    EventKind.REFUND_CREATED: frozenset({DocumentType.RETURN_INVOICE}),
    EventKind.PAYMENT_CAPTURED: frozenset({DocumentType.COLLECTION}),
    EventKind.SHIPMENT_CREATED: frozenset({DocumentType.DESPATCH_ADVICE}),
    EventKind.PAYOUT_PAID: frozenset({DocumentType.JOURNAL_ENTRY}),
}

#: UN/ECE Recommendation 20 unit codes, as UBL-TR's unitCode wants them (C62 adet, KGM, LTR, MTR, SET …).
UnitCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z0-9]{2,3}$")]
#: A product code at the provider (stok kodu): what UBL's SellersItemIdentification and the provider's
#: product lookup see.
ProductCode = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _kdv_rate(value: Decimal | None) -> Decimal | None:
    if value is not None and value not in KDV_RATES:
        rates = ", ".join(str(r) for r in sorted(KDV_RATES))
        raise ValueError(f"KDV rate {value} % is not one in force ({rates})")
    return value


class ProductMapping(_Frozen):
    """What one seller SKU becomes on the invoice. Empty fields keep what the sender said."""

    code: ProductCode = ""  # the provider's product code; replaces the SKU on the line
    name: str = Field(default="", max_length=250)
    unit: UnitCode | None = None
    kdv_rate: Amount | None = None  # the rate the product is really sold at, when the storefront says otherwise

    _rate = field_validator("kdv_rate")(_kdv_rate)


class ShippingMapping(_Frozen):
    """How the shipping line (kargo bedeli) is written. Empty fields keep what the sender said."""

    name: str = Field(default="", max_length=250)  # e.g. "Kargo Bedeli"
    code: ProductCode = ""  # e.g. the accounting system's service code for shipping income
    unit: UnitCode | None = None
    kdv_rate: Amount | None = None

    _rate = field_validator("kdv_rate")(_kdv_rate)


class CommissionTreatment(StrEnum):
    #: The marketplace invoices its commission to the seller (an incoming e-Fatura the accountant books);
    #: mutabik books nothing for it, and a payout's journal clears only the net amount.
    IGNORE = "ignore"
    #: mutabik books the fee: a payout's journal clears the gross (bank = net, fee account = fees), and a payment
    #: that reports its fee gets a JOURNAL_ENTRY of its own (fee account / receivable).
    JOURNAL = "journal"


class CommissionMapping(_Frozen):
    """Marketplace commission and PSP fees. They are never a line on the seller's sales invoice: the
    marketplace invoices them to the seller, not the seller to the buyer."""

    treatment: CommissionTreatment = CommissionTreatment.IGNORE
    bank_account: AccountCode = "102"  # 102 Bankalar: where a payout lands
    receivable_account: AccountCode = "120"  # 120 Alıcılar: what the marketplace owes the seller for sales
    #: 320 Satıcılar: the marketplace as a supplier, whose commission invoice credits it, so the fee is cleared
    #: against it and expensed once (from the invoice). Use 760 (Pazarlama Satış ve Dağıtım Giderleri) when no
    #: invoice comes for the fee.
    fee_account: AccountCode = "320"


class ConsumerAccounts(StrEnum):
    PER_BUYER = "per_buyer"  # one contact (cari hesap) per buyer
    RETAIL = "retail"  # one "Perakende Müşteri" contact per sender for every consumer


class CustomerRules(_Frozen):
    """Which contact (cari hesap) a sale is booked to. A buyer with a VKN is always their own contact (B2B);
    consumers (a TCKN, or GİB's 11111111111 nihai tüketici when the buyer gave none) follow `consumers`."""

    consumers: ConsumerAccounts = ConsumerAccounts.PER_BUYER
    retail_name: str = Field(default="Perakende Müşteri", min_length=1, max_length=200)
    #: The retail contact's code in the accounting system, per sender (e.g. {"trendyol": "120.01.001"}).
    retail_codes: dict[str, str] = Field(default_factory=dict)


#: Event → the document it asks for, or null to issue nothing for it.
EventDocuments = dict[EventKind, DocumentType | None]


def _check_events(table: EventDocuments) -> EventDocuments:
    for kind, doc_type in table.items():
        allowed = DOCUMENTS_AN_EVENT_CAN_BE[kind]
        if doc_type is not None and doc_type not in allowed:
            choices = ", ".join(sorted(allowed))
            raise ValueError(f"{kind} can become {choices} or null, not {doc_type}")
    return table


class SourceMapping(_Frozen):
    """What differs for one sender: its own event table and its own accounts (each marketplace usually has
    its own 120 and 320 sub-accounts)."""

    events: EventDocuments = Field(default_factory=dict)
    commission: CommissionMapping | None = None
    #: The sender whose orders this sender's payments, refunds and cancellations refer to, when it reports no
    #: orders itself: a payment provider taking a shop's payments (iyzico or Stripe for `woocommerce`), whose
    #: order reference is the shop's order id. Empty: its own orders.
    orders_from: str = Field(default="", pattern=r"^([a-z][a-z0-9_-]{0,39})?$")

    _events = field_validator("events")(_check_events)


class MappingConfig(_Frozen):
    """The whole mapping of a tenant. `products` is keyed by the SKU exactly as the sender sends it."""

    products: dict[str, ProductMapping] = Field(default_factory=dict)
    shipping: ShippingMapping = Field(default_factory=ShippingMapping)
    events: EventDocuments = Field(default_factory=dict)
    sources: dict[str, SourceMapping] = Field(default_factory=dict)
    commission: CommissionMapping = Field(default_factory=CommissionMapping)
    customers: CustomerRules = Field(default_factory=CustomerRules)

    _events = field_validator("events")(_check_events)

    def document_for(self, source: str, kind: EventKind) -> DocumentType | None:
        """The document this sender's event asks for: the sender's table, then the tenant's, then the default."""
        for table in (self.sources[source].events if source in self.sources else {}, self.events):
            if kind in table:
                return table[kind]
        return DEFAULT_EVENT_DOCUMENTS.get(kind)

    def order_source(self, source: str) -> str:
        """The sender whose orders `source`'s payments and refunds refer to (itself unless `orders_from`)."""
        own = self.sources.get(source)
        return own.orders_from if own is not None and own.orders_from else source

    def commission_for(self, source: str) -> CommissionMapping:
        own = self.sources.get(source)
        return own.commission if own is not None and own.commission is not None else self.commission
