"""Ingest queue consumer: each delivery → canonical events → PENDING documents on the push queue."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from mutabik.pipeline.mapping import PermanentMappingError, map_delivery, record_failure
from mutabik.pipeline.services import Services

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)
services = Services()


def record_handler(record: SQSRecord) -> None:
    try:
        message = json.loads(record.body)
        message["tenant"], message["source"], message["delivery_id"]
    except (ValueError, KeyError, TypeError):
        # Not ours to parse: keep it, with why, where an operator will see it.
        services.ingest_dlq.send({"raw": record.body}, reason="not an ingest message")
        return
    try:
        map_delivery(message, services)
    except PermanentMappingError as exc:
        # Retrying cannot help: straight to the DLQ with the reason, replayable after a fix.
        logger.warning("delivery dead-lettered", extra={"delivery_id": message["delivery_id"], "reason": str(exc)})
        services.ingest_dlq.send(message, reason=str(exc))
        record_failure(message, str(exc), services, dead=True)
    except Exception as exc:
        record_failure(message, f"{type(exc).__name__}: {exc}", services, dead=False)
        raise


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
