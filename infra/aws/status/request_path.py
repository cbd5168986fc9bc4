"""The request path as a viewer meets it, from where the command runs: the probe object through the distribution
(which bucket served, status, x-cache, x-amz-cf-pop, timings), a key the user names, and a `?versionId=` read of it.

Works against any base URL: the distribution (https://<domain>) or the local stack (http://127.0.0.1:<port>). When
the behaviour requires signed URLs, a `sign` function (signing.py) signs each request; the checks print the URL
unsigned. Only the standard library here, so it runs as-is in CloudShell.
"""
from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional
from urllib.parse import quote, urlsplit

from .checklist import Area, Check, failed, passed, skipped
from .responses import SIGNED_URL_REFUSED, explain

__all__ = ["PROBE_KEY", "Fetched", "fetch", "request_path_checks", "key_path"]

AREA: Area = "request path"
# The per-bucket object scripts/upload-probes writes: its name has one home.
from ..names import PROBE_KEY  # noqa: E402
# The URL signer (signing.UrlSigner), typed here without importing it: this module needs the standard library only.
Sign = Optional[Callable[[str], str]]
ASK_FOR_A_KEY = ("the behaviour requires signed URLs: pass --key-pair-id (the stack's SignedUrlKeyPairId1 output) "
                 "and --private-key (its private key file)")
CHECK_THE_KEY = ("check that the key pair id is in the behaviour's trusted key group, that the private key is its "
                 "pair, and this machine's clock (the URL is valid for minutes)")


@dataclass
class Fetched:
    url: str
    status: int = 0
    headers: Dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    connect_ms: float = 0.0
    first_byte_ms: float = 0.0
    total_ms: float = 0.0
    error: str = ""  # set when no HTTP answer came back
    signed: bool = False  # sent as a signed URL (`url` is the unsigned one: a signed URL is a credential)

    def summary(self) -> str:
        parts = [f"x-cache {self.headers.get('x-cache', '-')}", f"pop {self.headers.get('x-amz-cf-pop', '-')}",
                 f"connect {self.connect_ms:.1f} ms", f"first byte {self.first_byte_ms:.1f} ms",
                 f"total {self.total_ms:.1f} ms"]
        return ", ".join(parts)


def key_path(key: str) -> str:
    """A key as a URL path in S3's canonical form (every byte but unreserved ones and / escaped)."""
    return "/" + quote(key, safe="/-._~")


def fetch(url: str, timeout: float = 10.0, sign: Sign = None) -> Fetched:
    """One GET, timed: connect, first byte (headers read), total (body read); signed first when `sign` is given."""
    result = Fetched(url, signed=sign is not None)
    started = time.perf_counter()
    try:
        parts = urlsplit(sign(url) if sign else url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port or 443, timeout=timeout, context=ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)
        try:
            connection.connect()
            result.connect_ms = (time.perf_counter() - started) * 1000
            connection.request("GET", target, headers={"User-Agent": "mrap-edge-status", "Accept": "*/*"})
            response = connection.getresponse()
            result.first_byte_ms = (time.perf_counter() - started) * 1000
            result.status = response.status
            result.headers = {name.lower(): value for name, value in response.getheaders()}
            result.body = response.read()
        finally:
            connection.close()
    except (OSError, http.client.HTTPException, ValueError) as error:
        result.error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if isinstance(error, socket.timeout):
            result.error = f"no answer within {timeout:g} s"
    result.total_ms = (time.perf_counter() - started) * 1000
    return result


def _failure(name: str, fetched: Fetched, fix: str = "") -> Check:
    sent = f"GET {fetched.url}" + (" (signed)" if fetched.signed else "")
    if fetched.error:
        return failed(AREA, name, f"{sent}: {fetched.error}",
                      fix or "check the URL and that this shell can reach it (proxy, firewall, WAF allow-list)")
    diagnosis = explain(fetched.status, fetched.headers, fetched.body)
    if diagnosis.code.startswith(SIGNED_URL_REFUSED):
        fix = CHECK_THE_KEY if fetched.signed else ASK_FOR_A_KEY
    return failed(AREA, name, f"{sent}: {diagnosis.line(fetched.status)}; {fetched.summary()}", fix)


def _probe_of(body: bytes) -> Optional[Dict[str, str]]:
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(value, dict) and isinstance(value.get("bucket"), str):
        return {"bucket": value["bucket"], "region": str(value.get("region", "?"))}
    return None


def probe_check(base_url: str, expect_region: Optional[str], timeout: float, sign: Sign = None) -> Check:
    name = "probe through the distribution"
    fetched = fetch(base_url + "/" + PROBE_KEY, timeout, sign)
    if fetched.error or fetched.status != 200:
        return _failure(name, fetched)
    probe = _probe_of(fetched.body)
    if probe is None:
        return failed(AREA, name, f"GET {fetched.url}: 200 but the body is not a probe object ({len(fetched.body)} "
                                  f"bytes); {fetched.summary()}",
                      "run scripts/upload-probes (it writes one probe per bucket)")
    served = f"served by {probe['bucket']} ({probe['region']})"
    if expect_region and probe["region"] != expect_region:
        return failed(AREA, name, f"{served}, not by the {expect_region} bucket; {fetched.summary()}",
                      f"{expect_region} is passive, down or not the nearest to this edge: see the mrap routes "
                      f"(scripts/routes) and the backfill")
    return passed(AREA, name, f"200 {served}; {fetched.summary()}")


def request_path_checks(base_url: str, key: Optional[str] = None, expect_region: Optional[str] = None,
                        timeout: float = 10.0, sign: Sign = None) -> List[Check]:
    base_url = base_url.rstrip("/")
    checks = [probe_check(base_url, expect_region, timeout, sign)]
    if key is None:
        checks.append(skipped(AREA, "a key of yours", "pass --key KEY to read one of your objects"))
        subject, subject_name = PROBE_KEY, "the probe"
    else:
        subject, subject_name = key, key
    fetched = fetch(base_url + key_path(subject), timeout, sign)
    if key is not None:
        if fetched.error or fetched.status != 200:
            checks.append(_failure(f"key {key}", fetched))
        else:
            checks.append(passed(AREA, f"key {key}", f"200, {len(fetched.body)} bytes, "
                                                     f"{fetched.headers.get('content-type', '-')}; "
                                                     f"{fetched.summary()}"))
    checks.append(_version_check(base_url, subject, subject_name, fetched, timeout, sign))
    return checks


def _version_check(base_url: str, key: str, subject_name: str, latest: Fetched, timeout: float,
                   sign: Sign) -> Check:
    name = "?versionId= read"
    if latest.error or latest.status != 200:
        return skipped(AREA, name, f"{subject_name} could not be read, so there is no version to read")
    version = latest.headers.get("x-amz-version-id", "")
    if not version or version == "null":
        return failed(AREA, name, f"{subject_name} came back without an x-amz-version-id",
                      "enable versioning on every bucket (replication needs it too)")
    fetched = fetch(f"{base_url}{key_path(key)}?versionId={quote(version, safe='')}", timeout, sign)
    if fetched.error or fetched.status != 200:
        return _failure(name, fetched, "grant s3:GetObjectVersion wherever s3:GetObject is granted (function role, "
                                       "MRAP policy), and forward versionId (cache and origin request policies)")
    if fetched.body != latest.body:
        return failed(AREA, name, f"version {version} of {subject_name} differs from the latest read",
                      "versionId is probably missing from the cache key: add it to the cache policy's query strings")
    return passed(AREA, name, f"version {version} of {subject_name}: 200, same bytes; {fetched.summary()}")
