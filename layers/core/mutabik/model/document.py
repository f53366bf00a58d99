"""Documents we issue at a provider, their key, their deterministic UUID, and the statuses they move through."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DOCUMENT_NAMESPACE",
    "TRANSITIONS",
    "Document",
    "DocumentStatus",
    "DocumentType",
    "document_uuid",
    "is_allowed_transition",
]


class DocumentType(StrEnum):
    SALES_INVOICE = "sales_invoice"  # e-Fatura / e-Arşiv SATIS, or the provider's sales invoice
    RETURN_INVOICE = "return_invoice"  # İADE, refers to the sales invoice it returns
    CANCELLATION = "cancellation"  # cancelling an issued e-Arşiv invoice
    COLLECTION = "collection"  # tahsilat: a payment recorded against an invoice
    DESPATCH_ADVICE = "despatch_advice"  # e-İrsaliye
    JOURNAL_ENTRY = "journal_entry"  # yevmiye fişi: payroll, payouts, fees


class DocumentStatus(StrEnum):
    PENDING = "PENDING"  # decided by the mapper, not yet sent
    SUBMITTING = "SUBMITTING"  # a pusher holds it and is talking to the provider
    SUBMITTED = "SUBMITTED"  # the provider has it; its verdict may come later
    ACCEPTED = "ACCEPTED"  # final: issued
    REJECTED = "REJECTED"  # final: refused, with the provider's words in `error`

    @property
    def is_final(self) -> bool:
        return self in (DocumentStatus.ACCEPTED, DocumentStatus.REJECTED)


S = DocumentStatus
#: Allowed moves. SUBMITTING → SUBMITTING is a retry taking over after a crash (it first asks the provider).
#: REJECTED → PENDING is an operator's replay after fixing the cause; nothing leaves ACCEPTED.
#: PENDING → PENDING notes why a document is held (a refund waiting for its invoice).
TRANSITIONS: dict[DocumentStatus, frozenset[DocumentStatus]] = {
    S.PENDING: frozenset({S.PENDING, S.SUBMITTING, S.REJECTED}),
    S.SUBMITTING: frozenset({S.SUBMITTING, S.SUBMITTED, S.ACCEPTED, S.REJECTED, S.PENDING}),
    S.SUBMITTED: frozenset({S.ACCEPTED, S.REJECTED}),
    S.ACCEPTED: frozenset(),
    S.REJECTED: frozenset({S.PENDING}),
}


def is_allowed_transition(current: DocumentStatus, target: DocumentStatus) -> bool:
    return target in TRANSITIONS[current]


#: Fixed namespace for UUIDv5 of document keys: the same key gives the same ETTN on every machine, forever.
DOCUMENT_NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-5e7f-9c0d-2b3a4e5f6a7b")


def document_uuid(key: str) -> uuid.UUID:
    """The document's ETTN: UUIDv5 of its key, so a retry can ask the provider for it before sending again."""
    return uuid.uuid5(DOCUMENT_NAMESPACE, key)


class Document(BaseModel):
    """A document we issue (or issued) at one provider for one business event of one tenant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str
    provider: str
    type: DocumentType
    source: str
    source_ref: str
    key: str
    uuid: str
    status: DocumentStatus = DocumentStatus.PENDING
    version: int = 0  # bumped on every write: the optimistic lock of conditional updates
    attempts: int = 0
    lease_until: datetime | None = None  # while SUBMITTING: no other pusher touches it before this
    created_at: datetime
    updated_at: datetime
    number: str = ""  # the invoice number (e.g. ABC2026000000001) once known
    #: The e-document profile it goes under (EARSIVFATURA, TEMELFATURA, TICARIFATURA), decided by the pusher
    #: from GİB's user list before the first send and kept for every retry; empty where the provider decides.
    profile: str = ""
    provider_refs: dict[str, str] = Field(default_factory=dict)  # provider's ids, links
    error: str = ""  # the provider's own words on rejection
    payload: dict[str, Any] = Field(default_factory=dict)  # the canonical input the document is made from
