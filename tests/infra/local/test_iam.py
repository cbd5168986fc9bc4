"""The small IAM evaluator: what it allows, what it does not, and what it refuses to read."""
from __future__ import annotations

import pytest

from infra.local.iam import Policy, Principal, Request, UnsupportedPolicy, allowed, decide

ROLE = Principal("AWS", "arn:aws:iam::123456789012:role/signer")
CLOUDFRONT = Principal("Service", "cloudfront.amazonaws.com")
DISTRIBUTION = "arn:aws:cloudfront::123456789012:distribution/E2LOCAL"


def policy(*statements: dict) -> Policy:
    return Policy.parse("test", {"Version": "2012-10-17", "Statement": list(statements)})


def read(resource: str = "arn:aws:s3:::bucket.one/*", actions=("s3:GetObject",), **extra) -> dict:
    return {"Effect": "Allow", "Action": list(actions), "Resource": resource, **extra}


@pytest.mark.parametrize(("pattern", "action", "expected"), [
    ("s3:GetObject", "s3:GetObject", True),
    ("s3:GetObject", "s3:getobject", True),  # action names are case-insensitive
    ("s3:GetObject", "s3:GetObjectVersion", False),  # no prefix match without a wildcard
    ("s3:Get*", "s3:GetObjectVersion", True),
    ("s3:GetObject?ersion", "s3:GetObjectVersion", True),
    ("s3:*", "s3:PutObject", True),
    ("s3:Get*", "s3:PutObject", False),
])
def test_actions_match_with_wildcards_ignoring_case(pattern: str, action: str, expected: bool) -> None:
    assert allowed([policy(read(actions=(pattern,)))], Request(action, "arn:aws:s3:::bucket.one/k")) is expected


@pytest.mark.parametrize(("pattern", "resource", "expected"), [
    ("arn:aws:s3:::bucket.one/*", "arn:aws:s3:::bucket.one/photos/a b.png", True),
    ("arn:aws:s3:::bucket.one/*", "arn:aws:s3:::bucketXone/k", False),  # "." is a plain character
    ("arn:aws:s3:::bucket.one/*", "arn:aws:s3:::Bucket.one/k", False),  # ARNs are case-sensitive
    ("arn:aws:s3:::bucket.one/*", "arn:aws:s3:::bucket.one", False),
    ("arn:aws:s3:::bucket.on?/k", "arn:aws:s3:::bucket.one/k", True),
    ("arn:aws:s3:::bucket.one/(1)+[x]", "arn:aws:s3:::bucket.one/(1)+[x]", True),  # no regex syntax
])
def test_resources_match_with_wildcards_case_sensitively(pattern: str, resource: str, expected: bool) -> None:
    assert allowed([policy(read(resource=pattern))], Request("s3:GetObject", resource)) is expected


def test_a_principal_must_match_when_the_statement_names_one() -> None:
    statement = read(Principal={"Service": "cloudfront.amazonaws.com"})
    request = Request("s3:GetObject", "arn:aws:s3:::bucket.one/k")

    assert allowed([policy(statement)], Request(request.action, request.resource, CLOUDFRONT))
    assert not allowed([policy(statement)], Request(request.action, request.resource, ROLE))
    assert not allowed([policy(statement)], request)  # no principal at all
    role_statement = read(Principal={"AWS": [ROLE.identifier]})
    assert allowed([policy(role_statement)], Request(request.action, request.resource, ROLE))
    assert not allowed([policy(role_statement)], Request(request.action, request.resource, CLOUDFRONT))


@pytest.mark.parametrize(("context", "expected"), [
    ({"aws:SourceArn": DISTRIBUTION}, True),
    ({"AWS:SOURCEARN": DISTRIBUTION}, True),  # condition key names are case-insensitive
    ({"aws:SourceArn": DISTRIBUTION.lower()}, False),  # values are not
    ({"aws:SourceArn": DISTRIBUTION + "X"}, False),
    ({}, False),  # a key missing from the request never matches
])
def test_string_equals_conditions(context: dict, expected: bool) -> None:
    statement = read(Principal={"Service": "cloudfront.amazonaws.com"},
                     Condition={"StringEquals": {"AWS:SourceArn": DISTRIBUTION}})

    assert allowed([policy(statement)], Request("s3:GetObject", "arn:aws:s3:::bucket.one/k", CLOUDFRONT,
                                                context)) is expected


def test_a_list_of_condition_values_matches_any_and_several_keys_all() -> None:
    statement = read(Condition={"StringEquals": {"k1": ["a", "b"], "k2": "c"}})
    resource = "arn:aws:s3:::bucket.one/k"

    assert allowed([policy(statement)], Request("s3:GetObject", resource, context={"k1": "b", "k2": "c"}))
    assert not allowed([policy(statement)], Request("s3:GetObject", resource, context={"k1": "b"}))


def test_any_allowing_statement_of_any_policy_is_enough() -> None:
    first = policy(read(resource="arn:aws:s3:::other/*"))
    second = policy(read(actions=("s3:GetObjectVersion",)), read())

    assert allowed([first, second], Request("s3:GetObject", "arn:aws:s3:::bucket.one/k"))
    assert not allowed([first], Request("s3:GetObject", "arn:aws:s3:::bucket.one/k"))
    assert not allowed([], Request("s3:GetObject", "arn:aws:s3:::bucket.one/k"))


@pytest.mark.parametrize("statement", [
    {"Effect": "Audit", "Action": "s3:*", "Resource": "*"},
    {"Effect": "Allow", "NotAction": "s3:PutObject", "Resource": "*"},
    {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x/*"},
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringLike": {"k": "v*"}}},
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}/*"},
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Principal": {"Federated": "x"}},
    {"Effect": "Allow", "Action": "s3:GetObject"},
], ids=["other-effect", "not-action", "not-resource", "string-like", "policy-variable", "federated", "no-resource"])
def test_what_the_evaluator_does_not_implement_is_refused_not_ignored(statement: dict) -> None:
    with pytest.raises(UnsupportedPolicy):
        policy(statement)


def test_an_explicit_deny_overrides_every_allow() -> None:
    allow = policy(read())
    deny = policy({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket.one/private/*",
                   "Principal": "*"})
    request = Request("s3:GetObject", "arn:aws:s3:::bucket.one/private/k", ROLE)

    assert decide([allow, deny], request) == "explicit-deny"
    assert not allowed([allow, deny], request)
    assert allowed([allow, deny], Request("s3:GetObject", "arn:aws:s3:::bucket.one/public/k", ROLE))
    assert decide([deny], Request("s3:GetObject", "arn:aws:s3:::bucket.one/public/k", ROLE)) == "implicit-deny"


@pytest.mark.parametrize("context, denied", [
    ({}, True),  # no aws:SourceVpce in the request: StringNotEquals matches, the Deny applies
    ({"aws:SourceVpce": "vpce-0other"}, True),
    ({"aws:SourceVpce": "vpce-0company"}, False),
], ids=["no-endpoint", "other-endpoint", "company-endpoint"])
def test_a_deny_on_requests_not_from_the_companys_vpc_endpoint(context: dict, denied: bool) -> None:
    company_only = policy(read(Principal="*"), {
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket.one/*",
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0company"}}})

    decision = decide([company_only], Request("s3:GetObject", "arn:aws:s3:::bucket.one/k", ROLE, context))

    assert (decision == "explicit-deny") is denied


@pytest.mark.parametrize("principal, matches", [
    ("arn:aws:iam::123456789012:root", True),
    ("123456789012", True),
    ("arn:aws:iam::210987654321:root", False),
], ids=["root-arn", "account-id", "other-account"])
def test_the_root_account_principal_stands_for_every_principal_of_the_account(principal: str, matches: bool) -> None:
    mrap_policy = policy(read(Principal={"AWS": principal}))

    assert allowed([mrap_policy], Request("s3:GetObject", "arn:aws:s3:::bucket.one/k", ROLE)) is matches
    assert not allowed([mrap_policy], Request("s3:GetObject", "arn:aws:s3:::bucket.one/k", CLOUDFRONT))
