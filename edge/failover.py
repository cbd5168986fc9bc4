"""Which origins the function signs.

An origin group sends a request to its secondary origin after the primary fails, and the origin-request function
runs again with the secondary origin in the event. That origin is marked with an origin custom header (the
configured failover header); it has its own access (say, origin access control on a Regional bucket), so the
function must hand it back untouched. CloudFront lower-cases custom header keys, so the marker is matched
case-insensitively.
"""
from __future__ import annotations

from .config import Config
from .event import Origin

__all__ = ["origin_decision", "SIGN"]

SIGN = "sign"


def origin_decision(origin: Origin, config: Config) -> str:
    """SIGN for the MRAP custom origin; otherwise the reason the request is passed through unchanged."""
    if origin.has_custom_header(config.failover_header):
        return "failover-origin"
    if origin.kind != "custom":
        return "s3-origin"
    if not config.is_mrap_host(origin.domain_name):
        return "other-host"
    return SIGN
