"""Calls to the services moto does not model well: the MRAP control plane, CloudFront and WAF.

Deploy uses them to create the native-mode origin access control and to report what the stack built; teardown uses
them to find what still holds the function's replicas.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List

from .clients import HOME_REGION, ClientFactory

__all__ = [
    "MRAP_CONTROL_REGION",
    "ensure_native_oac",
    "delete_native_oac",
    "report",
    "distributions_using",
]

# MRAP routing controls are answered in five Regions (us-east-1, us-west-2, ap-southeast-2, ap-northeast-1,
# eu-west-1); the MRAP management API itself is served from us-west-2.
MRAP_CONTROL_REGION = "us-west-2"
Say = Callable[[str], None]


def native_oac_name(stack_name: str) -> str:
    return f"{stack_name}-mrap-sigv4a"


def ensure_native_oac(clients: ClientFactory, stack_name: str, say: Say) -> str:
    """The origin access control that signs with SigV4A for the MRAP (native mode); created once, reused after.

    Created through the API: the CloudFormation resource schema accepts only SigningProtocol sigv4.
    """
    cloudfront = clients("cloudfront", HOME_REGION)
    name = native_oac_name(stack_name)
    for page in cloudfront.get_paginator("list_origin_access_controls").paginate():
        for item in page.get("OriginAccessControlList", {}).get("Items", []) or []:
            if item["Name"] == name:
                say(f"origin access control {name} ({item['Id']}) exists")
                return str(item["Id"])
    created = cloudfront.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": name,
            "Description": "mrap-edge native mode: CloudFront signs MRAP requests with SigV4A",
            "SigningProtocol": "sigv4a",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )
    oac_id = str(created["OriginAccessControl"]["Id"])
    say(f"created origin access control {name} ({oac_id}, sigv4a)")
    return oac_id


def delete_native_oac(clients: ClientFactory, stack_name: str, say: Say) -> bool:
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
    and what the web ACL admits. Returns the facts for tests."""
    facts: Dict[str, Any] = {}
    distribution_id = outputs.get("DistributionId")
    if distribution_id:
        distribution = clients("cloudfront", HOME_REGION).get_distribution(Id=distribution_id)["Distribution"]
        facts["distribution_status"] = distribution["Status"]
        say(f"distribution {distribution_id}: {distribution['Status']} at {distribution['DomainName']}"
            + ("" if distribution["Status"] == "Deployed" else " (edge locations update within minutes)"))
    mrap_arn = outputs.get("MrapArn")
    if mrap_arn:
        routes = clients("s3control", MRAP_CONTROL_REGION).get_multi_region_access_point_routes(
            AccountId=account_id, Mrap=mrap_arn
        )["Routes"]
        facts["routes"] = {r["Region"]: r.get("TrafficDialPercentage") for r in routes}
        for route in routes:
            state = "active" if route.get("TrafficDialPercentage") == 100 else "passive"
            say(f"MRAP route {route['Region']:<15} {route['Bucket']:<40} {state}")
    web_acl_arn = outputs.get("WebAclArn")
    if web_acl_arn:
        # arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>
        name, acl_id = web_acl_arn.split("/")[-2:]
        acl = clients("wafv2", HOME_REGION).get_web_acl(Name=name, Scope="CLOUDFRONT", Id=acl_id)["WebACL"]
        facts["web_acl_default"] = "Block" if "Block" in acl["DefaultAction"] else "Allow"
        say(f"web ACL {name}: default {facts['web_acl_default']}, {len(acl.get('Rules', []))} rule(s)")
    return facts


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
