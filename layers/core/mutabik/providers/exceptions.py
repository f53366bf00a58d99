"""What can go wrong at a provider, sorted by what the pusher does next.

ProviderError
├── RetryableProviderError   timeouts, 429, 5xx: try again later (`retry_after` seconds if the provider says)
├── PermanentProviderError   the provider refuses the document (validation): REJECTED with its words
│   └── WrongProfileError    refused because the buyer is (or is not) an e-Fatura user: re-issue once under
│                            the other profile, same key, same ETTN, same number
└── UnsupportedOperationError the adapter cannot do this; the mapper should never have asked
"""

from __future__ import annotations

__all__ = [
    "PermanentProviderError",
    "ProviderError",
    "RetryableProviderError",
    "UnknownProviderError",
    "UnsupportedOperationError",
    "WrongProfileError",
]


class ProviderError(Exception):
    def __init__(self, message: str, *, provider: str = "", status_code: int | None = None) -> None:
        self.provider = provider
        self.status_code = status_code
        super().__init__(message)


class RetryableProviderError(ProviderError):
    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status_code=status_code)
        self.retry_after = retry_after


class PermanentProviderError(ProviderError):
    pass


class WrongProfileError(PermanentProviderError):
    """The provider refused the document for its profile: an e-Arşiv invoice to a registered e-Fatura user, or
    an e-Fatura to someone who is not one. `registered` is what the refusal tells us about the buyer."""

    def __init__(self, message: str, *, registered: bool, provider: str = "", status_code: int | None = None) -> None:
        super().__init__(message, provider=provider, status_code=status_code)
        self.registered = registered


class UnsupportedOperationError(ProviderError):
    pass


class UnknownProviderError(ProviderError):
    pass
