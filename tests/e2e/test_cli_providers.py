"""A newcomer's flow without credentials: `mutabik send --provider NAME` through the local runtime to that
provider's fake, then the PDF, the day's reconciliation against the provider, and a replay of a rejection."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mutabik.cli import main

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

ORDER = str(ROOT / "events/shopify/orders-paid.json")


@pytest.fixture
def fakes(running_pipeline: Any, services: Any) -> Iterator[dict[str, Any]]:
    from mutabik_local.fakes import start_fakes

    run = uuid.uuid4().hex[:6]  # the session's runtime outlives this test: tenants of its own
    servers = start_fakes(ROOT, ["parasut", "gib_portal"], services, lambda name: f"demo-{name}-{run}")
    running_pipeline.extra_state["providers"] = {
        name: {"url": server.url, "tenant": f"demo-{name}-{run}"} for name, server in servers.items()
    }
    yield servers
    running_pipeline.extra_state.pop("providers")
    for server in servers.values():
        server.stop()


@pytest.fixture
def state(running_pipeline: Any, fakes: dict[str, Any], tmp_path: Path) -> str:
    return str(running_pipeline.write_state(tmp_path / "runtime.json"))


def tenant_of(state: str, provider: str) -> str:
    return str(json.loads(Path(state).read_text())["providers"][provider]["tenant"])


def _documents(state: str, tenant: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["documents", "--tenant", tenant, "--json", "--state", state]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_send_to_parasut_issues_one_accepted_invoice_with_its_pdf_and_reconciles(
    fakes: dict[str, Any], state: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["send", "--provider", "parasut", ORDER, ORDER, "--state", state]) == 0  # sent twice

    out = capsys.readouterr().out
    assert "ACCEPTED    sales_invoice   parasut" in out
    (invoice,) = _documents(state, tenant_of(state, "parasut"), capsys)
    assert invoice["status"] == "ACCEPTED"
    assert invoice["provider_refs"]["e_document_type"] == "e_archives"
    assert len(fakes["parasut"].app.sales_invoices) == 1
    fakes["parasut"].app.assert_clean()  # every request we sent matched Paraşüt's swagger

    assert main(["documents", "--pdf", invoice["key"], "-o", str(tmp_path / "fatura.pdf"), "--state", state]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("http") or (tmp_path / "fatura.pdf").read_bytes().startswith(b"%PDF")

    assert main(["reconcile", "--date", "today", "--json", "--state", state]) in (0, 2)
    report = json.loads(capsys.readouterr().out)
    (tenant,) = [t for t in report["tenants"] if t["tenant"] == tenant_of(state, "parasut")]
    assert tenant["providers"]["parasut"]["matched"] == 1
    assert tenant["providers"]["parasut"]["duplicates"] == []
    assert tenant["providers"]["parasut"]["missing_at_provider"] == []


def test_send_to_the_portal_follows_the_draft_until_the_seller_signs(
    fakes: dict[str, Any], state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The local fake "seller" signs 3 s after the draft is made; the pusher's follow-up sees it."""
    assert main(["send", "--provider", "gib_portal", ORDER, "--state", state, "--wait", "60"]) == 0

    (invoice,) = _documents(state, tenant_of(state, "gib_portal"), capsys)
    assert invoice["status"] == "ACCEPTED"
    assert invoice["number"].startswith("GIB2026")


def test_send_to_a_provider_the_runtime_does_not_serve_says_which_it_serves(state: str) -> None:
    with pytest.raises(SystemExit, match="serves no fake for 'xero' \\(it serves: gib_portal, parasut\\)"):
        main(["send", "--provider", "xero", ORDER, "--state", state])


def test_retry_sends_a_rejected_document_again_under_its_key(
    fakes: dict[str, Any], state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """GİB refuses the e-Arşiv; after the cause is fixed, `--retry` sends the same document again: it ends
    ACCEPTED on the one sales invoice Paraşüt already has, not on a second one."""
    parasut = fakes["parasut"].app
    parasut.reject_next_job("Alıcı adresi eksik")
    main(["send", "--provider", "parasut", ORDER, "--state", state, "--wait", "30"])
    (invoice,) = _documents(state, tenant_of(state, "parasut"), capsys)
    assert invoice["status"] == "REJECTED"
    assert "Alıcı adresi eksik" in invoice["error"]

    assert main(["documents", "--retry", invoice["key"], "--state", state]) == 0
    with pytest.raises(SystemExit, match="only a REJECTED document is retried"):
        main(["documents", "--retry", invoice["key"], "--state", state])

    (retried,) = _wait_for_status(state, tenant_of(state, "parasut"), "ACCEPTED", capsys)
    assert retried["key"] == invoice["key"]
    assert len(parasut.sales_invoices) == 1


def _wait_for_status(state: str, tenant: str, status: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    import time

    deadline = time.monotonic() + 30
    documents = _documents(state, tenant, capsys)
    while time.monotonic() < deadline and any(d["status"] != status for d in documents):
        time.sleep(0.3)
        documents = _documents(state, tenant, capsys)
    return documents
