"""Amazon: ORDER_CHANGE notifications completed with the order read from SP-API (the fake, checked against
Amazon's ordersV0.json), through a SenderApi whose secrets are a stub — no moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutabik.model import ANONYMOUS_CONSUMER_TCKN, FOREIGN_BUYER_VKN, LineKind, OrderPaid, ShipmentCreated
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError
from mutabik.sources._api import SenderApi
from mutabik.sources.amazon import MAX_ITEM_PAGES, AmazonSource
from mutabik.sources.base import SourceContext
from mutabik.sources.exceptions import PayloadError
from mutabik.store.blobs import BlobStore
from mutabik.store.exceptions import SecretNotFoundError
from mutabik.store.secrets import SecretStore
from mutabik.store.tenants import SourceSettings, TenantConfig
from mutabik.tax.decompose import decompose_order

from tests.fakes import FakeServer
from tests.fakes.amazon_sp_api import SAMPLE_ORDER, Fake, item

from ._support import CONTEXT, EVENTS, FUZZ, delivery, dumps, mutations

SOURCE = AmazonSource()


class StubSecrets(SecretStore):
    """Secrets Manager as a dict: what the tenant stored, nothing else."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(prefix="mutabik")
        self.values = values

    def get(self, name: str, *, fresh: bool = False) -> str:
        if name not in self.values:
            raise SecretNotFoundError(f"secret {name} is not readable")
        return self.values[name]


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(Path(EVENTS, "amazon", f"{name}.json").read_text())
    return loaded


def notification(status: str, order: str = SAMPLE_ORDER, *, cancel_requested: bool = False) -> bytes:
    event = sample("order-change-unshipped")
    change = event["detail"]["Payload"]["OrderChangeNotification"]
    change["AmazonOrderId"] = order
    change["Summary"]["OrderStatus"] = status
    for line in change["Summary"]["OrderItems"]:
        line["IsBuyerRequestedCancel"] = cancel_requested
    return dumps(event)


def bare_notification(status: str) -> bytes:
    """The SQS workflow's message: the notification without EventBridge's envelope."""
    body = sample("order-change-shipped-sqs")
    body["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"] = status
    return dumps(body)


def api_for(server: FakeServer | None, fake: Fake, *, credentials: dict[str, str] | None = None) -> SenderApi:
    tenant = TenantConfig(tenant="t-amazon")
    secrets = StubSecrets({})
    name = secrets.sender_api_secret_name(tenant.tenant, "amazon")
    secrets.values[name] = json.dumps(fake.credentials() if credentials is None else credentials)
    settings = SourceSettings(api_url=server.url if server else "", options=fake.options())
    return SenderApi(tenant=tenant, source="amazon", settings=settings, secrets=secrets, blobs=BlobStore("unused"))


def complete(body: bytes, api: SenderApi, context: SourceContext = CONTEXT) -> list[Any]:
    d = delivery("amazon", body)
    return SOURCE.complete(d, SOURCE.parse(d, context), api, context)


@pytest.fixture
def fake() -> Iterator[Fake]:
    app = Fake()
    yield app
    app.assert_clean()


@pytest.fixture
def server(fake: Fake) -> Iterator[FakeServer]:
    with FakeServer(fake) as running:
        yield running


@pytest.fixture
def api(server: FakeServer, fake: Fake) -> SenderApi:
    return api_for(server, fake)


def test_an_unshipped_order_is_invoiced_from_the_orders_api(fake: Fake, api: SenderApi) -> None:
    """The sample: 10 × SellerSKUID1 for 1200 TRY with 200 TRY KDV in it, 50 TRY promotion, 29.90 shipping."""
    [event] = complete(dumps(sample("order-change-unshipped")), api)

    assert isinstance(event, OrderPaid)
    order = event.order
    assert (order.source, order.source_ref, order.currency) == ("amazon", SAMPLE_ORDER, "TRY")
    assert order.prices_include_tax
    goods, shipping = order.lines
    assert (goods.sku, goods.quantity, goods.unit_price, goods.discount, goods.kdv_rate) == (
        "SellerSKUID1",
        Decimal(10),
        Decimal(120),
        Decimal(50),
        Decimal(20),
    )
    assert (shipping.kind, shipping.unit_price, shipping.kdv_rate) == (LineKind.SHIPPING, Decimal("29.90"), 20)
    assert order.total_paid.amount == Decimal("1179.90")
    assert decompose_order(order).payable == Decimal("1179.90")  # what the invoice will say the buyer paid
    assert order.buyer.tax_id == ANONYMOUS_CONSUMER_TCKN
    assert order.buyer.address.country_code == "TR"
    assert order.web_sale is not None
    assert order.web_sale.website == "www.amazon.com.tr"
    assert fake.api_calls() == ["getOrder", "getOrderItems"]
    assert fake.token_requests == 1


def test_a_shipped_order_is_invoiced_and_shipped(fake: Fake, api: SenderApi) -> None:
    """The first notification of an order may already say Shipped (FBA, or a lost Unshipped one)."""
    events = complete(dumps(sample("order-change-shipped")), api)
    assert [type(e) for e in events] == [OrderPaid, ShipmentCreated]
    assert events[0].order.source_ref == events[1].shipment.order_ref == SAMPLE_ORDER


@pytest.mark.parametrize(
    "body",
    [
        dumps(sample("order-change-canceled")),
        dumps(sample("order-change")),  # a buyer's cancel request on an unshipped order
        notification("Pending"),
        dumps(sample("transaction-update")),
        bare_notification("Canceled"),
    ],
    ids=["canceled", "cancel request", "pending", "transaction update", "canceled bare"],
)
def test_deliveries_that_ask_for_no_invoice_cost_no_api_call(fake: Fake, api: SenderApi, body: bytes) -> None:
    d = delivery("amazon", body)
    parsed = SOURCE.parse(d, CONTEXT)
    assert SOURCE.complete(d, parsed, api, CONTEXT) == parsed
    assert fake.requests == []


def test_an_order_cancelled_since_the_notification_is_not_invoiced(fake: Fake, api: SenderApi) -> None:
    fake.orders[SAMPLE_ORDER]["OrderStatus"] = "Canceled"
    assert complete(notification("Unshipped"), api) == []
    assert fake.api_calls() == ["getOrder"]


def test_items_are_read_page_by_page_and_rates_come_from_the_tax_amazon_charged(fake: Fake, api: SenderApi) -> None:
    fake.items_per_page = 1
    fake.add_order(
        "405-0000001-0000001",
        [
            item("KITAP-1", 2, "220.00", tax="20.00", title="Roman"),  # 10 % KDV
            item("KUPA-1", 3, "100.00", tax="16.67"),  # 20 % KDV; 100/3 does not divide evenly
            item("EKMEK-1", 1, "10.10", tax="0.10"),  # 1 % KDV
        ],
    )
    [event] = complete(notification("Unshipped", "405-0000001-0000001"), api)

    assert [(line.sku, line.kdv_rate) for line in event.order.lines] == [
        ("KITAP-1", 10),
        ("KUPA-1", 20),
        ("EKMEK-1", 1),
    ]
    assert decompose_order(event.order).payable == event.order.total_paid.amount == Decimal("330.10")
    assert fake.api_calls() == ["getOrder", "getOrderItems", "getOrderItems", "getOrderItems"]


def test_item_pages_are_followed_only_so_far(fake: Fake, api: SenderApi) -> None:
    fake.items_per_page = 1
    fake.add_order("405-0000002-0000002", [item(f"SKU-{n}", 1, "10.00") for n in range(MAX_ITEM_PAGES + 1)])
    with pytest.raises(PayloadError) as caught:
        complete(notification("Unshipped", "405-0000002-0000002"), api)
    assert caught.value.path == "getOrderItems.payload.NextToken"
    assert fake.api_calls().count("getOrderItems") == MAX_ITEM_PAGES


def test_without_tax_from_amazon_the_tenants_default_rate_applies(fake: Fake, api: SenderApi) -> None:
    """EU sellers without Amazon's VAT service get ItemTax 0.00: that is no rate, not a 0 % rate."""
    fake.add_order("405-0000003-0000003", [item("ISIK-1", 1, "110.00")])
    [event] = complete(
        notification("Unshipped", "405-0000003-0000003"), api, SourceContext(tenant="t", default_kdv_rate=Decimal(10))
    )
    assert [line.kdv_rate for line in event.order.lines] == [Decimal(10)]


def test_an_order_elsewhere_is_invoiced_to_a_buyer_abroad(fake: Fake, api: SenderApi) -> None:
    fake.add_order(
        "111-0000004-0000004", [item("MUG-1", 1, "20.00", currency="EUR")], marketplace="A1PA6795UKMFR9", currency="EUR"
    )
    [event] = complete(notification("Unshipped", "111-0000004-0000004"), api)
    assert event.order.currency == "EUR"
    assert (event.order.buyer.tax_id, event.order.buyer.address.country_code) == (FOREIGN_BUYER_VKN, "DE")


def test_lines_that_do_not_come_to_the_order_total_are_refused_by_name(fake: Fake, api: SenderApi) -> None:
    """Gift wrap is not in getOrderItems: the invoice would not match what the buyer paid."""
    fake.add_order("405-0000005-0000005", [item("HEDIYE-1", 1, "50.00")], total="57.99")
    with pytest.raises(PayloadError) as caught:
        complete(notification("Unshipped", "405-0000005-0000005"), api)
    assert caught.value.path == "getOrder.payload.OrderTotal"
    assert "57.99" in str(caught.value)


def test_the_access_token_is_kept_and_renewed_once_when_amazon_refuses_it(fake: Fake, api: SenderApi) -> None:
    complete(notification("Unshipped"), api)
    complete(notification("Unshipped"), api)
    assert fake.token_requests == 1  # one token for the container's hour

    fake.expire_tokens()
    [event] = complete(notification("Unshipped"), api)
    assert isinstance(event, OrderPaid)
    assert fake.token_requests == 2
    assert fake.api_calls() == ["getOrder", "getOrderItems"] * 2 + ["getOrder", "getOrder", "getOrderItems"]


@pytest.mark.parametrize(("retry_after", "expected"), [(None, 2.0), (7, 7.0)])
def test_a_rate_limited_read_is_retried_after_amazons_wait(
    fake: Fake, api: SenderApi, retry_after: int | None, expected: float
) -> None:
    """No Retry-After: one token's time at x-amzn-RateLimit-Limit (0.5 requests/s → 2 s)."""
    fake.fail_next(1, 429, operation="getOrderItems", retry_after=retry_after)
    with pytest.raises(RetryableProviderError) as caught:
        complete(notification("Unshipped"), api)
    assert caught.value.retry_after == expected
    assert "QuotaExceeded" in str(caught.value)


@pytest.mark.parametrize("status", [500, 503])
def test_amazon_unavailable_is_retryable(fake: Fake, api: SenderApi, status: int) -> None:
    fake.fail_next(1, status)
    with pytest.raises(RetryableProviderError):
        complete(notification("Unshipped"), api)


def test_an_unknown_order_is_permanent_in_amazons_words(fake: Fake, api: SenderApi) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        complete(notification("Unshipped", "999-9999999-9999999"), api)
    assert "404" in str(caught.value)
    assert "NotFound" in str(caught.value)


def test_missing_credentials_name_the_secret(fake: Fake, server: FakeServer) -> None:
    api = api_for(server, fake, credentials={"client_id": "x"})
    with pytest.raises(PermanentProviderError) as caught:
        complete(notification("Unshipped"), api)
    assert "mutabik/t-amazon/sender-apis/amazon lacks client_secret, refresh_token" in str(caught.value)
    assert fake.requests == []


def test_a_revoked_authorisation_tells_the_tenant_to_authorise_again(fake: Fake, server: FakeServer) -> None:
    api = api_for(server, fake, credentials={**fake.credentials(), "refresh_token": "Atzr|revoked"})
    with pytest.raises(PermanentProviderError) as caught:
        complete(notification("Unshipped"), api)
    assert "invalid_grant" in str(caught.value)
    assert "authorise the app again" in str(caught.value)
    assert "Atzr|revoked" not in str(caught.value)


def test_the_fake_notices_an_answer_off_amazons_description(fake: Fake, api: SenderApi) -> None:
    fake.orders[SAMPLE_ORDER]["OrderStatus"] = "Sent"  # not an OrderStatus ordersV0.json knows
    complete(notification("Unshipped"), api)
    assert any("the FAKE answered GET /orders/v0/orders/" in v and "Sent" in v for v in fake.violations)
    fake.violations.clear()


# --- fuzzing: the API's answer ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_fake() -> Iterator[tuple[Fake, SenderApi]]:
    app = Fake()
    with FakeServer(app) as running:
        yield app, api_for(running, app)


def _answers() -> tuple[dict[str, Any], dict[str, Any]]:
    app = Fake()
    return {"payload": app.orders[SAMPLE_ORDER]}, {
        "payload": {"AmazonOrderId": SAMPLE_ORDER, "OrderItems": app.items[SAMPLE_ORDER]}
    }


ORDER_ANSWER, ITEMS_ANSWER = _answers()


@FUZZ
@given(
    st.one_of(
        st.tuples(st.just("getOrder"), mutations(ORDER_ANSWER)),
        st.tuples(st.just("getOrderItems"), mutations(ITEMS_ANSWER)),
    )
)
def test_fuzz_only_our_errors_escape_whatever_amazon_answers(
    fuzz_fake: tuple[Fake, SenderApi], answer: tuple[str, Any]
) -> None:
    app, api = fuzz_fake
    operation, body = answer
    app.raw_answer(operation, body)
    try:
        complete(notification("Unshipped"), api)
    except (PayloadError, PermanentProviderError, RetryableProviderError):
        pass
    finally:
        app.raw_answer(operation, None)
