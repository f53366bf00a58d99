"""The delivery log: dedupe of webhook deliveries, and what became of each one (reconciliation reads it)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from mutabik.store import clients, keys
from mutabik.store.table import query_day, string_attributes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DeliveryLog", "DeliveryRecord", "DeliveryState"]

#: Senders retry for hours (Shopify 4 h, Stripe 3 days); dedupe outlives them, and a month of days stays
#: reconcilable. DynamoDB deletes expired items within days of `expires_at`, never before.
DEDUPE_TTL = timedelta(days=35)


class DeliveryState(StrEnum):
    RECEIVED = "RECEIVED"  # recorded, not yet on the ingest queue
    ENQUEUED = "ENQUEUED"  # on the ingest queue
    MAPPED = "MAPPED"  # documents decided (`documents` lists their keys)
    IGNORED = "IGNORED"  # nothing to issue (a topic we take but do not act on), `reason` says why
    HELD = "HELD"  # waiting for an earlier event (e.g. a refund before its order), `reason` says which
    FAILED = "FAILED"  # sent to the DLQ, `reason` says why; replayable


class DeliveryRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant: str
    source: str
    delivery_id: str
    topic: str = ""
    state: DeliveryState
    received_at: datetime
    payload_ref: str = ""  # S3 key when the body was too large for a message
    documents: tuple[str, ...] = ()
    reason: str = ""
    attempts: int = 0


class DeliveryLog:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or clients.dynamodb()

    def record(self, record: DeliveryRecord) -> tuple[DeliveryRecord, bool]:
        """Record a delivery unless it was seen; returns (the stored record, first time?)."""
        from botocore.exceptions import ClientError

        expires = int((record.received_at + DEDUPE_TTL).timestamp())
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    **_key(record.tenant, record.source, record.delivery_id),
                    "gsi1pk": {"S": keys.day_index(record.tenant, record.received_at.date())},
                    "gsi1sk": {"S": keys.SEP.join(("DELIVERY", record.received_at.isoformat(), record.delivery_id))},
                    "state": {"S": record.state.value},
                    "expires_at": {"N": str(expires)},
                    "body": {"S": record.model_dump_json()},
                },
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            existing: Any = exc.response.get("Item")
            if existing:
                return DeliveryRecord.model_validate_json(existing["body"]["S"]), False
            found = self.get(record.tenant, record.source, record.delivery_id)
            return (found or record), False
        return record, True

    def get(self, tenant: str, source: str, delivery_id: str) -> DeliveryRecord | None:
        response = self.client.get_item(
            TableName=self.table_name, Key=_key(tenant, source, delivery_id), ConsistentRead=True
        )
        item = response.get("Item")
        return DeliveryRecord.model_validate_json(item["body"]["S"]) if item else None

    def update(
        self, record: DeliveryRecord, *, only_if: DeliveryState | None = None, **changes: Any
    ) -> DeliveryRecord | None:
        """Record what became of a delivery. With `only_if`, only while the stored state is still that one
        (the webhook's ENQUEUED must not overwrite a MAPPED the mapper wrote first); None when it was not."""
        from botocore.exceptions import ClientError

        updated = record.model_copy(update=changes)
        condition, values = "attribute_exists(pk)", {}
        if only_if is not None:
            condition += " AND #state = :expected"
            values[":expected"] = {"S": only_if.value}
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_key(record.tenant, record.source, record.delivery_id),
                UpdateExpression="SET #state = :state, #body = :body",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#state": "state", "#body": "body"},
                ExpressionAttributeValues={
                    ":state": {"S": updated.state.value},
                    ":body": {"S": updated.model_dump_json()},
                    **values,
                },
            )
        except ClientError as exc:
            if only_if is None or exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return None
        return updated

    def list_day(self, tenant: str, day: date) -> list[DeliveryRecord]:
        items = query_day(self.client, self.table_name, tenant, day, "DELIVERY")
        return [DeliveryRecord.model_validate_json(item["body"]["S"]) for item in items]


def _key(tenant: str, source: str, delivery_id: str) -> dict[str, Any]:
    return string_attributes(keys.delivery_key(tenant, source, delivery_id))
