"""The function's execution environments: a pool per edge location that grows with concurrent demand, a crash told
from a timeout, a hung or crashed invocation costing only its own environment, and the function's log lines."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List

import pytest

from infra.local.function.invoker import Invocation
from tests.infra.local.helpers import zip_invoker

# Answers a generated 200 naming its process, after sleeping for the event's "sleep" seconds.
SLEEPER = (
    "import os, time\n"
    "def lambda_handler(event, context):\n"
    "    time.sleep(event.get('sleep', 0))\n"
    "    return {'status': '200', 'body': str(os.getpid())}\n"
)


def test_every_crash_is_recorded_as_a_crash(tmp_path: Path) -> None:
    # The worker's output ends before its process has finished exiting: a crash must not be read as a timeout.
    invoker = zip_invoker(tmp_path, SLEEPER, timeout_s=10, max_workers=1)
    try:
        outcomes = [invoker.invoke({}, fault="exit") for _ in range(40)]
    finally:
        invoker.stop()

    assert [o.outcome for o in outcomes] == ["crash"] * 40, [o.error for o in outcomes]
    assert {o.error for o in outcomes} == {"Runtime exited with error: exit status 70"}


def test_the_pool_grows_with_concurrent_demand_up_to_its_limit(tmp_path: Path) -> None:
    invoker = zip_invoker(tmp_path, SLEEPER, timeout_s=10, max_workers=3)
    try:
        with ThreadPoolExecutor(6) as pool:
            results: List[Invocation] = list(pool.map(lambda _: invoker.invoke({"sleep": 0.5}), range(6)))
        later = invoker.invoke({})
    finally:
        invoker.stop()

    assert all(r.outcome == "ok" for r in results)
    # Three environments, each with its own cold start on the first invocation it served, and never a fourth.
    assert invoker.workers_started == 3
    assert sorted(r.worker for r in results) == [1, 1, 2, 2, 3, 3]
    assert sorted(r.worker for r in results if r.cold_start_ms is not None) == [1, 2, 3]
    assert len({r.result["body"] for r in results}) == 3  # three processes
    # Once the burst is over, an idle environment serves: no new cold start.
    assert later.cold_start_ms is None and later.worker in (1, 2, 3)


def test_sequential_invocations_reuse_one_environment(tmp_path: Path) -> None:
    invoker = zip_invoker(tmp_path, SLEEPER, timeout_s=10)
    try:
        results = [invoker.invoke({}) for _ in range(5)]
    finally:
        invoker.stop()

    assert [r.worker for r in results] == [1] * 5
    assert [r.cold_start_ms is not None for r in results] == [True, False, False, False, False]


@pytest.mark.parametrize("fault", ["timeout", "exit"])
def test_a_hung_or_crashed_invocation_costs_only_its_own_environment(tmp_path: Path, fault: str) -> None:
    invoker = zip_invoker(tmp_path, SLEEPER, timeout_s=2, max_workers=4)
    invoker.start()
    faulty: List[Invocation] = []
    done = threading.Event()

    def failing() -> None:
        faulty.append(invoker.invoke({"sleep": 0.3}, fault=fault))
        done.set()

    try:
        thread = threading.Thread(target=failing)
        thread.start()
        time.sleep(0.1)  # the faulty invocation holds environment 1
        others = [invoker.invoke({}) for _ in range(10)]
        finished_while_hung = not done.is_set()
        thread.join()
        after = invoker.invoke({})
    finally:
        invoker.stop()

    assert all(o.outcome == "ok" for o in others)
    assert {o.worker for o in others} == {2}  # another environment served them
    if fault == "timeout":
        assert finished_while_hung  # the others did not wait for the hung one
        assert faulty[0].outcome == "timeout" and faulty[0].error == "Task timed out after 2.00 seconds"
    else:
        assert faulty[0].outcome == "crash"
    # The failed environment was discarded; the pool goes on with the others.
    assert after.outcome == "ok" and after.worker == 2
    assert invoker.size == 1


def test_a_fault_can_hit_every_nth_invocation(tmp_path: Path) -> None:
    invoker = zip_invoker(tmp_path, SLEEPER, timeout_s=10)
    invoker.fault, invoker.fault_every = "raise", 3
    try:
        outcomes = [invoker.invoke({}).outcome for _ in range(6)]
    finally:
        invoker.stop()

    assert outcomes == ["ok", "ok", "error", "ok", "ok", "error"]


def test_the_functions_log_lines_come_back_with_its_invocation(tmp_path: Path) -> None:
    handler = (
        "import json\n"
        "print(json.dumps({'level': 'ERROR', 'message': 'bad configuration'}))\n"
        "def lambda_handler(event, context):\n"
        "    print('line for', event['n'])\n"
        "    if event['n'] == 2:\n"
        "        raise ValueError('no')\n"
        "    return {'status': '200'}\n"
    )
    invoker = zip_invoker(tmp_path, handler, timeout_s=10)
    try:
        first, second, third = (invoker.invoke({"n": n}) for n in range(3))
    finally:
        invoker.stop()

    # The init lines come with the first invocation of the environment, as in its log stream.
    assert first.logs == ('{"level": "ERROR", "message": "bad configuration"}', "line for 0")
    assert second.logs == ("line for 1",)
    assert third.outcome == "error" and third.logs[0] == "line for 2"
    assert third.logs[-1] == "ValueError: no"  # the traceback is in the log, as on Lambda


def test_a_function_that_cannot_start_is_an_error_for_the_invocation(tmp_path: Path) -> None:
    invoker = zip_invoker(tmp_path, "raise ImportError('missing dependency')\n", timeout_s=10)
    try:
        invocation = invoker.invoke({})
    finally:
        invoker.stop()

    assert invocation.outcome == "error"
    assert "missing dependency" in invocation.error
    assert invoker.size == 0


# Allocates the event's "mb" megabytes, then answers 200.
ALLOCATOR = (
    "def lambda_handler(event, context):\n"
    "    block = bytearray(event['mb'] * 1024 * 1024)\n"
    "    return {'status': '200', 'body': str(len(block))}\n"
)


def test_the_function_runs_within_its_memory_size(tmp_path: Path) -> None:
    invoker = zip_invoker(tmp_path, ALLOCATOR, timeout_s=10, memory_mb=128)
    try:
        within = invoker.invoke({"mb": 16})
        over = invoker.invoke({"mb": 256})
    finally:
        invoker.stop()

    assert within.outcome == "ok"
    assert over.outcome in ("error", "crash") and "MemoryError" in over.error + "".join(over.logs), over


def test_an_invocation_over_the_functions_concurrency_is_throttled_not_queued(tmp_path: Path) -> None:
    invoker = zip_invoker(tmp_path, SLEEPER, timeout_s=10, max_workers=2, concurrency=1)
    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(invoker.invoke, {"sleep": 1.0})
            while invoker.busy == 0:
                time.sleep(0.005)
            started = time.monotonic()
            second = pool.submit(invoker.invoke, {}).result()
            waited = time.monotonic() - started
        assert first.result().outcome == "ok"
    finally:
        invoker.stop()

    assert (second.outcome, second.error) == ("throttled", "Rate Exceeded.")
    assert waited < 0.5  # answered at once, not after the first invocation
