"""Invoice-number counters against DynamoDB (moto in server mode on 127.0.0.1): atomic, sequential, capped."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from mutabik.store.counters import MAX_SEQUENCE, CounterExhaustedError, InvoiceCounters, format_invoice_number
from mutabik.store.keys import counter_key


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def dynamodb(moto_endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=moto_endpoint,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def counters(dynamodb: Any) -> InvoiceCounters:
    # GIVEN a fresh ledger table shaped like the template's (string pk/sk)
    table = f"ledger-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return InvoiceCounters(table, client=dynamodb)


def test_first_number_of_a_series_is_one_and_then_counts_up(counters: InvoiceCounters) -> None:
    assert counters.current("acme", "ABC", 2026) == 0
    assert counters.next_number("acme", "ABC", 2026) == "ABC2026000000001"
    assert counters.next_number("acme", "ABC", 2026) == "ABC2026000000002"
    assert counters.current("acme", "ABC", 2026) == 2


def test_tenants_series_and_years_count_apart(counters: InvoiceCounters) -> None:
    counters.next_sequence("acme", "ABC", 2026)
    assert counters.next_sequence("acme", "ABC", 2027) == 1
    assert counters.next_sequence("acme", "XYZ", 2026) == 1
    assert counters.next_sequence("other", "ABC", 2026) == 1


def test_concurrent_takers_never_share_a_number(counters: InvoiceCounters) -> None:
    # WHEN 40 pushers take numbers at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(pool.map(lambda _: counters.next_sequence("acme", "ABC", 2026), range(40)))
    # THEN every number is distinct and there is no gap
    assert sorted(taken) == list(range(1, 41))


def test_an_exhausted_series_is_refused_not_wrapped(counters: InvoiceCounters, dynamodb: Any) -> None:
    key = counter_key("acme", "ABC", 2026)
    dynamodb.put_item(
        TableName=counters.table_name,
        Item={"pk": {"S": key["pk"]}, "sk": {"S": key["sk"]}, "value": {"N": str(MAX_SEQUENCE)}},
    )
    with pytest.raises(CounterExhaustedError):
        counters.next_sequence("acme", "ABC", 2026)
    assert counters.current("acme", "ABC", 2026) == MAX_SEQUENCE


@pytest.mark.parametrize(
    ("series", "year", "sequence"), [("AB", 2026, 1), ("abc", 2026, 1), ("ABC", 1999, 1), ("ABC", 2026, 0)]
)
def test_malformed_numbers_are_refused(series: str, year: int, sequence: int) -> None:
    with pytest.raises(ValueError, match=r"series|year|sequence"):
        format_invoice_number(series, year, sequence)
