"""The sample events in events/: every sender has them, they are HTTP API v2 events, signed so they verify."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mutabik.sources import available_sources, get_source

from ._support import CONTEXT, EVENTS, SECRETS, frozen, sample_delivery

SAMPLES = sorted(p for p in EVENTS.glob("*/*.json") if p.parent.name in available_sources())
HTTP_SAMPLES = [p for p in SAMPLES if get_source(p.parent.name).http]


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def test_every_sender_has_samples_and_a_demo_secret() -> None:
    assert {p.parent.name for p in SAMPLES} == set(available_sources())
    assert set(SECRETS) == set(available_sources())
    assert all(isinstance(v, str) for v in SECRETS.values())


def test_hmac_senders_demo_secret_is_demo_source_secret() -> None:
    for source in ("shopify", "woocommerce", "stripe", "generic", "iyzico"):
        assert SECRETS[source] == f"demo-{source}-secret"


def test_every_sender_module_documents_its_secret_and_cites_its_docs() -> None:
    for name in available_sources():
        doc = type(get_source(name)).__module__
        text = __import__(doc, fromlist=["_"]).__doc__ or ""
        assert "Secret (Secrets Manager SecretString)" in text, name
        assert name == "generic" or "https://" in text, name


@pytest.mark.parametrize("path", HTTP_SAMPLES, ids=_id)
def test_sample_is_an_http_api_v2_event(path: Path) -> None:
    event: dict[str, Any] = json.loads(path.read_text())
    source = path.parent.name
    assert event["version"] == "2.0"
    assert event["routeKey"].endswith("/v1/webhooks/{source}/{tenant}") or event["routeKey"].endswith("{proxy+}")
    assert event["pathParameters"]["source"] == source
    assert event["pathParameters"]["tenant"] == "demo"
    assert event["rawPath"].startswith(f"/v1/webhooks/{source}/demo")
    assert event["requestContext"]["http"]["path"] == event["rawPath"]
    assert event["requestContext"]["http"]["method"] in ("POST", "PUT")
    assert isinstance(event["body"], str)
    assert event["isBase64Encoded"] is False
    assert all(name == name.lower() for name in event["headers"])
    assert event["headers"]["content-length"] == str(len(event["body"].encode()))


@pytest.mark.parametrize("path", HTTP_SAMPLES, ids=_id)
def test_sample_verifies_with_the_demo_secret_and_parses(path: Path) -> None:
    source = type(get_source(path.parent.name))(clock=frozen())
    delivery = sample_delivery(path.parent.name, path.stem)
    source.verify(delivery, SECRETS[path.parent.name])
    assert source.delivery_id(delivery)
    source.parse(delivery, CONTEXT)
    source.reply(delivery, duplicate=False)


def test_sample_resigning_is_deterministic() -> None:
    # tools/make_events.py rebuilds every sample from its body and headers: nothing may change
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_events", EVENTS.parent / "tools" / "make_events.py")
    assert spec is not None
    assert spec.loader is not None
    make_events = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_events)
    for path in HTTP_SAMPLES:
        assert make_events.resign(path, SECRETS, make_events.SIGNED_AT) == json.loads(path.read_text()), path
