"""HTTP plumbing every HTTP adapter shares: one httpx client per adapter, and one reading of what a failed
response means for the pusher (retry later, or refuse the document with the provider's words)."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from mutabik.providers.base import ProviderContext
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError

__all__ = ["classify", "new_client", "request", "retry_after"]

#: Statuses that say "not now" rather than "not this": the request may be sent again unchanged.
_RETRYABLE = frozenset({408, 409, 423, 425, 429, 500, 502, 503, 504})


def new_client(context: ProviderContext, *, default_url: str, **kwargs: Any) -> httpx.Client:
    """A client on the tenant's base URL (sandbox, production or a test fake), with the context's timeout.
    Redirects are not followed: a provider that redirects an API call is misconfigured, and saying so is better
    than re-sending a POST somewhere else."""
    base_url = context.settings.base_url or default_url
    timeout = httpx.Timeout(context.timeout_seconds, connect=min(5.0, context.timeout_seconds))
    return httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False, **kwargs)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the provider asks us to wait (Retry-After as seconds or an HTTP date), if it says."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def classify(response: httpx.Response, provider: str, describe: Callable[[httpx.Response], str]) -> None:
    """Raise for a failed response: Retryable for 408/409/423/425/429/5xx, Permanent for other 4xx.
    `describe` turns the body into the provider's own words (they end up in the document's `error`)."""
    if response.is_success:
        return
    words = describe(response) or response.reason_phrase
    message = f"{provider} answered {response.status_code}: {words}"[:4000]
    if response.status_code in _RETRYABLE:
        raise RetryableProviderError(
            message, provider=provider, status_code=response.status_code, retry_after=retry_after(response)
        )
    raise PermanentProviderError(message, provider=provider, status_code=response.status_code)


def request(client: httpx.Client, provider: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send, turning network failures into RetryableProviderError. A timeout after the request left does not
    say whether the provider acted on it: the pusher asks `find` before sending again."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        message = f"{provider} did not answer in time ({type(exc).__name__})"
        raise RetryableProviderError(message, provider=provider) from exc
    except httpx.TransportError as exc:
        message = f"{provider} could not be reached ({type(exc).__name__})"
        raise RetryableProviderError(message, provider=provider) from exc
