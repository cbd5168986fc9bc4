"""`make demo`: the whole request path on one machine, curl -> CloudFront stand-in -> the function -> MRAP stand-in
(SigV4A checked like S3) -> the nearest Region's bucket, for clients in London and Ohio.

    python -m infra.local.demo [--check] [--zip PATH] [--client-region R ...] [--count N] [--record DIR]
                               [--signed-urls] [--brownfield] [--latency] [--replication-lag S] [--native]
                               [--missing-keys 403|404]

--native: the template's native mode (NativeMode=true): no function; CloudFront's origin access control signs for
the MRAP with SigV4A, and the MRAP stand-in checks it against the MRAP policy's statement for CloudFront.
--missing-keys 404: the template's MissingKeys=404 (the function role may list, so a missing key is 404).

--brownfield: London's bucket holds the objects and Ohio's starts empty; the demo shows the Houston colleague's
first deploy (Ohio passive, the backfill with its progress, Ohio active). --latency: the modelled network delay is
slept, and a table compares a presigned URL to the London bucket with CloudFront, for London and Houston.

Without --check it stays up until Ctrl-C. With --check it runs the Region check and exits: PASS (0) when every
client was served by its nearest Region's bucket and every Region saw verified signatures, FAIL (1) otherwise.
With --signed-urls the behaviour requires CloudFront signed URLs or cookies, with a throwaway key pair made for
this run (removed at exit); the demo prints signed curl commands and its own probes are signed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from infra.local.cloudfront.settings import DistributionSettings, load_settings
from infra.local.function.invoker import DEFAULT_MAX_WORKERS, REPO_ROOT
from infra.local.probe import ProbeResult, curl_probe, format_table
from infra.local.regions import BUCKET_REGIONS, HOUSTON, POPS
from infra.local.s3.estate import brownfield_estate
from infra.local.samples import PROBE_KEY
from infra.local.stack import LocalStack, StackOptions
from infra.local.stories import LONDON, brownfield_story, estate_reads, estate_replicas, latency_table
from signedlinks import LinkSigner
from signedlinks.keys import generate_key_pair

__all__ = ["main"]

# With --signed-urls: the distribution with a key group, the signer of the throwaway key, and its private key file.
Signing = Tuple[DistributionSettings, LinkSigner, Path]
CHECK_REGIONS = REPO_ROOT / "scripts" / "check-regions"


def _arguments(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo ARGS=...", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="run the Region check, print PASS/FAIL and exit")
    parser.add_argument("--zip", type=Path, help="run the function from this deployment zip (python -I -S)")
    parser.add_argument("--client-region", action="append", choices=sorted(POPS),
                        help="where a client is (repeatable; default: eu-west-2 and us-east-2)")
    parser.add_argument("--region", action="append", dest="regions", choices=sorted(BUCKET_REGIONS),
                        help="a Region with a bucket behind the MRAP (repeatable; default: eu-west-2 and us-east-2)")
    parser.add_argument("--failover-region", default=None,
                        help="the origin group's secondary bucket (default: the one the template's failover origin "
                             "names, its first bucket: the first Region)")
    parser.add_argument("--count", type=int, default=3, help="requests per client in the Region check")
    parser.add_argument("--record", type=Path, metavar="DIR", help="write every origin-request event as JSON here")
    parser.add_argument("--template", type=Path, help="distribution settings (default: cloudformation.template)")
    parser.add_argument("--signed-urls", action="store_true",
                        help="require CloudFront signed URLs/cookies, with a throwaway key pair for this run")
    parser.add_argument("--app", action="store_true",
                        help="serve the example app (examples/app) beside the stack; implies --signed-urls")
    parser.add_argument("--brownfield", action="store_true",
                        help="the first Region's bucket holds the objects, the others start empty and passive "
                             "until the backfill; shows the Houston colleague's story")
    parser.add_argument("--latency", action="store_true",
                        help="sleep the modelled network round trips and print the presigned-URL vs CloudFront "
                             "table (figures are modelled, not measured)")
    parser.add_argument("--replication-lag", type=float, default=0.0, metavar="SECONDS",
                        help="how long after a write replication copies it to the other buckets (default 0)")
    parser.add_argument("--native", action="store_true",
                        help="native mode (NativeMode=true): CloudFront signs with its SigV4A origin access control, "
                             "no function runs")
    parser.add_argument("--missing-keys", choices=("403", "404"), default=None,
                        help="the template's MissingKeys: what a key missing from the nearest bucket answers "
                             "(default: the template's, 403)")
    parser.add_argument("--function-workers", type=int, default=DEFAULT_MAX_WORKERS,
                        help=f"execution environments per edge location, at most (default {DEFAULT_MAX_WORKERS})")
    parser.error = lambda message: _usage_error(parser, message)  # type: ignore[method-assign]
    args = parser.parse_args(argv)
    args.signed_urls = args.signed_urls or args.app
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


def _stack_parameters(args: argparse.Namespace) -> Dict[str, str]:
    """The template parameters the options stand for."""
    parameters = {"NativeMode": "true"} if args.native else {}
    if args.missing_keys is not None:
        parameters["MissingKeys"] = args.missing_keys
    return parameters


def _say(message: str) -> None:
    print(message, flush=True)


def _stack_options(args: argparse.Namespace, parameters: Dict[str, str],
                   signing: Optional[Signing]) -> StackOptions:
    regions = tuple(args.regions or ("eu-west-2", "us-east-2"))
    clients = tuple(args.client_region or regions)
    if args.brownfield or args.latency:  # the stories' colleagues are in London and Houston
        clients += tuple(c for c in (LONDON, HOUSTON) if c not in clients)
    return StackOptions(
        regions=regions,
        client_regions=clients,
        failover_region=args.failover_region,
        zip_path=args.zip,
        template=args.template,
        record_dir=args.record,
        settings=signing[0] if signing else None,
        brownfield=args.brownfield,
        estate=brownfield_estate() if args.brownfield else None,
        network_delay=args.latency,
        replication_lag_s=args.replication_lag,
        function_workers=args.function_workers,
        parameters=parameters,
    )


def _show(stack: LocalStack, args: argparse.Namespace, signing: Optional[Signing]) -> bool:
    """What the demo prints and checks on a started stack; whether everything passed."""
    _say(f"started in {stack.timings['total']:.0f} ms")
    _print_curl_commands(stack)
    if signing:
        _print_signed_curl_commands(stack, signing[1], signing[2])
    if args.app and signing:
        from examples.app.local import start_beside
        app_server = start_beside(stack, signing[1].key_pair_id, signing[2])
        _say(f"\nthe example app: {app_server.url()}/ (signed URLs), {app_server.url()}/cookies (signed cookies)")
    told = True
    if args.brownfield:
        told &= estate_reads(stack, _say)
        told &= brownfield_story(stack, _say)
        told &= estate_replicas(stack, _say)
    if args.brownfield or args.latency:
        told &= latency_table(stack, _say)
    passed = _region_check(stack, args.count, signing[1] if signing else None) and told
    _print_function_log(stack)
    _print_numbers(stack)
    _say("PASS" if passed else "FAIL")
    return passed


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _arguments(argv)
    if args.signed_urls and (args.brownfield or args.latency):  # the stories' links are unsigned, as the app's were
        sys.stderr.write("make demo ARGS=...: error: --signed-urls does not go with --brownfield or --latency\n")
        return 2
    parameters = _stack_parameters(args)
    signing = _throwaway_signing(args.template, parameters) if args.signed_urls else None
    options = _stack_options(args, parameters, signing)
    signer = "CloudFront's SigV4A origin access control (native mode)" if args.native else "edge function"
    _say(f"mrap-edge local demo: curl -> CloudFront stand-in -> {signer} -> MRAP stand-in -> regional bucket")
    try:
        stack = LocalStack(options, progress=_say)
    except ValueError as error:  # options no stack can start from: one line, as for other bad input
        sys.stderr.write(f"make demo ARGS=...: error: {error}\n")
        return 2
    try:
        stack.start()  # stops what it started if it fails or is interrupted
    except KeyboardInterrupt:
        _say("interrupted while starting; stopped")
        return 130
    except Exception as error:
        _say(f"FAIL: unable to start the local stack: {error}")
        return 1
    try:
        passed = _show(stack, args, signing)
        if args.check:
            return 0 if passed else 1
        _wait_for_interrupt()
        return 0 if passed else 1
    except KeyboardInterrupt:  # Ctrl-C before the wait: same clean stop
        return 130
    finally:
        _say("stopping...")
        stack.stop()
        if signing:
            shutil.rmtree(signing[2].parent, ignore_errors=True)  # the throwaway key goes with the run
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


def _throwaway_signing(template: Optional[Path], parameters: Dict[str, str]) -> Signing:
    """A key pair for this run only (private key 0600 in a private temporary directory), its public key in the
    template's first key slot, and a signer for it under the stand-in's id for that key."""
    key_files = generate_key_pair(Path(tempfile.mkdtemp(prefix="mrap-edge-demo-key-")) / "demo-signing-key")
    settings = load_settings(template, parameters={**parameters, "SignedUrlPublicKey1": key_files.public_pem})
    if not settings.trusted_keys:
        raise SystemExit("FAIL: the template has no SignedUrlPublicKey1 key slot on the default behaviour")
    key_pair_id = settings.trusted_keys[0][0]
    return settings, LinkSigner.from_pem_file(key_pair_id, key_files.private_key), key_files.private_key


def _print_signed_curl_commands(stack: LocalStack, signer: LinkSigner, private_key: Path) -> None:
    first = stack.client_regions()[0]
    image = stack.url(first, "/images/red.png")
    wildcard = stack.url(first, "/images/*")
    cookies = "; ".join(f"{k}={v}" for k, v in signer.cookies(wildcard, expires_in=3600).items())
    _say(f"\nsigned URLs are required (key pair id {signer.key_pair_id}, throwaway key {private_key}):")
    _say("  # refused: no signature (403 MissingKey)")
    _say(f"  curl -sS '{image}'")
    _say("  # accepted: canned policy, valid for an hour")
    _say(f"  curl -sS -D - -o /dev/null '{signer.url(image, expires_in=3600)}'")
    _say("  # accepted: custom policy, this machine's address only")
    _say(f"  curl -sS -D - -o /dev/null '{signer.url(image, expires_in=3600, ip_range='127.0.0.1/32')}'")
    _say("  # refused: custom policy for another address range (403 AccessDenied)")
    _say(f"  curl -sS '{signer.url(image, expires_in=3600, ip_range='192.0.2.0/24')}'")
    _say("  # accepted: signed cookies for every image")
    _say(f"  curl -sS -D - -o /dev/null -b '{cookies}' '{image}'")
    _say(f"  scripts/sign-url --key-pair-id {signer.key_pair_id} --private-key {private_key} --expires-in 600 "
         f"'{stack.url(first, '/index.txt')}'")


def _region_check(stack: LocalStack, count: int, signer: Optional[LinkSigner] = None) -> bool:
    """Each client requests the probe `count` times; PASS needs 200s from the nearest Region's bucket. With a
    `signer` the probes are signed URLs (and scripts/check-regions, which sends unsigned ones, is skipped)."""
    assert stack.mrap is not None and stack.cloudfront is not None
    routing = stack.mrap.routing.current
    results: List[ProbeResult] = []
    for region in stack.client_regions():
        nearest = routing.choose(region)
        latencies = ", ".join(f"{r} {ms} ms" for r, ms in routing.ranked(region))
        _say(f"\nRegion check from a client in {region} ({POPS[region].code}); latency to buckets: {latencies}; "
             f"nearest: {nearest}")
        if os.access(CHECK_REGIONS, os.X_OK) and signer is None:
            base = stack.cloudfront.url(region)
            _say(f"$ scripts/check-regions --count {count} --region {region} {base}")
            subprocess.run([str(CHECK_REGIONS), "--count", str(count), "--region", region, base], check=False)
        base = stack.cloudfront.url(region)
        path = "/" + PROBE_KEY
        if signer is not None:
            path = signer.url(base + path, expires_in=600)[len(base):]
        results += [curl_probe(base, region, path) for _ in range(count)]
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
        _say(f"  {region}: signature verified {counts.verified} (of which 403 AccessDenied {counts.denied}), "
             f"refused {counts.refused}")
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
