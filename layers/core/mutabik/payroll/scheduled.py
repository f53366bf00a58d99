"""The monthly payroll run: every tenant with a payroll section (or the one named), one period each.

Event (EventBridge Scheduler's Input, or a manual invoke): {"period": "previous" | "YYYY-MM", "tenant": "…"}.
`previous` (the default) is the month before today's (UTC): the schedule runs early in the month, when last
month's payroll is calculated. Each tenant is pulled independently; one refusing tenant never stops the others.
When an HR system was unreachable the run raises at the end, after the others are done, so that Lambda's retry
tries again (every pull is idempotent by period: the done ones answer "unchanged").
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from mutabik.payroll.exceptions import PayrollError, PayrollUnavailableError
from mutabik.payroll.period import parse_period, previous_period
from mutabik.payroll.pull import pull
from mutabik.pipeline.services import Services

__all__ = ["PayrollRunIncompleteError", "run_scheduled"]

logger = Logger(child=True)


class PayrollRunIncompleteError(PayrollError):
    """Some HR systems did not answer: the run is to be retried (the rest are already done)."""


def run_scheduled(event: dict[str, Any], services: Services) -> dict[str, Any]:
    requested = str(event.get("period") or "previous")
    period = previous_period(services.clock().date()) if requested == "previous" else parse_period(requested)
    tenants = [str(event["tenant"])] if event.get("tenant") else _payroll_tenants(services)
    results: list[dict[str, Any]] = []
    unavailable: list[str] = []
    for tenant in tenants:
        try:
            result = pull(tenant, period, services)
        except PayrollUnavailableError as exc:
            unavailable.append(tenant)
            results.append({"tenant": tenant, "period": period, "outcome": "unavailable", "message": str(exc)})
        except PayrollError as exc:
            results.append({"tenant": tenant, "period": period, "outcome": "refused", "message": str(exc)})
        else:
            results.append({k: v for k, v in result.as_dict().items() if k != "entry"})
    logger.info("payroll run", extra={"period": period, "outcomes": [r["outcome"] for r in results]})
    if unavailable:
        raise PayrollRunIncompleteError(f"payroll {period}: no answer for {', '.join(unavailable)}; retry")
    return {"period": period, "results": results}


def _payroll_tenants(services: Services) -> list[str]:
    return [name for name in services.tenants.list() if services.tenants.get(name).payroll is not None]
