"""Stripe's pull: a refund or payment whose object names no order gets the shop's order from its PaymentIntent.

No moto: the SenderApi gets a stub secret store and an in-memory cache. The fake checks every request (and its
own answers) against Stripe's spec excerpt and records what we asked.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from mutabik.model import PaymentCaptured, PayoutPaid, RefundCreated
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError
from mutabik.sources._api import SenderApi
from mutabik.sources.base import Delivery
from mutabik.sources.exceptions import PayloadError
from mutabik.sources.stripe import STRIPE_VERSION, StripeSource
from mutabik.store.exceptions import SecretNotFoundError
from mutabik.store.tenants import SourceSettings, TenantConfig

from tests.fakes import FakeServer
from tests.fakes.stripe_api import SAMPLE_CHARGE, SAMPLE_ORDER, SAMPLE_PAYMENT_INTENT, Fake

from ._support import CONTEXT, FUZZ, delivery, dumps, frozen, mutations, payload, sample_delivery, sample_event

SECRET_NAME = "mutabik/demo/sender-apis/stripe"


class StubSecrets:
    """The one secret a pull reads, without Secrets Manager."""

    prefix = "mutabik"

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def sender_api_secret_name(self, tenant: str, source: str) -> str:
        return f"mutabik/{tenant}/sender-apis/{source}"

    def get(self, name: str, *, fresh: bool = False) -> str:
        if name not in self.values:
            raise SecretNotFoundError(f"secret {name} is not readable")
        return self.values[name]


class StubCache:
    """ScopedCache's get/put, in memory (the DynamoDB one is tested in tests/integration/test_cache.py)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], tuple[Any, timedelta | None]] = {}

    def get(self, namespace: str, ident: str) -> Any | None:
        found = self.values.get((namespace, ident))
        return found[0] if found else None

    def put(self, namespace: str, ident: str, value: Any, ttl: timedelta | None = None) -> None:
        self.values[(namespace, ident)] = (value, ttl)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Fake, FakeServer]]:
    fake = Fake()
    with FakeServer(fake) as running:
        yield fake, running


@pytest.fixture
def fake(server: tuple[Fake, FakeServer]) -> Iterator[Fake]:
    fake, _ = server
    fake.__init__()  # type: ignore[misc]  # a fresh Stripe account for each test, on the same port
    yield fake
    fake.assert_clean()


def api_for(
    url: str, credentials: dict[str, str] | None, options: dict[str, str] | None = None, cache: Any = None
) -> SenderApi:
    return SenderApi(
        tenant=TenantConfig(tenant="demo"),
        source="stripe",
        settings=SourceSettings(api_url=url, options=options or {}),
        secrets=StubSecrets({} if credentials is None else {SECRET_NAME: json.dumps(credentials)}),  # type: ignore[arg-type]
        blobs=None,  # type: ignore[arg-type]
        cache=cache if cache is not None else StubCache(),  # type: ignore[arg-type]
        timeout_seconds=2.0,
    )


@pytest.fixture
def api(fake: Fake, server: tuple[Fake, FakeServer]) -> SenderApi:
    return api_for(server[1].url, fake.credentials())


def complete(d: Delivery, api: SenderApi) -> list[Any]:
    source = StripeSource(clock=frozen())
    return source.complete(d, source.parse(d, CONTEXT), api, CONTEXT)


def event_of(kind: str, obj: dict[str, Any], event_id: str = "evt_pull") -> Delivery:
    return delivery("stripe", dumps({"id": event_id, "type": kind, "created": 1768640401, "data": {"object": obj}}))


def sample_object(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(sample_event("stripe", name)["body"])
    return dict(body["data"]["object"])


def refund(ident: str = "re_pull1", **changes: Any) -> dict[str, Any]:
    return {**sample_object("refund-created"), "id": ident, **changes}


def test_a_refund_without_metadata_is_keyed_by_the_order_on_its_payment_intent(fake: Fake, api: SenderApi) -> None:
    # GIVEN the sample refund.created: empty metadata, its PaymentIntent carries metadata.order_id
    d = sample_delivery("stripe", "refund-created")
    assert StripeSource().parse(d, CONTEXT)[0].refund.order_ref == SAMPLE_PAYMENT_INTENT  # what parse alone knows
    # WHEN the mapper completes it
    [event] = complete(d, api)
    # THEN the refund belongs to the shop's order, read with the key and a pinned API version
    assert isinstance(event, RefundCreated)
    assert event.refund.order_ref == SAMPLE_ORDER
    assert event.refund.source_ref == "re_3QdemoTRY0001"
    assert fake.reads() == [f"/v1/payment_intents/{SAMPLE_PAYMENT_INTENT}"]
    assert fake.versions == [STRIPE_VERSION]


def test_each_payment_intent_costs_one_read_however_many_refunds_follow(fake: Fake, api: SenderApi) -> None:
    for ident in ("re_a", "re_b", "re_c"):
        [event] = complete(event_of("refund.created", refund(ident)), api)
        assert event.refund.order_ref == SAMPLE_ORDER
    assert fake.reads() == [f"/v1/payment_intents/{SAMPLE_PAYMENT_INTENT}"]
    assert api.cache is not None
    assert api.cache.get("orders", SAMPLE_PAYMENT_INTENT) == SAMPLE_ORDER


def test_an_event_that_names_its_order_costs_no_call_and_needs_no_credentials(
    fake: Fake, server: tuple[Fake, FakeServer]
) -> None:
    # GIVEN a tenant with no Stripe API key at all
    api = api_for(server[1].url, credentials=None)
    # WHEN deliveries that carry the order (charge metadata), a payout, and a refund with its own order are completed
    [payment] = complete(sample_delivery("stripe", "charge-succeeded"), api)
    [listed] = complete(sample_delivery("stripe", "charge-refunded"), api)
    [payout] = complete(sample_delivery("stripe", "payout-paid"), api)
    [own] = complete(event_of("refund.created", refund(metadata={"order_number": "1042"})), api)
    # THEN nothing was asked of Stripe and the orders are the ones the objects name
    assert isinstance(payment, PaymentCaptured)
    assert payment.payment.order_ref == SAMPLE_ORDER
    assert isinstance(listed, RefundCreated)
    assert listed.refund.order_ref == SAMPLE_ORDER
    assert isinstance(payout, PayoutPaid)
    assert own.refund.order_ref == "1042"
    assert fake.requests == []


def test_a_capture_whose_charge_lacks_the_order_reads_its_payment_intent(fake: Fake, api: SenderApi) -> None:
    # GIVEN a charge confirmed before the shop set metadata on its PaymentIntent (metadata is copied only once)
    fake.add_payment_intent("pi_late", {"order_id": "5800000000077"})
    charge = {**sample_object("charge-succeeded"), "id": "ch_late", "metadata": {}, "payment_intent": "pi_late"}
    [event] = complete(event_of("charge.captured", charge), api)
    assert isinstance(event, PaymentCaptured)
    assert event.payment.order_ref == "5800000000077"
    assert event.payment.source_ref == "ch_late"  # the payment is still the charge
    assert fake.reads() == ["/v1/payment_intents/pi_late"]


def test_a_refund_naming_only_its_charge_reads_the_charge_then_its_payment_intent(fake: Fake, api: SenderApi) -> None:
    # GIVEN a refund without a PaymentIntent, on a charge with no order but a PaymentIntent that has one
    fake.add_payment_intent("pi_x", {"orderId": "A-77"})
    fake.add_charge("ch_x", {}, payment_intent="pi_x")
    [event] = complete(event_of("refund.created", refund(payment_intent=None, charge="ch_x")), api)
    assert event.refund.order_ref == "A-77"
    assert fake.reads() == ["/v1/charges/ch_x", "/v1/payment_intents/pi_x"]


def test_a_charge_with_the_order_set_directly_on_it_is_found(fake: Fake, api: SenderApi) -> None:
    fake.add_payment_intent("pi_bare", {})
    fake.add_charge("ch_tagged", {"order_ref": "W-9"}, payment_intent="pi_bare")
    [event] = complete(event_of("refund.created", refund(payment_intent="pi_bare", charge="ch_tagged")), api)
    assert event.refund.order_ref == "W-9"
    assert fake.reads() == ["/v1/payment_intents/pi_bare", "/v1/charges/ch_tagged"]


def test_a_refund_with_no_order_anywhere_is_refused_until_the_shop_sets_it(fake: Fake, api: SenderApi) -> None:
    # GIVEN a PaymentIntent (and charge) the shop never tagged with its order
    fake.add_payment_intent("pi_untagged", {})
    fake.add_charge("ch_untagged", {}, payment_intent="pi_untagged")
    d = event_of("refund.created", refund(payment_intent="pi_untagged", charge="ch_untagged"))
    # WHEN it is completed THEN it is refused with what to do, nothing being issued under the PaymentIntent id
    with pytest.raises(PermanentProviderError) as refused:
        complete(d, api)
    reason = str(refused.value)
    assert "refund re_pull1 names no order" in reason
    assert "PaymentIntent pi_untagged or charge ch_untagged" in reason
    assert "metadata.order_id" in reason
    assert "mutabik dlq redrive" in reason
    # AND once the shop sets the order in Stripe, the replay finds it (the miss was not cached)
    fake.set_metadata("pi_untagged", {"order_id": "5800000000099"})
    [event] = complete(d, api)
    assert event.refund.order_ref == "5800000000099"


def test_a_legacy_charge_with_no_payment_intent_and_no_order_is_refused_without_a_call(
    fake: Fake, api: SenderApi
) -> None:
    charge = {**sample_object("charge-succeeded"), "id": "ch_legacy", "metadata": {}, "payment_intent": None}
    with pytest.raises(PermanentProviderError, match="charge ch_legacy names no order"):
        complete(event_of("charge.succeeded", charge), api)
    assert fake.requests == []


def test_missing_credentials_name_the_secret(fake: Fake, server: tuple[Fake, FakeServer]) -> None:
    api = api_for(server[1].url, credentials=None)
    with pytest.raises(PermanentProviderError, match=f"store them in Secrets Manager as {SECRET_NAME}"):
        complete(sample_delivery("stripe", "refund-created"), api)
    assert fake.requests == []


def test_order_lookup_off_keeps_the_payment_intent_as_the_order_explicitly(
    fake: Fake, server: tuple[Fake, FakeServer]
) -> None:
    api = api_for(server[1].url, credentials=None, options={"order_lookup": "off"})
    [event] = complete(sample_delivery("stripe", "refund-created"), api)
    assert event.refund.order_ref == SAMPLE_PAYMENT_INTENT
    assert fake.requests == []


def test_an_unknown_payment_intent_is_permanent_in_stripes_words(fake: Fake, api: SenderApi) -> None:
    with pytest.raises(PermanentProviderError) as refused:
        complete(event_of("refund.created", refund(payment_intent="pi_other_account", charge=None)), api)
    assert refused.value.status_code == 404
    assert "invalid_request_error/resource_missing: No such payment_intent: 'pi_other_account'" in str(refused.value)


def test_a_refused_key_is_permanent(fake: Fake, api: SenderApi) -> None:
    fake.revoke_key()
    with pytest.raises(PermanentProviderError, match="401: invalid_request_error: Invalid API Key provided"):
        complete(sample_delivery("stripe", "refund-created"), api)


@pytest.mark.parametrize(("status", "retry_after"), [(429, 7), (500, None), (503, None)])
def test_rate_limits_and_outages_are_retryable_and_cache_nothing(
    fake: Fake, api: SenderApi, status: int, retry_after: int | None
) -> None:
    fake.fail_next(1, status, retry_after=retry_after)
    with pytest.raises(RetryableProviderError) as later:
        complete(sample_delivery("stripe", "refund-created"), api)
    assert later.value.status_code == status
    assert later.value.retry_after == retry_after
    # The next attempt (the message coming back) succeeds.
    [event] = complete(sample_delivery("stripe", "refund-created"), api)
    assert event.refund.order_ref == SAMPLE_ORDER


def test_the_key_is_sent_as_bearer_and_never_in_a_reason(fake: Fake, api: SenderApi) -> None:
    fake.revoke_key()
    with pytest.raises(PermanentProviderError) as refused:
        complete(sample_delivery("stripe", "refund-created"), api)
    assert fake.secret_key not in str(refused.value)


def test_a_charge_refunded_without_order_reads_once_for_all_its_refunds(fake: Fake, api: SenderApi) -> None:
    charge = sample_object("charge-refunded")
    charge["metadata"] = {}
    second = {**charge["refunds"]["data"][0], "id": "re_second", "amount": 1000}
    charge["refunds"]["data"].append(second)
    events = complete(event_of("charge.refunded", charge), api)
    assert [(e.refund.source_ref, e.refund.order_ref) for e in events] == [
        ("re_3QdemoTRY0001", SAMPLE_ORDER),
        ("re_second", SAMPLE_ORDER),
    ]
    assert fake.reads() == [f"/v1/payment_intents/{SAMPLE_PAYMENT_INTENT}"]


def test_the_fake_knows_the_samples_charge_too(fake: Fake, api: SenderApi) -> None:
    [event] = complete(event_of("refund.created", refund(payment_intent=None, charge=SAMPLE_CHARGE)), api)
    assert event.refund.order_ref == SAMPLE_ORDER


# --- the API's answer fuzzed: only our errors escape ------------------------------------------------------------


@pytest.fixture(scope="module")
def loose() -> Iterator[tuple[Fake, str]]:
    """A fake that answers whatever it is seeded with, unchecked (the fuzz seeds answers Stripe would not give)."""
    fake = Fake(validate=False)
    with FakeServer(fake) as running:
        yield fake, running.url


_INTENT = {
    "id": "pi_fuzz",
    "object": "payment_intent",
    "amount": 1000,
    "currency": "try",
    "metadata": {"order_id": "5800000000001"},
    "payment_intent": None,
}


@FUZZ
@given(mutations(_INTENT))
def test_fuzz_the_payment_intent_answer(loose: tuple[Fake, str], answer: Any) -> None:
    fake, url = loose
    fake.payment_intents["pi_fuzz"] = answer
    api = api_for(url, fake.credentials())
    d = event_of("refund.created", refund(payment_intent="pi_fuzz", charge=None))
    try:
        events = complete(d, api)
    except (PayloadError, PermanentProviderError, RetryableProviderError):
        return
    assert [e.refund.order_ref for e in events] != [""]


@FUZZ
@given(mutations(payload("stripe", "refund.json")))
def test_fuzz_near_miss_refunds_through_complete(loose: tuple[Fake, str], obj: Any) -> None:
    fake, url = loose
    api = api_for(url, fake.credentials())
    d = event_of("refund.created", obj)
    with contextlib.suppress(PayloadError, PermanentProviderError, RetryableProviderError):
        complete(d, api)
