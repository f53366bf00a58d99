"""OAuth2 access tokens for providers whose refresh token rotates (Paraşüt, Xero, QuickBooks Online).

A rotating refresh token can be used once: the answer carries the next one, and the old one is refused from
then on (Doorkeeper's `invalid_grant`). Two pushers that refresh at the same moment would each spend the same
token, and the one that writes last would store a token the provider has already replaced — the next refresh
fails, and the tenant's integration stops. So:

- The tokens live in the tenant's provider secret (JSON, next to client id/secret and, where the provider has
  a password grant, username/password) and are written back to Secrets Manager after every refresh.
- Refreshing takes a lease in the table cache (`claim("oauth", "refresh")`). The holder re-reads the secret
  fresh — someone may have refreshed while it waited — refreshes, writes the new tokens back, releases.
  Everyone else polls the secret (short sleeps, bounded) until the new access token is there.
- A refresh token the provider refuses (`invalid_grant`: revoked, or lost in a failed write) falls back to
  the password grant when the secret has username/password; otherwise the tenant must authorise again.
- A warm container keeps its access token in memory until shortly before it expires; an API call that gets
  401 with a token we thought valid refreshes once and is sent once more.

Secret keys read and written: `client_id`, `client_secret`, `username`, `password` (optional),
`access_token`, `refresh_token`, `expires_at` (Unix seconds). Other keys (`company_id` …) are kept as they are.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import httpx
from aws_lambda_powertools import Logger

from mutabik.providers._http import classify, request
from mutabik.providers.base import ProviderContext
from mutabik.providers.exceptions import PermanentProviderError, RetryableProviderError

__all__ = ["PROCESS_TOKENS", "OAuthTokens", "Token", "TokenEndpoint", "TokenMemo"]

logger = Logger(child=True)

#: An access token this close to its expiry is treated as expired: a request sent with it may arrive late.
EXPIRY_MARGIN_SECONDS = 120.0
#: Between two looks at the secret while another worker refreshes.
POLL_SECONDS = 0.2
_CACHE_NAMESPACE = "oauth"
_LEASE_NAME = "refresh"


@dataclass(frozen=True)
class TokenEndpoint:
    """Where and how a provider issues tokens. `url` may be relative to the adapter's client base URL."""

    url: str
    #: Sent with the password grant where the provider asks for it (Paraşüt: urn:ietf:wg:oauth:2.0:oob).
    redirect_uri: str = ""
    #: Client credentials in the form body (Paraşüt, Doorkeeper), as HTTP Basic (Xero, Intuit), or only the
    #: client id in the body for a public client that has no secret at the token endpoint (Etsy, PKCE).
    client_auth: Literal["body", "basic", "public"] = "body"


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_at: float  # Unix seconds

    def usable(self, now: float) -> bool:
        return bool(self.access_token) and self.expires_at - EXPIRY_MARGIN_SECONDS > now


@dataclass
class TokenMemo:
    """Access tokens this process holds, by secret name, and one lock per secret so that the threads of one
    process (the local runtime runs several) refresh once between them."""

    _tokens: dict[str, Token] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: str) -> Token | None:
        with self._guard:
            return self._tokens.get(key)

    def put(self, key: str, token: Token) -> None:
        with self._guard:
            self._tokens[key] = token

    def lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


#: The process-wide memo: a warm Lambda container keeps its tokens between invocations.
PROCESS_TOKENS = TokenMemo()


class OAuthTokens:
    """The access token of one tenant at one provider, kept valid. One per adapter instance."""

    def __init__(
        self,
        provider: str,
        context: ProviderContext,
        secret_name: str,
        endpoint: TokenEndpoint,
        client: httpx.Client,
        *,
        memo: TokenMemo = PROCESS_TOKENS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.context = context
        self.secret_name = secret_name
        self.endpoint = endpoint
        self.client = client
        self.memo = memo
        self.clock = clock
        self.sleep = sleep
        # The lease outlives a token request that runs into the client's timeout; a waiter waits that long.
        self.lease = timedelta(seconds=max(30.0, 2 * context.timeout_seconds))
        self.wait_seconds = self.lease.total_seconds() + 5

    # --- what adapters call ----------------------------------------------------------------------------

    def access_token(self) -> str:
        """A token that will still be valid when the request arrives: the memo's, the secret's, or a new one."""
        token = self.memo.get(self.secret_name)
        if token is not None and token.usable(self.clock()):
            return token.access_token
        with self.memo.lock(self.secret_name):
            token = self.memo.get(self.secret_name)
            if token is not None and token.usable(self.clock()):
                return token.access_token  # another thread of this process got one meanwhile
            stored = _token_of(self._secret(fresh=False))
            if stored is not None and stored.usable(self.clock()):
                self.memo.put(self.secret_name, stored)
                return stored.access_token
            return self._renew(stale=stored.access_token if stored else "")

    def send(self, call: Callable[[str], httpx.Response]) -> httpx.Response:
        """`call(access_token)`, and once more with a renewed token if the provider answers 401 to a token we
        thought valid (revoked, or replaced by another worker's refresh). A second 401 is returned as it is."""
        token = self.access_token()
        response = call(token)
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return response
        logger.info("access token refused, renewing", extra={"provider": self.provider})
        with self.memo.lock(self.secret_name):
            renewed = self._renew(stale=token)
        return call(renewed)

    # --- renewal ---------------------------------------------------------------------------------------

    def _renew(self, stale: str) -> str:
        """A token other than `stale`: one another worker stored, or one we get under the lease."""
        remembered = self.memo.get(self.secret_name)
        if remembered is not None and remembered.access_token != stale and remembered.usable(self.clock()):
            return remembered.access_token
        cache = self.context.cache
        if cache is None:  # no table (a one-off CLI call): nobody to coordinate with
            return self._remember(self._grant(self._secret(fresh=True)))
        owner = uuid.uuid4().hex
        deadline = self.clock() + self.wait_seconds
        while True:
            if cache.claim(_CACHE_NAMESPACE, _LEASE_NAME, owner, self.lease):
                try:
                    secret = self._secret(fresh=True)
                    current = _token_of(secret)
                    if current is not None and current.access_token != stale and current.usable(self.clock()):
                        return self._remember(current)  # refreshed while we waited for the lease
                    return self._remember(self._grant(secret))
                finally:
                    cache.release(_CACHE_NAMESPACE, _LEASE_NAME, owner)
            # Another worker holds the lease: its new token shows up in the secret.
            self.sleep(POLL_SECONDS)
            current = _token_of(self._secret(fresh=True))
            if current is not None and current.access_token != stale and current.usable(self.clock()):
                return self._remember(current)
            if self.clock() >= deadline:
                raise RetryableProviderError(
                    f"{self.provider}: another worker has been refreshing the access token for "
                    f"{self.wait_seconds:.0f} s without storing a new one",
                    provider=self.provider,
                    retry_after=5,
                )

    def _remember(self, token: Token) -> str:
        self.memo.put(self.secret_name, token)
        return token.access_token

    def _grant(self, secret: dict[str, Any]) -> Token:
        """Refresh, or (refresh token refused) sign in with the password grant; store what comes back."""
        refresh_token = str(secret.get("refresh_token") or "")
        if refresh_token:
            answer = self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token}, secret)
            if answer is not None:
                logger.info("access token refreshed", extra={"provider": self.provider})
                return self._store(secret, answer)
            logger.warning("refresh token refused, trying the password grant", extra={"provider": self.provider})
        username, password = str(secret.get("username") or ""), str(secret.get("password") or "")
        if not (username and password):
            raise PermanentProviderError(
                f"{self.provider} refused the stored refresh token and {self.secret_name} has no username/password "
                "to sign in again: authorise the application again and store its tokens in the secret",
                provider=self.provider,
            )
        form = {"grant_type": "password", "username": username, "password": password}
        if self.endpoint.redirect_uri:
            form["redirect_uri"] = self.endpoint.redirect_uri
        answer = self._token_request(form, secret)
        if answer is None:
            raise PermanentProviderError(
                f"{self.provider} refused the username/password in {self.secret_name} (invalid_grant)",
                provider=self.provider,
            )
        logger.info("signed in with the password grant", extra={"provider": self.provider})
        return self._store(secret, answer)

    def _token_request(self, form: dict[str, str], secret: dict[str, Any]) -> dict[str, Any] | None:
        """The token endpoint's answer, or None when it refuses the grant (`invalid_grant`, RFC 6749 §5.2)."""
        client_id, client_secret = str(secret.get("client_id") or ""), str(secret.get("client_secret") or "")
        public = self.endpoint.client_auth == "public"
        if not (client_id and (client_secret or public)):
            needed = "client_id" if public else "client_id and client_secret"
            raise PermanentProviderError(f"{self.secret_name} needs {needed}", provider=self.provider)
        auth: httpx.BasicAuth | None = None
        if self.endpoint.client_auth == "basic":
            auth = httpx.BasicAuth(client_id, client_secret)
        elif public:
            form = {**form, "client_id": client_id}
        else:
            form = {**form, "client_id": client_id, "client_secret": client_secret}
        response = request(
            self.client,
            self.provider,
            "POST",
            self.endpoint.url,
            data=form,
            headers={"Accept": "application/json"},
            **({"auth": auth} if auth else {}),
        )
        if response.status_code in (400, 401) and _oauth_error(response) == "invalid_grant":
            return None
        classify(response, self.provider, _describe)
        try:
            answer: dict[str, Any] = response.json()
        except ValueError as exc:
            raise RetryableProviderError(
                f"{self.provider} answered its token endpoint with something other than JSON", provider=self.provider
            ) from exc
        if not answer.get("access_token"):
            raise RetryableProviderError(f"{self.provider} issued no access_token", provider=self.provider)
        return answer

    def _store(self, secret: dict[str, Any], answer: dict[str, Any]) -> Token:
        """Write the new tokens back before anyone uses them: the old refresh token is spent already."""
        token = Token(str(answer["access_token"]), self.clock() + float(answer.get("expires_in") or 3600))
        updated = {
            **secret,
            "access_token": token.access_token,
            # A provider that does not rotate sends no new refresh token: keep the one we have.
            "refresh_token": str(answer.get("refresh_token") or secret.get("refresh_token") or ""),
            "expires_at": token.expires_at,
        }
        self.context.secrets.put(self.secret_name, json.dumps(updated))
        return token

    def _secret(self, *, fresh: bool) -> dict[str, Any]:
        from mutabik.store.exceptions import SecretNotFoundError

        try:
            value = json.loads(self.context.secrets.get(self.secret_name, fresh=fresh))
        except (SecretNotFoundError, ValueError) as exc:
            raise PermanentProviderError(
                f"no readable credentials in {self.secret_name}: store a JSON object there", provider=self.provider
            ) from exc
        if not isinstance(value, dict):
            raise PermanentProviderError(f"{self.secret_name} must hold a JSON object", provider=self.provider)
        return value


def _token_of(secret: dict[str, Any]) -> Token | None:
    access = str(secret.get("access_token") or "")
    if not access:
        return None
    try:
        expires_at = float(secret.get("expires_at") or 0)  # unknown expiry: renew rather than guess
    except (TypeError, ValueError):
        expires_at = 0.0
    return Token(access, expires_at)


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error") or "") if isinstance(body, dict) else ""


def _describe(response: httpx.Response) -> str:
    """The token endpoint's own words (RFC 6749 §5.2 `error` and `error_description`), never the form we sent."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and body.get("error"):
        return f"{body['error']}: {body.get('error_description') or ''}".strip(": ")
    return str(body)[:300]
