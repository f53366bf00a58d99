"""Destinations: one module per accounting or e-document provider, each a `Provider`.

A new provider is one new module here that defines a subclass with its `name`; nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache

from mutabik.model.document import Document, DocumentStatus, DocumentType
from mutabik.providers.base import CAPABILITY_FOR, Capability, Provider
from mutabik.providers.exceptions import UnknownProviderError

__all__ = ["available_providers", "document_types", "is_settled", "provider_class"]

_NOT_PROVIDERS = frozenset({"base", "exceptions"})
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@cache
def available_providers() -> frozenset[str]:
    # Modules named `_…` are shared plumbing (HTTP, OAuth, SOAP), not providers.
    return frozenset(
        m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_PROVIDERS and not m.name.startswith("_")
    )


@cache
def provider_class(name: str) -> type[Provider]:
    if not _NAME.match(name) or name not in available_providers():
        raise UnknownProviderError(f"unknown provider {name[:40]!r}")
    module = importlib.import_module(f"{__name__}.{name}")
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Provider) and getattr(value, "name", "") == name:
            return value
    raise UnknownProviderError(f"provider module {name!r} defines no Provider named {name!r}")


def document_types(name: str) -> frozenset[DocumentType]:
    """The document types a provider declares it can issue: what a tenant may route to it."""
    capabilities = provider_class(name).capabilities
    return frozenset(t for t in DocumentType if CAPABILITY_FOR[t] in capabilities)


def is_settled(document: Document) -> bool:
    """Whether nothing more will happen to the document: a final status, or SUBMITTED at a provider that
    gives no later verdict (the export provider, for one)."""
    if document.status.is_final:
        return True
    return document.status is DocumentStatus.SUBMITTED and (
        Capability.STATUS not in provider_class(document.provider).capabilities
    )
