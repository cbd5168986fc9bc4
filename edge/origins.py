"""Which origins the function signs, whether an MRAP origin can be signed at all, and the per-origin memo.

An origin group sends a request to its secondary origin after the primary fails, and the origin-request function
runs again with the secondary origin in the event. That origin is marked with an origin custom header (the
configured failover header); it has its own access (say, origin access control on a Regional bucket), so the
function must hand it back untouched. CloudFront lower-cases custom header keys, so the marker is matched
case-insensitively. Any origin that is not the MRAP (an `s3` origin, another host) is handed back untouched too.

An MRAP origin is signable only if what CloudFront adds to its requests leaves the signature intact: its origin
path is prepended to the path as it is, so it must already be in S3's canonical form, and its custom headers replace
same-named ones, so none may carry a name only the signer sets. Either is a distribution misconfiguration, refused
on every request (fail closed) with the setting to change; the deploy tooling refuses it before that.
"""
from __future__ import annotations

from .canonical import canonical_uri
from .errors import BadRequest, OriginMisconfigured
from .headers import is_signature_header

__all__ = ["Decision", "SIGN", "origin_decision", "check_signable", "OriginMemo"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, Literal, Tuple

    from .config import Config
    from .event import Origin

    Decision = Literal["sign", "failover-origin", "s3-origin", "other-host"]
else:
    Decision = str

SIGN: Decision = "sign"
# A container serves the few origins of one distribution; the bound only guards against a pathological stream.
_MAX_REMEMBERED = 64


def _has_custom_header(origin: Origin, name: str) -> bool:
    if not origin.custom_headers:  # the MRAP origin usually has none
        return False
    wanted = name.lower()
    return any(key.lower() == wanted for key in origin.custom_headers)


def origin_decision(origin: Origin, config: Config) -> Decision:
    """SIGN for the MRAP custom origin; otherwise the reason the request is passed through unchanged."""
    if _has_custom_header(origin, config.failover_header):
        return "failover-origin"
    if origin.kind != "custom":
        return "s3-origin"
    if not config.is_mrap_host(origin.domain_name):
        return "other-host"
    return SIGN


def check_signable(origin: Origin) -> None:
    """Raise OriginMisconfigured when what CloudFront adds for this MRAP origin would break any signature."""
    try:
        canonical = canonical_uri(origin.path)
    except BadRequest:
        canonical = ""
    if canonical != origin.path:
        suggestion = f"set it to {canonical!r}" if canonical else "percent-encode it as S3 does (upper-case hex)"
        raise OriginMisconfigured(
            problem=f"the origin path {origin.path!r} of origin {origin.domain_name} is not in S3's canonical form, "
                    "and CloudFront sends it as it is, so S3 would check the signature against another path",
            fix=f"in the distribution's origin settings (Origin path), {suggestion}",
        )
    for name in origin.custom_headers:
        if is_signature_header(name):
            raise OriginMisconfigured(
                problem=f"origin {origin.domain_name} has an origin custom header {name}, which would replace or "
                        "break the signature",
                fix="remove that custom header from the distribution's origin settings",
            )


class OriginMemo:
    """origin_decision and check_signable for one configuration, worked out once per origin.

    Every request through a cache behaviour carries the same origin, so the host-pattern match and the origin checks
    need not run per request. A decision depends only on the origin's kind, domain name, path and custom header names,
    which make the key. An origin that fails check_signable is not remembered, so each request logs the error."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._decisions: Dict[Tuple[object, ...], Decision] = {}

    def decide(self, origin: Origin) -> Decision:
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
