"""Who may read what in the local stack: the permissions AWS would enforce, from the policies that would be deployed.

- Through the MRAP (the function's role): the role's identity policy (template resource `FunctionRole`) **and** the
  MRAP policy (`MrapPolicy`) must both allow the action on the MRAP object ARN, as in the S3 User Guide's
  "Multi-Region Access Point permissions". The role's second statement (the buckets, only with
  `s3:DataAccessPointArn` = the MRAP) is resolved but not required: AWS's pages disagree on whether a same-account
  read through an MRAP also needs the bucket to be allowed.
  The bucket the MRAP routed to still applies its own bucket policy: an explicit Deny there (a company-network-only
  rule on `aws:SourceVpce`, say) refuses the read whatever the other policies allow (IAM evaluation logic; for
  this path inferred, not documented).
- Through the MRAP in native mode (CloudFront's service principal, `aws:SourceArn` = the distribution): a service
  principal has no identity policy, so the MRAP policy must allow it and so must the policy of the bucket the
  request was routed to ("For a cross-account request to succeed, the following policies must permit the
  operation: The Multi-Region Access Point policy ... The underlying bucket policy (where the request is routed
  to)", S3 User Guide, "Multi-Region Access Point permissions"; the CloudFront guide's MRAP origin page asks for
  both the MRAP policy and every bucket's policy). Every bucket here carries the deploy tooling's statement.
- Listing (`s3:ListBucket`, what turns a missing key from 403 into 404): on the MRAP ARN itself, not on
  `.../object/*` (the S3 guide's access point form for bucket-level actions; for an MRAP inferred from it), and
  on the routed bucket under the same rules as a read.
- Straight to a bucket (the origin group's failover origin, CloudFront's origin access control): the bucket policy
  statement the deploy tooling writes (`infra.aws.buckets.cloudfront_read_statement`), with the distribution's ARN
  as `aws:SourceArn`, next to the statements the bucket already had (`existing_statements`); or, for the role, its
  identity policy (which allows the buckets only through the MRAP).
- An SSE-KMS object also needs `kms:Decrypt` on its key: the key policy must allow the reader (a statement naming
  it, or the account root with the reader's identity policy allowing kms:Decrypt too).

The action is what S3 authorises a request as: GET or HEAD of an object is `s3:GetObject`, or `s3:GetObjectVersion`
when the query has `versionId` ("If you include a versionId in your request, you must have the
s3:GetObjectVersion permission ... The s3:GetObject permission is not required", GetObject); `?acl` and
`?tagging` are their own actions; a request for the bucket itself is `s3:ListBucket`; PUT, POST and DELETE are
writes. OPTIONS (CORS preflight) is not authorised by IAM and is not checked here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple
from urllib.parse import unquote

from infra.aws.buckets import cloudfront_read_statement
from infra.local.cloudformation import TEMPLATE_FILE, DeployedNames, Evaluator, Unresolved
from infra.local.cloudfront.events import DISTRIBUTION_ID
from infra.local.iam import Decision, Policy, Principal, Request, allowed, decide

__all__ = ["ACCOUNT_ID", "CLOUDFRONT", "StackIdentities", "Access", "AccessPolicies", "access_policies", "s3_action",
           "object_key"]

# moto's default account; the stand-in's ARNs are in it.
ACCOUNT_ID = "123456789012"
CLOUDFRONT = Principal("Service", "cloudfront.amazonaws.com")


@dataclass(frozen=True)
class StackIdentities:
    """The names the deployed stack would have in the local account."""

    mrap_alias: str  # e.g. mfzwi23gnjvgw.mrap
    bucket_names: Tuple[str, ...]
    account_id: str = ACCOUNT_ID
    mrap_name: str = "mrap-edge"
    distribution_id: str = DISTRIBUTION_ID
    role_name: str = "mrap-edge-FunctionRole-LOCAL"

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{self.role_name}"

    @property
    def mrap_arn(self) -> str:
        return f"arn:aws:s3::{self.account_id}:accesspoint/{self.mrap_alias}"

    @property
    def distribution_arn(self) -> str:
        return f"arn:aws:cloudfront::{self.account_id}:distribution/{self.distribution_id}"

    def deployed_names(self, regions: Sequence[str], parameters: Optional[Mapping[str, str]] = None) -> DeployedNames:
        """The deployed stack's names, with the stack's parameter values (`parameters`, e.g. NativeMode)."""
        return DeployedNames(
            account_id=self.account_id,
            parameters={**(parameters or {}), "BucketNames": ",".join(self.bucket_names),
                        "BucketRegions": ",".join(regions)},
            refs={"Mrap": self.mrap_name, "Distribution": self.distribution_id},
            attributes={("Mrap", "Alias"): self.mrap_alias, ("FunctionRole", "Arn"): self.role_arn},
        )


@dataclass(frozen=True)
class AccessPolicies:
    """The function role's inline policies (name, document) and the MRAP policy, resolved."""

    role: Tuple[Tuple[str, Mapping[str, Any]], ...]
    mrap: Mapping[str, Any]


def access_policies(template: Mapping[str, Any], names: DeployedNames) -> AccessPolicies:
    """Resolve resources `FunctionRole` (its `Policies`) and `MrapPolicy` (its `Policy`) of the template.

    Every intrinsic must resolve (Ref, Fn::Sub, Fn::GetAtt, Fn::If with the template's Conditions, Fn::Equals,
    Fn::Not, Fn::And, Fn::Or, Fn::Select, Fn::Split, Fn::Join, AWS::NoValue): an unknown one raises ValueError
    rather than letting the stand-in run with a policy other than the one that would be deployed."""
    resolver = Evaluator(template, names=names)
    resources: Mapping[str, Any] = template.get("Resources") or {}
    role = resources.get("FunctionRole")
    mrap_policy = resources.get("MrapPolicy")
    if not isinstance(role, Mapping) or not isinstance(mrap_policy, Mapping):
        raise ValueError("unable to read access policies: the template has no FunctionRole or no MrapPolicy")
    try:
        policies = resolver.resolve((role.get("Properties") or {}).get("Policies") or [])
        document = resolver.resolve((mrap_policy.get("Properties") or {}).get("Policy") or {})
    except Unresolved as error:
        raise ValueError(f"unable to resolve the template's access policies: {error}") from None
    role_policies = tuple((str(p.get("PolicyName")), p.get("PolicyDocument") or {}) for p in policies)
    return AccessPolicies(role=role_policies, mrap=document)


def s3_action(method: str, target: str) -> Optional[str]:
    """The IAM action S3 authorises a request as; None for what IAM does not authorise (CORS preflight)."""
    path, _, query = target.partition("?")
    names = {pair.partition("=")[0] for pair in query.split("&") if pair}
    version = "Version" if "versionId" in names else ""
    method = method.upper()
    if method == "OPTIONS":
        return None
    if path in ("", "/"):
        return "s3:ListBucket" if method in ("GET", "HEAD") else "s3:PutBucketPolicy"
    if method in ("GET", "HEAD"):
        for subresource, action in (("acl", "s3:GetObject{v}Acl"), ("tagging", "s3:GetObject{v}Tagging")):
            if subresource in names:
                return action.format(v=version)
        return f"s3:GetObject{version}"
    if method == "DELETE":
        return f"s3:DeleteObject{version}"
    return "s3:PutObject"


def object_key(target: str) -> str:
    """The key S3 reads from a path: decoded once, as UTF-8."""
    return unquote(target.partition("?")[0][1:], encoding="utf-8", errors="replace")


class Access:
    def __init__(self, template: Mapping[str, Any], identities: StackIdentities, regions: Sequence[str],
                 existing_statements: Optional[Mapping[str, Sequence[Mapping[str, Any]]]] = None,
                 kms_key_policies: Optional[Mapping[str, Mapping[str, Any]]] = None,
                 parameters: Optional[Mapping[str, str]] = None) -> None:
        self.identities = identities
        resolved = access_policies(template, identities.deployed_names(regions, parameters))
        self.role_policies = tuple(Policy.parse(name, document) for name, document in resolved.role)
        self.mrap_policy = Policy.parse("MrapPolicy", resolved.mrap)
        self.role = Principal("AWS", identities.role_arn)
        existing = existing_statements or {}
        self.bucket_policies: Dict[str, Policy] = {
            name: Policy.parse(f"bucket policy of {name}", {
                "Version": "2012-10-17",
                "Statement": [*existing.get(name, ()), cloudfront_read_statement(name, identities.distribution_arn)],
            })
            for name in identities.bucket_names
        }
        self.kms_key_policies = {arn: Policy.parse(f"key policy of {arn}", document)
                                 for arn, document in (kms_key_policies or {}).items()}

    @classmethod
    def from_file(cls, path: Optional[Path], identities: StackIdentities, regions: Sequence[str],
                  **account_state: Any) -> "Access":
        path = TEMPLATE_FILE if path is None else Path(path)
        return cls(json.loads(path.read_text(encoding="utf-8")), identities, regions, **account_state)

    def through_mrap(self, principal: Principal, method: str, target: str, bucket_name: Optional[str] = None,
                     context: Optional[Mapping[str, str]] = None) -> bool:
        """Whether S3 lets `principal` (with the request's condition keys `context`) make this request through the
        MRAP (to `bucket_name`, the bucket it routed to, whose policy may deny it)."""
        action = s3_action(method, target)
        if action is None:
            return True
        resource = self.identities.mrap_arn + ("" if action == "s3:ListBucket" else f"/object/{object_key(target)}")
        request = Request(action, resource, principal, dict(context or {}))
        if principal.kind == "Service":  # no identity policy: the MRAP's and the routed bucket's must both allow
            return allowed([self.mrap_policy], request) and (
                bucket_name is None or self._bucket_decision(bucket_name, principal, context or {}, action,
                                                             target) == "allow")
        identity_allows = principal == self.role and allowed(self.role_policies, request)
        if not (identity_allows and allowed([self.mrap_policy], request)):
            return False
        return bucket_name is None or self._bucket_decision(bucket_name, principal, {}, action,
                                                            target) != "explicit-deny"

    def may_list_through_mrap(self, principal: Principal, bucket_name: str,
                              context: Optional[Mapping[str, str]] = None) -> bool:
        """Whether the reader has s3:ListBucket through the MRAP: S3 then answers a missing key 404 NoSuchKey
        instead of 403 AccessDenied."""
        return self.through_mrap(principal, "GET", "/", bucket_name, context)

    def _bucket_decision(self, bucket_name: str, principal: Principal, context: Mapping[str, str], action: str,
                         target: str) -> Decision:
        policy = self.bucket_policies.get(bucket_name)
        request = Request(action, _bucket_resource(bucket_name, action, target), principal, dict(context))
        return decide([policy], request) if policy is not None else "implicit-deny"

    def may_decrypt(self, principal: Principal, key_arn: str) -> bool:
        """Whether `principal` may use the KMS key (kms:Decrypt): the key policy allows it by name, or allows the
        account and the principal's identity policy allows kms:Decrypt on the key."""
        policy = self.kms_key_policies.get(key_arn)
        request = Request("kms:Decrypt", key_arn, principal)
        if policy is None or decide([policy], request) != "allow":
            return False
        named = any(s.effect == "Allow" and s.applies(request) and (principal.kind, principal.identifier)
                    in (s.principals or ()) for s in policy.statements)
        return named or (principal == self.role and allowed(self.role_policies, request))

    def to_bucket(self, bucket_name: str, principal: Principal, context: Mapping[str, str], method: str,
                  target: str) -> bool:
        """Whether S3 lets `principal` make this request straight to the bucket (same account: the bucket policy
        or the principal's identity policy may allow it)."""
        action = s3_action(method, target)
        if action is None:
            return True
        decision = self._bucket_decision(bucket_name, principal, context, action, target)
        if decision != "implicit-deny":
            return decision == "allow"
        request = Request(action, _bucket_resource(bucket_name, action, target), principal, dict(context))
        return principal == self.role and allowed(self.role_policies, request)


def _bucket_resource(bucket_name: str, action: str, target: str) -> str:
    return f"arn:aws:s3:::{bucket_name}" + ("" if action == "s3:ListBucket" else f"/{object_key(target)}")
