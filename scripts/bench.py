"""Benchmark: the handler against the floor (one raw ECDSA P-256 signature) and against a naive signer, in one run.

    make bench            # or: python -m scripts.bench [--rounds N] [--strict]

Every figure comes from this one run on this machine, and the comparisons are ratios, so they carry over to other
machines better than absolute times do. Batches of the three contenders are interleaved so that drift in the
machine's speed affects all of them alike. Cold starts run in fresh interpreters, each measured several times.

The naive signer does what the 2023 AWS sample does per request: build a boto3 Session, read its credentials and
sign with botocore's CrtS3SigV4AsymAuth. It is written here as a baseline and is not part of the function.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "fixtures" / "events"
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "ASIAQNZGKIQY56JQ7WML",
    "AWS_SECRET_ACCESS_KEY": "29NkV8TqyLDTbFyLvZ5Sa1Dn0bmhN3ggWbeeXCd4",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEEXAMPLEc2Vzc2lvbi10b2tlbg==" * 8,  # real tokens are ~1 KB
    "AWS_REGION": "us-east-1",
}
TARGETS = {"warm_vs_floor": 1.5, "naive_vs_warm": 100.0, "cold_vs_naive_cold": 0.5, "peak_rss_mb": 128.0}

NAIVE_SIGNER = '''
import boto3
from botocore.awsrequest import AWSRequest
from botocore.crt.auth import CrtS3SigV4AsymAuth

def naive_handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    host = request["origin"]["custom"]["domainName"]
    session = boto3.Session()
    aws_request = AWSRequest(method=request["method"], url="https://" + host + request["uri"],
                             headers={"host": host, "x-amz-cf-id": event["Records"][0]["cf"]["config"]["requestId"]})
    CrtS3SigV4AsymAuth(session.get_credentials(), "s3", "*").add_auth(aws_request)
    for name, value in aws_request.headers.items():
        if name.lower() != "x-amz-cf-id":
            request["headers"][name.lower()] = [{"key": name, "value": value}]
    return request
'''

# Peak RSS is read from VmHWM: ru_maxrss would carry over the parent's peak across fork and exec.
COLD_START = '''
import json, sys, time
start = time.perf_counter()
{import_line}
event = json.loads(sys.argv[1])
result = {handler}(event, None)
cold = time.perf_counter() - start
assert "authorization" in result["headers"], result
for _ in range({warm_requests}):
    {handler}(json.loads(sys.argv[1]), None)
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(json.dumps({{"cold_s": cold, "peak_rss_kb": int(hwm.split()[1])}}))
'''


def _load(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


def _time_batch(call: Callable[[], object], count: int, into: List[float]) -> None:
    clock = time.perf_counter_ns
    for _ in range(count):
        start = clock()
        call()
        into.append((clock() - start) / 1000.0)


def _percentile(samples: List[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cold_start(import_line: str, handler: str, event: dict, warm_requests: int) -> Dict[str, float]:
    script = COLD_START.format(import_line=import_line, handler=handler, warm_requests=warm_requests)
    env = dict(os.environ, PYTHONPATH=str(ROOT), **FAKE_ENV)
    done = subprocess.run([sys.executable, "-c", script, json.dumps(event)], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(rounds: int, cold_runs: int) -> Dict[str, float]:
    os.environ.update(FAKE_ENV)
    sys.path.insert(0, str(ROOT))
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from edge.handler import lambda_handler
    from edge.signing import Signer, credentials_from_environment

    namespace: dict = {}
    exec(NAIVE_SIGNER, namespace)  # noqa: S102 - our own baseline source, kept as text for the cold-start child
    naive_handler = namespace["naive_handler"]

    plain, encoded, awkward = _load("mrap-get"), _load("mrap-get"), _load("mrap-key-unicode")
    # A non-ASCII key as browsers send it (UTF-8, upper-case escapes), with a version and a tracking parameter
    encoded["Records"][0]["cf"]["request"]["uri"] = "/fotos/%C3%BCber/caf%C3%A9/%E5%86%99%E7%9C%9F.png"
    encoded["Records"][0]["cf"]["request"]["querystring"] = "versionId=3HL4kqtJlcpXroDTDmJ%2Bnrn&utm_source=x"
    # The worst case: raw unicode, lower-case escapes and reserved characters, all re-encoded
    awkward["Records"][0]["cf"]["request"]["uri"] = "/fotos/%c3%bcber/café/写真 (1)+!.png"
    awkward["Records"][0]["cf"]["request"]["querystring"] = "versionId=3HL4kqtJlcpXroDTDmJ+nrn&utm_source=x"
    key = ec.generate_private_key(ec.SECP256R1())
    # The signing library's own share: one awscrt SigV4A signature of the same request, with nothing of ours around it.
    signer = Signer(credentials_from_environment())
    crt_headers = [("host", "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"), ("x-amz-cf-id", "x" * 56)]
    # A string to sign is ~150 bytes: algorithm, date, scope and a hex digest.
    string_to_sign = b"AWS4-ECDSA-P256-SHA256\n20261122T000000Z\n20261122/s3/aws4_request\n" + b"0" * 64
    contenders: Dict[str, Callable[[], object]] = {
        "floor": lambda: key.sign(string_to_sign, ec.ECDSA(hashes.SHA256())),
        "awscrt": lambda: signer.sign("GET", "/images/cat.jpg", crt_headers, time.time()),
        "handler": lambda: lambda_handler(plain, None),
        "handler_encoded": lambda: lambda_handler(encoded, None),
        "handler_awkward": lambda: lambda_handler(awkward, None),
        "naive": lambda: naive_handler(json.loads(json.dumps(plain)), None),
    }
    batch = {"floor": 200, "awscrt": 200, "handler": 200, "handler_encoded": 200, "handler_awkward": 200,
             "naive": 8}
    samples: Dict[str, List[float]] = {name: [] for name in contenders}
    for call in contenders.values():  # warm up caches, lazy imports, the per-container signer
        for _ in range(20):
            call()
    for _ in range(rounds):
        for name, call in contenders.items():
            _time_batch(call, batch[name], samples[name])

    ours_cold, naive_cold = [], []
    for _ in range(cold_runs):  # interleaved, like the warm batches
        ours_cold.append(_cold_start("from edge.handler import lambda_handler", "lambda_handler", plain, 500))
        naive_cold.append(_cold_start(NAIVE_SIGNER, "naive_handler", plain, 50))
    result = {f"{name}_p50_us": _percentile(values, 0.50) for name, values in samples.items()}
    result.update({f"{name}_p99_us": _percentile(values, 0.99) for name, values in samples.items()})
    result.update({f"{name}_samples": float(len(values)) for name, values in samples.items()})
    result["ours_cold_ms"] = statistics.median(run["cold_s"] for run in ours_cold) * 1000
    result["naive_cold_ms"] = statistics.median(run["cold_s"] for run in naive_cold) * 1000
    result["ours_peak_rss_mb"] = max(run["peak_rss_kb"] for run in ours_cold) / 1024
    result["naive_peak_rss_mb"] = max(run["peak_rss_kb"] for run in naive_cold) / 1024
    return result


def report(r: Dict[str, float]) -> List[str]:
    from importlib.metadata import version

    ratios = {
        "warm_vs_floor": r["handler_p50_us"] / r["floor_p50_us"],
        "naive_vs_warm": r["naive_p50_us"] / r["handler_p50_us"],
        "cold_vs_naive_cold": r["ours_cold_ms"] / r["naive_cold_ms"],
        "peak_rss_mb": r["ours_peak_rss_mb"],
    }
    ok = {
        "warm_vs_floor": ratios["warm_vs_floor"] <= TARGETS["warm_vs_floor"],
        "naive_vs_warm": ratios["naive_vs_warm"] >= TARGETS["naive_vs_warm"],
        "cold_vs_naive_cold": ratios["cold_vs_naive_cold"] <= TARGETS["cold_vs_naive_cold"],
        "peak_rss_mb": ratios["peak_rss_mb"] <= TARGETS["peak_rss_mb"],
    }
    mark = {True: "PASS", False: "FAIL"}
    lines = [
        f"mrap-edge benchmark: Python {platform.python_version()}, awscrt {version('awscrt')}, "
        f"cryptography {version('cryptography')}, {platform.machine()}, {os.cpu_count()} CPUs",
        "",
        "| measurement | p50 | p99 | ratio |",
        "|---|---:|---:|---:|",
        f"| raw ECDSA P-256 signature (floor) | {r['floor_p50_us']:.1f} µs | {r['floor_p99_us']:.1f} µs | 1.00× |",
        f"| awscrt SigV4A signature alone (Signer.sign) | {r['awscrt_p50_us']:.1f} µs | {r['awscrt_p99_us']:.1f} µs "
        f"| {r['awscrt_p50_us'] / r['floor_p50_us']:.2f}× floor |",
        f"| handler, plain key | {r['handler_p50_us']:.1f} µs | {r['handler_p99_us']:.1f} µs "
        f"| {ratios['warm_vs_floor']:.2f}× floor |",
        f"| handler, percent-encoded unicode key + query | {r['handler_encoded_p50_us']:.1f} µs "
        f"| {r['handler_encoded_p99_us']:.1f} µs | {r['handler_encoded_p50_us'] / r['floor_p50_us']:.2f}× floor |",
        f"| handler, key + query to re-encode (raw unicode, lower-case escapes, `+`, `( ) !`) "
        f"| {r['handler_awkward_p50_us']:.1f} µs | {r['handler_awkward_p99_us']:.1f} µs "
        f"| {r['handler_awkward_p50_us'] / r['floor_p50_us']:.2f}× floor |",
        f"| naive: boto3 Session + CrtS3SigV4AsymAuth per request | {r['naive_p50_us'] / 1000:.2f} ms "
        f"| {r['naive_p99_us'] / 1000:.2f} ms | {ratios['naive_vs_warm']:.0f}× slower than the handler |",
        f"| cold start (fresh interpreter: import + first request) | ours {r['ours_cold_ms']:.0f} ms "
        f"| naive {r['naive_cold_ms']:.0f} ms | {ratios['cold_vs_naive_cold']:.2f}× naive |",
        f"| peak RSS (interpreter + 500 requests) | ours {r['ours_peak_rss_mb']:.1f} MB "
        f"| naive {r['naive_peak_rss_mb']:.1f} MB | {r['ours_peak_rss_mb'] / r['naive_peak_rss_mb']:.2f}× naive |",
        "",
        f"samples: floor {r['floor_samples']:.0f}, handler {r['handler_samples']:.0f}, naive {r['naive_samples']:.0f}",
        "",
        f"target warm p50 <= {TARGETS['warm_vs_floor']}x floor: {ratios['warm_vs_floor']:.2f}x "
        f"{mark[ok['warm_vs_floor']]}",
        f"target >= {TARGETS['naive_vs_warm']:.0f}x faster than naive: {ratios['naive_vs_warm']:.0f}x "
        f"{mark[ok['naive_vs_warm']]}",
        f"target cold start <= {TARGETS['cold_vs_naive_cold']}x naive: {ratios['cold_vs_naive_cold']:.2f}x "
        f"{mark[ok['cold_vs_naive_cold']]}",
        f"target peak RSS <= {TARGETS['peak_rss_mb']:.0f} MB: {ratios['peak_rss_mb']:.1f} MB {mark[ok['peak_rss_mb']]}",
    ]
    lines.append("ALL TARGETS MET" if all(ok.values()) else "SOME TARGETS MISSED")
    return lines


# Instruction counts do not depend on what else the machine is doing: a steadier second opinion on the ratios.
INSTRUCTIONS = '''
import json, os, sys, time
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from edge import handler
event = json.loads(sys.argv[3])
key = ec.generate_private_key(ec.SECP256R1())
message = b"A" * 150
headers = [("host", "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"), ("x-amz-cf-id", "x" * 56)]
calls = {
    "floor": lambda: key.sign(message, ec.ECDSA(hashes.SHA256())),
    "awscrt": lambda: handler.RUNTIME.signer().sign("GET", "/images/cat.jpg", headers, time.time()),
    "handler": lambda: handler.lambda_handler(event, None),
}
call = calls[sys.argv[1]]
for _ in range(20):  # the same warm-up whatever the count, so that it cancels out
    for warm in calls.values():
        warm()
for _ in range(int(sys.argv[2])):
    call()
'''


def _instructions(name: str, count: int, event: dict) -> int:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **FAKE_ENV)
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c",
                           INSTRUCTIONS, name, str(count), json.dumps(event)],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    refs = [line for line in done.stderr.splitlines() if "refs:" in line][-1]
    return int(refs.split()[-1].replace(",", ""))


def instruction_ratios(count: int = 1000) -> List[str]:
    """Instructions per call (callgrind), each as the difference between `count` calls and none."""
    if shutil.which("valgrind") is None:
        return ["instructions: valgrind is not installed (apt-get install valgrind)"]
    event = _load("mrap-get")
    per_call = {name: (_instructions(name, count, event) - _instructions(name, 0, event)) / count
                for name in ("floor", "awscrt", "handler")}
    floor = per_call["floor"]
    return ["instructions per call (callgrind): " + ", ".join(
        f"{name} {value / 1000:.0f}k ({value / floor:.2f}× floor)" for name, value in per_call.items())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=25, help="interleaved rounds of warm batches")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh interpreters per contender")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per call with valgrind, a ratio that machine load cannot move")
    args = parser.parse_args()
    figures = run(args.rounds, args.cold_runs)
    lines = report(figures)
    print("\n".join(lines))
    if args.instructions:
        print("\n".join(instruction_ratios()))
    if args.json:
        print(json.dumps(figures, indent=2))
    return 1 if args.strict and lines[-1] != "ALL TARGETS MET" else 0


if __name__ == "__main__":
    sys.exit(main())
