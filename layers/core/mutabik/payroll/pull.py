"""A payroll pull: one period from the tenant's HR system → one balanced JOURNAL_ENTRY, exactly once.

    pull(tenant, "2026-10") ─ fetch the run ─ check it adds up ─ accrual entry ─ document `payroll:2026-10`
                                                                                 (PENDING, on the push queue)

The document key is `tenant#provider#journal_entry#payroll:<period>`, created with a conditional write, so a
second pull of the same period finds it and posts nothing new. If the payroll changed after it was posted
(another fingerprint), the pull reports the change and leaves the posted entry alone: a correction of a posted
payroll is the accountant's decision (a reversing entry), not ours. A payroll that does not add up is refused
with its reasons and nothing is posted. Each pull is recorded as a delivery of the sender `payroll` (id: the
period), so the daily reconciliation accounts for it like any webhook.

Scheduled monthly (functions/payroll, EventBridge Scheduler) or on demand (`mutabik payroll pull`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from mutabik.model.document import DocumentType
from mutabik.payroll.accrual import accrual_entry
from mutabik.payroll.exceptions import PayrollAuthError, PayrollError, PayrollNotConfiguredError
from mutabik.payroll.period import Period, parse_period
from mutabik.payroll.run import PayrollRun, check_totals
from mutabik.payroll.settings import PayrollSettings
from mutabik.pipeline.services import Services
from mutabik.store import keys
from mutabik.store.deliveries import DeliveryRecord, DeliveryState
from mutabik.store.exceptions import SecretNotFoundError

__all__ = ["SOURCE", "PayrollSystem", "PullOutcome", "PullResult", "pull"]

logger = Logger(child=True)

#: The sender name of payroll pulls: their secret is `<prefix>/<tenant>/sources/payroll`, their deliveries
#: `DELIVERY#<tenant>#payroll#<period>`.
SOURCE = "payroll"


class PayrollSystem(Protocol):
    def fetch(self, period: Period) -> PayrollRun: ...

    def close(self) -> None: ...


#: How a pull reaches the tenant's HR system: (settings, credentials) → a client. A seam for tests.
SystemFactory = Callable[[PayrollSettings, dict[str, str]], PayrollSystem]


class PullOutcome(StrEnum):
    POSTED = "posted"  # a new journal entry, PENDING and on the push queue
    UNCHANGED = "unchanged"  # the same payroll was pulled before: nothing new
    CHANGED = "changed"  # the payroll differs from the one posted: reported, not posted again
    PREVIEW = "preview"  # a dry run: the entry that would be posted


@dataclass(frozen=True)
class PullResult:
    tenant: str
    period: str
    outcome: PullOutcome
    document_key: str
    message: str
    entry: dict[str, Any]  # the journal entry (this pull's), for display

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def elektraweb(settings: PayrollSettings, credentials: dict[str, str]) -> PayrollSystem:
    from mutabik.payroll.elektraweb import ElektrawebPayroll

    return ElektrawebPayroll(settings.base_url, credentials, settings.options)


SYSTEMS: dict[str, SystemFactory] = {"elektraweb": elektraweb}


def pull(
    tenant_id: str,
    period_text: str,
    services: Services,
    *,
    post: bool = True,
    system: SystemFactory | None = None,
) -> PullResult:
    """Pull one period for one tenant. Raises PayrollError (or a subclass) when nothing could be posted."""
    period = parse_period(period_text)
    tenant = services.tenants.get(tenant_id)
    settings = tenant.payroll
    if settings is None:
        raise PayrollNotConfiguredError(f"tenant {tenant_id} has no payroll section (see docs/payroll.md)")
    provider = settings.provider or tenant.routes.get(DocumentType.JOURNAL_ENTRY, "")
    if not provider:
        raise PayrollNotConfiguredError(f"tenant {tenant_id} routes journal entries to no provider")
    key = keys.document_key(tenant_id, provider, DocumentType.JOURNAL_ENTRY, f"{SOURCE}:{period}")

    try:
        run = _fetch(settings, _credentials(services, tenant_id), period, system or SYSTEMS[settings.system])
        check_totals(run)
        entry = accrual_entry(run, period, settings.accounts)
    except PayrollError as exc:
        if post:
            _record(services, tenant_id, period, DeliveryState.FAILED, reason=str(exc))
        logger.warning("payroll pull refused", extra={"tenant": tenant_id, "period": period, "reason": str(exc)})
        raise
    summary = {
        "period": period,
        "system": settings.system,
        "employees": len(run.lines),
        "totals": {name: str(value) for name, value in run.totals.amounts().items()},
        "fingerprint": run.fingerprint(),
    }
    shown = entry.model_dump(mode="json")
    if not post:
        return PullResult(tenant_id, period, PullOutcome.PREVIEW, key, "not posted (dry run)", shown)

    from mutabik.mapping.planning import PlannedDocument
    from mutabik.pipeline.mapping import create_and_queue

    existing = services.documents.get(key)
    planned = PlannedDocument(DocumentType.JOURNAL_ENTRY, f"{SOURCE}:{period}", {"journal": shown, "payroll": summary})
    # Created once (conditional write); a later pull finds it, and re-queues it only if it is not settled.
    document = create_and_queue(tenant, provider, SOURCE, planned, services)
    posted = document.payload.get("payroll", {})
    if posted.get("fingerprint") != summary["fingerprint"]:
        message = _changes(posted, summary)
        _record(services, tenant_id, period, DeliveryState.MAPPED, documents=(key,), reason=message)
        logger.warning("payroll changed after posting", extra={"tenant": tenant_id, "period": period, "key": key})
        return PullResult(tenant_id, period, PullOutcome.CHANGED, key, message, shown)
    _record(services, tenant_id, period, DeliveryState.MAPPED, documents=(key,))
    if existing is not None:
        message = f"already posted as {key} ({existing.status}); nothing new"
        return PullResult(tenant_id, period, PullOutcome.UNCHANGED, key, message, shown)
    logger.info("payroll posted", extra={"tenant": tenant_id, "period": period, "key": key})
    return PullResult(tenant_id, period, PullOutcome.POSTED, key, f"posted as {key}", shown)


def _credentials(services: Services, tenant_id: str) -> dict[str, str]:
    name = keys.source_secret_name(services.secrets.prefix, tenant_id, SOURCE)
    try:
        data = json.loads(services.secrets.get(name))
    except SecretNotFoundError as exc:
        raise PayrollAuthError(f"no payroll credentials: secret {name} is not readable") from exc
    except ValueError as exc:
        raise PayrollAuthError(f"secret {name} is not the JSON object docs/payroll.md describes") from exc
    if not isinstance(data, dict):
        raise PayrollAuthError(f"secret {name} is not the JSON object docs/payroll.md describes")
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _fetch(settings: PayrollSettings, credentials: dict[str, str], period: Period, system: SystemFactory) -> PayrollRun:
    client = system(settings, credentials)
    try:
        return client.fetch(period)
    finally:
        client.close()


def _changes(posted: dict[str, Any], now: dict[str, Any]) -> str:
    """What differs between the posted payroll and this one, in totals (never per person)."""
    before, after = posted.get("totals", {}), now["totals"]
    differences = [
        f"{name} {before.get(name, '?')} → {value}" for name, value in after.items() if before.get(name) != value
    ]
    if posted.get("employees") != now["employees"]:
        differences.insert(0, f"employees {posted.get('employees', '?')} → {now['employees']}")
    detail = ", ".join(differences) or "figures of individual employees"
    return (
        f"payroll {now['period']} changed after it was posted ({detail}); the posted entry stands: book a "
        "correction (reversing entry) if the change is right"
    )


def _record(
    services: Services,
    tenant_id: str,
    period: Period,
    state: DeliveryState,
    *,
    documents: tuple[str, ...] = (),
    reason: str = "",
) -> None:
    """Note the pull in the delivery log (reconciliation reads it); a failure never overwrites a posting."""
    record, first = services.deliveries.record(
        DeliveryRecord(
            tenant=tenant_id,
            source=SOURCE,
            delivery_id=period,
            topic="payroll.pull",
            state=state,
            received_at=services.clock(),
            documents=documents,
            reason=reason[:1000],
        )
    )
    if first or (state is DeliveryState.FAILED and record.state is DeliveryState.MAPPED):
        return
    services.deliveries.update(record, state=state, documents=documents or record.documents, reason=reason[:1000])
