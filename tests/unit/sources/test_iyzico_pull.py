"""iyzico's pull: notifications without amounts completed from Transaction Detail Reporting, against the fake.

No moto: the SenderApi gets a stub secret store. The fake recomputes IYZWSv2 and records what we asked.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutabik.model import PaymentCaptured, RefundCreated
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError
from mutabik.sources._api import SenderApi
from mutabik.sources.base import Delivery
from mutabik.sources.exceptions import PayloadError
from mutabik.sources.iyzico import DETAILS_PATH, IyzicoSource, authorization
from mutabik.store.exceptions import SecretNotFoundError
from mutabik.store.tenants import SourceSettings, TenantConfig

from tests.fakes import FakeServer
from tests.fakes.iyzico_api import Fake, payment

from ._support import CONTEXT, FUZZ, delivery, dumps, frozen, sample_delivery


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


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Fake, FakeServer]]:
    fake = Fake()
    with FakeServer(fake) as running:
        yield fake, running


@pytest.fixture
def fake(server: tuple[Fake, FakeServer]) -> Iterator[Fake]:
    fake, _ = server
    fake.__init__()  # type: ignore[misc]  # a fresh merchant for each test, on the same port
    yield fake
    fake.assert_clean()


def api_for(fake: Fake, url: str, credentials: dict[str, str] | None = None) -> SenderApi:
    tenant = TenantConfig(tenant="demo")
    secrets = StubSecrets(
        {} if credentials == {} else {"mutabik/demo/sender-apis/iyzico": json.dumps(credentials or fake.credentials())}
    )
    return SenderApi(
        tenant=tenant,
        source="iyzico",
        settings=SourceSettings(api_url=url, options=fake.options()),
        secrets=secrets,  # type: ignore[arg-type]
        blobs=None,  # type: ignore[arg-type]
        timeout_seconds=2.0,
    )


@pytest.fixture
def api(fake: Fake, server: tuple[Fake, FakeServer]) -> SenderApi:
    return api_for(fake, server[1].url)


def complete(d: Delivery, api: SenderApi) -> list[Any]:
    source = IyzicoSource(clock=frozen())
    return source.complete(d, source.parse(d, CONTEXT), api, CONTEXT)


def test_the_authorization_header_is_iyzicos_iyzwsv2() -> None:
    # GIVEN the formula of iyzico's HMACSHA256 Auth page, computed independently here
    value = authorization("key", "secret", "123456789", DETAILS_PATH)
    plain = base64.b64decode(value.removeprefix("IYZWSv2 ")).decode()
    expected = hmac.new(b"secret", f"123456789{DETAILS_PATH}".encode(), hashlib.sha256).hexdigest()
    assert value.startswith("IYZWSv2 ")
    assert plain == f"apiKey:key&randomKey:123456789&signature:{expected}"


def test_a_checkout_form_payment_is_completed_with_its_amount_and_fee(fake: Fake, api: SenderApi) -> None:
    [event] = complete(sample_delivery("iyzico", "checkout-form-auth"), api)

    assert isinstance(event, PaymentCaptured)
    assert event.payment.source_ref == "22483975"
    assert event.payment.order_ref == "5800000000001"  # as parse keys a payment: its conversationId
    assert event.payment.amount.amount == Decimal("1640.00")
    assert event.payment.amount.currency == "TRY"
    assert event.payment.fee is not None
    assert event.payment.fee.amount == Decimal("41.25")
    assert fake.requests == [{"method": "GET", "path": DETAILS_PATH, "query": {"paymentId": "22483975"}}]


def test_a_notification_with_its_amount_costs_no_call(fake: Fake, api: SenderApi) -> None:
    [event] = complete(sample_delivery("iyzico", "api-auth"), api)
    assert isinstance(event, PaymentCaptured)
    assert fake.requests == []


def test_a_failed_payment_costs_no_call(fake: Fake, api: SenderApi) -> None:
    body = json.loads(sample_delivery("iyzico", "checkout-form-auth").body)
    assert complete(delivery("iyzico", dumps({**body, "status": "FAILURE"})), api) == []
    assert fake.requests == []


def test_a_refund_notification_becomes_the_payments_refunds(fake: Fake, api: SenderApi) -> None:
    fake.payments["22483975"] = payment(
        22483975, "1640.00", refunds=[(31000001, "400.00"), (31000002, "100.50")], cancels=[]
    )
    events = complete(sample_delivery("iyzico", "refund-retry-success"), api)

    assert all(isinstance(e, RefundCreated) for e in events)
    refunds = {e.refund.source_ref: e.refund for e in events}
    assert set(refunds) == {"refund-31000001", "refund-31000002"}
    assert {r.order_ref for r in refunds.values()} == {"5800000000001"}
    assert sum(r.amount.amount for r in refunds.values()) == Decimal("500.50")
    # iyzico keeps local time: 10:00 in Istanbul is 07:00 UTC
    assert refunds["refund-31000001"].created_at.isoformat() == "2026-01-16T10:00:00+03:00"


def test_a_cancelled_payment_is_refunded_in_full(fake: Fake, api: SenderApi) -> None:
    fake.payments["22483975"] = payment(22483975, "1640.00", cancels=[(41000001, "1640.00")])
    [event] = complete(sample_delivery("iyzico", "refund-retry-success"), api)
    assert (event.refund.source_ref, event.refund.amount.amount) == ("cancel-41000001", Decimal("1640.00"))


def test_a_refund_that_failed_at_iyzico_is_not_a_refund(fake: Fake, api: SenderApi) -> None:
    detail = payment(22483975, "1640.00", refunds=[(31000001, "400.00")])
    detail["itemTransactions"][0]["refunds"][0].update(refundStatus=2, errorCode="10051")
    fake.payments["22483975"] = detail
    assert complete(sample_delivery("iyzico", "refund-retry-success"), api) == []


def test_an_unknown_payment_is_permanent_in_iyzicos_words(fake: Fake, api: SenderApi) -> None:
    del fake.payments["22483975"]
    with pytest.raises(PermanentProviderError, match="Ödeme bulunamadı"):
        complete(sample_delivery("iyzico", "checkout-form-auth"), api)


def test_a_system_error_on_http_200_is_retryable(fake: Fake, api: SenderApi) -> None:
    fake.system_error_next()
    with pytest.raises(RetryableProviderError, match="Sistem hatası"):
        complete(sample_delivery("iyzico", "checkout-form-auth"), api)
    [event] = complete(sample_delivery("iyzico", "checkout-form-auth"), api)  # the next attempt gets it
    assert event.payment.amount.amount == Decimal("1640.00")


@pytest.mark.parametrize(("status", "retry_after"), [(429, "7"), (503, None)])
def test_throttling_and_outages_are_retryable(fake: Fake, api: SenderApi, status: int, retry_after: str | None) -> None:
    fake.fail_next(1, status, retry_after)
    with pytest.raises(RetryableProviderError) as caught:
        complete(sample_delivery("iyzico", "checkout-form-auth"), api)
    assert caught.value.retry_after == (7.0 if retry_after else None)


def test_a_revoked_api_key_is_permanent(fake: Fake, api: SenderApi) -> None:
    fake.revoke_key()
    with pytest.raises(PermanentProviderError, match="api bilgileri bulunamadı"):
        complete(sample_delivery("iyzico", "checkout-form-auth"), api)


def test_a_wrong_secret_key_is_refused_by_the_signature_check(fake: Fake, server: tuple[Fake, FakeServer]) -> None:
    wrong = api_for(fake, server[1].url, {"api_key": fake.api_key, "secret_key": "not-the-secret"})
    with pytest.raises(PermanentProviderError, match="400"):
        complete(sample_delivery("iyzico", "checkout-form-auth"), wrong)
    assert fake.violations == ["signature is not HMAC-SHA256(secretKey, randomKey + uriPath + body)"]
    fake.violations.clear()


def test_missing_credentials_name_the_secret(fake: Fake, server: tuple[Fake, FakeServer]) -> None:
    with pytest.raises(PermanentProviderError, match="mutabik/demo/sender-apis/iyzico"):
        complete(sample_delivery("iyzico", "checkout-form-auth"), api_for(fake, server[1].url, {}))
    assert fake.requests == []


def test_an_answer_about_another_order_is_refused(fake: Fake, api: SenderApi) -> None:
    fake.payments["22483975"] = payment(22483975, "1640.00", conversation_id="someone-else")
    with pytest.raises(PayloadError) as caught:
        complete(sample_delivery("iyzico", "checkout-form-auth"), api)
    assert caught.value.path == "payments.0.paymentConversationId"


def test_a_payment_iyzico_holds_as_unpaid_is_permanent(fake: Fake, api: SenderApi) -> None:
    fake.payments["22483975"] = payment(22483975, "1640.00", status=2)
    with pytest.raises(PermanentProviderError, match="not paid"):
        complete(sample_delivery("iyzico", "checkout-form-auth"), api)


# --- the pulled answer fuzzed: only our errors escape ----------------------------------------------------
_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=12) | st.floats(allow_nan=True)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _mutated_answers() -> st.SearchStrategy[Any]:
    base = payment(22483975, "1640.00", refunds=[(31000001, "400.00")], cancels=[(41000001, "10.00")])
    fields = st.sampled_from([*sorted(base), "paymentStatus", "paidPrice", "currency"])
    one_field = st.builds(lambda k, v: {**base, k: v}, fields, _values)
    refund_field = st.builds(
        lambda k, v: {**base, "itemTransactions": [{"refunds": [{**base["itemTransactions"][0]["refunds"][0], k: v}]}]},
        st.sampled_from(["refundTxId", "refundPrice", "refundStatus", "createdDate", "currencyCode", "errorCode"]),
        _values,
    )
    return one_field | refund_field | _values


class _Canned:
    """A SenderApi stand-in whose client answers one canned body (no network), for fuzzing."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def credentials(self, *required: str, fresh: bool = False) -> dict[str, str]:
        return {"api_key": "k", "secret_key": "s"}

    def client(self, *, default_url: str, **kwargs: Any) -> Any:
        import httpx

        answer = {"status": "success", "payments": [self.body]} if isinstance(self.body, dict) else self.body
        raw = json.dumps(answer, default=str, allow_nan=True).encode()
        transport = httpx.MockTransport(lambda request: httpx.Response(200, content=raw))
        return httpx.Client(base_url="http://iyzico.invalid", transport=transport)


@FUZZ
@given(_mutated_answers(), st.sampled_from(["checkout-form-auth", "refund-retry-success"]))
def test_fuzz_pulled_answers_raise_only_our_errors(body: Any, sample: str) -> None:
    d = sample_delivery("iyzico", sample)
    with contextlib.suppress(PayloadError, PermanentProviderError, RetryableProviderError):
        complete(d, _Canned(body))  # type: ignore[arg-type]
