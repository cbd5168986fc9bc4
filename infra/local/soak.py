"""`make soak`: load through the whole local path with faults injected mid-run, every response checked byte for byte.

    python -m infra.local.soak [--requests N] [--concurrency C] [--faults region-down,mrap-503,crash,hang]

The stack runs in this process with CloudFront's cache off, so every request goes through the function, the MRAP
stand-in and a bucket. The load comes from a separate process (so that the client does not compete with the
stand-ins for one interpreter lock): C kept-alive connections, spread over the edge locations, each asking for the
sample objects in turn. Each fault is switched on for one slice of the run and off again:

  region-down  the first Region is marked down in the MRAP's routing: its clients are served by the other Region
  mrap-503     the MRAP answers 503 SlowDown: CloudFront fails over to the origin group's secondary bucket
  crash        one invocation in --crash-every exits (its environment is replaced): CloudFront answers 503
  hang         one invocation in --hang-every never returns: CloudFront answers 503 after --function-timeout

Every answer is one of: served (200, the object's bytes), failed over (the same, by the secondary bucket),
refused (CloudFront's 503 for an injected crash or hang), wrong body (200 with other bytes), or lost (anything
else: another status, a reset connection, no answer). Exit 0 only when nothing was lost or served wrong.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote

from infra.local.cloudfront.settings import load_settings
from infra.local.function.invoker import DEFAULT_MAX_WORKERS, REPO_ROOT
from infra.local.regions import POPS
from infra.local.samples import sample_objects
from infra.local.stack import LocalStack, StackOptions

__all__ = ["main", "FAULT_NAMES", "classify", "Tally"]

FAULT_NAMES = ("region-down", "mrap-503", "crash", "hang")
# CloudFront's error page for a function that failed, naming how (see cloudfront.py).
_FUNCTION_ERROR = b"The Lambda function associated with the CloudFront distribution is invalid"
_REFUSED_BY_FAULT = {"crash": b"(crash)", "hang": b"(timeout)"}


def _objects() -> Dict[str, bytes]:
    """The objects requested, by viewer path: the samples (the same bytes in every Region's bucket)."""
    return {"/" + quote(key, safe="/"): body for key, body in sorted(sample_objects().items())}


def classify(status: int, body: bytes, expected: bytes, faults: Sequence[str]) -> str:
    """One answer's kind: "ok", "refused" (explained by an injected fault), "wrong" or "lost"."""
    if status == 200:
        return "ok" if body == expected else "wrong"
    if status == 503 and _FUNCTION_ERROR in body:
        if any(_REFUSED_BY_FAULT[f] in body for f in faults if f in _REFUSED_BY_FAULT):
            return "refused"
    return "lost"


# --- the load (a process of its own) ----------------------------------------------------------------------------


def _drive(plan: Dict[str, Any]) -> Dict[str, Any]:
    """Send plan["requests"] requests over plan["concurrency"] kept-alive connections; return what came back."""
    objects = list(_objects().items())
    pops = [tuple(address) for address in plan["pops"]]
    faults = plan["faults"]
    lock = threading.Lock()
    left = [int(plan["requests"])]
    kinds: Counter = Counter()
    latencies: List[float] = []
    examples: List[str] = []

    def connection_to(address: Tuple[str, int]) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(address[0], address[1], timeout=plan["timeout_s"])

    def run(number: int) -> None:
        address = pops[number % len(pops)]
        connection = connection_to(address)
        index = number
        while True:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            path, expected = objects[index % len(objects)]
            index += 1
            started = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                status, body = response.status, response.read()
                kind = classify(status, body, expected, faults)
                detail = f"{status} for {path}: {body[:200]!r}"
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = connection_to(address)
                kind, detail = "lost", f"{type(error).__name__} for {path}: {error}"
            elapsed = time.perf_counter() - started
            with lock:
                kinds[kind] += 1
                latencies.append(elapsed)
                if kind in ("lost", "wrong") and len(examples) < 5:
                    examples.append(f"{kind}: {detail}")
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(n,)) for n in range(int(plan["concurrency"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"kinds": dict(kinds), "latencies": latencies, "seconds": time.perf_counter() - started,
            "examples": examples, "cpu_s": time.process_time()}


def _drive_main() -> int:
    result = _drive(json.loads(sys.stdin.readline()))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


# --- the faults -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fault:
    name: str
    start: int  # switched on when CloudFront has answered this many requests
    end: int  # and off again at this many


def _schedule(faults: Sequence[str], requests: int) -> List[_Fault]:
    """Each fault gets its own slice of the run, with fault-free slices before, between and after."""
    slices = 2 * len(faults) + 1
    return [_Fault(name, requests * (2 * i + 1) // slices, requests * (2 * i + 2) // slices)
            for i, name in enumerate(faults)]


class _Injector:
    def __init__(self, stack: LocalStack, crash_every: int, hang_every: int) -> None:
        self.stack = stack
        self.crash_every = crash_every
        self.hang_every = hang_every

    def switch(self, name: str, on: bool) -> None:
        stack = self.stack
        assert stack.mrap is not None
        if name == "region-down":
            stack.mrap.routing.mark_down(stack.options.regions[0], down=on)
        elif name == "mrap-503":
            stack.mrap.forced_status = 503 if on else None
        else:
            fault, every = ("exit", self.crash_every) if name == "crash" else ("timeout", self.hang_every)
            for invoker in stack.invokers.values():
                invoker.fault_every = every
                invoker.fault = fault if on else None


def _run_faults(stack: LocalStack, schedule: List[_Fault], injector: _Injector, done: threading.Event,
                say: Callable[[str], None]) -> None:
    assert stack.cloudfront is not None
    pending = sorted([(f.start, f.name, True) for f in schedule] + [(f.end, f.name, False) for f in schedule])
    while pending and not done.is_set():
        answered = stack.cloudfront.totals["requests"]
        while pending and answered >= pending[0][0]:
            at, name, on = pending.pop(0)
            injector.switch(name, on)
            say(f"  [{answered:>6} answered] {name} {'on' if on else 'off'}")
        done.wait(0.01)
    for _, name, on in pending:  # the run ended early: leave nothing switched on
        if not on:
            injector.switch(name, False)


# --- where the CPU goes -----------------------------------------------------------------------------------------


def _process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a live process has used; 0.0 where /proc cannot tell (not Linux, gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _cpu_by_role(stack: LocalStack) -> Dict[str, float]:
    """CPU seconds so far: this process (the stand-ins), the S3 servers, the function's live environments, and
    every child process already reaped (environments discarded after a crash or a timeout, the load)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "stand-ins": time.process_time(),
        "S3": sum(_process_cpu_s(pid) for pid in stack.buckets.pids),
        "function": sum(_process_cpu_s(pid) for invoker in stack.invokers.values() for pid in invoker.pids),
        "reaped": children.ru_utime + children.ru_stime,
    }


def _cpu_used(before: Dict[str, float], after: Dict[str, float], load_s: float) -> Dict[str, float]:
    """Per role, what the load cost: discarded environments count as the function's; the load process is the one
    other child reaped during the run."""
    used = {role: after[role] - before[role] for role in ("stand-ins", "S3", "function")}
    used["function"] += max(0.0, after["reaped"] - before["reaped"] - load_s)
    used["load"] = load_s
    return used


# --- the command ------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    requested: int
    kinds: Counter
    failed_over: int  # of the "ok" answers, those the secondary bucket served
    seconds: float
    latencies: List[float]

    @property
    def answered(self) -> int:
        return sum(self.kinds.values())

    @property
    def passed(self) -> bool:
        return self.kinds["lost"] == 0 and self.kinds["wrong"] == 0 and self.answered == self.requested

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000 if ordered else 0.0


def _arguments(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make soak ARGS=...", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests in all (default 2000)")
    parser.add_argument("--concurrency", type=int, default=32, help="kept-alive viewer connections (default 32)")
    parser.add_argument("--faults", default="", help=f"comma-separated, each for one slice of the run: "
                                                     f"{', '.join(FAULT_NAMES)}")
    parser.add_argument("--crash-every", type=int, default=100, help="with crash: one invocation in N exits")
    parser.add_argument("--hang-every", type=int, default=200, help="with hang: one invocation in N hangs")
    parser.add_argument("--function-timeout", type=float, default=None,
                        help="seconds (default: the template's Timeout; Lambda@Edge allows up to 30)")
    parser.add_argument("--function-workers", type=int, default=DEFAULT_MAX_WORKERS,
                        help=f"execution environments per edge location, at most (default {DEFAULT_MAX_WORKERS})")
    parser.add_argument("--client-region", action="append", choices=sorted(POPS),
                        help="edge locations the load is spread over (default: eu-west-2 and us-east-2)")
    parser.error = lambda message: _usage_error(parser, message)  # type: ignore[method-assign]
    args = parser.parse_args(argv)
    args.faults = tuple(f for f in (part.strip() for part in args.faults.split(",")) if f)
    for name in args.faults:
        if name not in FAULT_NAMES:
            parser.error(f"argument --faults: unknown fault {name!r} (known: {', '.join(FAULT_NAMES)})")
    for flag in ("requests", "concurrency", "crash_every", "hang_every", "function_workers"):
        if getattr(args, flag) < 1:
            parser.error(f"argument --{flag.replace('_', '-')}: must be at least 1")
    if args.function_timeout is not None and args.function_timeout <= 0:
        parser.error("argument --function-timeout: must be above 0")
    return args


def _usage_error(parser: argparse.ArgumentParser, message: str) -> None:
    sys.stderr.write(f"{parser.prog}: error: {message}\n")
    sys.exit(2)


def _say(message: str) -> None:
    print(message, flush=True)


def _load(stack: LocalStack, args: argparse.Namespace) -> Dict[str, Any]:
    assert stack.cloudfront is not None
    plan = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "pops": [stack.cloudfront.addresses[region] for region in stack.client_regions()],
        "faults": list(args.faults),
        "timeout_s": (args.function_timeout or 30.0) + 30,
    }
    driver = subprocess.Popen([sys.executable, "-m", "infra.local.soak", "--drive"], cwd=REPO_ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    output, _ = driver.communicate(json.dumps(plan) + "\n")
    if driver.returncode != 0:
        raise RuntimeError(f"the load process exited with status {driver.returncode}")
    return json.loads(output)


def main(argv: Optional[Sequence[str]] = None) -> int:
    if argv is None and sys.argv[1:] == ["--drive"]:
        return _drive_main()
    args = _arguments(argv)
    regions = tuple(args.client_region or ("eu-west-2", "us-east-2"))
    options = StackOptions(
        client_regions=regions,
        # Cache off: every request reaches the origin. Custom error pages off: each failure keeps the body that says
        # what happened (CloudFront's page names a crash or a timeout), which is how answers are classified.
        settings=replace(load_settings(), default_ttl=0, error_responses=()),
        function_timeout_s=args.function_timeout,
        function_workers=args.function_workers,
    )
    faults = ", ".join(args.faults) or "none"
    _say(f"soak: {args.requests} requests at concurrency {args.concurrency} through CloudFront -> function -> "
         f"MRAP -> buckets, cache off; faults: {faults}")
    stack = LocalStack(options)
    try:
        stack.start()
    except Exception as error:
        _say(f"FAIL: unable to start the local stack: {error}")
        return 1
    try:
        assert stack.cloudfront is not None
        schedule = _schedule(args.faults, args.requests)
        done = threading.Event()
        injector = _Injector(stack, args.crash_every, args.hang_every)
        controller = threading.Thread(target=_run_faults, args=(stack, schedule, injector, done, _say), daemon=True)
        controller.start()
        before = _cpu_by_role(stack)
        try:
            result = _load(stack, args)
        finally:
            done.set()
            controller.join()
        cpu = _cpu_used(before, _cpu_by_role(stack), float(result["cpu_s"]))
        totals = stack.cloudfront.totals
        tally = Tally(args.requests, Counter(result["kinds"]), totals["failed over, status 200"],
                      result["seconds"], result["latencies"])
        _report(stack, tally, result["examples"], cpu)
        return 0 if tally.passed else 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        _say(f"FAIL: {error}")
        return 1
    finally:
        stack.stop()


def _report(stack: LocalStack, tally: Tally, examples: List[str], cpu: Dict[str, float]) -> None:
    kinds = tally.kinds
    served = kinds["ok"] - tally.failed_over
    rows = [
        ("served", served, "200 with the object's bytes, by the Region the MRAP chose"),
        ("failed over", tally.failed_over, "200 with the object's bytes, by the origin group's secondary bucket"),
        ("refused", kinds["refused"], "CloudFront's 503 for an injected crash or hang"),
        ("wrong body", kinds["wrong"], "200 with other bytes"),
        ("lost", kinds["lost"] + tally.requested - tally.answered, "any other answer, or none"),
    ]
    for name, count, meaning in rows:
        _say(f"  {name:<12}{count:>7}   {meaning}")
    rate = tally.answered / tally.seconds if tally.seconds else 0.0
    _say(f"  throughput  {rate:.1f} requests/s ({tally.answered} in {tally.seconds:.1f} s); latency p50 "
         f"{tally.percentile(0.50):.0f} ms, p99 {tally.percentile(0.99):.0f} ms")
    if tally.answered and all(cpu.values()):
        per_request = {role: seconds * 1000 / tally.answered for role, seconds in cpu.items()}
        _say("  CPU per request: " + ", ".join(f"{role} {ms:.1f} ms" for role, ms in per_request.items())
             + f" ({sum(per_request.values()):.1f} ms in all; machine load average {os.getloadavg()[0]:.1f})")
    for region, invoker in stack.invokers.items():
        colds = [ms for _, ms in invoker.cold_starts]
        median = f", cold start median {statistics.median(colds):.0f} ms" if colds else ""
        _say(f"  function at {POPS[region].code}: {invoker.workers_started} execution environments started "
             f"(at most {invoker.max_workers} at once){median}")
    for example in examples:
        _say(f"  {example}")
    _say("PASS" if tally.passed else "FAIL")


if __name__ == "__main__":
    sys.exit(main())
