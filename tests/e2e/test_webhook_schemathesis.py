"""The webhook API of the local runtime, fuzzed from docs/openapi.yaml by schemathesis: no 5xx, and every answer
(status, content type, body) is one the document describes.

Positive cases go to a tenant that has every sender, most of them signed with the tenant's secret by the
sender's own `sign`, so generated bodies get past verification into the parsers (202, 200, 422); the rest stay
unsigned (401). Negative cases (path and headers the schema does not allow) keep their generated tenant and
source (404). Bounded: a few dozen examples per operation, a deadline per example.
"""

from __future__ import annotations

import contextlib
import json
import uuid
import zlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core import NOT_SET

from tests.conftest import ROOT
from tests.support import drain_all

pytestmark = pytest.mark.e2e

schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.yaml")
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=30)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def every_sender(runtime: Any) -> Iterator[str]:
    """A tenant with every sender and its demo secret (events/secrets.json); what it queues is drained after."""
    from mutabik.model.document import DocumentType
    from mutabik.pipeline.services import Services
    from mutabik.store import keys
    from mutabik.store.tenants import SourceSettings, TenantConfig
    from mutabik_local.demo import DEMO_SELLER, demo_secrets

    services = Services()
    name = f"t{uuid.uuid4().hex[:10]}"
    secrets = demo_secrets(ROOT)
    for source, secret in secrets.items():
        services.secrets.put(keys.source_secret_name(services.secrets.prefix, name, source), secret)
    services.tenants.put(
        TenantConfig(
            tenant=name,
            seller=DEMO_SELLER,
            sources={source: SourceSettings() for source in secrets},
            routes=dict.fromkeys(DocumentType, "export"),
        )
    )
    yield name
    drain_all(runtime)


@pytest.fixture(scope="module")
def client(runtime: Any) -> Iterator[httpx.Client]:
    """One client for the run: a new one per request builds a TLS context each time (80 ms)."""
    with httpx.Client(base_url=runtime.http.url, timeout=10) as shared:
        yield shared


def _body(case: schemathesis.Case) -> bytes:
    """The generated body as the bytes a sender would send (and sign)."""
    if case.body is None or case.body is NOT_SET:
        return b""
    if case.media_type == "application/x-www-form-urlencoded" and isinstance(case.body, dict):
        return urlencode({k: str(v) for k, v in case.body.items()}).encode()
    if isinstance(case.body, bytes):
        return case.body
    if isinstance(case.body, str) and case.media_type != "application/json":
        return case.body.encode()
    return json.dumps(case.body).encode()


def _signed(
    source_name: str, tenant: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[bytes, dict[str, str]]:
    """Headers (and, for PayTR, the body) as the sender signs them with the tenant's secret; unchanged where
    the sender's module cannot sign this body (iyzico signs fields the body may lack)."""
    from mutabik.pipeline.services import Services
    from mutabik.sources import get_source
    from mutabik.sources.base import Delivery
    from mutabik.sources.exceptions import SourceError

    if source_name == "generic":  # the one header the sender always sets that signing does not
        headers.setdefault("x-mutabik-delivery-id", str(uuid.uuid4()))
    delivery = Delivery(source=source_name, tenant=tenant, headers=headers, body=body, path=path)
    with contextlib.suppress(SourceError, NotImplementedError):
        secret = Services().secrets.source_secret(tenant, source_name)
        delivery = get_source(source_name).sign(delivery, secret)
    return delivery.body, dict(delivery.headers)


@schema.parametrize()
@settings(
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_webhook_api_answers_only_as_documented(
    case: schemathesis.Case, client: httpx.Client, every_sender: str
) -> None:
    positive = case.meta is None or case.meta.generation.mode is GenerationMode.POSITIVE
    parameters = {k: str(v) for k, v in (case.path_parameters or {}).items()}
    headers = {k.lower(): str(v) for k, v in (case.headers or {}).items()}
    if case.media_type:
        headers["content-type"] = case.media_type
    body = _body(case)
    if positive:
        parameters["tenant"] = every_sender
        # Most positive cases are signed (past verification, into the parser); one in five is not (401).
        if zlib.crc32(body) % 5:
            body, headers = _signed(parameters["source"], every_sender, parameters.get("event", ""), body, headers)
    path = case.operation.path
    for name, value in parameters.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    response = client.request(case.method, path, content=body, headers=headers)
    case.validate_response(response, checks=CHECKS)
