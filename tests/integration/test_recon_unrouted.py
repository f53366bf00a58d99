"""The daily report lists what no tenant's day can: dead letters that belong to no tenant (an Amazon seller
nobody has registered yet), so an order nobody will invoice is seen the next morning, not at month end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.support import drain, drain_all


@pytest.fixture(autouse=True)
def _empty_queues(runtime: Any) -> Iterator[None]:
    drain_all(runtime)
    yield
    drain_all(runtime)


def amazon_event(seller: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(Path(ROOT, "events", "amazon", "transaction-update.json").read_text())
    event["detail"]["Payload"]["TransactionUpdateNotification"]["SellingPartnerMetadata"]["SellingPartnerId"] = seller
    return event


def test_an_unknown_sellers_notification_fails_the_report_and_names_the_seller(
    runtime: Any, services: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from mutabik.cli.reconcile import print_report
    from mutabik.recon.deliveries import write_report

    event = amazon_event("A1NOBODYYET")
    services.ingest_queue.send(event)
    services.ingest_queue.send({"detail-type": "Order", "source": "com.example.shop", "detail": {}})
    assert runtime.pollers["MapperFunction"].poll_once() == 2

    summary = write_report("2026-01-15", [], services)

    assert summary["ok"] is False
    assert summary["unrouted"] == 2
    report = json.loads(services.blobs.get(summary["key"]))
    by_source = {entry["source"]: entry for entry in report["unrouted"]}
    amazon = by_source["amazon"]
    assert amazon["account"] == "A1NOBODYYET"
    assert amazon["delivery_id"] == event["detail"]["NotificationMetadata"]["NotificationId"]
    assert amazon["reason"] == "no tenant has amazon account A1NOBODYYET"
    assert by_source[""]["reason"] == "not an ingest message"
    print_report(report, summary["key"])
    printed = capsys.readouterr().out
    assert "ATTENTION" in printed
    assert "NO TENANT for amazon account A1NOBODYYET" in printed
    # Peeking leaves them where they are, for the redrive once the seller is registered.
    assert len(drain(runtime, "IngestDLQ")) == 2


def test_a_report_with_no_unrouted_dead_letters_is_ok(runtime: Any, services: Any) -> None:
    from mutabik.recon.deliveries import write_report

    summary = write_report("2026-01-15", [{"tenant": "x", "ok": True}], services)
    assert summary["ok"] is True
    assert summary["unrouted"] == 0
