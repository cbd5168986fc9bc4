"""scripts/backfill on the account model: the status (text and JSON), a dry run of --resume, and --resume asking
before it starts anything."""
from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from infra.cli import backfill as backfill_cli
from infra.cli.common import EXIT_NOT_YET, EXIT_OK, EXIT_REFUSED

from tests.infra.aws.account import Account
from tests.infra.aws.helpers import DIST_ID, LONDON, OHIO, distribution_response, make_bucket, run_deploy


def _seed_deployed(aws: Account, package: Path, template: Path) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=3)
    aws.stub("cloudfront").add_response("get_distribution", distribution_response(), {"Id": DIST_ID})
    code, said = run_deploy(aws, package, template, "--create-buckets")
    assert code == 0, said


def test_status_as_json_lists_the_pairs_and_the_jobs(aws: Account, package: Path, template: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _seed_deployed(aws, package, template)
    capsys.readouterr()
    assert backfill_cli.main(["--json"], clients=aws) == EXIT_NOT_YET
    status = json.loads(capsys.readouterr().out)
    assert status["made_passive"] == ["us-east-2"] and list(status["complete"]) == [f"{OHIO}->{LONDON}"]
    assert [(job["source"], job["destinations"]) for job in status["jobs"]] == [(LONDON, [OHIO])]


def test_resume_dry_run_changes_nothing_and_resume_asks_first(aws: Account, package: Path, template: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    _seed_deployed(aws, package, template)
    aws.clock.advance(datetime.timedelta(hours=2))
    before = len(aws.calls)
    assert backfill_cli.main(["--resume", "--dry-run"], clients=aws, sleep=aws.clock.sleep) == EXIT_OK
    out = capsys.readouterr().out
    assert f"routes: us-east-2 ({OHIO}) passive -> active" in out and "dry run: nothing was started" in out
    assert aws.calls[before:] == []
    assert backfill_cli.main(["--resume"], clients=aws, sleep=aws.clock.sleep, interactive=False) == EXIT_REFUSED
    assert "pass --yes" in capsys.readouterr().err and aws.calls[before:] == []
    assert backfill_cli.main(["--resume", "--yes"], clients=aws, sleep=aws.clock.sleep) == EXIT_OK
    assert "backfill complete" in capsys.readouterr().out
