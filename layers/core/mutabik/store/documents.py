"""The documents ledger: one item per document, every status change a conditional write (DESIGN rule 1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from mutabik.model.document import Document, DocumentStatus, is_allowed_transition
from mutabik.store import clients, keys
from mutabik.store.exceptions import StaleDocumentError
from mutabik.store.table import query_day, string_attributes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DocumentLedger"]


class DocumentLedger:
    """Documents in the table. The whole document is kept as JSON in `body`; `status` and `version` are
    top-level attributes too, so that every write can be conditioned on them."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or clients.dynamodb()

    def get(self, key: str) -> Document | None:
        response = self.client.get_item(
            TableName=self.table_name, Key=string_attributes(keys.document_item_key(key)), ConsistentRead=True
        )
        item = response.get("Item")
        return _document(item) if item else None

    def create(self, document: Document) -> tuple[Document, bool]:
        """Write a new PENDING document unless its key exists; returns (the stored document, created?)."""
        from botocore.exceptions import ClientError

        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=_item(document),
                # Only the first mapper run for a key creates it; a replay finds it and moves on.
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            existing: Any = exc.response.get("Item")
            return (_document(existing) if existing else self._must_get(document.key)), False
        return document, True

    def transition(self, document: Document, target: DocumentStatus, **changes: Any) -> Document:
        """Move `document` to `target`, provided nobody moved it since we read it (status and version)."""
        from botocore.exceptions import ClientError

        if not is_allowed_transition(document.status, target):
            raise ValueError(f"{document.key}: {document.status} → {target} is not a transition we make")
        moved = document.model_copy(
            update={**changes, "status": target, "version": document.version + 1, "updated_at": _now()}
        )
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=_item(moved),
                # The optimistic lock: the status we decided from, and no write in between.
                ConditionExpression="#status = :seen_status AND #version = :seen_version",
                ExpressionAttributeNames={"#status": "status", "#version": "version"},
                ExpressionAttributeValues={
                    ":seen_status": {"S": document.status.value},
                    ":seen_version": {"N": str(document.version)},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            existing: Any = exc.response.get("Item")
            raise StaleDocumentError(document.key, _document(existing) if existing else None) from exc
        return moved

    def list_day(self, tenant: str, day: date) -> list[Document]:
        """The tenant's documents created on a UTC day, oldest first."""
        return [_document(item) for item in query_day(self.client, self.table_name, tenant, day, "DOC")]

    def _must_get(self, key: str) -> Document:
        found = self.get(key)
        if found is None:
            raise StaleDocumentError(key, None)
        return found


def _now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def _item(document: Document) -> dict[str, Any]:
    created = document.created_at
    return {
        **string_attributes(keys.document_item_key(document.key)),
        "gsi1pk": {"S": keys.day_index(document.tenant, created.date())},
        "gsi1sk": {"S": keys.SEP.join(("DOC", created.isoformat(), document.key))},
        "status": {"S": document.status.value},
        "version": {"N": str(document.version)},
        "body": {"S": document.model_dump_json()},
    }


def _document(item: dict[str, Any]) -> Document:
    return Document.model_validate_json(item["body"]["S"])
