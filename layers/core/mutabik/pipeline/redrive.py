"""Redrive: move dead letters back to their queue (receive → send → delete), oldest first, bounded."""

from __future__ import annotations

from dataclasses import dataclass

from mutabik.store.queues import Queue

__all__ = ["RedriveResult", "redrive"]


@dataclass(frozen=True)
class RedriveResult:
    moved: int
    remaining: bool  # stopped at the limit with messages left


def redrive(dlq: Queue, target: Queue, *, limit: int = 1000) -> RedriveResult:
    """Replay up to `limit` messages. A message is deleted from the DLQ only after it is on the target
    queue, so a crash in between replays it twice (harmless: every stage is idempotent), never zero times.
    (SQS StartMessageMoveTask does the same on AWS; moto lacks it, and this works on both.)"""
    moved = 0
    while moved < limit:
        response = dlq.client.receive_message(
            QueueUrl=dlq.url,
            MaxNumberOfMessages=min(10, limit - moved),
            WaitTimeSeconds=0,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return RedriveResult(moved, remaining=False)
        for message in messages:
            target.client.send_message(QueueUrl=target.url, MessageBody=message["Body"])
            dlq.client.delete_message(QueueUrl=dlq.url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return RedriveResult(moved, remaining=True)
