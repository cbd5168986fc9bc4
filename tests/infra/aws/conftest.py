"""pytest fixtures for the AWS tooling tests; the helpers themselves live in tests/infra/aws/helpers.py."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from botocore.client import BaseClient
from moto import mock_aws

from .account import Account
from .helpers import TEST_TEMPLATE, TOOL_CALLS, called_by_the_tools

_EVERY_CALL_CHECK = "test_every_call_the_tools_made_in_this_session_is_in_the_deployer_policy"


@pytest.fixture(scope="session", autouse=True)
def _record_tool_calls() -> Iterator[None]:
    """Every API call goes through BaseClient._make_api_call (moto's, stubbed and real clients alike): record those
    the tools make, with the parameter that can change the IAM action (a version id)."""
    original = BaseClient._make_api_call

    def recording(client: Any, operation: str, params: Dict[str, Any]) -> Any:
        if called_by_the_tools():
            versioned = bool(params.get("VersionId")) or any(
                o.get("VersionId") for o in (params.get("Delete") or {}).get("Objects", []))
            TOOL_CALLS.add((client.meta.service_model.service_name, operation, "VersionId" if versioned else ""))
        return original(client, operation, params)

    BaseClient._make_api_call = recording  # type: ignore[method-assign]
    yield
    BaseClient._make_api_call = original  # type: ignore[method-assign]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """The check of every call made in the session runs after every other test, whatever order they were put in."""
    items.sort(key=lambda item: item.name == _EVERY_CALL_CHECK)


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
