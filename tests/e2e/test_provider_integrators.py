"""End to end on the local runtime, for each GİB integrator: a Shopify order webhook becomes exactly one ACCEPTED
invoice at the integrator's fake, and the seller's refund event (our generic webhook) its return invoice."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from mutabik.model.document import DocumentType
from mutabik_local.runtime import wait_until

from tests.fakes import FakeServer
from tests.fakes._soap import SoapFake
from tests.support import generic_delivery, provider_tenant, shopify_delivery, shopify_order

pytestmark = pytest.mark.e2e


@pytest.fixture(params=("qnb_efinans", "sovos", "izibiz"))
def integrator(request: pytest.FixtureRequest) -> Iterator[tuple[str, SoapFake, FakeServer]]:
    from mutabik.providers import izibiz

    izibiz._SESSIONS.clear()  # the handlers run in this process: no session of an earlier fake may linger
    fake: SoapFake = importlib.import_module(f"tests.fakes.{request.param}").Fake(polls_before_final=1)
    with FakeServer(fake) as server:
        yield request.param, fake, server


def _post(runtime: Any, source: str, tenant: str, delivery: tuple[bytes, dict[str, str]]) -> httpx.Response:
    body, headers = delivery
    return httpx.post(f"{runtime.webhook_base}/{source}/{tenant}", content=body, headers=headers, timeout=30)


def _documents(services: Any, tenant: str) -> dict[DocumentType, Any]:
    return {d.type: d for d in services.documents.list_day(tenant, datetime.now(UTC).date())}


def test_an_order_and_its_refund_become_one_invoice_and_one_return_at_the_integrator(
    running_pipeline: Any, services: Any, integrator: tuple[str, SoapFake, FakeServer]
) -> None:
    name, fake, server = integrator
    tenant = provider_tenant(
        services, name, base_url=server.url, credentials=fake.credentials(), options=fake.options()
    ).tenant
    order = shopify_delivery(shopify_order(order_id=7101))

    assert _post(running_pipeline, "shopify", tenant, order).status_code == 202
    assert _post(running_pipeline, "shopify", tenant, shopify_delivery(shopify_order(order_id=7101))).status_code == 202

    def invoice_accepted() -> bool:
        invoice = _documents(services, tenant).get(DocumentType.SALES_INVOICE)
        return invoice is not None and invoice.status == "ACCEPTED"

    assert wait_until(invoice_accepted, 60), _documents(services, tenant)
    invoice = _documents(services, tenant)[DocumentType.SALES_INVOICE]
    (sent,) = fake.documents()  # the order came twice; the integrator has it once
    assert (sent.uuid, sent.number, sent.profile) == (invoice.uuid.upper(), invoice.number, "EARSIVFATURA")

    refund = {
        "kind": "refund.created",
        "occurred_at": datetime.now(UTC).isoformat(),
        "refund": {
            "source": "shopify",
            "source_ref": "iade-7101",
            "order_ref": "7101",
            "created_at": datetime.now(UTC).isoformat(),
            "amount": {"amount": "150.00", "currency": "TRY"},
            "lines": [{"sku": "KHV-250", "name": "Filtre Kahve 250 g", "quantity": "1", "amount": "150.00"}],
            "reason": "kırık paket",
        },
    }
    assert _post(running_pipeline, "generic", tenant, generic_delivery([refund])).status_code == 202

    def return_accepted() -> bool:
        returned = _documents(services, tenant).get(DocumentType.RETURN_INVOICE)
        return returned is not None and returned.status == "ACCEPTED"

    assert wait_until(return_accepted, 60), _documents(services, tenant)
    returned = _documents(services, tenant)[DocumentType.RETURN_INVOICE]
    iade = next(d for d in fake.documents() if d.invoice_type == "IADE")
    assert (iade.uuid, iade.number, iade.returned_invoices) == (
        returned.uuid.upper(),
        returned.number,
        (invoice.number,),
    )
    assert len(fake.documents()) == 2
