"""A Regional bucket's own endpoint (`<bucket>.s3.<region>.amazonaws.com`), as the origin group's failover origin
reaches it: SigV4 checked by the independent verifier, then S3's authorisation (`access.Access.to_bucket`: the
bucket policy statement the deploy tooling writes for the distribution), then the bucket (`BucketServers.serve`).

CloudFront's origin access control signs with credentials of CloudFront's own; S3 knows the request comes from
the service principal `cloudfront.amazonaws.com` for one distribution (`aws:SourceArn`). Locally the origin
access control has its own access key, and this endpoint maps it to that principal and context. Like the MRAP
stand-in it listens on one port per POP location, so that the modelled delay is the POP's to this Region.
"""
from __future__ import annotations

import datetime
import functools
import threading
from dataclasses import dataclass
from typing import Callable, List, Mapping, Optional, Sequence, Tuple

from infra.local.httpserver import ListenedStandIn, RequestHandler
from infra.local.iam import Principal
from infra.local.latency import NetworkModel
from infra.local.s3.access import Access
from infra.local.s3.buckets import BucketServers
from infra.local.s3.reads import access_denied, error_code, error_headers
from infra.local.s3.verifier import Credentials, S3Refusal, S3Verifier

__all__ = ["Caller", "BucketEndpoint", "BucketReceived"]


@dataclass(frozen=True)
class Caller:
    """An access key the endpoint knows, and who S3 takes its requests to be from."""

    credentials: Credentials
    principal: Principal
    context: Mapping[str, str]


@dataclass(frozen=True)
class BucketReceived:
    pop: str
    method: str
    target: str
    status: int
    error_code: Optional[str]


class _Handler(RequestHandler):
    def handle_request(self) -> None:
        self.request_body()
        status, headers, body = self.app.serve(self.client_region, self.command, self.path, self.request_headers())
        self.respond(status, headers, body)


class BucketEndpoint(ListenedStandIn):
    def __init__(
        self,
        region: str,
        buckets: BucketServers,
        access: Access,
        callers: Sequence[Caller],
        pops: Sequence[str],
        network: Optional[NetworkModel] = None,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.timezone.utc),
        timeout_s: float = 30.0,
    ) -> None:
        self.region = region
        self.bucket = buckets.buckets[region]
        self._buckets = buckets
        self._access = access
        self._callers = {c.credentials.access_key_id: c for c in callers}
        self._verifier = S3Verifier(credentials=[c.credentials for c in callers], region=region,
                                    expected_host=self.bucket.virtual_host, clock=clock)
        self._network = network or NetworkModel()
        self._listen(_Handler, pops)
        self._lock = threading.Lock()
        self._timeout_s = timeout_s
        self.received: List[BucketReceived] = []

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def serve(self, pop: str, method: str, target: str,
              headers: List[Tuple[str, str]]) -> Tuple[int, List[Tuple[str, str]], bytes]:
        self._network.wait(pop, self.region)
        try:
            verified = self._verifier.verify(method=method, target=target, headers=headers)
            caller = self._callers[verified.access_key_id]
            if not self._access.to_bucket(self.bucket.bucket, caller.principal, caller.context, method, target):
                raise access_denied()
        except S3Refusal as refusal:
            self._record(pop, method, target, refusal.status, refusal.code)
            return refusal.status, error_headers(refusal), refusal.to_xml() if method != "HEAD" else b""
        status, response_headers, body = self._buckets.serve(
            self.region, method, target, headers, self._timeout_s,
            functools.partial(self._access.may_decrypt, caller.principal),
            functools.partial(self._access.to_bucket, self.bucket.bucket, caller.principal, caller.context, "GET",
                              "/"))
        self._record(pop, method, target, status, error_code(status, body))
        return status, response_headers, body

    def _record(self, pop: str, method: str, target: str, status: int, code: Optional[str]) -> None:
        with self._lock:
            self.received.append(BucketReceived(pop, method, target, status, code))
            del self.received[:-1000]  # bounded: a long demo must not grow without end
