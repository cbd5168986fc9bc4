"""The permissions the local stack enforces, read from the project's template and the deploy tooling's bucket
statement: what the function's role may read through the MRAP, and what CloudFront may read from a bucket."""
from __future__ import annotations

import copy
import json
from typing import Any, Dict

import pytest

from infra.local.cloudformation import TEMPLATE_FILE, DeployedNames
from infra.local.iam import Principal
from infra.local.s3.access import CLOUDFRONT, Access, StackIdentities, access_policies, object_key, s3_action

IDENTITIES = StackIdentities(mrap_alias="mfzwi23gnjvgw.mrap", bucket_names=("london-bucket", "ohio-bucket"))
REGIONS = ("eu-west-2", "us-east-2")
ROLE = Principal("AWS", IDENTITIES.role_arn)
SOURCE = {"aws:SourceArn": IDENTITIES.distribution_arn}


def template() -> Dict[str, Any]:
    return json.loads(TEMPLATE_FILE.read_text())


def without_version_reads(document: Dict[str, Any], resource: str) -> Dict[str, Any]:
    """The template with s3:GetObjectVersion taken out of one resource's statements."""
    changed = copy.deepcopy(document)
    text = json.dumps(changed["Resources"][resource])
    changed["Resources"][resource] = json.loads(text.replace(', "s3:GetObjectVersion"', ""))
    assert "s3:GetObjectVersion" not in json.dumps(changed["Resources"][resource])
    return changed


def test_the_templates_policies_resolve_for_the_local_account() -> None:
    resolved = access_policies(template(), IDENTITIES.deployed_names(REGIONS))

    [mrap_statement] = resolved.mrap["Statement"]
    assert mrap_statement["Principal"] == {"AWS": IDENTITIES.role_arn}  # Fn::If UseFunction, Fn::GetAtt
    assert mrap_statement["Resource"] == f"{IDENTITIES.mrap_arn}/object/*"  # Fn::Sub with ${Mrap.Alias}
    names = dict(resolved.role)
    through, buckets = names["read-mrap-objects"]["Statement"]
    assert through["Resource"] == "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/object/*"
    assert buckets["Resource"] == ["arn:aws:s3:::london-bucket/*", "arn:aws:s3:::ohio-bucket/*"]  # Fn::Split
    assert buckets["Condition"] == {"StringEquals": {"s3:DataAccessPointArn": IDENTITIES.mrap_arn}}


def test_native_mode_resolves_the_other_branch_of_the_mrap_policy() -> None:
    names = IDENTITIES.deployed_names(REGIONS)
    native = DeployedNames(names.account_id, {**names.parameters, "NativeMode": "true"}, names.refs, names.attributes)

    [statement] = access_policies(template(), native).mrap["Statement"]

    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["AWS:SourceArn"] == IDENTITIES.distribution_arn


def test_an_intrinsic_that_cannot_be_resolved_stops_the_stand_in() -> None:
    broken = template()
    broken["Resources"]["MrapPolicy"]["Properties"]["Policy"]["Statement"][0] = {"Fn::ImportValue": "x"}

    with pytest.raises(ValueError, match="Fn::ImportValue"):
        Access(broken, IDENTITIES, REGIONS)


@pytest.mark.parametrize(("method", "target", "action"), [
    ("GET", "/images/red.png", "s3:GetObject"),
    ("HEAD", "/images/red.png", "s3:GetObject"),
    ("GET", "/images/red.png?partNumber=1", "s3:GetObject"),
    ("GET", "/images/red.png?versionId=abc", "s3:GetObjectVersion"),
    ("HEAD", "/images/red.png?partNumber=1&versionId=abc", "s3:GetObjectVersion"),
    ("GET", "/images/red.png?acl", "s3:GetObjectAcl"),
    ("GET", "/images/red.png?tagging&versionId=abc", "s3:GetObjectVersionTagging"),
    ("GET", "/", "s3:ListBucket"),
    ("PUT", "/images/red.png", "s3:PutObject"),
    ("DELETE", "/images/red.png?versionId=abc", "s3:DeleteObjectVersion"),
    ("OPTIONS", "/images/red.png", None),
])
def test_the_action_s3_authorises_a_request_as(method: str, target: str, action: str) -> None:
    assert s3_action(method, target) == action


def test_the_key_is_the_path_decoded_once() -> None:
    assert object_key("/photos/caf%C3%A9%20%2541.png?versionId=x") == "photos/café %41.png"


@pytest.mark.parametrize(("method", "target", "expected"), [
    ("GET", "/images/red.png", True),
    ("HEAD", "/photos/summer%20holiday.png", True),
    ("GET", "/images/red.png?versionId=abc", True),
    ("PUT", "/images/red.png", False),
    ("DELETE", "/images/red.png", False),
    ("GET", "/", False),  # no s3:ListBucket: which is why a missing key is 403
])
def test_the_role_reads_objects_through_the_mrap_and_nothing_else(method: str, target: str, expected: bool) -> None:
    assert Access(template(), IDENTITIES, REGIONS).through_mrap(ROLE, method, target) is expected


def test_another_principal_may_not_use_the_mrap() -> None:
    access = Access(template(), IDENTITIES, REGIONS)

    assert not access.through_mrap(Principal("AWS", "arn:aws:iam::123456789012:role/other"), "GET", "/k")
    assert not access.through_mrap(CLOUDFRONT, "GET", "/k")


@pytest.mark.parametrize("resource", ["FunctionRole", "MrapPolicy"])
def test_without_get_object_version_in_either_policy_version_reads_are_denied(resource: str) -> None:
    access = Access(without_version_reads(template(), resource), IDENTITIES, REGIONS)

    assert access.through_mrap(ROLE, "GET", "/images/red.png")
    assert not access.through_mrap(ROLE, "GET", "/images/red.png?versionId=abc")


def test_cloudfront_reads_a_bucket_only_for_this_distribution() -> None:
    access = Access(template(), IDENTITIES, REGIONS)

    assert access.to_bucket("london-bucket", CLOUDFRONT, SOURCE, "GET", "/images/red.png")
    assert access.to_bucket("london-bucket", CLOUDFRONT, SOURCE, "GET", "/images/red.png?versionId=abc")
    other = {"aws:SourceArn": "arn:aws:cloudfront::123456789012:distribution/EOTHER"}
    assert not access.to_bucket("london-bucket", CLOUDFRONT, other, "GET", "/images/red.png")
    assert not access.to_bucket("london-bucket", CLOUDFRONT, {}, "GET", "/images/red.png")
    assert not access.to_bucket("london-bucket", CLOUDFRONT, SOURCE, "GET", "/")
    assert not access.to_bucket("another-bucket", CLOUDFRONT, SOURCE, "GET", "/images/red.png")


def test_the_role_may_not_read_a_bucket_directly() -> None:
    # Its statement for the buckets needs s3:DataAccessPointArn = the MRAP, which a direct request lacks.
    access = Access(template(), IDENTITIES, REGIONS)

    assert not access.to_bucket("london-bucket", ROLE, {}, "GET", "/images/red.png")
    assert access.to_bucket("london-bucket", ROLE, {"s3:DataAccessPointArn": IDENTITIES.mrap_arn}, "GET",
                            "/images/red.png")
