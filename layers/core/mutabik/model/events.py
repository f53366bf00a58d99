"""Canonical events: what a sender told us, in one vocabulary, whatever the sender was."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from mutabik.model.commerce import Order, Payment, Payout, Refund, Shipment

__all__ = [
    "CanonicalEvent",
    "EventKind",
    "OrderCancelled",
    "OrderPaid",
    "OrderPlaced",
    "PaymentCaptured",
    "PayoutPaid",
    "RefundCreated",
    "ShipmentCreated",
    "canonical_event_adapter",
]


class EventKind(StrEnum):
    ORDER_PLACED = "order.placed"
    ORDER_PAID = "order.paid"
    ORDER_CANCELLED = "order.cancelled"
    REFUND_CREATED = "refund.created"
    PAYMENT_CAPTURED = "payment.captured"
    PAYOUT_PAID = "payout.paid"
    SHIPMENT_CREATED = "shipment.created"


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    occurred_at: datetime


class OrderPlaced(_Event):
    kind: Literal[EventKind.ORDER_PLACED] = EventKind.ORDER_PLACED
    order: Order


class OrderPaid(_Event):
    kind: Literal[EventKind.ORDER_PAID] = EventKind.ORDER_PAID
    order: Order


class OrderCancelled(_Event):
    kind: Literal[EventKind.ORDER_CANCELLED] = EventKind.ORDER_CANCELLED
    source: str
    order_ref: str
    reason: str = ""


class RefundCreated(_Event):
    kind: Literal[EventKind.REFUND_CREATED] = EventKind.REFUND_CREATED
    refund: Refund


class PaymentCaptured(_Event):
    kind: Literal[EventKind.PAYMENT_CAPTURED] = EventKind.PAYMENT_CAPTURED
    payment: Payment


class PayoutPaid(_Event):
    kind: Literal[EventKind.PAYOUT_PAID] = EventKind.PAYOUT_PAID
    payout: Payout


class ShipmentCreated(_Event):
    kind: Literal[EventKind.SHIPMENT_CREATED] = EventKind.SHIPMENT_CREATED
    shipment: Shipment


CanonicalEvent = Annotated[
    OrderPlaced | OrderPaid | OrderCancelled | RefundCreated | PaymentCaptured | PayoutPaid | ShipmentCreated,
    Field(discriminator="kind"),
]

#: Reads any canonical event back from JSON (queues carry them as JSON).
canonical_event_adapter: TypeAdapter[CanonicalEvent] = TypeAdapter(CanonicalEvent)
