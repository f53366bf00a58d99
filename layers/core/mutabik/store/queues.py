"""SQS queues as the pipeline sees them: send a JSON message, maybe delayed; change a message's visibility."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mutabik.store import clients

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["MAX_MESSAGE_BYTES", "Queue"]

#: SQS's limit is 256 KiB for body and attributes together; keep a margin for the envelope.
MAX_MESSAGE_BYTES = 200 * 1024


class Queue:
    def __init__(self, url: str, client: SQSClient | None = None) -> None:
        self.url = url
        self._client = client

    @property
    def client(self) -> SQSClient:
        return self._client or clients.sqs()

    def send(self, message: dict[str, Any], *, delay_seconds: int = 0, reason: str = "") -> str:
        attributes = {"reason": {"DataType": "String", "StringValue": reason[:1000]}} if reason else {}
        response = self.client.send_message(
            QueueUrl=self.url,
            MessageBody=json.dumps(message, separators=(",", ":"), default=str),
            DelaySeconds=max(0, min(delay_seconds, 900)),  # SQS allows at most 15 minutes
            MessageAttributes=attributes,  # type: ignore[arg-type]
        )
        return response["MessageId"]

    def postpone(self, receipt_handle: str, seconds: int) -> None:
        """Keep a received message invisible for `seconds` (the backoff before its next try)."""
        self.client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, min(seconds, 43200))
        )
