"""A program, never imported: `callgrind.warm_instructions` runs it under callgrind from the source tree as
`python -m infra.bench.warm_child NAME COUNT EVENT_JSON`.

Warm instructions per call are the difference between COUNT calls of contender NAME and none, after the same
warm-up of every contender in both runs, so that imports, key generation and the warm-up cancel out.
"""
from __future__ import annotations

import json
import sys
from typing import Callable, Dict

from edge.handler import lambda_handler
from infra.bench.contenders import awscrt_alone, ecdsa_floor

WARM_UP_CALLS = 20


def main() -> None:
    event = json.loads(sys.argv[3])
    calls: Dict[str, Callable[[], object]] = {
        "floor": ecdsa_floor(), "awscrt": awscrt_alone(), "handler": lambda: lambda_handler(event, None)}
    call = calls[sys.argv[1]]
    for _ in range(WARM_UP_CALLS):
        for warm in calls.values():
            warm()
    for _ in range(int(sys.argv[2])):
        call()


if __name__ == "__main__":
    main()
