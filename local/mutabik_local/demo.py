"""The demo tenant and sending sample events: what `make run` shows a newcomer with no credentials."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from mutabik.mapping.config import MappingConfig, SourceMapping
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
#: The samples' payment providers take the payments of the Shopify sample order (5800000000001): their
#: collections and refunds refer to its invoice (docs/mapping.md, `orders_from`).
DEMO_MAPPING = MappingConfig(
    sources={"iyzico": SourceMapping(orders_from="shopify"), "stripe": SourceMapping(orders_from="shopify")}
)
#: Hop-by-hop and API Gateway's own headers: not ours to resend.
_DROPPED_HEADERS = frozenset({"host", "content-length", "connection", "x-amzn-trace-id", "x-forwarded-port"})


def demo_secrets(root: Path) -> dict[str, str]:
    path = root / "events" / "secrets.json"
    secrets: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {name: value for name, value in secrets.items() if name in available_sources()}


def _account(secret: str) -> str:
    """The sender's account in a sample secret (Amazon's `seller_id`): it routes queue deliveries to the tenant."""
    try:
        value = json.loads(secret)
    except ValueError:
        return ""
    return str(value.get("seller_id", "")) if isinstance(value, dict) else ""


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
        sources={source: SourceSettings(account=_account(value)) for source, value in secrets.items()},
        routes=dict.fromkeys(DocumentType, provider),
        providers={provider: ProviderSettings()},
        mapping=DEMO_MAPPING,
        invoice_series="KHV",
    )
    services.tenants.put(config)
    return config


def post_event(api_base: str, event: dict[str, Any], services: Services, tenant: str | None = None) -> httpx.Response:
    """Send a sample event to the running system, as its sender would.

    An API Gateway v2 event is posted to the webhook (with its method and event path, if any), signed afresh
    with the tenant's secret (sample signatures go stale where the sender signs a timestamp). An Amazon SP-API
    notification (an EventBridge event, or a bare notification) goes where Amazon puts it: see
    `_notify`. Both answer with the HTTP response the sender would see.
    """
    if "pathParameters" not in event and get_source("amazon").recognises(event):
        return _notify(event, services, tenant or DEMO_TENANT)  # samples are for the demo tenant, as URLs say
    parameters = event["pathParameters"]
    source_name = parameters["source"]
    tenant = tenant or parameters["tenant"]
    proxy = parameters.get("proxy", "")
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    headers = {k.lower(): v for k, v in event.get("headers", {}).items() if k.lower() not in _DROPPED_HEADERS}
    delivery = Delivery(source=source_name, tenant=tenant, headers=headers, body=raw, path=proxy)
    source = get_source(source_name)
    # Senders whose module cannot sign keep the sample's own signature.
    with contextlib.suppress(NotImplementedError):
        delivery = source.sign(delivery, services.secrets.source_secret(tenant, source_name))
    path = f"/{source_name}/{tenant}" + (f"/{quote(proxy)}" if proxy else "")
    query = event.get("rawQueryString") or ""
    url = f"{api_base}{path}" + (f"?{query}" if query else "")
    method = event.get("requestContext", {}).get("http", {}).get("method", "POST")
    return httpx.request(method, url, content=delivery.body, headers=dict(delivery.headers), timeout=30)


def _notify(event: dict[str, Any], services: Services, tenant: str) -> httpx.Response:
    """An SP-API notification onto the ingest queue the way Amazon delivers it: an EventBridge event is put on
    the bus whose rule targets the ingest queue (locally, template.yaml's stand-in for the partner bus); a bare
    notification, or an event no bus takes (a deployed stack's partner bus accepts only Amazon), is sent to
    the ingest queue directly, as SP-API's SQS workflow does. The notification's seller is routed to `tenant`
    first, as setting the tenant up would."""
    import boto3
    from mutabik.pipeline.intake import register_account

    source = get_source("amazon")
    notification = Delivery(source="amazon", tenant="", headers={}, body=json.dumps(event).encode())
    register_account(services, "amazon", source.account(notification), tenant)
    queue = services.ingest_queue
    if "detail-type" in event:
        arn = queue.client.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["QueueArn"])["Attributes"]
        events = boto3.client("events")
        bus = _bus_targeting(events, arn["QueueArn"])
        if bus:
            entry = {
                "EventBusName": bus,
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
            }
            if not events.put_events(Entries=[entry])["FailedEntryCount"]:
                return httpx.Response(202, json={"status": "accepted", "via": f"EventBridge bus {bus}"})
    queue.send(event)
    return httpx.Response(202, json={"status": "accepted", "via": "ingest queue"})


def _bus_targeting(events: Any, queue_arn: str) -> str | None:
    """The event bus with a rule that sends to this queue (one page of buses and rules: a stack has few)."""
    for bus in events.list_event_buses(Limit=100)["EventBuses"]:
        for rule in events.list_rules(EventBusName=bus["Name"], Limit=100)["Rules"]:
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus["Name"])["Targets"]
            if any(target["Arn"] == queue_arn for target in targets):
                return str(bus["Name"])
    return None
