"""pytest fixtures; the helpers themselves live in tests/helpers.py."""
from __future__ import annotations

from typing import Iterator

import pytest

from infra.local.stack import LocalStack

from tests.helpers import Edge


@pytest.fixture
def edge(monkeypatch: pytest.MonkeyPatch) -> Edge:
    return Edge(monkeypatch)


@pytest.fixture
def local(stack: LocalStack) -> Iterator[LocalStack]:
    """The module's `stack` fixture (a local stack started once per module), reset before and after each test."""
    stack.reset()
    yield stack
    stack.reset()
