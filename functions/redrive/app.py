"""Operator entry point: replay a DLQ into its queue. Event: {"queue": "ingest" | "push", "limit": 1000}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from mutabik.pipeline.redrive import redrive
from mutabik.pipeline.services import Services

logger = Logger()
services = Services()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    queue = event.get("queue", "ingest")
    pairs = {
        "ingest": (services.ingest_dlq, services.ingest_queue),
        "push": (services.push_dlq, services.push_queue),
    }
    if queue not in pairs:
        raise ValueError(f"queue must be one of {sorted(pairs)}, got {queue!r}")
    dlq, target = pairs[queue]
    result = redrive(dlq, target, limit=int(event.get("limit", 1000)))
    logger.info("redrive done", extra={"queue": queue, "moved": result.moved, "remaining": result.remaining})
    return {"queue": queue, "moved": result.moved, "remaining": result.remaining}
