"""`make demo`: the whole request path on one machine, curl -> CloudFront stand-in -> the function -> MRAP stand-in
(SigV4A checked like S3) -> the nearest Region's bucket, for clients in London and Ohio.

    python -m infra.local.demo [--check] [--zip PATH] [--client-region R ...] [--count N] [--record DIR]

Without --check it stays up until Ctrl-C. With --check it runs the Region check and exits: PASS (0) when every
client was served by its nearest Region's bucket and every Region saw verified signatures, FAIL (1) otherwise.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import signal
import statistics
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .invoker import DEFAULT_MAX_WORKERS, REPO_ROOT
from .probe import ProbeResult, curl_probe, format_table
from .regions import POPS
from .samples import PROBE_KEY
from .stack import LocalStack, StackOptions

__all__ = ["main"]

CHECK_REGIONS = REPO_ROOT / "scripts" / "check-regions"


def _arguments(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo ARGS=...", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="run the Region check, print PASS/FAIL and exit")
    parser.add_argument("--zip", type=Path, help="run the function from this deployment zip (python -I -S)")
    parser.add_argument("--client-region", action="append", choices=sorted(POPS),
                        help="where a client is (repeatable; default: eu-west-2 and us-east-2)")
    parser.add_argument("--region", action="append", dest="regions", choices=sorted(POPS),
                        help="a Region with a bucket behind the MRAP (repeatable; default: eu-west-2 and us-east-2)")
    parser.add_argument("--failover-region", default="us-east-2", choices=sorted(POPS),
                        help="the origin group's secondary bucket")
    parser.add_argument("--count", type=int, default=3, help="requests per client in the Region check")
    parser.add_argument("--record", type=Path, metavar="DIR", help="write every origin-request event as JSON here")
    parser.add_argument("--template", type=Path, help="distribution settings (default: cloudformation.template)")
    parser.add_argument("--function-workers", type=int, default=DEFAULT_MAX_WORKERS,
                        help=f"execution environments per edge location, at most (default {DEFAULT_MAX_WORKERS})")
    parser.error = lambda message: _usage_error(parser, message)  # type: ignore[method-assign]
    args = parser.parse_args(argv)
    _check_arguments(parser, args)
    return args


def _usage_error(parser: argparse.ArgumentParser, message: str) -> None:
    """Bad input is one line and exit status 2 (argparse would print the whole usage first)."""
    sys.stderr.write(f"{parser.prog}: error: {message}\n")
    sys.exit(2)


def _check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    regions = args.regions or ["eu-west-2", "us-east-2"]
    if args.failover_region is not None and args.failover_region not in regions:
        parser.error(f"argument --failover-region: {args.failover_region} has no bucket (the Regions with one: "
                     f"{', '.join(regions)})")
    if args.template is not None and not args.template.is_file():
        parser.error(f"argument --template: no such file: {args.template}")
    if args.zip is not None and not args.zip.is_file():
        parser.error(f"argument --zip: no such file: {args.zip}")
    if args.count < 1 or args.function_workers < 1:
        parser.error("arguments --count and --function-workers: must be at least 1")
    if args.record is not None:
        try:
            args.record.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=args.record):
                pass
        except OSError as error:
            parser.error(f"argument --record: unable to write in {args.record}: {error.strerror or error}")


def _say(message: str) -> None:
    print(message, flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _arguments(argv)
    regions = tuple(args.regions or ("eu-west-2", "us-east-2"))
    options = StackOptions(
        regions=regions,
        client_regions=tuple(args.client_region or regions),
        failover_region=args.failover_region,
        zip_path=args.zip,
        template=args.template,
        record_dir=args.record,
        function_workers=args.function_workers,
    )
    _say("mrap-edge local demo: curl -> CloudFront stand-in -> edge function -> MRAP stand-in -> regional bucket")
    stack = LocalStack(options, progress=_say)
    try:
        stack.start()  # stops what it started if it fails or is interrupted
    except KeyboardInterrupt:
        _say("interrupted while starting; stopped")
        return 130
    except Exception as error:
        _say(f"FAIL: unable to start the local stack: {error}")
        return 1
    try:
        _say(f"started in {stack.timings['total']:.0f} ms")
        _print_curl_commands(stack)
        passed = _region_check(stack, args.count)
        _print_function_log(stack)
        _print_numbers(stack)
        _say("PASS" if passed else "FAIL")
        if args.check:
            return 0 if passed else 1
        _wait_for_interrupt()
        return 0 if passed else 1
    except KeyboardInterrupt:  # Ctrl-C before the wait: same clean stop
        return 130
    finally:
        _say("stopping...")
        stack.stop()
        _say("stopped")


def _print_curl_commands(stack: LocalStack) -> None:
    _say("\ntry it (each port is one CloudFront edge location):")
    for region in stack.client_regions():
        pop = POPS[region]
        _say(f"  # a client in {region} ({pop.city}, {pop.code})")
        _say(f"  curl -sS -D - -o /dev/null '{stack.url(region, '/images/red.png')}'")
        _say(f"  curl -sS '{stack.url(region, '/' + PROBE_KEY)}'")
    first = stack.client_regions()[0]
    awkward = stack.url(first, "/photos/summer%20holiday%202024.png")
    _say(f"  curl -sS -D - -o /dev/null -H 'Range: bytes=0-15' '{awkward}'")
    _say(f"  scripts/check-regions --count 3 --region {first} '{stack.cloudfront.url(first)}'")


def _region_check(stack: LocalStack, count: int) -> bool:
    """Each client requests the probe `count` times; PASS needs 200s from the nearest Region's bucket."""
    assert stack.mrap is not None and stack.cloudfront is not None
    routing = stack.mrap.routing.current
    results: List[ProbeResult] = []
    for region in stack.client_regions():
        nearest = routing.choose(region)
        latencies = ", ".join(f"{r} {ms} ms" for r, ms in routing.ranked(region))
        _say(f"\nRegion check from a client in {region} ({POPS[region].code}); latency to buckets: {latencies}; "
             f"nearest: {nearest}")
        if os.access(CHECK_REGIONS, os.X_OK):
            base = stack.cloudfront.url(region)
            _say(f"$ scripts/check-regions --count {count} --region {region} {base}")
            subprocess.run([str(CHECK_REGIONS), "--count", str(count), "--region", region, base], check=False)
        results += [curl_probe(stack.cloudfront.url(region), region) for _ in range(count)]
    _say("\nwhich bucket served (curl, per request):")
    _say(format_table(results))
    wrong = [r for r in results if r.status != 200 or r.bucket_region != routing.choose(r.client_region)]
    counts = stack.mrap.counts
    unverified = [region for region in {routing.choose(r) for r in stack.client_regions()}
                  if region and counts[region].verified == 0]
    for r in wrong:
        _say(f"  wrong: client {r.client_region} got {r.status} from {r.bucket_region}")
    for region in unverified:
        _say(f"  wrong: no verified signature in {region}")
    return not wrong and not unverified


def _print_function_log(stack: LocalStack) -> None:
    """For the requests that were not served, the function's own log lines and how each invocation failed."""
    assert stack.cloudfront is not None
    failed = {s.request_id for s in stack.cloudfront.served if s.status >= 400}
    lines: Dict[str, int] = {}
    for invocation in stack.cloudfront.invocations:
        if invocation.request_id not in failed:
            continue
        pop = POPS[invocation.pop_region].code
        reason = (f"{invocation.outcome}: {invocation.error}",) if invocation.outcome != "ok" else ()
        for line in invocation.logs + reason:
            key = f"{pop} environment {invocation.worker}: {line}"
            lines[key] = lines.get(key, 0) + 1
    if not lines:
        return
    _say(f"\nthe function's log for the {len(failed)} requests that failed:")
    for line, count in lines.items():
        _say(f"  {line}" + (f"  (x{count})" if count > 1 else ""))


def _print_numbers(stack: LocalStack) -> None:
    assert stack.mrap is not None and stack.cloudfront is not None
    _say("\nMRAP stand-in (S3's checks, per Region):")
    for region, counts in stack.mrap.counts.items():
        _say(f"  {region}: signature verified {counts.verified}, refused {counts.refused}")
    invocations = [i for i in stack.cloudfront.invocations if i.outcome == "ok"]
    if invocations:
        times = sorted(i.ms for i in invocations)
        _say(f"function: {len(times)} invocations, median {statistics.median(times):.2f} ms, "
             f"max {times[-1]:.2f} ms in the handler")
    for region, invoker in stack.invokers.items():
        colds = ", ".join(f"{number}: {ms:.0f} ms" for number, ms in invoker.cold_starts)
        _say(f"  at {POPS[region].code}: {invoker.workers_started} execution environments started (at most "
             f"{invoker.max_workers} at once); cold starts {colds}")
    if stack.cloudfront.record_dir is not None:
        _say(f"recorded {stack.cloudfront.recorded_events} origin-request events in {stack.cloudfront.record_dir}"
             f" (the first {stack.cloudfront.recorded_events_limit} at most)")
    served = [s.total_ms for s in stack.cloudfront.served]
    if served:
        _say(f"CloudFront stand-in: {len(served)} requests, median {statistics.median(served):.1f} ms end to end")
    timings: Dict[str, float] = stack.timings
    _say("start-up: " + ", ".join(f"{k} {v:.0f} ms" for k, v in timings.items()))


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    _say("\nserving until Ctrl-C")
    while not stop.wait(1.0):
        pass


if __name__ == "__main__":
    sys.exit(main())
