"""pytest fixtures; the helpers themselves live in tests/helpers.py."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Iterator, List

import pytest

from infra.local.cloudfront.settings import load_settings
from infra.local.stack import LocalStack, StackOptions
from tests.helpers import Edge

StartStack = Callable[..., LocalStack]


@pytest.fixture
def edge(monkeypatch: pytest.MonkeyPatch) -> Edge:
    return Edge(monkeypatch)


@pytest.fixture(scope="module")
def start_stack() -> Iterator[StartStack]:
    """Starts local stacks for a module and stops them all when it ends: `start_stack(default_ttl=0,
    function_timeout_s=2.0)` is the project's template with those settings changed (a field of
    `DistributionSettings`) and those `StackOptions`."""
    started: List[LocalStack] = []

    def start(**changes: Any) -> LocalStack:
        settings_fields = {name for name in load_settings().__dataclass_fields__}
        settings_changes = {name: value for name, value in changes.items() if name in settings_fields}
        options = {name: value for name, value in changes.items() if name not in settings_fields}
        if "settings" not in options:
            options["settings"] = replace(load_settings(), **settings_changes)
        stack = LocalStack(StackOptions(**options))
        started.append(stack)
        return stack.start()

    yield start
    for stack in started:
        stack.stop()


@pytest.fixture
def local(stack: LocalStack) -> Iterator[LocalStack]:
    """The module's `stack` fixture (a local stack started once per module), reset before and after each test."""
    stack.reset()
    yield stack
    stack.reset()
