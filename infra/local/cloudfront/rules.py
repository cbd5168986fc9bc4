"""What CloudFront does with the request an origin-request function returns: the checks it applies (a failed check
is a 502) and the HTTP request it then sends to the origin. Used by the local CloudFront stand-in and by the tests,
so that both judge the function by the same rules.

Sources: CloudFront Developer Guide, "Restrictions on edge functions" (read-only and disallowed headers) and
"Quotas" (URL and request sizes), "Lambda@Edge event structure" (the origin object, X-Amz-Cf-Id), and "Manage how
long content stays in the cache (expiration)" (how long a response is cached).
"""
from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = [
    "READ_ONLY_HEADERS",
    "DISALLOWED_HEADERS",
    "DISALLOWED_PREFIXES",
    "MAX_URL_BYTES",
    "MAX_REQUEST_BYTES",
    "MAX_HEADER_BYTES",
    "CACHED_ERROR_CODES",
    "DEFAULT_ERROR_CACHING_TTL",
    "error_ttl",
    "WireRequest",
    "validate_returned_request",
    "wire_request",
    "response_ttl",
]

# "Read-only headers for CloudFront origin request events": changing or removing one makes CloudFront answer 502.
READ_ONLY_HEADERS = frozenset(
    {
        "accept-encoding",
        "content-length",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "transfer-encoding",
        "via",
    }
)
# "Disallowed headers": a function that adds one gets 502.
DISALLOWED_HEADERS = frozenset(
    {
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "trailer",
        "upgrade",
        "x-cache",
        "x-forwarded-proto",
        "x-real-ip",
    }
)
DISALLOWED_PREFIXES = ("x-accel-", "x-amz-cf-", "x-amzn-", "x-edge-")
# CloudFront quotas: "Maximum length of a URL" and "of a request, including headers and query strings".
MAX_URL_BYTES = 8192
MAX_REQUEST_BYTES = 20480
# A viewer's request headers, in all: over it CloudFront answers 413 before any function runs.
MAX_HEADER_BYTES = 20480
# "HTTP 4xx and 5xx status codes that CloudFront caches" (416 is never cached, whatever the settings say).
CACHED_ERROR_CODES = frozenset({400, 403, 404, 405, 414, 500, 501, 502, 503, 504})
# "CloudFront caches error responses for a default duration of 10 seconds."
DEFAULT_ERROR_CACHING_TTL = 10
# "If the origin adds a Cache-Control: no-store, no-cache or private directive for error codes 404, 410, 414 or
# 501, CloudFront doesn't cache the error response"; for every other code those directives are ignored.
_UNCACHED_WHEN_TOLD = frozenset({404, 410, 414, 501})


@dataclass(frozen=True)
class WireRequest:
    """The HTTP request CloudFront sends to the origin after the function ran."""

    method: str
    host: str
    target: str  # origin path + uri + "?" + querystring, exactly as on the wire
    headers: Tuple[Tuple[str, str], ...]  # (Name, value) in wire order; X-Amz-Cf-Id last

    def header(self, name: str) -> List[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


def _origin(request: Mapping[str, Any]) -> Tuple[str, Mapping[str, Any]]:
    origin = request.get("origin") or {}
    kind = "custom" if "custom" in origin else "s3"
    return kind, origin.get(kind) or {}


def _header_values(headers: Mapping[str, Any], name: str) -> List[Tuple[str, str]]:
    return [(entry.get("key", name), entry.get("value")) for entry in headers.get(name, [])]


def validate_returned_request(original: Mapping[str, Any], returned: Mapping[str, Any]) -> List[str]:
    """CloudFront's checks on a returned request; each problem found is one line (empty list: accepted)."""
    problems: List[str] = []
    for field in ("method", "clientIp"):
        if returned.get(field) != original.get(field):
            problems.append(f"read-only field {field} changed")
    uri = returned.get("uri")
    if not isinstance(uri, str) or not uri.startswith("/"):
        problems.append(f"uri must start with '/': {uri!r}")
    if not isinstance(returned.get("querystring", ""), str):
        problems.append("querystring must be a string")
    before: Mapping[str, Any] = original.get("headers") or {}
    after = returned.get("headers")
    if not isinstance(after, dict):
        return problems + ["headers must be an object"]
    for name, entries in after.items():
        if name != name.lower():
            problems.append(f"header key {name!r} is not lower-case")
        if not isinstance(entries, list) or not entries:
            problems.append(f"header {name!r} must be a non-empty list")
            continue
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
                problems.append(f"header {name!r} has an entry without a string value")
            elif "key" in entry and str(entry["key"]).lower() != name.lower():
                problems.append(f"header {name!r} has an entry keyed {entry['key']!r}")
    for name in READ_ONLY_HEADERS:
        if _header_values(before, name) != _header_values(after, name):
            problems.append(f"read-only header {name} changed or removed")
    for name in after:
        added = name.lower() not in before
        if added and (name.lower() in DISALLOWED_HEADERS or name.lower().startswith(DISALLOWED_PREFIXES)):
            problems.append(f"disallowed header {name} added")
    if not problems:
        wire = wire_request({"Records": [{"cf": {"config": {"requestId": "x" * 56}, "request": original}}]}, returned)
        url_bytes = len(wire.target.encode("utf-8"))
        if url_bytes > MAX_URL_BYTES:
            problems.append(f"URL is {url_bytes} bytes, over CloudFront's {MAX_URL_BYTES}")
        request_bytes = url_bytes + sum(len(k) + len(v.encode("utf-8")) + 4 for k, v in wire.headers)
        if request_bytes > MAX_REQUEST_BYTES:
            problems.append(f"request is {request_bytes} bytes, over CloudFront's {MAX_REQUEST_BYTES}")
    return problems


def wire_request(event: Mapping[str, Any], returned: Mapping[str, Any]) -> WireRequest:
    """The origin request for `returned` (the function's result for `event`): origin path + uri, ?querystring, the
    returned headers, then the origin custom headers (which overwrite a same-named header), then X-Amz-Cf-Id."""
    record = event["Records"][0]["cf"]
    kind, origin = _origin(returned if "origin" in returned else record["request"])
    headers: Dict[str, List[Tuple[str, str]]] = {}
    for name, entries in (returned.get("headers") or {}).items():
        headers[name.lower()] = [(entry.get("key", name), entry["value"]) for entry in entries]
    for name, entries in (origin.get("customHeaders") or {}).items():
        headers[name.lower()] = [(entry.get("key", name), entry["value"]) for entry in entries]
    host_values = headers.get("host") or [("Host", origin.get("domainName", ""))]
    headers["host"] = host_values[:1]
    ordered = [pair for entries in headers.values() for pair in entries]
    ordered.append(("X-Amz-Cf-Id", record["config"]["requestId"]))
    query = returned.get("querystring") or ""
    target = (origin.get("path") or "") + returned["uri"] + (f"?{query}" if query else "")
    return WireRequest(method=returned["method"], host=host_values[0][1], target=target, headers=tuple(ordered))


_DIRECTIVE = re.compile(r"([a-z-]+)\s*(?:=\s*\"?(\d+)\"?)?")


def error_ttl(status: int, response_headers: Sequence[Tuple[str, str]], min_ttl: Optional[int], max_ttl: int,
              now: float) -> int:
    """Seconds CloudFront caches an origin's error response ("Control how long CloudFront caches errors"): the
    greater of the error's ErrorCachingMinTTL (10 s when the distribution sets none) and the origin's max-age,
    s-maxage or Expires (at most max_ttl); 0 for a status CloudFront does not cache."""
    if status not in CACHED_ERROR_CODES:
        return 0
    directives, expires = _cache_headers(response_headers)
    if status in _UNCACHED_WHEN_TOLD and directives.keys() & {"no-cache", "no-store", "private"}:
        return 0
    floor = DEFAULT_ERROR_CACHING_TTL if min_ttl is None else min_ttl
    told = _told_seconds(directives, expires, now)
    return int(max(floor, min(told, max_ttl) if told is not None else 0))


def _cache_headers(response_headers: Sequence[Tuple[str, str]]) -> Tuple[Dict[str, Optional[int]], Optional[str]]:
    directives: Dict[str, Optional[int]] = {}
    expires: Optional[str] = None
    for name, value in response_headers:
        lowered = name.lower()
        if lowered == "cache-control":
            for match in _DIRECTIVE.finditer(value.lower()):
                directives[match.group(1)] = int(match.group(2)) if match.group(2) else None
        elif lowered == "expires":
            expires = value
    return directives, expires


def _told_seconds(directives: Mapping[str, Optional[int]], expires: Optional[str], now: float) -> Optional[float]:
    """What the origin said: `s-maxage` (shared caches first), else `max-age`, else `Expires`; None: nothing."""
    seconds: Optional[float] = directives.get("s-maxage")
    if seconds is None:
        seconds = directives.get("max-age")
    if seconds is None and expires is not None:
        try:
            seconds = email.utils.parsedate_to_datetime(expires).timestamp() - now
        except (TypeError, ValueError):
            seconds = 0  # an unreadable Expires means "already expired" (RFC 9111, 5.3)
    return seconds


def response_ttl(response_headers: Sequence[Tuple[str, str]], default_ttl: int, min_ttl: int, max_ttl: int,
              now: float) -> int:
    """Seconds CloudFront keeps a response, from the origin's headers and the cache policy's TTLs:
    - `Cache-Control: s-maxage` (shared caches first), else `max-age`, else `Expires`, clamped to [min_ttl, max_ttl];
    - `no-cache`, `no-store` or `private`: not cached (0) unless min_ttl is above 0, then min_ttl;
    - none of these: default_ttl (also clamped, as the policy's TTLs must be ordered anyway)."""
    directives, expires = _cache_headers(response_headers)
    if directives.keys() & {"no-cache", "no-store", "private"}:
        return min_ttl
    seconds = _told_seconds(directives, expires, now)
    if seconds is None:
        seconds = default_ttl
    return int(min(max(seconds, min_ttl), max_ttl))
