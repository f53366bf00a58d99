"""Push queue consumer: each message names one document; bring it to the provider exactly once."""

from __future__ import annotations

import json
import random
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from mutabik.pipeline.pushing import AwaitingInvoiceError, DocumentBusyError, NotYetFinalError, push
from mutabik.pipeline.services import Services
from mutabik.providers.exceptions import RetryableProviderError

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
services = Services()

#: SQS keeps a message invisible for at most 12 hours; our backoff stops growing at 15 minutes.
MAX_BACKOFF_SECONDS = 900


def backoff_seconds(receive_count: int, retry_after: float | None) -> int:
    """Exponential backoff with full jitter, or the provider's Retry-After when it gives one."""
    if retry_after is not None:
        return int(min(MAX_BACKOFF_SECONDS, max(1.0, retry_after)))
    ceiling = min(MAX_BACKOFF_SECONDS, services.retry_base_seconds * 2 ** max(0, receive_count - 1))
    return max(1, int(random.uniform(ceiling / 2, ceiling)))  # noqa: S311 - jitter, not security


def record_handler(record: SQSRecord) -> None:
    key = json.loads(record.body)["key"]
    try:
        document = push(key, services)
    except (RetryableProviderError, DocumentBusyError, NotYetFinalError, AwaitingInvoiceError) as exc:
        delay = backoff_seconds(int(record.attributes.approximate_receive_count or 1), exc.retry_after)
        logger.info("push postponed", extra={"key": key, "reason": type(exc).__name__, "delay": delay})
        services.push_queue.postpone(record.receipt_handle, delay)
        raise
    if document is not None:
        metrics.add_metric(name=f"Documents{document.status.title()}", unit=MetricUnit.Count, value=1)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
