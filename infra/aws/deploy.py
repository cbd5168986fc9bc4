"""`scripts/deploy`: package, upload by hash, buckets and replication when asked, stack via change set, outputs.

Idempotent: every step first looks at what is there; a second run with nothing changed uploads nothing, creates no
change set and says "no changes". With --create-buckets, objects that existed before replication are copied by S3
Batch Replication (backfill.py) and a bucket still missing objects stays passive in the MRAP routes until its job
has completed; running deploy again (or scripts/backfill --resume) makes it active then. `--dry-run` reads
everything and prints what would change, up to the change set, and writes nothing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ..packaging import build_package, file_sha256
from .stack_buckets import bucket_parameters, code_bucket_name
from . import account_checks, adopted_role, backfill, domains, edge_services, error_pages, object_survey, preflight
from . import replication, routes, stack
from . import buckets as s3_setup
from .clients import HOME_REGION, ClientFactory, ToolError
from .regions import Bucket, check_bucket_count, check_native_mode

__all__ = ["DeployOptions", "deploy", "code_key", "stack_parameters", "REPO_ROOT"]

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
    # "404" grants s3:ListBucket through the MRAP (template parameter MissingKeys); None keeps the stack's value.
    missing_keys: Optional[str] = None
    alternate_domains: domains.DomainOptions = domains.DomainOptions()


def code_key(sha256_hex: str) -> str:
    """The S3 key of a package: named by its content, so new code means a new key and a new function version."""
    return f"mrap-edge/{sha256_hex}.zip"


def _package(options: DeployOptions, say: Say) -> Path:
    if options.zip_path is not None:
        if not options.zip_path.is_file():
            raise ToolError(f"unable to read package: {options.zip_path}")
        return options.zip_path
    from edge.config import load_config  # the function's own config module: read only when packaging here

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
        if options.missing_keys == "404":  # the template's Rule MissingKeys404NeedsTheFunction, said before any call
            raise ToolError("unable to answer missing keys with 404 in native mode: with s3:ListBucket granted, "
                            "CloudFront would pass a request for / to the MRAP as a listing, and only the function "
                            "refuses it; deploy without --native, or keep --missing-keys 403")
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
        **bucket_parameters(options.buckets),
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
        **({"MissingKeys": options.missing_keys} if options.missing_keys else {}),
    }
    if code_bucket is not None and key is not None:
        parameters.update(CodeBucket=code_bucket, CodeKey=key)
    return parameters
def _buckets_and_replication(clients: ClientFactory, account: str, options: DeployOptions, code_bucket: str,
                             say: Say, sleep: Callable[[float], None],
                             facts: account_checks.AccountFacts) -> Optional[backfill.BackfillPlan]:
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
    if facts.adopted_role:
        role_arn = adopted_role.adopt_replication_role(clients, options.stack_name, options.buckets,
                                                       replication.replication_policy(options.buckets, facts.kms),
                                                       say, dry)
    else:
        role_arn = replication.ensure_replication_role(clients, account, options.stack_name, options.buckets, say,
                                                       dry, kms=facts.kms)
    replication.put_replication(clients, options.stack_name, options.buckets, role_arn, options.rtc, say, dry,
                                kms=facts.kms)
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
            destinations, statuses = plan.destinations[source.name], plan.statuses[source.name]
            for line in object_survey.backfill_lines(clients, source, destinations):  # versions, archived, lifecycle
                say(line)
            if options.dry_run:
                say(f"would start a backfill job (S3 Batch Replication) {source.name} -> "
                    f"{', '.join(d.name for d in destinations)} in {source.region}, objects "
                    f"{', '.join(statuses)}")
                if "COMPLETED" in statuses:
                    say("  " + backfill.recopy_cost(clients, source))
                continue
            plan.running.append(backfill.start_job(clients, account, options.stack_name, source, destinations,
                                                   role_arn, say, sleep, role_is_new=created, statuses=statuses))
    if not options.dry_run:
        backfill.save_record(clients, record)
    return plan


class NewMrapRoutes:
    """A new MRAP routes to every Region, the new, empty bucket's too, from the moment it exists; the stack goes on
    for minutes (the distribution, the old MRAP's deletion). So, during the stack's wait, the routes of a new MRAP
    are submitted as soon as S3 reports it, not after the stack."""

    def __init__(self, clients: ClientFactory, account: str, options: DeployOptions,
                 existing: Optional[Dict[str, Any]], plan: Optional[backfill.BackfillPlan], say: Say,
                 sleep: Callable[[float], None]) -> None:
        current = {p["ParameterKey"]: p.get("ParameterValue", "") for p in (existing or {}).get("Parameters", [])}
        self.new = plan is not None and current.get("MrapName") != options.mrap_name
        self.clients, self.account, self.options, self.plan, self.say = clients, account, options, plan, say
        self.sleep = sleep
        self.submitted = ""  # the MRAP's ARN once its routes are submitted

    def poll(self) -> None:
        if not self.new or self.submitted or self.plan is None or self.plan.record is None:
            return
        arn = routes.find_mrap(self.clients, self.account, self.options.mrap_name)
        if not arn:
            return
        self.say(f"MRAP {self.options.mrap_name} exists: setting its routes now (it routes to every Region until "
                 "then)")
        self.new = False  # set once
        if backfill.apply_routes(self.clients, self.account, arn, self.options.buckets, self.plan, self.plan.record,
                                 self.say, self.sleep, wait=False):
            self.submitted = arn


def _set_routes(clients: ClientFactory, account: str, options: DeployOptions, mrap_arn: str,
                plan: Optional[backfill.BackfillPlan], say: Say, sleep: Callable[[float], None],
                submitted: str = "") -> None:
    """A bucket still missing objects is passive; the others are active (at least one always is); a Region passive
    for another reason stays so. Routes submitted during the stack's wait are waited for here."""
    if plan is None:
        return
    if not mrap_arn:
        if options.dry_run:  # the MRAP does not exist yet: say what its routes would be set to
            wanted = backfill.wanted_routes(options.buckets, plan.incomplete, backfill.sources_of(plan))
            say("would set the routes of the new MRAP as soon as it exists: " + ", ".join(
                f"{b.region} {'active' if wanted[b.region] else 'passive'}" for b in options.buckets))
        return
    record = plan.record or backfill.Record(bucket="", key="")
    if submitted == mrap_arn:
        wanted, _ = backfill.routes_for(options.buckets, plan, routes.get_routes(clients, account, mrap_arn), record)
        routes.wait_for_routes(clients, account, mrap_arn, wanted, say, sleep)
        say("routes: in effect")
    else:
        backfill.apply_routes(clients, account, mrap_arn, options.buckets, plan, record, say, sleep,
                              dry_run=options.dry_run)
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
           sleep: Callable[[float], None] = time.sleep,
           confirm: Optional[Callable[[str], bool]] = None) -> stack.StackResult:
    """The steps, in this order: checks that need no AWS; the change set, validated by CloudFormation and not
    executed, before anything else is written (a refusal leaves the account as it was); the code; the buckets,
    replication and backfill; the change set executed (a new MRAP's routes are set as soon as it exists); the
    extras outside the stack; the routes; the report."""
    _check_options(options)
    body = stack.template_body(options.template)
    preflight.preflight(options, stack_parameters(options), clients, say, body=body)
    if options.alternate_domains.names:
        domains.check_certificate(clients, options.alternate_domains)
    if options.dry_run:
        say("dry run: reading only; nothing is created, changed, uploaded or started")
    account = clients("sts", HOME_REGION).get_caller_identity()["Account"]
    # Encryption, bucket policies, an adopted role: reads only, and every refusal before any write (account_checks).
    facts = account_checks.before_deploy(clients, options, account, say)
    zip_path = _package(options, say)
    key = code_key(file_sha256(zip_path))
    code_bucket = options.code_bucket or code_bucket_name(account)
    parameters = {**stack_parameters(options, code_bucket, key), **account_checks.stack_parameters(facts)}
    if options.dry_run:
        return _dry_run(clients, account, options, code_bucket, key, zip_path, parameters, say, sleep, facts)
    existing = stack.existing_stack(clients, options.stack_name)
    check_before_writing(clients, account, options, facts)
    change_set = stack.prepare_change_set(clients, options.stack_name, body, parameters, say, sleep)
    if confirm is not None:  # say every step's change (reads only), then ask
        _buckets_and_replication(clients, account, replace(options, dry_run=True), code_bucket, say, sleep, facts)
        try:
            go = confirm("deploy: go ahead with these steps and the change set above?")
        except (ToolError, KeyboardInterrupt):  # no terminal to ask on, or Ctrl-C at the question
            stack.discard_change_set(clients, change_set)
            raise
        if not go:
            stack.discard_change_set(clients, change_set)
            raise ToolError("not confirmed: nothing was changed (the change set was deleted)")
    s3_setup.ensure_bucket(clients, Bucket(code_bucket, HOME_REGION), say, versioned=False)
    s3_setup.upload_code(clients, code_bucket, key, zip_path, say)
    backfill_plan = _buckets_and_replication(clients, account, options, code_bucket, say, sleep, facts)
    new_mrap = NewMrapRoutes(clients, account, options, existing, backfill_plan, say, sleep)
    result = stack.execute_change_set(clients, change_set, say, sleep, on_poll=new_mrap.poll)
    _outside_the_stack(clients, account, options, result, say, facts)
    _set_routes(clients, account, options, result.outputs.get("MrapArn", ""), backfill_plan, say, sleep,
                submitted=new_mrap.submitted)
    edge_services.report(clients, account, result.outputs, say)
    domains.publish_dns(clients, options.alternate_domains, result.outputs.get("DistributionDomainName", ""), say)
    say("outputs:")
    for name in sorted(result.outputs):
        say(f"  {name:<24} {result.outputs[name]}")
    return result


def check_before_writing(clients: ClientFactory, account: str, options: DeployOptions,
                         facts: account_checks.AccountFacts) -> None:
    """What deploy reads and can refuse before it writes anything: each existing bucket (its Region, versioning) and
    whether its replication configuration can take our rules (under our role, or the user's role deploy adopts).
    The buckets' encryption and policies were read before (account_checks.before_deploy)."""
    for bucket in options.buckets:
        s3_setup.check_existing_bucket(clients, bucket, required=not options.create_buckets)
    if options.create_buckets:
        role_arn = facts.adopted_role or replication.role_arn_for(
            account, replication.replication_role_name(options.stack_name))
        replication.plan_all(clients, options.stack_name, options.buckets, role_arn, options.rtc, facts.kms)


def _dry_run(clients: ClientFactory, account: str, options: DeployOptions, code_bucket: str, key: str,
             zip_path: Path, parameters: Dict[str, str], say: Say,
             sleep: Callable[[float], None], facts: account_checks.AccountFacts) -> stack.StackResult:
    """Every step's plan, from reads only."""
    s3_setup.ensure_bucket(clients, Bucket(code_bucket, HOME_REGION), say, versioned=False, dry_run=True)
    s3_setup.upload_code(clients, code_bucket, key, zip_path, say, dry_run=True)
    backfill_plan = _buckets_and_replication(clients, account, options, code_bucket, say, sleep, facts)
    existing = stack.existing_stack(clients, options.stack_name)
    _print_stack_plan(existing, options.stack_name, parameters, say)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (existing or {}).get("Outputs", [])}
    current = {p["ParameterKey"]: p.get("ParameterValue", "") for p in (existing or {}).get("Parameters", [])}
    mrap = outputs.get("MrapArn", "") if current.get("MrapName", options.mrap_name) == options.mrap_name else ""
    _set_routes(clients, account, options, mrap, backfill_plan, say, sleep)
    domains.publish_dns(clients, options.alternate_domains, outputs.get("DistributionDomainName", ""), say, True)
    say("dry run: nothing was changed")
    return stack.StackResult(changed=False, outputs=outputs)


def _outside_the_stack(clients: ClientFactory, account: str, options: DeployOptions, result: stack.StackResult,
                       say: Say, facts: account_checks.AccountFacts) -> None:
    """What the stack cannot do from us-east-1: bucket policies and the error page in the buckets' Regions, and the
    retention of the function's log groups in every Region."""
    distribution_id = result.outputs.get("DistributionId")
    if distribution_id:
        arn = f"arn:aws:cloudfront::{account}:distribution/{distribution_id}"
        # Native mode: CloudFront reads every bucket through the MRAP, so each one needs the read statement.
        for bucket in options.buckets if options.native else options.buckets[:1]:
            s3_setup.allow_failover_reads(clients, bucket, arn, say)
        account_checks.after_stack(clients, facts, options, arn, say)  # the key-policy statements CloudFront needs
    error_pages.ensure_error_page(clients, options.buckets[0], say)
    if result.outputs.get("FunctionName") and options.log_retention_days:
        edge_services.set_log_retention(clients, result.outputs["FunctionName"], options.log_retention_days, say)
