"""Provider adapters: sales invoices brought to ACCEPTED per second by the pusher (`push` until settled) at each
provider's fake on loopback, against the `export` provider (one S3 write) as the baseline, measured in the same
run over the same moto server. The fakes answer at once and their rate limits are lifted, so the figure is our
adapter's own cost (requests, UBL + XSD + schematron, the table) — the real ceilings are the providers' (Paraşüt:
10 requests / 10 s per company, about 7 per invoice) and are listed beside it."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes import FakeServer  # noqa: E402
from tests.support import provider_tenant, shopify_order  # noqa: E402

DOCUMENTS = 25
CEILINGS = {"parasut": "10 requests / 10 s per company (≈ 1 invoice / 7 s)"}


def _fake(name: str) -> Any:
    import importlib

    module = importlib.import_module(f"tests.fakes.{name}")
    if name == "parasut":
        return module.Fake(rate_limit=(1_000_000, 10.0), job_polls=0)
    if name == "gib_portal":
        fake = module.Fake()
        fake.auto_sign_after = 0.0
        return fake
    if name in ("qnb_efinans", "sovos", "izibiz"):
        return module.Fake(polls_before_final=0)
    return module.Fake()


def _documents(services: Any, tenant: str, provider: str, run: str) -> list[str]:
    from mutabik.model.commerce import Order
    from mutabik.model.document import Document, DocumentType, document_uuid
    from mutabik.sources import get_source
    from mutabik.sources.base import Delivery, SourceContext
    from mutabik.store import keys

    keys_made = []
    source = get_source("shopify")
    for n in range(DOCUMENTS):
        order = json.dumps(shopify_order(order_id=5_800_000_000_000 + n)).encode()
        delivery = Delivery(source="shopify", tenant=tenant, headers={"x-shopify-topic": "orders/paid"}, body=order)
        (event,) = [e for e in source.parse(delivery, SourceContext(tenant=tenant)) if e.kind == "order.paid"]
        parsed: Order = event.order  # type: ignore[union-attr]
        ref = f"shopify:{run}-{n}"
        key = keys.document_key(tenant, provider, DocumentType.SALES_INVOICE, ref)
        now = datetime.now(UTC)
        services.documents.create(
            Document(
                tenant=tenant,
                provider=provider,
                type=DocumentType.SALES_INVOICE,
                source="shopify",
                source_ref=ref,
                key=key,
                uuid=str(document_uuid(key)),
                created_at=now,
                updated_at=now,
                payload={"order": parsed.model_dump(mode="json")},
            )
        )
        keys_made.append(key)
    return keys_made


def _settle(keys: list[str], services: Any) -> int:
    """Push each document until it is settled (bounded); returns how many ended ACCEPTED or SUBMITTED-final."""
    from mutabik.pipeline.pushing import NotYetFinalError, push
    from mutabik.providers import is_settled
    from mutabik.providers.exceptions import RetryableProviderError

    done = 0
    for key in keys:
        for _ in range(50):
            try:
                document = push(key, services)
            except (NotYetFinalError, RetryableProviderError):
                time.sleep(0.02)
                continue
            if document is not None and is_settled(document):
                done += document.status.value in ("ACCEPTED", "SUBMITTED")
                break
    return done


def main() -> int:
    from mutabik.pipeline.services import Services
    from mutabik_local.fakes import available_fakes
    from mutabik_local.runtime import LocalRuntime

    runtime = LocalRuntime(ROOT, stack_name=f"b{uuid.uuid4().hex[:6]}", time_scale=0.01, poll=False).start()
    try:
        os.environ["RETRY_BASE_SECONDS"] = "0"  # follow-ups are asked at once: measure work, not waiting
        services = Services()
        run = uuid.uuid4().hex[:6]
        rates: dict[str, float] = {}
        for name in ["export", *available_fakes(ROOT)]:
            fake = None if name == "export" else _fake(name)
            server = FakeServer(fake).start() if fake is not None else None
            try:
                credentials = fake.credentials() if fake is not None else None
                options = fake.options() if fake is not None else {}
                tenant = provider_tenant(
                    services, name, base_url=server.url if server else "", credentials=credentials, options=options
                )
                keys = _documents(services, tenant.tenant, name, run)
                started = time.perf_counter()
                done = _settle(keys, services)
                elapsed = time.perf_counter() - started
            finally:
                if server is not None:
                    server.stop()
            rates[name] = done / elapsed
            print(f"{name:<12} {done}/{len(keys)} settled in {elapsed:6.2f} s: {rates[name]:7.1f} documents/s")
        base = rates["export"]
        print(f"\nratio to the export provider ({base:.1f}/s, one S3 write per document):")
        for name, rate in rates.items():
            ceiling = f"   provider's own ceiling: {CEILINGS[name]}" if name in CEILINGS else ""
            print(f"  {name:<12} {rate / base:5.2f}×{ceiling}")
    finally:
        runtime.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
