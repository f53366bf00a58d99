"""The Paraşüt adapter through the pusher, against the swagger-validating fake and moto: every operation, and
"exactly one of each, never two" when tokens expire, Paraşüt rate-limits, fails, or answers too late."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from mutabik.model.document import Document, DocumentStatus, DocumentType, document_uuid
from mutabik.pipeline import pushing
from mutabik.providers.base import ProviderContext
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError
from mutabik.providers.parasut import ParasutProvider
from mutabik.store import keys
from werkzeug.wrappers import Request

from tests.fakes import FakeServer
from tests.fakes.parasut import SWAGGER, Fake, to_openapi3
from tests.integration.test_mapper_pusher import _empty_queues  # noqa: F401 - the autouse fixture
from tests.support import provider_tenant

S = DocumentStatus
EVENTS = Path(__file__).resolve().parents[2] / "events" / "generic"
#: A registered e-Fatura user's VKN (valid check digits), and a consumer's TCKN.
COMPANY_VKN = "1234567890"
PERSON_TCKN = "10000000146"


def sample_order(ref: str = "POS-2026-000731", **changes: Any) -> dict[str, Any]:
    """The generic sample order (3 × simit at 1 %, 2 × çay at 20 % less 40: 1050.00 TRY), changed."""
    order: dict[str, Any] = json.loads(json.loads((EVENTS / "order-paid.json").read_text())["body"])["order"]
    return {**order, "source_ref": ref, "number": ref[-4:], **changes}


def consumer(**changes: Any) -> dict[str, Any]:
    buyer = sample_order()["buyer"]
    return {**buyer, "name": "Ayşe Yılmaz", "tax_id": PERSON_TCKN, "tax_office": "", **changes}


WEB_SALE = {
    "website": "kahve.example",
    "payment_method": "KREDIKARTI/BANKAKARTI",
    "payment_date": "2026-01-15T12:11:00+03:00",
    "payment_agent": "iyzico",
    "carrier_name": "MNG Kargo",
    "carrier_tax_id": "6080712084",
}


@pytest.fixture(autouse=True)
def _follow_ups_visible_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """After SUBMITTED the pusher queues a delayed follow-up; these tests push by hand, and a delayed message
    would become visible after the queues were drained, in the next test's queue."""
    monkeypatch.setenv("RETRY_BASE_SECONDS", "0")


class Stage:
    """One loopback server for the module, each test putting its own fake on it (stopping a server takes
    half a second). A late answer from one test's fake still goes to that fake."""

    def __init__(self) -> None:
        self.fake: Fake | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.fake is not None
        return self.fake(environ, start_response)

    def credentials(self) -> dict[str, str]:
        return self.fake.credentials() if self.fake else {}

    def options(self) -> dict[str, str]:
        return self.fake.options() if self.fake else {}


@pytest.fixture(scope="module")
def stage() -> Iterator[tuple[Stage, str]]:
    app = Stage()
    with FakeServer(app) as server:
        yield app, server.url


@pytest.fixture
def fake(stage: tuple[Stage, str]) -> Iterator[Fake]:
    # Paraşüt's 10 requests per 10 s, scaled to 100 per second; the batch test scales it to 10 per second.
    app = Fake(rate_limit=(100, 1.0), job_polls=1, job_seconds=0.3, pdf_polls=1)
    app.url = stage[1]  # type: ignore[attr-defined]
    stage[0].fake = app
    yield app
    app.assert_clean()


@pytest.fixture
def tenant(services: Any, fake: Fake) -> Any:
    for tax_id in (COMPANY_VKN, PERSON_TCKN):  # the pusher's user-list cache is shared by all tenants
        services.cache.delete("gib-users", tax_id)
    return provider_tenant(
        services,
        "parasut",
        base_url=fake.url,  # type: ignore[attr-defined]
        credentials=fake.credentials(),
        options=fake.options(),
    )


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pusher's adapters give up on an answer after 1 s (the fake's late answers come after 2 s)."""
    real = pushing.build_provider

    def build(document: Document, services: Any) -> Any:
        provider = real(document, services)
        provider.context = dataclasses.replace(provider.context, timeout_seconds=1.0)
        return provider

    monkeypatch.setattr(pushing, "build_provider", build)


def new_document(services: Any, tenant: Any, doc_type: DocumentType, ref: str, payload: dict[str, Any]) -> str:
    key = keys.document_key(tenant.tenant, "parasut", doc_type, f"pos:{ref}")
    now = datetime.now(UTC)
    services.documents.create(
        Document(
            tenant=tenant.tenant,
            provider="parasut",
            type=doc_type,
            source="generic",
            source_ref=f"pos:{ref}",
            key=key,
            uuid=str(document_uuid(key)),
            created_at=now,
            updated_at=now,
            payload=payload,
        )
    )
    return key


def order_document(services: Any, tenant: Any, ref: str = "POS-2026-000731", **changes: Any) -> str:
    return new_document(services, tenant, DocumentType.SALES_INVOICE, ref, {"order": sample_order(ref, **changes)})


def push_until_final(services: Any, key: str, attempts: int = 6) -> Document:
    """What the push queue does: push again after each retryable failure or "not yet" (no waiting here)."""
    for _ in range(attempts):
        try:
            document = pushing.push(key, services)
        except (RetryableProviderError, pushing.NotYetFinalError):
            continue
        assert document is not None
        if document.status.is_final:
            return document
    final = services.documents.get(key)
    assert final is not None
    return final


def accepted_invoice(services: Any, tenant: Any, ref: str = "POS-2026-000731", **changes: Any) -> Document:
    document = push_until_final(services, order_document(services, tenant, ref, **changes))
    assert document.status is S.ACCEPTED, document.error
    return document


def posts_to(path_end: str) -> Callable[[Request], bool]:
    return lambda request: request.method == "POST" and request.path.endswith(path_end)


def adapter(services: Any, tenant: Any) -> ParasutProvider:
    config = services.tenants.get(tenant.tenant)
    return ParasutProvider(
        ProviderContext(
            tenant=config,
            settings=config.providers["parasut"],
            secrets=services.secrets,
            blobs=services.blobs,
            cache=services.cache.scoped(tenant.tenant, "parasut"),
        )
    )


# --- the fake itself ---------------------------------------------------------------------------------------


def test_the_converted_spec_is_valid_openapi() -> None:
    """Checked against the OpenAPI 3.0 schema (the one openapi-spec-validator ships), with the Rust validator:
    the full openapi-spec-validator takes seconds on this 800 kB spec."""
    from importlib.resources import files

    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    schema = json.loads(files("openapi_spec_validator").joinpath("resources/schemas/v3.0/schema.json").read_text())
    converted = to_openapi3(json.loads(SWAGGER.read_text(encoding="utf-8")))

    assert [str(e)[:300] for e in jsonschema_rs.validator_for(schema).iter_errors(converted)] == []
    assert "/{company_id}/purchase_bills" in converted["paths"]  # '#basic' and '#detailed' are one path
    # The swagger's own slips would not pass unmended (CompanyAttributes.logo is a list in the swagger).
    swagger = json.loads(SWAGGER.read_text(encoding="utf-8"))
    assert isinstance(swagger["definitions"]["CompanyAttributes"]["properties"]["logo"], list)


def test_the_fake_refuses_and_records_what_the_swagger_does_not_allow(fake: Fake) -> None:
    """A request off the swagger fails loudly: answered 400 and recorded, so `assert_clean` fails the test."""
    answer = httpx.post(f"{fake.url}/oauth/token", data={"grant_type": "password", **fake.credentials()})  # type: ignore[attr-defined]
    token = answer.json()["access_token"]
    response = httpx.post(
        f"{fake.url}/v4/{fake.company_id}/sales_invoices",  # type: ignore[attr-defined]
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.api+json"},
        content=json.dumps(
            {"data": {"type": "sales_invoices", "attributes": {"item_type": "invoice", "currency": "TRY"}}}
        ),
    )
    assert response.status_code == 400
    assert any("'TRY' is not one of" in v for v in fake.violations)
    assert any("issue_date" in v for v in fake.violations)  # required by SalesInvoiceAttributes
    with pytest.raises(AssertionError, match="do not match Paraşüt's swagger"):
        fake.assert_clean()
    fake.violations.clear()


# --- sales invoices ----------------------------------------------------------------------------------------


def test_a_consumer_order_becomes_one_sales_invoice_and_its_e_archive(services: Any, tenant: Any, fake: Fake) -> None:
    key = order_document(services, tenant, buyer=consumer(), web_sale=WEB_SALE)
    fake.job_polls, fake.job_seconds = 2, 60.0

    assert services.retry_base_seconds == 0  # (the fixture above took effect)
    submitted = pushing.push(key, services)
    assert submitted is not None
    assert submitted.status is S.SUBMITTED
    assert submitted.profile == "EARSIVFATURA"  # Paraşüt's inbox list: no e-Fatura user
    assert set(submitted.provider_refs) == {"sales_invoice_id", "trackable_job_id", "e_document_type"}

    with pytest.raises(pushing.NotYetFinalError):  # the job is still running at the first look
        pushing.push(key, services)
    document = pushing.push(key, services)
    assert document is not None

    assert document.status is S.ACCEPTED
    ((invoice_id, invoice),) = fake.sales_invoices.items()
    ((archive_id, archive),) = fake.e_archives.items()
    assert document.provider_refs["sales_invoice_id"] == str(invoice_id)
    assert document.provider_refs["e_document_id"] == str(archive_id)
    assert document.number == archive.attributes["invoice_number"]
    attributes = invoice.attributes
    assert (attributes["currency"], attributes["order_no"], attributes["order_date"]) == ("TRL", "0731", "2026-01-15")
    assert document.uuid in attributes["description"]
    assert attributes["net_total"] == 1050.00  # Paraşüt's own KDV per line lands on what the buyer paid
    details = [fake.details[int(d["id"])].attributes for d in invoice.relationships["details"]["data"]]
    assert [(d["quantity"], d["unit_price"], d["vat_rate"]) for d in details] == [
        (3, 148.51333333, 1),
        (2, 266.665, 20),
    ]
    assert details[1]["discount_value"] == 33.33  # 40 TRY with KDV, net
    ((job,),) = [[j for j in fake.jobs.values()]]
    assert job["attributes"]["internet_sale"] == {
        "url": "kahve.example",
        "payment_type": "KREDIKARTI/BANKAKARTI",
        "payment_platform": "iyzico",
        "payment_date": "2026-01-15",
    }
    assert job["attributes"]["shipment"] == {"title": "MNG Kargo", "vkn": "6080712084", "date": "2026-01-15"}
    (contact,) = fake.contacts.values()
    assert (contact.attributes["tax_number"], contact.attributes["contact_type"]) == (PERSON_TCKN, "person")


def test_a_registered_buyer_gets_an_e_fatura_to_its_inbox(services: Any, tenant: Any, fake: Fake) -> None:
    fake.register_inbox(COMPANY_VKN, alias="urn:mail:fatura@denizkaya.example")

    document = push_until_final(services, order_document(services, tenant))

    assert document.status is S.ACCEPTED
    assert document.profile == "TEMELFATURA"
    assert fake.e_archives == {}
    ((job,),) = [[j for j in fake.jobs.values()]]
    assert (job["kind"], job["attributes"]["to"], job["attributes"]["scenario"]) == (
        "e_invoices",
        "urn:mail:fatura@denizkaya.example",
        "basic",
    )
    assert document.provider_refs["e_document_type"] == "e_invoices"


@pytest.mark.parametrize("registered", [True, False])
def test_a_stale_user_list_is_corrected_by_paraşüts_refusal_without_a_second_invoice(
    services: Any, tenant: Any, fake: Fake, registered: bool
) -> None:
    """GIVEN the table still says the opposite of what Paraşüt's inbox list says WHEN the e-document is refused
    THEN the pusher re-issues it under the other profile: one sales invoice, one e-document of the right kind."""
    services.cache.put("gib-users", COMPANY_VKN, {"tax_id": COMPANY_VKN, "registered": not registered, "aliases": []})
    if registered:
        fake.register_inbox(COMPANY_VKN)

    document = push_until_final(services, order_document(services, tenant))

    assert document.status is S.ACCEPTED
    assert document.profile == ("TEMELFATURA" if registered else "EARSIVFATURA")
    assert len(fake.sales_invoices) == 1
    assert (len(fake.e_archives), len(fake.e_invoices)) == ((0, 1) if registered else (1, 0))


def test_an_e_document_paraşüt_refuses_later_is_rejected_with_its_words(services: Any, tenant: Any, fake: Fake) -> None:
    fake.reject_next_job("Alıcı adres bilgisi eksik (GİB)")

    document = push_until_final(services, order_document(services, tenant, buyer=consumer()))

    assert document.status is S.REJECTED
    assert document.error == "Paraşüt: Alıcı adres bilgisi eksik (GİB)"


def test_many_orders_from_one_buyer_at_once_create_one_contact(services: Any, tenant: Any, fake: Fake) -> None:
    """Five pushers at once for one buyer's five orders: one contact at Paraşüt, five invoices. The first
    creation is slowed so the others arrive while it holds the creation lease. (Started 0.1 s apart because
    moto, unlike DynamoDB, does not serialise two conditional writes arriving in the same instant.)"""
    fake.slow_next(1, 0.6, when=posts_to("/contacts"))
    keys_ = [order_document(services, tenant, f"POS-2026-00090{i}", buyer=consumer()) for i in range(5)]
    results: dict[str, Document] = {}

    def run(index: int) -> None:
        time.sleep(0.1 * index)
        results[keys_[index]] = push_until_final(services, keys_[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert [results[k].status for k in keys_] == [S.ACCEPTED] * 5
    assert len(fake.contacts) == 1
    assert len(fake.sales_invoices) == 5
    assert len(fake.e_archives) == 5
    assert fake.requests.count(("POST", f"/v4/{fake.company_id}/contacts")) == 1


def test_a_job_id_past_its_15_minutes_is_not_needed(services: Any, tenant: Any, fake: Fake) -> None:
    """The follow-up comes after Paraşüt forgot the job id: the sales invoice's active e-document says it."""
    key = order_document(services, tenant, buyer=consumer())
    assert pushing.push(key, services).status is S.SUBMITTED
    fake.finish_jobs()
    fake.forget_jobs()

    document = pushing.push(key, services)

    assert document is not None
    assert document.status is S.ACCEPTED
    assert document.provider_refs["e_document_id"] == str(next(iter(fake.e_archives)))


def test_products_are_found_or_created_by_sku_once_when_the_tenant_wants_them(services: Any, fake: Fake) -> None:
    tenant = provider_tenant(
        services,
        "parasut",
        base_url=fake.url,  # type: ignore[attr-defined]
        credentials=fake.credentials(),
        options={**fake.options(), "products": "true"},
    )
    first = accepted_invoice(services, tenant, "POS-2026-000601", buyer=consumer())
    second = accepted_invoice(services, tenant, "POS-2026-000602", buyer=consumer())

    assert (first.status, second.status) == (S.ACCEPTED, S.ACCEPTED)
    assert sorted(p.attributes["code"] for p in fake.products.values()) == ["CAY-1KG", "SIMIT-10"]
    assert fake.requests.count(("POST", f"/v4/{fake.company_id}/products")) == 2
    for invoice in fake.sales_invoices.values():
        details = [fake.details[int(d["id"])] for d in invoice.relationships["details"]["data"]]
        linked = [int(d.relationships["product"]["data"]["id"]) for d in details]
        assert [fake.products[p].attributes["code"] for p in linked] == ["SIMIT-10", "CAY-1KG"]


# --- tokens, rate limits, failures -------------------------------------------------------------------------


def test_tokens_expiring_mid_batch_are_refreshed_once(services: Any, tenant: Any, fake: Fake) -> None:
    first = accepted_invoice(services, tenant, "POS-2026-000801", buyer=consumer())
    fake.expire_tokens()  # Paraşüt revoked them: the adapter still thinks its token is good for two hours
    others = [accepted_invoice(services, tenant, f"POS-2026-00080{i}", buyer=consumer()) for i in (2, 3)]

    assert [d.status for d in (first, *others)] == [S.ACCEPTED] * 3
    assert fake.grants == ["password", "refresh_token"]
    stored = json.loads(
        services.secrets.get(services.secrets.provider_secret_name(tenant.tenant, "parasut"), fresh=True)
    )
    assert fake.refresh_tokens[stored["refresh_token"]] is True  # the rotated one is what the secret keeps
    assert (len(fake.sales_invoices), len(fake.e_archives)) == (3, 3)


def test_a_429_storm_is_waited_out_within_the_call(services: Any, tenant: Any, fake: Fake) -> None:
    fake.fail_next(2, 429, retry_after=1)
    started = time.monotonic()

    document = push_until_final(services, order_document(services, tenant, buyer=consumer()))

    assert document.status is S.ACCEPTED
    assert document.attempts == 1  # no retry through the queue: the adapter waited
    assert time.monotonic() - started >= 2
    assert (len(fake.sales_invoices), len(fake.e_archives)) == (1, 1)


def test_a_long_retry_after_postpones_only_this_document(services: Any, tenant: Any, fake: Fake) -> None:
    key = order_document(services, tenant, buyer=consumer())
    fake.fail_next(1, 429, retry_after=45, when=posts_to("/sales_invoices"))

    with pytest.raises(RetryableProviderError) as raised:
        pushing.push(key, services)

    assert raised.value.retry_after == 45
    assert services.documents.get(key).status is S.SUBMITTING
    assert push_until_final(services, key).status is S.ACCEPTED
    assert len(fake.sales_invoices) == 1


def test_paraşüts_rate_limit_is_honoured_within_the_call(services: Any, tenant: Any, fake: Fake) -> None:
    """An invoice takes some eight requests; at 5 requests per 3 s the fake answers 429 with a Retry-After the
    adapter sleeps out: the document goes in one attempt, the message is never postponed."""
    fake.rate_limit = (5, 3.0)

    document = accepted_invoice(services, tenant, buyer=consumer())

    assert document.attempts == 1
    assert fake.throttled > 0
    assert (len(fake.sales_invoices), len(fake.e_archives)) == (1, 1)


@pytest.mark.parametrize("step", ["/sales_invoices", "/e_archives"])
def test_a_5xx_is_retried_and_issues_once(services: Any, tenant: Any, fake: Fake, step: str) -> None:
    fake.fail_next(1, 503, when=posts_to(step))

    document = push_until_final(services, order_document(services, tenant, buyer=consumer()))

    assert document.status is S.ACCEPTED
    assert document.attempts == 2
    assert (len(fake.sales_invoices), len(fake.e_archives)) == (1, 1)


@pytest.mark.parametrize("step", ["/contacts", "/sales_invoices", "/e_archives"])
@pytest.mark.usefixtures("short_timeouts")
def test_an_answer_lost_after_the_work_was_done_never_doubles_it(
    services: Any, tenant: Any, fake: Fake, step: str
) -> None:
    """GIVEN Paraşüt does the work but answers after the client gave up WHEN the pusher tries again THEN it
    finds what was created and goes on from there: one contact, one sales invoice, one e-Arşiv."""
    fake.slow_next(1, 2.0, when=posts_to(step))

    document = push_until_final(services, order_document(services, tenant, buyer=consumer()))

    assert document.status is S.ACCEPTED, document.error
    # A lost e-Arşiv request is found by the retry's `find` (its job finished): no second send at all.
    assert document.attempts == (1 if step == "/e_archives" else 2)
    assert (len(fake.contacts), len(fake.sales_invoices), len(fake.e_archives)) == (1, 1, 1)


# --- returns, collections, cancellations -------------------------------------------------------------------


def refund_payload(**changes: Any) -> dict[str, Any]:
    refund = {
        "source": "pos",
        "source_ref": "POS-IADE-0042",
        "order_ref": "POS-2026-000731",
        "created_at": "2026-01-16T10:00:00+03:00",
        "amount": {"amount": "150.00", "currency": "TRY"},
        "lines": [{"sku": "SIMIT-10", "name": "Simit (10'lu)", "quantity": "1", "amount": "150.00", "kdv_rate": "1"}],
        "shipping_refund": "0",
        "reason": "Bayat ürün",
    }
    return {"refund": {**refund, **changes}}


def test_a_refund_is_recorded_as_a_sales_return_naming_its_invoice(services: Any, tenant: Any, fake: Fake) -> None:
    invoice = accepted_invoice(services, tenant)

    document = push_until_final(
        services, new_document(services, tenant, DocumentType.RETURN_INVOICE, "POS-IADE-0042", refund_payload())
    )

    assert document.status is S.ACCEPTED, document.error
    ((bill_id, bill),) = fake.purchase_bills.items()
    assert document.provider_refs == {
        "purchase_bill_id": str(bill_id),
        "sales_invoice_id": str(next(iter(fake.sales_invoices))),
    }
    assert bill.attributes["item_type"] == "refund"
    assert invoice.number in bill.attributes["description"]
    assert bill.relationships["supplier"] == {"data": {"id": str(next(iter(fake.contacts))), "type": "contacts"}}
    assert bill.attributes["net_total"] == 150.00
    (detail,) = [fake.details[int(d["id"])].attributes for d in bill.relationships["details"]["data"]]
    assert (detail["quantity"], detail["unit_price"], detail["vat_rate"]) == (1, 148.51, 1)


def test_a_refund_without_lines_is_spread_over_the_orders_kdv_rates(services: Any, tenant: Any, fake: Fake) -> None:
    accepted_invoice(services, tenant)

    document = push_until_final(
        services,
        new_document(
            services,
            tenant,
            DocumentType.RETURN_INVOICE,
            "POS-IADE-0043",
            refund_payload(source_ref="POS-IADE-0043", lines=[], amount={"amount": "105.00", "currency": "TRY"}),
        ),
    )

    assert document.status is S.ACCEPTED
    (bill,) = fake.purchase_bills.values()
    rates = [fake.details[int(d["id"])].attributes["vat_rate"] for d in bill.relationships["details"]["data"]]
    assert rates == [1, 20]  # 450 at 1 % and 600 at 20 %: 45.00 and 60.00 of the 105.00
    assert bill.attributes["net_total"] == 105.00


def payment_payload(amount: str = "1050.00") -> dict[str, Any]:
    return {
        "payment": {
            "source": "pos",
            "source_ref": "POS-TAHSILAT-9911",
            "order_ref": "POS-2026-000731",
            "captured_at": "2026-01-15T12:11:00+03:00",
            "amount": {"amount": amount, "currency": "TRY"},
            "fee": None,
            "method": "KREDIKARTI/BANKAKARTI",
        }
    }


def test_a_payment_is_collected_on_its_invoice(services: Any, tenant: Any, fake: Fake) -> None:
    invoice = accepted_invoice(services, tenant)

    document = push_until_final(
        services, new_document(services, tenant, DocumentType.COLLECTION, "POS-TAHSILAT-9911", payment_payload())
    )

    assert document.status is S.ACCEPTED, document.error
    ((payment_id, payment),) = fake.payments.items()
    assert document.provider_refs == {
        "payment_id": str(payment_id),
        "sales_invoice_id": invoice.provider_refs["sales_invoice_id"],
    }
    assert (payment.attributes["amount"], payment.attributes["date"]) == (1050.0, "2026-01-15")
    assert document.uuid in payment.attributes["notes"]
    paid = fake.sales_invoices[int(invoice.provider_refs["sales_invoice_id"])]
    assert paid.attributes["payment_status"] == "paid"


def test_a_payment_paraşüt_refuses_is_rejected_with_its_words(services: Any, tenant: Any, fake: Fake) -> None:
    accepted_invoice(services, tenant)

    document = push_until_final(
        services,
        new_document(services, tenant, DocumentType.COLLECTION, "POS-TAHSILAT-9912", payment_payload("2000.00")),
    )

    assert document.status is S.REJECTED
    assert "Tahsilat tutarı 0 ile kalan tutar (1050.0) arasında olmalı" in document.error
    assert fake.payments == {}


@pytest.mark.parametrize("doc_type", [DocumentType.COLLECTION, DocumentType.RETURN_INVOICE])
@pytest.mark.usefixtures("short_timeouts")
def test_a_lost_answer_never_doubles_a_payment_or_a_return(
    services: Any, tenant: Any, fake: Fake, doc_type: DocumentType
) -> None:
    accepted_invoice(services, tenant)
    if doc_type is DocumentType.COLLECTION:
        fake.slow_next(1, 2.0, when=posts_to("/payments"))
        key = new_document(services, tenant, doc_type, "POS-TAHSILAT-9911", payment_payload())
    else:
        fake.slow_next(1, 2.0, when=posts_to("/purchase_bills"))
        key = new_document(services, tenant, doc_type, "POS-IADE-0042", refund_payload())

    document = push_until_final(services, key)

    assert document.status is S.ACCEPTED, document.error
    assert document.attempts == 1  # the retry's `find` saw it arrived: nothing sent again
    assert len(fake.payments) + len(fake.purchase_bills) == 1


def cancellation(services: Any, tenant: Any) -> str:
    payload = {"cancellation": {"source": "pos", "order_ref": "POS-2026-000731", "reason": "Müşteri vazgeçti"}}
    return new_document(services, tenant, DocumentType.CANCELLATION, "POS-2026-000731", payload)


def test_an_e_archive_invoice_is_cancelled(services: Any, tenant: Any, fake: Fake) -> None:
    invoice = accepted_invoice(services, tenant, buyer=consumer())

    document = push_until_final(services, cancellation(services, tenant))

    assert document.status is S.ACCEPTED, document.error
    assert fake.sales_invoices[int(invoice.provider_refs["sales_invoice_id"])].attributes["item_type"] == "cancelled"


def test_an_e_fatura_cannot_be_cancelled_at_paraşüt(services: Any, tenant: Any, fake: Fake) -> None:
    fake.register_inbox(COMPANY_VKN)
    invoice = accepted_invoice(services, tenant)

    document = push_until_final(services, cancellation(services, tenant))

    assert document.status is S.REJECTED
    assert "Paraşüt cannot cancel an e-Fatura" in document.error
    assert fake.sales_invoices[int(invoice.provider_refs["sales_invoice_id"])].attributes["item_type"] == "invoice"


# --- PDF, listing, user list -------------------------------------------------------------------------------


def test_the_pdf_is_a_link_once_paraşüt_has_made_it(services: Any, tenant: Any, fake: Fake) -> None:
    invoice = accepted_invoice(services, tenant, buyer=consumer())
    provider = adapter(services, tenant)

    with pytest.raises(RetryableProviderError) as not_yet:  # 204 until the PDF is ready
        provider.pdf(invoice)
    pdf = provider.pdf(invoice)

    assert not_yet.value.retry_after == 5
    assert pdf.url.endswith(f"/files/e_archives/{invoice.provider_refs['e_document_id']}.pdf")


def test_the_days_invoices_are_listed_with_our_reference(services: Any, tenant: Any, fake: Fake) -> None:
    invoice = accepted_invoice(services, tenant, buyer=consumer())
    day = date.fromisoformat(next(iter(fake.sales_invoices.values())).attributes["issue_date"])

    listed = list(adapter(services, tenant).list_documents(day, day))

    (only,) = listed
    assert only.provider_id == invoice.provider_refs["sales_invoice_id"]
    assert (only.reference, only.number, only.total, only.currency) == (
        invoice.uuid,
        invoice.number,
        Decimal("1050.0"),
        "TRY",
    )
    assert only.uuid == invoice.provider_refs["e_document_uuid"]


def test_the_user_list_answers_from_paraşüts_inboxes(services: Any, tenant: Any, fake: Fake) -> None:
    fake.register_inbox(COMPANY_VKN, name="Deniz Kaya Gıda", alias="urn:mail:defaultpk@denizkaya.example")
    provider = adapter(services, tenant)

    registered = provider.registered_user(COMPANY_VKN)
    unknown = provider.registered_user(PERSON_TCKN)

    assert (registered.registered, registered.title, registered.aliases) == (
        True,
        "Deniz Kaya Gıda",
        ("urn:mail:defaultpk@denizkaya.example",),
    )
    assert unknown.registered is False


def test_a_currency_paraşüt_does_not_take_is_refused_before_anything_is_created(
    services: Any, tenant: Any, fake: Fake
) -> None:
    order = sample_order(currency="JPY", total_paid={"amount": "1050", "currency": "JPY"})
    key = new_document(services, tenant, DocumentType.SALES_INVOICE, "POS-2026-000999", {"order": order})

    with pytest.raises(PermanentProviderError, match="not JPY"):
        adapter(services, tenant).issue(services.documents.get(key))
    assert fake.sales_invoices == {}
