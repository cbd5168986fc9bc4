"""Bucket policies that would refuse mrap-edge's principals: read before deploying, each Deny statement evaluated
against the requests our principals make, and the exact exception to add.

"An explicit deny in any of these policies overrides the allow" (IAM User Guide, "Policy evaluation logic"): a
company-network-only bucket that denies every request not from its VPC endpoints (`aws:SourceVpce`), addresses
(`aws:SourceIp`), VPCs (`aws:SourceVpc`) or organisation (`aws:PrincipalOrgID`) refuses the function role's reads
through the MRAP, CloudFront's reads (native mode, and the failover bucket), and S3's replication and Batch
Replication roles, whatever the stack allows. moto evaluates no bucket policy, so the rule lives here, once.

The request each principal makes is modelled as an IAM request context (`RequestContext`): which keys are present
and, where we know it, their value. Condition semantics (IAM User Guide, "Condition operators"): "If the key that you
specify in a policy condition is not present in the request context, the values do not match and the condition is
false. If the policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike, and the
right key is not present, the condition is true. This logic applies to all condition operators except ...IfExists
and Null check." A key present with a value we cannot know (the organisation when it cannot be read) makes the
verdict "may refuse" rather than "refuses".
"""
from __future__ import annotations

import fnmatch
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from botocore.exceptions import ClientError

from .clients import ClientFactory
from .errors import ToolError, error_code, refusal
from .regions import Bucket

__all__ = ["AWS_ADDRESS", "RequestContext", "Finding", "principals_for", "read_policy", "statement_refuses",
           "find_refusals", "amended_statement", "check_bucket_policies", "organization_id"]

# The value of aws:SourceIp for a request from inside AWS (Lambda@Edge, CloudFront): a public AWS address, never in a
# company's ranges; only a range of every address (/0) contains it.
AWS_ADDRESS = "aws-public-address"
UNKNOWN = object()  # a key present in the request, with a value we cannot know
# The condition keys this model decides on: a key of these missing from a RequestContext is absent from the request
# (our principals make no request through a VPC endpoint, a service principal has no ARN or organisation...).
_MODELLED_KEYS = {
    "aws:principalarn", "aws:principalaccount", "aws:principalorgid", "aws:principalisawsservice",
    "aws:principalservicename", "aws:principaltype", "aws:sourcearn", "aws:sourceaccount", "aws:sourceip",
    "aws:sourcevpce", "aws:sourcevpc", "aws:vpcsourceip", "aws:securetransport", "aws:viaawsservice",
    "s3:dataaccesspointarn", "s3:dataaccesspointaccount"}


@dataclass(frozen=True)
class RequestContext:
    """One principal's request to one bucket, as the bucket policy sees it."""
    principal: str  # what the user reads: "the function role", "CloudFront"...
    kind: str  # "role" or "service"
    identity: str  # the role's ARN (a * where CloudFormation generates the name) or the service principal
    action: str
    resource: str  # "object" or "bucket"
    keys: Dict[str, Any] = field(default_factory=dict)  # lower-case condition key -> value (or UNKNOWN)


@dataclass(frozen=True)
class Finding:
    bucket: str
    statement: str  # "statement <Sid>" or "statement #<index>"
    context: RequestContext
    certain: bool  # False: depends on a value we cannot read
    fix: Dict[str, Any]  # the statement amended so that it no longer refuses our principal(s)

    def line(self) -> str:
        verb = "refuses" if self.certain else "may refuse"
        return (f"bucket policy of {self.bucket}: {self.statement} {verb} {self.context.principal} "
                f"({self.context.action}); replace it with {json.dumps(self.fix, sort_keys=True)}")


def _role_keys(account: str, role_arn: str, org_id: Any) -> Dict[str, Any]:
    keys: Dict[str, Any] = {"aws:principalarn": role_arn, "aws:principalaccount": account,
                            "aws:principalisawsservice": "false", "aws:principaltype": "AssumedRole",
                            "aws:securetransport": "true", "aws:viaawsservice": "false"}
    if org_id is not None:  # None: the account is in no organisation, so the key is absent
        keys["aws:principalorgid"] = org_id
    return keys


def principals_for(account: str, stack_name: str, buckets: Sequence[Bucket], native: bool, replicate: bool,
                   mrap_arn: str = "", distribution_arn: str = "", org_id: Any = UNKNOWN,
                   replication_role: str = "") -> Dict[str, List[RequestContext]]:
    """Bucket name -> the requests our principals make to it. ARNs not known yet (before the stack exists) are
    patterns with `*` where AWS generates the name."""
    mrap = mrap_arn or f"arn:aws:s3::{account}:accesspoint/*.mrap"
    distribution = distribution_arn or f"arn:aws:cloudfront::{account}:distribution/*"
    cloudfront = {"aws:principalisawsservice": "true", "aws:principalservicename": "cloudfront.amazonaws.com",
                  "aws:sourcearn": distribution, "aws:sourceaccount": account, "aws:sourceip": AWS_ADDRESS,
                  "aws:securetransport": "true"}
    function_role = f"arn:aws:iam::{account}:role/{stack_name}-FunctionRole-*"
    replication = replication_role or f"arn:aws:iam::{account}:role/{stack_name}-replication"
    batch = f"arn:aws:iam::{account}:role/{stack_name}-backfill"
    found: Dict[str, List[RequestContext]] = {}
    for index, bucket in enumerate(buckets):
        contexts = found.setdefault(bucket.name, [])
        if native:
            contexts.append(RequestContext("CloudFront reading through the MRAP", "service",
                                           "cloudfront.amazonaws.com", "s3:GetObject", "object",
                                           {**cloudfront, "s3:dataaccesspointarn": mrap}))
        else:
            contexts.append(RequestContext("the function role reading through the MRAP", "role", function_role,
                                           "s3:GetObject", "object",
                                           {**_role_keys(account, function_role, org_id), "aws:sourceip": AWS_ADDRESS,
                                            "s3:dataaccesspointarn": mrap, "s3:dataaccesspointaccount": account}))
            if index == 0:
                contexts.append(RequestContext("CloudFront reading the failover bucket", "service",
                                               "cloudfront.amazonaws.com", "s3:GetObject", "object", cloudfront))
        if replicate:
            role_keys = {**_role_keys(account, replication, org_id), "aws:sourceip": AWS_ADDRESS}
            contexts += [
                RequestContext("S3 replication (source side)", "role", replication,
                               "s3:GetObjectVersionForReplication", "object", role_keys),
                RequestContext("S3 replication (destination side)", "role", replication, "s3:ReplicateObject",
                               "object", role_keys),
                RequestContext("S3 Batch Replication (the backfill)", "role", batch, "s3:InitiateReplication",
                               "object", {**_role_keys(account, batch, org_id), "aws:sourceip": AWS_ADDRESS})]
    return found


def _listed(value: Any) -> List[Any]:
    return value if isinstance(value, list) else [value]


def _like(value: str, pattern: str, ignore_case: bool = False) -> Optional[bool]:
    """Does `value` match the policy's `pattern` (* and ?)? None when `value` is itself a pattern (a name AWS has not
    generated yet) that the policy's pattern might or might not match."""
    if ignore_case:
        value, pattern = value.lower(), pattern.lower()
    if fnmatch.fnmatchcase(value, pattern):
        return True
    if "*" in value and fnmatch.fnmatchcase(pattern, value):
        return None
    return False


def _equals(value: str, expected: str, ignore_case: bool) -> Optional[bool]:
    if ignore_case:
        value, expected = value.lower(), expected.lower()
    if value == expected:
        return True
    return None if "*" in value and fnmatch.fnmatchcase(expected, value) else False


def _any(results: List[Optional[bool]]) -> Optional[bool]:
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def _in_range(value: str, cidr: str) -> Optional[bool]:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None
    if value == AWS_ADDRESS:
        return network.prefixlen == 0
    return ipaddress.ip_address(value) in network


def _condition(operator: str, key: str, values: List[Any], keys: Dict[str, Any]) -> Optional[bool]:
    """One operator/key pair of a Condition block, three-valued."""
    base = operator.split(":")[-1]  # ForAnyValue:/ForAllValues: on our single-valued keys act as the plain operator
    if_exists = base.endswith("IfExists")
    base = base[:-len("IfExists")] if if_exists else base
    if key.lower() not in keys and key.lower() not in _MODELLED_KEYS:
        return None  # a key this model does not know about: it may be in the request, with any value
    present = key.lower() in keys
    if base == "Null":
        return (not present) == (str(values[0]).lower() == "true")
    negated = "Not" in base
    if not present:
        return True if (if_exists or negated) else False
    value = keys[key.lower()]
    if value is UNKNOWN:
        return None
    positive = base.replace("Not", "")
    if positive in ("StringEquals", "ArnEquals", "Bool", "StringEqualsIgnoreCase"):
        matched = _any([_equals(str(value), str(v), positive in ("Bool", "StringEqualsIgnoreCase")) for v in values])
    elif positive in ("StringLike", "ArnLike"):
        matched = _any([_like(str(value), str(v)) for v in values])
    elif positive == "IpAddress":
        matched = _any([_in_range(str(value), str(v)) for v in values])
    else:
        return None  # an operator this model does not know: say "may refuse"
    return None if matched is None else (not matched if negated else matched)


def _all(results: List[Optional[bool]]) -> Optional[bool]:
    if any(r is False for r in results):
        return False
    return None if any(r is None for r in results) else True


def _principal_matches(principal: Any, context: RequestContext, account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if context.kind == "service":
        return context.identity in _listed(principal.get("Service", []))
    listed = [str(p) for p in _listed(principal.get("AWS", []))]
    # A Deny naming the account (its root or id) applies to every principal of the account.
    return any(p in ("*", account, f"arn:aws:iam::{account}:root") or _like(context.identity, p) for p in listed)


def _resource_matches(resources: List[str], bucket: str, context: RequestContext) -> bool:
    target = f"arn:aws:s3:::{bucket}/*" if context.resource == "object" else f"arn:aws:s3:::{bucket}"
    # A statement on part of the objects (a prefix) refuses our principal there too.
    return any(fnmatch.fnmatchcase(target, r) or (context.resource == "object" and r.startswith(target[:-1]))
               for r in resources)


def statement_refuses(statement: Dict[str, Any], bucket: str, context: RequestContext,
                      account: str) -> Optional[bool]:
    """True when the Deny statement refuses the request, None when it depends on a value we cannot know."""
    if statement.get("Effect") != "Deny":
        return False
    if "NotPrincipal" in statement:
        if _principal_matches(statement["NotPrincipal"], context, account):
            return False
    elif not _principal_matches(statement.get("Principal"), context, account):
        return False
    action = context.action.lower()
    if "Action" in statement and not any(fnmatch.fnmatchcase(action, a.lower()) for a in _listed(statement["Action"])):
        return False
    if "NotAction" in statement and any(fnmatch.fnmatchcase(action, a.lower())
                                        for a in _listed(statement["NotAction"])):
        return False
    if "Resource" in statement and not _resource_matches(_listed(statement["Resource"]), bucket, context):
        return False
    if "NotResource" in statement and _resource_matches(_listed(statement["NotResource"]), bucket, context):
        return False
    return _all([_condition(op, key, _listed(values), context.keys)
                 for op, block in (statement.get("Condition") or {}).items() for key, values in block.items()])


def _exception(context: RequestContext) -> Tuple[str, str, str]:
    """(operator, key, value) of the condition that exempts our principal, narrowly."""
    if context.kind == "service":
        return "StringNotLikeIfExists", "aws:SourceArn", str(context.keys.get("aws:sourcearn"))
    return "ArnNotLike", "aws:PrincipalArn", context.identity


def amended_statement(statement: Dict[str, Any], contexts: Sequence[RequestContext]) -> Dict[str, Any]:
    """`statement` with one exception per principal added to its Condition (conditions are ANDed, so the Deny no
    longer applies to that principal and still applies to every other request). A NotPrincipal statement is left
    as it is: rewrite it as Principal "*" first."""
    amended: Dict[str, Any] = json.loads(json.dumps(statement))
    condition = amended.setdefault("Condition", {})
    for context in contexts:
        operator, key, value = _exception(context)
        block = condition.setdefault(operator, {})
        current = _listed(block.get(key, []))
        block[key] = current + [value] if value not in current else current
    return amended


def read_policy(clients: ClientFactory, bucket: Bucket) -> Optional[Dict[str, Any]]:
    try:
        text = clients("s3", bucket.region).get_bucket_policy(Bucket=bucket.name)["Policy"]
    except ClientError as error:
        if error_code(error) in ("NoSuchBucketPolicy", "NoSuchBucket"):
            return None
        raise refusal(f"read the bucket policy of {bucket.name}", error,
                      "the caller needs s3:GetBucketPolicy") from None
    return dict(json.loads(text))


def find_refusals(bucket: str, policy: Optional[Dict[str, Any]], contexts: Sequence[RequestContext],
                  account: str) -> List[Finding]:
    findings = []
    for index, statement in enumerate(_listed((policy or {}).get("Statement", []))):
        name = f"statement {statement['Sid']}" if statement.get("Sid") else f"statement #{index}"
        hits = [(c, statement_refuses(statement, bucket, c, account)) for c in contexts]
        refused = [(c, verdict) for c, verdict in hits if verdict is not False]
        fix = amended_statement(statement, [c for c, _ in refused])
        findings += [Finding(bucket, name, c, verdict is True, fix) for c, verdict in refused]
    return findings


def organization_id(clients: ClientFactory) -> Any:
    """The caller's organisation id; None when the account is in none; UNKNOWN when it cannot be read."""
    try:
        return str(clients("organizations", "us-east-1").describe_organization()["Organization"]["Id"])
    except ClientError as error:
        return None if error_code(error) == "AWSOrganizationsNotInUseException" else UNKNOWN


def check_bucket_policies(clients: ClientFactory, account: str, stack_name: str, buckets: Sequence[Bucket],
                          native: bool, replicate: bool, say: Any, **known: str) -> List[Finding]:
    """Before deploying: refuse (one ToolError listing each statement and its fix) when a bucket policy certainly
    refuses one of our principals; print a warning for each that may. Reads only."""
    org_id = organization_id(clients)
    contexts = principals_for(account, stack_name, buckets, native, replicate, org_id=org_id, **known)
    findings = [f for b in buckets for f in find_refusals(b.name, read_policy(clients, b), contexts[b.name], account)]
    for finding in (f for f in findings if not f.certain):
        say(f"warning: {finding.line()}")
    certain = [f for f in findings if f.certain]
    if certain:
        raise ToolError("unable to deploy: an explicit Deny in a bucket policy wins over every Allow\n"
                        + "\n".join(f"  {f.line()}" for f in certain))
    return findings
