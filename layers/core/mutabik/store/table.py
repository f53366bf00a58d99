"""What every item kind of the single table shares: string key attributes, and the `by_day` index query."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from mutabik.store import keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["query_day", "string_attributes"]


def string_attributes(values: dict[str, str]) -> dict[str, Any]:
    """`{"pk": "…"}` → `{"pk": {"S": "…"}}`, the low-level client's form."""
    return {name: {"S": value} for name, value in values.items()}


def query_day(client: DynamoDBClient, table_name: str, tenant: str, day: date, kind: str) -> list[dict[str, Any]]:
    """Items of one kind (`DOC`, `DELIVERY`) of a tenant's UTC day, oldest first, across pages."""
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("query").paginate(
        TableName=table_name,
        IndexName="by_day",
        KeyConditionExpression="gsi1pk = :day AND begins_with(gsi1sk, :kind)",
        ExpressionAttributeValues={
            ":day": {"S": keys.day_index(tenant, day)},
            ":kind": {"S": f"{kind}{keys.SEP}"},
        },
    ):
        items.extend(page.get("Items", []))
    return items
