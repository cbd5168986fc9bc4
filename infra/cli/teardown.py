"""`scripts/teardown`: delete the stack and what deploy created, after saying what goes and what stays;
`scripts/teardown cleanup` deletes the retained function once CloudFront lets it go."""
from __future__ import annotations

import argparse
import time
from typing import Callable, Optional, Sequence

from infra.aws import edge_services
from infra.aws.clients import ClientFactory, SessionClients
from infra.aws.errors import ToolError
from infra.aws.regions import parse_buckets
from infra.aws.stack import deployed_function_name
from infra.aws.teardown import cleanup_function, teardown

from .common import EXIT_NOT_YET, EXIT_OK, Confirm, confirmation, parser_for, run

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = parser_for("scripts/teardown", __doc__.split("\n\n")[0].replace("\n", " ").strip("`"))
    parser.add_argument("command", nargs="?", choices=["stack", "cleanup"], default="stack",
                        help="stack (default): delete the stack and deploy's extras; cleanup: delete the function")
    parser.add_argument("--stack-name", default="mrap-edge")
    parser.add_argument("--function-name",
                        help="cleanup: the retained function (default: the stack's, while the stack exists; "
                             "teardown prints it)")
    parser.add_argument("--delete-buckets", action="store_true",
                        help="also empty and delete the buckets deploy created, take our rules out of the others, "
                             "and delete the roles")
    parser.add_argument("--buckets", help="name@region,...: the buckets to clean up, when the stack is gone and "
                                          "the replication role cannot say (default: the stack's, else the role's)")
    parser.add_argument("--code-bucket", help="the deployables bucket deploy used (default "
                        "mrap-edge-deployables-<account>); its backfill record is deleted with --delete-buckets")
    parser.add_argument("--dry-run", action="store_true", help="say what would be deleted and kept; delete nothing")
    parser.add_argument("--yes", action="store_true", help="do not ask before deleting")
    parser.add_argument("--interval", type=float, default=600.0, help="cleanup: seconds between attempts")
    parser.add_argument("--attempts", type=int, default=24, help="cleanup: attempts before giving up")
    return parser


def main(argv: Optional[Sequence[str]] = None, clients: Optional[ClientFactory] = None,
         sleep: Callable[[float], None] = time.sleep, confirm: Optional[Confirm] = None,
         interactive: Optional[bool] = None) -> int:
    args = _parser().parse_args(argv)

    def body() -> int:
        factory: ClientFactory = clients or SessionClients()
        # The function's name is the stack's own (<FunctionName>-<8 hex digits of the stack id>): read it while
        # the stack exists.
        function_name = args.function_name or deployed_function_name(factory, args.stack_name)
        if args.command == "cleanup":
            if not function_name:
                raise ToolError(f"unable to tell which function to delete: stack {args.stack_name} is gone; pass "
                                "--function-name (scripts/teardown printed it)")
            done = cleanup_function(factory, function_name, sleep=sleep, interval=args.interval,
                                    attempts=args.attempts)
            if done:  # only now: a replica still running would create its log group again
                edge_services.delete_log_groups(factory, function_name, print)
            return EXIT_OK if done else EXIT_NOT_YET
        asked = confirm or confirmation(args.yes, args.dry_run, interactive) or (lambda question: True)
        done = teardown(factory, args.stack_name, args.delete_buckets, sleep=sleep, code_bucket=args.code_bucket,
                        buckets=parse_buckets(args.buckets) if args.buckets else (), dry_run=args.dry_run,
                        confirm=asked)
        if done and function_name:
            print(f"next: `scripts/teardown cleanup --function-name {function_name}` deletes the retained function "
                  "once CloudFront has removed its replicas (hours)")
        return EXIT_OK

    return run("teardown", body, "what was deleted is gone; run teardown again (--dry-run first) for the rest")
