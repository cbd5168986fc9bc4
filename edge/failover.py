"""Which origins the function signs.

An origin group sends a request to its secondary origin after the primary fails, and the origin-request function
runs again with the secondary origin in the event. That origin is marked with an origin custom header (the
configured failover header); it has its own access (say, origin access control on a Regional bucket), so the
function must hand it back untouched. CloudFront lower-cases custom header keys, so the marker is matched
case-insensitively.
"""
from __future__ import annotations

from typing import Dict, Tuple

from .canonical import canonical_uri
from .config import Config
from .errors import ConfigError
from .event import Origin
from .signing import is_signature_header

__all__ = ["origin_decision", "check_signable", "OriginPolicy", "SIGN"]

SIGN = "sign"
# A container serves the few origins of one distribution; the bound only guards against a pathological stream.
_MAX_REMEMBERED = 64


def origin_decision(origin: Origin, config: Config) -> str:
    """SIGN for the MRAP custom origin; otherwise the reason the request is passed through unchanged."""
    if origin.has_custom_header(config.failover_header):
        return "failover-origin"
    if origin.kind != "custom":
        return "s3-origin"
    if not config.is_mrap_host(origin.domain_name):
        return "other-host"
    return SIGN


def check_signable(origin: Origin) -> None:
    """Raise ConfigError when what CloudFront adds for this MRAP origin would break any signature made here."""
    if canonical_uri(origin.path) != origin.path:
        raise ConfigError(source="origin path", reason=f"{origin.path!r} is not in S3's canonical form")
    for name in origin.custom_headers:
        if is_signature_header(name):
            raise ConfigError(source="origin custom headers", reason=f"{name} would replace the signature")


class OriginPolicy:
    """origin_decision and check_signable for one configuration, worked out once per origin.

    Every request through a cache behaviour carries the same origin, so the host-pattern match and the origin checks
    need not run per request. A decision depends only on the origin's kind, domain name, path and custom header names,
    which make the key. An origin that fails check_signable is not remembered, so each request logs the error."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._decisions: Dict[Tuple[object, ...], str] = {}

    def decide(self, origin: Origin) -> str:
        key = (*origin[:3], *origin.custom_headers)  # kind, domain name, path, then the custom header names
        decision = self._decisions.get(key)
        if decision is None:
            decision = origin_decision(origin, self.config)
            if decision == SIGN:
                check_signable(origin)
            if len(self._decisions) >= _MAX_REMEMBERED:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision
