"""`scripts/routes`: show the MRAP routes, or make a Region active or passive (a failover drill, or holding a new
Region until its backfill completes), then wait until the change has taken effect."""
from __future__ import annotations

import argparse
import time
from typing import Callable, Dict, Optional, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from infra.aws import backfill
from infra.aws.clients import ClientFactory
from infra.aws.errors import error_code
from infra.aws.routes import ACTIVE, PASSIVE, change_routes, format_routes, get_routes
from infra.aws.status.facts import StackFacts, quick_clients, read_facts

from .common import EXIT_OK, EXIT_USAGE, Confirm, confirmation, parser_for, print_json, run

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = parser_for("scripts/routes", __doc__.split("\n\n")[0].replace("\n", " ").strip("`"))
    parser.add_argument("--stack-name", default="mrap-edge")
    parser.add_argument("--activate", action="append", default=[], metavar="REGION",
                        help="give this Region traffic (dial 100); repeatable")
    parser.add_argument("--passive", action="append", default=[], metavar="REGION",
                        help="take this Region out of routing (dial 0); repeatable")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--dry-run", action="store_true", help="print the change, submit nothing")
    parser.add_argument("--no-wait", action="store_true", help="do not wait until the change is in effect")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the change (default 600)")
    parser.add_argument("--json", action="store_true", help="without a change: the routes as JSON")
    return parser


def backfill_notes(clients: ClientFactory, facts: StackFacts) -> Dict[str, str]:
    """Per Region, the backfill copying into it while one is not complete (from the backfill's own reading of the
    jobs: one meaning of running)."""
    try:
        jobs = backfill.list_stack_jobs(clients, facts.account, facts.stack_name, [b.region for b in facts.buckets])
    except (ClientError, BotoCoreError) as error:
        return {b.region: f"backfill unknown ({error_code(error) or type(error).__name__})" for b in facts.buckets}
    notes = {}
    for bucket in facts.buckets:
        latest = next((job for job in jobs if bucket.name in job.destinations), None)
        if latest is not None and not latest.clean:
            notes[bucket.region] = backfill.progress_line(latest)
    return notes


def main(argv: Optional[Sequence[str]] = None, clients: Optional[ClientFactory] = None,
         sleep: Callable[[float], None] = time.sleep, confirm: Optional[Confirm] = None,
         interactive: Optional[bool] = None) -> int:
    import sys

    args = build_parser().parse_args(argv)
    both = sorted(set(args.activate) & set(args.passive))
    if both:
        print(f"routes: {', '.join(both)} cannot be both active and passive", file=sys.stderr)
        return EXIT_USAGE
    wanted = {**{r: ACTIVE for r in args.activate}, **{r: PASSIVE for r in args.passive}}

    def body() -> int:
        factory = clients or quick_clients()
        facts = read_facts(factory, args.stack_name)
        notes = backfill_notes(factory, facts)
        if not wanted:
            current = get_routes(factory, facts.account, facts.mrap_arn)
            if args.json:
                print_json([dict(vars(r), state=r.state, note=notes.get(r.region, "")) for r in current])
            else:
                print(f"routes of {facts.mrap_arn} (stack {facts.stack_name}):")
                print(format_routes(current, notes))
            return EXIT_OK
        warnings = {r: f"{notes[r]}: viewers nearest {r} would get 403 for objects not yet copied"
                    for r in args.activate if r in notes}
        asked = confirm or confirmation(args.yes, args.dry_run, interactive) or (lambda question: True)
        change_routes(factory, facts.account, facts.mrap_arn, wanted, print, asked, args.dry_run, not args.no_wait,
                      sleep, args.timeout, warnings)
        return EXIT_OK

    return run("routes", body, "a submitted change still takes effect; scripts/routes shows the routes")

