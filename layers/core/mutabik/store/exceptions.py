"""Errors of the stores, each a domain fact rather than a boto3 error code.

StoreError
├── StaleDocumentError     a conditional write lost: someone moved the document first
├── TenantNotFoundError    no configuration for this tenant
└── SecretNotFoundError    no secret under that name
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mutabik.model.document import Document

__all__ = ["SecretNotFoundError", "StaleDocumentError", "StoreError", "TenantNotFoundError"]


class StoreError(Exception):
    pass


class StaleDocumentError(StoreError):
    """The document was not in the state (status, version) the write expected; `current` is what is there."""

    def __init__(self, key: str, current: Document | None) -> None:
        self.key = key
        self.current = current
        state = f"{current.status} v{current.version}" if current else "absent"
        super().__init__(f"document {key} changed under us (now {state})")


class TenantNotFoundError(StoreError):
    pass


class SecretNotFoundError(StoreError):
    pass
