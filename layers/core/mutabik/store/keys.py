"""Every key format of the table and of Secrets Manager, in one place: change a format here and only here."""

from __future__ import annotations

import re
from datetime import date

from mutabik.model.document import DocumentType

__all__ = [
    "SEP",
    "account_namespace",
    "cache_key",
    "counter_key",
    "day_index",
    "delivery_key",
    "document_item_key",
    "document_key",
    "parse_document_key",
    "provider_secret_name",
    "source_secret_name",
    "tenant_key",
]

SEP = "#"
_SAFE = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,200}$")


def _part(name: str, value: str) -> str:
    # A separator inside a part would make two different documents share a key; refuse it loudly.
    if not _SAFE.match(value):
        raise ValueError(f"{name} {value!r} must be 1–200 of A–Z a–z 0–9 . _ : @ / + = -")
    return value


def document_key(tenant: str, provider: str, doc_type: DocumentType | str, source_ref: str) -> str:
    """`tenant#provider#document type#source reference`: one key, one document, forever (DESIGN rule 1)."""
    return SEP.join(
        (
            _part("tenant", tenant),
            _part("provider", provider),
            _part("document type", str(doc_type)),
            _part("source reference", source_ref),
        )
    )


def parse_document_key(key: str) -> tuple[str, str, DocumentType, str]:
    tenant, provider, doc_type, source_ref = key.split(SEP, 3)
    return tenant, provider, DocumentType(doc_type), source_ref


# Table items: pk / sk. The prefixes keep item kinds apart in the single table.
def document_item_key(key: str) -> dict[str, str]:
    return {"pk": f"DOC{SEP}{key}", "sk": "DOC"}


def delivery_key(tenant: str, source: str, delivery_id: str) -> dict[str, str]:
    return {"pk": SEP.join(("DELIVERY", tenant, source, delivery_id)), "sk": "DELIVERY"}


def tenant_key(tenant: str) -> dict[str, str]:
    return {"pk": f"TENANT{SEP}{_part('tenant', tenant)}", "sk": "CONFIG"}


def counter_key(tenant: str, series: str, year: int) -> dict[str, str]:
    """The invoice-number counter of one tenant, series (3 characters) and year."""
    return {"pk": SEP.join(("COUNTER", tenant, series, str(year))), "sk": "COUNTER"}


def cache_key(namespace: str, ident: str) -> dict[str, str]:
    """Short-lived lookups (e.g. GİB registered-user answers), kept with a TTL."""
    return {"pk": SEP.join(("CACHE", namespace, ident)), "sk": "CACHE"}


def account_namespace(source: str) -> str:
    """Cache namespace routing a queue sender's account (Amazon's SellerId) to its tenant."""
    return f"accounts/{source}"


def day_index(tenant: str, day: date) -> str:
    """Partition of the `by_day` index: everything of one tenant on one UTC day (reconciliation reads it)."""
    return SEP.join(("TENANT", tenant, "DAY", day.isoformat()))


def source_secret_name(prefix: str, tenant: str, source: str) -> str:
    """The secret a sender signs with (webhook HMAC key, basic-auth pair …)."""
    return f"{prefix}/{_part('tenant', tenant)}/sources/{_part('source', source)}"


def sender_api_secret_name(prefix: str, tenant: str, source: str) -> str:
    """A sender's API credentials for a tenant (SP-API LWA client, Etsy OAuth tokens, iyzico keys …), read by
    the mapper to complete deliveries that carry no amounts. Apart from `source_secret_name` so the webhook,
    which only verifies signatures, can never read them."""
    return f"{prefix}/{_part('tenant', tenant)}/sender-apis/{_part('source', source)}"


def provider_secret_name(prefix: str, tenant: str, provider: str) -> str:
    """A provider's credentials for a tenant (OAuth client, user and password, refresh token …)."""
    return f"{prefix}/{_part('tenant', tenant)}/providers/{_part('provider', provider)}"
