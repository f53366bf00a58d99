"""Webhook throughput and cold start: verified + parsed + enqueued deliveries per second through the real
handler (ledger, secrets and queue stubbed in memory), against HMAC + json.loads alone; and the handler's cold
import time against `import boto3` alone. Figures are ratios to baselines measured in the same run."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(
    {
        "POWERTOOLS_LOG_LEVEL": "WARNING",  # per-delivery INFO lines measure the log sink, not us
        "POWERTOOLS_METRICS_NAMESPACE": "Mutabik",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "TABLE_NAME": "bench",
        "INGEST_QUEUE_URL": "memory://ingest",
        "PAYLOAD_BUCKET": "bench",
    }
)

from tests.support import SHOPIFY_SECRET, shopify_delivery, shopify_order  # noqa: E402

DELIVERIES = 2000


class _Memory:
    """The ports the webhook touches, in memory: what is left is our own work."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.sent: list[dict[str, Any]] = []

    def get(self, tenant: str) -> Any:
        return self.config

    def source_secret(self, tenant: str, source: str) -> str:
        return SHOPIFY_SECRET

    def record(self, record: Any) -> tuple[Any, bool]:
        return record, True

    def update(self, record: Any, **changes: Any) -> Any:
        return record.model_copy(update=changes)

    def send(self, message: dict[str, Any], **_: Any) -> str:
        self.sent.append(message)
        return "id"


def load_handler() -> Any:
    spec = importlib.util.spec_from_file_location("webhook_app", ROOT / "functions/webhook/app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def events() -> list[tuple[bytes, dict[str, str], dict[str, Any]]]:
    made = []
    for i in range(DELIVERIES):
        body, headers = shopify_delivery(shopify_order(order_id=6_000_000 + i), webhook_id=str(uuid.uuid4()))
        event = {
            "version": "2.0",
            "routeKey": "POST /v1/webhooks/{source}/{tenant}",
            "rawPath": "/v1/webhooks/shopify/bench",
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "http": {"method": "POST", "path": "/v1/webhooks/shopify/bench"},
                "requestId": str(i),
                "routeKey": "POST /v1/webhooks/{source}/{tenant}",
                "stage": "$default",
            },
            "pathParameters": {"source": "shopify", "tenant": "bench"},
            "body": body.decode(),
            "isBase64Encoded": False,
        }
        made.append((body, headers, event))
    return made


def throughput() -> None:
    from mutabik.store.tenants import SourceSettings, TenantConfig
    from mutabik_local.functions import LambdaContext

    module = load_handler()
    memory = _Memory(TenantConfig(tenant="bench", sources={"shopify": SourceSettings()}))
    for port in ("tenants", "secrets", "deliveries", "ingest_queue"):
        module.services.__dict__[port] = memory
    samples = events()
    context = LambdaContext("webhook", "arn:aws:lambda:eu-central-1:123456789012:function:webhook", 10)

    start = time.perf_counter()
    for body, headers, _ in samples:
        digest = base64.b64encode(hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest())
        assert hmac.compare_digest(digest, headers["x-shopify-hmac-sha256"].encode())
        json.loads(body)
    baseline = DELIVERIES / (time.perf_counter() - start)

    # Metrics are printed (EMF) as on Lambda; the sink is /dev/null so the terminal is not what we measure.
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        start = time.perf_counter()
        for _, _, event in samples:
            assert module.lambda_handler(event, context)["statusCode"] == 202
        handler = DELIVERIES / (time.perf_counter() - start)
    assert len(memory.sent) == DELIVERIES

    print(f"deliveries                  : {DELIVERIES} Shopify orders/paid, {len(samples[0][0])} bytes each")
    print(f"baseline HMAC + json.loads  : {baseline:10.0f} /s")
    print(f"webhook handler (in memory) : {handler:10.0f} /s   = {handler / baseline:.3f} × baseline")


def cold_import(code: str, runs: int = 7) -> float:
    timings = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        timings.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(timings)


def cold_start() -> None:
    boto = cold_import("import boto3")
    handler = cold_import(
        "import importlib.util as u; s = u.spec_from_file_location('app', 'functions/webhook/app.py'); "
        "m = u.module_from_spec(s); s.loader.exec_module(m)"
    )
    print(f"cold import `import boto3`  : {boto * 1000:8.1f} ms (median of 7)")
    print(f"cold import webhook handler : {handler * 1000:8.1f} ms (median of 7)   = {handler / boto:.2f} × boto3")


if __name__ == "__main__":
    throughput()
    cold_start()
