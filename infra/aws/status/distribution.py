"""The distribution: deployed and enabled; its behaviour targets the origin group, whose primary is the MRAP (a
custom origin) and whose secondary is the failover bucket with its marker header and origin access control; the
origin-request trigger is a numbered version of the stack's function; the origin request policy keeps the viewer's
Host away from the MRAP; the query strings in the cache key and forwarded are exactly the function's allow-list; and
custom error responses keep S3's error bodies (which echo the signer's key id and token) from viewers."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Set, Tuple

from edge.config import Config

from ..clients import HOME_REGION, ClientFactory
from .checklist import AWS_ERRORS, Area, Check, failed, passed, refused, skipped, verdict
from .facts import StackFacts, listed

__all__ = ["distribution_checks", "HIDDEN_ERROR_CODES", "get_distribution"]

AREA: Area = "distribution"
# S3's 403 body (SignatureDoesNotMatch) echoes the canonical request: the role's key id and session token.
HIDDEN_ERROR_CODES = (403,)
_VERSION_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:us-east-1:(\d{12}):function:([A-Za-z0-9_-]+):(\d+)$")


def get_distribution(clients: ClientFactory, facts: StackFacts) -> Dict[str, Any]:
    return dict(clients("cloudfront", HOME_REGION).get_distribution(Id=facts.distribution_id)["Distribution"])


def distribution_checks(clients: ClientFactory, facts: StackFacts, distribution: Optional[Dict[str, Any]],
                        config: Config, config_source: str) -> List[Check]:
    if distribution is None:
        return []
    config_data = distribution["DistributionConfig"]
    checks = [_deployed(distribution, config_data)]
    behaviour = config_data.get("DefaultCacheBehavior", {})
    group = _origin_group(config_data, behaviour)
    checks.append(verdict(AREA, "default behaviour uses the origin group", group is not None,
                          f"targets {behaviour.get('TargetOriginId')}"
                          + (f", failover on {', '.join(str(c) for c in _failover_codes(group))}" if group else ""),
                          "point the default behaviour at the origin group (redeploy the stack)"))
    origins = {o["Id"]: o for o in listed(config_data.get("Origins"))}
    members = [m["OriginId"] for m in listed((group or {}).get("Members"))]
    primary = origins.get(members[0]) if members else None
    secondary = origins.get(members[1]) if len(members) > 1 else None
    checks.append(_primary(primary, facts))
    checks.append(_secondary(secondary, facts, config))
    checks.append(_association(behaviour, facts))
    checks += _policies(clients, behaviour, config, config_source)
    checks.append(_error_responses(config_data))
    return checks


def _deployed(distribution: Dict[str, Any], config_data: Dict[str, Any]) -> Check:
    status, enabled = distribution.get("Status", ""), bool(config_data.get("Enabled"))
    evidence = (f"{distribution.get('Id')} {status}, {'enabled' if enabled else 'disabled'}, "
                f"{distribution.get('DomainName')}")
    if not enabled:
        return failed(AREA, "deployed and enabled", evidence, "enable the distribution (redeploy the stack)")
    if status != "Deployed":
        return failed(AREA, "deployed and enabled", evidence,
                      "a change is still reaching the edge locations: wait a few minutes and run this again")
    return passed(AREA, "deployed and enabled", evidence)


def _origin_group(config_data: Dict[str, Any], behaviour: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    target = behaviour.get("TargetOriginId")
    return next((g for g in listed(config_data.get("OriginGroups")) if g.get("Id") == target), None)


def _failover_codes(group: Optional[Dict[str, Any]]) -> List[int]:
    return [int(c) for c in listed(((group or {}).get("FailoverCriteria") or {}).get("StatusCodes"))]


def _primary(origin: Optional[Dict[str, Any]], facts: StackFacts) -> Check:
    name = "primary origin is the MRAP"
    if origin is None:
        return failed(AREA, name, "the origin group has no primary member", "redeploy the stack")
    domain = origin.get("DomainName", "")
    problems = []
    if domain.lower() != facts.mrap_domain.lower():
        problems.append(f"domain {domain}, not {facts.mrap_domain}")
    if "CustomOriginConfig" not in origin:
        problems.append("not a custom origin (the signer signs only custom origins; an S3 origin type makes "
                        "CloudFront sign with SigV4 for one Region)")
    if facts.native and not origin.get("OriginAccessControlId"):
        problems.append("native mode without an origin access control")
    if not facts.native and origin.get("OriginAccessControlId"):
        problems.append("an origin access control signs it too, over the function's signature")
    if origin.get("OriginPath"):
        problems.append(f"origin path {origin['OriginPath']} (keys are read under it)")
    if problems:
        return failed(AREA, name, f"{origin.get('Id')}: " + "; ".join(problems), "redeploy the stack")
    return passed(AREA, name, f"{origin.get('Id')}: custom origin {domain}")


def _secondary(origin: Optional[Dict[str, Any]], facts: StackFacts, config: Config) -> Check:
    name = "secondary origin is the failover bucket"
    if origin is None:
        return failed(AREA, name, "the origin group has no secondary member", "redeploy the stack")
    bucket = facts.failover_bucket
    expected = f"{bucket.name}.s3.{bucket.region}.amazonaws.com" if bucket else ""
    headers = {h["HeaderName"]: h.get("HeaderValue", "") for h in listed(origin.get("CustomHeaders"))}
    marker = next((n for n in headers if n.lower() == config.failover_header.lower()), None)
    problems = []
    if origin.get("DomainName", "").lower() != expected.lower():
        problems.append(f"domain {origin.get('DomainName')}, not {expected}")
    if marker is None:
        problems.append(f"no {config.failover_header} custom header: the function would sign it for the MRAP and "
                        "S3 would refuse the signature")
    if not origin.get("OriginAccessControlId"):
        problems.append("no origin access control: CloudFront reads the bucket unsigned and gets 403")
    if problems:
        return failed(AREA, name, f"{origin.get('Id')}: " + "; ".join(problems), "redeploy the stack")
    return passed(AREA, name, f"{origin.get('Id')}: {expected}, header {marker}, origin access control "
                              f"{origin['OriginAccessControlId']}")


def _association(behaviour: Dict[str, Any], facts: StackFacts) -> Check:
    name = "origin-request trigger is a numbered version of the function"
    associations = [a for a in listed(behaviour.get("LambdaFunctionAssociations"))
                    if a.get("EventType") == "origin-request"]
    if facts.native:
        if associations:
            return failed(AREA, name, f"native mode, but {associations[0]['LambdaFunctionARN']} is associated",
                          "redeploy the stack")
        return skipped(AREA, name, "native mode: CloudFront signs, no function")
    if not associations:
        return failed(AREA, name, "no origin-request association: requests reach the MRAP unsigned",
                      "redeploy the stack")
    arn = associations[0]["LambdaFunctionARN"]
    match = _VERSION_ARN.match(arn)
    if not match:
        return failed(AREA, name, f"{arn} is not a numbered version in us-east-1 ($LATEST and aliases are refused "
                                  "by Lambda@Edge)", "redeploy the stack")
    if match.group(2) != facts.function_name:
        return failed(AREA, name, f"{arn} is another function than the stack's {facts.function_name}",
                      "redeploy the stack")
    if facts.function_version_arn and arn != facts.function_version_arn:
        return failed(AREA, name, f"{arn}, but the stack's version is {facts.function_version_arn}",
                      "the distribution was changed outside the stack: redeploy it")
    if associations[0].get("IncludeBody"):
        return failed(AREA, name, f"{arn} with IncludeBody", "the signer signs an empty body: redeploy the stack")
    return passed(AREA, name, arn)


def _query_names(config_block: Dict[str, Any]) -> Tuple[str, Set[str]]:
    behaviour = config_block.get("QueryStringBehavior", "none")
    return behaviour, set(listed(config_block.get("QueryStrings")))


def _policies(clients: ClientFactory, behaviour: Dict[str, Any], config: Config, config_source: str) -> List[Check]:
    cloudfront = clients("cloudfront", HOME_REGION)
    checks: List[Check] = []
    host_name, query_name = "origin request policy keeps the viewer's Host", \
        "query strings cached and forwarded are the function's allow-list"
    cache_id, request_id = behaviour.get("CachePolicyId"), behaviour.get("OriginRequestPolicyId")
    request_config: Dict[str, Any] = {}
    if request_id:
        try:
            request_config = cloudfront.get_origin_request_policy(Id=request_id)["OriginRequestPolicy"][
                "OriginRequestPolicyConfig"]
        except AWS_ERRORS as error:
            checks.append(refused(AREA, host_name, error, "cloudfront:GetOriginRequestPolicy"))
            request_config = {}
        else:
            checks.append(_host_check(host_name, request_config))
    else:
        checks.append(passed(AREA, host_name, "no origin request policy: CloudFront sends the origin's Host"))
    if not cache_id:
        checks.append(failed(AREA, query_name, "the behaviour uses legacy cache settings, not a cache policy",
                             "redeploy the stack (it sets a cache policy)"))
        return checks
    try:
        cache_config = cloudfront.get_cache_policy(Id=cache_id)["CachePolicy"]["CachePolicyConfig"]
    except AWS_ERRORS as error:
        checks.append(refused(AREA, query_name, error, "cloudfront:GetCachePolicy"))
        return checks
    checks.append(_query_check(query_name, cache_config, request_config, config, config_source))
    return checks


def _host_check(name: str, request_config: Dict[str, Any]) -> Check:
    headers = request_config.get("HeadersConfig") or {}
    behaviour = headers.get("HeaderBehavior", "none")
    names = {h.lower() for h in listed(headers.get("Headers"))}
    forwards_host = (behaviour in ("allViewer", "allViewerAndWhitelistCloudFront")
                     or (behaviour == "whitelist" and "host" in names)
                     or (behaviour == "allExcept" and "host" not in names))
    evidence = f"{request_config.get('Name', '?')}: headers {behaviour}" + (f" {sorted(names)}" if names else "")
    return verdict(AREA, name, not forwards_host, evidence + (" (forwards the viewer's Host)" if forwards_host else ""),
                   "use an origin request policy that does not forward Host (the stack's forwards Origin and the "
                   "CORS request headers only): with the viewer's Host every signature fails")


def _query_check(name: str, cache_config: Dict[str, Any], request_config: Dict[str, Any], config: Config,
                 config_source: str) -> Check:
    allowed = set(config.query_allowlist)
    cache_behaviour, cached = _query_names(
        (cache_config.get("ParametersInCacheKeyAndForwardedToOrigin") or {}).get("QueryStringsConfig") or {})
    request_behaviour, forwarded = _query_names(request_config.get("QueryStringsConfig") or {})
    problems = []
    if cache_behaviour != "whitelist" and allowed:
        problems.append(f"cache key query strings: {cache_behaviour}")
    elif cached != allowed:
        problems.append(_difference("cache key", cached, allowed))
    if request_behaviour in ("all", "allExcept"):
        problems.append(f"origin request policy forwards query strings: {request_behaviour}")
    elif not forwarded <= allowed:
        problems.append(_difference("forwarded", cached | forwarded, allowed))
    evidence = f"allow-list {sorted(allowed)} ({config_source})"
    if problems:
        return failed(AREA, name, evidence + "; " + "; ".join(problems),
                      "make the cache policy's and the origin request policy's query strings exactly the function's "
                      "query_allowlist: a parameter missing from the cache key serves one version to all, an "
                      "extra one splits the cache for nothing")
    return passed(AREA, name, evidence + ": cache key and origin request match")


def _difference(where: str, found: Set[str], allowed: Set[str]) -> str:
    parts = []
    if allowed - found:
        parts.append(f"missing {sorted(allowed - found)}")
    if found - allowed:
        parts.append(f"not in the allow-list {sorted(found - allowed)}")
    return f"{where}: " + ", ".join(parts)


def _error_responses(config_data: Dict[str, Any]) -> Check:
    name = "custom error responses hide S3's error bodies"
    responses = {int(r["ErrorCode"]): r for r in listed(config_data.get("CustomErrorResponses"))}
    missing = [code for code in HIDDEN_ERROR_CODES
               if code not in responses or not responses[code].get("ResponsePagePath")]
    covered = ", ".join(f"{code} -> {r.get('ResponsePagePath') or '(cached status only)'}"
                        for code, r in sorted(responses.items()))
    if missing:
        return failed(AREA, name, f"no error page for {', '.join(map(str, missing))}"
                                  + (f" (configured: {covered})" if covered else ""),
                      "add custom error responses with a page path (redeploy the stack): S3's 403 "
                      "SignatureDoesNotMatch body echoes the function role's access key id and session token")
    return passed(AREA, name, covered)
