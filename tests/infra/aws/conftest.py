"""pytest fixtures for the AWS tooling tests; the helpers themselves live in tests/infra/aws/helpers.py."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Iterator

import pytest
from moto import mock_aws

from .account import Account
from .helpers import TEST_TEMPLATE


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    """The account: moto, with the model of what moto lacks (tests/infra/aws/account.py)."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield Account()


@pytest.fixture
def package(tmp_path: Path) -> Path:
    path = tmp_path / "mrap-edge.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("edge/__init__.py", "")
        archive.writestr("edge/handler.py", "")
    return path


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "test.template"
    path.write_text(json.dumps(TEST_TEMPLATE), encoding="utf-8")
    return path
