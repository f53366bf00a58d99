"""Pushing: move one document through PENDING → SUBMITTING → SUBMITTED → ACCEPTED | REJECTED, exactly once.

Every move is a conditional write on (status, version). A pusher holds a document with a lease while it
talks to the provider. One that finds SUBMITTING with an expired lease knows an attempt was interrupted,
and asks the provider whether the document arrived before it sends again (DESIGN rule 1).
"""

from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools import Logger

from mutabik.model.document import Document, DocumentStatus
from mutabik.pipeline.services import Services
from mutabik.providers import provider_class
from mutabik.providers.base import Capability, Outcome, Provider, ProviderContext
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError
from mutabik.store.exceptions import StaleDocumentError
from mutabik.store.tenants import ProviderSettings

__all__ = ["LEASE", "DocumentBusyError", "NotYetFinalError", "push"]

logger = Logger(child=True)

#: Longer than the pusher's timeout (60 s): a lease outlives the attempt that took it.
LEASE = timedelta(seconds=90)
S = DocumentStatus


class DocumentBusyError(Exception):
    """Another pusher holds the document; try again when its lease ends."""

    def __init__(self, key: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"{key} is being submitted by another attempt")


class NotYetFinalError(Exception):
    """The provider has the document but no verdict yet: ask again later."""

    def __init__(self, key: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(f"{key} awaits the provider's verdict")


def push(key: str, services: Services) -> Document | None:
    """Bring one document as far as it goes now. Returns it, or None if the key is unknown."""
    for _ in range(3):  # a lost race re-reads and decides again
        document = services.documents.get(key)
        if document is None:
            logger.warning("push for an unknown document", extra={"key": key})
            return None
        try:
            return _advance(document, services)
        except StaleDocumentError:
            continue
    raise DocumentBusyError(key, retry_after=services.retry_base_seconds)


def build_provider(document: Document, services: Services) -> Provider:
    tenant = services.tenants.get(document.tenant)
    settings = tenant.providers.get(document.provider, ProviderSettings())
    context = ProviderContext(
        tenant=tenant,
        settings=settings,
        secrets=services.secrets,
        blobs=services.blobs,
        cache=services.cache.scoped(document.tenant, document.provider),
    )
    return provider_class(document.provider)(context)


def _advance(document: Document, services: Services) -> Document:
    if document.status.is_final:
        return document
    provider = build_provider(document, services)
    now = services.clock()
    if document.status is S.SUBMITTED:
        if provider.final_on_submit:
            return document
        return _follow_up(document, provider, services)
    if document.status is S.SUBMITTING:
        if document.lease_until and document.lease_until > now:
            raise DocumentBusyError(document.key, (document.lease_until - now).total_seconds())
        # An earlier attempt was interrupted mid-flight: the provider may have the document already.
        if not provider.supports(Capability.FIND):
            return services.documents.transition(
                document,
                S.REJECTED,
                lease_until=None,
                error=f"an attempt was interrupted and {provider.name} cannot tell whether the document "
                "arrived; check at the provider, then replay with `mutabik documents retry`",
            )
        found = provider.find(document)
        if found is not None:
            logger.info("interrupted attempt had arrived", extra={"key": document.key})
            return _record(document, found, provider, services)
    number = document.number
    if not number and provider.numbers(document):
        try:
            number = _take_number(document, provider, services)
        except PermanentProviderError as exc:
            logger.info("document refused before sending", extra={"key": document.key})
            return services.documents.transition(document, S.REJECTED, lease_until=None, error=str(exc)[:4000])
    held = services.documents.transition(
        document, S.SUBMITTING, lease_until=now + LEASE, attempts=document.attempts + 1, number=number
    )
    try:
        outcome = provider.issue(held)
    except RetryableProviderError as exc:
        # Stay SUBMITTING with the lease released: the next attempt asks the provider before resending,
        # because a timeout does not say whether the document arrived.
        services.documents.transition(held, S.SUBMITTING, lease_until=None, error=str(exc)[:2000])
        raise
    except PermanentProviderError as exc:
        logger.info("document rejected", extra={"key": document.key, "provider": provider.name})
        return services.documents.transition(held, S.REJECTED, lease_until=None, error=str(exc)[:4000])
    return _record(held, outcome, provider, services)


def _take_number(document: Document, provider: Provider, services: Services) -> str:
    """The invoice number the document is sent under, kept on it so every retry sends the same one.
    The content is checked first with a stand-in number: a document refused by the XSD spends no number
    (GİB wants a series without gaps). Raises PermanentProviderError for such a document."""
    from mutabik.store.counters import format_invoice_number

    series, year = services.tenants.get(document.tenant).invoice_series, document.created_at.year
    provider.check(document, format_invoice_number(series, year, 1))
    return services.counters.next_number(document.tenant, series, year)


def _record(document: Document, outcome: Outcome, provider: Provider, services: Services) -> Document:
    recorded = services.documents.transition(
        document,
        outcome.status,
        lease_until=None,
        provider_refs={**document.provider_refs, **outcome.provider_refs},
        number=outcome.number or document.number,
        error=outcome.error,
    )
    logger.info("document recorded", extra={"key": document.key, "status": recorded.status})
    if recorded.status is S.SUBMITTED and not provider.final_on_submit:
        # The verdict comes later: look again after a pause (the push queue, delayed).
        services.push_queue.send({"key": document.key}, delay_seconds=int(services.retry_base_seconds))
    return recorded


def _follow_up(document: Document, provider: Provider, services: Services) -> Document:
    outcome = provider.status(document)
    if outcome.status is S.SUBMITTED:
        raise NotYetFinalError(document.key)
    return services.documents.transition(
        document,
        outcome.status,
        provider_refs={**document.provider_refs, **outcome.provider_refs},
        number=outcome.number or document.number,
        error=outcome.error,
    )
