"""Ingest queue consumer: each delivery → canonical events → PENDING documents on the push queue.

Most messages are the webhook's ingest messages. Senders that never call the webhook put their own messages
on the queue (Amazon SP-API: EventBridge events, or SQS-workflow notifications): those are admitted first,
their tenant found by the seller and the delivery recorded once, then mapped the same way.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from mutabik.pipeline.intake import UnroutableDeliveryError, admit
from mutabik.pipeline.mapping import PermanentMappingError, map_delivery, record_failure
from mutabik.pipeline.services import Services

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)
services = Services()

_INGEST_KEYS = ("tenant", "source", "delivery_id")


def record_handler(record: SQSRecord) -> None:
    try:
        message: Any = json.loads(record.body)
    except ValueError:
        # Not ours to parse: keep it, with why, where an operator will see it.
        services.ingest_dlq.send({"raw": record.body}, reason="not an ingest message")
        return
    if not (isinstance(message, dict) and all(isinstance(message.get(k), str) for k in _INGEST_KEYS)):
        try:
            message = admit(record.body, message, services)
        except UnroutableDeliveryError as exc:
            # Kept as it arrived, so a redrive after the tenant is set up admits it again.
            logger.warning("queue message dead-lettered", extra={"reason": str(exc)})
            services.ingest_dlq.send(message if isinstance(message, dict) else {"raw": record.body}, reason=str(exc))
            return
        if message is None:
            return  # a repeat of a delivery already mapped
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
