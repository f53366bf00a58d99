"""The ports the pipeline works through, wired from the function's environment (names in DESIGN.md)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from mutabik.store.blobs import BlobStore
from mutabik.store.cache import Cache
from mutabik.store.counters import InvoiceCounters
from mutabik.store.deliveries import DeliveryLog
from mutabik.store.documents import DocumentLedger
from mutabik.store.queues import Queue
from mutabik.store.secrets import SecretStore
from mutabik.store.tenants import SourceSettings, TenantConfig, TenantDirectory

if TYPE_CHECKING:
    from mutabik.sources._api import SenderApi

__all__ = ["Services", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """Everything the pipeline touches. Built once per container; clients are made on first use."""

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Callable[[], datetime] = utcnow

    def _require(self, name: str) -> str:
        value = self.env.get(name)
        if not value:
            raise RuntimeError(f"environment variable {name} is not set (see DESIGN.md, 'Environment')")
        return value

    @cached_property
    def documents(self) -> DocumentLedger:
        return DocumentLedger(self._require("TABLE_NAME"))

    @cached_property
    def deliveries(self) -> DeliveryLog:
        return DeliveryLog(self._require("TABLE_NAME"))

    @cached_property
    def tenants(self) -> TenantDirectory:
        return TenantDirectory(self._require("TABLE_NAME"))

    @cached_property
    def counters(self) -> InvoiceCounters:
        return InvoiceCounters(self._require("TABLE_NAME"))

    @cached_property
    def cache(self) -> Cache:
        return Cache(self._require("TABLE_NAME"), clock=self.clock)

    @cached_property
    def secrets(self) -> SecretStore:
        return SecretStore(
            prefix=self.env.get("SECRETS_PREFIX", "mutabik"),
            max_age=int(self.env.get("SECRETS_MAX_AGE", "300")),
        )

    @cached_property
    def blobs(self) -> BlobStore:
        return BlobStore(self._require("PAYLOAD_BUCKET"))

    @cached_property
    def ingest_queue(self) -> Queue:
        return Queue(self._require("INGEST_QUEUE_URL"))

    @cached_property
    def ingest_dlq(self) -> Queue:
        return Queue(self._require("INGEST_DLQ_URL"))

    @cached_property
    def push_queue(self) -> Queue:
        return Queue(self._require("PUSH_QUEUE_URL"))

    @cached_property
    def push_dlq(self) -> Queue:
        return Queue(self._require("PUSH_DLQ_URL"))

    def sender_api(self, tenant: TenantConfig, source: str, settings: SourceSettings) -> SenderApi:
        """A tenant's access to a sender's API (sources/_api.py), for deliveries the mapper must complete."""
        from mutabik.sources._api import SenderApi

        return SenderApi(
            tenant=tenant,
            source=source,
            settings=settings,
            secrets=self.secrets,
            blobs=self.blobs,
            cache=self.cache.scoped(tenant.tenant, f"sender-{source}"),
        )

    @property
    def max_follow_ups(self) -> int:
        """How often the pusher asks a provider for a pending verdict before it leaves the document be
        (about 10 days at the 15-minute ceiling)."""
        return int(self.env.get("MAX_FOLLOW_UPS", "1000"))

    @property
    def retry_base_seconds(self) -> float:
        return float(self.env.get("RETRY_BASE_SECONDS", "10"))
