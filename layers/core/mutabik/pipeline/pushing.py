"""Pushing: move one document through PENDING → SUBMITTING → SUBMITTED → ACCEPTED | REJECTED, exactly once.

Every move is a conditional write on (status, version). A pusher holds a document with a lease while it
talks to the provider. One that finds SUBMITTING with an expired lease knows an attempt was interrupted,
and asks the provider whether the document arrived before it sends again (DESIGN rule 1).
"""

from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools import Logger

from mutabik.model.document import Document, DocumentStatus, DocumentType
from mutabik.pipeline.profiles import ProfileChooser
from mutabik.pipeline.services import Services
from mutabik.providers import is_settled, provider_class
from mutabik.providers.base import Capability, Outcome, Provider, ProviderContext
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError, WrongProfileError
from mutabik.store import keys
from mutabik.store.exceptions import StaleDocumentError
from mutabik.store.tenants import ProviderSettings, TenantConfig

__all__ = ["LEASE", "AwaitingInvoiceError", "DocumentBusyError", "NotYetFinalError", "push"]

logger = Logger(child=True)

#: Longer than the pusher's timeout (60 s): a lease outlives the attempt that took it.
LEASE = timedelta(seconds=90)
S = DocumentStatus


class DocumentBusyError(Exception):
    """Another pusher holds the document; try again when its lease ends."""

    def __init__(self, key: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"{key} is being submitted by another attempt")


class AwaitingInvoiceError(Exception):
    """A return, collection or cancellation arrived before its sales invoice was issued: held, asked again
    later with backoff. If the invoice is not even planned, the message ends in the push DLQ after its receives,
    replayable; if it is at the provider awaiting a verdict (`invoice_submitted`), the wait may be days (a
    portal draft awaiting signature) and is followed like a verdict, without spending receives."""

    def __init__(self, key: str, invoice_key: str, *, invoice_submitted: bool = False) -> None:
        self.retry_after: float | None = None
        self.invoice_key = invoice_key
        self.invoice_submitted = invoice_submitted
        super().__init__(f"{key} waits for its sales invoice {invoice_key}")


#: Documents that refer to the sales invoice of the same order, and are sent only once it is issued.
REFERS_TO_INVOICE = frozenset({DocumentType.RETURN_INVOICE, DocumentType.COLLECTION, DocumentType.CANCELLATION})


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
    invoice: Document | None = None
    if document.type in REFERS_TO_INVOICE:
        try:
            invoice = _issued_invoice(document, provider.context.tenant, services)
        except AwaitingInvoiceError as exc:
            if document.status is S.PENDING and document.error != str(exc):
                services.documents.transition(document, S.PENDING, error=str(exc))  # `documents list` says why
            raise
        if invoice is None or invoice.status is S.REJECTED:
            return _without_invoice(document, invoice, services)
    chooser = ProfileChooser(services.cache)
    try:
        profile = chooser.choose(document, invoice, provider)
    except PermanentProviderError as exc:
        return services.documents.transition(document, S.REJECTED, lease_until=None, error=str(exc)[:4000])
    number = document.number
    if not number and provider.numbers(document.model_copy(update={"profile": profile})):
        try:
            number = _take_number(document.model_copy(update={"profile": profile}), invoice, provider, services)
        except PermanentProviderError as exc:
            logger.info("document refused before sending", extra={"key": document.key})
            return services.documents.transition(document, S.REJECTED, lease_until=None, error=str(exc)[:4000])
    held = services.documents.transition(
        document,
        S.SUBMITTING,
        lease_until=now + LEASE,
        attempts=document.attempts + 1,
        number=number,
        profile=profile,
        error="",
    )
    sent = held  # the version we hold: a profile flip writes a newer one
    try:
        try:
            outcome = provider.issue(sent, invoice)
        except WrongProfileError as exc:
            sent = _flip_profile(sent, exc, invoice, provider, chooser, services)
            outcome = provider.issue(sent, invoice)
    except RetryableProviderError as exc:
        # Stay SUBMITTING with the lease released: the next attempt asks the provider before resending,
        # because a timeout does not say whether the document arrived.
        services.documents.transition(sent, S.SUBMITTING, lease_until=None, error=str(exc)[:2000])
        raise
    except PermanentProviderError as exc:
        logger.info("document rejected", extra={"key": document.key, "provider": provider.name})
        return services.documents.transition(sent, S.REJECTED, lease_until=None, error=str(exc)[:4000])
    return _record(sent, outcome, provider, services)


def _flip_profile(
    document: Document,
    refusal: WrongProfileError,
    invoice: Document | None,
    provider: Provider,
    chooser: ProfileChooser,
    services: Services,
) -> Document:
    """The provider refused the profile (the user list we went by was stale): the document under the other
    profile, to re-issue once — same key, same ETTN, same number, so the buyer still gets one invoice. Re-raises
    the refusal when there is nothing better to try (we had not chosen, or it contradicts itself)."""
    other = chooser.learn(document, invoice, provider, registered=refusal.registered)
    if not document.profile or other == document.profile:
        raise refusal
    logger.info("re-issuing under the other profile", extra={"key": document.key, "profile": other})
    return services.documents.transition(document, S.SUBMITTING, profile=other, error=str(refusal)[:2000])


def _issued_invoice(document: Document, tenant: TenantConfig, services: Services) -> Document | None:
    """The sales invoice of the order a return, collection or cancellation refers to, once it is settled
    (or REJECTED, which the caller reports); None while it is missing or on its way."""
    ((_, body),) = document.payload.items()
    # A payment provider's refund of a shop's order names the shop as `order_source` (mapping's `orders_from`).
    order_ref = str(body.get("order_ref") or "")
    source = str(body.get("order_source") or body.get("source") or document.source)
    if not order_ref:
        return None
    invoice_provider = tenant.routes.get(DocumentType.SALES_INVOICE, document.provider)
    invoice_key = keys.document_key(
        document.tenant, invoice_provider, DocumentType.SALES_INVOICE, f"{source}:{order_ref}"
    )
    invoice = services.documents.get(invoice_key)
    if invoice is None:
        raise AwaitingInvoiceError(document.key, invoice_key)
    if invoice.status is S.REJECTED or is_settled(invoice):
        return invoice
    if invoice.status is S.SUBMITTED:
        if document.type is DocumentType.CANCELLATION:
            return invoice  # the provider has it: withdrawing it before its verdict is the adapter's call
        raise AwaitingInvoiceError(document.key, invoice_key, invoice_submitted=True)
    raise AwaitingInvoiceError(document.key, invoice_key)


def _without_invoice(document: Document, invoice: Document | None, services: Services) -> Document:
    """A document whose invoice will never be issued: it cannot be issued either; say why."""
    if invoice is None:
        error = f"the {document.type.value.replace('_', ' ')} names no order, so there is no invoice it refers to"
    else:
        error = f"its sales invoice {invoice.key} was rejected: {invoice.error}"
    return services.documents.transition(document, S.REJECTED, lease_until=None, error=error[:4000])


def _take_number(document: Document, invoice: Document | None, provider: Provider, services: Services) -> str:
    """The invoice number the document is sent under, kept on it so every retry sends the same one.
    The content is checked first with a stand-in number: a document refused by the XSD spends no number
    (GİB wants a series without gaps). Raises PermanentProviderError for such a document."""
    from mutabik.store.counters import format_invoice_number

    series, year = provider.context.tenant.invoice_series, document.created_at.year
    provider.check(document, format_invoice_number(series, year, 1), invoice)
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
