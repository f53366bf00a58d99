"""Etsy's thin notifications completed from getShopReceipt, against the fake Etsy API on a loopback port.

No moto: the tenant's sender-apis secret lives in an in-memory SecretStore, and without a table cache the
token refresh needs no lease (providers/_oauth.py).
"""

from __future__ import annotations

import contextlib
import copy
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from mutabik.model import OrderPaid, ShipmentCreated
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError
from mutabik.sources._api import SenderApi
from mutabik.sources.base import Delivery
from mutabik.sources.etsy import EtsySource
from mutabik.sources.exceptions import PayloadError
from mutabik.store.exceptions import SecretNotFoundError
from mutabik.store.secrets import SecretStore
from mutabik.store.tenants import SourceSettings, TenantConfig

from tests.fakes import FakeServer
from tests.fakes.etsy_api import SAMPLE_RECEIPT, SAMPLE_SHOP, SPEC, Fake

from ._support import CONTEXT, FUZZ, dumps, frozen, mutations, retouched, sample_delivery

RECEIPT_PATH = f"/v3/application/shops/{SAMPLE_SHOP}/receipts/{SAMPLE_RECEIPT['receipt_id']}"


class MemorySecrets(SecretStore):
    """Secrets Manager as a dict: what the pull reads and what the token refresh writes back."""

    def __init__(self) -> None:
        super().__init__(prefix="test")
        self.values: dict[str, str] = {}

    def get(self, name: str, *, fresh: bool = False) -> str:
        if name not in self.values:
            raise SecretNotFoundError(f"secret {name} is not readable")
        return self.values[name]

    def put(self, name: str, value: str) -> None:
        self.values[name] = value


@pytest.fixture
def fake() -> Iterator[Fake]:
    app = Fake()
    with FakeServer(app) as server:
        app.url = server.url  # type: ignore[attr-defined]
        yield app
    app.assert_clean()


def sender_api(fake: Fake, credentials: dict[str, str] | None = None) -> SenderApi:
    """A fresh tenant (its own token memo entry) whose sender-apis secret holds `credentials`."""
    secrets = MemorySecrets()
    tenant = TenantConfig(tenant=f"t{uuid.uuid4().hex[:10]}")
    api = SenderApi(
        tenant=tenant,
        source="etsy",
        settings=SourceSettings(api_url=fake.url),  # type: ignore[attr-defined]
        secrets=secrets,
        blobs=None,  # type: ignore[arg-type]  # the pull stores nothing
        timeout_seconds=2.0,
    )
    if credentials is not None:
        secrets.put(api.secret_name, json.dumps(credentials))
    return api


def complete(d: Delivery, api: SenderApi) -> list[Any]:
    source = EtsySource(clock=frozen())
    return source.complete(d, source.parse(d, CONTEXT), api, CONTEXT)


def with_resource_url(d: Delivery, url: str) -> Delivery:
    body = json.loads(d.body)
    body["resource_url"] = url
    return retouched(d, body=dumps(body))


def test_the_excerpt_of_etsys_description_is_valid_openapi() -> None:
    from openapi_core import OpenAPI

    OpenAPI.from_dict(json.loads(SPEC.read_text()))  # runs openapi-spec-validator


def test_a_thin_order_paid_makes_the_same_order_as_one_carrying_its_receipt(fake: Fake) -> None:
    api = sender_api(fake, fake.credentials())
    [pulled] = complete(sample_delivery("etsy", "order-paid"), api)
    [inline] = EtsySource(clock=frozen()).parse(sample_delivery("etsy", "order-paid-with-receipt"), CONTEXT)

    assert isinstance(pulled, OrderPaid)
    assert pulled == inline  # one model, one mapping: the same invoice either way
    assert pulled.order.source_ref == "3456789012"  # keyed as the cancellation and shipment are
    assert (fake.receipt_reads(), fake.token_requests) == (1, 1)


def test_the_rotated_refresh_token_is_written_back_before_it_is_needed(fake: Fake) -> None:
    api = sender_api(fake, fake.credentials())
    first = fake.refresh_token
    complete(sample_delivery("etsy", "order-paid"), api)

    stored = json.loads(api.secrets.get(api.secret_name))
    assert stored["refresh_token"] == fake.refresh_token != first  # Etsy's next one, the spent one replaced
    assert stored["access_token"] in fake.access_tokens
    assert stored["expires_at"] > 0
    assert (stored["client_id"], stored["client_secret"]) == (fake.keystring, fake.shared_secret)


def test_a_warm_container_reuses_its_access_token(fake: Fake) -> None:
    api = sender_api(fake, fake.credentials())
    complete(sample_delivery("etsy", "order-paid"), api)
    complete(sample_delivery("etsy", "order-shipped"), api)
    assert (fake.receipt_reads(), fake.token_requests) == (2, 1)


def test_a_token_etsy_no_longer_takes_is_renewed_once(fake: Fake) -> None:
    api = sender_api(fake, fake.credentials())
    complete(sample_delivery("etsy", "order-paid"), api)
    fake.expire_tokens()
    [event] = complete(sample_delivery("etsy", "order-paid"), api)
    assert isinstance(event, OrderPaid)
    assert (fake.receipt_reads(), fake.token_requests) == (3, 2)  # one 401, one refresh, one answer


@pytest.mark.parametrize("name", ["order-paid-with-receipt", "order-canceled"])
def test_deliveries_that_carry_what_they_need_cost_no_call(fake: Fake, name: str) -> None:
    api = sender_api(fake)  # no credentials at all: a call would fail
    d = sample_delivery("etsy", name)
    assert complete(d, api) == EtsySource(clock=frozen()).parse(d, CONTEXT) != []
    assert fake.requests == []


def test_a_thin_order_shipped_gets_the_receipts_lines_and_carrier(fake: Fake) -> None:
    api = sender_api(fake, fake.credentials())
    [event] = complete(sample_delivery("etsy", "order-shipped"), api)
    assert isinstance(event, ShipmentCreated)
    shipment = event.shipment
    assert (shipment.source_ref, shipment.order_ref) == ("3456789012:shipped", "3456789012")
    assert [(line.sku, line.quantity) for line in shipment.lines] == [("IZNIK-TILE-20", 2), ("CEZVE-BAKIR", 1)]
    assert (shipment.carrier_name, shipment.tracking_number) == ("UPS", "1Z999AA10123456784")


def test_an_unpaid_receipt_makes_no_order(fake: Fake) -> None:
    fake.seed(SAMPLE_SHOP, {**SAMPLE_RECEIPT, "is_paid": False, "status": "open"})
    assert complete(sample_delivery("etsy", "order-paid"), sender_api(fake, fake.credentials())) == []


@pytest.mark.parametrize(
    ("status", "retry_after"), [(429, 7), (429, None), (500, None), (503, None)], ids=["429", "429-bare", "500", "503"]
)
def test_rate_limits_and_outages_are_retried_later(fake: Fake, status: int, retry_after: int | None) -> None:
    fake.fail_next(1, status, retry_after=retry_after)
    with pytest.raises(RetryableProviderError) as caught:
        complete(sample_delivery("etsy", "order-paid"), sender_api(fake, fake.credentials()))
    assert caught.value.retry_after == retry_after
    assert f"etsy answered {status}" in str(caught.value)


def test_a_receipt_etsy_does_not_know_is_permanent(fake: Fake) -> None:
    d = with_resource_url(
        sample_delivery("etsy", "order-paid"), f"https://openapi.etsy.com/v3/application/shops/{SAMPLE_SHOP}/receipts/9"
    )
    with pytest.raises(PermanentProviderError, match=r"no receipt 9 in shop 51234567 .*does not exist"):
        complete(d, sender_api(fake, fake.credentials()))


def test_missing_credentials_name_the_secret(fake: Fake) -> None:
    api = sender_api(fake)
    with pytest.raises(PermanentProviderError, match=f"store them in Secrets Manager as {api.secret_name}"):
        complete(sample_delivery("etsy", "order-paid"), api)
    partial = sender_api(fake, {"client_id": fake.keystring})
    with pytest.raises(PermanentProviderError, match="lacks client_secret, refresh_token"):
        complete(sample_delivery("etsy", "order-paid"), partial)
    assert fake.requests == []


def test_a_revoked_refresh_token_asks_the_tenant_to_authorise_again(fake: Fake) -> None:
    api = sender_api(fake, fake.credentials())
    fake.revoke_refresh_token()
    with pytest.raises(PermanentProviderError, match="authorise the application again"):
        complete(sample_delivery("etsy", "order-paid"), api)


def test_a_wrong_shared_secret_is_refused_in_etsys_words(fake: Fake) -> None:
    api = sender_api(fake, {**fake.credentials(), "client_secret": "not-it"})
    with pytest.raises(PermanentProviderError, match="etsy answered 403: Invalid API key"):
        complete(sample_delivery("etsy", "order-paid"), api)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/v3/application/shops/51234567/receipts/3456789012",
        "http://169.254.169.254/v3/application/shops/51234567/receipts/3456789012",
        "http://openapi.etsy.com/v3/application/shops/51234567/receipts/3456789012",
        "https://openapi.etsy.com.evil.example/v3/application/shops/51234567/receipts/3456789012",
        "https://user@evil.example:443/v3/application/shops/51234567/receipts/3456789012",
        "https://openapi.etsy.com:8443/v3/application/shops/51234567/receipts/3456789012",
    ],
)
def test_a_resource_url_off_etsys_api_is_never_followed(fake: Fake, url: str) -> None:
    d = with_resource_url(sample_delivery("etsy", "order-paid"), url)
    with pytest.raises(PayloadError) as caught:
        complete(d, sender_api(fake, fake.credentials()))
    assert caught.value.path == "resource_url"
    assert fake.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "https://api.etsy.com/v3/application/shops/51234567/receipts/3456789012/../../../users/me",
        "https://api.etsy.com/v3/application/shops/51234567/receipts/3456789012?includes=x",
        "https://api.etsy.com/v3/application/shops/51234567",
    ],
)
def test_a_resource_url_naming_anything_but_a_receipt_is_refused(fake: Fake, url: str) -> None:
    with pytest.raises(PayloadError, match="resource_url"):
        complete(with_resource_url(sample_delivery("etsy", "order-paid"), url), sender_api(fake, fake.credentials()))
    assert fake.requests == []


def test_the_tenants_own_api_url_is_etsy_for_it(fake: Fake) -> None:
    d = with_resource_url(sample_delivery("etsy", "order-paid"), fake.url + RECEIPT_PATH)  # type: ignore[attr-defined]
    [event] = complete(d, sender_api(fake, fake.credentials()))
    assert isinstance(event, OrderPaid)


def test_a_shop_id_other_than_the_urls_is_refused(fake: Fake) -> None:
    d = sample_delivery("etsy", "order-paid")
    body = {**json.loads(d.body), "shop_id": 1}
    with pytest.raises(PayloadError) as caught:
        complete(retouched(d, body=dumps(body)), sender_api(fake, fake.credentials()))
    assert caught.value.path == "shop_id"


def test_an_answer_for_another_receipt_is_refused(fake: Fake) -> None:
    fake.receipts[(SAMPLE_SHOP, SAMPLE_RECEIPT["receipt_id"])] = {**SAMPLE_RECEIPT, "receipt_id": 1}
    with pytest.raises(PayloadError) as caught:
        complete(sample_delivery("etsy", "order-paid"), sender_api(fake, fake.credentials()))
    assert caught.value.path == "receipt.receipt_id"
    fake.violations.clear()


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[tuple[Fake, SenderApi]]:
    app = Fake(validate=False)
    with FakeServer(app) as server:
        app.url = server.url  # type: ignore[attr-defined]
        yield app, sender_api(app, app.credentials())


@settings(FUZZ, max_examples=25)  # each example is a real HTTP round trip (~0.1 s, most of it TLS setup)
@given(mutations(copy.deepcopy(SAMPLE_RECEIPT)))
def test_fuzz_the_pulled_receipt(fuzzed: tuple[Fake, SenderApi], answer: object) -> None:
    """Whatever Etsy answers, only our errors escape: PayloadError for what we cannot read."""
    fake, api = fuzzed
    fake.receipts[(SAMPLE_SHOP, SAMPLE_RECEIPT["receipt_id"])] = answer  # type: ignore[assignment]
    with contextlib.suppress(PayloadError):
        complete(sample_delivery("etsy", "order-paid"), api)
