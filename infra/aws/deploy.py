"""`scripts/deploy`: package, upload by hash, buckets and replication when asked, stack via change set, outputs.

Idempotent: every step first looks at what is there; a second run with nothing changed uploads nothing, creates no
change set and says "no changes". With --create-buckets, objects that existed before replication are copied by S3
Batch Replication (backfill.py) and a bucket still missing objects stays passive in the MRAP routes until its job
has completed; running deploy again (or scripts/backfill --resume) makes it active then. `--dry-run` reads
everything and prints what would change, up to the change set, and writes nothing.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from ..packaging import file_sha256
from . import account_checks, adopted_role, backfill, domains, edge_services, encryption, error_pages
from . import object_survey, preflight, replication, routes, stack
from . import buckets as s3_setup
from .clients import HOME_REGION, ClientFactory, SessionClients, ToolError
from .errors import unexpected
from .regions import Bucket, check_bucket_count, check_native_mode, parse_buckets

__all__ = ["DeployOptions", "deploy", "main", "code_key", "build_parser"]

Say = Callable[[str], None]
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DeployOptions:
    buckets: List[Bucket]
    stack_name: str = "mrap-edge"
    template: Path = REPO_ROOT / "cloudformation.template"
    zip_path: Optional[Path] = None
    runtime: str = "python3.13"
    create_buckets: bool = False
    rtc: bool = False
    native: bool = False
    mrap_name: str = "mrap-edge"
    function_name: str = "mrap-edge"
    memory: int = 512
    timeout: int = 5
    price_class: str = "PriceClass_100"
    failover_status_codes: str = "500,502,503,504"
    allowed_cidrs: str = ""
    code_bucket: Optional[str] = None
    extra: Dict[str, str] = field(default_factory=dict)
    origin_path: str = ""
    log_retention_days: int = 30
    dry_run: bool = False
    kms_keys: Dict[str, str] = field(default_factory=dict)  # region -> KMS key for SSE-KMS replicas (encryption.py)
    adopt_replication_role: bool = False  # adopted_role.py
    alternate_domains: domains.DomainOptions = domains.DomainOptions()


def code_key(sha256_hex: str) -> str:
    """The S3 key of a package: named by its content, so new code means a new key and a new function version."""
    return f"mrap-edge/{sha256_hex}.zip"


def _package(options: DeployOptions, say: Say) -> Path:
    if options.zip_path is not None:
        if not options.zip_path.is_file():
            raise ToolError(f"unable to read package: {options.zip_path}")
        return options.zip_path
    try:
        from infra.packaging import build_package
    except ImportError as error:
        raise ToolError(f"unable to build the package ({error}); pass --zip PATH") from None
    from edge.config import load_config

    result = build_package(runtime=options.runtime, config=load_config(), out_dir=REPO_ROOT / "dist",
                           requirements=REPO_ROOT / "requirements.txt")
    say(f"packaged {result.path} ({result.size} bytes, {result.runtime}); bytecode: {result.bytecode.detail}")
    if not result.bytecode.files:  # every cold container will compile the code: say so, it costs the viewer
        say(f"warning: the zip has no .pyc files, so each cold start compiles the code; install CPython "
            f"{options.runtime[len('python'):]} here (or pass --zip built with scripts/package --require-pyc)")
    return Path(result.path)


def _check_options(options: DeployOptions) -> None:
    """Everything that can be refused without calling AWS."""
    check_bucket_count(options.buckets)
    if options.native:
        check_native_mode(b.region for b in options.buckets)
    codes = [c.strip() for c in options.failover_status_codes.split(",") if c.strip()]
    allowed = {"400", "403", "404", "416", "500", "502", "503", "504"}
    bad = [c for c in codes if c not in allowed]
    if not codes or bad:
        raise ToolError(f"unable to use failover status codes {options.failover_status_codes!r}: "
                        f"choose from {', '.join(sorted(allowed))}")
    if not options.template.is_file():
        raise ToolError(f"unable to read template: {options.template}")


def stack_parameters(options: DeployOptions, code_bucket: Optional[str] = None,
                     key: Optional[str] = None) -> Dict[str, str]:
    """The stack's parameters; without the code bucket and key (known after packaging) for the preflight."""
    parameters = {
        "MrapName": options.mrap_name,
        "BucketNames": ",".join(b.name for b in options.buckets),
        "BucketRegions": ",".join(b.region for b in options.buckets),
        "FunctionName": options.function_name,
        "Runtime": options.runtime,
        "MemorySize": str(options.memory),
        "Timeout": str(options.timeout),
        "FailoverStatusCodes": options.failover_status_codes,
        "PriceClass": options.price_class,
        "AllowedIpv4Cidrs": options.allowed_cidrs,
        "NativeMode": "true" if options.native else "false",
        "OriginPath": options.origin_path,
        **options.extra,
        **(options.alternate_domains.stack_parameters if options.alternate_domains.names else {}),
    }
    if code_bucket is not None and key is not None:
        parameters.update(CodeBucket=code_bucket, CodeKey=key)
    return parameters
def _buckets_and_replication(clients: ClientFactory, account: str, options: DeployOptions, code_bucket: str,
                             say: Say, sleep: Callable[[float], None],
                             facts: Optional[account_checks.AccountFacts] = None) -> Optional[backfill.BackfillPlan]:
    """The Regional buckets, two-way replication and the backfill of existing objects; the backfill plan, or None
    when the user replicates the buckets themselves (no --create-buckets)."""
    dry = options.dry_run
    if not options.create_buckets:
        for bucket in options.buckets:
            s3_setup.check_bucket(clients, bucket)
        missing = replication.missing_replication(clients, options.buckets)
        if missing:
            source, destination = missing[0]
            raise ToolError(
                f"unable to use buckets that do not replicate to each other: no enabled rule of {source.name} "
                f"replicates every key to {destination.name}, so the MRAP would answer 403 there for objects written "
                f"to {source.name}; pass --create-buckets to add mrap-edge's rules (your rules are kept), or add "
                "such a rule yourself")
        say("replication checked both ways (your rules); objects written before them are not copied by them")
        return None
    for bucket in options.buckets:
        s3_setup.ensure_bucket(clients, bucket, say, versioned=True, dry_run=dry)
    kms = facts.kms if facts else None
    if options.adopt_replication_role:
        role_arn = adopted_role.adopt_replication_role(clients, options.stack_name, options.buckets,
                                                       replication.replication_policy(options.buckets, kms), say, dry)
    else:
        role_arn = replication.ensure_replication_role(clients, account, options.stack_name, options.buckets, say,
                                                       dry, kms=kms)
    replication.put_replication(clients, options.buckets, role_arn, options.rtc, say, dry, kms=kms)
    return _backfill(clients, account, options, code_bucket, say, sleep)


def _backfill(clients: ClientFactory, account: str, options: DeployOptions, code_bucket: str, say: Say,
              sleep: Callable[[float], None]) -> backfill.BackfillPlan:
    """Start a Batch Replication job for each source bucket whose objects the others may not have yet; report the
    jobs of earlier runs."""
    record = backfill.load_record(clients, code_bucket, options.stack_name)
    plan = backfill.plan_backfill(clients, account, options.stack_name, options.buckets, record)
    for job in plan.running:
        say(backfill.progress_line(job))
    for job in plan.broken:
        say(backfill.progress_line(job))
        say(f"  the last backfill of {job.source} did not copy everything; {', '.join(job.destinations)} stay(s) "
            f"passive. Fix the cause above, then: scripts/backfill --stack-name {options.stack_name} --resume")
    if plan.to_start:
        role_arn, created = backfill.ensure_batch_role(clients, account, options.stack_name, options.buckets, say,
                                                       options.dry_run)
        for source in plan.to_start:
            destinations = plan.pending_destinations(options.buckets, source, record)
            for line in object_survey.backfill_lines(clients, source, destinations):
                say(line)
            if options.dry_run:
                say(f"would start a backfill job (S3 Batch Replication) {source.name} -> "
                    f"{', '.join(d.name for d in destinations)} in {source.region}")
                continue
            plan.running.append(backfill.start_job(clients, account, options.stack_name, source, destinations,
                                                   role_arn, say, sleep, role_is_new=created))
    if not options.dry_run:
        backfill.save_record(clients, record)
    return plan


def _set_routes(clients: ClientFactory, account: str, options: DeployOptions, mrap_arn: str,
                plan: Optional[backfill.BackfillPlan], say: Say, sleep: Callable[[float], None]) -> None:
    """A bucket still missing objects is passive; the others are active (at least one always is)."""
    if plan is None:
        return
    sources = [job.source for job in plan.running + plan.broken] + [b.name for b in plan.to_start]
    wanted = backfill.wanted_routes(options.buckets, plan.incomplete, sources)
    if not mrap_arn:
        if options.dry_run:  # the MRAP does not exist yet: say what its routes would be set to
            say("would set the routes of the new MRAP: " + ", ".join(
                f"{b.region} {'active' if wanted[b.region] else 'passive'}" for b in options.buckets))
        return
    routes.set_routes(clients, account, mrap_arn, wanted, say, dry_run=options.dry_run, sleep=sleep)
    if plan.incomplete:
        say(f"next: scripts/backfill --stack-name {options.stack_name} --resume waits for the backfill, printing its "
            "progress, and makes the waiting Region(s) active (or run deploy again later); write the probes after "
            "that (scripts/upload-probes)")


def _print_stack_plan(existing: Optional[Dict[str, Any]], name: str, parameters: Dict[str, str], say: Say) -> None:
    """Dry run: what the change set would be made from (making one is already a write)."""
    if existing is None:
        say(f"would create stack {name} in {HOME_REGION} through a change set, with:")
        for key in sorted(parameters):
            say(f"  {key:<26} {parameters[key]}")
        return
    current = {p["ParameterKey"]: p.get("ParameterValue", "") for p in existing.get("Parameters", [])}
    changed = {k: v for k, v in parameters.items() if current.get(k) != v}
    say(f"would update stack {name} ({existing.get('StackStatus')}) through a change set"
        + (", changing:" if changed else "; parameters unchanged (a changed template would still make a change set)"))
    for key in sorted(changed):
        say(f"  {key:<26} {current.get(key, '(none)')} -> {changed[key]}")


def deploy(clients: ClientFactory, options: DeployOptions, say: Say = print,
           sleep: Callable[[float], None] = time.sleep) -> stack.StackResult:
    _check_options(options)
    preflight.preflight(options, stack_parameters(options), clients, say)
    if options.alternate_domains.names:
        domains.check_certificate(clients, options.alternate_domains)
    if options.dry_run:
        say("dry run: reading only; nothing is created, changed, uploaded or started")
    account = clients("sts", HOME_REGION).get_caller_identity()["Account"]
    facts = account_checks.before_deploy(clients, options, account, say)  # reads only; refuses before any write
    zip_path = _package(options, say)
    digest = file_sha256(zip_path)
    key = code_key(digest)
    code_bucket = options.code_bucket or f"mrap-edge-deployables-{account}"
    s3_setup.ensure_bucket(clients, Bucket(code_bucket, HOME_REGION), say, versioned=False, dry_run=options.dry_run)
    s3_setup.upload_code(clients, code_bucket, key, zip_path, say, dry_run=options.dry_run)

    backfill_plan = _buckets_and_replication(clients, account, options, code_bucket, say, sleep, facts)

    parameters = stack_parameters(options, code_bucket, key)
    parameters.update(account_checks.stack_parameters(facts))
    body = options.template.read_text(encoding="utf-8")
    if options.dry_run:
        existing = stack.existing_stack(clients, options.stack_name)
        _print_stack_plan(existing, options.stack_name, parameters, say)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in (existing or {}).get("Outputs", [])}
        _set_routes(clients, account, options, outputs.get("MrapArn", ""), backfill_plan, say, sleep)
        domains.publish_dns(clients, options.alternate_domains, outputs.get("DistributionDomainName", ""), say, True)
        say("dry run: nothing was changed")
        return stack.StackResult(changed=False, outputs=outputs)
    result = stack.deploy_stack(clients, options.stack_name, body, parameters, say, sleep)

    distribution_id = result.outputs.get("DistributionId")
    if distribution_id:
        arn = f"arn:aws:cloudfront::{account}:distribution/{distribution_id}"
        # Native mode: CloudFront reads every bucket through the MRAP, so each one needs the read statement.
        for bucket in options.buckets if options.native else options.buckets[:1]:
            s3_setup.allow_failover_reads(clients, bucket, arn, say)
        account_checks.after_stack(clients, facts, options, arn, say)
    error_pages.ensure_error_page(clients, options.buckets[0], say)
    if result.outputs.get("FunctionName") and options.log_retention_days:
        edge_services.set_log_retention(clients, result.outputs["FunctionName"], options.log_retention_days, say)
    _set_routes(clients, account, options, result.outputs.get("MrapArn", ""), backfill_plan, say, sleep)
    edge_services.report(clients, account, result.outputs, say)
    domains.publish_dns(clients, options.alternate_domains, result.outputs.get("DistributionDomainName", ""), say)
    say("outputs:")
    for name in sorted(result.outputs):
        say(f"  {name:<24} {result.outputs[name]}")
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scripts/deploy", description=__doc__.splitlines()[0])
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
    parser.add_argument("--kms-key", action="append", default=[], metavar="REGION=KEY_ARN",
                        help="SSE-KMS: the key replicas are written with in REGION (default: the bucket's own SSE-KMS "
                             "key); repeat per Region")
    parser.add_argument("--adopt-replication-role", action="store_true",
                        help="with --create-buckets: a bucket that already replicates keeps its role; mrap-edge adds "
                             "its permissions to it as a separate inline policy (teardown removes it)")
    domains.add_arguments(parser)
    return parser


def _resolve_buckets(clients: ClientFactory, text: str) -> List[Bucket]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    resolved = [item if "@" in item else f"{item}@{s3_setup.bucket_region(clients, item)}" for item in items]
    return parse_buckets(",".join(resolved))


def main(argv: Optional[Sequence[str]] = None, clients: Optional[ClientFactory] = None,
         sleep: Callable[[float], None] = time.sleep) -> int:
    args = build_parser().parse_args(argv)
    try:
        factory: Any = clients or SessionClients()
        options = DeployOptions(
            buckets=_resolve_buckets(factory, args.buckets), stack_name=args.stack_name, template=args.template,
            zip_path=args.zip, runtime=args.runtime, create_buckets=args.create_buckets, rtc=args.rtc,
            native=args.native, mrap_name=args.mrap_name, function_name=args.function_name, memory=args.memory,
            timeout=args.timeout, price_class=args.price_class, failover_status_codes=args.failover_status_codes,
            allowed_cidrs=args.allowed_cidrs, code_bucket=args.code_bucket, dry_run=args.dry_run,
            origin_path=args.origin_path, log_retention_days=args.log_retention_days,
            kms_keys=encryption.parse_kms_keys(args.kms_key), adopt_replication_role=args.adopt_replication_role,
            alternate_domains=domains.DomainOptions.parse(args.alternate_domain_names, args.certificate_arn,
                                                          args.hosted_zone_id),
        )
        deploy(factory, options, sleep=sleep)
    except ToolError as error:
        print(f"deploy: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"deploy: {unexpected(error)}", file=sys.stderr)
        return 1
    return 0
