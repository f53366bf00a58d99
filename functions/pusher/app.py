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

#: Our backoff stops growing at 90 × the retry base: 15 minutes in AWS, which is also SQS's longest delay.
BACKOFF_CAP_FACTOR = 90


def backoff_seconds(attempt: int, retry_after: float | None) -> int:
    """Exponential backoff with full jitter, or the provider's Retry-After when it gives one."""
    cap = min(900.0, services.retry_base_seconds * BACKOFF_CAP_FACTOR)
    if retry_after is not None:
        return int(min(cap, max(1.0, retry_after)))
    ceiling = min(cap, services.retry_base_seconds * 2 ** max(0, attempt - 1))
    return max(1, int(random.uniform(ceiling / 2, ceiling)))  # noqa: S311 - jitter, not security


def record_handler(record: SQSRecord) -> None:
    body = json.loads(record.body)
    key = body["key"]
    try:
        document = push(key, services)
    except NotYetFinalError as exc:
        follow_up(key, int(body.get("follow_up", 0)) + 1, exc.retry_after)
        return
    except AwaitingInvoiceError as exc:
        if not exc.invoice_submitted:
            postpone(record, key, exc)
            raise
        follow_up(key, int(body.get("follow_up", 0)) + 1, exc.retry_after)
        return
    except (RetryableProviderError, DocumentBusyError) as exc:
        postpone(record, key, exc)
        raise
    if document is not None:
        metrics.add_metric(name=f"Documents{document.status.title()}", unit=MetricUnit.Count, value=1)


def postpone(record: SQSRecord, key: str, exc: Exception) -> None:
    """Back off before the next receive of this message (so that, after 8 receives, it rests in the DLQ)."""
    delay = backoff_seconds(int(record.attributes.approximate_receive_count or 1), getattr(exc, "retry_after", None))
    logger.info("push postponed", extra={"key": key, "reason": type(exc).__name__, "delay": delay})
    services.push_queue.postpone(record.receipt_handle, delay)


def follow_up(key: str, count: int, retry_after: float | None) -> None:
    """Ask the provider again later for the verdict on a SUBMITTED document, as a fresh delayed message: a
    verdict may take days (a GİB portal draft waits for the seller's SMS signature), so the wait must not use up
    the message's receive count and land in the DLQ. After MAX_FOLLOW_UPS asks we stop; the document stays
    SUBMITTED, and `mutabik documents` and the daily reconciliation show it as unsettled."""
    if count > services.max_follow_ups:
        logger.warning("verdict still pending; follow-up stopped", extra={"key": key, "follow_ups": count - 1})
        metrics.add_metric(name="FollowUpsExhausted", unit=MetricUnit.Count, value=1)
        return
    delay = backoff_seconds(count, retry_after)
    services.push_queue.send({"key": key, "follow_up": count}, delay_seconds=delay)
    logger.info("verdict pending; asking again later", extra={"key": key, "follow_up": count, "delay": delay})


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
