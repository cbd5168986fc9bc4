"""HTTP on the wire between the stand-ins: one exchange with exactly the given headers, and SigV4 for S3 where a
stand-in itself signs (CloudFront's origin access control; the MRAP stand-in towards moto)."""
from __future__ import annotations

import http.client
import re
from typing import Iterable, List, Tuple

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

__all__ = ["Exchange", "send", "signed_s3_headers", "wire_safe_target", "HOP_BY_HOP"]

Exchange = Tuple[int, str, List[Tuple[str, str]], bytes]
# RFC 7230 section 6.1: connection-specific headers a proxy does not pass on.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
)
_NOT_ON_WIRE = re.compile(r"[^\x21-\x7e]")


def wire_safe_target(target: str) -> str:
    """Percent-encode what cannot go on a request line (non-ASCII, spaces, controls) as UTF-8, as CloudFront
    does with a URI or query string a function set ("CloudFront forwards the UTF-8 encoded values")."""
    return _NOT_ON_WIRE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")), target)


def signed_s3_headers(
    method: str, host: str, target: str, headers: Iterable[Tuple[str, str]], region: str, credentials: Credentials
) -> List[Tuple[str, str]]:
    """`headers` plus SigV4 for S3 in `region` (Authorization, X-Amz-Date, X-Amz-Content-SHA256). The target's
    path must already be in S3's canonical form: botocore's S3 signer uses it verbatim."""
    # botocore's header map appends on assignment, so Host is left out here and set once.
    kept = {name: value for name, value in headers if name.lower() != "host"}
    request = AWSRequest(method=method, url=f"https://{host}{target}", headers=kept)
    request.headers["Host"] = host
    S3SigV4Auth(credentials, "s3", region).add_auth(request)
    return list(request.headers.items())


def send(
    address: Tuple[str, int], method: str, target: str, headers: Iterable[Tuple[str, str]], timeout_s: float
) -> Exchange:
    """One HTTP/1.1 exchange with exactly these headers (no Host or Accept-Encoding added); raises OSError."""
    connection = http.client.HTTPConnection(address[0], address[1], timeout=timeout_s)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value.encode("utf-8"))
        connection.endheaders()
        response = connection.getresponse()
        body = response.read() if method != "HEAD" else b""
        return response.status, response.reason, response.getheaders(), body
    finally:
        connection.close()
