"""Where clients are and how an MRAP picks a Region for them.

A viewer reaches the CloudFront edge location (POP) nearest to it; CloudFront then reaches the MRAP through the
Global Accelerator edge nearest to that POP, and the MRAP sends the request to the lowest-latency Region that is
healthy and has traffic dialled in (S3 User Guide, "Multi-Region Access Points: routing requests"). Locally, the
client's location is a setting: each POP is one port, and the POP's location is what the MRAP routes by. Locations
are Regions, plus `houston` (a POP where there is no Region: the user's colleagues).

An MRAP's routes (its failover controls) set each Region's traffic dial to 100 (active) or 0 (passive); passive
Regions get no traffic, and S3 refuses a configuration in which every Region is passive.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

__all__ = ["Pop", "POPS", "HOUSTON", "BUCKET_REGIONS", "LATENCY_MS", "latency_ms", "Routing", "RoutingState",
           "AllPassiveRoutes"]

HOUSTON = "houston"


@dataclass(frozen=True)
class Pop:
    """One CloudFront edge location: its `x-amz-cf-pop` code and the Region its function replicas run in (for a
    location named by a Region, also where its clients are)."""

    code: str
    region: str
    city: str


# Codes in the form CloudFront prints in x-amz-cf-pop: airport code, site number, "-C1"/"-P1" fleet suffix.
POPS: Dict[str, Pop] = {
    "eu-west-2": Pop("LHR50-C1", "eu-west-2", "London"),
    "us-east-2": Pop("CMH68-P1", "us-east-2", "Columbus, Ohio"),
    "us-east-1": Pop("IAD89-C3", "us-east-1", "Ashburn, Virginia"),
    "eu-west-1": Pop("DUB56-P1", "eu-west-1", "Dublin"),
    "ap-southeast-2": Pop("SYD1-C1", "ap-southeast-2", "Sydney"),
    # No Region in Texas: the function runs in the nearest Region with a Regional edge cache (inferred: Ohio).
    HOUSTON: Pop("IAH50-C1", "us-east-2", "Houston"),
}

# Where a bucket can be: the locations that are Regions (Houston is an edge location only).
BUCKET_REGIONS = tuple(location for location in POPS if location != HOUSTON)

# Round-trip milliseconds between Regions: rounded medians of a public inter-Region latency table (CloudPing's AWS
# matrix, which measures from inside each Region; AWS Network Manager's Infrastructure Performance shows similar
# values). They are modelled figures, not measured here: routing uses their order, and the latency model
# (`latency.py`) turns them into delays when switched on.
_LATENCY: Mapping[Tuple[str, str], int] = {
    ("eu-west-2", "eu-west-1"): 12,
    ("eu-west-2", "us-east-1"): 76,
    ("eu-west-2", "us-east-2"): 86,
    ("eu-west-2", "ap-southeast-2"): 265,
    ("eu-west-1", "us-east-1"): 68,
    ("eu-west-1", "us-east-2"): 79,
    ("eu-west-1", "ap-southeast-2"): 254,
    ("us-east-1", "us-east-2"): 13,
    ("us-east-1", "ap-southeast-2"): 197,
    ("us-east-2", "ap-southeast-2"): 188,
    # Houston has no Region: estimated from great-circle distance (light in fibre, 200 km per ms, times a path
    # factor of 1.5), not measured. See infra/local/latency.py for how these figures are used.
    (HOUSTON, "us-east-2"): 24,
    (HOUSTON, "us-east-1"): 28,
    (HOUSTON, "eu-west-2"): 112,
    (HOUSTON, "eu-west-1"): 106,
    (HOUSTON, "ap-southeast-2"): 196,
}
SAME_REGION_MS = 2
LATENCY_MS: Dict[Tuple[str, str], int] = {**_LATENCY, **{(b, a): ms for (a, b), ms in _LATENCY.items()}}


def latency_ms(client_region: str, bucket_region: str) -> int:
    if client_region == bucket_region:
        return SAME_REGION_MS
    try:
        return LATENCY_MS[(client_region, bucket_region)]
    except KeyError:
        raise ValueError(f"unable to find latency: {client_region} -> {bucket_region}") from None


@dataclass(frozen=True)
class Routing:
    """An MRAP's routing configuration: each Region's traffic dial (100 active, 0 passive) and Regions marked down."""

    dials: Tuple[Tuple[str, int], ...]
    down: frozenset = frozenset()

    @property
    def regions(self) -> Tuple[str, ...]:
        return tuple(region for region, _ in self.dials)

    def choose(self, client_region: str) -> Optional[str]:
        """The Region a request from `client_region` goes to: the nearest one that is up and dialled in (None: none)."""
        candidates = [region for region, dial in self.dials if dial > 0 and region not in self.down]
        if not candidates:
            return None
        # Ties are broken by the configured order, so routing is deterministic.
        return min(candidates, key=lambda region: (latency_ms(client_region, region), self.regions.index(region)))

    def ranked(self, client_region: str) -> List[Tuple[str, int]]:
        """Every Region with its latency from the client, nearest first (for display)."""
        return sorted(((region, latency_ms(client_region, region)) for region in self.regions), key=lambda rl: rl[1])


class AllPassiveRoutes(ValueError):
    """S3 refuses routes that would leave no active Region (SubmitMultiRegionAccessPointRoutes)."""


class RoutingState:
    """The routing of a running MRAP stand-in, changed by the demo and by tests (the MRAP failover controls).

    `dials` gives the configured routes it starts with and returns to on `reset` (every Region active unless
    told); `set_dial(..., configured=True)` changes them, as a deploy step submitting routes would."""

    def __init__(self, regions: Iterable[str], dials: Optional[Mapping[str, int]] = None) -> None:
        self._lock = threading.Lock()
        regions = tuple(regions)
        initial = Routing(dials=tuple((region, 100) for region in regions))
        for region, percent in (dials or {}).items():
            initial = _with_dial(initial, region, percent)
        self._initial = initial
        self._routing = initial

    @property
    def current(self) -> Routing:
        with self._lock:
            return self._routing

    def set_dial(self, region: str, percent: int, configured: bool = False) -> None:
        with self._lock:
            self._routing = _with_dial(self._routing, region, percent)
            if configured:
                self._initial = _with_dial(self._initial, region, percent)

    def mark_down(self, region: str, down: bool = True) -> None:
        with self._lock:
            if region not in self._routing.regions:
                raise ValueError(f"unable to mark Region down: unknown Region {region}")
            marked = self._routing.down | {region} if down else self._routing.down - {region}
            self._routing = Routing(dials=self._routing.dials, down=frozenset(marked))

    def reset(self) -> None:
        with self._lock:
            self._routing = self._initial


def _with_dial(routing: Routing, region: str, percent: int) -> Routing:
    if percent not in (0, 100):
        raise ValueError(f"unable to set traffic dial: {percent} (an MRAP dial is 0 or 100 for a Region)")
    if region not in routing.regions:
        raise ValueError(f"unable to set traffic dial: unknown Region {region}")
    dials = tuple((r, percent if r == region else d) for r, d in routing.dials)
    if all(d == 0 for _, d in dials):
        raise AllPassiveRoutes(f"unable to set {region} passive: at least one Region of a Multi-Region Access "
                               f"Point must stay active")
    return Routing(dials=dials, down=routing.down)
