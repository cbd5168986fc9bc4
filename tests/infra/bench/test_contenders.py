"""The warm contenders: the floor is fair (its algorithm object built once), and the bench drives only the
function's public entry points, in its own code and in the programs it hands to other interpreters."""
from __future__ import annotations

import re
from pathlib import Path
from typing import List

import pytest

from infra.bench import contenders
from infra.bench.contenders import BATCH, FAKE_ENV, ecdsa_floor, warm_contenders

BENCH = Path(contenders.__file__).parent


def test_the_ecdsa_floor_builds_its_signature_algorithm_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    built: List[object] = []

    class CountingECDSA(ec.ECDSA):  # a subclass, because cryptography checks the algorithm's type
        def __init__(self, *args: object, **kwargs: object) -> None:
            built.append(args)
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ec, "ECDSA", CountingECDSA)
    floor = ecdsa_floor()
    signatures = [floor() for _ in range(5)]
    assert len(built) == 1
    assert len(set(signatures)) == 5  # each call is a real signature (ECDSA's nonce differs)


def test_the_bench_uses_only_public_names_of_the_function() -> None:
    # Another arrangement of edge/ inside (a runtime object instead of module globals, other helper names) must not
    # break the bench, so it may reach only what edge/ offers to callers: no underscore names, in code or in the
    # programs it hands to other interpreters.
    for path in sorted(BENCH.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        private = re.findall(r"\b(?:edge\.\w+|handler|signing)\._\w+", source)
        imported = re.findall(r"from edge[\w.]* import ([^\n]+)", source)
        assert private == [], path.name
        assert [names for names in imported if re.search(r"(^|[ ,])_", names)] == [], path.name


def test_every_contender_signs_and_has_a_batch_size(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    calls = warm_contenders()
    assert list(calls) == list(BATCH)
    for name in ("handler", "handler_encoded", "handler_awkward", "naive"):
        answer = calls[name]()
        assert isinstance(answer, dict)
        (authorization,) = answer["headers"]["authorization"]
        assert authorization["value"].startswith("AWS4-ECDSA-P256-SHA256 Credential=ASIAQNZGKIQY56JQ7WML/"), name
