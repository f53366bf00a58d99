"""Senders: one module per marketplace, shop or payment provider, each a `WebhookSource`.

A new sender is one new module here that defines a subclass with its `name`; nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache

from mutabik.sources.base import WebhookSource
from mutabik.sources.exceptions import UnknownSourceError

__all__ = ["available_sources", "get_source"]

_NOT_SENDERS = frozenset({"base", "exceptions"})
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@cache
def available_sources() -> frozenset[str]:
    # Modules starting with `_` are helpers shared by senders, not senders.
    modules = pkgutil.iter_modules(__path__)
    return frozenset(m.name for m in modules if m.name not in _NOT_SENDERS and not m.name.startswith("_"))


@cache
def get_source(name: str) -> WebhookSource:
    """The sender module for a URL's `{source}`; UnknownSourceError (404) for anything else.

    The name is checked against the modules that exist before anything is imported, so a URL can never
    make us import an arbitrary module.
    """
    if not _NAME.match(name) or name not in available_sources():
        raise UnknownSourceError(f"unknown source {name[:40]!r}")
    module = importlib.import_module(f"{__name__}.{name}")
    for value in vars(module).values():
        if not (isinstance(value, type) and issubclass(value, WebhookSource)):
            continue
        if getattr(value, "name", "") == name:
            return value()
    raise UnknownSourceError(f"source module {name!r} defines no WebhookSource named {name!r}")
