"""Every sender at once: arbitrary JSON and sample-shaped headers never raise anything but PayloadError."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutabik.sources import available_sources, get_source
from mutabik.sources.base import Delivery
from mutabik.sources.exceptions import PayloadError, SignatureError

from ._support import CONTEXT, FUZZ, SECRETS, dumps, json_values, sample_delivery

#: The headers (and event path) of one sample per sender: topic headers make the parsers go past the topic.
SAMPLE = {
    "shopify": "orders-paid",
    "woocommerce": "order-updated",
    "trendyol": "package-created",
    "hepsiburada": "orders",
    "etsy": "order-paid",
    "stripe": "charge-succeeded",
    "iyzico": "api-auth",
    "paytr": "payment-success",
    "generic": "batch",
}


def _like_sample(source: str, body: bytes) -> Delivery:
    if source == "amazon":
        return Delivery(source=source, tenant="demo", headers={}, body=body)
    sample = sample_delivery(source, SAMPLE[source])
    return Delivery(source=source, tenant="demo", headers=sample.headers, body=body, path=sample.path)


def _exercise(source_name: str, delivery: Delivery) -> None:
    source = get_source(source_name)
    assert isinstance(source.topic(delivery), str)  # topic never raises: it is for logs
    for step in (lambda: source.parse(delivery, CONTEXT), lambda: source.delivery_id(delivery)):
        with contextlib.suppress(PayloadError):
            step()
    with contextlib.suppress(SignatureError):
        source.verify(delivery, SECRETS[source_name])
    source.reply(delivery, duplicate=True)


def test_every_sender_is_covered() -> None:
    assert set(SAMPLE) | {"amazon"} == set(available_sources())


@pytest.mark.parametrize("source", sorted(available_sources()))
@FUZZ
@given(body=json_values)
def test_fuzz_arbitrary_json(source: str, body: Any) -> None:
    _exercise(source, _like_sample(source, dumps(body)))


@pytest.mark.parametrize("source", sorted(available_sources()))
@FUZZ
@given(body=st.binary(max_size=200))
def test_fuzz_arbitrary_bytes(source: str, body: bytes) -> None:
    _exercise(source, _like_sample(source, body))
