"""The deployer's policy stays true: every AWS call the tools make (collected from the tests, and read from the code)
is allowed by it, every resource type of the template has its actions, and it fits IAM's managed-policy quota."""
from __future__ import annotations

import ast
import datetime
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set, Tuple

import botocore.session
import pytest
from botocore import xform_name

from infra.aws import permissions, teardown
from infra.version import VERSION

from .account import Account
from .helpers import DIST_ID, LONDON, OHIO, TOOL_CALLS, ReadOnly, distribution_response, make_bucket, run_deploy

ROOT = Path(__file__).resolve().parents[3]
POLICY = permissions.deployer_policy()
_SERVICE = re.compile(r'\(\s*"([a-z0-9]+)"\s*,')


def _uncovered(calls: Set[Tuple[str, str, str]]) -> List[str]:
    return permissions.uncovered([(s, o, {"VersionId": "v"} if v else {}) for s, o, v in calls], POLICY)


def _operations_by_name(services: Set[str]) -> Dict[str, List[Tuple[str, str]]]:
    session = botocore.session.get_session()
    found: Dict[str, List[Tuple[str, str]]] = {}
    for service in services:
        for operation in session.get_service_model(service).operation_names:
            found.setdefault(xform_name(operation), []).append((service, operation))
    return found


def _operations_in_the_code() -> Set[Tuple[str, str, str]]:
    """Every botocore operation the tools' code names: a method call (`s3.head_bucket(...)`) or a string (paginators,
    getattr), attributed to the services the file asks its client factory for."""
    texts = [f.read_text(encoding="utf-8") for f in (ROOT / "infra" / "aws").rglob("*.py")]
    session_services = set(botocore.session.get_session().get_available_services())
    used = {s for t in texts for s in _SERVICE.findall(t) if s in session_services}
    by_name = _operations_by_name(used)
    found: Set[Tuple[str, str, str]] = set()
    for text in texts:
        here = {s for s in _SERVICE.findall(text) if s in used}
        for node in ast.walk(ast.parse(text)):
            name = node.func.attr if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else (
                node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None)
            candidates = by_name.get(str(name), [])
            found.update((s, o, "") for s, o in ([c for c in candidates if c[0] in here] or candidates))
    return found


def test_every_operation_the_code_names_is_in_the_policy() -> None:
    found = _operations_in_the_code()
    assert ("s3", "PutBucketReplication", "") in found and ("s3control", "CreateJob", "") in found  # the reader works
    assert _uncovered(found) == []


def test_the_tool_flows_calls_are_all_in_the_policy(aws: Account, package: Path, template: Path) -> None:
    """Runs what it checks, so that it holds whichever tests ran before: a dry run, a first deploy with a backfill,
    and teardown (the other commands' calls are collected from their own tests and from the code above)."""
    before = set(TOOL_CALLS)
    make_bucket(aws, LONDON, "eu-west-2", objects=2)
    assert run_deploy(ReadOnly(aws), package, template, "--create-buckets", "--dry-run")[0] == 0
    aws.stub("cloudfront").add_response("get_distribution", distribution_response(), {"Id": DIST_ID})
    code, said = run_deploy(aws, package, template, "--create-buckets")
    assert code == 0, said
    aws.stub("cloudfront").add_response("list_origin_access_controls", {"OriginAccessControlList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}}, {})
    aws.clock.advance(datetime.timedelta(hours=2))  # the backfill has ended
    aws("s3", "us-east-2").put_object(Bucket=OHIO, Key="images/0000.jpg", Body=b"replica")  # emptied version by version
    teardown.teardown(aws, "mrap-edge", delete_buckets=True, say=lambda _: None, sleep=lambda _: None)
    assert TOOL_CALLS - before or before  # the flows were recorded (or every one of their calls already was)
    assert {("s3", "PutBucketReplication", ""), ("s3control", "CreateJob", ""), ("s3", "DeleteBucket", ""),
            ("cloudformation", "ExecuteChangeSet", ""), ("s3", "DeleteObjects", "VersionId")} <= TOOL_CALLS
    assert _uncovered(set(TOOL_CALLS)) == []


def test_every_call_the_tools_made_in_this_session_is_in_the_deployer_policy() -> None:
    """Runs last (conftest), so it sees every call of every test that ran in this session."""
    assert _uncovered(set(TOOL_CALLS)) == []


def test_a_call_the_policy_does_not_allow_is_named() -> None:
    narrow = {"Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "*"}]}
    assert permissions.uncovered([("s3", "HeadBucket", {}), ("s3", "HeadObject", {})], narrow) == [
        "s3:GetObject (for s3 HeadObject)"]


@pytest.mark.parametrize("call, actions", [
    (("s3", "HeadBucket", {}), ("s3:ListBucket",)),
    (("s3", "ListObjectVersions", {}), ("s3:ListBucketVersions",)),
    (("s3", "GetBucketReplication", {}), ("s3:GetReplicationConfiguration",)),
    (("s3", "PutBucketReplication", {}), ("s3:PutReplicationConfiguration", "iam:PassRole")),
    (("s3", "GetObject", {"VersionId": "v1"}), ("s3:GetObject", "s3:GetObjectVersion")),
    (("s3", "DeleteObjects", {"Delete": {"Objects": [{"Key": "k", "VersionId": "v"}]}}),
     ("s3:DeleteObject", "s3:DeleteObjectVersion")),
    (("s3control", "SubmitMultiRegionAccessPointRoutes", {}), ("s3:SubmitMultiRegionAccessPointRoutes",)),
    (("sts", "GetCallerIdentity", {}), ()),
    (("cloudformation", "CreateChangeSet", {}), ("cloudformation:CreateChangeSet",)),
], ids=lambda value: value[1] if isinstance(value, tuple) and len(value) == 3 else "")
def test_operations_map_to_their_iam_actions(call: Tuple[str, str, Dict[str, object]],
                                             actions: Tuple[str, ...]) -> None:
    assert permissions.actions_for(*call) == actions


def test_every_resource_type_of_the_template_has_its_actions() -> None:
    template = json.loads((ROOT / "cloudformation.template").read_text(encoding="utf-8"))
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert types - set(permissions.STACK_RESOURCE_ACTIONS) == set()
    for actions in permissions.STACK_RESOURCE_ACTIONS.values():
        assert all(permissions.covers(POLICY, a) for a in actions)


def test_the_policy_fits_a_managed_policy_and_narrows_to_the_buckets_given() -> None:
    policy = permissions.deployer_policy(account="123456789012", buckets=[LONDON, OHIO], adopted_roles=["theirs"])
    assert permissions.policy_size(policy) <= permissions.MAX_MANAGED_POLICY_CHARS
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["BucketsTheirSettingsAndReplication"]["Resource"] == [
        f"arn:aws:s3:::{LONDON}", f"arn:aws:s3:::{OHIO}", "arn:aws:s3:::mrap-edge-deployables-*"]
    assert "arn:aws:iam::123456789012:role/theirs" in statements["RolesOfTheStackAndTheTools"]["Resource"]


def test_the_script_prints_the_policy_and_its_version() -> None:
    script = str(ROOT / "scripts" / "deployer-policy")
    done = subprocess.run([sys.executable, script, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"scripts/deployer-policy {VERSION}"
    done = subprocess.run([sys.executable, script, "--account", "123456789012"], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) == permissions.deployer_policy(account="123456789012")
