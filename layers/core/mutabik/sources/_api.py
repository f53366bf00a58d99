"""A sender's API, for what its deliveries do not carry.

Some senders notify without amounts: Amazon's ORDER_CHANGE names an order and its status, Etsy's `order.paid`
names a receipt, an iyzico notification may name only the payment, a Stripe refund only its PaymentIntent.
The webhook never calls out (it answers in milliseconds and holds no API credentials); the mapper does, through
a sender module's `complete` (sources/base.py), with a `SenderApi` for the tenant.

The plumbing is the providers' (`providers/_http.py`, `providers/_oauth.py`): a sender's API fails the same ways
a provider's does, and the mapper reads the same two errors — RetryableProviderError (the message comes back
later; after the ingest queue's receives it is in the DLQ with the reason) and PermanentProviderError (straight
to the DLQ with the reason, replayable once the tenant has fixed what it says).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from mutabik.providers._http import new_client
from mutabik.providers.base import ProviderContext
from mutabik.providers.exceptions import PermanentProviderError
from mutabik.store.blobs import BlobStore
from mutabik.store.cache import ScopedCache
from mutabik.store.exceptions import SecretNotFoundError
from mutabik.store.secrets import SecretStore
from mutabik.store.tenants import ProviderSettings, SourceSettings, TenantConfig

__all__ = ["SenderApi"]

#: httpx clients by (base URL, timeout), for the life of the container (SenderApi.client).
_CLIENTS: dict[tuple[str, float], httpx.Client] = {}
_CLIENTS_GUARD = threading.Lock()


@dataclass(frozen=True)
class SenderApi:
    """One tenant's access to one sender's API: where (`settings.api_url`, `settings.options`), with what
    (a JSON secret at `secret_name`), and a cache scoped to the tenant and sender (tokens, leases, lookups)."""

    tenant: TenantConfig
    source: str
    settings: SourceSettings
    secrets: SecretStore
    blobs: BlobStore
    cache: ScopedCache | None = None
    timeout_seconds: float = 10.0

    @property
    def secret_name(self) -> str:
        return self.secrets.sender_api_secret_name(self.tenant.tenant, self.source)

    def credentials(self, *required: str, fresh: bool = False) -> dict[str, Any]:
        """The tenant's API credentials for this sender. PermanentProviderError names the secret or the missing
        keys (never a value): the tenant has to store them before the delivery is replayed."""
        try:
            value = json.loads(self.secrets.get(self.secret_name, fresh=fresh))
        except SecretNotFoundError as exc:
            raise PermanentProviderError(
                f"{self.source} API credentials are not set up: store them in Secrets Manager as {self.secret_name}",
                provider=self.source,
            ) from exc
        except ValueError as exc:
            raise PermanentProviderError(
                f"secret {self.secret_name} is not a JSON object", provider=self.source
            ) from exc
        if not isinstance(value, dict):
            raise PermanentProviderError(f"secret {self.secret_name} is not a JSON object", provider=self.source)
        missing = [key for key in required if not value.get(key)]
        if missing:
            raise PermanentProviderError(f"secret {self.secret_name} lacks {', '.join(missing)}", provider=self.source)
        return value

    def provider_context(self) -> ProviderContext:
        """The same access, in the shape the shared HTTP and OAuth plumbing takes."""
        return ProviderContext(
            tenant=self.tenant,
            settings=ProviderSettings(base_url=self.settings.api_url, options=self.settings.options),
            secrets=self.secrets,
            blobs=self.blobs,
            cache=self.cache,
            timeout_seconds=self.timeout_seconds,
        )

    def client(self, *, default_url: str) -> httpx.Client:
        """The container's httpx client for the tenant's API URL for this sender, or `default_url` (production).

        Shared by every delivery the warm mapper completes against that URL: a client costs its TLS context
        (tens of ms). httpx clients are thread-safe; callers pass credentials per request and never close it.
        """
        key = (self.settings.api_url or default_url, self.timeout_seconds)
        with _CLIENTS_GUARD:
            client = _CLIENTS.get(key)
            if client is None or client.is_closed:
                client = _CLIENTS[key] = new_client(self.provider_context(), default_url=default_url)
            return client

    def option(self, name: str, default: str = "") -> str:
        return self.settings.options.get(name, default)
