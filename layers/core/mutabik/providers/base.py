"""The Provider protocol every destination implements, and what it answers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from mutabik.model.document import Document, DocumentStatus, DocumentType

if TYPE_CHECKING:
    from mutabik.store.blobs import BlobStore
    from mutabik.store.cache import ScopedCache
    from mutabik.store.secrets import SecretStore
    from mutabik.store.tenants import ProviderSettings, TenantConfig

__all__ = [
    "CAPABILITY_FOR",
    "EARSIV",
    "EFATURA_PROFILES",
    "Capability",
    "DocumentFile",
    "ListedDocument",
    "Outcome",
    "Provider",
    "ProviderContext",
    "RegisteredUser",
    "efatura_profile",
    "never_registered",
    "return_profile",
]

#: e-document profiles (`Document.profile`): e-Arşiv for buyers not on GİB's user list, e-Fatura for those on it.
EARSIV = "EARSIVFATURA"
EFATURA_PROFILES = frozenset({"TEMELFATURA", "TICARIFATURA"})


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
    PDF = "pdf"  # gives the document as a PDF or a link to it
    LIST = "list"  # lists documents of a period (reconciliation)
    USER_LIST = "user_list"  # answers whether a VKN/TCKN is a registered e-Fatura user (GİB's user list)


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
class DocumentFile:
    """A document's printable form: the PDF itself, or where the provider serves it."""

    content: bytes = b""
    url: str = ""
    content_type: str = "application/pdf"


@dataclass(frozen=True)
class ListedDocument:
    """One document as the provider lists it for a period: what reconciliation matches our ledger against."""

    provider_id: str
    issue_date: date
    number: str = ""
    uuid: str = ""  # the ETTN, where the provider knows it
    reference: str = ""  # our reference as we sent it (order number, document key …)
    total: Decimal | None = None  # payable amount, KDV included
    currency: str = "TRY"
    status: str = ""  # the provider's own word


@dataclass(frozen=True)
class RegisteredUser:
    """What GİB's user list says of one VKN/TCKN (e-FaturaPaketi/xsd/Userlist/NewUserList.xsd)."""

    tax_id: str
    registered: bool
    title: str = ""
    aliases: tuple[str, ...] = ()  # receiving mailboxes (PK etiketi), e.g. urn:mail:defaultpk@firma.com.tr


def never_registered(tax_id: str) -> bool:
    """No tax id, or GİB's placeholders (11111111111 final consumer, 2222222222 buyer abroad): never on the user
    list, always e-Arşiv, no lookup needed."""
    from mutabik.model.party import ANONYMOUS_CONSUMER_TCKN, FOREIGN_BUYER_VKN

    return not tax_id or tax_id in (ANONYMOUS_CONSUMER_TCKN, FOREIGN_BUYER_VKN)


def efatura_profile(settings: ProviderSettings) -> str:
    """The tenant's e-Fatura profile at this provider (option `efatura_profile`), TEMELFATURA by default."""
    profile = settings.options.get("efatura_profile", "TEMELFATURA")
    return profile if profile in EFATURA_PROFILES else "TEMELFATURA"


def return_profile(invoice_profile: str) -> str:
    """A return invoice (İADE) goes the way its invoice went, but TICARIFATURA has no İADE: TEMELFATURA then."""
    return "TEMELFATURA" if invoice_profile in EFATURA_PROFILES else EARSIV


@dataclass(frozen=True)
class ProviderContext:
    """What an adapter may use: its tenant's settings and credentials, the bucket, a cache scoped to this tenant
    and provider (contact ids, token leases), an HTTP timeout."""

    tenant: TenantConfig
    settings: ProviderSettings
    secrets: SecretStore
    blobs: BlobStore
    cache: ScopedCache | None = None
    timeout_seconds: float = 20.0


class Provider(ABC):
    """One destination (Paraşüt, an integrator, an ERP …). One module each under `mutabik.providers`.

    `issue` sends every document type the adapter declares: a sales invoice, the return invoice of a refund,
    the cancellation of an issued invoice, a collection (tahsilat) against an invoice. For the last three the
    pusher passes `invoice`, the sales invoice they refer to, already issued at this provider; adapters find
    their own ids for it in `invoice.provider_refs`. Everything else is optional and declared in `capabilities`;
    the pipeline never calls what an adapter does not declare.
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    def __init__(self, context: ProviderContext) -> None:
        self.context = context

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @property
    def secret_name(self) -> str:
        """Where this tenant's credentials for this provider live in Secrets Manager."""
        return self.context.secrets.provider_secret_name(self.context.tenant.tenant, self.name)

    def credentials(self, *, fresh: bool = False) -> dict[str, str]:
        """The tenant's credentials for this provider: a JSON object in Secrets Manager."""
        import json

        from mutabik.providers.exceptions import PermanentProviderError
        from mutabik.store.exceptions import SecretNotFoundError

        try:
            value = json.loads(self.context.secrets.get(self.secret_name, fresh=fresh))
        except (SecretNotFoundError, ValueError) as exc:
            raise PermanentProviderError(
                f"no readable credentials in {self.secret_name}: store a JSON object there", provider=self.name
            ) from exc
        if not isinstance(value, dict):
            raise PermanentProviderError(f"{self.secret_name} must hold a JSON object", provider=self.name)
        return {str(k): str(v) for k, v in value.items()}

    @abstractmethod
    def issue(self, document: Document, invoice: Document | None = None) -> Outcome:
        """Send the document. Raise RetryableProviderError or PermanentProviderError when it does not go
        (WrongProfileError when the provider says the buyer is, or is not, an e-Fatura user)."""

    @abstractmethod
    def find(self, document: Document) -> Outcome | None:
        """The document as the provider has it (by our UUID or reference), or None if it never arrived.
        The pusher asks this before sending again after an interrupted attempt."""

    def status(self, document: Document) -> Outcome:
        """The provider's current verdict on a SUBMITTED document (adapters with Capability.STATUS)."""
        raise self._unsupported("gives no later verdict")

    def pdf(self, document: Document) -> DocumentFile:
        """The issued document as a PDF or a link (Capability.PDF)."""
        raise self._unsupported("serves no PDF")

    def list_documents(self, start: date, end: date) -> Iterator[ListedDocument]:
        """Documents issued from `start` to `end`, both included (Capability.LIST)."""
        raise self._unsupported("cannot list documents")

    def registered_user(self, tax_id: str) -> RegisteredUser:
        """Whether `tax_id` receives e-Fatura, from the provider's copy of GİB's user list (Capability.USER_LIST).
        The pipeline caches the answer in the table; adapters need not."""
        raise self._unsupported("cannot look up GİB's user list")

    def numbers(self, document: Document) -> bool:
        """Whether we give this document its invoice number (`ABC2026000000001`) before sending: true for
        providers that take our UBL as it is; false where the provider numbers (Paraşüt, GİB's portal)."""
        return False

    def check(self, document: Document, number: str, invoice: Document | None = None) -> None:
        """Refuse, with PermanentProviderError, a document that cannot go — before a number is spent on it.
        `number` is a stand-in of the right shape; `invoice` as for `issue`. Providers that write UBL validate
        it here (XSD, and GİB's schematron where they can afford it)."""
        return None

    @property
    def final_on_submit(self) -> bool:
        """Whether SUBMITTED is the end of the road (no verdict will follow)."""
        return not self.supports(Capability.STATUS)

    def _unsupported(self, what: str) -> Exception:
        from mutabik.providers.exceptions import UnsupportedOperationError

        return UnsupportedOperationError(f"{self.name} {what}", provider=self.name)
