"""The GİB e-Arşiv Portal provider against the fake portal: drafts made once, followed until the seller signs or
deletes them, found again by our reference whatever ETTN the portal gave them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mutabik.model.document import Document, DocumentStatus, DocumentType, document_uuid
from mutabik.pipeline.pushing import build_provider, push
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError
from mutabik.providers.gib_portal import reference_of
from mutabik.store import keys

from tests.fakes import FakeServer
from tests.fakes.gib_portal import ETTN_REFUSED, SIGNED, UNSIGNED, Fake
from tests.support import drain_all, provider_tenant

S = DocumentStatus
EVENTS = Path(__file__).resolve().parents[2] / "events" / "generic"


@pytest.fixture(scope="module", autouse=True)
def _queues(runtime: Any) -> Iterator[None]:
    """`push` puts delayed follow-up messages on the push queue (1 s here): none may outlive this module."""
    drain_all(runtime)
    yield
    time.sleep(1.2)
    drain_all(runtime)


@pytest.fixture
def portal() -> Iterator[tuple[Fake, FakeServer]]:
    fake = Fake()
    with FakeServer(fake) as server:
        yield fake, server


@pytest.fixture
def seller(services: Any, portal: tuple[Fake, FakeServer]) -> Any:
    fake, server = portal
    return provider_tenant(services, "gib_portal", base_url=server.url, credentials=fake.credentials())


def _document(services: Any, tenant: str, doc_type: DocumentType, source_ref: str, payload: dict[str, Any]) -> str:
    """A PENDING document in the ledger, as the mapper plans it (key, ETTN from the key, canonical payload)."""
    key = keys.document_key(tenant, "gib_portal", doc_type, source_ref)
    now = datetime.now(UTC)
    services.documents.create(
        Document(
            tenant=tenant,
            provider="gib_portal",
            type=doc_type,
            source=source_ref.split(":")[0],
            source_ref=source_ref,
            key=key,
            uuid=str(document_uuid(key)),
            created_at=now,
            updated_at=now,
            payload=payload,
        )
    )
    return key


def _order(services: Any, tenant: str, order_id: str = "5800000000001", **changes: Any) -> str:
    """The canonical form of tests.support.shopify_order: 2 × 150 − 30 + 49.90 shipping = 319.90 TRY, KDV 20 %
    included, to a consumer with a TCKN."""
    order = {
        "source": "shopify",
        "source_ref": order_id,
        "number": "#1001",
        "ordered_at": "2026-01-15T12:21:00+03:00",
        "currency": "TRY",
        "prices_include_tax": True,
        "buyer": {
            "name": "Ayşe Yılmaz",
            "tax_id": "10000000146",
            "address": {
                "street": "Bağdat Caddesi 1",
                "district": "Kadıköy",
                "city": "İstanbul",
                "postal_code": "34710",
            },
            "email": "alici@example.com",
        },
        "lines": [
            {
                "sku": "KHV-250",
                "name": "Filtre Kahve 250 g",
                "quantity": "2",
                "unit_price": "150.00",
                "discount": "30.00",
            },
            {"name": "Kargo", "kind": "shipping", "quantity": "1", "unit_price": "49.90"},
        ],
        "total_paid": {"amount": "319.90", "currency": "TRY"},
        **changes,
    }
    return _document(services, tenant, DocumentType.SALES_INVOICE, f"shopify:{order_id}", {"order": order})


def _generic(name: str, kind: str) -> dict[str, Any]:
    events = json.loads(json.loads((EVENTS / name).read_text())["body"])
    return next(e for e in (events if isinstance(events, list) else [events]) if e["kind"] == kind)


def test_an_order_becomes_one_draft_with_what_the_buyer_paid(
    runtime: Any, services: Any, seller: Any, portal: tuple[Fake, FakeServer]
) -> None:
    """GIVEN a paid Shopify order (319.90 TRY, KDV included) WHEN it is pushed THEN the portal holds one unsigned
    draft for the buyer whose payable amount is 319.90, and the document waits SUBMITTED for the signature."""
    fake, _ = portal
    key = _order(services, seller.tenant)

    document = push(key, services)

    assert document is not None
    assert document.status is S.SUBMITTED
    (draft,) = fake.with_reference(reference_of(document))
    assert draft.state == UNSIGNED
    assert draft.ettn == document.uuid == document.provider_refs["ettn"]  # this portal kept our ETTN
    body = draft.body
    assert (body["faturaTipi"], body["vknTckn"], body["aliciAdi"], body["aliciSoyadi"]) == (
        "SATIS",
        "10000000146",
        "Ayşe",
        "Yılmaz",
    )
    assert body["odenecekTutar"] == "319.90"
    assert sum(Decimal(line["malHizmetTutari"]) + Decimal(line["kdvTutari"]) for line in body["malHizmetTable"]) == (
        Decimal("319.90")
    )
    assert fake.rejections == []


def test_the_signed_draft_makes_the_document_accepted_with_the_portals_number(
    runtime: Any, services: Any, seller: Any, portal: tuple[Fake, FakeServer]
) -> None:
    fake, _ = portal
    key = _order(services, seller.tenant)
    document = push(key, services)
    assert document is not None

    from mutabik.pipeline.pushing import NotYetFinalError

    with pytest.raises(NotYetFinalError):  # unsigned: asked again later
        push(key, services)
    signed = fake.sign(document.provider_refs["ettn"])
    accepted = push(key, services)

    assert accepted is not None
    assert accepted.status is S.ACCEPTED
    assert accepted.number == signed.number
    assert accepted.number.startswith("GIB")


def test_a_draft_deleted_by_the_seller_rejects_the_document_saying_so(
    runtime: Any, services: Any, seller: Any, portal: tuple[Fake, FakeServer]
) -> None:
    fake, _ = portal
    key = _order(services, seller.tenant)
    document = push(key, services)
    assert document is not None

    fake.delete(document.provider_refs["ettn"], reason="Yanlış alıcı")
    rejected = push(key, services)

    assert rejected is not None
    assert rejected.status is S.REJECTED
    assert rejected.error == "deleted in the portal before signing"


@pytest.mark.parametrize("mode", ["replace", "refuse"])
def test_an_etn_the_portal_does_not_keep_still_finds_the_draft_by_our_reference(
    runtime: Any, services: Any, seller: Any, portal: tuple[Fake, FakeServer], mode: str
) -> None:
    """GIVEN a portal that assigns its own ETTN (ignoring ours, or refusing it as the live portal does since
    2026) WHEN the order is pushed and later signed THEN there is one draft, found by our reference, and the
    document follows it to ACCEPTED."""
    fake, _ = portal
    fake.ettn_mode = mode
    key = _order(services, seller.tenant)

    document = push(key, services)

    assert document is not None
    assert document.status is S.SUBMITTED
    (draft,) = fake.with_reference(reference_of(document))
    assert draft.ettn != document.uuid
    assert document.provider_refs["ettn"] == draft.ettn
    fake.sign(draft.ettn)
    accepted = push(key, services)
    assert accepted is not None
    assert (accepted.status, accepted.number) == (S.ACCEPTED, draft.number)
    assert len(fake.drafts) == 1
    assert fake.rejections == []


def test_a_lost_answer_is_found_by_our_reference_never_drafted_twice(
    runtime: Any, services: Any, seller: Any, portal: tuple[Fake, FakeServer]
) -> None:
    """GIVEN the portal stores the draft but its answer is lost (504) WHEN the pusher tries again THEN it asks
    the portal first, finds the draft by our reference (the portal gave it its own ETTN) and sends nothing."""
    fake, _ = portal
    fake.ettn_mode = "replace"
    fake.lose_create_answers = 1
    key = _order(services, seller.tenant)

    with pytest.raises(RetryableProviderError, match="504"):
        push(key, services)
    assert services.documents.get(key).status is S.SUBMITTING
    document = push(key, services)

    assert document is not None
    assert document.status is S.SUBMITTED
    assert fake.calls["EARSIV_PORTAL_FATURA_OLUSTUR"] == 1
    (draft,) = fake.with_reference(reference_of(document))
    assert document.provider_refs["ettn"] == draft.ettn


@pytest.mark.parametrize("failure", ["busy", "server_errors"])
def test_a_busy_portal_is_retried_and_still_gives_one_draft(
    runtime: Any, services: Any, seller: Any, portal: tuple[Fake, FakeServer], failure: str
) -> None:
    fake, _ = portal
    setattr(fake, failure, 1)
    key = _order(services, seller.tenant)

    with pytest.raises(RetryableProviderError):
        push(key, services)
    document = push(key, services)

    assert document is not None
    assert document.status is S.SUBMITTED
    assert len(fake.with_reference(reference_of(document))) == 1


def test_sessions_expiring_mid_batch_relogin_once_and_draft_each_order_once(
    runtime: Any, services: Any, seller: Any, portal: tuple[Fake, FakeServer]
) -> None:
    fake, _ = portal
    keys = [
        _order(services, seller.tenant, order_id) for order_id in ("5800000000011", "5800000000012", "5800000000013")
    ]

    first = push(keys[0], services)
    fake.expire_sessions()
    rest = [push(key, services) for key in keys[1:]]

    documents = [first, *rest]
    assert all(d is not None and d.status is S.SUBMITTED for d in documents)
    assert [len(fake.with_reference(reference_of(d))) for d in documents if d] == [1, 1, 1]
    assert fake.logins == 2  # one login, one after the portal ended the session; the session is reused otherwise


def test_the_return_of_a_signed_invoice_is_an_iade_draft_naming_it(
    runtime: Any, services: Any, seller: Any, portal: tuple[Fake, FakeServer]
) -> None:
    """GIVEN a signed invoice for a POS order WHEN the seller's app reports a refund THEN an İADE draft names the
    returned invoice's number and date, for the 150.00 paid back."""
    fake, _ = portal
    order = _generic("order-paid.json", "order.paid")["order"]
    refund = _generic("batch.json", "refund.created")["refund"]
    invoice_key = _document(
        services, seller.tenant, DocumentType.SALES_INVOICE, f"pos:{order['source_ref']}", {"order": order}
    )
    invoice = push(invoice_key, services)
    assert invoice is not None
    fake.sign(invoice.provider_refs["ettn"])
    invoice = push(invoice_key, services)
    assert invoice is not None
    assert invoice.status is S.ACCEPTED

    refund_key = _document(
        services, seller.tenant, DocumentType.RETURN_INVOICE, f"pos:{refund['source_ref']}", {"refund": refund}
    )
    returned = push(refund_key, services)

    assert returned is not None
    assert returned.status is S.SUBMITTED, returned.error
    (draft,) = fake.with_reference(reference_of(returned))
    assert draft.body["faturaTipi"] == "IADE"
    assert draft.body["iadeTable"] == [{"faturaNo": invoice.number, "duzenlenmeTarihi": invoice.provider_refs["date"]}]
    assert draft.body["odenecekTutar"] == "150.00"
    assert draft.body["aliciUnvan"] == "Deniz Kaya Gıda Ltd. Şti."


def _cancellation(invoice: Document) -> Document:
    now = datetime.now(UTC)
    return invoice.model_copy(
        update={
            "type": DocumentType.CANCELLATION,
            "key": invoice.key.replace("sales_invoice", "cancellation"),
            "status": S.SUBMITTING,
            "provider_refs": {},
            "created_at": now,
            "payload": {"cancellation": {"source": "shopify", "order_ref": "1", "reason": "Müşteri vazgeçti"}},
        }
    )


def test_cancelling_an_unsigned_invoice_deletes_its_draft_and_a_signed_one_is_refused(
    runtime: Any, services: Any, seller: Any, portal: tuple[Fake, FakeServer]
) -> None:
    fake, _ = portal
    unsigned = push(_order(services, seller.tenant, "5800000000021"), services)
    signed = push(_order(services, seller.tenant, "5800000000022"), services)
    assert unsigned is not None
    assert signed is not None
    fake.sign(signed.provider_refs["ettn"])
    provider = build_provider(unsigned, services)

    outcome = provider.issue(_cancellation(unsigned), unsigned)
    again = provider.issue(_cancellation(unsigned), unsigned)  # a retry finds it deleted: still done, once

    assert outcome.status is again.status is S.ACCEPTED
    draft = fake.drafts[unsigned.provider_refs["ettn"]]
    assert (draft.state, draft.deleted_reason) == ("Silinmiş", "Müşteri vazgeçti")
    with pytest.raises(PermanentProviderError, match=r"already signed.*İptal Talebi"):
        provider.issue(_cancellation(signed), signed)
    assert fake.drafts[signed.provider_refs["ettn"]].state == SIGNED


def test_the_invoice_is_served_as_the_portals_html_and_listed_for_reconciliation(
    runtime: Any, services: Any, seller: Any, portal: tuple[Fake, FakeServer]
) -> None:
    fake, _ = portal
    document = push(_order(services, seller.tenant), services)
    assert document is not None
    draft = fake.sign(document.provider_refs["ettn"])
    provider = build_provider(document, services)

    page = provider.pdf(document)
    listed = list(provider.list_documents(document.created_at.date(), document.created_at.date()))

    assert page.content_type.startswith("text/html")
    assert draft.number.encode() in page.content
    assert b"319.90" in page.content
    assert [(d.uuid, d.number, d.status) for d in listed] == [(draft.ettn, draft.number, SIGNED)]


def test_what_the_portal_cannot_take_is_rejected_before_anything_is_sent(
    runtime: Any, services: Any, seller: Any, portal: tuple[Fake, FakeServer]
) -> None:
    fake, _ = portal
    key = _order(
        services, seller.tenant, "5800000000031", currency="EUR", total_paid={"amount": "319.90", "currency": "EUR"}
    )

    document = push(key, services)

    assert document is not None
    assert document.status is S.REJECTED
    assert "TRY invoices only, not EUR" in document.error
    assert fake.calls["EARSIV_PORTAL_FATURA_OLUSTUR"] == 0


def test_a_refused_login_rejects_the_document_with_the_portals_words(
    runtime: Any, services: Any, portal: tuple[Fake, FakeServer]
) -> None:
    fake, server = portal
    tenant = provider_tenant(services, "gib_portal", base_url=server.url, credentials={"userid": "1", "password": "x"})
    key = _order(services, tenant.tenant)

    document = push(key, services)

    assert document is not None
    assert document.status is S.REJECTED
    assert "Kullanıcı adı veya şifre hatalı" in document.error
    assert fake.drafts == {}


def test_the_fake_refuses_a_draft_whose_totals_do_not_add_up(portal: tuple[Fake, FakeServer]) -> None:
    """The fake checks what we send: a payable amount one kuruş off is the portal's refusal, not a draft."""
    from mutabik.model.commerce import Order
    from mutabik.providers.gib_portal import draft_body

    fake, server = portal
    order = Order.model_validate(_generic("order-paid.json", "order.paid")["order"])
    body = draft_body(
        order, buyer=order.buyer, issued_at=datetime.now(UTC), ettn="", reference="mutabik:x", order_number="731"
    )
    body["odenecekTutar"] = "1050.01"
    token = httpx.post(
        f"{server.url}/earsiv-services/assos-login",
        data={
            "assoscmd": "anologin",
            "rtype": "json",
            "userid": fake.userid,
            "sifre": "1",
            "sifre2": "1",
            "parola": "1",
        },
    ).json()["token"]

    answer = httpx.post(
        f"{server.url}/earsiv-services/dispatch",
        data={
            "cmd": "EARSIV_PORTAL_FATURA_OLUSTUR",
            "callid": "c-1",
            "pageName": "RG_BASITFATURA",
            "token": token,
            "jp": json.dumps(body),
        },
    ).json()

    assert answer["error"] == "1"
    assert "odenecekTutar 1050.01 tutmuyor" in answer["messages"][0]["text"]
    assert fake.drafts == {}
    body["faturaUuid"] = "11111111-2222-4333-8444-555555555555"
    fake.ettn_mode = "refuse"
    body["odenecekTutar"] = "1050.00"
    refused = httpx.post(
        f"{server.url}/earsiv-services/dispatch",
        data={
            "cmd": "EARSIV_PORTAL_FATURA_OLUSTUR",
            "callid": "c-2",
            "pageName": "RG_BASITFATURA",
            "token": token,
            "jp": json.dumps(body),
        },
    ).json()
    assert refused == {"data": ETTN_REFUSED}


_line = st.fixed_dictionaries(
    {
        "name": st.just("Ürün"),
        "quantity": st.integers(1, 12),
        "unit_price": st.integers(1, 500_000).map(lambda k: Decimal(k) / 100),
        "kdv_rate": st.sampled_from(["1", "10", "20"]),
        "discount_share": st.integers(0, 100),
    }
)


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(_line, min_size=1, max_size=6), order_discount_share=st.integers(0, 30))
def test_every_draft_pays_exactly_what_the_buyer_paid_and_adds_up_as_the_portal_checks(
    lines: list[dict[str, Any]], order_discount_share: int
) -> None:
    """GIVEN any KDV-inclusive order at the portal's rates, with line and order discounts WHEN it is written as a
    draft THEN the fake portal's checks pass (each line and total adds up) and odenecekTutar is what was paid."""
    from mutabik.model.commerce import Order
    from mutabik.model.money import round_kurus
    from mutabik.providers.gib_portal import draft_body

    from tests.fakes.gib_portal import _check_draft

    canonical = []
    for line in lines:
        gross = line["quantity"] * line["unit_price"]
        discount = round_kurus(gross * line["discount_share"] / 100)
        canonical.append({**{k: v for k, v in line.items() if k != "discount_share"}, "discount": discount})
    subtotal = sum(round_kurus(line["quantity"] * line["unit_price"]) - line["discount"] for line in canonical)
    order_discount = round_kurus(subtotal * order_discount_share / 100)
    paid = subtotal - order_discount
    if paid <= 0:
        return
    order = Order.model_validate(
        {
            **_generic("order-paid.json", "order.paid")["order"],
            "lines": canonical,
            "order_discount": order_discount,
            "total_paid": {"amount": paid, "currency": "TRY"},
        }
    )

    body = draft_body(order, buyer=order.buyer, issued_at=datetime.now(UTC), ettn="", reference="r", order_number="1")

    _check_draft(body)  # raises the portal's words if anything does not add up
    assert Decimal(body["odenecekTutar"]) == paid
