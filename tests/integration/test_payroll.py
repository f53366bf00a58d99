"""Payroll pulls against moto and a fake Elektraweb HR module on a loopback port: one balanced journal entry per
period, exactly once; refused with the reason, and nothing posted, when it cannot be right."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from mutabik.model.document import DocumentStatus, DocumentType
from mutabik.payroll.exceptions import PayrollAuthError, PayrollTotalsError
from mutabik.payroll.pull import PullOutcome, pull
from mutabik.store import keys
from mutabik.store.deliveries import DeliveryState

from tests.fakes import FakeServer
from tests.fakes.elektraweb import EMPLOYEES, Fake
from tests.support import drain, drain_all


@pytest.fixture(autouse=True)
def _empty_queues(runtime: Any) -> Iterator[None]:
    drain_all(runtime)
    yield
    drain_all(runtime)


@pytest.fixture
def hr() -> Iterator[tuple[Fake, str]]:
    fake = Fake()
    with FakeServer(fake) as server:
        yield fake, server.url


def payroll_tenant(services: Any, fake: Fake, url: str, *, password: str | None = None) -> str:
    from mutabik.payroll.settings import PayrollAccounts, PayrollSettings
    from mutabik.store.tenants import TenantConfig

    name = f"t{uuid.uuid4().hex[:10]}"
    credentials = {**fake.credentials(), **({"password": password} if password else {})}
    services.secrets.put(keys.source_secret_name(services.secrets.prefix, name, "payroll"), json.dumps(credentials))
    services.tenants.put(
        TenantConfig(
            tenant=name,
            routes={DocumentType.JOURNAL_ENTRY: "export"},
            payroll=PayrollSettings(
                base_url=url,
                options=fake.options(),
                accounts=PayrollAccounts(expense_by_department={"Mutfak": "730"}),
            ),
        )
    )
    return name


def journal_key(tenant: str, period: str = "2026-10") -> str:
    return keys.document_key(tenant, "export", DocumentType.JOURNAL_ENTRY, f"payroll:{period}")


def test_a_pull_posts_one_balanced_journal_entry_and_queues_it(
    runtime: Any, services: Any, hr: tuple[Fake, str]
) -> None:
    tenant = payroll_tenant(services, *hr)

    result = pull(tenant, "2026-10", services)

    assert result.outcome is PullOutcome.POSTED
    document = services.documents.get(journal_key(tenant))
    assert (document.status, document.type, document.source) == (DocumentStatus.PENDING, "journal_entry", "payroll")
    journal = document.payload["journal"]
    debits = sum(Decimal(line["debit"]) for line in journal["lines"])
    credits = sum(Decimal(line["credit"]) for line in journal["lines"])
    assert debits == credits > 0
    assert {line["account"] for line in journal["lines"]} == {"770", "730", "335", "360", "361"}
    assert document.payload["payroll"]["employees"] == len(EMPLOYEES)
    assert drain(runtime, "PushQueue") == [{"key": document.key, "_attributes": {}}]
    record = services.deliveries.get(tenant, "payroll", "2026-10")
    assert (record.state, record.documents) == (DeliveryState.MAPPED, (document.key,))


def test_pulling_the_same_period_again_posts_nothing_new(runtime: Any, services: Any, hr: tuple[Fake, str]) -> None:
    from mutabik.pipeline.pushing import push

    tenant = payroll_tenant(services, *hr)
    pull(tenant, "2026-10", services)
    drain(runtime, "PushQueue")
    pushed = push(journal_key(tenant), services)  # the export provider takes it: settled
    assert pushed is not None
    assert pushed.status is DocumentStatus.SUBMITTED

    again = pull(tenant, "2026-10", services)

    assert again.outcome is PullOutcome.UNCHANGED
    assert services.documents.get(journal_key(tenant)) == pushed
    assert drain(runtime, "PushQueue") == []
    assert [d.key for d in services.documents.list_day(tenant, pushed.created_at.date())] == [pushed.key]


def test_a_payroll_changed_after_posting_is_reported_not_posted_again(
    runtime: Any, services: Any, hr: tuple[Fake, str]
) -> None:
    fake, url = hr
    tenant = payroll_tenant(services, fake, url)
    pull(tenant, "2026-10", services)
    posted = services.documents.get(journal_key(tenant))

    fake.change("2026-10")
    result = pull(tenant, "2026-10", services)

    assert result.outcome is PullOutcome.CHANGED
    assert "changed after it was posted (gross 165500.50 → 170500.50" in result.message
    assert services.documents.get(journal_key(tenant)).payload == posted.payload
    assert services.deliveries.get(tenant, "payroll", "2026-10").reason == result.message


def test_bad_credentials_are_a_clear_error_and_nothing_is_posted(
    runtime: Any, services: Any, hr: tuple[Fake, str]
) -> None:
    tenant = payroll_tenant(services, *hr, password="yanlis")

    with pytest.raises(PayrollAuthError, match="Elektraweb refused the payroll credentials: Kullanıcı kodu veya şifre"):
        pull(tenant, "2026-10", services)

    assert services.documents.get(journal_key(tenant)) is None
    record = services.deliveries.get(tenant, "payroll", "2026-10")
    assert record.state is DeliveryState.FAILED
    assert "credentials" in record.reason
    assert drain(runtime, "PushQueue") == []


def test_totals_that_do_not_add_up_are_refused_with_the_reason(
    runtime: Any, services: Any, hr: tuple[Fake, str]
) -> None:
    fake, url = hr
    tenant = payroll_tenant(services, fake, url)
    fake.break_totals("2026-10")

    with pytest.raises(PayrollTotalsError) as refused:
        pull(tenant, "2026-10", services)

    assert str(refused.value).startswith("payroll 2026-10 does not add up: ")
    assert "total net is 118417.96 but the lines add up to 118317.96" in str(refused.value)
    assert services.documents.get(journal_key(tenant)) is None
    assert drain(runtime, "PushQueue") == []
    assert services.deliveries.get(tenant, "payroll", "2026-10").state is DeliveryState.FAILED


def test_no_name_or_tckn_is_logged_or_stored(
    runtime: Any,
    services: Any,
    hr: tuple[Fake, str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, url = hr
    tenant = payroll_tenant(services, fake, url)
    pull(tenant, "2026-10", services)
    fake.change("2026-10")
    pull(tenant, "2026-10", services)
    fake.break_totals("2026-10")
    with pytest.raises(PayrollTotalsError):
        pull(tenant, "2026-10", services)

    printed = capsys.readouterr()
    # Every log record with its extra fields, as a JSON formatter would write them.
    logged = "".join(repr(vars(record)) for record in caplog.records)
    stored = services.documents.get(journal_key(tenant)).model_dump_json()
    assert "payroll posted" in logged
    assert "total net is" in logged
    for _, name, tckn, _, _ in EMPLOYEES:
        for text in (printed.out, printed.err, logged, stored):
            assert name not in text
            assert tckn not in text


def test_the_cli_pulls_on_demand(
    runtime: Any,
    services: Any,
    hr: tuple[Fake, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mutabik.cli import main, payroll

    tenant = payroll_tenant(services, *hr)
    monkeypatch.setattr(payroll, "connect", lambda args: (services, {}))

    assert main(["payroll", "pull", "--tenant", tenant, "--period", "2026-10", "--dry-run"]) == 0
    assert services.documents.get(journal_key(tenant)) is None
    assert main(["payroll", "pull", "--tenant", tenant, "--period", "2026-10"]) == 0
    assert main(["payroll", "pull", "--tenant", tenant, "--period", "2026-10"]) == 0
    assert main(["payroll", "pull", "--tenant", tenant, "--period", "2026-13"]) == 1

    out = capsys.readouterr().out
    assert "preview: not posted (dry run)" in out
    assert f"posted: posted as {journal_key(tenant)}" in out
    assert "unchanged: already posted" in out
    assert "335" in out
    assert "Net ödenecek ücretler" in out
    assert "YYYY-MM" in out


def test_the_monthly_run_pulls_each_payroll_tenant_and_reports_each(
    runtime: Any, services: Any, hr: tuple[Fake, str]
) -> None:
    from mutabik.payroll.scheduled import run_scheduled

    fake, url = hr
    good = payroll_tenant(services, fake, url)
    refused = payroll_tenant(services, fake, url, password="yanlis")

    result = run_scheduled({"period": "2026-10", "tenant": good}, services)
    assert [r["outcome"] for r in result["results"]] == ["posted"]
    result = run_scheduled({"period": "2026-10", "tenant": refused}, services)
    assert result["results"][0]["outcome"] == "refused"
    assert "credentials" in result["results"][0]["message"]


def test_the_lambda_entry_point_runs_the_monthly_pull(runtime: Any, services: Any, hr: tuple[Fake, str]) -> None:
    import importlib.util
    from pathlib import Path

    from mutabik_local.functions import LambdaContext

    path = Path(__file__).resolve().parents[2] / "functions" / "payroll" / "app.py"
    spec = importlib.util.spec_from_file_location("payroll_function_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tenant = payroll_tenant(services, *hr)
    context = LambdaContext(
        function_name="PayrollFunction", invoked_function_arn="arn:aws:lambda:::x", timeout_seconds=120
    )

    result = module.lambda_handler({"tenant": tenant, "period": "2026-10"}, context)

    assert result["period"] == "2026-10"
    assert [(r["tenant"], r["outcome"]) for r in result["results"]] == [(tenant, "posted")]
    assert drain(runtime, "PushQueue") == [{"key": journal_key(tenant), "_attributes": {}}]
