"""The one CloudFormation evaluator: what it resolves before and after deployment, and what it refuses."""
from __future__ import annotations

import pytest

from infra.local.cloudformation import DeployedNames, Evaluator, Unresolved, rule_failures

TEMPLATE = {
    "Parameters": {
        "Regions": {"Type": "CommaDelimitedList", "Default": "eu-west-2, us-east-2"},
        "Names": {"Type": "CommaDelimitedList"},
        "Mode": {"Type": "String", "Default": "function"},
    },
    "Conditions": {"Native": {"Fn::Equals": [{"Ref": "Mode"}, "native"]},
                   "NotNative": {"Fn::Not": [{"Condition": "Native"}]}},
    "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
}
NAMES = DeployedNames(account_id="123456789012", parameters={"Names": "a,b"}, refs={"Bucket": "bucket-a"},
                      attributes={("Mrap", "Alias"): "x.mrap"})


@pytest.mark.parametrize("node, value", [
    ({"Ref": "Regions"}, ["eu-west-2", "us-east-2"]),
    ({"Fn::Select": [1, {"Ref": "Regions"}]}, "us-east-2"),
    ({"Fn::Join": ["-", {"Fn::Split": [",", "a,b"]}]}, "a-b"),
    ({"Fn::If": ["Native", "yes", "no"]}, "no"),
    ({"Fn::If": ["NotNative", "yes", "no"]}, "yes"),
    ([1, {"Fn::If": ["Native", 2, {"Ref": "AWS::NoValue"}]}, 3], [1, 3]),
    ({"Key": {"Ref": "AWS::NoValue"}, "Other": 1}, {"Other": 1}),
    ({"Fn::Sub": "${Mode}-${Regions}"}, "function-eu-west-2,us-east-2"),
], ids=["comma-list", "select", "join-split", "if-false", "if-not", "no-value-in-list", "no-value-property", "sub"])
def test_what_is_known_before_deployment(node: object, value: object) -> None:
    assert Evaluator(TEMPLATE).resolve(node) == value


def test_given_parameters_win_over_defaults() -> None:
    assert Evaluator(TEMPLATE, parameters={"Mode": "native"}).resolve({"Fn::If": ["Native", "yes", "no"]}) == "yes"


@pytest.mark.parametrize("node", [{"Ref": "Names"}, {"Ref": "Bucket"}, {"Fn::GetAtt": ["Mrap", "Alias"]},
                                  {"Fn::Sub": "${Mrap.Alias}"}, {"Ref": "AWS::AccountId"}, {"Fn::Base64": "x"}],
                         ids=["no-default", "resource", "get-att", "sub-attribute", "pseudo", "unknown-function"])
def test_what_only_a_deployment_knows_is_unresolved_before_it(node: object) -> None:
    evaluator = Evaluator(TEMPLATE)

    with pytest.raises(Unresolved):
        evaluator.resolve(node)
    assert evaluator.value(node, "default") == "default" and len(evaluator.unresolved) == 1


def test_deployed_names_resolve_resources_attributes_and_pseudo_parameters() -> None:
    evaluator = Evaluator(TEMPLATE, names=NAMES)

    assert evaluator.resolve({"Fn::Sub": "arn:aws:s3::${AWS::AccountId}:accesspoint/${Mrap.Alias}"}) == \
        "arn:aws:s3::123456789012:accesspoint/x.mrap"
    assert evaluator.resolve([{"Ref": "Bucket"}, {"Fn::Select": [0, {"Ref": "Names"}]}]) == ["bucket-a", "a"]


def test_resource_refs_can_be_kept_for_a_reader_that_follows_them() -> None:
    assert Evaluator(TEMPLATE, keep_resource_refs=True).resolve([{"Ref": "Bucket"}]) == [{"Ref": "Bucket"}]


def test_an_attribute_is_kept_for_a_reader_that_follows_it_before_deployment() -> None:
    assert Evaluator(TEMPLATE, keep_resource_refs=True).resolve({"Fn::GetAtt": ["Bucket", "Arn"]}) == \
        {"Fn::GetAtt": ["Bucket", "Arn"]}


RULED = {
    **TEMPLATE,
    "Rules": {
        "UsEast1": {"Assertions": [{"Assert": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
                                    "AssertDescription": "deploy in us-east-1"}]},
        "NativeNeedsDefaultRegions": {
            "RuleCondition": {"Fn::Equals": [{"Ref": "Mode"}, "native"]},
            "Assertions": [{"Assert": {"Fn::Not": [{"Fn::Contains": [{"Ref": "Regions"}, "af-south-1"]}]},
                            "AssertDescription": "not with af-south-1"}]},
    },
}


@pytest.mark.parametrize("parameters, region, failures", [
    ({}, "us-east-1", []),
    ({}, "eu-west-1", ["deploy in us-east-1"]),
    ({"Regions": "eu-west-2,af-south-1"}, "us-east-1", []),  # the rule's condition does not hold
    ({"Mode": "native", "Regions": "eu-west-2,af-south-1"}, "us-east-1", ["not with af-south-1"]),
    ({"Mode": "native"}, "us-east-1", []),
], ids=["accepted", "region", "condition-false", "assertion-fails", "assertion-holds"])
def test_rules_refuse_parameters_as_cloudformation_does(parameters: dict, region: str, failures: list) -> None:
    assert rule_failures(RULED, parameters, region=region) == failures


@pytest.mark.parametrize("text", ["${Bucket.Arn}", "${Bucket}"], ids=["attribute", "resource"])
def test_a_kept_reference_is_not_text_in_a_substitution(text: str) -> None:
    with pytest.raises(Unresolved):
        Evaluator(TEMPLATE, keep_resource_refs=True).resolve({"Fn::Sub": text})
