"""The regional buckets behind the MRAP: one moto S3 server per Region, each in a process of its own
(`s3_process`) and the endpoint of that Region, with a versioned bucket holding the replicated samples and a probe
object naming the bucket.

Each Region's process has its own moto backend, as each Region's bucket is separate on AWS. Bucket names are still
distinct per Region (S3 bucket names are global), and the MRAP stand-in sends a Region's requests to that Region's
server and bucket; which bucket answered is in the probe object's body.

moto's server answers unauthenticated requests with 403 (bucket ACLs), so requests to it must carry a SigV4
Authorization header; it does not check the signature itself.
"""
from __future__ import annotations

import json
import secrets
import subprocess
import sys
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

import boto3
from botocore.config import Config
from botocore.credentials import Credentials

from .samples import PROBE_KEY, probe_body, sample_objects

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


class BucketServers:
    def __init__(self, regions: Sequence[str], bucket_prefix: str = "mrap-edge-demo") -> None:
        self.regions = tuple(regions)
        self.bucket_prefix = bucket_prefix
        self.buckets: Dict[str, RegionalBucket] = {}
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

    def client(self, region: str):  # -> botocore S3 client for that Region's server
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

    def seed(self, objects: Optional[Mapping[str, bytes]] = None) -> int:
        """Put the samples in every bucket (replication) and each bucket's own probe; returns objects written."""
        objects = sample_objects() if objects is None else objects
        written = 0
        for region, bucket in self.buckets.items():
            s3 = self.client(region)
            for key, body in objects.items():
                s3.put_object(Bucket=bucket.bucket, Key=key, Body=body, ContentType=_content_type(key))
                written += 1
            s3.put_object(
                Bucket=bucket.bucket, Key=PROBE_KEY, Body=probe_body(bucket.bucket, region),
                ContentType="application/json", CacheControl="no-store",
            )
            written += 1
        return written

    def put(self, region: str, key: str, body: bytes, cache_control: Optional[str] = None) -> str:
        """Write one object to one Region only (not replicated); returns its version id."""
        extra = {"CacheControl": cache_control} if cache_control else {}
        response = self.client(region).put_object(Bucket=self.buckets[region].bucket, Key=key, Body=body, **extra)
        return str(response["VersionId"])


def _start_process() -> subprocess.Popen:
    from .invoker import REPO_ROOT

    return subprocess.Popen([sys.executable, "-m", "infra.local.s3_process"], cwd=REPO_ROOT, stdin=subprocess.PIPE,
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
