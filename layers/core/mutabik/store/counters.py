"""Invoice-number counters: one atomic, conditional DynamoDB counter per tenant, series and year.

GİB wants invoice IDs of the form `ABC2026000000001`, in sequence and without gaps within a series and year
(VUK 231: "müteselsil sıra numarası"). Each call takes the next value with one `UpdateItem ADD`, which
DynamoDB applies atomically, so two pushers never get the same number. A number once taken is the
document's: the pusher writes it onto the document before sending and reuses it on every retry, so a crash
between taking a number and sending cannot leave a hole.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mutabik.store import clients, keys
from mutabik.store.exceptions import StoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["MAX_SEQUENCE", "CounterExhaustedError", "InvoiceCounters", "format_invoice_number"]

#: Nine digits of sequence per series and year.
MAX_SEQUENCE = 999_999_999
_SERIES = re.compile(r"^[A-Z0-9]{3}$")


class CounterExhaustedError(StoreError):
    """The series has used all nine digits for the year: a new series must be opened."""


def format_invoice_number(series: str, year: int, sequence: int) -> str:
    """`ABC` + `2026` + nine digits: GİB's invoice ID (UBL-TR schematron InvoiceIDCheck)."""
    if not _SERIES.match(series):
        raise ValueError(f"a series is three of A–Z 0–9, got {series!r}")
    if not 2000 <= year <= 2099:
        raise ValueError(f"year {year} is outside GİB's 20YY")
    if not 0 < sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence {sequence} is outside 1–{MAX_SEQUENCE}")
    return f"{series}{year}{sequence:09d}"


class InvoiceCounters:
    """The counters in the ledger table; the boto3 client can be injected (tests, the local runtime)."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or clients.dynamodb()

    def next_sequence(self, tenant: str, series: str, year: int) -> int:
        """Take the next value (1 for a new counter); raises `CounterExhaustedError` past 999 999 999."""
        from botocore.exceptions import ClientError

        if not _SERIES.match(series):
            raise ValueError(f"a series is three of A–Z 0–9, got {series!r}")
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key={name: {"S": value} for name, value in keys.counter_key(tenant, series, year).items()},
                UpdateExpression="ADD #value :one SET #tenant = :tenant",
                # Absent means a new year or series, which starts at 1; at the ceiling, refuse instead of wrapping.
                ConditionExpression="attribute_not_exists(#value) OR #value < :max",
                ExpressionAttributeNames={"#value": "value", "#tenant": "tenant"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":max": {"N": str(MAX_SEQUENCE)},
                    ":tenant": {"S": tenant},
                },
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise CounterExhaustedError(f"series {series} of {tenant} has no numbers left for {year}") from exc
        return int(response["Attributes"]["value"]["N"])

    def next_number(self, tenant: str, series: str, year: int) -> str:
        """The next invoice ID of the series, e.g. `ABC2026000000042`."""
        return format_invoice_number(series, year, self.next_sequence(tenant, series, year))

    def current(self, tenant: str, series: str, year: int) -> int:
        """The last value taken (0 when none), read consistently."""
        response = self.client.get_item(
            TableName=self.table_name,
            Key={name: {"S": value} for name, value in keys.counter_key(tenant, series, year).items()},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return int(item["value"]["N"]) if item and "value" in item else 0
