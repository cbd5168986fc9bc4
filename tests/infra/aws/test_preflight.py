"""Preflight: everything refused before packaging, uploading or any AWS write, against the project's template."""
from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List

import boto3
import pytest
from botocore.stub import Stubber

from infra import packaging
from infra.aws import deploy as deploy_module
from infra.cli import deploy as deploy_cli
from infra.aws import preflight
from infra.aws.errors import ToolError
from infra.aws.regions import parse_buckets

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = ROOT / "cloudformation.template"
TEMPLATE: Dict[str, Any] = json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
BUCKETS = parse_buckets("london-images@eu-west-2,ohio-images@us-east-2")


def _zip(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "package.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("edge/handler.py", "")
        for name in names:
            archive.writestr(name, b"")
    return path


def _options(**changes: Any) -> deploy_module.DeployOptions:
    return replace(deploy_module.DeployOptions(buckets=BUCKETS, template=TEMPLATE_PATH), **changes)


def _problems(options: deploy_module.DeployOptions) -> List[str]:
    try:
        preflight.preflight(options, deploy_module.stack_parameters(options), say=lambda _: None)
    except ToolError as error:
        lines = str(error).splitlines()
        assert lines[0] == "unable to deploy:"
        return [line.strip() for line in lines[1:]]
    return []


def test_the_defaults_pass_and_say_so() -> None:
    said: List[str] = []
    warnings = preflight.preflight(_options(), deploy_module.stack_parameters(_options()), say=said.append)
    assert warnings == [] and said[-1].startswith("preflight: ") and said[-1].endswith(": ok")


def test_the_templates_limits_are_lambda_at_edges_origin_request_limits() -> None:
    # Origin events: memory 128 to 10,240 MB, timeout up to 30 s (Lambda@Edge quotas); preflight reads them there.
    parameters = TEMPLATE["Parameters"]
    assert (parameters["MemorySize"]["MinValue"], parameters["MemorySize"]["MaxValue"]) == (128, 10240)
    assert (parameters["Timeout"]["MinValue"], parameters["Timeout"]["MaxValue"]) == (1, 30)


@pytest.mark.parametrize("changes, expected", [
    ({"memory": 64}, "--memory 64: give a whole number from 128 to 10240"),
    ({"memory": 10241}, "--memory 10241: give a whole number from 128 to 10240"),
    ({"timeout": 31}, "--timeout 31: give a whole number from 1 to 30"),
    ({"timeout": 0}, "--timeout 0: give a whole number from 1 to 30"),
    ({"runtime": "python3.9"}, "--runtime 'python3.9': choose one of python3.13, python3.12"),
    ({"price_class": "PriceClass_300"}, "--price-class 'PriceClass_300': choose one of PriceClass_100"),
    ({"mrap_name": "Images_MRAP"}, "--mrap-name 'Images_MRAP': Name of the Multi-Region Access Point"),
    ({"mrap_name": "m" * 51}, "--mrap-name 'mmmm"),
    ({"function_name": "f" * 53}, "--function-name 'ffff"),
    ({"function_name": "signer.v2"}, "--function-name 'signer.v2'"),
    ({"stack_name": "s" * 53}, "--stack-name 'sss"),
    ({"stack_name": "1st-stack"}, "--stack-name '1st-stack': a letter, then letters, digits and hyphens"),
    ({"code_bucket": "Code_Bucket"}, "--code-bucket 'Code_Bucket': S3 bucket names are 3 to 63 lower-case"),
    ({"log_retention_days": 31}, "--log-retention-days 31: CloudWatch Logs accepts 1, 3, 5"),
], ids=lambda value: str(value)[:40])
def test_each_value_out_of_bounds_is_refused_naming_the_option(changes: Dict[str, Any], expected: str) -> None:
    problems = _problems(_options(**changes))
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_every_problem_is_listed_at_once() -> None:
    problems = _problems(_options(memory=64, timeout=31, allowed_cidrs="10.0.0.1/8"))
    assert len(problems) == 3


def test_origin_access_control_names_fit_cloudfronts_64_characters() -> None:
    longest = "s" * (preflight.MAX_OAC_NAME - len("-mrap-sigv4a"))
    assert _problems(_options(stack_name=longest)) == []
    (problem,) = _problems(_options(stack_name=longest + "s"))
    assert "at most 52 characters" in problem and "<stack>-mrap-sigv4a" in problem
    names = json.dumps(TEMPLATE["Resources"])
    assert all(f"${{AWS::StackName}}{suffix}" in names for suffix in preflight.OAC_SUFFIXES)


@pytest.mark.parametrize("cidrs, expected", [
    ("198.51.100.0/24, 203.0.113.7/32", None),
    ("10.0.0.1/8", "host bits are set; the range is 10.0.0.0/8"),
    ("2001:db8::/32", "IPv6 is not supported"),
    ("10.0.0.0/0", "write the prefix length, /1 to /32"),
    ("203.0.113.7", "write the prefix length, /1 to /32 (e.g. 203.0.113.7/32)"),
    ("office", "not an IPv4 range like 198.51.100.0/24"),
])
def test_company_ranges_are_ipv4_networks(cidrs: str, expected: str) -> None:
    problems = preflight.check_cidrs(cidrs)
    assert problems == [] if expected is None else (len(problems) == 1 and expected in problems[0])


@pytest.mark.parametrize("path, expected", [
    ("", None),
    ("/images", None),
    ("/photos/2026", None),
    ("/caf%C3%A9", None),
    ("/my images", "not in S3's canonical form; use '/my%20images'"),
    ("/caf%c3%a9", "use '/caf%C3%A9'"),
    ("/a(1)", "use '/a%281%29'"),
    ("images", "start with / and do not end with /"),
    ("/images/", "start with / and do not end with /"),
    ("/a/../b", "no . or .. segments"),
    ("/bad%zz", "malformed percent-escape"),
])
def test_the_origin_path_must_be_in_s3s_canonical_form(path: str, expected: str) -> None:
    problems = preflight.check_origin_path(path)
    assert problems == [] if expected is None else (len(problems) == 1 and expected in problems[0]), problems


def test_a_zip_built_for_another_runtime_is_refused(tmp_path: Path) -> None:
    built_for_39 = _zip(tmp_path, "edge/__pycache__/handler.cpython-39.pyc")
    (problem,) = _problems(_options(zip_path=built_for_39, runtime="python3.13"))
    assert "built for python3.9, not python3.13" in problem and "scripts/package --runtime python3.13" in problem
    assert "deploy with --runtime" not in problem  # python3.9 is not a runtime the template allows
    built_for_313 = _zip(tmp_path, "edge/__pycache__/handler.cpython-313.pyc",
                         "_cffi_backend.cpython-313-x86_64-linux-gnu.so")
    assert _problems(_options(zip_path=built_for_313, runtime="python3.13")) == []
    (problem,) = _problems(_options(zip_path=built_for_313, runtime="python3.12"))
    assert "built for python3.13, not python3.12" in problem and "deploy with --runtime python3.13" in problem


def test_a_zip_with_only_abi3_wheels_and_no_bytecode_fits_every_allowed_runtime(tmp_path: Path) -> None:
    abi3 = _zip(tmp_path, "_awscrt.abi3.so")
    assert preflight.zip_runtimes(abi3) is None
    for runtime in TEMPLATE["Parameters"]["Runtime"]["AllowedValues"]:
        assert _problems(_options(zip_path=abi3, runtime=runtime)) == []
    mixed = _zip(tmp_path, "a.cpython-312.pyc", "b.cpython-313.pyc")
    assert "holds files for python3.12, python3.13 at once" in _problems(_options(zip_path=mixed))[0]


def test_a_zip_that_is_not_a_package_of_the_function_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("index.js", "")
    (problem,) = _problems(_options(zip_path=other))
    assert "no edge/handler.py" in problem
    text = tmp_path / "notes.zip"
    text.write_text("not a zip")
    assert "not a zip file" in _problems(_options(zip_path=text))[0]


def test_packaging_builds_every_runtime_the_template_allows() -> None:
    assert set(TEMPLATE["Parameters"]["Runtime"]["AllowedValues"]) <= set(packaging.RUNTIMES)


@pytest.mark.parametrize("buckets, price_class, pick", [
    ("london-images@eu-west-2,ohio-images@us-east-2", "PriceClass_100", None),
    ("london-images@eu-west-2,sydney-images@ap-southeast-2", "PriceClass_100", "PriceClass_All"),
    ("london-images@eu-west-2,sydney-images@ap-southeast-2", "PriceClass_200", "PriceClass_All"),
    ("london-images@eu-west-2,tokyo-images@ap-northeast-1", "PriceClass_100", "PriceClass_200"),
    ("london-images@eu-west-2,tokyo-images@ap-northeast-1", "PriceClass_200", None),
    ("saopaulo-images@sa-east-1,ohio-images@us-east-2", "PriceClass_All", None),
    ("dubai-images@me-central-1,ohio-images@us-east-2", "PriceClass_100", "PriceClass_200"),
])
def test_a_bucket_outside_the_price_class_gets_a_warning_with_what_to_pick(buckets: str, price_class: str,
                                                                          pick: str) -> None:
    warnings = preflight.price_class_warnings(parse_buckets(buckets), price_class)
    if pick is None:
        assert warnings == []
    else:
        (warning,) = warnings
        assert f"--price-class {pick}" in warning and "the MRAP sends them to a bucket there" in warning


def test_the_warning_is_printed_and_does_not_stop_the_deploy() -> None:
    said: List[str] = []
    options = _options(buckets=parse_buckets("london-images@eu-west-2,sydney-images@ap-southeast-2"))
    warnings = preflight.preflight(options, deploy_module.stack_parameters(options), say=said.append)
    assert len(warnings) == 1 and said[0] == f"warning: {warnings[0]}"


def test_preflight_only_reads_the_deployed_stack(tmp_path: Path) -> None:
    # The one AWS call: DescribeStacks (a Stubber fails on any other). Runs the same under --dry-run.
    cfn = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(cfn)
    stub.add_client_error("describe_stacks", "ValidationError", "Stack with id mrap-edge does not exist", 400,
                          expected_params={"StackName": "mrap-edge"})

    def clients(service: str, region: str) -> Any:
        assert (service, region) == ("cloudformation", "us-east-1"), service
        return cfn

    with stub:
        preflight.preflight(_options(), deploy_module.stack_parameters(_options()), clients, say=lambda _: None)
    stub.assert_no_pending_responses()


def test_deploy_refuses_before_any_aws_call(tmp_path: Path) -> None:
    options = _options(memory=64, zip_path=_zip(tmp_path))
    with pytest.raises(ToolError, match="--memory 64"):
        deploy_module.deploy(lambda service, region: pytest.fail(f"called {service}"), options)


def test_the_cli_prints_the_refusal_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = deploy_cli.main(["--buckets", "london-images@eu-west-2,ohio-images@us-east-2", "--origin-path",
                               "/my images", "--zip", str(_zip(tmp_path))],
                              clients=lambda service, region: pytest.fail(f"called {service}"))
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.splitlines() == ["deploy: unable to deploy:",
                                "  --origin-path '/my images': not in S3's canonical form; use '/my%20images'"]
