"""Re-sign the sample webhook events in events/<source>/*.json so their signatures stay right.

Each sample is an API Gateway HTTP API (payload format 2.0) event, usable with `sam local invoke -e` and with
`mutabik send`. The file is its own source of truth: this script keeps its `body` and its non-signature
`headers`, then rebuilds the envelope and signs the body with the demo secret of events/secrets.json, the way
the sender signs (each source module's `sign`). A new sample can start as `{"headers": {...}, "body": {...}}`
(a JSON body may be written as an object; a form body as a string).

    .venv/bin/python tools/make_events.py            # sign at the fixed time (deterministic files)
    .venv/bin/python tools/make_events.py --now      # sign at the current time (timestamped schemes
                                                     # refuse signatures older than 5 minutes)

Amazon SP-API samples (events/amazon) are EventBridge events, not HTTP: they are left as they are.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "core"))

from mutabik.sources import get_source  # noqa: E402
from mutabik.sources.base import Delivery  # noqa: E402

EVENTS = ROOT / "events"
SECRETS = EVENTS / "secrets.json"
#: The instant the committed samples are signed at; tests freeze their clock here.
SIGNED_AT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
TENANT = "demo"
#: Headers an HTTP API adds in front of every request, whatever the sender.
_GATEWAY_HEADERS = {
    "content-length": "",
    "host": "api.mutabik.example",
    "x-amzn-trace-id": "Root=1-00000000-000000000000000000000000",
    "x-forwarded-for": "203.0.113.10",
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https",
}


def http_api_event(
    source: str, headers: dict[str, str], body: bytes, at: datetime, name: str, rest: str = "", method: str = "POST"
) -> dict[str, Any]:
    """An API Gateway HTTP API v2 event for `POST /v1/webhooks/{source}/demo` carrying these bytes.

    Senders that call one path per event under a base URL (Hepsiburada) add `rest` after the tenant: those
    events use the route `ANY /v1/webhooks/{source}/{tenant}/{proxy+}` and carry it as pathParameters.proxy.
    """
    path = f"/v1/webhooks/{source}/{TENANT}" + (f"/{rest}" if rest else "")
    route = f"{'ANY' if rest else 'POST'} /v1/webhooks/{{source}}/{{tenant}}" + ("/{proxy+}" if rest else "")
    parameters = {"source": source, "tenant": TENANT} | ({"proxy": rest} if rest else {})
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    all_headers = {**_GATEWAY_HEADERS, **{k.lower(): v for k, v in headers.items()}}
    all_headers["content-length"] = str(len(body))
    request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"mutabik:{source}:{name}"))
    return {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": dict(sorted(all_headers.items())),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "mutabikapi",
            "domainName": "api.mutabik.example",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": headers.get("user-agent", "sender"),
            },
            "requestId": request_id,
            "routeKey": route,
            "stage": "$default",
            "time": at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(at.timestamp() * 1000),
        },
        "pathParameters": parameters,
        "body": text,
        "isBase64Encoded": is_base64,
    }


def _body(event: dict[str, Any]) -> bytes:
    body = event.get("body", "")
    if isinstance(body, dict | list):
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return str(body).encode()


def resign(path: Path, secrets: dict[str, str], at: datetime) -> dict[str, Any]:
    """The sample at `path`, rebuilt and signed with its source's demo secret at `at`."""
    source_name = path.parent.name
    event = json.loads(path.read_text())
    source = get_source(source_name).__class__(clock=lambda: at)
    headers = {k.lower(): v for k, v in event.get("headers", {}).items() if k.lower() not in _GATEWAY_HEADERS}
    # The path after the tenant and the method: from a stub's "path"/"method", or kept from the event.
    rest = str(event.get("path") or (event.get("pathParameters") or {}).get("proxy") or "")
    method = str(event.get("method") or event.get("requestContext", {}).get("http", {}).get("method") or "POST")
    delivery = Delivery(source=source_name, tenant=TENANT, headers=headers, body=_body(event), path=rest)
    signed = source.sign(delivery, secrets[source_name])
    return http_api_event(source_name, dict(signed.headers), signed.body, at, path.stem, rest, method)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--now", action="store_true", help="sign at the current time instead of SIGNED_AT")
    parser.add_argument("files", nargs="*", type=Path, help="samples to re-sign (default: all)")
    args = parser.parse_args(argv)
    at = datetime.now(UTC).replace(microsecond=0) if args.now else SIGNED_AT
    secrets: dict[str, str] = json.loads(SECRETS.read_text())
    files = args.files or sorted(p for p in EVENTS.glob("*/*.json") if p.parent.name in secrets)
    for path in files:
        if not get_source(path.parent.name).http:
            continue
        event = resign(path, secrets, at)
        path.write_text(json.dumps(event, ensure_ascii=False, indent=2) + "\n")
        print(f"signed {path.resolve().relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
