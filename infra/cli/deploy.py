"""`scripts/deploy`: the options of `infra.aws.deploy.deploy`, a confirmation before anything is written, one line
per refusal."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence

from infra.aws import domains, encryption
from infra.aws.buckets import bucket_region
from infra.aws.clients import ClientFactory, SessionClients
from infra.aws.deploy import REPO_ROOT, DeployOptions, deploy
from infra.aws.regions import Bucket, parse_buckets

from .common import EXIT_OK, Confirm, confirmation, parser_for, print_json, run

__all__ = ["build_parser", "main", "resolve_buckets"]

INTERRUPTED = ("what was started goes on in AWS (a stack update in CloudFormation, a backfill job); run deploy again "
               "to continue from there, or --dry-run to see where things stand")


def build_parser() -> argparse.ArgumentParser:
    parser = parser_for("scripts/deploy", "Package, upload by hash, buckets and replication when asked, stack via "
                                          "change set, outputs.")
    parser.add_argument("--buckets", required=True,
                        help="name@region,... in order; the first is the failover origin (name alone: looked up)")
    parser.add_argument("--create-buckets", action="store_true",
                        help="create missing buckets (versioning, encryption, Block Public Access), set up two-way "
                             "replication (merged with existing rules) and copy existing objects (Batch Replication)")
    parser.add_argument("--rtc", action="store_true",
                        help="with --create-buckets: S3 Replication Time Control (15 min)")
    parser.add_argument("--stack-name", default="mrap-edge")
    parser.add_argument("--template", type=Path, default=REPO_ROOT / "cloudformation.template")
    parser.add_argument("--zip", type=Path, help="a prebuilt package instead of building one")
    parser.add_argument("--runtime", default="python3.13")
    parser.add_argument("--native", action="store_true",
                        help="CloudFront origin access control signs (sigv4a) instead of the function; "
                             "not with opt-in Regions")
    parser.add_argument("--mrap-name", default="mrap-edge")
    parser.add_argument("--function-name", default="mrap-edge")
    parser.add_argument("--memory", type=int, default=512)
    parser.add_argument("--timeout", type=int, default=5)
    parser.add_argument("--price-class", default="PriceClass_100")
    parser.add_argument("--failover-status-codes", default="500,502,503,504")
    parser.add_argument("--allowed-cidrs", default="",
                        help="company IPv4 ranges; adds a WAF web ACL that blocks the rest")
    parser.add_argument("--code-bucket", help="us-east-1 bucket for packages (default mrap-edge-deployables-<account>)")
    parser.add_argument("--origin-path", default="",
                        help="key prefix in every bucket, in S3's canonical form (e.g. /images; default: the root)")
    parser.add_argument("--log-retention-days", type=int, default=30,
                        help="retention of the function's log group in every enabled Region (0: leave them alone)")
    parser.add_argument("--dry-run", action="store_true",
                        help="read everything and print what would change, up to the change set; write nothing")
    parser.add_argument("--yes", action="store_true", help="do not ask before writing")
    parser.add_argument("--json", action="store_true",
                        help="the stack's outputs as JSON on stdout (the progress goes to stderr)")
    parser.add_argument("--kms-key", action="append", default=[], metavar="REGION=KEY_ARN",
                        help="SSE-KMS: the key replicas are written with in REGION (default: the bucket's own SSE-KMS "
                             "key); repeat per Region")
    parser.add_argument("--adopt-replication-role", action="store_true",
                        help="with --create-buckets: a bucket that already replicates keeps its role; mrap-edge adds "
                             "its permissions to it as a separate inline policy (teardown removes it)")
    parser.add_argument("--missing-keys", choices=("403", "404"),
                        help="what a key missing from the bucket the MRAP chose answers (default 403, or what the "
                             "stack has): 404 grants the function s3:ListBucket through the MRAP (the function never "
                             "lets a viewer list); not with --native")
    domains.add_arguments(parser)
    return parser


def resolve_buckets(clients: ClientFactory, text: str) -> List[Bucket]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    resolved = [item if "@" in item else f"{item}@{bucket_region(clients, item)}" for item in items]
    return parse_buckets(",".join(resolved))


def options_from(args: argparse.Namespace, buckets: List[Bucket]) -> DeployOptions:
    return DeployOptions(
        buckets=buckets, stack_name=args.stack_name, template=args.template, zip_path=args.zip,
        runtime=args.runtime, create_buckets=args.create_buckets, rtc=args.rtc, native=args.native,
        mrap_name=args.mrap_name, function_name=args.function_name, memory=args.memory, timeout=args.timeout,
        price_class=args.price_class, failover_status_codes=args.failover_status_codes,
        allowed_cidrs=args.allowed_cidrs, code_bucket=args.code_bucket, dry_run=args.dry_run,
        origin_path=args.origin_path, log_retention_days=args.log_retention_days,
        kms_keys=encryption.parse_kms_keys(args.kms_key), adopt_replication_role=args.adopt_replication_role,
        missing_keys=args.missing_keys,
        alternate_domains=domains.DomainOptions.parse(args.alternate_domain_names, args.certificate_arn,
                                                      args.hosted_zone_id))


def main(argv: Optional[Sequence[str]] = None, clients: Optional[ClientFactory] = None,
         sleep: Callable[[float], None] = time.sleep, confirm: Optional[Confirm] = None,
         interactive: Optional[bool] = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        factory: Any = clients or SessionClients()
        options = options_from(args, resolve_buckets(factory, args.buckets))
        say = (lambda line: print(line, file=sys.stderr)) if args.json else print
        result = deploy(factory, options, say=say, sleep=sleep,
                        confirm=confirm or confirmation(args.yes, args.dry_run, interactive))
        if args.json:
            print_json(result.outputs)
        return EXIT_OK

    return run("deploy", body, INTERRUPTED)
