"""The Multi-Region Access Point: its status, Block Public Access, the policy's grant to the function role, and the
routes (which Regions are active or passive), explained against the backfill: a Region is held passive until the
backfill jobs copying into it are complete, and an active Region must not be missing objects."""
from __future__ import annotations

import fnmatch
import json
from typing import Any, Dict, Iterable, List, Optional, Sequence

from .. import routes as mrap_routes
from ..clients import ClientFactory
from ..errors import ToolError
from .backfill import BackfillJob, jobs_into
from .checklist import AWS_ERRORS, Area, Check, failed, is_missing, passed, refused, verdict
from .facts import StackFacts

__all__ = ["MRAP_API_REGION", "mrap_checks", "route_checks", "policy_grants"]

AREA: Area = "mrap"
# The MRAP management API (GetMultiRegionAccessPoint, its policy) is served from us-west-2.
MRAP_API_REGION = "us-west-2"
READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
_BPA = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def mrap_checks(clients: ClientFactory, facts: StackFacts, role_arn: Optional[str],
                jobs: Optional[Sequence[BackfillJob]], jobs_error: str) -> List[Check]:
    control = clients("s3control", MRAP_API_REGION)
    checks: List[Check] = []
    try:
        point = control.get_multi_region_access_point(AccountId=facts.account, Name=facts.mrap_name)["AccessPoint"]
    except AWS_ERRORS as error:
        checks.append(refused(AREA, f"MRAP {facts.mrap_name}", error, "s3:GetMultiRegionAccessPoint"))
        if is_missing(error):
            return checks  # its policy and routes are gone with it: one line says so
    else:
        status = point.get("Status", "")
        regions = ", ".join(f"{r.get('Region')} ({r.get('Bucket')})" for r in point.get("Regions", []))
        checks.append(verdict(AREA, f"MRAP {facts.mrap_name} status", status == "READY",
                              f"{status}, alias {point.get('Alias')}, Regions {regions}",
                              "wait while it is CREATING; INCONSISTENT_ACROSS_REGIONS or PARTIALLY_*: check every "
                              "bucket still exists, then redeploy"))
        block = point.get("PublicAccessBlock") or {}
        off = [name for name in _BPA if not block.get(name)]
        checks.append(verdict(AREA, "Block Public Access", not off,
                              "all four settings on" if not off else f"off: {', '.join(off)}",
                              "an MRAP's Block Public Access is fixed at creation: create a new MRAP with it on"))
    checks.append(_policy_check(control, facts, role_arn))
    checks += route_checks(clients, facts, jobs, jobs_error)
    return checks


def _policy_check(control: Any, facts: StackFacts, role_arn: Optional[str]) -> Check:
    name = "MRAP policy grants the function role s3:GetObject and s3:GetObjectVersion"
    if facts.native:
        name = "MRAP policy grants CloudFront s3:GetObject and s3:GetObjectVersion"
    try:
        answer = control.get_multi_region_access_point_policy(AccountId=facts.account, Name=facts.mrap_name)
    except AWS_ERRORS as error:
        return refused(AREA, name, error, "s3:GetMultiRegionAccessPointPolicy")
    established = ((answer.get("Policy") or {}).get("Established") or {}).get("Policy", "")
    proposed = ((answer.get("Policy") or {}).get("Proposed") or {}).get("Policy", "")
    try:
        document = json.loads(established or "{}")
    except ValueError:
        return failed(AREA, name, "the established policy is not JSON", "redeploy the stack")
    principal = "cloudfront.amazonaws.com" if facts.native else (role_arn or "")
    if not principal:
        return failed(AREA, name, "the function role is unknown (the function could not be read)",
                      "fix the function checks first")
    resource = f"{facts.mrap_arn}/object/*"
    missing = [a for a in READ_ACTIONS if not policy_grants(document, principal, a, resource)]
    pending = " (a proposed policy is still propagating)" if proposed and proposed != established else ""
    if missing:
        return failed(AREA, name, f"no Allow of {', '.join(missing)} to {principal} on {resource}{pending}",
                      "redeploy the stack (the template's MrapPolicy grants both); a ?versionId= read needs "
                      "s3:GetObjectVersion")
    return passed(AREA, name, f"both allowed to {principal}{pending}")


def _as_list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value.lower(), pattern.lower()) if "*" in pattern or "?" in pattern \
        else pattern.lower() == value.lower()


def policy_grants(document: Dict[str, Any], principal: str, action: str, resource: str) -> bool:
    """Whether an Allow statement (without a Deny matching too) gives `principal` `action` on `resource`.
    Conditions are not evaluated: a conditioned Allow counts, as the stack's own statements are conditioned."""
    def applies(statement: Dict[str, Any]) -> bool:
        who = statement.get("Principal", {})
        names = ["*"] if who == "*" else [p for values in (who.values() if isinstance(who, dict) else [])
                                           for p in _as_list(values)]
        # The account itself as principal delegates to IAM, which grants the role in the same account.
        account = principal.split(":")[4] if principal.startswith("arn:") and ":role/" in principal else ""
        whole_account = {f"arn:aws:iam::{account}:root", account} if account else set()
        if not any(n == "*" or n == principal or n in whole_account for n in names):
            return False
        actions = _as_list(statement.get("Action", []))
        resources = _as_list(statement.get("Resource", []))
        return any(_matches(a, action) for a in actions) and any(_matches(r, resource) for r in resources)

    statements = [s for s in _as_list(document.get("Statement", [])) if isinstance(s, dict)]
    if any(s.get("Effect") == "Deny" and applies(s) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and applies(s) for s in statements)


def route_checks(clients: ClientFactory, facts: StackFacts, jobs: Optional[Sequence[BackfillJob]],
                 jobs_error: str) -> List[Check]:
    """One check per Region: active or passive, and whether that is right given its backfill."""
    try:
        routes = mrap_routes.get_routes(clients, facts.account, facts.mrap_arn)
    except ToolError as error:
        return [failed(AREA, "routes", str(error), "")]
    except AWS_ERRORS as error:
        return [refused(AREA, "routes", error, "s3:GetMultiRegionAccessPointRoutes")]
    if not any(route.active for route in routes):
        return [failed(AREA, "routes", "every Region is passive: the MRAP serves nothing",
                       "run scripts/routes --activate REGION for a Region whose bucket holds every object")]
    return [_route_check(route, jobs, jobs_error) for route in routes]


def _route_check(route: mrap_routes.Route, jobs: Optional[Sequence[BackfillJob]], jobs_error: str) -> Check:
    name = f"route {route.region} ({route.bucket})"
    if jobs is None:
        state = f"{route.state} (traffic dial {route.traffic_dial})"
        if route.active:
            return passed(AREA, name, f"{state}; backfill unknown: {jobs_error}")
        return failed(AREA, name, f"{state}; backfill unknown: {jobs_error}",
                      f"once its bucket holds every object: scripts/routes --activate {route.region}")
    incoming = jobs_into(route.region, jobs)
    unfinished = [job for job in incoming if not job.complete]
    if route.active:
        if unfinished:
            return failed(AREA, name, f"active while {_jobs_text(unfinished)}: viewers nearest {route.region} get 403 "
                                      "for objects not yet copied",
                          f"scripts/routes --passive {route.region} until the backfill completes"
                          + _failed_job_fix(unfinished))
        done = f"; backfill {_jobs_text(incoming)}" if incoming else ""
        return passed(AREA, name, f"active{done}")
    running = [job for job in unfinished if job.running]
    if running:
        return passed(AREA, name, f"passive while backfill {_jobs_text(running)}")
    if unfinished:
        return failed(AREA, name, f"passive; backfill {_jobs_text(unfinished)}",
                      "re-run the backfill (scripts/deploy resumes it)" + _failed_job_fix(unfinished))
    if incoming:
        return failed(AREA, name, f"passive though its backfill is complete ({_jobs_text(incoming)})",
                      f"scripts/routes --activate {route.region}")
    return failed(AREA, name, "passive with no backfill running",
                  f"if it is not held on purpose (a failover drill): scripts/routes --activate {route.region}")


def _jobs_text(jobs: Iterable[BackfillJob]) -> str:
    return "; ".join(job.describe() for job in jobs)


def _failed_job_fix(jobs: Iterable[BackfillJob]) -> str:
    reports = [job.report for job in jobs if job.failed and job.report]
    return f"; failed tasks are listed in {', '.join(reports)}" if reports else ""
