"""Calls around the edge: CloudFront, WAF and the MRAP control plane (which moto does not model well), and the
function's log groups in every Region.

Deploy uses them to report what the stack built and to set a retention on the log groups; teardown uses them to find
what still holds the function's replicas and to remove the log groups once the function is gone.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence

from botocore.exceptions import ClientError

from .clients import HOME_REGION, ClientFactory
from .errors import error_code, refusal
from .routes import get_routes

__all__ = [
    "delete_native_oac",
    "report",
    "distributions_using",
    "log_group_name",
    "enabled_regions",
    "set_log_retention",
    "delete_log_groups",
]

Say = Callable[[str], None]


def native_oac_name(stack_name: str) -> str:
    return f"{stack_name}-mrap-sigv4a"


def delete_native_oac(clients: ClientFactory, stack_name: str, say: Say) -> bool:
    """Delete the origin access control that earlier versions created through the API for native mode (the stack
    now owns its own, `MrapOriginAccessControl`); False when there is none."""
    cloudfront = clients("cloudfront", HOME_REGION)
    name = native_oac_name(stack_name)
    for page in cloudfront.get_paginator("list_origin_access_controls").paginate():
        for item in page.get("OriginAccessControlList", {}).get("Items", []) or []:
            if item["Name"] == name:
                etag = cloudfront.get_origin_access_control(Id=item["Id"])["ETag"]
                cloudfront.delete_origin_access_control(Id=item["Id"], IfMatch=etag)
                say(f"deleted origin access control {name}")
                return True
    return False


def report(clients: ClientFactory, account_id: str, outputs: Dict[str, str], say: Say) -> Dict[str, Any]:
    """Print what users ask first after a deploy: is the distribution deployed, which MRAP Regions take traffic,
    and what the web ACL admits. Returns the facts for tests. The stack is up by then: a refusal here is a warning
    with what was refused, not a failed deploy."""
    facts: Dict[str, Any] = {}
    try:
        _report(clients, account_id, outputs, say, facts)
    except ClientError as error:
        say(f"warning: {refusal('read what the stack built for the report', error)}")
    return facts


def _report(clients: ClientFactory, account_id: str, outputs: Dict[str, str], say: Say,
            facts: Dict[str, Any]) -> None:
    distribution_id = outputs.get("DistributionId")
    if distribution_id:
        distribution = clients("cloudfront", HOME_REGION).get_distribution(Id=distribution_id)["Distribution"]
        facts["distribution_status"] = distribution["Status"]
        say(f"distribution {distribution_id}: {distribution['Status']} at {distribution['DomainName']}"
            + ("" if distribution["Status"] == "Deployed" else " (edge locations update within minutes)"))
    mrap_arn = outputs.get("MrapArn")
    if mrap_arn:
        routes = get_routes(clients, account_id, mrap_arn)  # one meaning of active: routes.Route.active
        facts["routes"] = {r.region: r.traffic_dial for r in routes}
        for route in routes:
            say(f"MRAP route {route.region:<15} {route.bucket:<40} {route.state}")
    web_acl_arn = outputs.get("WebAclArn")
    if web_acl_arn:
        # arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>
        name, acl_id = web_acl_arn.split("/")[-2:]
        acl = clients("wafv2", HOME_REGION).get_web_acl(Name=name, Scope="CLOUDFRONT", Id=acl_id)["WebACL"]
        facts["web_acl_default"] = "Block" if "Block" in acl["DefaultAction"] else "Allow"
        say(f"web ACL {name}: default {facts['web_acl_default']}, {len(acl.get('Rules', []))} rule(s)")


def distributions_using(clients: ClientFactory, function_arn_prefix: str) -> List[str]:
    """Ids of the distributions whose behaviours still associate a version of the function."""
    found: List[str] = []
    cloudfront = clients("cloudfront", HOME_REGION)
    for page in cloudfront.get_paginator("list_distributions").paginate():
        for summary in page.get("DistributionList", {}).get("Items", []) or []:
            behaviours = [summary.get("DefaultCacheBehavior", {})]
            behaviours += summary.get("CacheBehaviors", {}).get("Items", []) or []
            for behaviour in behaviours:
                for association in behaviour.get("LambdaFunctionAssociations", {}).get("Items", []) or []:
                    if association["LambdaFunctionARN"].startswith(function_arn_prefix + ":"):
                        found.append(str(summary["Id"]))
    return sorted(set(found))


# --- the function's log groups ----------------------------------------------------------------------------------------

def log_group_name(function_name: str) -> str:
    """Lambda@Edge logs in the Region where an edge ran the function, under the us-east-1 function's name."""
    return f"/aws/lambda/us-east-1.{function_name}"


def enabled_regions(clients: ClientFactory) -> List[str]:
    """The Regions enabled in the account: an edge location may run the function in any of them."""
    try:
        answer = clients("ec2", HOME_REGION).describe_regions(AllRegions=False)
    except ClientError as error:
        raise refusal("list the account's Regions", error, "the identity needs ec2:DescribeRegions") from None
    return sorted(r["RegionName"] for r in answer["Regions"])


def _log_group(logs: Any, name: str) -> Optional[Dict[str, Any]]:
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
        for group in page.get("logGroups", []):
            if group["logGroupName"] == name:
                return dict(group)
    return None


def set_log_retention(clients: ClientFactory, function_name: str, days: int, say: Say,
                      regions: Optional[Sequence[str]] = None) -> Dict[str, str]:
    """Give the function's log group a retention of `days` in every enabled Region, creating the group where no edge
    has run the function yet: Lambda@Edge creates a missing group without retention on the first request there, so
    a group made ahead is the only way the retention holds from the first line. Returns Region -> what was done."""
    name = log_group_name(function_name)
    done: Dict[str, str] = {}
    for region in regions or enabled_regions(clients):
        logs = clients("logs", region)
        try:
            group = _log_group(logs, name)
            if group is None:
                logs.create_log_group(logGroupName=name, tags={"mrap-edge:function": function_name})
                action = "created"
            elif group.get("retentionInDays") == days:
                done[region] = "unchanged"
                continue
            else:
                action = "updated"
            logs.put_retention_policy(logGroupName=name, retentionInDays=days)
        except ClientError as error:
            if error_code(error) in ("UnrecognizedClientException", "InvalidClientTokenId"):
                done[region] = "skipped"  # a Region enabled but not reachable with these credentials
                say(f"log group {name} in {region}: skipped ({error_code(error)})")
                continue
            raise refusal(f"set the retention of {name} in {region}", error,
                          "the identity needs logs:CreateLogGroup, logs:DescribeLogGroups and "
                          "logs:PutRetentionPolicy") from None
        done[region] = action
    changed = {r: a for r, a in done.items() if a in ("created", "updated")}
    say(f"log group {name}: {days}-day retention in {len(done)} Region(s)"
        + (f" ({len(changed)} created or updated)" if changed else ", unchanged"))
    return done


def delete_log_groups(clients: ClientFactory, function_name: str, say: Say,
                      regions: Optional[Sequence[str]] = None) -> List[str]:
    """Delete the function's log group in every enabled Region (after the function itself is gone: a replica that
    still runs would create it again); returns the Regions where one was deleted."""
    name = log_group_name(function_name)
    deleted: List[str] = []
    for region in regions or enabled_regions(clients):
        try:
            clients("logs", region).delete_log_group(logGroupName=name)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                continue
            raise refusal(f"delete {name} in {region}", error, "the identity needs logs:DeleteLogGroup") from None
        deleted.append(region)
    say(f"log group {name}: deleted in {len(deleted)} Region(s)" + (f" ({', '.join(deleted)})" if deleted else ""))
    return deleted
