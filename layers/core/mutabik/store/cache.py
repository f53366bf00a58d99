"""Small facts providers need to remember, in the ledger table: what a provider calls our buyer (its contact id),
whether a VKN is a registered e-Fatura user, who is refreshing an OAuth token right now.

Three operations, each one DynamoDB call:
- `get` / `put`: a JSON value with an optional time to live. An expired value is treated as absent at once,
  whatever DynamoDB's TTL sweeper has done (it deletes within days, not seconds).
- `put_if_absent`: a conditional put, so two pushers that both create the same contact learn which one won.
- `claim` / `release`: a lease, for work only one caller may do at a time (a token refresh).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mutabik.store import clients, keys
from mutabik.store.table import string_attributes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["Cache", "ScopedCache"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Cache:
    """Namespaced values under `CACHE#namespace#ident`. The boto3 client can be injected (tests)."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.table_name = table_name
        self._client = client
        self.clock = clock

    @property
    def client(self) -> DynamoDBClient:
        return self._client or clients.dynamodb()

    def _key(self, namespace: str, ident: str) -> dict[str, Any]:
        return string_attributes(keys.cache_key(namespace, ident))

    def _item(self, namespace: str, ident: str, value: Any, ttl: timedelta | None) -> dict[str, Any]:
        item: dict[str, Any] = {**self._key(namespace, ident), "value": {"S": json.dumps(value, default=str)}}
        if ttl is not None:
            item["expires_at"] = {"N": str(int((self.clock() + ttl).timestamp()))}
        return item

    def get(self, namespace: str, ident: str) -> Any | None:
        item = self.client.get_item(TableName=self.table_name, Key=self._key(namespace, ident), ConsistentRead=True)
        found = item.get("Item")
        if not found or self._expired(found):
            return None
        return json.loads(found["value"]["S"])

    def put(self, namespace: str, ident: str, value: Any, ttl: timedelta | None = None) -> None:
        self.client.put_item(TableName=self.table_name, Item=self._item(namespace, ident, value, ttl))

    def put_if_absent(self, namespace: str, ident: str, value: Any, ttl: timedelta | None = None) -> Any:
        """Store `value` unless a live value is there; returns the value that is there afterwards."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._item(namespace, ident, value, ttl),
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(int(self.clock().timestamp()))}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            existing = self.get(namespace, ident)
            return value if existing is None else existing
        return value

    def delete(self, namespace: str, ident: str) -> None:
        self.client.delete_item(TableName=self.table_name, Key=self._key(namespace, ident))

    def claim(self, namespace: str, ident: str, owner: str, lease: timedelta) -> bool:
        """Take the lease named by (namespace, ident) for `owner` unless someone else holds a live one."""
        now = self.clock()
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._item(namespace, ident, {"owner": owner}, lease),
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now OR #v = :mine",
                ExpressionAttributeNames={"#v": "value"},
                ExpressionAttributeValues={
                    ":now": {"N": str(int(now.timestamp()))},
                    ":mine": {"S": json.dumps({"owner": owner})},
                },
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, namespace: str, ident: str, owner: str) -> None:
        """Give the lease back, if it is still ours (an expired lease may have passed to someone else)."""
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.delete_item(
                TableName=self.table_name,
                Key=self._key(namespace, ident),
                ConditionExpression="#v = :mine",
                ExpressionAttributeNames={"#v": "value"},
                ExpressionAttributeValues={":mine": {"S": json.dumps({"owner": owner})}},
            )

    def scoped(self, *scope: str) -> ScopedCache:
        return ScopedCache(self, "/".join(scope))

    def _expired(self, item: dict[str, Any]) -> bool:
        expires = item.get("expires_at")
        return expires is not None and int(expires["N"]) <= self.clock().timestamp()


class ScopedCache:
    """The part of the cache one tenant's provider sees: namespaces are prefixed with `tenant/provider`, so
    two tenants' contact ids at the same provider never meet."""

    def __init__(self, cache: Cache, scope: str) -> None:
        self.cache = cache
        self.scope = scope

    def _ns(self, namespace: str) -> str:
        return f"{self.scope}/{namespace}"

    def get(self, namespace: str, ident: str) -> Any | None:
        return self.cache.get(self._ns(namespace), ident)

    def put(self, namespace: str, ident: str, value: Any, ttl: timedelta | None = None) -> None:
        self.cache.put(self._ns(namespace), ident, value, ttl)

    def put_if_absent(self, namespace: str, ident: str, value: Any, ttl: timedelta | None = None) -> Any:
        return self.cache.put_if_absent(self._ns(namespace), ident, value, ttl)

    def delete(self, namespace: str, ident: str) -> None:
        self.cache.delete(self._ns(namespace), ident)

    def claim(self, namespace: str, ident: str, owner: str, lease: timedelta) -> bool:
        return self.cache.claim(self._ns(namespace), ident, owner, lease)

    def release(self, namespace: str, ident: str, owner: str) -> None:
        self.cache.release(self._ns(namespace), ident, owner)
