"""The payload bucket: raw bodies too large for a message, exported documents, reconciliation reports."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mutabik.store import clients

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["BlobStore"]


class BlobStore:
    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> S3Client:
        return self._client or clients.s3()

    def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption="AES256"
        )
        return key

    def put_json(self, key: str, value: Any) -> str:
        body = json.dumps(value, ensure_ascii=False, indent=2, default=str).encode()
        return self.put(key, body, "application/json")

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True
