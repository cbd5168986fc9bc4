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

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from .clients import ClientFactory
from .errors import ToolError, error_code, refusal

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
    "set_routes",
    "change_routes",
    "format_routes",
    "main",
]

ACTIVE = 100
PASSIVE = 0
# "SubmitMultiRegionAccessPointRoutes ... routed to one of the following Regions: us-east-1, us-west-2,
# ap-southeast-2, ap-northeast-1, eu-west-1" (S3 API reference).
CONTROL_REGIONS = ("us-east-1", "us-west-2", "ap-southeast-2", "ap-northeast-1", "eu-west-1")
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


def wait_for_routes(clients: ClientFactory, account_id: str, mrap: str, wanted: Mapping[str, int], say: Say,
                    sleep: Sleep = time.sleep, timeout: float = 600.0, poll: float = 10.0) -> List[Route]:
    """Poll until the routes read back as `wanted` (a change takes effect within minutes, not at once)."""
    waited = 0.0
    while True:
        routes = get_routes(clients, account_id, mrap)
        pending = [route.region for route in routes
                   if route.region in wanted and route.traffic_dial != wanted[route.region]]
        if not pending:
            return routes
        if waited >= timeout:
            raise ToolError(f"routes of {mrap} still not in effect after {int(waited)} s for {', '.join(pending)}; "
                            "check again with scripts/routes")
        say(f"  waiting for the routes to take effect in {', '.join(pending)} ...")
        sleep(poll)
        waited += poll


def set_routes(clients: ClientFactory, account_id: str, mrap: str, wanted: Mapping[str, int], say: Say = print,
               dry_run: bool = False, wait: bool = True, sleep: Sleep = time.sleep, timeout: float = 600.0,
               ) -> List[Route]:
    """Read the routes, print what changes, submit only those, and (unless told not to) wait until in effect."""
    return change_routes(clients, account_id, mrap, wanted, say, dry_run=dry_run, wait=wait, sleep=sleep,
                         timeout=timeout)


Confirm = Callable[[str], bool]


def change_routes(clients: ClientFactory, account_id: str, mrap: str, wanted: Mapping[str, int], say: Say = print,
                  confirm: Confirm = lambda question: True, dry_run: bool = False, wait: bool = True,
                  sleep: Sleep = time.sleep, timeout: float = 600.0, notes: Optional[Mapping[str, str]] = None,
                  ) -> List[Route]:
    """set_routes with a confirmation between the plan and the submit, and a note per Region (e.g. its backfill)."""
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
    say("routes: submitted")
    if not wait:
        return current
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


def _backfill_notes(clients: ClientFactory, facts: Any) -> Dict[str, str]:
    """Per Region, the backfill copying into it when one is not complete ("" when the jobs cannot be read)."""
    from .status.backfill import find_jobs, jobs_into

    try:
        jobs = find_jobs(clients, facts.account, facts.stack_name, facts.buckets)
    except (ClientError, BotoCoreError) as error:
        return {b.region: f"backfill unknown ({error_code(error) or type(error).__name__})" for b in facts.buckets}
    notes = {}
    for bucket in facts.buckets:
        unfinished = [job for job in jobs_into(bucket.region, jobs) if not job.complete]
        if unfinished:
            notes[bucket.region] = "backfill " + "; ".join(job.describe() for job in unfinished)
    return notes


def _ask(question: str) -> bool:
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def build_parser() -> Any:
    import argparse

    parser = argparse.ArgumentParser(
        prog="scripts/routes",
        description="Show the MRAP routes, or make a Region active or passive (a failover drill, or holding a new "
                    "Region until its backfill completes), then wait until the change has taken effect.")
    parser.add_argument("--stack-name", default="mrap-edge")
    parser.add_argument("--activate", action="append", default=[], metavar="REGION",
                        help="give this Region traffic (dial 100); repeatable")
    parser.add_argument("--passive", action="append", default=[], metavar="REGION",
                        help="take this Region out of routing (dial 0); repeatable")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--dry-run", action="store_true", help="print the change, submit nothing")
    parser.add_argument("--no-wait", action="store_true", help="do not wait until the change is in effect")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the change (default 600)")
    return parser


def main(argv: Optional[Sequence[str]] = None, clients: Optional[ClientFactory] = None, sleep: Sleep = time.sleep,
         confirm: Optional[Confirm] = None, interactive: Optional[bool] = None) -> int:
    import sys

    from .status.facts import quick_clients, read_facts

    args = build_parser().parse_args(argv)
    both = sorted(set(args.activate) & set(args.passive))
    if both:
        print(f"routes: {', '.join(both)} cannot be both active and passive", file=sys.stderr)
        return 2
    wanted = {**{r: ACTIVE for r in args.activate}, **{r: PASSIVE for r in args.passive}}
    try:
        factory = clients or quick_clients()
        facts = read_facts(factory, args.stack_name)
        notes = _backfill_notes(factory, facts)
        if not wanted:
            print(f"routes of {facts.mrap_arn} (stack {facts.stack_name}):")
            print(format_routes(get_routes(factory, facts.account, facts.mrap_arn), notes))
            return 0
        warnings = {r: f"{notes[r]}: viewers nearest {r} would get 403 for objects not yet copied"
                    for r in args.activate if r in notes}
        if confirm is None:
            tty = sys.stdin.isatty() if interactive is None else interactive
            if args.yes:
                confirm = lambda question: True  # noqa: E731
            elif tty:
                confirm = _ask
            elif not args.dry_run:
                raise ToolError("refusing to change the routes without confirmation: no terminal to ask on; "
                                "pass --yes (or --dry-run to see the change)")
        change_routes(factory, facts.account, facts.mrap_arn, wanted, print, confirm or (lambda q: False),
                      args.dry_run, not args.no_wait, sleep, args.timeout, warnings)
    except ToolError as error:
        print(f"routes: {error}", file=sys.stderr)
        return 1
    except ClientError as error:
        print(f"routes: {refusal('read the stack and routes', error)}", file=sys.stderr)
        return 1
    except BotoCoreError as error:
        print(f"routes: unable to call AWS: {error} (run where AWS credentials are set up, e.g. CloudShell)",
              file=sys.stderr)
        return 1
    return 0
