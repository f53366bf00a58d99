"""e-Fatura or e-Arşiv: which profile an invoice goes under, decided per buyer from GİB's registered-user list.

A buyer registered for e-Fatura (a VKN, or a TCKN of a sole trader, on GİB's user list) must receive an
e-Fatura (TEMELFATURA or TICARIFATURA); everyone else an e-Arşiv invoice (EARSIVFATURA) — VUK Genel Tebliği
509, section V. The provider answers the lookup from its copy of the list (Capability.USER_LIST); the answer is
kept in the table for `ttl`, because the list changes slowly and a lookup is a network call per invoice.

A guess can be stale (a buyer registered this morning). The provider then refuses with WrongProfileError;
`learn` records what the refusal taught us and the pusher re-issues under the other profile, same key.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from mutabik.model.document import Document, DocumentType
from mutabik.providers.base import (
    EARSIV,
    Capability,
    Provider,
    RegisteredUser,
    efatura_profile,
    never_registered,
    return_profile,
)
from mutabik.store.cache import Cache

__all__ = ["ProfileChooser", "buyer_tax_id"]

_NAMESPACE = "gib-users"


def buyer_tax_id(document: Document, invoice: Document | None) -> str:
    """The VKN/TCKN the invoice is addressed to: the order's buyer, or for a return the original's buyer."""
    source = invoice if document.type is not DocumentType.SALES_INVOICE and invoice is not None else document
    buyer: dict[str, Any] = source.payload.get("order", {}).get("buyer", {})
    return str(buyer.get("tax_id") or "")


class ProfileChooser:
    """Chooses and remembers. `efatura_profile` is the tenant's e-Fatura profile for this provider."""

    def __init__(self, cache: Cache, ttl: timedelta = timedelta(hours=24)) -> None:
        self.cache = cache
        self.ttl = ttl

    def choose(self, document: Document, invoice: Document | None, provider: Provider) -> str:
        """The profile for a document that has none yet; "" where the provider decides for itself."""
        if document.profile or not provider.supports(Capability.USER_LIST):
            return document.profile
        if document.type is DocumentType.RETURN_INVOICE and invoice is not None and invoice.profile:
            return return_profile(invoice.profile)
        if document.type not in (DocumentType.SALES_INVOICE, DocumentType.RETURN_INVOICE):
            return ""
        tax_id = buyer_tax_id(document, invoice)
        if never_registered(tax_id) or not self.lookup(tax_id, provider).registered:
            return EARSIV
        return self._efatura(document, provider)

    def lookup(self, tax_id: str, provider: Provider) -> RegisteredUser:
        cached = self.cache.get(_NAMESPACE, tax_id)
        if cached is not None:
            return RegisteredUser(**{**cached, "aliases": tuple(cached.get("aliases", ()))})
        user = provider.registered_user(tax_id)
        self.cache.put(_NAMESPACE, tax_id, asdict(user), self.ttl)
        return user

    def learn(self, document: Document, invoice: Document | None, provider: Provider, *, registered: bool) -> str:
        """What a WrongProfileError taught: remember it, and give the profile to re-issue under."""
        tax_id = buyer_tax_id(document, invoice)
        if tax_id:
            self.cache.put(_NAMESPACE, tax_id, asdict(RegisteredUser(tax_id, registered)), self.ttl)
        return self._efatura(document, provider) if registered else EARSIV

    @staticmethod
    def _efatura(document: Document, provider: Provider) -> str:
        if document.type is DocumentType.RETURN_INVOICE:
            return return_profile("TEMELFATURA")
        return efatura_profile(provider.context.settings)
