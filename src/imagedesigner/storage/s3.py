"""Blobs as objects in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, ...), so several
stateless instances share one image store.

boto3 is synchronous; every call runs in a worker thread through ``asyncio.to_thread`` on one
client per store (boto3 clients are thread-safe). Objects are written as opaque
``application/octet-stream`` with no user metadata: nothing derived from user content goes into
a header, and keys are ours (``<prefix><unix-ms>-<hex>``). Keys and bodies are never logged.

The bucket must not keep deleted objects: with versioning Enabled a DELETE only adds a delete
marker and the image survives as a noncurrent version. ``check()`` warns once when it sees that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from imagedesigner.storage.base import KEY_PATTERN

if TYPE_CHECKING:
    from imagedesigner.config import Settings

log = logging.getLogger("imagedesigner.storage.s3")

_MISSING = {"NoSuchKey", "404", "NotFound"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3BlobStore:
    """The ``BlobStore`` protocol on S3.

    There is no ``clean_partial_writes``: a PutObject is atomic (the object appears whole or
    not at all, and an interrupted upload leaves nothing readable or listable), so unlike the
    local folder there are no temp files for the sweeper to clean up.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "blobs/",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        force_path_style: bool = False,
        sse: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 3,
    ) -> None:
        if not bucket:
            raise ValueError("S3 blob store: a bucket name is required")
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.sse = sse or None
        self._warned_versioning = False
        self.page_size = 1000  # ListObjectsV2's maximum
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            s3={"addressing_style": "path" if force_path_style else "auto"},
            max_pool_connections=32,  # asyncio's default thread pool holds at most 32
        )
        # A session of its own: boto3's default session is shared module state, not thread-safe.
        # Credentials left as None fall back to the standard AWS chain (env, config files, roles).
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=config,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        if not settings.s3_bucket:
            raise ValueError(
                "IMAGEDESIGNER_BLOB_BACKEND=s3 needs IMAGEDESIGNER_S3_BUCKET (the bucket's name)"
            )
        key_id = settings.s3_access_key_id
        secret = settings.s3_secret_access_key
        if (key_id is None) != (secret is None):
            raise ValueError(
                "set both IMAGEDESIGNER_S3_ACCESS_KEY_ID and IMAGEDESIGNER_S3_SECRET_ACCESS_KEY, "
                "or neither (then the standard AWS credential chain is used)"
            )
        return cls(
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=key_id.get_secret_value() if key_id else None,
            secret_access_key=secret.get_secret_value() if secret else None,
            force_path_style=settings.s3_force_path_style,
            sse=settings.s3_sse,
        )

    def _name(self, key: str) -> str:
        if not KEY_PATTERN.match(key):
            raise ValueError("invalid blob key")
        return self.prefix + key

    # --- BlobStore ------------------------------------------------------------------------
    async def put(self, key: str, data: bytes) -> None:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self._name(key),
            "Body": data,
            "ContentType": "application/octet-stream",
        }
        if self.sse:
            params["ServerSideEncryption"] = self.sse
        await asyncio.to_thread(self._client.put_object, **params)

    def _get(self, name: str) -> bytes | None:
        try:
            resp = self._client.get_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        body = resp["Body"]
        try:
            return body.read()
        finally:
            body.close()

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, self._name(key))

    def _delete(self, name: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:  # S3 itself answers 204; some compatibles say NoSuchKey
            if _code(exc) not in _MISSING:
                raise

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, self._name(key))

    def _page(self, token: str | None) -> tuple[list[str], str | None]:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": self.prefix,
            "MaxKeys": self.page_size,
        }
        if token:
            params["ContinuationToken"] = token
        resp = self._client.list_objects_v2(**params)
        names = [obj["Key"][len(self.prefix) :] for obj in resp.get("Contents", [])]
        return names, resp.get("NextContinuationToken") if resp.get("IsTruncated") else None

    async def keys(self) -> AsyncIterator[str]:
        """Every key of ours under the prefix, one ListObjectsV2 page at a time.
        Objects whose names are not our keys (other tools' files, "folders") are skipped."""
        token: str | None = None
        while True:
            names, token = await asyncio.to_thread(self._page, token)
            for name in names:
                if KEY_PATTERN.match(name):
                    yield name
            if not token:
                return

    def _check(self) -> None:
        self._client.head_bucket(Bucket=self.bucket)
        try:
            status = self._client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except ClientError:  # not allowed to ask (IAM) or not supported: not a readiness failure
            return
        if status == "Enabled" and not self._warned_versioning:
            self._warned_versioning = True
            log.warning(
                "S3 bucket %r has versioning enabled: deleted images survive as noncurrent "
                "versions past the content TTL. Turn versioning off, or add a lifecycle rule "
                "that expires noncurrent versions within the content TTL.",
                self.bucket,
            )

    async def check(self) -> None:
        """Readiness: the bucket exists and our credentials reach it (HeadBucket)."""
        await asyncio.to_thread(self._check)

    async def aclose(self) -> None:
        """Close the client's connection pool (``Container.aclose`` calls this)."""
        await asyncio.to_thread(self._client.close)
