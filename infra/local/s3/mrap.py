"""The S3 Multi-Region Access Point stand-in: accepts only what S3 would, routes to the nearest Region's bucket.

Every request is checked by the independent verifier (`infra.local.s3.verifier`, shared with the tests, no awscrt):
SigV4A, every x-amz-* header signed, X-Amz-Region-Set covering the Region it is routed to, X-Amz-Date within
15 minutes, Host = the MRAP alias. Then S3's authorisation: the action (s3:GetObject, or s3:GetObjectVersion with
a versionId) must be allowed by the template's role policy and MRAP policy, or in native mode CloudFront's service
principal by the MRAP policy and the routed bucket's (`access.Access.through_mrap`). A refusal is S3's status and
error XML. An accepted request goes to the chosen Region's bucket as S3 answers that reader (`BucketServers.serve`:
version ids as replication keeps them, a key missing from that bucket is 404 NoSuchKey when the reader has
s3:ListBucket through the MRAP, else 403 AccessDenied); the MRAP routes by proximity and the routes' traffic
dials, never by key.

With the network model on (`latency.NetworkModel`), each request waits one round trip between the POP it came
from and the Region it was routed to.

The client's location is not a header (S3 would refuse an unsigned x-amz-* one and other headers are signed or
not up to the client): like the Global Accelerator edges an MRAP is reached through, the stand-in listens on one
port per client Region, and the CloudFront stand-in at a POP connects to its own Region's port.
"""
from __future__ import annotations

import datetime
import functools
import threading
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from infra.local.httpserver import ListenedStandIn, RequestHandler
from infra.local.iam import Principal
from infra.local.latency import NetworkModel
from infra.local.regions import RoutingState
from infra.local.s3.access import Access
from infra.local.s3.buckets import BucketServers
from infra.local.s3.reads import access_denied, error_code, error_headers
from infra.local.s3.verifier import Credentials, S3Refusal, S3Verifier

__all__ = ["Received", "MrapStandIn"]

_FORCED = {
    503: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
}


@dataclass(frozen=True)
class Received:
    """One request as the MRAP received it and what became of it."""

    client_region: str
    method: str
    target: str
    headers: Tuple[Tuple[str, str], ...]
    region: Optional[str]  # the Region it was routed to
    bucket: Optional[str]
    verified: bool
    status: int
    error_code: Optional[str] = None  # S3 error code when refused
    algorithm: Optional[str] = None

    def header(self, name: str) -> List[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


class _Handler(RequestHandler):
    def handle_request(self) -> None:
        status, headers, body = self.app.serve(
            self.client_region, self.command, self.path, self.request_headers(), self.request_body()
        )
        self.respond(status, headers, body)


@dataclass
class _Counts:
    verified: int = 0  # signature good (then served, or denied by the policies)
    refused: int = 0  # signature or request refused
    denied: int = 0  # signature good, 403 AccessDenied: not allowed by the policies, or a key the bucket lacks


class MrapStandIn(ListenedStandIn):
    def __init__(
        self,
        host: str,
        servers: BucketServers,
        credentials: Sequence[Credentials],
        client_regions: Sequence[str],
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.timezone.utc),
        timeout_s: float = 30.0,
        access: Optional[Access] = None,
        principals: Optional[Mapping[str, Principal]] = None,
        contexts: Optional[Mapping[str, Mapping[str, str]]] = None,
        network: Optional[NetworkModel] = None,
        dials: Optional[Mapping[str, int]] = None,
    ) -> None:
        buckets = servers.buckets
        self.host = host
        self.servers = servers
        self.buckets = buckets
        self.access = access  # None: no authorisation step (only for tests of the signature checks)
        self.principals = dict(principals or {})  # access key id -> who S3 takes the caller to be
        self.contexts = dict(contexts or {})  # access key id -> its condition keys (CloudFront's aws:SourceArn)
        self.network = network or NetworkModel()
        self.routing = RoutingState(buckets, dials)
        self.forced_status: Optional[int] = None  # 500/503: answer every accepted request with that S3 error
        self.received: List[Received] = []
        self.counts: Dict[str, _Counts] = {region: _Counts() for region in buckets}
        self._verifiers = {
            region: S3Verifier(credentials=credentials, region=region, expected_host=host, clock=clock)
            for region in buckets
        }
        self._listen(_Handler, client_regions)
        self._lock = threading.Lock()
        self._timeout_s = timeout_s

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def serve(
        self, client_region: str, method: str, target: str, headers: List[Tuple[str, str]], body: bytes
    ) -> Tuple[int, List[Tuple[str, str]], bytes]:
        region = self.routing.current.choose(client_region)
        if region is None:
            refusal = S3Refusal(503, "ServiceUnavailable",
                                "No Region behind the Multi-Region Access Point is available.")
            return self._refuse(client_region, method, target, headers, None, refusal)
        self.network.wait(client_region, region)  # the round trip from the POP to the Region routed to
        try:
            verified = self._verifiers[region].verify(method=method, target=target, headers=headers, body=body)
        except S3Refusal as refusal:
            return self._refuse(client_region, method, target, headers, region, refusal)
        bucket = self.buckets[region]
        may_decrypt: Callable[[str], bool] = _any_key
        may_list: Callable[[], bool] = _no_listing
        if self.access is not None:
            principal = self.principals.get(verified.access_key_id)
            context = self.contexts.get(verified.access_key_id, {})
            if principal is None or not self.access.through_mrap(principal, method, target, bucket.bucket, context):
                return self._refuse(client_region, method, target, headers, region, access_denied(), verified=True)
            may_decrypt = functools.partial(self.access.may_decrypt, principal)
            may_list = functools.partial(self.access.may_list_through_mrap, principal, bucket.bucket, context)
        if self.forced_status is not None:
            code, message = _FORCED.get(self.forced_status, ("InternalError", "Forced failure."))
            refusal = S3Refusal(self.forced_status, code, message)
            self._record(client_region, method, target, headers, region, bucket.bucket, True, refusal.status,
                         refusal.code, verified.algorithm)
            return refusal.status, error_headers(refusal), refusal.to_xml()
        status, response_headers, response_body = self.servers.serve(region, method, target, headers,
                                                                      self._timeout_s, may_decrypt, may_list)
        self._record(client_region, method, target, headers, region, bucket.bucket, True, status,
                     error_code(status, response_body), verified.algorithm)
        return status, response_headers, response_body

    def _refuse(
        self, client_region: str, method: str, target: str, headers: List[Tuple[str, str]], region: Optional[str],
        refusal: S3Refusal, verified: bool = False,
    ) -> Tuple[int, List[Tuple[str, str]], bytes]:
        bucket = self.buckets[region].bucket if region else None
        self._record(client_region, method, target, headers, region, bucket, verified, refusal.status, refusal.code,
                     None)
        return refusal.status, error_headers(refusal), refusal.to_xml() if method != "HEAD" else b""

    def _record(
        self, client_region: str, method: str, target: str, headers: List[Tuple[str, str]], region: Optional[str],
        bucket: Optional[str], verified: bool, status: int, error_code: Optional[str], algorithm: Optional[str],
    ) -> None:
        entry = Received(client_region, method, target, tuple(headers), region, bucket, verified, status,
                         error_code, algorithm)
        with self._lock:
            self.received.append(entry)
            if region is not None:
                counts = self.counts[region]
                if verified:
                    counts.verified += 1
                    counts.denied += error_code == "AccessDenied"
                else:
                    counts.refused += 1


def _any_key(key_arn: str) -> bool:
    return True  # no authorisation step: every key may be used


def _no_listing() -> bool:
    return False  # no authorisation step: no reader has s3:ListBucket
