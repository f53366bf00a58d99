"""Credentials and webhook secrets in Secrets Manager, read through Powertools' cached parameters utility."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mutabik.store import clients, keys
from mutabik.store.exceptions import SecretNotFoundError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

__all__ = ["SecretStore"]


class SecretStore:
    """A tenant's secrets. Values are cached for `max_age` seconds per container: a rotated webhook secret
    takes effect within that time; providers that rotate tokens write back with `put` and refresh the cache."""

    def __init__(self, prefix: str = "mutabik", max_age: int = 300) -> None:
        self.prefix = prefix
        self.max_age = max_age
        self._provider: SecretsProvider | None = None

    @property
    def provider(self) -> SecretsProvider:
        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            self._provider = SecretsProvider(boto3_client=clients.secretsmanager())
        return self._provider

    def get(self, name: str, *, fresh: bool = False) -> str:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            value = self.provider.get(name, max_age=self.max_age, force_fetch=fresh)
        except GetParameterError as exc:
            # Say which secret, never its value.
            raise SecretNotFoundError(f"secret {name} is not readable") from exc
        return str(value)

    def put(self, name: str, value: str) -> None:
        """Write a new value (creating the secret on first use), and drop the cached one."""
        client = clients.secretsmanager()
        try:
            client.put_secret_value(SecretId=name, SecretString=value)
        except client.exceptions.ResourceNotFoundException:
            client.create_secret(Name=name, SecretString=value)
        self.provider.clear_cache()  # type: ignore[no-untyped-call]

    def source_secret(self, tenant: str, source: str) -> str:
        return self.get(keys.source_secret_name(self.prefix, tenant, source))

    def sender_api_secret_name(self, tenant: str, source: str) -> str:
        return keys.sender_api_secret_name(self.prefix, tenant, source)

    def provider_secret_name(self, tenant: str, provider: str) -> str:
        return keys.provider_secret_name(self.prefix, tenant, provider)
