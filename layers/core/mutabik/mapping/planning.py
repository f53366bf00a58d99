"""One canonical event → the documents a tenant's mapping asks for, with their payloads already mapped.

Pure: no table, no provider. Routing (which provider), and whether a cancellation has an invoice to cancel,
are the mapper's part (`mutabik.pipeline.mapping`), because they need the ledger.

Payloads, by document type (what adapters read):
- SALES_INVOICE   {"order": Order, "account": {...} (mapping.customers), "mapping": {"skus": {sku: code}}}
- RETURN_INVOICE  {"refund": Refund, "mapping": {...}}
- CANCELLATION    {"cancellation": {"source", "order_ref", "reason"}}
- COLLECTION      {"payment": Payment}
- DESPATCH_ADVICE {"shipment": Shipment, "mapping": {...}}
- JOURNAL_ENTRY   {"payout": Payout, "journal": JournalEntry} for a payout, or
                  {"journal": JournalEntry, "fee": {"payment": ref}} for the fee a PSP kept from a payment.
Refs are namespaced by sender (`shopify:1001`), so two senders' order 1001 are different sales.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mutabik.mapping.config import MappingConfig
from mutabik.mapping.customers import account_for
from mutabik.mapping.fees import payment_fee_entry, payout_entry
from mutabik.mapping.lines import describe, map_order, map_refund, map_shipment
from mutabik.model.document import DocumentType
from mutabik.model.events import (
    CanonicalEvent,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    PaymentCaptured,
    PayoutPaid,
    RefundCreated,
    ShipmentCreated,
)

__all__ = ["PlannedDocument", "event_source", "plan"]


@dataclass(frozen=True)
class PlannedDocument:
    type: DocumentType
    source_ref: str
    payload: dict[str, Any]


def event_source(event: CanonicalEvent) -> str:
    """The sender an event came from (whose table and accounts apply)."""
    if isinstance(event, OrderCancelled):
        return event.source
    if isinstance(event, OrderPlaced | OrderPaid):
        return event.order.source
    if isinstance(event, RefundCreated):
        return event.refund.source
    if isinstance(event, PaymentCaptured):
        return event.payment.source
    if isinstance(event, PayoutPaid):
        return event.payout.source
    return event.shipment.source


def _with_note(payload: dict[str, Any], applied: dict[str, str]) -> dict[str, Any]:
    note = describe(applied)
    return {**payload, "mapping": note} if note else payload


def plan(event: CanonicalEvent, mapping: MappingConfig) -> list[PlannedDocument]:
    """The documents `event` asks for under `mapping` ([] when the tenant's table says nothing for it)."""
    source = event_source(event)
    planned: list[PlannedDocument] = []
    doc_type = mapping.document_for(source, event.kind)
    if isinstance(event, PaymentCaptured):
        # The fee follows the commission settings, whatever the table says of the payment itself.
        fee = payment_fee_entry(event.payment, mapping.commission_for(source))
        if fee is not None:
            payload = {"journal": fee.model_dump(mode="json"), "fee": {"payment": event.payment.source_ref}}
            planned.append(PlannedDocument(DocumentType.JOURNAL_ENTRY, fee.reference, payload))
    if doc_type is None:
        return planned
    orders_from = mapping.order_source(source)

    if isinstance(event, OrderPlaced | OrderPaid):
        order, applied = map_order(event.order, mapping)
        payload = {"order": order.model_dump(mode="json"), "account": account_for(order, mapping.customers)}
        planned.append(PlannedDocument(doc_type, f"{source}:{order.source_ref}", _with_note(payload, applied)))
    elif isinstance(event, OrderCancelled):
        cancellation = {"source": event.source, "order_ref": event.order_ref, "reason": event.reason}
        if orders_from != source:
            cancellation["order_source"] = orders_from
        planned.append(PlannedDocument(doc_type, f"{source}:{event.order_ref}", {"cancellation": cancellation}))
    elif isinstance(event, RefundCreated):
        refund, applied = map_refund(event.refund, mapping)
        if orders_from != source:
            refund = refund.model_copy(update={"order_source": orders_from})
        payload = {"refund": refund.model_dump(mode="json")}
        planned.append(PlannedDocument(doc_type, f"{source}:{refund.source_ref}", _with_note(payload, applied)))
    elif isinstance(event, PaymentCaptured):
        payment = event.payment
        if orders_from != source:
            payment = payment.model_copy(update={"order_source": orders_from})
        payload = {"payment": payment.model_dump(mode="json")}
        planned.insert(0, PlannedDocument(doc_type, f"{source}:{payment.source_ref}", payload))
    elif isinstance(event, PayoutPaid):
        payload = {"payout": event.payout.model_dump(mode="json")}
        entry = payout_entry(event.payout, mapping.commission_for(source))
        if entry is not None:
            payload["journal"] = entry.model_dump(mode="json")
        planned.append(PlannedDocument(doc_type, f"{source}:{event.payout.source_ref}", payload))
    elif isinstance(event, ShipmentCreated):
        shipment, applied = map_shipment(event.shipment, mapping)
        payload = {"shipment": shipment.model_dump(mode="json")}
        planned.append(PlannedDocument(doc_type, f"{source}:{shipment.source_ref}", _with_note(payload, applied)))
    return planned
