"""scripts/routes: show the routes with each Region's backfill, change them only after confirmation (a prompt, or
--yes; never silently without a terminal), dry runs, and waiting until the change reads back (Stubber for
CloudFormation and the S3 control API, moto for STS), plus the script itself run as a user runs it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, List, Optional

import pytest

from infra.aws import routes
from tests.infra.aws.status.helpers import (
    ACCOUNT, LONDON, MRAP_ARN, OHIO, AwsWorld, aws_world, backfill_job, healthy_stack, list_jobs_answer,
    list_jobs_params, routes_answer,
)

ROOT = Path(__file__).resolve().parents[2]
ROUTES_PARAMS = {"AccountId": ACCOUNT, "Mrap": MRAP_ARN}
JOB = backfill_job("8d3b5a1f-0c7e-4d0e-a0f1-b2c3d4e5f601", LONDON, "Active", 52_000, 20_800)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    with aws_world(monkeypatch) as made:
        made.stub("cloudformation").add_response("describe_stacks", healthy_stack(), {"StackName": "mrap-edge"})
        london = made.stub("s3control", LONDON.region)
        london.add_response("list_jobs", list_jobs_answer(JOB), list_jobs_params())
        london.add_response("describe_job", {"Job": JOB}, {"AccountId": ACCOUNT, "JobId": JOB["JobId"]})
        made.stub("s3control", OHIO.region).add_response("list_jobs", {"Jobs": []}, list_jobs_params())
        yield made


def expect_routes(world: AwsWorld, *answers: Any) -> None:
    for london, ohio in answers:
        world.stub("s3control", "us-east-1").add_response("get_multi_region_access_point_routes",
                                                           routes_answer(london, ohio), ROUTES_PARAMS)


def expect_submit(world: AwsWorld, region: str, bucket: str, dial: int) -> None:
    world.stub("s3control", "us-east-1").add_response("submit_multi_region_access_point_routes", {}, dict(
        ROUTES_PARAMS, RouteUpdates=[{"Bucket": bucket, "Region": region, "TrafficDialPercentage": dial}]))


def run(world: AwsWorld, capsys: pytest.CaptureFixture[str], *argv: str, interactive: bool = False,
        slept: Optional[List[float]] = None) -> Any:
    code = routes.main(list(argv), clients=world, sleep=(slept if slept is not None else []).append,
                       interactive=interactive)
    out, err = capsys.readouterr()
    return code, out, err


def test_show_lists_each_route_with_the_backfill_into_it(world: AwsWorld, capsys: Any) -> None:
    expect_routes(world, (100, 0))
    code, out, err = run(world, capsys)
    world.assert_all_called()
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"routes of {MRAP_ARN} (stack mrap-edge):"
    assert lines[1] == "  eu-west-2       images-london active   traffic dial 100"
    assert lines[2].startswith("  us-east-2       images-ohio   passive  traffic dial   0  backfill job "
                               "8d3b5a1f-0c7e-4d0e-a0f1-b2c3d4e5f601 from images-london (eu-west-2) Active, 40% done")


def test_a_failover_drill_with_yes_submits_one_route_and_waits_until_it_reads_back(world: AwsWorld,
                                                                                    capsys: Any) -> None:
    expect_routes(world, (100, 100))
    expect_submit(world, "eu-west-2", LONDON.name, 0)
    expect_routes(world, (100, 100), (0, 100))
    slept: List[float] = []
    code, out, err = run(world, capsys, "--passive", "eu-west-2", "--yes", slept=slept)
    world.assert_all_called()
    assert code == 0, err
    assert out.splitlines() == ["routes: eu-west-2 (images-london) active -> passive", "routes: submitted",
                                "  waiting for the routes to take effect in eu-west-2 ...", "routes: in effect"]
    assert slept == [10.0]


def test_without_a_terminal_and_without_yes_nothing_is_submitted(world: AwsWorld, capsys: Any) -> None:
    code, out, err = run(world, capsys, "--activate", "us-east-2")  # a routes call would find no stubbed answer
    assert code == 1 and out == ""
    assert err == ("routes: refusing to change the routes without confirmation: no terminal to ask on; pass --yes "
                   "(or --dry-run to see the change)\n")


@pytest.mark.parametrize("answer, submitted", [("y", True), ("n", False), ("", False)])
def test_the_prompt_decides(world: AwsWorld, capsys: Any, monkeypatch: pytest.MonkeyPatch, answer: str,
                            submitted: bool) -> None:
    asked: List[str] = []
    monkeypatch.setattr("builtins.input", lambda question: asked.append(question) or answer)
    expect_routes(world, (100, 0))
    if submitted:
        expect_submit(world, "us-east-2", OHIO.name, 100)
        expect_routes(world, (100, 100))
    code, out, err = run(world, capsys, "--activate", "us-east-2", interactive=True)
    world.assert_all_called()
    assert asked == ["submit this change? [y/N] "]
    # Activating a Region whose backfill is not done is allowed (the user may know better) but said plainly.
    assert out.splitlines()[0] == (
        "routes: us-east-2 (images-ohio) passive -> active (backfill job 8d3b5a1f-0c7e-4d0e-a0f1-b2c3d4e5f601 from "
        "images-london (eu-west-2) Active, 40% done (20800 of 52000 objects), 35 objects/s, about 15 min left: "
        "viewers nearest us-east-2 would get 403 for objects not yet copied)")
    assert code == (0 if submitted else 1)
    if not submitted:
        assert err == "routes: not confirmed: nothing submitted\n"


def test_dry_run_needs_no_confirmation_and_submits_nothing(world: AwsWorld, capsys: Any) -> None:
    expect_routes(world, (100, 100))
    code, out, _ = run(world, capsys, "--passive", "us-east-2", "--dry-run")
    world.assert_all_called()
    assert code == 0 and out.splitlines()[-1] == "routes: dry run, nothing submitted"


def test_impossible_changes_are_refused_in_one_line(world: AwsWorld, capsys: Any) -> None:
    expect_routes(world, (100, 0))
    code, _, err = run(world, capsys, "--passive", "eu-west-2", "--yes")
    assert code == 1 and err.startswith("routes: refusing to make every Region passive")
    code = routes.main(["--activate", "eu-west-2", "--passive", "eu-west-2"], clients=world)
    assert code == 2


@pytest.mark.parametrize("script", ["routes", "status"])
def test_the_scripts_without_credentials_say_so_in_one_line(script: str, tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true"}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / script)], capture_output=True, text=True, env=env,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "credentials" in done.stderr.lower()
