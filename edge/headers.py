"""Every header rule: what the signer alone may set, which viewer headers go on, what is signed, what is added.

What S3 receives is the returned headers, then the origin custom headers (which replace a same-named header), then
`X-Amz-Cf-Id: <config.requestId>`, added by CloudFront after the function. S3 checks the signature against that.
The rules, each applied below where it is quoted:
- "S3 rejects any unsigned x-amz-* header" and `Authorization` carries the signature: only the signer sets them,
  so a viewer's copies are dropped and an origin custom header of those names is refused (origins.py).
- S3 requires `host`, `content-type` when present and every `x-amz-*` header to be signed; `Via`,
  `Accept-Encoding` and the like may change between CloudFront and S3, so they are forwarded, not signed.
- Read-only headers (`Accept-Encoding`, `Content-Length`, `If-Modified-Since`, `If-None-Match`, `If-Range`,
  `If-Unmodified-Since`, `Transfer-Encoding`, `Via`) may not be changed or removed: CloudFront would answer 502.
- Host: CloudFront sends the origin's domain name unless a policy forwards the viewer's Host, which would break
  any signature; the function sets it to the origin's domain name.
"""
from __future__ import annotations

__all__ = [
    "READ_ONLY", "is_signature_header", "forwarded_headers", "headers_to_sign", "signed_request_headers",
    "entries_of",
]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, Iterable, Mapping, Tuple

    from .event import Headers, OriginRequest

# CloudFront Developer Guide, "Restrictions on edge functions": read-only in origin-request events.
READ_ONLY = frozenset({"accept-encoding", "content-length", "if-modified-since", "if-none-match", "if-range",
                       "if-unmodified-since", "transfer-encoding", "via"})


def is_signature_header(name: str) -> bool:
    """Authorization, or an x-amz-* header, which S3 refuses unless it is signed: a header only the signer sets."""
    lowered = name.lower()
    return lowered == "authorization" or lowered.startswith("x-amz-")


def forwarded_headers(request: OriginRequest) -> Headers:
    """The viewer's headers that go on to S3, unsigned: all of them but the viewer's credentials, and but the ones
    an origin custom header of the same name replaces on the wire (the viewer's copy would never reach S3)."""
    headers = request.headers
    # Usually there is nothing to drop: one search of the joined names settles that several times faster than
    # testing each name in Python. A name that merely contains one of the two strings takes the exact path below.
    names = "\n".join(headers).lower()
    if "authorization" in names or "x-amz-" in names:
        kept = {name: entries for name, entries in headers.items() if not is_signature_header(name)}
    else:
        kept = dict(headers)
    replaced = request.origin.custom_headers
    if replaced:  # the MRAP origin usually has none
        for name in replaced:
            # A read-only header stays: removing it is refused (CloudFront does not let custom headers take these
            # names anyway).
            if name not in READ_ONLY:
                kept.pop(name, None)
    return kept


def _joined(entries: Iterable[Mapping[str, str]]) -> str:
    # SigV4: "If a header has multiple values, join them with commas", each trimmed; S3 does the same with the
    # header lines it receives, so one joined value is what awscrt must sign.
    return ",".join(entry["value"].strip() for entry in entries)


def headers_to_sign(request: OriginRequest) -> Dict[str, str]:
    """The headers S3 will see and requires signed, besides those the signer adds: one value per name."""
    origin = request.origin
    signed = {"host": origin.domain_name, "x-amz-cf-id": request.request_id}
    # An origin custom header replaces a same-named request header on the wire, so sign the value S3 will see.
    content_type = origin.custom_headers.get("content-type") or request.headers.get("content-type")
    if content_type:
        signed["content-type"] = _joined(content_type)
    return signed


def entries_of(pairs: Iterable[Tuple[str, str]]) -> Headers:
    """(Name, value) pairs in CloudFront's shape, {lower-case name: [{"key": Name, "value": value}]}."""
    return {name.lower(): [{"key": name, "value": value}] for name, value in pairs}


def signed_request_headers(forwarded: Headers, host: str, added: Headers, amz_date: str,
                           authorization: str) -> Headers:
    """The headers to return: the forwarded ones, `host`, what the signer adds (`added`: the region set, the
    content hash, a session token; the same for every request), `x-amz-date` and `authorization`."""
    headers = forwarded
    headers["host"] = [{"key": "Host", "value": host}]
    headers.update(added)
    headers["x-amz-date"] = [{"key": "X-Amz-Date", "value": amz_date}]
    headers["authorization"] = [{"key": "Authorization", "value": authorization}]
    return headers

