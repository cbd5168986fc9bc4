"""The MRAP's routes (S3's failover controls): which Regions take traffic.

Each bucket behind an MRAP has a traffic dial: 100 is active (the MRAP may route requests there), 0 is passive ("no
new traffic will be routed to the Region"). Deploy keeps a Region passive until its bucket holds every object, and
`scripts/routes` moves traffic by hand (a failover drill, or an outage).

The routes API is served only from five Regions, so that it stays reachable when one of them is not: every call here
goes to the first control Region that answers. S3 refuses a configuration in which every Region is passive
(InvalidRequest); that is refused here first, with the reason.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from .clients import ClientFactory
from .errors import ToolError, error_code, refusal
from .rules import ACTIVE, MRAP_API_REGION, PASSIVE, ROUTE_CONTROL_REGIONS, ROUTE_PROPAGATION

__all__ = [
    "ACTIVE",
    "PASSIVE",
    "CONTROL_REGIONS",
    "Route",
    "mrap_arn",
    "get_routes",
    "plan_routes",
    "submit_routes",
    "wait_for_routes",
    "find_mrap",
    "change_routes",
    "format_routes",
]

CONTROL_REGIONS = ROUTE_CONTROL_REGIONS
# Errors that say this control Region cannot answer now, so the next one is tried.
_UNREACHABLE_CODES = {"InternalError", "ServiceUnavailable", "SlowDown", "503", "500"}

Say = Callable[[str], None]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Route:
    bucket: str
    region: str
    traffic_dial: int

    @property
    def active(self) -> bool:
        return self.traffic_dial > 0

    @property
    def state(self) -> str:
        return "active" if self.active else "passive"


def mrap_arn(account_id: str, alias: str) -> str:
    return f"arn:aws:s3::{account_id}:accesspoint/{alias}"


def _control_call(clients: ClientFactory, operation: str, **params: Any) -> Dict[str, Any]:
    last: BaseException = ToolError("no control Region")
    for region in CONTROL_REGIONS:
        try:
            return dict(getattr(clients("s3control", region), operation)(**params))
        except (EndpointConnectionError, ConnectTimeoutError) as error:
            last = error
        except ClientError as error:
            if error_code(error) not in _UNREACHABLE_CODES:
                raise
            last = error
    raise ToolError(f"unable to reach the MRAP routes API in any of {', '.join(CONTROL_REGIONS)}: {last}")


def get_routes(clients: ClientFactory, account_id: str, mrap: str) -> List[Route]:
    """The MRAP's routes, one per bucket, in S3's order."""
    try:
        answer = _control_call(clients, "get_multi_region_access_point_routes", AccountId=account_id, Mrap=mrap)
    except ClientError as error:
        raise refusal(f"read the routes of {mrap}", error,
                      "the caller needs s3:GetMultiRegionAccessPointRoutes on the MRAP") from None
    return [Route(bucket=route.get("Bucket", ""), region=route.get("Region", ""),
                  traffic_dial=int(route["TrafficDialPercentage"])) for route in answer.get("Routes", [])]


def plan_routes(current: Sequence[Route], wanted: Mapping[str, int]) -> List[Route]:
    """The routes that change when each Region named in `wanted` gets its traffic dial; the others keep theirs.

    Refuses a Region the MRAP does not have (an MRAP's Regions are fixed at creation) and a result with no active
    Region (S3 would answer InvalidRequest)."""
    by_region = {route.region: route for route in current}
    unknown = sorted(set(wanted) - set(by_region))
    if unknown:
        raise ToolError(f"the MRAP has no bucket in {', '.join(unknown)} (its Regions: "
                        f"{', '.join(sorted(by_region))}); an MRAP's Regions are fixed when it is created")
    for region, dial in wanted.items():
        if not 0 <= dial <= 100:
            raise ToolError(f"traffic dial for {region} must be 0 (passive) to 100 (active), not {dial}")
    after = {region: wanted.get(region, route.traffic_dial) for region, route in by_region.items()}
    if not any(after.values()):
        raise ToolError("refusing to make every Region passive: the MRAP would serve nothing (S3 refuses it too); "
                        "make another Region active in the same change")
    return [Route(bucket=route.bucket, region=route.region, traffic_dial=wanted[route.region])
            for route in current if route.region in wanted and wanted[route.region] != route.traffic_dial]


def submit_routes(clients: ClientFactory, account_id: str, mrap: str, changes: Sequence[Route]) -> None:
    updates = [{"Bucket": route.bucket, "Region": route.region, "TrafficDialPercentage": route.traffic_dial}
               for route in changes]
    try:
        _control_call(clients, "submit_multi_region_access_point_routes",
                      AccountId=account_id, Mrap=mrap, RouteUpdates=updates)
    except ClientError as error:
        raise refusal(f"change the routes of {mrap}", error,
                      "the caller needs s3:SubmitMultiRegionAccessPointRoutes on the MRAP") from None


def find_mrap(clients: ClientFactory, account_id: str, name: str) -> str:
    """The ARN of the MRAP called `name` once S3 has created it, or "" (GetMultiRegionAccessPoint; a stack creates
    an MRAP in minutes, up to hours)."""
    try:
        answer = clients("s3control", MRAP_API_REGION).get_multi_region_access_point(AccountId=account_id, Name=name)
    except ClientError as error:
        if error_code(error) in ("NoSuchMultiRegionAccessPoint", "NotFound", "404"):
            return ""
        raise refusal(f"read MRAP {name}", error, "the caller needs s3:GetMultiRegionAccessPoint") from None
    point = answer.get("AccessPoint", {})
    return mrap_arn(account_id, str(point["Alias"])) if point.get("Alias") else ""


def wait_for_routes(clients: ClientFactory, account_id: str, mrap: str, wanted: Mapping[str, int], say: Say,
                    sleep: Sleep = time.sleep, timeout: float = 600.0, poll: float = 10.0,
                    since_submit: float = 0.0) -> List[Route]:
    """Wait until the routes read back as `wanted` and AWS's documented propagation time has passed since the submit
    (`since_submit` seconds have already): a change "can take up to 2 minutes to take effect", and reading it back
    does not say it has."""
    waited = since_submit
    while True:
        routes = get_routes(clients, account_id, mrap)
        pending = [route.region for route in routes
                   if route.region in wanted and route.traffic_dial != wanted[route.region]]
        if not pending and waited >= ROUTE_PROPAGATION.total_seconds():
            return routes
        if waited >= timeout:
            raise ToolError(f"routes of {mrap} still not in effect after {int(waited)} s for {', '.join(pending)}; "
                            "check again with scripts/routes")
        say(f"  waiting for the routes to take effect in {', '.join(pending or sorted(wanted))} (AWS: up to "
            f"{int(ROUTE_PROPAGATION.total_seconds() // 60)} min) ...")
        step = poll if pending else min(poll, ROUTE_PROPAGATION.total_seconds() - waited)
        sleep(step)
        waited += step


Confirm = Callable[[str], bool]


def change_routes(clients: ClientFactory, account_id: str, mrap: str, wanted: Mapping[str, int], say: Say = print,
                  confirm: Confirm = lambda question: True, dry_run: bool = False, wait: bool = True,
                  sleep: Sleep = time.sleep, timeout: float = 600.0, notes: Optional[Mapping[str, str]] = None,
                  ) -> List[Route]:
    """Read the routes, print what changes, ask, submit only those, and (unless told not to) wait until they are in
    effect; a note per Region (e.g. its backfill) is printed with its change."""
    notes = notes or {}
    current = get_routes(clients, account_id, mrap)
    changes = plan_routes(current, wanted)
    if not changes:
        say("routes: no change")
        return current
    for route in changes:
        before = next(r for r in current if r.region == route.region)
        note = f" ({notes[route.region]})" if route.region in notes else ""
        say(f"routes: {route.region} ({route.bucket}) {before.state} -> {route.state}{note}")
    if dry_run:
        say("routes: dry run, nothing submitted")
        return current
    if not confirm("submit this change?"):
        raise ToolError("not confirmed: nothing submitted")
    submit_routes(clients, account_id, mrap, changes)
    if not wait:
        say(f"routes: submitted (in effect within {int(ROUTE_PROPAGATION.total_seconds() // 60)} min)")
        return current
    say("routes: submitted")
    after = wait_for_routes(clients, account_id, mrap, {r.region: r.traffic_dial for r in changes}, say, sleep,
                            timeout)
    say("routes: in effect")
    return after


def format_routes(routes: Sequence[Route], notes: Optional[Mapping[str, str]] = None) -> str:
    notes = notes or {}
    width = max([len(r.bucket) for r in routes] + [6])
    lines = [f"  {r.region:<15} {r.bucket:<{width}} {r.state:<8} traffic dial {r.traffic_dial:>3}"
             + (f"  {notes[r.region]}" if r.region in notes else "") for r in routes]
    return "\n".join(lines)
