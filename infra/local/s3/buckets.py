"""The regional buckets behind the MRAP: one moto S3 server per Region, each in a process of its own
(`s3_process`) and the endpoint of that Region, with a versioned bucket holding the replicated samples and a probe
object naming the bucket.

Each Region's process has its own moto backend, as each Region's bucket is separate on AWS. Bucket names are still
distinct per Region (S3 bucket names are global), and the MRAP stand-in sends a Region's requests to that Region's
server and bucket; which bucket answered is in the probe object's body.

moto's server answers unauthenticated requests with 403 (bucket ACLs), so requests to it must carry a SigV4
Authorization header; it does not check the signature itself.

Version ids: moto gives every write its own version id, while S3 replication keeps the source's. Every write goes
through this class, which records it in a `versions.VersionLedger`. `serve()` is the bucket as S3 answers a
reader: S3's checks before the object is looked up and its answers by error code (`s3_reads`), a `versionId`
translated to moto's id on the way in and `x-amz-version-id` back on the way out.
"""
from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote, unquote, urlencode

import boto3
from botocore.config import Config
from botocore.credentials import Credentials

from infra.local.s3.reads import (
    error_headers,
    kept_request_headers,
    reader_answer,
    refusal_before_reading,
    refusal_for_version,
)
from infra.local.s3.versions import VersionLedger
from infra.local.samples import PROBE_KEY, probe_body, sample_objects
from infra.local.wire import HOP_BY_HOP, send, signed_s3_headers

__all__ = ["RegionalBucket", "BucketServers", "BACKEND_CREDENTIALS"]

# Credentials the stand-ins use towards moto (its accounts accept any key); not the function's credentials.
BACKEND_CREDENTIALS = Credentials("AKIAMOTOBACKEND00000", "moto-backend-secret")
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RegionalBucket:
    region: str
    bucket: str
    host: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def virtual_host(self) -> str:
        """The bucket's Regional domain name, as a CloudFront S3 origin names it."""
        return f"{self.bucket}.s3.{self.region}.amazonaws.com"


# Client authentication headers: replaced by the stand-in's own signature towards moto.
_CLIENT_AUTH = ("authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "x-amz-region-set")


class BucketServers:
    def __init__(self, regions: Sequence[str], bucket_prefix: str = "mrap-edge-demo") -> None:
        self.regions = tuple(regions)
        self.bucket_prefix = bucket_prefix
        self.buckets: Dict[str, RegionalBucket] = {}
        self.ledger = VersionLedger()
        self._clients: Dict[str, object] = {}
        self._clients_lock = threading.Lock()
        self._servers: List[subprocess.Popen] = []
        # Fresh names each run, so that no name is ever taken for a bucket of another run.
        self._suffix = secrets.token_hex(3)

    def start(self) -> Dict[str, RegionalBucket]:
        # All processes are started before waiting for any: their imports run side by side.
        starting = [(region, _start_process()) for region in self.regions]
        self._servers += [process for _, process in starting]
        for region, process in starting:
            port = _port_of(process, region)
            bucket = RegionalBucket(region, f"{self.bucket_prefix}-{self._suffix}-{region}", "127.0.0.1", port)
            self.buckets[region] = bucket
            self._create(bucket)
        return self.buckets

    @property
    def pids(self) -> List[int]:
        """The S3 server processes (for CPU accounting)."""
        return [process.pid for process in self._servers]

    def stop(self) -> None:
        for process in self._servers:
            if process.stdin:
                process.stdin.close()  # the server's signal to stop
        for process in self._servers:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._servers.clear()
        self._clients.clear()

    def client(self, region: str):  # -> botocore S3 client for that Region's server (one per Region, thread-safe)
        with self._clients_lock:
            if region not in self._clients:
                self._clients[region] = self._new_client(region)
            return self._clients[region]

    def _new_client(self, region: str):
        bucket = self.buckets[region]
        return boto3.client(
            "s3",
            endpoint_url=bucket.endpoint,
            region_name=region,
            aws_access_key_id=BACKEND_CREDENTIALS.access_key,
            aws_secret_access_key=BACKEND_CREDENTIALS.secret_key,
            config=Config(s3={"addressing_style": "path"}),
        )

    def _create(self, bucket: RegionalBucket) -> None:
        s3 = self.client(bucket.region)
        configuration = {} if bucket.region == "us-east-1" else {"LocationConstraint": bucket.region}
        extra = {"CreateBucketConfiguration": configuration} if configuration else {}
        s3.create_bucket(Bucket=bucket.bucket, **extra)
        s3.put_bucket_versioning(Bucket=bucket.bucket, VersioningConfiguration={"Status": "Enabled"})

    def seed(self, objects: Optional[Mapping[str, bytes]] = None, regions: Optional[Sequence[str]] = None) -> int:
        """Put the samples in the buckets of `regions` (default: every Region; each write gets its own version id,
        as writes made outside replication do) and each bucket's own probe; returns objects written."""
        objects = sample_objects() if objects is None else objects
        written = 0
        for region, bucket in self.buckets.items():
            if regions is None or region in regions:
                for key, body in objects.items():
                    self.put(region, key, body, content_type=_content_type(key))
                    written += 1
            self.put(region, PROBE_KEY, probe_body(bucket.bucket, region), cache_control="no-store",
                     content_type="application/json")
            written += 1
        return written

    def put(self, region: str, key: str, body: bytes, cache_control: Optional[str] = None,
            content_type: Optional[str] = None, version_id: Optional[str] = None,
            replica_of: Optional[str] = None, content_encoding: Optional[str] = None,
            metadata: Optional[Mapping[str, str]] = None, tags: Optional[Mapping[str, str]] = None,
            storage_class: str = "STANDARD", kms_key_id: Optional[str] = None) -> str:
        """Write one object to one Region only (replication is `replication.Replication`); returns its version id
        as S3 shows it: `version_id` when given (a replica keeps its source's), else the one moto gave. An SSE-KMS
        object's key is kept in the ledger only (moto has no KMS of its own here); S3's check of kms:Decrypt is
        the MRAP's and the endpoint's (`access.Access.may_decrypt`)."""
        extra: Dict[str, object] = {"StorageClass": storage_class}
        for name, value in (("CacheControl", cache_control), ("ContentType", content_type),
                            ("ContentEncoding", content_encoding)):
            if value:
                extra[name] = value
        if metadata:
            extra["Metadata"] = dict(metadata)
        if tags:
            extra["Tagging"] = urlencode(dict(tags))
        response = self.client(region).put_object(Bucket=self.buckets[region].bucket, Key=key, Body=body, **extra)
        return self.ledger.record(region, key, version_id, str(response["VersionId"]), replica_of=replica_of,
                                  storage_class=storage_class, kms_key_id=kms_key_id).version_id

    def delete(self, region: str, key: str, version_id: Optional[str] = None, replica_of: Optional[str] = None) -> str:
        """A simple DELETE on a versioned bucket: a new delete marker; returns its version id as S3 shows it."""
        response = self.client(region).delete_object(Bucket=self.buckets[region].bucket, Key=key)
        return self.ledger.record(region, key, version_id, str(response["VersionId"]), delete_marker=True,
                                  replica_of=replica_of).version_id

    def read_version(self, region: str, key: str, version_id: str) -> Tuple[bytes, Dict[str, Any]]:
        """One stored version's bytes and what a replica keeps: its system metadata (Content-Type, Cache-Control,
        Content-Encoding), user metadata, tags, storage class and encryption key ("Replication copies object
        metadata and tags", S3 User Guide, "What does Amazon S3 replicate?")."""
        client, bucket = self.client(region), self.buckets[region].bucket
        moto_id = self.ledger.to_moto(region, version_id)
        response = client.get_object(Bucket=bucket, Key=key, VersionId=moto_id)
        kept: Dict[str, Any] = {name: response[field] for name, field in (
            ("content_type", "ContentType"), ("cache_control", "CacheControl"),
            ("content_encoding", "ContentEncoding"), ("metadata", "Metadata")) if response.get(field)}
        tags = client.get_object_tagging(Bucket=bucket, Key=key, VersionId=moto_id).get("TagSet") or []
        if tags:
            kept["tags"] = {tag["Key"]: tag["Value"] for tag in tags}
        stored = self.ledger.find(region, key, version_id)
        if stored is not None and stored.kms_key_id:
            kept["kms_key_id"] = stored.kms_key_id
        return response["Body"].read(), kept

    def serve(
        self, region: str, method: str, target: str, headers: Sequence[Tuple[str, str]], timeout_s: float = 30.0,
        may_decrypt: Callable[[str], bool] = lambda key_arn: True,
        may_list: Callable[[], bool] = lambda: False,
    ) -> Tuple[int, List[Tuple[str, str]], bytes]:
        """An authorised request for `target` (path and query as on the wire) answered by the Region's bucket as
        S3 answers that reader; `headers` lose the client's authentication. `may_decrypt(key ARN)`: whether the
        reader may use an SSE-KMS object's key; `may_list()`: whether it has s3:ListBucket (a missing key is then
        404, else 403)."""
        bucket = self.buckets[region]
        path, _, query = target.partition("?")
        refusal = (refusal_before_reading(path, query)
                   or refusal_for_version(self.ledger, region, path, query, may_decrypt))
        if refusal is not None:
            return refusal.status, error_headers(refusal), refusal.to_xml() if method != "HEAD" else b""
        moto_target = f"/{bucket.bucket}{path}"
        if query:
            moto_target += "?" + "&".join(self._moto_pair(region, pair) for pair in query.split("&"))
        moto_host = f"{bucket.host}:{bucket.port}"
        kept = [(n, v) for n, v in kept_request_headers(headers) if n.lower() not in _CLIENT_AUTH
                and n.lower() not in HOP_BY_HOP and n.lower() not in ("host", "x-amz-cf-id")]
        signed = signed_s3_headers(method, moto_host, moto_target, kept, bucket.region, BACKEND_CREDENTIALS)
        status, _reason, response_headers, body = send((bucket.host, bucket.port), method, moto_target, signed,
                                                       timeout_s)
        return reader_answer(region, method, path, query, status, response_headers, body, self.ledger, may_list)

    def _moto_pair(self, region: str, pair: str) -> str:
        name, equals, value = pair.partition("=")
        if name != "versionId" or not equals:
            return pair  # verbatim: the signature towards moto is computed on what is sent
        return f"versionId={quote(self.ledger.to_moto(region, unquote(value)), safe='')}"


def _start_process() -> subprocess.Popen:
    from infra.local.function.invoker import REPO_ROOT

    return subprocess.Popen([sys.executable, "-m", "infra.local.s3.server"], cwd=REPO_ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def _port_of(process: subprocess.Popen, region: str) -> int:
    assert process.stdout is not None
    line = process.stdout.readline()  # the server's one line, or "" if it died first
    try:
        return int(json.loads(line)["port"])
    except (ValueError, KeyError, TypeError):
        raise RuntimeError(f"unable to start the S3 server for {region}: it exited with status {process.poll()}") \
            from None


def _content_type(key: str) -> str:
    types = {"png": "image/png", "txt": "text/plain", "json": "application/json"}
    return types.get(key.rsplit(".", 1)[-1], "binary/octet-stream")
