"""Lambda's SQS event source mapping: poll a queue, hand batches to the function, delete what succeeded.

As on AWS: a batch whose handler raises is retried whole; with ReportBatchItemFailures only the listed
messages stay; a message that is not deleted comes back after its visibility timeout, and moto moves it
to the DLQ once it has been received maxReceiveCount times.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

from mutabik_local.functions import FunctionHost
from mutabik_local.stack import SqsMapping

__all__ = ["QueuePoller"]

log = logging.getLogger("mutabik.local")


class QueuePoller:
    def __init__(self, mapping: SqsMapping, host: FunctionHost, sqs: Any, region: str) -> None:
        self.mapping = mapping
        self.host = host
        self.sqs = sqs
        self.region = region
        self.stopping = threading.Event()
        self.busy = threading.Event()  # set while a batch is in the handler
        self.thread = threading.Thread(target=self._run, name=f"poll-{mapping.function}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:  # keep polling, as the event source mapping does
                log.exception("poller for %s failed", self.mapping.function)
                self.stopping.wait(1)

    def poll_once(self, wait_seconds: int = 0) -> int:
        response = self.sqs.receive_message(
            QueueUrl=self.mapping.queue_url,
            MaxNumberOfMessages=self.mapping.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        self.busy.set()
        try:
            self._deliver(messages)
        finally:
            self.busy.clear()
        return len(messages)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._record(m) for m in messages]}
        try:
            result = self.host.invoke(self.mapping.function, event)
        except Exception:
            log.exception("%s failed a batch of %d; it will be retried", self.mapping.function, len(messages))
            return
        failed: set[str] = set()
        if self.mapping.report_failures and isinstance(result, dict):
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attributes.get("SentTimestamp", "0"),
                "SenderId": attributes.get("SenderId", "local"),
                "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
            },
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value.get("DataType", "String"),
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": hashlib.md5(message["Body"].encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.mapping.queue_arn,
            "awsRegion": self.region,
        }
