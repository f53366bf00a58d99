"""boto3 clients, made on first use and shared: no client is built at import time (cold starts)."""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

__all__ = ["dynamodb", "reset", "s3", "secretsmanager", "sqs", "stepfunctions"]


_creating = threading.Lock()


@cache
def _client(service: str) -> Any:
    # boto3's default session is not thread-safe while it builds a client (the local runtime uses threads).
    with _creating:
        import boto3
        from botocore.config import Config

        # Standard retry mode backs off on throttling; endpoint and region come from the environment
        # (AWS_ENDPOINT_URL points every client at moto in the local runtime).
        return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 5}))  # type: ignore[call-overload]


def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


def sqs() -> SQSClient:
    return _client("sqs")  # type: ignore[no-any-return]


def s3() -> S3Client:
    return _client("s3")  # type: ignore[no-any-return]


def stepfunctions() -> SFNClient:
    return _client("stepfunctions")  # type: ignore[no-any-return]


def secretsmanager() -> SecretsManagerClient:
    return _client("secretsmanager")  # type: ignore[no-any-return]


def reset() -> None:
    """Forget cached clients (the local runtime and tests change endpoints between runs)."""
    _client.cache_clear()
