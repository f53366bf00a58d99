"""Reconciliation tasks of the state machine: list tenants, reconcile one tenant's day, write the report."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from mutabik.pipeline.services import Services
from mutabik.recon.deliveries import reconcile_tenant, resolve_day, write_report

logger = Logger()
services = Services()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = event.get("action")
    day = resolve_day(event.get("date"), services.clock().date())
    if action == "list_tenants":
        return {"tenants": services.tenants.list(), "date": day.isoformat()}
    if action == "reconcile_tenant":
        return reconcile_tenant(event["tenant"], day, services)
    if action == "write_report":
        return write_report(day.isoformat(), event.get("results", []), services)
    raise ValueError(f"unknown action {action!r}: list_tenants, reconcile_tenant or write_report")
