"""Helpers the tests share: signed Shopify deliveries, a sample Turkish order, queue draining."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any

SHOPIFY_SECRET = "test-shopify-secret"


def shopify_order(order_id: int = 5800000000001, **changes: Any) -> dict[str, Any]:
    """A Turkish Shopify order, KDV 20 % included: 2 × 150 + 49.90 shipping − 30 discount = 319.90 TRY."""
    order = {
        "id": order_id,
        "name": f"#{order_id % 10000}",
        "created_at": "2026-01-15T12:20:00+03:00",
        "processed_at": "2026-01-15T12:21:00+03:00",
        "currency": "TRY",
        "taxes_included": True,
        "total_price": "319.90",
        "email": "alici@example.com",
        "gateway": "iyzico",
        "line_items": [
            {
                "id": 1,
                "sku": "KHV-250",
                "title": "Filtre Kahve 250 g",
                "name": "Filtre Kahve 250 g",
                "quantity": 2,
                "price": "150.00",
                "tax_lines": [{"rate": 0.2, "price": "45.00", "title": "KDV"}],
                "discount_allocations": [{"amount": "30.00"}],
            }
        ],
        "shipping_lines": [{"title": "Kargo", "price": "49.90", "tax_lines": [{"rate": 0.2, "price": "8.32"}]}],
        "billing_address": {
            "first_name": "Ayşe",
            "last_name": "Yılmaz",
            "address1": "Bağdat Caddesi 1",
            "city": "İstanbul",
            "province": "Kadıköy",
            "zip": "34710",
            "country_code": "TR",
            "country": "Turkey",
        },
        "note_attributes": [{"name": "tckn", "value": "10000000146"}],
    }
    order.update(changes)
    return order


def shopify_delivery(
    body: dict[str, Any] | bytes,
    *,
    topic: str = "orders/paid",
    secret: str = SHOPIFY_SECRET,
    webhook_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    digest = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return raw, {
        "content-type": "application/json",
        "x-shopify-topic": topic,
        "x-shopify-hmac-sha256": digest,
        "x-shopify-webhook-id": webhook_id or str(uuid.uuid4()),
        "x-shopify-shop-domain": "kahve-dukkani.myshopify.com",
        "x-shopify-triggered-at": datetime.now(UTC).isoformat(),
    }


def drain(runtime: Any, queue: str) -> list[dict[str, Any]]:
    """Receive and delete every visible message of a queue (its bodies, parsed)."""
    url = runtime.resource(queue)
    bodies = []
    while True:
        messages = runtime.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if not messages.get("Messages"):
            return bodies
        for message in messages["Messages"]:
            bodies.append({**json.loads(message["Body"]), "_attributes": message.get("MessageAttributes", {})})
            runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def drain_all(runtime: Any) -> None:
    """Empty every queue of the stack of its visible messages, so no test inherits another's work.
    (PurgeQueue would take in-flight ones too, but SQS allows one purge a minute.)"""
    for logical in ("IngestQueue", "IngestDLQ", "PushQueue", "PushDLQ"):
        drain(runtime, logical)


def provider_tenant(
    services: Any,
    provider: str,
    *,
    base_url: str,
    credentials: dict[str, str] | None = None,
    options: dict[str, str] | None = None,
    sources: tuple[str, ...] = ("shopify", "generic"),
) -> Any:
    """A fresh tenant that routes every document type its provider supports to `provider` at `base_url`
    (a fake's URL), with the provider's credentials in Secrets Manager and test secrets for `sources`."""
    from mutabik.providers import document_types
    from mutabik.store import keys
    from mutabik.store.tenants import ProviderSettings, SourceSettings, TenantConfig
    from mutabik_local.demo import DEMO_SELLER

    name = f"t{uuid.uuid4().hex[:10]}"
    for source in sources:
        services.secrets.put(keys.source_secret_name(services.secrets.prefix, name, source), SOURCE_SECRETS[source])
    if credentials is not None:
        services.secrets.put(services.secrets.provider_secret_name(name, provider), json.dumps(credentials))
    config = TenantConfig(
        tenant=name,
        seller=DEMO_SELLER,
        sources={source: SourceSettings() for source in sources},
        routes=dict.fromkeys(document_types(provider), provider),
        providers={provider: ProviderSettings(base_url=base_url, options=options or {})},
    )
    services.tenants.put(config)
    return config


GENERIC_SECRET = "test-generic-secret"
SOURCE_SECRETS = {"shopify": SHOPIFY_SECRET, "generic": GENERIC_SECRET}


def generic_delivery(events: list[dict[str, Any]], *, delivery_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    """Canonical events as the seller's own app signs them (`mutabik.sources.generic`)."""
    import time

    from mutabik.sources.generic import signature

    raw = json.dumps(events).encode()
    stamp = str(int(time.time()))
    return raw, {
        "content-type": "application/json",
        "x-mutabik-delivery-id": delivery_id or str(uuid.uuid4()),
        "x-mutabik-timestamp": stamp,
        "x-mutabik-signature": "v1=" + signature(GENERIC_SECRET, stamp, raw),
    }


def sender_api_tenant(
    services: Any, sender: str, api: Any, api_url: str, *, api_credentials: bool = True, account: str = ""
) -> Any:
    """A fresh tenant taking `sender`'s deliveries signed with the samples' secret (events/secrets.json), its
    sender API at a fake (`api`, served at `api_url`) with the fake's credentials in the sender-apis secret
    unless `api_credentials` is false, every document to `export`. `account` routes a queue sender's seller."""
    from pathlib import Path

    from mutabik.model.document import DocumentType
    from mutabik.store import keys
    from mutabik.store.tenants import SourceSettings, TenantConfig
    from mutabik_local.demo import DEMO_SELLER

    name = f"t{uuid.uuid4().hex[:10]}"
    samples = json.loads((Path(__file__).resolve().parents[1] / "events" / "secrets.json").read_text())
    services.secrets.put(keys.source_secret_name(services.secrets.prefix, name, sender), samples[sender])
    if api_credentials:
        services.secrets.put(services.secrets.sender_api_secret_name(name, sender), json.dumps(api.credentials()))
    config = TenantConfig(
        tenant=name,
        seller=DEMO_SELLER,
        sources={sender: SourceSettings(api_url=api_url, options=api.options(), account=account)},
        routes=dict.fromkeys(DocumentType, "export"),
    )
    services.tenants.put(config)
    return config
