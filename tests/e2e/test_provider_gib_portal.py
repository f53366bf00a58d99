"""End to end on the local runtime with the fake GİB e-Arşiv Portal: a Shopify order becomes one draft; when
the seller signs it in the portal, the pusher's follow-up makes the document ACCEPTED with the portal's number."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from mutabik.model.document import DocumentStatus
from mutabik.providers.gib_portal import reference_of
from mutabik_local.runtime import wait_until

from tests.fakes import FakeServer
from tests.fakes.gib_portal import Fake
from tests.support import provider_tenant, shopify_delivery, shopify_order

pytestmark = pytest.mark.e2e


@pytest.fixture
def portal() -> Iterator[tuple[Fake, FakeServer]]:
    fake = Fake(ettn_mode="refuse")  # as the live portal: it assigns the ETTN itself
    with FakeServer(fake) as server:
        yield fake, server


def test_a_shopify_order_is_drafted_once_and_accepted_when_the_seller_signs(
    running_pipeline: Any, services: Any, portal: tuple[Fake, FakeServer]
) -> None:
    fake, server = portal
    tenant = provider_tenant(services, "gib_portal", base_url=server.url, credentials=fake.credentials())
    body, headers = shopify_delivery(shopify_order(order_id=7101))

    posted = httpx.post(f"{running_pipeline.webhook_base}/shopify/{tenant.tenant}", content=body, headers=headers)
    assert posted.status_code == 202
    # The same order delivered again (Shopify retries): still one draft.
    assert httpx.post(
        f"{running_pipeline.webhook_base}/shopify/{tenant.tenant}", content=body, headers=headers
    ).json() == {"status": "duplicate"}

    def documents() -> list[Any]:
        return services.documents.list_day(tenant.tenant, datetime.now(UTC).date())

    assert wait_until(lambda: [d.status for d in documents()] == [DocumentStatus.SUBMITTED], 30)
    (document,) = documents()
    (draft,) = fake.with_reference(reference_of(document))
    assert draft.body["odenecekTutar"] == "319.90"

    fake.sign(draft.ettn)  # the seller types the SMS code in the portal

    assert wait_until(lambda: documents()[0].status is DocumentStatus.ACCEPTED, 30)
    (accepted,) = documents()
    assert accepted.number == draft.number
    assert accepted.provider_refs["ettn"] == draft.ettn
    assert len(fake.drafts) == 1
    assert fake.rejections == []
