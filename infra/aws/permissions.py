"""The deployer's permissions: the least-privilege IAM policy that deploy, backfill, routes, status, teardown and
upload-probes need, printed by `scripts/deployer-policy`, and the map from each AWS API operation the tools call to
the IAM action(s) that authorize it.

Two halves:
- what the tools call themselves (TOOL_ACTIONS); the tests collect every call the tools make and check each is
  covered here, through `actions_for`;
- what CloudFormation does with the deployer's own credentials while it creates, updates and deletes the stack's
  resources (the stack has no service role): STACK_RESOURCE_ACTIONS, one entry per resource type of the template
  (a test fails when the template gains a type this table does not know).

Where an operation's IAM action has another name, the mapping quotes its source (S3 API reference, the "Permissions"
section of each operation; Service Authorization Reference, "Actions defined by Amazon S3").
Resource ARNs are narrowed where names are known before the stack exists (buckets, roles and the function named
after the stack); CloudFront, WAF, MRAP and Batch Operations ARNs are generated, so those statements use "*".
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .stack_buckets import CODE_BUCKET_PREFIX
from ..version import VERSION
from .rules import MAX_MANAGED_POLICY_CHARS

__all__ = ["NO_PERMISSION", "ACTION_FOR", "STACK_RESOURCE_ACTIONS", "actions_for", "deployer_policy", "covers",
           "uncovered", "policy_size", "MAX_MANAGED_POLICY_CHARS", "main"]

_PREFIX = {"s3control": "s3"}  # S3 Control's operations are authorized by s3: actions
# STS API reference, GetCallerIdentity: "No permissions are required to perform this operation."
NO_PERMISSION = {"sts:GetCallerIdentity"}
ACTION_FOR: Dict[str, Tuple[str, ...]] = {
    # HeadBucket: "you must have permissions to perform the s3:ListBucket action".
    "s3:HeadBucket": ("s3:ListBucket",),
    # HeadObject: "you must have the s3:GetObject permission".
    "s3:HeadObject": ("s3:GetObject",),
    # ListObjectsV2: "you must have permission to perform the s3:ListBucket action".
    "s3:ListObjectsV2": ("s3:ListBucket",),
    # ListBuckets: "You must have the s3:ListAllMyBuckets permission" (the backfill reads each bucket's CreationDate).
    "s3:ListBuckets": ("s3:ListAllMyBuckets",),
    # ListObjectVersions: "you must have READ access to the bucket" -> s3:ListBucketVersions (Service Authorization).
    "s3:ListObjectVersions": ("s3:ListBucketVersions",),
    # GetBucketReplication / PutBucketReplication / DeleteBucketReplication: "s3:GetReplicationConfiguration",
    # "s3:PutReplicationConfiguration" ("also ... iam:PassRole"), delete "requires ... s3:PutReplicationConfiguration".
    "s3:GetBucketReplication": ("s3:GetReplicationConfiguration",),
    "s3:PutBucketReplication": ("s3:PutReplicationConfiguration", "iam:PassRole"),
    "s3:DeleteBucketReplication": ("s3:PutReplicationConfiguration",),
    # GetBucketEncryption / PutBucketEncryption: "s3:GetEncryptionConfiguration" / "s3:PutEncryptionConfiguration".
    "s3:GetBucketEncryption": ("s3:GetEncryptionConfiguration",),
    "s3:PutBucketEncryption": ("s3:PutEncryptionConfiguration",),
    # GetBucketLifecycleConfiguration: "s3:GetLifecycleConfiguration".
    "s3:GetBucketLifecycleConfiguration": ("s3:GetLifecycleConfiguration",),
    # PutPublicAccessBlock: "s3:PutBucketPublicAccessBlock".
    "s3:PutPublicAccessBlock": ("s3:PutBucketPublicAccessBlock",),
    # DeleteObjects: "you must have the s3:DeleteObject ... permission".
    "s3:DeleteObjects": ("s3:DeleteObject",),
    # CreateJob (S3 Control): "s3:CreateJob" and "iam:PassRole" on the job's role.
    "s3:CreateJob": ("s3:CreateJob", "iam:PassRole"),
}
# "If you include a versionId in your request, you must have the s3:GetObjectVersion permission" (GetObject); the
# same for HeadObject, and s3:DeleteObjectVersion for DeleteObject(s) with a version id.
_VERSIONED = {"s3:GetObject": "s3:GetObjectVersion", "s3:HeadObject": "s3:GetObjectVersion",
              "s3:DeleteObject": "s3:DeleteObjectVersion", "s3:DeleteObjects": "s3:DeleteObjectVersion"}

# What the tools call themselves, by purpose (a test checks every collected call against these).
TOOL_ACTIONS: Dict[str, Tuple[str, ...]] = {
    "buckets": ("s3:ListBucket", "s3:ListBucketVersions", "s3:CreateBucket", "s3:DeleteBucket",
                "s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:GetReplicationConfiguration",
                "s3:PutReplicationConfiguration", "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration",
                "s3:GetLifecycleConfiguration", "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
                "s3:GetBucketTagging", "s3:PutBucketTagging", "s3:PutBucketPublicAccessBlock"),
    "objects": ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"),
    "jobs_and_routes": ("s3:CreateJob", "s3:DescribeJob", "s3:ListJobs", "s3:GetMultiRegionAccessPoint",
                        "s3:GetMultiRegionAccessPointPolicy", "s3:GetMultiRegionAccessPointRoutes",
                        "s3:SubmitMultiRegionAccessPointRoutes"),
    "roles": ("iam:GetRole", "iam:CreateRole", "iam:TagRole", "iam:DeleteRole", "iam:GetRolePolicy",
              "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies", "iam:PassRole"),
    "stack": ("cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:GetTemplate",
              "cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet",
              "cloudformation:ExecuteChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DeleteStack"),
    "function": ("lambda:GetFunction", "lambda:ListVersionsByFunction", "lambda:DeleteFunction"),
    "logs": ("logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup", "logs:FilterLogEvents"),
    "domains": ("acm:DescribeCertificate", "route53:GetHostedZone", "route53:ListResourceRecordSets",
                "route53:ChangeResourceRecordSets"),
    "reads": ("logs:DescribeLogGroups", "cloudfront:GetDistribution", "cloudfront:ListDistributions",
              "cloudfront:GetCachePolicy", "cloudfront:GetOriginRequestPolicy", "cloudfront:GetOriginAccessControl",
              "cloudfront:ListOriginAccessControls", "cloudfront:DeleteOriginAccessControl", "wafv2:GetWebACL",
              "wafv2:GetIPSet", "cloudwatch:GetMetricData", "ec2:DescribeRegions", "kms:DescribeKey",
              "kms:GetKeyPolicy", "organizations:DescribeOrganization", "s3:ListAllMyBuckets"),
}

# What CloudFormation does with the deployer's credentials, per resource type of the template (the resource types'
# handler permissions in the CloudFormation resource schemas; Lambda@Edge associations: CloudFront Developer Guide,
# "Set up IAM permissions and roles for Lambda@Edge").
STACK_RESOURCE_ACTIONS: Dict[str, Tuple[str, ...]] = {
    "AWS::S3::MultiRegionAccessPoint": ("s3:CreateMultiRegionAccessPoint", "s3:DeleteMultiRegionAccessPoint",
                                        "s3:GetMultiRegionAccessPoint", "s3:DescribeMultiRegionAccessPointOperation",
                                        "s3:ListMultiRegionAccessPoints"),
    "AWS::S3::MultiRegionAccessPointPolicy": ("s3:PutMultiRegionAccessPointPolicy",
                                              "s3:GetMultiRegionAccessPointPolicy",
                                              "s3:GetMultiRegionAccessPointPolicyStatus"),
    "AWS::IAM::Role": ("iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:PutRolePolicy",
                       "iam:DeleteRolePolicy", "iam:GetRolePolicy", "iam:ListRolePolicies",
                       "iam:ListAttachedRolePolicies", "iam:TagRole", "iam:UntagRole", "iam:PassRole"),
    "AWS::Lambda::Function": ("lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction",
                              "lambda:GetFunctionConfiguration", "lambda:UpdateFunctionCode",
                              "lambda:UpdateFunctionConfiguration", "lambda:TagResource", "lambda:ListTags",
                              "lambda:UntagResource", "iam:PassRole", "s3:GetObject", "s3:GetObjectVersion"),
    "AWS::Lambda::Version": ("lambda:PublishVersion", "lambda:ListVersionsByFunction", "lambda:GetFunction",
                             "lambda:DeleteFunction", "lambda:EnableReplication*", "iam:CreateServiceLinkedRole"),
    "AWS::CloudFront::Distribution": ("cloudfront:CreateDistribution", "cloudfront:CreateDistributionWithTags",
                                      "cloudfront:UpdateDistribution", "cloudfront:GetDistribution",
                                      "cloudfront:GetDistributionConfig", "cloudfront:DeleteDistribution",
                                      "cloudfront:TagResource", "cloudfront:UntagResource",
                                      "cloudfront:ListTagsForResource", "lambda:GetFunction",
                                      "lambda:EnableReplication*", "lambda:DisableReplication*",
                                      "iam:CreateServiceLinkedRole", "wafv2:GetWebACL"),
    "AWS::CloudFront::OriginAccessControl": ("cloudfront:CreateOriginAccessControl",
                                             "cloudfront:GetOriginAccessControl",
                                             "cloudfront:UpdateOriginAccessControl",
                                             "cloudfront:DeleteOriginAccessControl"),
    "AWS::CloudFront::CachePolicy": ("cloudfront:CreateCachePolicy", "cloudfront:GetCachePolicy",
                                     "cloudfront:UpdateCachePolicy", "cloudfront:DeleteCachePolicy"),
    "AWS::CloudFront::OriginRequestPolicy": ("cloudfront:CreateOriginRequestPolicy",
                                             "cloudfront:GetOriginRequestPolicy",
                                             "cloudfront:UpdateOriginRequestPolicy",
                                             "cloudfront:DeleteOriginRequestPolicy"),
    "AWS::CloudFront::PublicKey": ("cloudfront:CreatePublicKey", "cloudfront:GetPublicKey",
                                   "cloudfront:UpdatePublicKey", "cloudfront:DeletePublicKey"),
    "AWS::CloudFront::KeyGroup": ("cloudfront:CreateKeyGroup", "cloudfront:GetKeyGroup", "cloudfront:UpdateKeyGroup",
                                  "cloudfront:DeleteKeyGroup"),
    "AWS::WAFv2::IPSet": ("wafv2:CreateIPSet", "wafv2:GetIPSet", "wafv2:UpdateIPSet", "wafv2:DeleteIPSet",
                          "wafv2:ListTagsForResource", "wafv2:TagResource"),
    "AWS::WAFv2::WebACL": ("wafv2:CreateWebACL", "wafv2:GetWebACL", "wafv2:UpdateWebACL", "wafv2:DeleteWebACL",
                           "wafv2:ListTagsForResource", "wafv2:TagResource"),
}


def actions_for(service: str, operation: str, params: Optional[Mapping[str, Any]] = None) -> Tuple[str, ...]:
    """The IAM actions that authorize one API call (botocore service name, operation name, its parameters)."""
    name = f"{_PREFIX.get(service, service)}:{operation}"
    if name in NO_PERMISSION:
        return ()
    actions = ACTION_FOR.get(name, (name,))
    objects = (params or {}).get("Delete", {}).get("Objects", [])
    if name in _VERSIONED and ((params or {}).get("VersionId") or any(o.get("VersionId") for o in objects)):
        actions = actions + (_VERSIONED[name],)
    return actions


def _statement(sid: str, actions: Sequence[str], resources: Sequence[str],
               condition: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    statement: Dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)),
                                 "Resource": list(resources) if len(resources) > 1 else resources[0]}
    if condition:
        statement["Condition"] = condition
    return statement


def _stack_actions() -> List[str]:
    return sorted({a for actions in STACK_RESOURCE_ACTIONS.values() for a in actions})


def deployer_policy(stack_name: str = "mrap-edge", function_name: str = "mrap-edge", account: str = "*",
                    buckets: Sequence[str] = (), adopted_roles: Sequence[str] = ()) -> Dict[str, Any]:
    """The policy; `buckets` (names) narrows the S3 statements to them and the deployables bucket."""
    names = [*buckets, f"{CODE_BUCKET_PREFIX}*"] if buckets else ["*"]
    bucket_arns = [f"arn:aws:s3:::{n}" for n in names]
    roles = [f"arn:aws:iam::{account}:role/{stack_name}-*", *(f"arn:aws:iam::{account}:role/{r}"
                                                              for r in adopted_roles)]
    iam_stack = [a for a in _stack_actions() if a.startswith("iam:") and a != "iam:CreateServiceLinkedRole"]
    return {"Version": "2012-10-17", "Statement": [
        _statement("BucketsTheirSettingsAndReplication", TOOL_ACTIONS["buckets"], bucket_arns),
        _statement("ObjectsCodeProbesAndBackfillRecords", TOOL_ACTIONS["objects"], [f"{a}/*" for a in bucket_arns]),
        _statement("BackfillJobsAndMrapRoutes", TOOL_ACTIONS["jobs_and_routes"], ["*"]),
        _statement("RolesOfTheStackAndTheTools", [*TOOL_ACTIONS["roles"], *iam_stack], roles),
        _statement("PassThoseRolesToS3AndLambda", ["iam:PassRole"], roles, {"StringEquals": {"iam:PassedToService": [
            "s3.amazonaws.com", "batchoperations.s3.amazonaws.com", "lambda.amazonaws.com"]}}),
        _statement("LambdaEdgeServiceLinkedRoles", ["iam:CreateServiceLinkedRole"],
                   [f"arn:aws:iam::{account}:role/aws-service-role/*"], {"StringEquals": {"iam:AWSServiceName": [
                       "replicator.lambda.amazonaws.com", "logger.cloudfront.amazonaws.com"]}}),
        _statement("TheStack", TOOL_ACTIONS["stack"],
                   [f"arn:aws:cloudformation:us-east-1:{account}:stack/{stack_name}/*"]),
        _statement("TheFunction", [*TOOL_ACTIONS["function"],
                                   *(a for a in _stack_actions() if a.startswith("lambda:"))],
                   [f"arn:aws:lambda:us-east-1:{account}:function:{function_name}-*"]),
        _statement("TheFunctionsLogGroups", TOOL_ACTIONS["logs"],
                   [f"arn:aws:logs:*:{account}:log-group:/aws/lambda/us-east-1.{function_name}-*"]),
        _statement("AlternateDomainNamesCertificateAndAliasRecords", TOOL_ACTIONS["domains"], ["*"]),
        _statement("ReadsAndResourcesWithGeneratedNames",
                   [*TOOL_ACTIONS["reads"], *(a for a in _stack_actions()
                                               if a.split(":")[0] in ("cloudfront", "wafv2", "s3")
                                               and not a.startswith("s3:GetObject"))], ["*"]),
    ]}


def covers(policy: Mapping[str, Any], action: str) -> bool:
    """Is `action` allowed by some statement (actions compared as IAM does: case-insensitive, with wildcards)?"""
    for statement in policy.get("Statement", []):
        listed = statement.get("Action", [])
        if statement.get("Effect") == "Allow" and any(
                fnmatch.fnmatchcase(action.lower(), pattern.lower())
                for pattern in ([listed] if isinstance(listed, str) else listed)):
            return True
    return False


def uncovered(calls: Sequence[Tuple[str, str, Mapping[str, Any]]], policy: Mapping[str, Any]) -> List[str]:
    """The actions of `calls` ((service, operation, params)) that `policy` does not allow, each with its call."""
    missing = set()
    for service, operation, params in calls:
        for action in actions_for(service, operation, params):
            if not covers(policy, action):
                missing.add(f"{action} (for {service} {operation})")
    return sorted(missing)


def policy_size(policy: Mapping[str, Any]) -> int:
    """Characters IAM counts against the managed-policy quota (whitespace not counted)."""
    return len(json.dumps(policy, separators=(",", ":")))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/deployer-policy",
                                     description="Print the IAM policy the mrap-edge tools need (JSON).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    parser.add_argument("--stack-name", default="mrap-edge")
    parser.add_argument("--function-name", default="mrap-edge")
    parser.add_argument("--account", default="*", help="the account id (default: any)")
    parser.add_argument("--buckets", default="", help="name[@region],... to narrow the S3 statements to")
    parser.add_argument("--adopt-role", action="append", default=[], metavar="ROLE_NAME",
                        help="a replication role deploy --adopt-replication-role will add its policy to")
    args = parser.parse_args(argv)
    buckets = [item.partition("@")[0].strip() for item in args.buckets.split(",") if item.strip()]
    policy = deployer_policy(args.stack_name, args.function_name, args.account, buckets, args.adopt_role)
    if policy_size(policy) > MAX_MANAGED_POLICY_CHARS:
        print(f"deployer-policy: unable to fit the policy in {MAX_MANAGED_POLICY_CHARS} characters "
              f"({policy_size(policy)}); attach it as two policies or as an inline policy", file=sys.stderr)
    print(json.dumps(policy, indent=2))
    return 0
