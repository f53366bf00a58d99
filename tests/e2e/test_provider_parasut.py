"""End to end on the local runtime with Paraşüt's fake: webhooks in, queues polled as Lambda polls them, the
sales invoice formalised as e-Arşiv, then its return and its collection — each exactly once at Paraşüt."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from mutabik.model.document import DocumentStatus, DocumentType
from mutabik_local.runtime import wait_until

from tests.fakes import FakeServer
from tests.fakes.parasut import Fake
from tests.support import generic_delivery, provider_tenant, shopify_delivery, shopify_order

pytestmark = pytest.mark.e2e
S = DocumentStatus
ORDER_ID = 5800000000777


@pytest.fixture
def fake() -> Iterator[Fake]:
    app = Fake(job_polls=1, job_seconds=0.5, rate_limit=(100, 1.0))
    with FakeServer(app) as server:
        app.url = server.url  # type: ignore[attr-defined]
        yield app
    app.assert_clean()


@pytest.fixture
def tenant(services: Any, fake: Fake) -> Any:
    services.cache.delete("gib-users", "10000000146")  # the pusher's user-list cache outlives tenants
    return provider_tenant(
        services,
        "parasut",
        base_url=fake.url,  # type: ignore[attr-defined]
        credentials=fake.credentials(),
        options=fake.options(),
    )


def post(runtime: Any, source: str, tenant: str, delivery: tuple[bytes, dict[str, str]]) -> httpx.Response:
    body, headers = delivery
    return httpx.post(f"{runtime.webhook_base}/{source}/{tenant}", content=body, headers=headers, timeout=30)


def documents(services: Any, tenant: str) -> dict[DocumentType, Any]:
    return {d.type: d for d in services.documents.list_day(tenant, datetime.now(UTC).date())}


def settled(services: Any, tenant: str, types: set[DocumentType]) -> bool:
    found = documents(services, tenant)
    return set(found) == types and all(d.status.is_final for d in found.values())


def test_a_shopify_order_becomes_one_accepted_invoice_with_its_e_archive(
    running_pipeline: Any, services: Any, tenant: Any, fake: Fake
) -> None:
    delivery = shopify_delivery(shopify_order(ORDER_ID))
    assert post(running_pipeline, "shopify", tenant.tenant, delivery).status_code == 202
    assert (
        post(running_pipeline, "shopify", tenant.tenant, shopify_delivery(shopify_order(ORDER_ID))).status_code == 202
    )

    assert wait_until(lambda: settled(services, tenant.tenant, {DocumentType.SALES_INVOICE}), 60)
    assert running_pipeline.settle(30)
    invoice = documents(services, tenant.tenant)[DocumentType.SALES_INVOICE]
    assert invoice.status is S.ACCEPTED, invoice.error
    assert invoice.profile == "EARSIVFATURA"
    assert (len(fake.sales_invoices), len(fake.e_archives), len(fake.e_invoices)) == (1, 1, 0)
    ((archive_id, archive),) = fake.e_archives.items()
    assert invoice.provider_refs["e_document_id"] == str(archive_id)
    assert invoice.number == archive.attributes["invoice_number"]
    (sales_invoice,) = fake.sales_invoices.values()
    assert sales_invoice.attributes["net_total"] == 319.90
    ((job,),) = [list(fake.jobs.values())]
    assert job["attributes"]["internet_sale"]["payment_platform"] == "iyzico"


def test_a_refund_and_a_payment_for_the_order_reach_paraşüt_once_each(
    running_pipeline: Any, services: Any, tenant: Any, fake: Fake
) -> None:
    assert (
        post(running_pipeline, "shopify", tenant.tenant, shopify_delivery(shopify_order(ORDER_ID))).status_code == 202
    )
    assert wait_until(lambda: settled(services, tenant.tenant, {DocumentType.SALES_INVOICE}), 60)

    # The seller's own app reports the refund and the payment of that Shopify order (canonical events).
    events = [
        {
            "kind": "refund.created",
            "occurred_at": "2026-01-16T10:00:00+03:00",
            "refund": {
                "source": "shopify",
                "source_ref": "R-777-1",
                "order_ref": str(ORDER_ID),
                "created_at": "2026-01-16T10:00:00+03:00",
                "amount": {"amount": "135.00", "currency": "TRY"},
                "lines": [{"sku": "KHV-250", "name": "Filtre Kahve 250 g", "quantity": "1", "amount": "135.00"}],
                "reason": "Paket hasarlı",
            },
        },
        {
            "kind": "payment.captured",
            "occurred_at": "2026-01-15T12:21:00+03:00",
            "payment": {
                "source": "shopify",
                "source_ref": "P-777-1",
                "order_ref": str(ORDER_ID),
                "captured_at": "2026-01-15T12:21:00+03:00",
                "amount": {"amount": "319.90", "currency": "TRY"},
                "method": "KREDIKARTI/BANKAKARTI",
            },
        },
    ]
    assert post(running_pipeline, "generic", tenant.tenant, generic_delivery(events)).status_code == 202

    everything = {DocumentType.SALES_INVOICE, DocumentType.RETURN_INVOICE, DocumentType.COLLECTION}
    assert wait_until(lambda: settled(services, tenant.tenant, everything), 60)
    assert running_pipeline.settle(30)
    found = documents(services, tenant.tenant)
    assert {t: d.status for t, d in found.items()} == dict.fromkeys(everything, S.ACCEPTED), {
        t: d.error for t, d in found.items()
    }
    invoice_id = found[DocumentType.SALES_INVOICE].provider_refs["sales_invoice_id"]
    ((bill_id, bill),) = fake.purchase_bills.items()
    assert found[DocumentType.RETURN_INVOICE].provider_refs == {
        "purchase_bill_id": str(bill_id),
        "sales_invoice_id": invoice_id,
    }
    assert (bill.attributes["item_type"], bill.attributes["net_total"]) == ("refund", 135.00)
    (payment,) = fake.payments.values()
    assert payment.relationships["payable"]["data"]["id"] == invoice_id
    assert payment.attributes["amount"] == 319.90
    assert fake.sales_invoices[int(invoice_id)].attributes["payment_status"] == "paid"
    assert len(fake.sales_invoices) == 1
