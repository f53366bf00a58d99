"""End to end on the local runtime: HTTP in, queues polled as Lambda polls them, documents out, reconciliation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from mutabik.model.document import DocumentStatus
from mutabik_local.runtime import wait_until

from tests.conftest import ROOT
from tests.support import drain, shopify_delivery, shopify_order

pytestmark = pytest.mark.e2e


def post(runtime: Any, tenant: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{runtime.webhook_base}/shopify/{tenant}", content=body, headers=headers, timeout=30)


def documents_of(services: Any, tenant: str) -> list[Any]:
    return services.documents.list_day(tenant, datetime.now(UTC).date())


def test_webhook_to_submitted_document_and_duplicates_change_nothing(
    running_pipeline: Any, tenant: Any, services: Any
) -> None:
    body, headers = shopify_delivery(shopify_order(order_id=7001))

    first = post(running_pipeline, tenant.tenant, body, headers)
    assert first.status_code == 202
    assert wait_until(lambda: [d.status for d in documents_of(services, tenant.tenant)] == ["SUBMITTED"], 30)

    # The same delivery again, and the same order in a new delivery: still one document.
    assert post(running_pipeline, tenant.tenant, body, headers).json() == {"status": "duplicate"}
    body2, headers2 = shopify_delivery(shopify_order(order_id=7001))
    assert post(running_pipeline, tenant.tenant, body2, headers2).status_code == 202
    assert running_pipeline.settle(30)
    (document,) = documents_of(services, tenant.tenant)
    assert (document.status, document.version, document.attempts) == (DocumentStatus.SUBMITTED, 2, 1)


def test_a_failing_provider_is_retried_until_the_document_goes(
    running_pipeline: Any, tenant: Any, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mutabik.providers.exceptions import RetryableProviderError
    from mutabik.providers.export import ExportProvider

    real_issue = ExportProvider.issue
    calls: list[int] = []

    def flaky(self: ExportProvider, document: Any, invoice: Any = None) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RetryableProviderError("503 from the provider", status_code=503, retry_after=1)
        return real_issue(self, document, invoice)

    monkeypatch.setattr(ExportProvider, "issue", flaky)
    body, headers = shopify_delivery(shopify_order(order_id=7002))
    assert post(running_pipeline, tenant.tenant, body, headers).status_code == 202

    assert wait_until(lambda: [d.status for d in documents_of(services, tenant.tenant)] == ["SUBMITTED"], 45)
    (document,) = documents_of(services, tenant.tenant)
    # The retry found no copy at the provider (find), then issued: two attempts, one document.
    assert document.attempts == 2
    assert len(calls) == 2


def test_a_poison_delivery_reaches_the_dlq_and_reconciliation_names_it(
    running_pipeline: Any, tenant: Any, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a delivery whose mapping always fails WHEN it has been received maxReceiveCount times
    THEN it is in the ingest DLQ, and the day's reconciliation reports it with its reason."""
    from mutabik.cli._executions import run_execution
    from mutabik.pipeline import mapping

    drain(running_pipeline, "IngestDLQ")
    real = mapping.plan

    def poisoned(event: Any, *rest: Any) -> Any:
        if event.kind == "order.paid" and event.order.source_ref == "7003":
            raise RuntimeError("mapper bug on this order")
        return real(event, *rest)

    monkeypatch.setattr(mapping, "plan", poisoned)
    good_body, good_headers = shopify_delivery(shopify_order(order_id=7004))
    bad_body, bad_headers = shopify_delivery(shopify_order(order_id=7003))
    assert post(running_pipeline, tenant.tenant, good_body, good_headers).status_code == 202
    assert post(running_pipeline, tenant.tenant, bad_body, bad_headers).status_code == 202

    dlq = running_pipeline.resource("IngestDLQ")

    def in_dlq() -> bool:
        attributes = running_pipeline.sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) >= 1

    assert wait_until(in_dlq, 90), "the poison message never reached the DLQ"
    assert running_pipeline.settle(30)

    machine = running_pipeline.resource("ReconciliationStateMachine", "Arn")
    result = run_execution(machine, json.dumps({"date": "today"}))
    assert result["status"] == "SUCCEEDED", result
    report = json.loads(services.blobs.get(result["output"]["report"]["key"]))
    (mine,) = [t for t in report["tenants"] if t["tenant"] == tenant.tenant]
    assert mine["deliveries"] == 2
    assert mine["delivery_states"] == {"mapped": 1, "dead_lettered": 1}
    assert mine["document_statuses"] == {"SUBMITTED": 1}
    (dead,) = mine["dead_lettered"]
    assert dead["delivery_id"] == bad_headers["x-shopify-webhook-id"]
    assert "mapper bug on this order" in dead["reason"]
    assert mine["unaccounted"] == []

    # After the fix, the operator replays the DLQ and the order gets its document.
    monkeypatch.undo()
    from mutabik.pipeline.redrive import redrive

    assert redrive(services.ingest_dlq, services.ingest_queue).moved >= 1
    assert wait_until(lambda: len(documents_of(services, tenant.tenant)) == 2, 30)


def test_make_run_once_pushes_the_sample_order(tmp_path: Any) -> None:
    """`mutabik local --once` (what `make demo` runs) in its own process: exit 0 and a SUBMITTED document."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_", "TABLE_", "PAYLOAD_"))}
    completed = subprocess.run(
        [sys.executable, "-m", "mutabik.cli", "local", "--once", "--port", "0", "--root", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "SUBMITTED" in completed.stdout
    assert "sales_invoice" in completed.stdout
