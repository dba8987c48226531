"""S3-compatible object storage (AWS, MinIO, Ceph…) for scale-out deployments.

Every put sends a SHA-256 checksum, so the service refuses bytes that arrive altered; objects are private
(no public ACL, never presigned for the browser: images are served through authorized views).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

from tracker.storage import Entry, ObjectMissing, StorageError, StoredObject, check_key, describe


class S3Storage:
    def __init__(self, bucket: str, *, client: Any | None = None, endpoint_url: str | None = None,
                 region: str = "us-east-1", prefix: str = "") -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region)

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes) -> StoredObject:
        from botocore.exceptions import BotoCoreError, ClientError

        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ChecksumSHA256=checksum,
                                   ContentType="application/octet-stream")
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(5, f"could not store {key}: {exc}") from exc
        return describe(key, data)

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read()  # type: ignore[no-any-return]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise ObjectMissing(key) from None
            raise StorageError(5, f"could not read {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(5, f"could not read {key}: {exc}") from exc

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(5, f"could not delete {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError:
            return False

    def entries(self, prefix: str = "") -> Iterator[Entry]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                yield Entry(item["Key"][len(self.prefix):], int(item["Size"]), item["LastModified"])
