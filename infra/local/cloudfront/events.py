"""Builds the origin-request event CloudFront hands to the function, from a viewer request and an origin.

Follows the CloudFront Developer Guide ("Lambda@Edge event structure", "Request and response behavior for custom
origins", "Origin request policies"): header keys lower-case with `{key, value}` lists; Host = the origin's domain;
Via, X-Forwarded-For and User-Agent set by CloudFront; only whitelisted viewer headers and query strings forwarded.
"""
from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import unquote_plus

from infra.local.cloudfront.settings import DistributionSettings, OriginSettings

__all__ = [
    "ViewerRequest",
    "DISTRIBUTION_ID",
    "DISTRIBUTION_DOMAIN",
    "new_request_id",
    "new_via",
    "forwarded_query",
    "parameter_name",
    "cache_key_query",
    "origin_request_event",
]

DISTRIBUTION_ID = "E2LOCALMRAPEDGE"
DISTRIBUTION_DOMAIN = "d111111abcdef8.cloudfront.net"
# CloudFront forwards these for GET/HEAD whatever the policies say: Range (it may widen it) and the conditional
# headers it uses to revalidate; the conditional ones are read-only for the function.
ALWAYS_FORWARDED = ("range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range")


@dataclass(frozen=True)
class ViewerRequest:
    method: str
    target: str  # request target exactly as the viewer sent it: raw path, "?", raw query
    headers: Tuple[Tuple[str, str], ...]
    client_ip: str

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def values(self, name: str) -> List[str]:
        return [value for key, value in self.headers if key.lower() == name]


def new_request_id() -> str:
    """A 56-character id like the guide's example: URL-safe base64 of 40 random bytes (ends in "==")."""
    return base64.urlsafe_b64encode(os.urandom(40)).decode()


def new_via() -> str:
    return f"2.0 {secrets.token_hex(16)}.cloudfront.net (CloudFront)"


def parameter_name(pair: str) -> str:
    """A query parameter's name as CloudFront compares it with a policy's names: decoded, case-sensitive. The one
    rule for both the cache key and what is forwarded, so that `?version%49d=x` is keyed as what it forwards
    (`versionId`)."""
    return unquote_plus(pair.split("=", 1)[0])


def forwarded_query(query: str, names: Sequence[str]) -> str:
    """The viewer's query string keeping only whitelisted names (`parameter_name`), each pair byte-for-byte as the
    viewer sent it and in the viewer's order."""
    kept = [pair for pair in query.split("&") if pair and parameter_name(pair) in names]
    return "&".join(kept)


def cache_key_query(query: str, names: Sequence[str]) -> Tuple[Tuple[str, str], ...]:
    """The query's part of the cache key: each pair whose name (`parameter_name`) the cache policy lists, as
    (name, value as sent), in a fixed order."""
    return tuple(sorted((parameter_name(pair), pair.partition("=")[2])
                        for pair in query.split("&") if pair and parameter_name(pair) in names))


def _accept_encoding(viewer: ViewerRequest) -> str:
    """CloudFront's normalisation when compression is on: br,gzip / gzip, anything else becomes identity."""
    offered = {
        token.split(";", 1)[0].strip().lower()
        for value in viewer.values("accept-encoding")
        for token in value.split(",")
    }
    if "gzip" in offered and "br" in offered:
        return "br,gzip"
    if "gzip" in offered:
        return "gzip"
    return "identity"


def _origin_object(origin: OriginSettings, region: Optional[str]) -> Dict[str, Any]:
    custom_headers = {name.lower(): [{"key": name, "value": value}] for name, value in origin.custom_headers}
    if origin.kind == "s3":
        # With origin access control CloudFront signs after the function, so the event says no OAI is used.
        return {
            "s3": {
                "authMethod": "none",
                "customHeaders": custom_headers,
                "domainName": origin.domain_name,
                "path": origin.path,
                "region": region or "us-east-1",
            }
        }
    return {
        "custom": {
            "customHeaders": custom_headers,
            "domainName": origin.domain_name,
            "keepaliveTimeout": origin.keepalive_timeout,
            "path": origin.path,
            "port": 443,
            "protocol": "https",
            "readTimeout": origin.read_timeout,
            "sslProtocols": ["TLSv1.2"],
        }
    }


def origin_request_event(
    viewer: ViewerRequest,
    origin: OriginSettings,
    settings: DistributionSettings,
    request_id: str,
    via: str,
    region: Optional[str] = None,
) -> Dict[str, Any]:
    """The event for `viewer` going to `origin` (`region`: the S3 origin's Region)."""
    headers: Dict[str, List[Dict[str, str]]] = {}

    def put(name: str, value: str, key: Optional[str] = None) -> None:
        headers.setdefault(name, []).append({"key": key or name.title(), "value": value})

    forwarded = set(settings.forwarded_headers) | set(ALWAYS_FORWARDED)
    for key, value in viewer.headers:
        name = key.lower()
        if name in ("host", "via", "x-forwarded-for") or (name == "accept-encoding" and settings.compress):
            continue  # CloudFront sets these itself below
        if name in forwarded or (name == "user-agent" and "user-agent" in settings.forwarded_headers):
            put(name, value, key)
    viewer_xff = ", ".join(viewer.values("x-forwarded-for"))
    put("x-forwarded-for", f"{viewer_xff}, {viewer.client_ip}" if viewer_xff else viewer.client_ip, "X-Forwarded-For")
    if "user-agent" not in headers:
        put("user-agent", "Amazon CloudFront", "User-Agent")
    put("via", via, "Via")
    if settings.compress:
        put("accept-encoding", _accept_encoding(viewer), "Accept-Encoding")
    headers["host"] = [{"key": "Host", "value": origin.domain_name}]
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": DISTRIBUTION_DOMAIN,
                        "distributionId": DISTRIBUTION_ID,
                        "eventType": "origin-request",
                        "requestId": request_id,
                    },
                    "request": {
                        "clientIp": viewer.client_ip,
                        "headers": headers,
                        "method": viewer.method,
                        "origin": _origin_object(origin, region),
                        "querystring": forwarded_query(viewer.query, settings.forwarded_query),
                        "uri": viewer.path,
                    },
                }
            }
        ]
    }
