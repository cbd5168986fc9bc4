"""Bucket policies that deny: each Deny statement evaluated against the requests mrap-edge's principals make, and the
amended statement that exempts exactly them."""
from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest
from botocore.stub import Stubber

from infra.aws import bucket_policies as bp
from infra.aws.clients import ToolError
from infra.aws.regions import Bucket

from .helpers import ACCOUNT, LONDON, OHIO, Clients, ReadOnly, make_bucket

BUCKETS = [Bucket(LONDON, "eu-west-2"), Bucket(OHIO, "us-east-2")]
ARN = f"arn:aws:s3:::{LONDON}"


def _deny(sid: str, condition: Dict[str, Any], **extra: Any) -> Dict[str, Any]:
    statement = {"Sid": sid, "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [ARN, f"{ARN}/*"],
                 "Condition": condition}
    statement.update(extra)
    return statement


def _contexts(native: bool = False, org_id: Any = bp.UNKNOWN) -> List[bp.RequestContext]:
    return bp.principals_for(ACCOUNT, "mrap-edge", BUCKETS, native=native, replicate=True, org_id=org_id)[LONDON]


# Someone at the company, from outside its network: the request every such statement exists to refuse.
OUTSIDER = bp.RequestContext("an outsider", "role", f"arn:aws:iam::{ACCOUNT}:role/someone", "s3:GetObject", "object",
                             {"aws:principalarn": f"arn:aws:iam::{ACCOUNT}:role/someone", "aws:sourceip": "203.0.113.9",
                              "aws:principalisawsservice": "false"})

VPCE = _deny("DenyOutsideVpce", {"StringNotEquals": {"aws:SourceVpce": ["vpce-0a1b2c3d"]}})
SOURCE_IP = _deny("DenyOutsideOffice", {"NotIpAddress": {"aws:SourceIp": ["198.51.100.0/24"]}})
SOURCE_VPC = _deny("", {"StringNotEquals": {"aws:SourceVpc": "vpc-111"}})


@pytest.mark.parametrize("statement", [VPCE, SOURCE_IP, SOURCE_VPC], ids=["SourceVpce", "SourceIp", "SourceVpc"])
def test_a_network_only_deny_refuses_every_principal_of_ours(statement: Dict[str, Any]) -> None:
    for context in _contexts() + _contexts(native=True):
        assert bp.statement_refuses(statement, LONDON, context, ACCOUNT) is True, context.principal


@pytest.mark.parametrize("statement", [VPCE, SOURCE_IP, SOURCE_VPC], ids=["SourceVpce", "SourceIp", "SourceVpc"])
def test_the_amended_statement_exempts_exactly_our_principals(statement: Dict[str, Any]) -> None:
    contexts = _contexts() + _contexts(native=True)
    fixed = bp.amended_statement(statement, contexts)
    assert all(bp.statement_refuses(fixed, LONDON, c, ACCOUNT) is False for c in contexts)
    assert bp.statement_refuses(fixed, LONDON, OUTSIDER, ACCOUNT) is True
    function_role = f"arn:aws:iam::{ACCOUNT}:role/mrap-edge-FunctionRole-*"
    assert fixed["Condition"]["ArnNotLike"]["aws:PrincipalArn"][0] == function_role
    assert fixed["Condition"]["StringNotLikeIfExists"]["aws:SourceArn"] == [
        f"arn:aws:cloudfront::{ACCOUNT}:distribution/*"]


def test_an_organisation_deny_spares_our_roles_in_the_organisation_but_refuses_cloudfront() -> None:
    statement = _deny("DenyOtherOrgs", {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}})
    verdicts = {c.principal: bp.statement_refuses(statement, LONDON, c, ACCOUNT) for c in _contexts(org_id="o-abc123")}
    assert verdicts["the function role reading through the MRAP"] is False
    # A service principal belongs to no organisation: the key is absent, and a negated operator is then true.
    assert verdicts["CloudFront reading the failover bucket"] is True
    unknown = {c.principal: bp.statement_refuses(statement, LONDON, c, ACCOUNT) for c in _contexts()}
    assert unknown["the function role reading through the MRAP"] is None  # the organisation could not be read
    alone = {c.principal: bp.statement_refuses(statement, LONDON, c, ACCOUNT) for c in _contexts(org_id=None)}
    assert alone["the function role reading through the MRAP"] is True  # an account in no organisation


@pytest.mark.parametrize("statement", [
    _deny("TlsOnly", {"Bool": {"aws:SecureTransport": "false"}}),
    _deny("ElsewhereOnly", {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}, Resource="arn:aws:s3:::another/*"),
    _deny("WritesOnly", {}, Action=["s3:PutObject", "s3:DeleteObject"]),
    dict(_deny("Allowed", {}), Effect="Allow"),
    _deny("ExemptsUs", {"StringNotEquals": {"aws:SourceVpce": "vpce-1"},
                        "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                        "ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/mrap-edge-*"}}),
], ids=["tls", "other bucket", "writes", "allow", "already exempt"])
def test_statements_that_do_not_refuse_us(statement: Dict[str, Any]) -> None:
    assert not any(bp.statement_refuses(statement, LONDON, c, ACCOUNT) for c in _contexts())


def test_not_principal_refuses_whoever_it_does_not_list() -> None:
    statement = {"Sid": "OnlyAdmins", "Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"},
                 "Action": "s3:GetObject", "Resource": f"{ARN}/*"}
    function = _contexts()[0]
    assert bp.statement_refuses(statement, LONDON, function, ACCOUNT) is True
    assert bp.statement_refuses({**statement, "NotPrincipal": {"Service": "cloudfront.amazonaws.com"}}, LONDON,
                                _contexts()[1], ACCOUNT) is False


def test_a_deny_on_part_of_the_objects_refuses_there_too() -> None:
    statement = _deny("Private", {}, Resource=f"{ARN}/private/*")
    assert bp.statement_refuses(statement, LONDON, _contexts()[0], ACCOUNT) is True


def test_an_operator_the_model_does_not_know_may_refuse() -> None:
    statement = _deny("Dates", {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})
    assert bp.statement_refuses(statement, LONDON, _contexts()[0], ACCOUNT) is None


def test_deploy_is_refused_before_anything_is_written_naming_the_statement_and_its_fix(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    make_bucket(aws, OHIO, "us-east-2")
    aws("s3", "eu-west-2").put_bucket_policy(Bucket=LONDON, Policy=json.dumps({"Version": "2012-10-17",
                                                                                "Statement": [VPCE]}))
    reader, said = ReadOnly(aws), []
    with pytest.raises(ToolError) as refused:
        bp.check_bucket_policies(reader, ACCOUNT, "mrap-edge", BUCKETS, native=False, replicate=True, say=said.append)
    text = str(refused.value)
    assert text.startswith("unable to deploy: an explicit Deny")
    assert f"bucket policy of {LONDON}: statement DenyOutsideVpce refuses the function role" in text
    assert "S3 replication (destination side)" in text and OHIO + ":" not in text
    fix = json.loads(text.splitlines()[1].split("replace it with ", 1)[1])
    assert fix["Condition"]["StringNotEquals"] == VPCE["Condition"]["StringNotEquals"]  # theirs is kept as it is
    assert "s3.get_bucket_policy" in reader.reads


class _NoOrganizations:
    """The caller may not read its organisation (organizations:DescribeOrganization is denied)."""

    def __init__(self, inner: Clients) -> None:
        self.inner = inner

    def __call__(self, service: str, region: str) -> Any:
        client = self.inner(service, region)
        if service == "organizations":
            stub = Stubber(client)
            stub.add_client_error("describe_organization", "AccessDeniedException")
            stub.activate()
        return client


def test_a_policy_that_only_may_refuse_is_a_warning(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    make_bucket(aws, OHIO, "us-east-2")
    statement = _deny("DenyOtherOrgs", {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
                      Action="s3:ReplicateObject")
    aws("s3", "eu-west-2").put_bucket_policy(Bucket=LONDON, Policy=json.dumps({"Statement": [statement]}))
    said: List[str] = []
    findings = bp.check_bucket_policies(_NoOrganizations(aws), ACCOUNT, "mrap-edge", BUCKETS, native=False,
                                        replicate=True, say=said.append)
    assert [f.certain for f in findings] == [False]
    assert said == [f"warning: {findings[0].line()}"] and "may refuse S3 replication (destination side)" in said[0]


def test_an_account_outside_any_organisation_is_refused_by_an_organisation_deny(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    make_bucket(aws, OHIO, "us-east-2")
    statement = _deny("DenyOtherOrgs", {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}})
    aws("s3", "eu-west-2").put_bucket_policy(Bucket=LONDON, Policy=json.dumps({"Statement": [statement]}))
    with pytest.raises(ToolError, match="statement DenyOtherOrgs refuses the function role"):
        bp.check_bucket_policies(aws, ACCOUNT, "mrap-edge", BUCKETS, native=False, replicate=False, say=print)
