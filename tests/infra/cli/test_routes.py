"""scripts/routes on the account model: the routes with each Region's backfill, a change only after confirmation
(a prompt, or --yes; never silently without a terminal), dry runs, "in effect" only after AWS's propagation time."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Tuple

import pytest

from infra.aws import rules
from infra.cli import routes
from infra.cli.common import EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE

from tests.infra.aws.account import Account
from tests.infra.aws.helpers import DIST_ID, LONDON, MRAP_ARN, OHIO, distribution_response, make_bucket, run_deploy


def _deployed(aws: Account, package: Path, template: Path, objects: int = 0) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=objects)
    aws.stub("cloudfront").add_response("get_distribution", distribution_response(), {"Id": DIST_ID})
    code, said = run_deploy(aws, package, template, "--create-buckets")
    assert code == 0, said


def _run(aws: Account, capsys: pytest.CaptureFixture[str], *argv: str, interactive: bool = False) -> Tuple[int, str,
                                                                                                           str]:
    code = routes.main(list(argv), clients=aws, sleep=aws.clock.sleep, interactive=interactive)
    out, err = capsys.readouterr()
    return code, out, err


def test_show_lists_each_route_with_the_backfill_into_it(aws: Account, package: Path, template: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _deployed(aws, package, template, objects=3)
    capsys.readouterr()
    code, out, err = _run(aws, capsys)
    assert code == EXIT_OK and err == ""
    lines = out.splitlines()
    assert lines[0] == f"routes of {MRAP_ARN} (stack mrap-edge):"
    assert lines[1].startswith(f"  eu-west-2       {LONDON} active   traffic dial 100")
    assert lines[2].startswith(f"  us-east-2       {OHIO} passive  traffic dial   0  backfill {LONDON} -> {OHIO}")
    code, out, _ = _run(aws, capsys, "--json")
    assert [(r["region"], r["state"]) for r in json.loads(out)] == [("eu-west-2", "active"), ("us-east-2", "passive")]


def test_a_failover_drill_with_yes_submits_one_route_and_says_in_effect_after_the_propagation_time(
        aws: Account, package: Path, template: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _deployed(aws, package, template)
    capsys.readouterr()
    before = len(aws.calls)
    start = aws.clock.now
    code, out, err = _run(aws, capsys, "--passive", "eu-west-2", "--yes")
    assert code == EXIT_OK, err
    lines = out.splitlines()
    assert lines[0] == f"routes: eu-west-2 ({LONDON}) active -> passive" and lines[-1] == "routes: in effect"
    assert [name for _, name in aws.calls[before:]] == ["s3control.SubmitMultiRegionAccessPointRoutes"]
    assert aws.clock.now - start >= rules.ROUTE_PROPAGATION


def test_without_a_terminal_and_without_yes_nothing_is_submitted(aws: Account, package: Path, template: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _deployed(aws, package, template)
    capsys.readouterr()
    before = len(aws.calls)
    code, out, err = _run(aws, capsys, "--passive", "us-east-2")
    assert code == EXIT_REFUSED and aws.calls[before:] == []
    assert err == ("routes: refusing to change anything without confirmation: no terminal to ask on; pass --yes (or "
                   "--dry-run to see what would change)\n")


@pytest.mark.parametrize("answer, submitted", [("y", True), ("n", False), ("", False)])
def test_the_prompt_decides(aws: Account, package: Path, template: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch, answer: str, submitted: bool) -> None:
    _deployed(aws, package, template, objects=2)
    capsys.readouterr()
    asked: List[str] = []
    monkeypatch.setattr("builtins.input", lambda question: asked.append(question) or answer)
    code, out, err = _run(aws, capsys, "--activate", "us-east-2", interactive=True)
    assert asked == ["submit this change? [y/N] "]
    # Activating a Region whose backfill is not done is allowed (the user may know better) but said plainly.
    assert out.splitlines()[0].startswith(f"routes: us-east-2 ({OHIO}) passive -> active (backfill {LONDON}")
    assert "viewers nearest us-east-2 would get 403 for objects not yet copied" in out.splitlines()[0]
    assert code == (EXIT_OK if submitted else EXIT_REFUSED)
    if not submitted:
        assert err == "routes: not confirmed: nothing submitted\n"


def test_dry_run_needs_no_confirmation_and_submits_nothing(aws: Account, package: Path, template: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    _deployed(aws, package, template)
    before = len(aws.calls)
    code, out, _ = _run(aws, capsys, "--passive", "us-east-2", "--dry-run")
    assert code == EXIT_OK and out.splitlines()[-1] == "routes: dry run, nothing submitted"
    assert aws.calls[before:] == []


def test_impossible_changes_are_refused_in_one_line(aws: Account, package: Path, template: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    _deployed(aws, package, template)
    _run(aws, capsys, "--passive", "us-east-2", "--yes")
    code, _, err = _run(aws, capsys, "--passive", "eu-west-2", "--yes")
    assert code == EXIT_REFUSED and err.startswith("routes: refusing to make every Region passive")
    assert routes.main(["--activate", "eu-west-2", "--passive", "eu-west-2"], clients=aws) == EXIT_USAGE


def test_ctrl_c_while_waiting_is_one_line(aws: Account, package: Path, template: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    _deployed(aws, package, template)
    capsys.readouterr()

    def interrupt(_: Any) -> None:
        raise KeyboardInterrupt

    code = routes.main(["--passive", "us-east-2", "--yes"], clients=aws, sleep=interrupt)
    err = capsys.readouterr().err
    assert code == EXIT_INTERRUPTED and "Traceback" not in err
    assert err.strip() == "routes: interrupted; a submitted change still takes effect; scripts/routes shows the routes"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from infra.version import VERSION

    with pytest.raises(SystemExit):
        routes.main(["--version"])
    assert capsys.readouterr().out == f"scripts/routes {VERSION}\n"



