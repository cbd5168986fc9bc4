"""The CloudFormation template, read as plain JSON (as the local stand-in reads it) and checked by cfn-lint."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from infra.aws.regions import MAX_BUCKETS, OPT_IN_REGIONS, check_native_mode
from infra.aws.clients import ToolError

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = ROOT / "cloudformation.template"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")


@pytest.fixture(scope="module")
def template() -> Dict[str, Any]:
    return json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _references(node: Any) -> set:
    names = set()
    for item in _walk(node):
        if isinstance(item, dict) and "Ref" in item:
            names.add(item["Ref"])
        if isinstance(item, dict) and "Fn::Sub" in item:
            text = item["Fn::Sub"] if isinstance(item["Fn::Sub"], str) else item["Fn::Sub"][0]
            names.update(re.findall(r"\$\{([A-Za-z0-9]+)\}", text))
    return names


def _distribution(template: Dict[str, Any]) -> Dict[str, Any]:
    return template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]


def test_every_parameter_is_used(template: Dict[str, Any]) -> None:
    used = _references({k: v for k, v in template.items() if k != "Parameters"})
    unused = sorted(set(template["Parameters"]) - used)
    assert unused == []


def test_origin_group_fails_over_from_the_mrap_to_the_failover_bucket(template: Dict[str, Any]) -> None:
    config = _distribution(template)
    origins = {o["Id"]: o for o in config["Origins"]}
    group = config["OriginGroups"]["Items"][0]
    assert group["Id"] == "mrap-with-failover"
    assert [m["OriginId"] for m in group["Members"]["Items"]] == ["mrap", "failover"]
    assert group["Members"]["Quantity"] == 2
    assert group["FailoverCriteria"]["StatusCodes"]["Items"] == {"Ref": "FailoverStatusCodes"}
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "mrap-with-failover"
    assert set(origins) == {"mrap", "failover", "error-pages"}


def test_mrap_origin_is_https_only_tls12_custom_origin(template: Dict[str, Any]) -> None:
    mrap = {o["Id"]: o for o in _distribution(template)["Origins"]}["mrap"]
    assert mrap["DomainName"] == {"Fn::Sub": "${Mrap.Alias}.accesspoint.s3-global.amazonaws.com"}
    condition, custom, otherwise = mrap["CustomOriginConfig"]["Fn::If"]
    assert condition == "UseFunction" and otherwise == {"Ref": "AWS::NoValue"}
    assert custom["OriginProtocolPolicy"] == "https-only"
    assert custom["OriginSSLProtocols"] == ["TLSv1.2"]


def test_failover_origin_carries_the_marker_header_the_function_looks_for(template: Dict[str, Any]) -> None:
    from edge.config import Config

    failover = {o["Id"]: o for o in _distribution(template)["Origins"]}["failover"]
    headers = {h["HeaderName"]: h["HeaderValue"] for h in failover["OriginCustomHeaders"]}
    assert Config().failover_header in headers
    assert "OriginAccessControlId" in failover


def test_default_behaviour_runs_the_function_on_origin_requests(template: Dict[str, Any]) -> None:
    behaviour = _distribution(template)["DefaultCacheBehavior"]
    condition, associations, otherwise = behaviour["LambdaFunctionAssociations"]["Fn::If"]
    assert condition == "UseFunction" and otherwise == {"Ref": "AWS::NoValue"}
    assert associations == [{"EventType": "origin-request", "LambdaFunctionARN": {"Ref": "FunctionVersion"},
                             "IncludeBody": False}]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"] and behaviour["Compress"] is True
    assert behaviour["CachePolicyId"] == {"Ref": "CachePolicy"}
    assert behaviour["OriginRequestPolicyId"] == {"Ref": "OriginRequestPolicy"}


def _header_lists(template: Dict[str, Any]) -> List[List[str]]:
    cache = template["Resources"]["CachePolicy"]["Properties"]["CachePolicyConfig"]
    origin = template["Resources"]["OriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    configs = [cache["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"], origin["HeadersConfig"]]
    assert all(c["HeaderBehavior"] == "whitelist" for c in configs)  # never allViewer: that includes Host
    return [c["Headers"] for c in configs]


def test_no_policy_forwards_the_viewer_host(template: Dict[str, Any]) -> None:
    for headers in _header_lists(template):
        assert "host" not in {h.lower() for h in headers}
        assert {"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"} <= set(headers)


def test_policies_forward_exactly_the_signed_query_parameters(template: Dict[str, Any]) -> None:
    from edge.config import Config

    cache = template["Resources"]["CachePolicy"]["Properties"]["CachePolicyConfig"]
    origin = template["Resources"]["OriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    cache_key = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    for config in (cache_key["QueryStringsConfig"], origin["QueryStringsConfig"]):
        assert config["QueryStringBehavior"] == "whitelist"
        assert config["QueryStrings"] == list(Config().query_allowlist)


def test_function_and_versions_are_retained_and_version_follows_the_code(template: Dict[str, Any]) -> None:
    resources = template["Resources"]
    for name in ("Function", "FunctionVersion"):
        assert resources[name]["DeletionPolicy"] == "Retain"
        assert resources[name]["UpdateReplacePolicy"] == "Retain"
    assert "${CodeKey}" in resources["FunctionVersion"]["Properties"]["Description"]["Fn::Sub"]
    function = resources["Function"]["Properties"]
    assert function["Architectures"] == ["x86_64"] and function["Handler"] == "edge.handler.lambda_handler"
    trusted = resources["FunctionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert sorted(trusted["Service"]) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]
    assert template["Parameters"]["Runtime"]["Default"] == "python3.13"
    assert template["Parameters"]["MemorySize"]["Default"] == 512


def test_mrap_lists_every_possible_bucket_and_blocks_public_access(template: Dict[str, Any]) -> None:
    mrap = template["Resources"]["Mrap"]["Properties"]
    assert len(mrap["Regions"]) == MAX_BUCKETS
    assert all(mrap["PublicAccessBlockConfiguration"].values())


# A tiny evaluator for the rule functions the template uses, to run the native-mode guard as CloudFormation would.
def _evaluate(node: Any, parameters: Dict[str, Any]) -> Any:
    if isinstance(node, dict) and len(node) == 1:
        (name, args), = node.items()
        if name == "Ref":
            return parameters[args]
        values = [_evaluate(a, parameters) for a in args] if isinstance(args, list) else _evaluate(args, parameters)
        if name == "Fn::Equals":
            return values[0] == values[1]
        if name == "Fn::Not":
            return not values[0]
        if name == "Fn::Contains":
            return values[1] in values[0]
        raise AssertionError(f"unexpected function {name}")
    return node


def _failed_assertions(template: Dict[str, Any], parameters: Dict[str, Any]) -> List[str]:
    rule = template["Rules"]["NativeModeNeedsDefaultRegions"]
    if not _evaluate(rule["RuleCondition"], parameters):
        return []
    return [a["AssertDescription"] for a in rule["Assertions"] if not _evaluate(a["Assert"], parameters)]


@pytest.mark.parametrize("region", sorted(OPT_IN_REGIONS), ids=lambda r: f"native mode refused with {r}")
def test_native_mode_is_refused_with_an_opt_in_region(template: Dict[str, Any], region: str) -> None:
    parameters = {"NativeMode": "true", "BucketRegions": ["eu-west-2", region]}
    failed = _failed_assertions(template, parameters)
    assert len(failed) == 1 and region in failed[0]
    with pytest.raises(ToolError, match=region):
        check_native_mode(["eu-west-2", region])


def test_native_mode_is_accepted_with_default_regions_and_function_mode_with_any(template: Dict[str, Any]) -> None:
    native = {"NativeMode": "true", "BucketRegions": ["eu-west-2", "us-east-2"]}
    assert _failed_assertions(template, native) == []
    check_native_mode(["eu-west-2", "us-east-2"])
    function = {"NativeMode": "false", "BucketRegions": ["af-south-1", "me-central-1"]}
    assert _failed_assertions(template, function) == []


def test_opt_in_region_lists_agree(template: Dict[str, Any]) -> None:
    text = json.dumps(template["Rules"]["NativeModeNeedsDefaultRegions"])
    assert len(OPT_IN_REGIONS) == 12
    assert all(f'"{region}"' in text for region in OPT_IN_REGIONS)


def _lint(path: Path) -> subprocess.CompletedProcess:
    assert CFN_LINT.exists() or shutil.which("cfn-lint"), "cfn-lint is not installed (requirements-dev.txt)"
    binary = str(CFN_LINT) if CFN_LINT.exists() else "cfn-lint"
    return subprocess.run([binary, str(path)], capture_output=True, text=True, timeout=300)


def test_cfn_lint_reports_nothing() -> None:
    result = _lint(TEMPLATE_PATH)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_cfn_lint_would_catch_a_broken_template(template: Dict[str, Any], tmp_path: Path) -> None:
    broken = json.loads(json.dumps(template))
    broken["Resources"]["Function"]["Properties"]["Timeout"] = {"Ref": "NoSuchParameter"}
    path = tmp_path / "broken.template"
    path.write_text(json.dumps(broken), encoding="utf-8")
    assert _lint(path).returncode != 0


def _statements_granting(node: Any, action: str) -> List[Dict[str, Any]]:
    found = []
    for item in _walk(node):
        if isinstance(item, dict) and "Effect" in item and "Action" in item:
            actions = item["Action"] if isinstance(item["Action"], list) else [item["Action"]]
            if action in actions:
                found.append(item)
    return found


def test_version_reads_are_granted_wherever_reads_are(template: Dict[str, Any]) -> None:
    # "If you include a versionId in your request, you must have the s3:GetObjectVersion permission" (GetObject),
    # and versionId is in the function's default allow-list: without it every ?versionId= read is 403.
    readers = _statements_granting(template["Resources"], "s3:GetObject")
    assert len(readers) == 4  # the role through the MRAP and on the buckets; the MRAP policy's two branches
    assert readers == _statements_granting(template["Resources"], "s3:GetObjectVersion")


def test_the_role_reads_the_buckets_only_through_the_mrap(template: Dict[str, Any]) -> None:
    statements = template["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (on_buckets,) = [s for s in statements if s.get("Sid") == "ReadTheBucketsOnlyThroughTheMrap"]
    condition = on_buckets["Condition"]["StringEquals"]["s3:DataAccessPointArn"]
    assert condition == {"Fn::Sub": "arn:aws:s3::${AWS::AccountId}:accesspoint/${Mrap.Alias}"}
    # One object ARN per bucket: "a,b" becomes arn:aws:s3:::a/*,arn:aws:s3:::b/* once split.
    split = on_buckets["Resource"]["Fn::Split"]
    pattern, names = split[1]["Fn::Sub"]
    joined = pattern.replace("${Buckets}", "/*,arn:aws:s3:::".join(["london-images", "ohio-images"]))
    assert joined.split(split[0]) == ["arn:aws:s3:::london-images/*", "arn:aws:s3:::ohio-images/*"]
    assert names == {"Buckets": {"Fn::Join": ["/*,arn:aws:s3:::", {"Ref": "BucketNames"}]}}


def test_signed_urls_are_off_unless_a_key_slot_is_filled(template: Dict[str, Any]) -> None:
    resources = template["Resources"]
    behaviour = _distribution(template)["DefaultCacheBehavior"]
    assert behaviour["TrustedKeyGroups"] == {
        "Fn::If": ["RequireSignedUrls", [{"Ref": "SignedUrlKeyGroup"}], {"Ref": "AWS::NoValue"}]}
    assert resources["SignedUrlKeyGroup"]["Condition"] == "RequireSignedUrls"
    assert template["Conditions"]["RequireSignedUrls"] == {
        "Fn::Or": [{"Condition": "HasSignedUrlPublicKey1"}, {"Condition": "HasSignedUrlPublicKey2"}]}
    for slot in ("1", "2"):
        assert template["Parameters"][f"SignedUrlPublicKey{slot}"]["Default"] == ""
        key = resources[f"SignedUrlKey{slot}"]
        assert (key["Type"], key["Condition"]) == ("AWS::CloudFront::PublicKey", f"HasSignedUrlPublicKey{slot}")
        assert key["Properties"]["PublicKeyConfig"]["EncodedKey"] == {"Ref": f"SignedUrlPublicKey{slot}"}
    # Both slots can be in the group at once: that is the rotation.
    items = resources["SignedUrlKeyGroup"]["Properties"]["KeyGroupConfig"]["Items"]
    assert [item["Fn::If"][1] for item in items] == [{"Ref": "SignedUrlKey1"}, {"Ref": "SignedUrlKey2"}]
    # The WAF allow-list stays a separate, second layer.
    assert "WebACLId" in _distribution(template)


# --- safe redeploy: a function name of its own per stack ------------------------------------------------------------

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/mrap-edge/8f2d51a0-9a3b-11f0-8de9-0242ac120002"


def _intrinsic(node: Any, parameters: Dict[str, Any]) -> Any:
    """Fn::Sub / Fn::Select / Fn::Split / Ref over known values: enough for the name expressions."""
    if isinstance(node, dict) and len(node) == 1:
        (name, args), = node.items()
        if name == "Ref":
            return parameters[args]
        if name == "Fn::Select":
            return _intrinsic(args[1], parameters)[args[0]]
        if name == "Fn::Split":
            return _intrinsic(args[1], parameters).split(args[0])
        if name == "Fn::Sub":
            text, variables = (args, {}) if isinstance(args, str) else args
            values = {**parameters, **{k: _intrinsic(v, parameters) for k, v in variables.items()}}
            return re.sub(r"\$\{([A-Za-z0-9:]+)\}", lambda m: str(values[m.group(1)]), text)
    return node


def test_the_function_name_is_the_stacks_own_so_a_retained_function_never_blocks_a_create(
        template: Dict[str, Any]) -> None:
    # A retained Lambda@Edge function keeps its name for hours after a teardown (its replicas), and a rolled-back
    # first create keeps it too (Retain applies on rollback): a name fixed by a parameter would make the next create
    # fail with ResourceConflictException. The stack id differs per create, so the name does too.
    resources = template["Resources"]
    expression = resources["Function"]["Properties"]["FunctionName"]
    longest = "f" * 52  # the FunctionName parameter's AllowedPattern allows 52 characters
    first = _intrinsic(expression, {"FunctionName": "mrap-edge", "AWS::StackId": STACK_ID})
    second = _intrinsic(expression, {"FunctionName": "mrap-edge", "AWS::StackId": STACK_ID.replace("8f2d", "1c07")})
    assert first == "mrap-edge-8f2d51a0" and second != first
    assert len(_intrinsic(expression, {"FunctionName": longest, "AWS::StackId": STACK_ID})) <= 64
    assert re.fullmatch(r"\^\[A-Za-z0-9_-\]\{1,(\d+)\}\$", template["Parameters"]["FunctionName"]["AllowedPattern"])
    # The role may write exactly that function's log groups, and the outputs name them.
    logs = resources["FunctionRole"]["Properties"]["Policies"][1]["PolicyDocument"]["Statement"][0]["Resource"]
    values = {"FunctionName": "mrap-edge", "AWS::StackId": STACK_ID, "AWS::Partition": "aws",
              "AWS::AccountId": "123456789012"}
    assert _intrinsic(logs, values) == (
        "arn:aws:logs:*:123456789012:log-group:/aws/lambda/us-east-1.mrap-edge-8f2d51a0:*")
    outputs = template["Outputs"]
    assert outputs["FunctionName"]["Value"] == {"Ref": "Function"}
    assert _intrinsic(outputs["FunctionLogGroupName"]["Value"], {"Function": first}) == (
        "/aws/lambda/us-east-1.mrap-edge-8f2d51a0")
    # Still retained: CloudFormation cannot delete a function with replicas; `teardown cleanup` does, later.
    assert resources["Function"]["DeletionPolicy"] == "Retain"


# --- native mode: the sigv4a origin access control is in the template ----------------------------------------------

def test_native_mode_signs_with_a_sigv4a_origin_access_control_of_the_stack(template: Dict[str, Any]) -> None:
    assert "MrapOriginAccessControlId" not in template["Parameters"]
    oac = template["Resources"]["MrapOriginAccessControl"]
    assert oac["Condition"] == "UseNativeSigning"
    config = oac["Properties"]["OriginAccessControlConfig"]
    assert (config["SigningProtocol"], config["SigningBehavior"], config["OriginAccessControlOriginType"]) == (
        "sigv4a", "always", "s3")
    assert config["Name"] == {"Fn::Sub": "${AWS::StackName}-mrap-sigv4a"}
    mrap = {o["Id"]: o for o in _distribution(template)["Origins"]}["mrap"]
    assert mrap["OriginAccessControlId"] == {"Fn::If": ["UseNativeSigning",
                                                        {"Fn::GetAtt": ["MrapOriginAccessControl", "Id"]},
                                                        {"Ref": "AWS::NoValue"}]}
    # An S3-type origin access control goes on an S3 origin (the CloudFront guide files the MRAP under S3 origins);
    # the function's mode keeps the custom origin, whose event the signer reads (origin.custom).
    assert mrap["S3OriginConfig"] == {"Fn::If": ["UseNativeSigning", {"OriginAccessIdentity": ""},
                                                 {"Ref": "AWS::NoValue"}]}
    assert mrap["CustomOriginConfig"]["Fn::If"][0] == "UseFunction"


def test_cfn_lint_checks_the_signing_protocol(template: Dict[str, Any], tmp_path: Path) -> None:
    # The pinned cfn-lint knows sigv4a (1.56 and later): the template lints clean, and a wrong value does not.
    broken = json.loads(json.dumps(template))
    broken["Resources"]["MrapOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]["SigningProtocol"] = (
        "sigv4b")
    path = tmp_path / "broken.template"
    path.write_text(json.dumps(broken), encoding="utf-8")
    result = _lint(path)
    assert result.returncode != 0 and "sigv4b" in result.stdout


# --- viewers never see S3's error bodies ------------------------------------------------------------------------------

ERROR_PAGE = "/_mrap-edge/errors/error.html"


def test_s3_error_bodies_are_replaced_by_a_page_that_does_not_depend_on_the_signer(template: Dict[str, Any]) -> None:
    from infra.aws.error_pages import ERROR_PAGE_KEY

    config = _distribution(template)
    responses = {r["ErrorCode"]: r for r in config["CustomErrorResponses"]}
    # 403 SignatureDoesNotMatch echoes the canonical request (key id, session token); 400 ExpiredToken/InvalidToken
    # echo the token; 404/500/503 bodies are S3's internals too. Each keeps its status and gets the generic page.
    for code in (400, 403, 404, 500, 503):
        assert responses[code]["ResponsePagePath"] == ERROR_PAGE and responses[code]["ResponseCode"] == code
    assert ERROR_PAGE == "/" + ERROR_PAGE_KEY
    # Short error caching: a key that appears during a backfill is served within seconds; 5xx are not cached.
    assert all(responses[code]["ErrorCachingMinTTL"] <= 10 for code in (400, 403, 404))
    assert all(responses[code]["ErrorCachingMinTTL"] == 0 for code in (500, 502, 503, 504))
    # 502/504 are CloudFront's own pages (no S3 body): not replaced, only not cached. 416 keeps S3's Content-Range.
    assert "ResponsePagePath" not in responses[502] and "ResponsePagePath" not in responses[504]
    assert 416 not in responses
    # The page is fetched through a behaviour that runs no function, from the failover bucket, without origin path.
    (behaviour,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/_mrap-edge/errors/*"]
    assert "LambdaFunctionAssociations" not in behaviour
    origins = {o["Id"]: o for o in config["Origins"]}
    pages = origins[behaviour["TargetOriginId"]]
    assert pages["DomainName"] == origins["failover"]["DomainName"]
    assert pages["OriginAccessControlId"] == origins["failover"]["OriginAccessControlId"]
    assert "OriginPath" not in pages and "OriginCustomHeaders" not in pages
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"


def test_the_origin_path_applies_to_both_bucket_origins(template: Dict[str, Any]) -> None:
    parameter = template["Parameters"]["OriginPath"]
    assert parameter["Default"] == ""
    origins = {o["Id"]: o for o in _distribution(template)["Origins"]}
    assert origins["mrap"]["OriginPath"] == origins["failover"]["OriginPath"] == {"Ref": "OriginPath"}
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch("/images") and pattern.fullmatch("/a/b")
    assert not pattern.fullmatch("images") and not pattern.fullmatch("/images/")


# --- alternate domain names -------------------------------------------------------------------------------------------

def test_alternate_domain_names_and_their_certificate_apply_only_when_a_certificate_is_given(
        template: Dict[str, Any]) -> None:
    config = _distribution(template)
    assert template["Conditions"]["UseAlternateDomainNames"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]}
    assert config["Aliases"] == {
        "Fn::If": ["UseAlternateDomainNames", {"Ref": "AlternateDomainNames"}, {"Ref": "AWS::NoValue"}]}
    condition, certificate, otherwise = config["ViewerCertificate"]["Fn::If"]
    assert (condition, otherwise) == ("UseAlternateDomainNames", {"Ref": "AWS::NoValue"})
    # CloudFront's recommended settings for a custom certificate: SNI (no dedicated IP fee), TLS 1.2 at least.
    assert certificate == {"AcmCertificateArn": {"Ref": "CertificateArn"}, "SslSupportMethod": "sni-only",
                           "MinimumProtocolVersion": "TLSv1.2_2021"}
    assert template["Parameters"]["AlternateDomainNames"]["Default"] == ""
    assert template["Parameters"]["CertificateArn"]["Default"] == ""


@pytest.mark.parametrize("arn, accepted", [
    ("", True),
    ("arn:aws:acm:us-east-1:123456789012:certificate/8d1b6a7e-1f2c-4c3d-9e8f-0a1b2c3d4e5f", True),
    ("arn:aws:acm:eu-west-2:123456789012:certificate/8d1b6a7e-1f2c-4c3d-9e8f-0a1b2c3d4e5f", False),
    ("8d1b6a7e-1f2c-4c3d-9e8f-0a1b2c3d4e5f", False),
])
def test_the_certificate_parameter_takes_only_a_us_east_1_acm_arn(template: Dict[str, Any], arn: str,
                                                                  accepted: bool) -> None:
    pattern = template["Parameters"]["CertificateArn"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, arn)) is accepted


def test_cfn_lint_checks_the_viewer_certificate(template: Dict[str, Any], tmp_path: Path) -> None:
    broken = json.loads(json.dumps(template))
    certificate = _distribution(broken)["ViewerCertificate"]["Fn::If"][1]
    certificate["MinimumProtocolVersion"] = "TLSv1.2_2099"
    path = tmp_path / "broken.template"
    path.write_text(json.dumps(broken), encoding="utf-8")
    assert _lint(path).returncode != 0
