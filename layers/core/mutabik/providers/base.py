"""The Provider protocol every destination implements, and what it answers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from mutabik.model.document import Document, DocumentStatus, DocumentType

if TYPE_CHECKING:
    from mutabik.store.blobs import BlobStore
    from mutabik.store.secrets import SecretStore
    from mutabik.store.tenants import ProviderSettings, TenantConfig

__all__ = ["CAPABILITY_FOR", "Capability", "Outcome", "Provider", "ProviderContext"]


class Capability(StrEnum):
    """What an adapter can do. The mapper routes a document only to a provider that declares its capability."""

    SALES_INVOICE = "sales_invoice"
    RETURN_INVOICE = "return_invoice"
    CANCELLATION = "cancellation"
    COLLECTION = "collection"  # tahsilat against an invoice
    DESPATCH_ADVICE = "despatch_advice"
    JOURNAL_ENTRY = "journal_entry"
    FIND = "find"  # can tell whether a document already exists (by our UUID or reference)
    STATUS = "status"  # gives its verdict later: SUBMITTED is followed up until final
    PDF = "pdf"
    LIST = "list"  # lists documents of a period (reconciliation)


#: The capability a document type needs.
CAPABILITY_FOR: dict[DocumentType, Capability] = {
    DocumentType.SALES_INVOICE: Capability.SALES_INVOICE,
    DocumentType.RETURN_INVOICE: Capability.RETURN_INVOICE,
    DocumentType.CANCELLATION: Capability.CANCELLATION,
    DocumentType.COLLECTION: Capability.COLLECTION,
    DocumentType.DESPATCH_ADVICE: Capability.DESPATCH_ADVICE,
    DocumentType.JOURNAL_ENTRY: Capability.JOURNAL_ENTRY,
}


@dataclass(frozen=True)
class Outcome:
    """Where a document stands at the provider after we sent it or asked about it."""

    status: DocumentStatus  # SUBMITTED, ACCEPTED or REJECTED
    provider_refs: dict[str, str] = field(default_factory=dict)
    number: str = ""
    error: str = ""


@dataclass(frozen=True)
class ProviderContext:
    """What an adapter may use: its tenant's settings and credentials, the bucket, an HTTP timeout."""

    tenant: TenantConfig
    settings: ProviderSettings
    secrets: SecretStore
    blobs: BlobStore
    timeout_seconds: float = 20.0


class Provider(ABC):
    """One destination (Paraşüt, an integrator, an ERP …). One module each under `mutabik.providers`."""

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    def __init__(self, context: ProviderContext) -> None:
        self.context = context

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @abstractmethod
    def issue(self, document: Document) -> Outcome:
        """Send the document. Raise RetryableProviderError or PermanentProviderError when it does not go."""

    @abstractmethod
    def find(self, document: Document) -> Outcome | None:
        """The document as the provider has it (by our UUID or reference), or None if it never arrived.
        The pusher asks this before sending again after an interrupted attempt."""

    def status(self, document: Document) -> Outcome:
        """The provider's current verdict on a SUBMITTED document (adapters with Capability.STATUS)."""
        from mutabik.providers.exceptions import UnsupportedOperationError

        raise UnsupportedOperationError(f"{self.name} gives no later verdict", provider=self.name)

    def numbers(self, document: Document) -> bool:
        """Whether we give this document its invoice number (`ABC2026000000001`) before sending: true for
        providers that take our UBL as it is; false where the provider numbers (Paraşüt, GİB's portal)."""
        return False

    def check(self, document: Document, number: str) -> None:
        """Refuse, with PermanentProviderError, a document that cannot go — before a number is spent on it.
        `number` is a stand-in of the right shape. Providers that write UBL validate it here (XSD)."""
        return None

    @property
    def final_on_submit(self) -> bool:
        """Whether SUBMITTED is the end of the road (no verdict will follow)."""
        return not self.supports(Capability.STATUS)
