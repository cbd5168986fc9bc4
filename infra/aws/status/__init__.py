"""`scripts/status`: is the whole chain working? One checklist over the distribution, the function, the MRAP, the
buckets and replication, the request path and WAF, each check ✓ or ✗ with its evidence and its fix.

Read-only: every call here is a Get, List or Describe, or a GET through the distribution.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from edge.config import Config

from ..clients import ClientFactory
from . import backfill, distribution, domains, function, mrap, replication, request_path, waf
from .checklist import AWS_ERRORS, Check, Checklist, is_missing, refused, skipped
from .facts import LockedClients, StackFacts, listed, read_facts
from .signing import UrlSigner

__all__ = ["StatusOptions", "run_status", "run_request_path"]


@dataclass(frozen=True)
class StatusOptions:
    stack_name: str = "mrap-edge"
    key: Optional[str] = None
    expect_region: Optional[str] = None
    url: Optional[str] = None  # probe here instead of the distribution's domain
    timeout: float = 10.0
    my_ip: Optional[str] = None
    sign: Optional[UrlSigner] = None  # signs each request through the distribution (signing.url_signer)


def run_request_path(options: StatusOptions) -> Checklist:
    """Only the request path, against options.url: no AWS call."""
    assert options.url
    checklist = Checklist(target=options.url)
    checklist.add(request_path.request_path_checks(options.url, options.key, options.expect_region, options.timeout,
                                                   options.sign))
    return checklist


def run_status(clients: ClientFactory, options: StatusOptions,
               fetch_zip: function.Download = function.download,
               address: Optional[waf.AddressSource] = None) -> Checklist:
    """Every check, in the order a request meets the parts. Raises ToolError only when the stack cannot be read."""
    clients = LockedClients(clients)
    facts = read_facts(clients, options.stack_name)
    checklist = Checklist()

    found = None
    gone = False
    try:
        found = distribution.get_distribution(clients, facts)
    except AWS_ERRORS as error:
        gone = is_missing(error)
        checklist.add([refused(distribution.AREA, f"distribution {facts.distribution_id}", error,
                               "cloudfront:GetDistribution")])
    domain = "" if gone else (found or {}).get("DomainName") or facts.domain_name
    base_url = options.url or (f"https://{domain}" if domain else "")
    checklist.target = (f"stack {facts.stack_name} (account {facts.account}), distribution "
                        f"{facts.distribution_id}" + (f", {base_url}" if base_url else ""))

    packaged: Optional[function.PackagedFunction] = None
    function_checks: List[Check] = []
    if not facts.native:
        packaged, function_checks = function.read_function(clients, facts, fetch_zip)
    config = packaged.config if packaged and packaged.config else Config()
    source = packaged.config_source if packaged else ("native mode: CloudFront forwards to S3" if facts.native
                                                      else "defaults (function unread)")
    checklist.add(distribution.distribution_checks(clients, facts, found, config, source))
    checklist.add(domains.domain_checks(clients, found or {}))
    checklist.add(function_checks)
    checklist.add(function.edge_activity_checks(clients, facts))

    jobs, jobs_error = _jobs(clients, facts)
    role = packaged.configuration.get("Role") if packaged else None
    checklist.add(mrap.mrap_checks(clients, facts, role, jobs, jobs_error))
    checklist.add(replication.replication_checks(clients, facts.buckets, jobs, jobs_error))
    if base_url:
        checklist.add(_request_path(base_url, options, found))
    acl = str((found or {}).get("DistributionConfig", {}).get("WebACLId") or facts.web_acl_arn)
    checklist.add(waf.waf_checks(clients, acl, address or _address_source(options)))
    return checklist


def _request_path(base_url: str, options: StatusOptions, found: Optional[Dict[str, Any]]) -> List[Check]:
    behaviour = (found or {}).get("DistributionConfig", {}).get("DefaultCacheBehavior", {})
    groups = behaviour.get("TrustedKeyGroups") or {}
    if groups.get("Enabled") and options.sign is None:
        # Every unsigned request would get CloudFront's 403 MissingKey: nothing of the path behind it is learnt.
        return [skipped(request_path.AREA, "probe through the distribution",
                        f"the default behaviour requires signed URLs (trusted key groups "
                        f"{', '.join(map(str, listed(groups)))}): pass --key-pair-id and --private-key to check it")]
    return request_path.request_path_checks(base_url, options.key, options.expect_region, options.timeout,
                                            options.sign)


def _jobs(clients: ClientFactory, facts: StackFacts) -> Tuple[Optional[List[backfill.BackfillJob]], str]:
    """The stack's backfill jobs, or None and why they could not be read."""
    try:
        return backfill.find_jobs(clients, facts.account, facts.stack_name, facts.buckets), ""
    except AWS_ERRORS as error:
        check = refused(replication.AREA, "backfill jobs", error, "s3:ListJobs and s3:DescribeJob")
        return None, check.evidence.replace("unable to check: ", "")


def _address_source(options: StatusOptions) -> Callable[[], str]:
    if options.my_ip:
        return lambda: str(options.my_ip)
    return lambda: waf.public_address(timeout=options.timeout)
