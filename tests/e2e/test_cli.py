"""The operator's commands against a running local runtime: send, documents, schedule run, reconcile, dlq."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from mutabik.cli import main

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture
def state(running_pipeline: Any, tmp_path: Path) -> str:
    return str(running_pipeline.write_state(tmp_path / "runtime.json"))


@pytest.fixture
def demo(services: Any) -> Any:
    from mutabik_local.demo import seed_demo_tenant

    return seed_demo_tenant(ROOT, services)


def test_send_then_documents_shows_the_submitted_invoice(
    running_pipeline: Any, demo: Any, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["send", str(ROOT / "events/shopify/orders-paid.json"), "--state", state]) == 0
    out = capsys.readouterr().out
    assert '202 {"status": "accepted"}' in out or '202 {"status": "duplicate"}' in out
    assert running_pipeline.settle(30)

    assert main(["documents", "--tenant", "demo", "--json", "--state", state]) == 0
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    invoice = next(d for d in documents if d["source_ref"] == "shopify:5800000000001")
    assert invoice["status"] == "SUBMITTED"
    assert invoice["type"] == "sales_invoice"


def test_schedule_run_fires_the_daily_reconciliation(
    running_pipeline: Any, demo: Any, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schedule", "list", "--state", state]) == 0
    assert "DailyReconciliationSchedule" in capsys.readouterr().out

    assert main(["schedule", "run", "DailyReconciliationSchedule", "--state", state]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "SUCCEEDED"
    assert result["output"]["report"]["key"].startswith("reports/reconciliation/")


def test_reconcile_prints_the_days_report(
    running_pipeline: Any, demo: Any, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["send", str(ROOT / "events/shopify/orders-paid.json"), "--state", state])
    assert running_pipeline.settle(30)
    capsys.readouterr()

    assert main(["reconcile", "--date", "today", "--json", "--state", state]) in (0, 2)
    report = json.loads(capsys.readouterr().out)
    (demo_report,) = [t for t in report["tenants"] if t["tenant"] == "demo"]
    assert demo_report["deliveries"] >= 1
    assert demo_report["delivery_states"].get("mapped", 0) >= 1
    assert demo_report["unaccounted"] == []


def test_reconcile_refuses_a_malformed_date(state: str) -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        main(["reconcile", "--date", "21.11.2026", "--state", state])


def test_dlq_redrive_via_the_function(running_pipeline: Any, services: Any) -> None:
    """The RedriveFunction moves what waits in the push DLQ back to the push queue."""
    dlq = running_pipeline.resource("PushDLQ")
    running_pipeline.sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"key": "nobody#export#x#y"}))
    result = running_pipeline.host.invoke("RedriveFunction", {"queue": "push"})
    assert result["moved"] >= 1
    assert result["remaining"] is False


def test_commands_without_a_runtime_say_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="make run"):
        main(["documents", "--state", str(tmp_path / "missing.json")])


def test_schedule_run_invokes_the_monthly_payroll_pull(
    running_pipeline: Any, demo: Any, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Lambda target is invoked as the scheduler would; tenants without a payroll section are skipped."""
    assert main(["schedule", "run", "MonthlyPayrollSchedule", "--state", state]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["period"] == (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert all(r["tenant"] != "demo" for r in result["results"])  # the demo tenant has no payroll section
