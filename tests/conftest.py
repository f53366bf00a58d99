"""Shared fixtures: one local runtime (moto in server mode on 127.0.0.1 + our handlers) per test process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import SHOPIFY_SECRET, drain_all

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def runtime() -> Iterator[Any]:
    """The whole stack from template.yaml in moto, visibility timeouts scaled 1:100 so retries take seconds.
    Pollers are off; tests that want the pipeline running use `running_pipeline`."""
    from mutabik_local.runtime import LocalRuntime

    rt = LocalRuntime(ROOT, stack_name=f"t{uuid.uuid4().hex[:8]}", time_scale=0.01, poll=False).start()
    yield rt
    rt.stop()


@pytest.fixture
def services(runtime: Any) -> Any:
    from mutabik.pipeline.services import Services

    return Services()


@pytest.fixture
def running_pipeline(runtime: Any) -> Iterator[Any]:
    """The runtime with its queue pollers running, as `mutabik local` runs them."""
    from mutabik_local.pollers import QueuePoller

    pollers = {name: QueuePoller(p.mapping, p.host, p.sqs, p.region) for name, p in runtime.pollers.items()}
    runtime.pollers = pollers
    drain_all(runtime)
    for poller in pollers.values():
        poller.start()
    yield runtime
    for poller in pollers.values():
        poller.stop()
    drain_all(runtime)


@pytest.fixture
def tenant(services: Any) -> Any:
    """A fresh tenant with a Shopify secret, routing every document to the export provider."""
    from mutabik.model.document import DocumentType
    from mutabik.store import keys
    from mutabik.store.tenants import SourceSettings, TenantConfig
    from mutabik_local.demo import DEMO_SELLER

    name = f"t{uuid.uuid4().hex[:10]}"
    services.secrets.put(keys.source_secret_name(services.secrets.prefix, name, "shopify"), SHOPIFY_SECRET)
    config = TenantConfig(
        tenant=name,
        seller=DEMO_SELLER,
        sources={"shopify": SourceSettings()},
        routes=dict.fromkeys(DocumentType, "export"),
    )
    services.tenants.put(config)
    return config
