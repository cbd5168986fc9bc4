"""HTTP on the wire between the stand-ins: one exchange with exactly the given headers over a kept-alive
connection, and SigV4 for S3 where a stand-in itself signs (CloudFront's origin access control; the MRAP stand-in
towards moto), or SigV4A for an MRAP (CloudFront's origin access control in native mode)."""
from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from typing import Dict, Iterable, List, Optional, Tuple
from urllib.parse import quote, unquote_to_bytes

from botocore.auth import BaseSigner, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.crt.auth import CrtS3SigV4AsymAuth

__all__ = ["Exchange", "ConnectionPool", "send", "signed_s3_headers", "sigv4a_signed_headers", "s3_canonical_target",
           "wire_safe_target", "HOP_BY_HOP"]

Exchange = Tuple[int, str, List[Tuple[str, str]], bytes]
# RFC 7230 section 6.1: connection-specific headers a proxy does not pass on.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
)
_NOT_ON_WIRE = re.compile(r"[^\x21-\x7e]")
# A request on a kept-alive connection the server has just closed is sent again on a new one, for methods where
# that is safe (RFC 9110 section 9.2.2), as HTTP clients and CloudFront do.
_RETRYABLE = ("GET", "HEAD", "OPTIONS")
_STALE = (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError, BrokenPipeError)


def wire_safe_target(target: str) -> str:
    """Percent-encode what cannot go on a request line (non-ASCII, spaces, controls) as UTF-8, as CloudFront
    does with a URI or query string a function set ("CloudFront forwards the UTF-8 encoded values")."""
    return _NOT_ON_WIRE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")), target)


# S3's canonical form keeps RFC 3986's unreserved characters raw and escapes every other byte in upper-case hex.
_UNRESERVED_PUNCTUATION = "-._~"


def _s3_encoded(text: str, safe: str) -> str:
    return quote(unquote_to_bytes(text), safe=_UNRESERVED_PUNCTUATION + safe)


def s3_canonical_target(target: str) -> str:
    """The target in the form S3 rebuilds when it checks a signature (S3 API reference, "Create a canonical
    request"): the path and each query name and value decoded once and re-encoded, "/" kept in the path only.
    Signing this string and sending the same one is how a signer that uses the path verbatim (botocore's S3 signer)
    agrees with S3 for every spelling a viewer may use: lower-case escapes, escaped unreserved characters, raw
    sub-delimiters, raw UTF-8.

    A raw "+" is taken as a literal plus and sent as "%2B", as the function does for the MRAP, so that one viewer
    URL names one key through either origin. S3 itself reads a raw "+" in a path as a space (a legacy form rule);
    what CloudFront's origin access control sends for a raw "+" is not documented, so this is a decision, not a
    modelled fact."""
    path, mark, query = target.partition("?")
    canonical = _s3_encoded(path, "/")
    if not mark:
        return canonical
    pairs = []
    for pair in query.split("&"):
        if pair:
            name, equals, value = pair.partition("=")
            pairs.append(_s3_encoded(name, "") + equals + _s3_encoded(value, ""))
    return canonical + "?" + "&".join(pairs)


def signed_s3_headers(
    method: str, host: str, target: str, headers: Iterable[Tuple[str, str]], region: str, credentials: Credentials
) -> List[Tuple[str, str]]:
    """`headers` plus SigV4 for S3 in `region` (Authorization, X-Amz-Date, X-Amz-Content-SHA256). The target's
    path must already be in S3's canonical form: botocore's S3 signer uses it verbatim."""
    return _signed(method, host, target, headers, S3SigV4Auth(credentials, "s3", region))


def sigv4a_signed_headers(method: str, host: str, target: str, headers: Iterable[Tuple[str, str]],
                          credentials: Credentials) -> List[Tuple[str, str]]:
    """`headers` plus SigV4A for an MRAP (botocore's CRT S3 signer, region set `*`: valid in whichever Region the
    MRAP routes to), in the same canonical form as `signed_s3_headers`."""
    return _signed(method, host, target, headers, CrtS3SigV4AsymAuth(credentials, "s3", "*"))


def _signed(method: str, host: str, target: str, headers: Iterable[Tuple[str, str]],
            signer: BaseSigner) -> List[Tuple[str, str]]:
    # botocore's header map appends on assignment, so Host is left out here and set once.
    request = AWSRequest(method=method, url=f"https://{host}{target}")
    for name, value in headers:  # assignment appends: a repeated header keeps every value, in order
        if name.lower() != "host":
            request.headers[name] = value
    request.headers["Host"] = host
    signer.add_auth(request)
    return list(request.headers.items())


class ConnectionPool:
    """Idle kept-alive connections per address, each reused until it has been idle for `idle_s` (CloudFront's
    origin keep-alive timeout is 5 s by default) or the server closes it."""

    def __init__(self, idle_s: float = 5.0, max_idle_per_address: int = 64) -> None:
        self.idle_s = idle_s
        self.max_idle_per_address = max_idle_per_address
        self._idle: Dict[Tuple[str, int], List[Tuple[float, http.client.HTTPConnection]]] = {}
        self._lock = threading.Lock()

    def take(self, address: Tuple[str, int]) -> Optional[http.client.HTTPConnection]:
        now = time.monotonic()
        with self._lock:
            idle = self._idle.get(address, [])
            while idle:
                since, connection = idle.pop()
                if now - since < self.idle_s:
                    return connection
                connection.close()
        return None

    def give(self, address: Tuple[str, int], connection: http.client.HTTPConnection) -> None:
        now = time.monotonic()
        expired: List[http.client.HTTPConnection] = []
        with self._lock:
            # Connections to servers no longer asked for (a stopped stack's) expire here too.
            for other, idle in list(self._idle.items()):
                expired += [c for since, c in idle if now - since >= self.idle_s]
                idle[:] = [(since, c) for since, c in idle if now - since < self.idle_s]
                if not idle and other != address:
                    del self._idle[other]
            idle = self._idle.setdefault(address, [])
            if len(idle) < self.max_idle_per_address:
                idle.append((now, connection))
                connection = None
        for stale in expired + ([connection] if connection is not None else []):
            stale.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for _, connection in connections:
                connection.close()


POOL = ConnectionPool()


def send(
    address: Tuple[str, int], method: str, target: str, headers: Iterable[Tuple[str, str]], timeout_s: float,
    pool: Optional[ConnectionPool] = None,
) -> Exchange:
    """One HTTP/1.1 exchange with exactly these headers (no Host or Accept-Encoding added), on a kept-alive
    connection from `pool` (default: this process's); raises OSError."""
    pool = POOL if pool is None else pool
    headers = list(headers)
    while True:
        connection = pool.take(address)
        reused = connection is not None
        if connection is None:
            connection = http.client.HTTPConnection(address[0], address[1], timeout=timeout_s)
        else:
            connection.timeout = timeout_s
            if connection.sock is not None:
                connection.sock.settimeout(timeout_s)
        try:
            exchange, keep = _exchange(connection, method, target, headers)
        except _STALE:
            connection.close()
            if reused and method in _RETRYABLE:
                continue
            raise
        except BaseException:
            connection.close()
            raise
        if keep:
            pool.give(address, connection)
        else:
            connection.close()
        return exchange


def _exchange(
    connection: http.client.HTTPConnection, method: str, target: str, headers: List[Tuple[str, str]]
) -> Tuple[Exchange, bool]:
    if connection.sock is None:
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    for name, value in headers:
        connection.putheader(name, value.encode("utf-8"))
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()  # empty for HEAD, 204 and 304: http.client knows from the method and status
    return (response.status, response.reason, response.getheaders(), body), not response.will_close
