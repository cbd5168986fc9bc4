"""scripts/status end to end: every AWS answer a whole run asks for (Stubber shaped like AWS's, moto where it models
the call, a real zip over HTTP) and the request path through the local stack (the real function, the MRAP stand-in
verifying SigV4A). A healthy stack exits 0 with every check ✓; the seed's broken deploys exit 1 and say what to fix.
Also the script run as a user runs it against `make demo`'s stack (--url), text and --json."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest

from infra.aws.status import cli
from infra.local.stack import LocalStack, StackOptions
from infra.local.template import load_settings
from tests.infra.aws.status.helpers import (
    HEALTHY_CONFIG, LONDON, WEB_ACL_ARN, AwsWorld, SigningKey, aws_world, backfill_job, healthy_distribution,
    healthy_request_policy, healthy_stack, package_zip, queue_stack, serve_bytes, signed_url_settings, signing_key,
)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "status"
JOB = backfill_job("8d3b5a1f-0c7e-4d0e-a0f1-b2c3d4e5f601", LONDON, "Active", 52_000, 20_800)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # Without the custom error responses the origin's error bodies reach the viewer, so the request-path checks can
    # name S3's code (tests/infra/aws/status/test_request_path.py shows what they say through the error pages).
    settings = replace(load_settings(), default_ttl=0, error_responses=())
    running = LocalStack(StackOptions(settings=settings, function_timeout_s=2.0)).start()
    yield running
    running.stop()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    with aws_world(monkeypatch) as made:
        yield made


@pytest.fixture
def both(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tuple[AwsWorld, LocalStack]]:
    """moto keeps one backend per process and mock_aws resets it, so the local stack (whose buckets are moto
    servers) starts inside the mocked world here, not once per module."""
    with aws_world(monkeypatch) as made:
        settings = replace(load_settings(), default_ttl=0, error_responses=())
        running = LocalStack(StackOptions(settings=settings, function_timeout_s=2.0)).start()
        try:
            yield made, running
        finally:
            running.stop()


@pytest.fixture
def signed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Tuple[AwsWorld, LocalStack, SigningKey]]:
    """The AWS world and the local stack whose default behaviour requires signed URLs (a key in slot 1)."""
    key = signing_key(tmp_path)
    with aws_world(monkeypatch) as made:
        running = LocalStack(StackOptions(settings=signed_url_settings(key), function_timeout_s=2.0)).start()
        try:
            yield made, running, key
        finally:
            running.stop()


def status(world: AwsWorld, local: LocalStack, capsys: Any, *argv: str, **queued: Any) -> Tuple[int, str]:
    code_zip = package_zip(HEALTHY_CONFIG)
    with serve_bytes(code_zip) as server:
        queue_stack(world, server.url + "/code.zip", code_zip, **queued)
        code = cli.main(["--stack-name", "mrap-edge", "--url", local.url("eu-west-2"), "--my-ip", "198.51.100.23",
                         *argv], clients=world)
    world.assert_all_called()
    out, err = capsys.readouterr()
    assert err == ""
    return code, out


def failed_lines(out: str) -> List[str]:
    return [line.strip() for line in out.splitlines() if line.strip().startswith(("✗", "fix:"))]


def test_a_healthy_stack_passes_every_check(both: Any, capsys: Any) -> None:
    world, local = both
    code, out = status(world, local, capsys, "--key", "images/red.png", "--expect-region", "eu-west-2")
    assert failed_lines(out) == [] and code == 0, out
    assert out.splitlines()[0] == ("status of stack mrap-edge (account 123456789012), distribution E2QWRUHAPOMQZL, "
                                   + local.url("eu-west-2"))
    for area in ("distribution", "function", "mrap", "buckets and replication", "request path", "waf"):
        assert f"\n{area}\n" in out
    assert re.search(r"\nall \d+ checks passed\n$", out)
    assert "✓ errors and throttles in eu-west-2: last hour: 1250 invocations, 0 errors, 0 throttles" in out


def test_a_new_region_held_passive_during_its_backfill_passes(both: Any, capsys: Any) -> None:
    world, local = both
    code, out = status(world, local, capsys, ohio=0, jobs=(JOB,))
    assert code == 0, failed_lines(out)
    assert "✓ route us-east-2 (images-ohio): passive while backfill job 8d3b5a1f" in out


def test_the_seeds_first_failure_an_empty_region_taking_traffic(both: Any, capsys: Any) -> None:
    """Ohio active while its backfill is 40% done: Houston viewers get 403 for every image not yet copied."""
    world, local = both
    local.buckets.put("eu-west-2", "images/2019/harbour.png", b"only in London so far")
    local.mrap.routing.mark_down("eu-west-2")  # the MRAP sends this edge's requests to Ohio, as for Houston
    code, out = status(world, local, capsys, "--key", "images/2019/harbour.png", jobs=(JOB,))
    assert code == 1
    failures = failed_lines(out)
    assert failures[0].startswith("✗ route us-east-2 (images-ohio): active while job 8d3b5a1f-0c7e-4d0e-a0f1-"
                                  "b2c3d4e5f601 from images-london (eu-west-2) Active, 40% done")
    assert failures[1] == "fix: scripts/routes --passive us-east-2 until the backfill completes"
    assert re.match(r"✗ key images/2019/harbour.png: GET \S+: 403 from S3 \(AccessDenied", failures[2])
    assert len([line for line in failures if line.startswith("✗")]) == 2


def test_a_broken_signer_behind_a_policy_forwarding_the_viewer_host(both: Any, capsys: Any) -> None:
    """The cause (the origin request policy forwards Host) and the symptom (S3 refuses every signature)."""
    world, local = both
    for invoker in local.invokers.values():
        invoker.fault = "corrupt-signature"
    code, out = status(world, local, capsys, request_policy=healthy_request_policy(headers=("allViewer", [])))
    assert code == 1
    failures = [line for line in failed_lines(out) if line.startswith("✗")]
    assert failures[0] == ("✗ origin request policy keeps the viewer's Host: mrap-edge-mrap-edge: headers "
                           "allViewer (forwards the viewer's Host)")
    assert re.match(r"✗ probe through the distribution: GET \S+: 403 from S3 \(SignatureDoesNotMatch", failures[1])
    assert len(failures) == 2


KEY_GROUP = "b3a2f1e0-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


def test_with_signed_urls_required_the_probe_is_read_signed_with_the_given_key(signed: Any, capsys: Any) -> None:
    world, local, key = signed
    code, out = status(world, local, capsys, "--key", "images/red.png", "--expect-region", "eu-west-2",
                       "--key-pair-id", key.key_pair_id, "--private-key", str(key.private_key),
                       distribution=healthy_distribution(WEB_ACL_ARN, key_group=KEY_GROUP))
    assert failed_lines(out) == [] and code == 0, out
    assert "✓ probe through the distribution: 200 served by mrap-edge-demo-" in out
    assert "✓ ?versionId= read: version" in out and "Signature" not in out


def test_with_signed_urls_required_and_no_key_the_request_path_says_how_to_check_it(signed: Any,
                                                                                    capsys: Any) -> None:
    world, local, _ = signed
    code, out = status(world, local, capsys, distribution=healthy_distribution(WEB_ACL_ARN, key_group=KEY_GROUP))
    assert code == 0, failed_lines(out)
    assert (f"  – probe through the distribution: the default behaviour requires signed URLs (trusted key groups "
            f"{KEY_GROUP}): pass --key-pair-id and --private-key to check it\n") in out
    assert "MissingKey" not in out
    assert local.cloudfront is not None and not local.cloudfront.served  # no request that could only be refused


def test_the_script_signs_its_requests_against_a_local_stack_that_requires_them(signed: Any) -> None:
    _, local, key = signed
    unsigned = run_script("--url", local.url("eu-west-2"))
    assert unsigned.returncode == 1
    assert "✗ probe through the distribution: GET " in unsigned.stdout
    assert "403 from CloudFront (signed URL refused: MissingKey" in unsigned.stdout
    assert "fix: the behaviour requires signed URLs: pass --key-pair-id" in unsigned.stdout
    done = run_script("--url", local.url("eu-west-2"), "--key", "images/red.png", "--key-pair-id", key.key_pair_id,
                      "--private-key", str(key.private_key))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith("all 3 checks passed\n")


def test_a_key_the_signer_refuses_is_one_line_before_any_request(tmp_path: Path) -> None:
    (tmp_path / "not-a-key.pem").write_text("hello\n")
    done = run_script("--url", "http://127.0.0.1:9", "--key-pair-id", "K2JCJMDEHXQW5F", "--private-key",
                      str(tmp_path / "not-a-key.pem"))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "status: unable to sign the probe requests: not an unencrypted PEM private key\n"
    half = run_script("--url", "http://127.0.0.1:9", "--key-pair-id", "K2JCJMDEHXQW5F")
    assert half.returncode == 2 and half.stderr.endswith("--key-pair-id and --private-key go together\n")


def test_json_output_is_the_same_checklist(both: Any, capsys: Any) -> None:
    world, local = both
    code, out = status(world, local, capsys, "--json", ohio=0)
    document = json.loads(out)
    assert code == 1 and document["ok"] is False
    failing = [c for c in document["checks"] if not c["ok"]]
    assert [(c["area"], c["name"], c["evidence"]) for c in failing] == [
        ("mrap", "route us-east-2 (images-ohio)", "passive with no backfill running")]
    assert failing[0]["fix"].endswith("scripts/routes --activate us-east-2")
    assert {c["state"] for c in document["checks"]} <= {"pass", "fail", "skip"}


def test_a_missing_stack_is_one_line(world: AwsWorld, capsys: Any) -> None:
    world.stub("cloudformation").add_client_error(
        "describe_stacks", service_error_code="ValidationError", http_status_code=400,
        service_message="Stack with id mrap-edge does not exist")
    assert cli.main(["--stack-name", "mrap-edge"], clients=world) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == ("status: unable to find stack mrap-edge in us-east-1: deploy it first, or pass "
                                 "--stack-name (or --url to check only the request path)\n")


def test_a_deleted_distribution_is_one_line_and_no_request_is_sent_to_it(world: AwsWorld, capsys: Any) -> None:
    code_zip = package_zip(HEALTHY_CONFIG)
    with serve_bytes(code_zip) as server:
        queue_stack(world, server.url + "/code.zip", code_zip, distribution_deleted=True, web_acl=False)
        code = cli.main(["--stack-name", "mrap-edge", "--my-ip", "198.51.100.23"], clients=world)
    world.assert_all_called()
    out, _ = capsys.readouterr()
    assert code == 1
    assert failed_lines(out) == [
        "✗ distribution E2QWRUHAPOMQZL: does not exist: NoSuchDistribution (The specified distribution does not "
        "exist.)",
        "fix: it was deleted outside the stack, or never created: deploy again (scripts/deploy), or remove what is "
        "left (scripts/teardown)"]
    assert "\nrequest path\n" not in out


@pytest.mark.parametrize("status, why", [
    ("ROLLBACK_COMPLETE", "its creation failed and was rolled back: it holds nothing"),
    ("REVIEW_IN_PROGRESS", "a change set was created but never executed: nothing is deployed yet"),
])
def test_a_stack_that_built_nothing_is_one_line(world: AwsWorld, capsys: Any, status: str, why: str) -> None:
    stack = healthy_stack()
    stack["Stacks"][0].update(StackStatus=status, Outputs=[])
    world.stub("cloudformation").add_response("describe_stacks", stack, {"StackName": "mrap-edge"})
    assert cli.main(["--stack-name", "mrap-edge"], clients=world) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == (f"status: unable to check stack mrap-edge: it is {status}, {why}; see its events "
                                 "(aws cloudformation describe-stack-events --region us-east-1 --stack-name "
                                 "mrap-edge), then deploy again (scripts/deploy) or remove it (scripts/teardown)\n")


def run_script(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=120)


def test_the_script_against_the_local_stack(local: LocalStack) -> None:
    done = run_script("--url", local.url("us-east-2"), "--key", "images/red.png", "--expect-region", "us-east-2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"status of {local.url('us-east-2')}\n\nrequest path\n  ✓ probe through the "
                                  "distribution: 200 served by mrap-edge-demo-")
    assert done.stdout.endswith("all 3 checks passed\n")


def test_the_script_reports_a_broken_signer_with_json_and_exit_1(local: LocalStack) -> None:
    for invoker in local.invokers.values():
        invoker.fault = "raise"
    done = run_script("--url", local.url("eu-west-2"), "--json")
    assert done.returncode == 1 and done.stderr == ""
    document = json.loads(done.stdout)
    probe = document["checks"][0]
    assert probe["state"] == "fail" and "503 from CloudFront (function failed" in probe["evidence"]


def test_a_refused_stack_read_names_the_permission(world: AwsWorld, capsys: Any) -> None:
    world.stub("cloudformation").add_client_error(
        "describe_stacks", service_error_code="AccessDenied", http_status_code=403,
        service_message="User: arn:aws:sts::123456789012:assumed-role/ops/alex is not authorized to perform: "
                        "cloudformation:DescribeStacks")
    assert cli.main(["--json"], clients=world) == 1
    out, err = capsys.readouterr()
    assert json.loads(out) == {"target": "stack mrap-edge", "ok": False, "error": err[len("status: "):].strip()}
    assert err.startswith("status: unable to read stack mrap-edge: AccessDenied (User: arn:aws:sts::")
    assert err.endswith("; the caller needs cloudformation:DescribeStacks\n")


def test_version_is_the_products() -> None:
    from infra.version import VERSION

    assert run_script("--version").stdout == f"scripts/status {VERSION}\n"
