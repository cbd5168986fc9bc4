"""pytest fixtures; the helpers themselves live in tests/helpers.py."""
from __future__ import annotations

import pytest

from tests.helpers import Edge


@pytest.fixture
def edge(monkeypatch: pytest.MonkeyPatch) -> Edge:
    return Edge(monkeypatch)
