"""Why a delivery was refused. Each error maps to one HTTP answer the sender can act on.

SourceError
├── SignatureError       401: bad or missing signature, wrong secret, stale timestamp
├── PayloadError         422: a body this sender would never send (names the field path)
└── UnknownSourceError   404: no such sender module
"""

from __future__ import annotations

__all__ = ["PayloadError", "SignatureError", "SourceError", "UnknownSourceError"]


class SourceError(Exception):
    status_code = 400


class SignatureError(SourceError):
    """The delivery does not prove it comes from the sender. The message never says which part failed
    beyond what the sender's own docs say, so it cannot be used as an oracle."""

    status_code = 401


class PayloadError(SourceError):
    """A body the sender would never send; `path` names the field (dotted, `line_items.2.price`)."""

    status_code = 422

    def __init__(self, reason: str, path: str = "") -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)


class UnknownSourceError(SourceError):
    status_code = 404
