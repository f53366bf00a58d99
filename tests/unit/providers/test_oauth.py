"""The OAuth token keeper against the Paraşüt fake (Doorkeeper's rotating refresh tokens) and the table cache:
one refresh however many workers need a token at once, and a way back in when a refresh token is refused."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mutabik.providers._oauth import OAuthTokens, TokenEndpoint, TokenMemo
from mutabik.providers.base import ProviderContext
from mutabik.providers.exceptions import PermanentProviderError
from mutabik.store.secrets import SecretStore
from mutabik.store.tenants import ProviderSettings, TenantConfig

from tests.fakes import FakeServer
from tests.fakes.parasut import Fake

ENDPOINT = TokenEndpoint("/oauth/token", redirect_uri="urn:ietf:wg:oauth:2.0:oob")


class CountingSecrets(SecretStore):
    """A container's own view of Secrets Manager (its own cache), counting reads."""

    def __init__(self, prefix: str) -> None:
        super().__init__(prefix=prefix)
        self.reads = 0

    def get(self, name: str, *, fresh: bool = False) -> str:
        self.reads += 1
        return super().get(name, fresh=fresh)


@pytest.fixture
def fake() -> Iterator[Fake]:
    app = Fake()
    with FakeServer(app) as server:
        app.url = server.url  # type: ignore[attr-defined]
        yield app
    app.assert_clean()


@pytest.fixture
def tenant() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def worker(services: Any, fake: Fake, tenant: str) -> tuple[OAuthTokens, CountingSecrets, httpx.Client]:
    """What one pusher container has: its own secret cache and token memo, the shared table and secret."""
    secrets = CountingSecrets(services.secrets.prefix)
    context = ProviderContext(
        tenant=TenantConfig(tenant=tenant),
        settings=ProviderSettings(base_url=fake.url),  # type: ignore[attr-defined]
        secrets=secrets,
        blobs=services.blobs,
        cache=services.cache.scoped(tenant, "parasut"),
        timeout_seconds=5,
    )
    client = httpx.Client(base_url=fake.url, timeout=5)  # type: ignore[attr-defined]
    name = secrets.provider_secret_name(tenant, "parasut")
    return OAuthTokens("parasut", context, name, ENDPOINT, client, memo=TokenMemo()), secrets, client


def store_secret(services: Any, tenant: str, value: dict[str, Any]) -> str:
    name = services.secrets.provider_secret_name(tenant, "parasut")
    services.secrets.put(name, json.dumps(value))
    return name


def signed_in(fake: Fake) -> dict[str, Any]:
    """Credentials plus tokens from a password grant, the access token already past its expiry."""
    credentials = fake.credentials()
    answer = httpx.post(
        f"{fake.url}/oauth/token",  # type: ignore[attr-defined]
        data={"grant_type": "password", "redirect_uri": "urn:ietf:wg:oauth:2.0:oob", **credentials},
    ).json()
    return {**credentials, **answer, "expires_at": time.time() - 1}


def works(fake: Fake, token: str) -> bool:
    response = httpx.get(
        f"{fake.url}/v4/{fake.company_id}/contacts",  # type: ignore[attr-defined]
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code == 200


def test_two_workers_refreshing_at_once_refresh_once(services: Any, fake: Fake, tenant: str) -> None:
    """GIVEN an expired access token WHEN a second worker needs a token while the first is refreshing
    THEN the refresh token is used once, both end with the same working token, and the rotated refresh token is
    the one stored (the old one is spent at Paraşüt)."""
    before = signed_in(fake)
    name = store_secret(services, tenant, before)
    fake.token_delay = 0.6  # the first refresh is still in flight when the second worker asks
    results: dict[str, str] = {}

    def run(label: str, delay: float) -> None:
        time.sleep(delay)
        tokens, _, _ = worker(services, fake, tenant)
        results[label] = tokens.access_token()

    threads = [threading.Thread(target=run, args=("a", 0.0)), threading.Thread(target=run, args=("b", 0.2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert fake.grants == ["password", "refresh_token"]
    assert results["a"] == results["b"]
    assert works(fake, results["a"])
    stored = json.loads(services.secrets.get(name, fresh=True))
    assert stored["access_token"] == results["a"]
    assert stored["refresh_token"] != before["refresh_token"]
    assert fake.refresh_tokens[stored["refresh_token"]] is True
    assert fake.refresh_tokens[before["refresh_token"]] is False
    assert stored["client_secret"] == before["client_secret"]  # the rest of the secret is kept


def test_a_refused_refresh_token_falls_back_to_the_password_grant(services: Any, fake: Fake, tenant: str) -> None:
    name = store_secret(services, tenant, {**fake.credentials(), "refresh_token": "spent-long-ago"})
    tokens, _, _ = worker(services, fake, tenant)

    token = tokens.access_token()

    assert fake.grants == ["password"]
    assert works(fake, token)
    stored = json.loads(services.secrets.get(name, fresh=True))
    assert fake.refresh_tokens[stored["refresh_token"]] is True
    assert stored["expires_at"] > time.time() + 7000


def test_a_refused_refresh_token_without_a_password_needs_the_tenant(services: Any, fake: Fake, tenant: str) -> None:
    credentials = {k: v for k, v in fake.credentials().items() if k not in ("username", "password")}
    store_secret(services, tenant, {**credentials, "refresh_token": "revoked"})
    tokens, _, _ = worker(services, fake, tenant)

    with pytest.raises(PermanentProviderError, match="authorise the application again"):
        tokens.access_token()
    assert fake.grants == []


def test_a_401_with_a_token_we_thought_valid_renews_once_and_sends_again(
    services: Any, fake: Fake, tenant: str
) -> None:
    store_secret(services, tenant, {**signed_in(fake), "expires_at": time.time() + 3600})
    tokens, _, client = worker(services, fake, tenant)
    path = f"/v4/{fake.company_id}/contacts"
    fake.expire_tokens()  # revoked at Paraşüt, still valid by its expiry time

    response = tokens.send(lambda token: client.get(path, headers={"Authorization": f"Bearer {token}"}))

    assert response.status_code == 200
    assert fake.grants == ["password", "refresh_token"]
    assert fake.requests.count(("GET", path)) == 2


def test_a_warm_worker_keeps_its_token_in_memory(services: Any, fake: Fake, tenant: str) -> None:
    store_secret(services, tenant, {**signed_in(fake), "expires_at": time.time() + 3600})
    tokens, secrets, _ = worker(services, fake, tenant)

    first = tokens.access_token()
    reads = secrets.reads
    assert tokens.access_token() == first
    assert secrets.reads == reads  # no second look at Secrets Manager
    assert fake.grants == ["password"]  # and no refresh
