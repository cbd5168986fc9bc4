"""`scripts/backfill`: what the backfill copied, resuming it, and the routes that follow from it."""
from __future__ import annotations

import argparse
import time
from typing import Callable, List, Optional, Sequence

from infra.aws import backfill
from infra.aws.clients import HOME_REGION, ClientFactory, SessionClients
from infra.aws.errors import ToolError
from infra.aws.stack_buckets import buckets_from_stack, code_bucket_name
from infra.aws.regions import Bucket
from infra.aws.stack import stack_outputs

from .common import EXIT_NOT_YET, EXIT_OK, Confirm, confirmation, parser_for, print_json, run

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = parser_for("scripts/backfill", "Objects that existed before replication: S3 Batch Replication jobs, "
                                            "their progress, and which buckets are complete.")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--status", action="store_true", help="(default) what is copied, each job's progress")
    action.add_argument("--resume", action="store_true",
                        help="start what is missing (again), wait for the jobs, then make complete Regions active")
    action.add_argument("--activate", action="store_true",
                        help="set the routes from what is complete now, without waiting")
    parser.add_argument("--stack-name", default="mrap-edge")
    parser.add_argument("--code-bucket", help="the deployables bucket deploy used (default "
                        "mrap-edge-deployables-<account>), which holds the record of what is complete")
    parser.add_argument("--poll", type=float, default=60.0, help="--resume: seconds between progress lines")
    parser.add_argument("--timeout", type=float, help="--resume: stop waiting after this many seconds")
    parser.add_argument("--json", action="store_true", help="--status: the pairs and jobs as JSON")
    parser.add_argument("--dry-run", action="store_true",
                        help="--resume/--activate: say which jobs would start and how the routes would change")
    parser.add_argument("--yes", action="store_true", help="--resume/--activate: do not ask first")
    return parser


def _dry_run(factory: ClientFactory, account: str, stack_name: str, buckets: List[Bucket],
             record: backfill.Record, mrap: str) -> int:
    plan = backfill.plan_backfill(factory, account, stack_name, buckets, record)
    for source in plan.to_start + [b for b in buckets if b.name in {j.source for j in plan.broken}]:
        print(f"would start a backfill job (S3 Batch Replication) {source.name} -> "
              f"{', '.join(d.name for d in plan.destinations[source.name])}, objects "
              f"{', '.join(plan.statuses[source.name])}")
    for job in plan.running:
        print(backfill.progress_line(job))
    if mrap:
        backfill.apply_routes(factory, account, mrap, buckets, plan, record, print, dry_run=True)
    print("dry run: nothing was started or changed")
    return EXIT_NOT_YET if plan.incomplete else EXIT_OK


def main(argv: Optional[Sequence[str]] = None, clients: Optional[ClientFactory] = None,
         sleep: Callable[[float], None] = time.sleep, confirm: Optional[Confirm] = None,
         interactive: Optional[bool] = None) -> int:
    args = _parser().parse_args(argv)

    def body() -> int:
        factory: ClientFactory = clients or SessionClients()
        outputs = stack_outputs(factory, args.stack_name)
        buckets = buckets_from_stack(outputs)
        if not buckets:
            raise ToolError(f"unable to read the buckets from stack {args.stack_name}'s outputs")
        account = str(factory("sts", HOME_REGION).get_caller_identity()["Account"])
        record = backfill.load_record(factory, args.code_bucket or code_bucket_name(account), args.stack_name)
        if not (args.resume or args.activate):
            if args.json:
                jobs = backfill.list_stack_jobs(factory, account, args.stack_name, [b.region for b in buckets])
                print_json({"complete": record.complete, "made_passive": record.made_passive,
                            "jobs": [vars(job) for job in jobs]})
                complete = all(record.is_complete(s.name, d.name) for s in buckets for d in buckets if s != d)
            else:
                complete = backfill.status(factory, account, args.stack_name, buckets, record, print)
            return EXIT_OK if complete else EXIT_NOT_YET
        mrap = outputs.get("MrapArn", "")
        if args.dry_run:
            return _dry_run(factory, account, args.stack_name, buckets, record, mrap)
        asked = confirm or confirmation(args.yes, False, interactive)
        if asked is not None and not asked("backfill: start what is missing and set the routes from what is "
                                           "complete?"):
            raise ToolError("not confirmed: nothing was started or changed")
        if args.resume:
            plan = backfill.resume(factory, account, args.stack_name, buckets, record, mrap, print, sleep,
                                   args.poll, args.timeout)
        else:
            plan = backfill.plan_backfill(factory, account, args.stack_name, buckets, record)
            backfill.save_record(factory, record)
            backfill.apply_routes(factory, account, mrap, buckets, plan, record, print, sleep)
        if plan.incomplete:
            print(f"still missing objects: {', '.join(sorted(plan.incomplete))} (passive until copied)")
            return EXIT_NOT_YET
        print("backfill complete: every bucket holds every object; next: scripts/upload-probes")
        return EXIT_OK

    return run("backfill", body, "the backfill jobs go on in S3; scripts/backfill --status shows them")
