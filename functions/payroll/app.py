"""Monthly payroll pulls (EventBridge Scheduler) and on-demand ones: a period's payroll → one journal entry."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from mutabik.payroll.scheduled import run_scheduled
from mutabik.pipeline.services import Services

logger = Logger()
services = Services()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_scheduled(event, services)
