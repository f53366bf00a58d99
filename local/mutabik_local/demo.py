"""The demo tenant and sending sample events: what `make run` shows a newcomer with no credentials."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path
from typing import Any

import httpx
from mutabik.model.document import DocumentType
from mutabik.model.party import Address, Party
from mutabik.pipeline.services import Services
from mutabik.sources import available_sources, get_source
from mutabik.sources.base import Delivery
from mutabik.store import keys
from mutabik.store.tenants import ProviderSettings, SourceSettings, TenantConfig

__all__ = ["DEMO_TENANT", "post_event", "seed_demo_tenant"]

DEMO_TENANT = "demo"
DEMO_SELLER = Party(
    name="Kahve Dükkanı Gıda Ticaret Ltd. Şti.",
    tax_id="3880000006",
    tax_office="Kadıköy",
    address=Address(street="Moda Caddesi No: 12", district="Kadıköy", city="İstanbul", postal_code="34710"),
    email="muhasebe@kahve-dukkani.example",
)
#: Hop-by-hop and API Gateway's own headers: not ours to resend.
_DROPPED_HEADERS = frozenset({"host", "content-length", "connection", "x-amzn-trace-id", "x-forwarded-port"})


def demo_secrets(root: Path) -> dict[str, str]:
    path = root / "events" / "secrets.json"
    secrets: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {name: value for name, value in secrets.items() if name in available_sources()}


def seed_demo_tenant(root: Path, services: Services, *, provider: str = "export") -> TenantConfig:
    """The demo tenant: every sender with a sample secret, every document type to `provider`."""
    secrets = demo_secrets(root)
    for source, value in secrets.items():
        name = keys.source_secret_name(services.secrets.prefix, DEMO_TENANT, source)
        services.secrets.put(name, value)
    config = TenantConfig(
        tenant=DEMO_TENANT,
        name="Kahve Dükkanı (demo)",
        seller=DEMO_SELLER,
        sources={source: SourceSettings() for source in secrets},
        routes=dict.fromkeys(DocumentType, provider),
        providers={provider: ProviderSettings()},
        invoice_series="KHV",
    )
    services.tenants.put(config)
    return config


def post_event(api_base: str, event: dict[str, Any], services: Services, tenant: str | None = None) -> httpx.Response:
    """Send an API Gateway v2 sample event to a running webhook, signed afresh with the tenant's secret
    (sample signatures go stale where the sender signs a timestamp)."""
    source_name = event["pathParameters"]["source"]
    tenant = tenant or event["pathParameters"]["tenant"]
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    headers = {k.lower(): v for k, v in event.get("headers", {}).items() if k.lower() not in _DROPPED_HEADERS}
    delivery = Delivery(source=source_name, tenant=tenant, headers=headers, body=raw)
    source = get_source(source_name)
    # Senders whose module cannot sign keep the sample's own signature.
    with contextlib.suppress(NotImplementedError):
        delivery = source.sign(delivery, services.secrets.source_secret(tenant, source_name))
    path = f"/v1/webhooks/{source_name}/{tenant}"
    query = event.get("rawQueryString") or ""
    url = f"{api_base}{path.removeprefix('/v1/webhooks')}" + (f"?{query}" if query else "")
    return httpx.post(url, content=delivery.body, headers=dict(delivery.headers), timeout=30)
