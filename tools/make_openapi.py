"""Write docs/openapi.yaml, the OpenAPI 3.1 description of our webhook API, from the code that serves it.

The senders (`source` enum), their headers, the sample bodies (events/) and the canonical event schema of the
`generic` sender (mutabik.model.events) all come from the code, so the document cannot drift from it:

    .venv/bin/python tools/make_openapi.py          # rewrite docs/openapi.yaml
    .venv/bin/python tools/make_openapi.py --check  # exit 1 if docs/openapi.yaml is not up to date
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "core"))

from mutabik.model.events import canonical_event_adapter  # noqa: E402
from mutabik.sources import available_sources, get_source  # noqa: E402

OUTPUT = ROOT / "docs" / "openapi.yaml"
EVENTS = ROOT / "events"

#: The headers each sender sets that we read (Authorization is a security scheme, not a parameter).
SENDER_HEADERS: dict[str, list[tuple[str, str]]] = {
    "shopify": [
        ("X-Shopify-Hmac-Sha256", "base64 HMAC-SHA256 of the raw body with the app's client secret"),
        ("X-Shopify-Topic", "orders/create, orders/paid, orders/cancelled, refunds/create, …"),
        ("X-Shopify-Webhook-Id", "the same on every retry: our dedupe key"),
        ("X-Shopify-Shop-Domain", "the shop, e.g. example.myshopify.com"),
    ],
    "woocommerce": [
        ("X-WC-Webhook-Signature", "base64 HMAC-SHA256 of the raw body with the webhook's secret"),
        ("X-WC-Webhook-Topic", "order.created, order.updated, …"),
        ("X-WC-Webhook-ID", "the webhook that sent the delivery"),
        ("X-WC-Webhook-Delivery-ID", "new on every attempt (not used to dedupe)"),
        ("X-WC-Webhook-Source", "the shop's URL"),
    ],
    "trendyol": [("x-api-key", "the API key registered at createWebhook (authenticationType API_KEY)")],
    "etsy": [
        ("webhook-id", "Standard Webhooks message id, the same on every retry"),
        ("webhook-timestamp", "Unix seconds, refused when more than 5 minutes from now"),
        ("webhook-signature", "space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>`"),
    ],
    "stripe": [("Stripe-Signature", "`t=<unix>,v1=<hex HMAC-SHA256 of t.body>`, 300 s tolerance")],
    "iyzico": [("X-IYZ-SIGNATURE-V3", "hex HMAC-SHA256 of the secret key and the signed payload values")],
    "generic": [
        ("X-Mutabik-Delivery-Id", "the sender's id of the delivery, the same on every retry"),
        ("X-Mutabik-Timestamp", "Unix seconds, refused when more than 300 s from now"),
        ("X-Mutabik-Signature", "`v1=<hex HMAC-SHA256 of timestamp.body>`, several allowed while rolling"),
    ],
}
#: Senders answered other than with 202 JSON.
PLAIN_OK = {"paytr"}


def _http_senders() -> list[str]:
    return sorted(name for name in available_sources() if get_source(name).http)


def _event_path_senders() -> list[str]:
    """Senders that call one path per event under their URL (`WebhookSource.event_paths`)."""
    return [name for name in _http_senders() if get_source(name).event_paths]


def _examples(*, event_paths: bool, method: str = "POST") -> dict[str, dict[str, Any]]:
    """One example request body per sample event sent with `method`, by content type: those sent to the
    tenant's URL, or (with `event_paths`) those sent to an event path under it."""
    found: dict[str, dict[str, Any]] = {"application/json": {}, "application/x-www-form-urlencoded": {}}
    for path in sorted(EVENTS.glob("*/*.json")):
        if path.parent.name not in _http_senders():
            continue
        event = json.loads(path.read_text())
        if ("proxy" in event["pathParameters"]) is not event_paths:
            continue
        if event["requestContext"]["http"]["method"] != method:
            continue
        body = base64.b64decode(event["body"]).decode() if event.get("isBase64Encoded") else event["body"]
        kind = event["headers"].get("content-type", "application/json").split(";")[0]
        value: Any = json.loads(body) if kind == "application/json" else body
        found.setdefault(kind, {})[f"{path.parent.name}-{path.stem}"] = {
            "summary": f"{path.parent.name}: {path.stem}",
            "value": value,
        }
    return found


def _canonical_schemas() -> dict[str, Any]:
    schema = canonical_event_adapter.json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs")
    definitions["CanonicalEvent"] = schema
    definitions["GenericDelivery"] = {
        "description": "What the `generic` sender posts: one canonical event, or a list of up to 100.",
        "oneOf": [
            {"$ref": "#/components/schemas/CanonicalEvent"},
            {"type": "array", "minItems": 1, "maxItems": 100, "items": {"$ref": "#/components/schemas/CanonicalEvent"}},
        ],
    }
    return definitions


def _error(description: str, *, gateway: bool = False) -> dict[str, Any]:
    """An error answer: ours, or (with `gateway`) possibly API Gateway's own, which has only a `message`."""
    ours = {"$ref": "#/components/schemas/Error"}
    schema = {"anyOf": [ours, {"$ref": "#/components/schemas/GatewayMessage"}]} if gateway else ours
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(summary: str, operation_id: str, sources: list[str], examples: dict[str, Any]) -> dict[str, Any]:
    headers = [
        {
            "name": name,
            "in": "header",
            "required": False,
            "description": f"{source}: {text}",
            "schema": {"type": "string", "maxLength": 4096},
        }
        for source in sources
        for name, text in SENDER_HEADERS.get(source, [])
    ]
    return {
        "summary": summary,
        "operationId": operation_id,
        "description": (
            "Verifies the delivery the way its sender signs it (docs/webhooks.md), refuses what the sender would "
            "never send, records the delivery once and queues it. A retry of a delivery already taken is "
            "answered like the first one, with `duplicate`."
        ),
        "security": [{}, {"basicAuth": []}, {"apiKey": []}],
        "parameters": [{"$ref": "#/components/parameters/Tenant"}, *headers],
        "requestBody": {
            "required": True,
            "description": (
                "The sender's own payload, byte for byte. `generic` posts "
                "[canonical events](#/components/schemas/GenericDelivery); PayTR posts a form; the rest JSON."
            ),
            "content": {
                "application/json": {"schema": {}, "examples": examples.get("application/json", {})},
                "application/x-www-form-urlencoded": {
                    "schema": {"$ref": "#/components/schemas/PaytrCallback"},
                    "examples": examples.get("application/x-www-form-urlencoded", {}),
                },
            },
        },
        "responses": {
            "200": {
                "description": "Taken, for senders that want a 200: PayTR gets the plain text `OK`, "
                "WooCommerce's creation ping a JSON status.",
                "content": {
                    "text/plain": {"schema": {"type": "string", "const": "OK"}},
                    "application/json": {"schema": {"$ref": "#/components/schemas/Status"}},
                },
            },
            "202": {
                "description": "Taken (`accepted`), already taken (`duplicate`), or taken without anything "
                "to do (`ignored`).",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}},
            },
            "401": _error("Not signed by the sender: bad or missing signature, wrong secret, stale timestamp."),
            "404": _error(
                "No such sender, or no such tenant for it, or an event path for a sender that uses none; "
                "API Gateway's own answer when no route matches.",
                gateway=True,
            ),
            "413": _error(
                "The body is larger than the sender ever sends (5 MiB); API Gateway's own answer over 10 MB.",
                gateway=True,
            ),
            "422": _error("A body the sender would never send; `path` names the field."),
            "429": {
                "description": "API Gateway's throttling (100 requests/s, bursts of 200): retry later.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}},
            },
        },
    }


def document() -> dict[str, Any]:
    senders = _http_senders()
    event_senders = _event_path_senders()
    examples = _examples(event_paths=False)
    post_examples = _examples(event_paths=True, method="POST")
    put_examples = _examples(event_paths=True, method="PUT")
    schemas: dict[str, Any] = {
        "Status": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string", "enum": ["accepted", "duplicate", "ignored"]}},
        },
        "Error": {
            "type": "object",
            "required": ["error", "path", "request_id"],
            "properties": {
                "error": {"type": "string", "description": "What is wrong; never echoes personal data."},
                "path": {"type": "string", "description": "The field at fault (`line_items.2.price`), or empty."},
                "request_id": {"type": "string", "description": "Quote it to support."},
            },
        },
        "GatewayMessage": {
            "type": "object",
            "description": "API Gateway's own answer, before our code runs (no route, over 10 MB, throttled).",
            "required": ["message"],
            "properties": {"message": {"type": "string"}},
        },
        "PaytrCallback": {
            "type": "object",
            "description": "PayTR's payment callback (https://dev.paytr.com/en/iframe-api/iframe-api-2-adim).",
            "required": ["merchant_oid", "status", "total_amount", "hash"],
            "properties": {
                "merchant_oid": {"type": "string"},
                "status": {"type": "string", "enum": ["success", "failed"]},
                "total_amount": {"type": "string", "pattern": "^[0-9]+$", "description": "kuruş"},
                "hash": {"type": "string"},
                "payment_type": {"type": "string"},
                "currency": {"type": "string"},
                "payment_amount": {"type": "string"},
                "test_mode": {"type": "string"},
                "failed_reason_code": {"type": "string"},
                "failed_reason_msg": {"type": "string"},
            },
        },
        **_canonical_schemas(),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mutabik webhooks",
            "version": "1.0.0",
            "summary": "Where marketplaces, shops, payment providers and the seller's own apps post events.",
            "description": (
                "One URL per sender and tenant: `POST /v1/webhooks/{source}/{tenant}`; senders that call one path "
                "per event post (or put) under it. What to configure at each sender, the secret's format, the "
                "topics taken and how replies work: docs/webhooks.md. Amazon SP-API does not call this API: its "
                "notifications reach the ingest queue through EventBridge or SP-API's SQS workflow."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "https://{api}", "variables": {"api": {"default": "api.mutabik.example"}}}],
        "paths": {
            "/v1/webhooks/{source}/{tenant}": {
                "post": _operation("Receive a sender's delivery", "receiveDelivery", senders, examples),
                "parameters": [
                    {
                        "name": "source",
                        "in": "path",
                        "required": True,
                        "description": "The sender.",
                        "schema": {"type": "string", "enum": senders},
                    }
                ],
            },
            "/v1/webhooks/{source}/{tenant}/{event}": {
                "description": "Senders that call one path per event under the URL they were given "
                "(API Gateway route `ANY /v1/webhooks/{source}/{tenant}/{proxy+}`; other methods are 405).",
                "parameters": [
                    {
                        "name": "source",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": event_senders},
                    },
                    {
                        "name": "event",
                        "in": "path",
                        "required": True,
                        "description": "The event path, which may span segments: `orders`, "
                        "`orders/{orderNumber}/cancel`, `packages/{packageNumber}/intransit`.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                    },
                ],
                "post": _operation("Receive a sender's event", "receiveEventPost", event_senders, post_examples),
                "put": _operation("Receive a sender's status event", "receiveEventPut", event_senders, put_examples),
            },
        },
        "components": {
            "parameters": {
                "Tenant": {
                    "name": "tenant",
                    "in": "path",
                    "required": True,
                    "description": "The seller (mutabik tenant) the URL was made for.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"},
                }
            },
            "securitySchemes": {
                "basicAuth": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "Trendyol (BASIC_AUTHENTICATION) and Hepsiburada: the credentials registered.",
                },
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-api-key",
                    "description": "Trendyol (API_KEY): the key registered.",
                },
            },
            "schemas": schemas,
        },
    }


def render() -> str:
    header = "# Generated by tools/make_openapi.py from the code; edit that script, not this file.\n"
    return header + yaml.safe_dump(document(), sort_keys=False, allow_unicode=True, width=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.yaml is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current != text:
            print("docs/openapi.yaml is out of date: run tools/make_openapi.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
