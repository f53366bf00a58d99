"""Invoice-number counters against DynamoDB (moto in server mode on 127.0.0.1): atomic, sequential, capped."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
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


def _client(moto_endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=moto_endpoint,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def dynamodb(moto_endpoint: str) -> Any:
    return _client(moto_endpoint)


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


def test_takers_on_separate_clients_never_share_a_number(counters: InvoiceCounters, moto_endpoint: str) -> None:
    # DynamoDB applies an UpdateItem ADD atomically, which is what makes concurrent pushers safe. moto's server
    # does not serialize concurrent requests, so this test interleaves two clients instead of racing them.
    other = InvoiceCounters(counters.table_name, client=_client(moto_endpoint))
    taken = [taker.next_sequence("acme", "ABC", 2026) for _ in range(20) for taker in (counters, other)]
    assert taken == list(range(1, 41))


def test_a_number_is_taken_in_one_conditional_update(counters: InvoiceCounters) -> None:
    # GIVEN the client records what is sent
    sent: list[dict[str, Any]] = []
    counters.client.meta.events.register(
        "provide-client-params.dynamodb.UpdateItem", lambda params, **_: sent.append(params)
    )
    counters.next_sequence("acme", "ABC", 2026)
    (request,) = sent
    assert request["UpdateExpression"].startswith("ADD #value :one")
    assert request["ConditionExpression"] == "attribute_not_exists(#value) OR #value < :max"
    assert request["ReturnValues"] == "UPDATED_NEW"


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
