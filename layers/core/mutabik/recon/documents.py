"""Daily reconciliation against the providers: what we issued is there once, and nothing else is.

For each provider of a tenant that can list its documents (Capability.LIST), the day's list at the provider is
matched with our ledger — by ETTN, else invoice number, else our reference. Three findings need a person:
- `missing_at_provider`: issued by us (ACCEPTED, or SUBMITTED at a provider with no later verdict), not listed;
- `duplicates`: one of our documents matched by more than one listed document — the failure we exist to prevent;
- `unknown_at_provider`: listed, but not ours (issued by hand in the provider's screens, or by another tool).
Our documents are dated by creation (UTC); providers list by issue date (Türkiye, UTC+3, so the same day or the
next). The match therefore lists the provider's day and the next, and looks at our documents of the day before
and after too: an invoice made at 01:30 in Istanbul is neither missing nor unknown.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from mutabik.model.document import Document, DocumentStatus
from mutabik.pipeline.services import Services
from mutabik.providers import is_settled, provider_class
from mutabik.providers.base import Capability, ListedDocument
from mutabik.providers.exceptions import ProviderError

__all__ = ["reconcile_providers"]

logger = Logger(child=True)


def reconcile_providers(tenant: str, day: date, services: Services) -> dict[str, dict[str, Any]]:
    """Per provider of the tenant that can list: counts and the three findings (see the module docstring)."""
    from mutabik.pipeline.pushing import build_provider

    config = services.tenants.get(tenant)
    ours = [d for offset in (-1, 0, 1) for d in services.documents.list_day(tenant, day + timedelta(days=offset))]
    results: dict[str, dict[str, Any]] = {}
    for name in sorted(set(config.routes.values())):
        if Capability.LIST not in provider_class(name).capabilities:
            continue
        mine = [d for d in ours if d.provider == name]
        issued = [d for d in mine if d.status is not DocumentStatus.REJECTED and is_settled(d)]
        if not mine:
            continue
        provider = build_provider(mine[0], services)
        try:
            listed = list(provider.list_documents(day, day + timedelta(days=1)))
        except ProviderError as exc:
            logger.warning("provider could not list", extra={"tenant": tenant, "provider": name})
            results[name] = {"ok": False, "error": str(exc)[:1000]}
            continue
        results[name] = match(issued, listed, day)
    return results


def match(issued: list[Document], listed: list[ListedDocument], day: date) -> dict[str, Any]:
    """Pair the provider's list with our issued documents (pure: tested without a provider)."""
    by_uuid = {d.uuid.lower(): d for d in issued}
    by_number = {d.number: d for d in issued if d.number}
    by_reference = {ref: d for d in issued for ref in (d.key, d.source_ref, d.source_ref.split(":", 1)[-1])}
    matched: dict[str, list[ListedDocument]] = defaultdict(list)
    unknown: list[dict[str, str]] = []
    for entry in listed:
        document = (
            by_uuid.get(entry.uuid.lower())
            or by_number.get(entry.number)
            or (by_reference.get(entry.reference) if entry.reference else None)
        )
        if document is None:
            if entry.issue_date != day:
                continue  # the next day's report speaks of it
            unknown.append({"provider_id": entry.provider_id, "number": entry.number, "status": entry.status})
        else:
            matched[document.key].append(entry)
    of_the_day = [d for d in issued if d.created_at.date() == day]
    missing = [{"document": d.key, "number": d.number} for d in of_the_day if d.key not in matched]
    duplicates = [
        {"document": key, "provider_ids": ",".join(e.provider_id for e in entries)}
        for key, entries in matched.items()
        if len(entries) > 1
    ]
    return {
        "listed": len(listed),
        "issued": len(of_the_day),
        "matched": sum(1 for d in of_the_day if d.key in matched),
        "missing_at_provider": missing,
        "duplicates": duplicates,
        "unknown_at_provider": unknown,
        "ok": not missing and not duplicates,
    }
