"""scripts/deploy's command layer on the account model: --json, --version, and a refusal or Ctrl-C as one line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.cli import deploy as deploy_cli
from infra.cli.common import EXIT_OK, EXIT_REFUSED

from tests.infra.aws.account import Account
from tests.infra.aws.helpers import DIST_ID, LONDON, MRAP_ARN, OHIO, distribution_response, make_bucket


def test_deploy_json_prints_the_outputs_as_data_and_the_progress_apart(aws: Account, package: Path, template: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    aws.stub("cloudfront").add_response("get_distribution", distribution_response(), {"Id": DIST_ID})
    argv = ["--buckets", f"{LONDON}@eu-west-2,{OHIO}@us-east-2", "--zip", str(package), "--template", str(template),
            "--create-buckets", "--yes", "--json"]
    assert deploy_cli.main(argv, clients=aws, sleep=aws.clock.sleep) == EXIT_OK
    out, err = capsys.readouterr()
    assert json.loads(out)["MrapArn"] == MRAP_ARN and "stack mrap-edge: CREATE_COMPLETE" in err


def test_without_a_terminal_and_without_yes_deploy_writes_nothing(aws: Account, package: Path, template: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    before = len(aws.calls)
    argv = ["--buckets", f"{LONDON}@eu-west-2,{OHIO}@us-east-2", "--zip", str(package), "--template", str(template),
            "--create-buckets"]
    assert deploy_cli.main(argv, clients=aws, sleep=aws.clock.sleep, interactive=False) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("deploy: refusing to change anything without confirmation")
    # Only the change set was made (it is how CloudFormation validates), and deleted again with its empty stack
    assert [name for _, name in aws.calls[before:]] == [
        "cloudformation.CreateChangeSet", "cloudformation.DeleteChangeSet", "cloudformation.DeleteStack"]
