"""Benchmark: the handler against its floors, warm and cold, and against a naive signer, in one run.

    make bench            # or: python -m scripts.bench [--rounds N] [--strict] [--zip PATH] [--python PATH]

Warm: the floor is one raw ECDSA P-256 signature made with `cryptography` (the one operation SigV4A cannot do
without). Cold: the floor is the target runtime's interpreter importing `_awscrt`, which is what any awscrt signer
pays before it signs anything; it is measured on the python3.13 deployment zip under CPython 3.13 run as
`python -I -S -B` (as Lambda runs it: isolated, over a read-only code directory), in callgrind instructions, broken
down step by step, with and without the zip's .pyc files.

Every figure comes from this one run on this machine, and the comparisons are ratios. Instruction counts do not move
with the machine's load; wall-clock figures do, and are labelled so. Batches of the warm contenders are interleaved so
that drift in the machine's speed affects all of them alike.

Only the function's public entry points are driven (`edge.handler.lambda_handler` with an event and the credentials
in the environment, `edge.signing.Signer`), so the bench measures whatever edge/ is, however it is arranged inside.
The naive signer does what the 2023 AWS sample does per request: build a boto3 Session, read its credentials and
sign with botocore's CrtS3SigV4AsymAuth. It is written here as a baseline and is not part of the function.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "fixtures" / "events"
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "ASIAQNZGKIQY56JQ7WML",
    "AWS_SECRET_ACCESS_KEY": "29NkV8TqyLDTbFyLvZ5Sa1Dn0bmhN3ggWbeeXCd4",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEEXAMPLEc2Vzc2lvbi10b2tlbg==" * 8,  # real tokens are ~1 KB
    "AWS_REGION": "us-east-1",
}
TARGETS = {
    "warm_vs_floor": 1.5,  # wall clock, p50
    "warm_instructions_vs_floor": 1.35,
    "cold_instructions_vs_floor": 1.15,
    "naive_vs_warm": 100.0,
    "cold_vs_naive_cold": 0.5,
    "peak_rss_mb": 128.0,
}
COLD_RUNTIME = "python3.13"  # the packaging default, and what the function is deployed with
# The cold start's environment: what Lambda sets that the interpreter or awscrt read, and nothing of the builder's.
# It matters: with SSL_CERT_FILE set (as on many build machines, not on Lambda) `import _awscrt` reads that CA bundle,
# about 59 M instructions more.
LAMBDA_ENV = {**FAKE_ENV, "LANG": "C.UTF-8", "TZ": ":UTC"}

NAIVE_SIGNER = """
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
"""

# Peak RSS is read from VmHWM: ru_maxrss would carry over the parent's peak across fork and exec.
COLD_START = """
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
"""

# The message a SigV4A string to sign is about as long as: algorithm, date, scope and a hex digest.
STRING_TO_SIGN = b"AWS4-ECDSA-P256-SHA256\n20261122T000000Z\n20261122/s3/aws4_request\n" + b"0" * 64
MRAP_HOST = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"


def _load(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


def ecdsa_floor() -> Callable[[], bytes]:
    """One ECDSA P-256 signature with SHA-256 over a string-to-sign-sized message: the warm floor.

    The key and the signature algorithm object are made once, as a signer that keeps its key would; building
    `ec.ECDSA(hashes.SHA256())` at each call would add its own cost to the floor and flatter every ratio to it."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    algorithm = ec.ECDSA(hashes.SHA256())
    return lambda: key.sign(STRING_TO_SIGN, algorithm)


def awscrt_alone() -> Callable[[], object]:
    """One awscrt SigV4A signature of a plain request through the function's own Signer, nothing else around it."""
    from edge.signing import Signer, credentials_from_environment

    signer = Signer(credentials_from_environment())
    headers = [("host", MRAP_HOST), ("x-amz-cf-id", "x" * 56)]
    return lambda: signer.sign("GET", "/images/cat.jpg", headers, time.time())


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
    from edge.handler import lambda_handler

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
    contenders: Dict[str, Callable[[], object]] = {
        "floor": ecdsa_floor(),
        "awscrt": awscrt_alone(),
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


MARK = {True: "PASS", False: "FAIL"}


def report(r: Dict[str, float]) -> Tuple[List[str], Dict[str, bool]]:
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
    lines = [
        f"## Warm, wall clock (noisy: {_load_note()})",
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
        f"| cold start, host Python from the source tree (import + first request) | ours {r['ours_cold_ms']:.0f} ms "
        f"| naive {r['naive_cold_ms']:.0f} ms | {ratios['cold_vs_naive_cold']:.2f}× naive |",
        f"| peak RSS (interpreter + 500 requests) | ours {r['ours_peak_rss_mb']:.1f} MB "
        f"| naive {r['naive_peak_rss_mb']:.1f} MB | {r['ours_peak_rss_mb'] / r['naive_peak_rss_mb']:.2f}× naive |",
        "",
        f"samples: floor {r['floor_samples']:.0f}, handler {r['handler_samples']:.0f}, naive {r['naive_samples']:.0f}",
        "",
        f"target warm p50 <= {TARGETS['warm_vs_floor']}x floor: {ratios['warm_vs_floor']:.2f}x "
        f"{MARK[ok['warm_vs_floor']]}",
        f"target >= {TARGETS['naive_vs_warm']:.0f}x faster than naive: {ratios['naive_vs_warm']:.0f}x "
        f"{MARK[ok['naive_vs_warm']]}",
        f"target cold start <= {TARGETS['cold_vs_naive_cold']}x naive: {ratios['cold_vs_naive_cold']:.2f}x "
        f"{MARK[ok['cold_vs_naive_cold']]}",
        f"target peak RSS <= {TARGETS['peak_rss_mb']:.0f} MB: {ratios['peak_rss_mb']:.1f} MB {MARK[ok['peak_rss_mb']]}",
    ]
    return lines, ok


def _load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} over 1 / 5 min on {os.cpu_count()} CPUs"


# --- instruction counts -----------------------------------------------------------------------------------------


def callgrind_instructions(command: Sequence[str], env: Dict[str, str], cwd: Path = ROOT) -> int:
    """Instructions the command executes from exec to exit, counted by callgrind (children not followed)."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=1800)
    if done.returncode != 0:
        last = ([line for line in done.stderr.splitlines() if line.strip() and "==" not in line[:2]]
                or done.stderr.splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{' '.join(command[:3])} ... under callgrind exited {done.returncode}: {last}")
    refs = [line for line in done.stderr.splitlines() if "refs:" in line][-1]
    return int(refs.split()[-1].replace(",", ""))


# Warm instructions per call: the difference between `count` calls and none, after the same warm-up of every
# contender in both runs, so that imports, key generation and the warm-up cancel out.
WARM_INSTRUCTIONS = """
import json, sys
sys.path.insert(0, sys.argv[4])
from scripts.bench import awscrt_alone, ecdsa_floor
from edge.handler import lambda_handler
event = json.loads(sys.argv[3])
calls = {"floor": ecdsa_floor(), "awscrt": awscrt_alone(), "handler": lambda: lambda_handler(event, None)}
call = calls[sys.argv[1]]
for _ in range(20):
    for warm in calls.values():
        warm()
for _ in range(int(sys.argv[2])):
    call()
"""


def warm_instructions(count: int = 300) -> Dict[str, float]:
    """Instructions per call (callgrind) of the floor, awscrt alone and the handler with a plain key."""
    env = dict(os.environ, **FAKE_ENV)
    event = json.dumps(_load("mrap-get"))

    def measure(name: str, calls: int) -> int:
        return callgrind_instructions([sys.executable, "-c", WARM_INSTRUCTIONS, name, str(calls), event, str(ROOT)],
                                      env)

    return {name: (measure(name, count) - measure(name, 0)) / count for name in ("floor", "awscrt", "handler")}


def warm_instruction_report(per_call: Dict[str, float]) -> Tuple[List[str], Dict[str, bool]]:
    floor = per_call["floor"]
    ratio = per_call["handler"] / floor
    ok = {"warm_instructions_vs_floor": ratio <= TARGETS["warm_instructions_vs_floor"]}
    lines = [
        f"## Warm, instructions per request (callgrind; Python {platform.python_version()}, source tree)",
        "",
        "| measurement | instructions | ratio |",
        "|---|---:|---:|",
        f"| raw ECDSA P-256 signature (floor) | {floor / 1000:.0f}k | 1.00× |",
        f"| awscrt SigV4A signature alone (Signer.sign) | {per_call['awscrt'] / 1000:.0f}k "
        f"| {per_call['awscrt'] / floor:.2f}× floor |",
        f"| handler, plain key | {per_call['handler'] / 1000:.0f}k | {ratio:.2f}× floor |",
        "",
        f"target warm instructions <= {TARGETS['warm_instructions_vs_floor']}x floor: {ratio:.2f}x "
        f"{MARK[ok['warm_instructions_vs_floor']]}",
    ]
    return lines, ok


# --- the cold start of the deployment zip -----------------------------------------------------------------------

# Each step is a program run by the target's interpreter as `python -I -S -B -c PROGRAM`; every step does what the
# one before it did, and more. The event is a literal in the program, so that reading it costs no import: what the
# Lambda runtime itself loads before calling the handler is not modelled, and everything the function imports is
# counted against it.
COLD_PROGRAM = """import sys
sys.path.insert(0, {root!r})
event = {event!r}
{body}
"""

# Under the target's interpreter: which modules `import edge.handler` loads, and which the first request loads, in the
# order their imports started (a finder placed first on sys.meta_path sees each name once, as its import starts).
# Replayed in that order, each import does what it did the first time; sys.modules is in the order they finished,
# and replaying that order could import `genericpath` before `os`, which the standard library's cycles do not allow.
# The probe prints with repr(), not json, so that it loads nothing the steps would not.
MODULE_PROBE = """
started = []
class StartRecorder:
    @staticmethod
    def find_spec(name, path=None, target=None):
        started.append(name)
sys.meta_path.insert(0, StartRecorder)
import edge.handler
imported = [name for name in dict.fromkeys(started) if name in sys.modules]
mark = len(started)
result = edge.handler.lambda_handler(event, None)
assert "authorization" in result["headers"], result
request = [name for name in dict.fromkeys(started[mark:]) if name in sys.modules and name not in imported]
print(repr({"import": imported, "request": request}))
"""

FIRST_REQUEST = """import edge.handler
result = edge.handler.lambda_handler(event, None)
assert "authorization" in result["headers"], result"""


@dataclass(frozen=True)
class ColdStep:
    label: str
    body: str


def cold_program(root: Path, event: dict, body: str) -> str:
    return COLD_PROGRAM.format(root=str(root), event=event, body=body)


def _run_target(python: str, program: str, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-I", "-S", "-B", "-c", program], capture_output=True, text=True,
                          env=dict(LAMBDA_ENV), cwd=root, timeout=300)


def cold_steps(python: str, root: Path, event: dict) -> List[ColdStep]:
    """The cold start cut into cumulative steps, from the modules this edge/ really loads (asked of the target)."""
    done = _run_target(python, cold_program(root, event, MODULE_PROBE), root)
    if done.returncode != 0:
        last = ([line for line in done.stderr.splitlines() if line.strip()] or ["no output"])[-1]
        raise RuntimeError(f"the function does not import and sign from {root}: {last}")
    modules = ast.literal_eval(done.stdout.splitlines()[-1])
    awscrt = [n for n in modules["import"] if n == "awscrt" or n.startswith("awscrt.")]
    ours = [n for n in modules["import"] if n == "edge" or n.startswith("edge.")]
    stdlib = [n for n in modules["import"] if n not in awscrt and n not in ours and n != "_awscrt"]
    imports = "import _awscrt"
    steps = [ColdStep("interpreter alone (start, the event, exit)", "pass"),
             ColdStep("+ `import _awscrt`: **the floor**", imports)]
    imports += "".join(f"\n__import__({name!r})" for name in awscrt)
    steps.append(ColdStep(f"+ awscrt's Python layer ({len(awscrt)} modules, and the standard library they load)",
                          imports))
    imports += "".join(f"\n__import__({name!r})" for name in stdlib)
    steps.append(ColdStep(f"+ the standard library modules edge/ loads ({len(stdlib)})", imports))
    imports += "\nimport edge.handler"
    steps.append(ColdStep(f"+ edge/ itself (`import edge.handler`, {len(ours)} modules)", imports))
    lazy = f", loads {len(modules['request'])} more modules" if modules["request"] else ""
    steps.append(ColdStep(f"+ the first signed request{lazy}", imports + "\n" + FIRST_REQUEST))
    return steps


def without_bytecode(root: Path, dest: Path) -> Path:
    """A copy of the extracted zip without its .pyc files: what a zip built without them runs like."""
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def read_only(root: Path) -> None:
    # As Lambda's code directory is; -B keeps the interpreter from trying to write caches to it.
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)


def cold_instructions(python: str, root: Path, bare: Path, event: dict) -> Tuple[List[Tuple[str, int]], int]:
    """Instructions of each cumulative step on the zip as built, and of the whole cold start without .pyc."""
    steps = cold_steps(python, root, event)
    counts = []
    for step in steps:
        counts.append((step.label, callgrind_instructions(
            [python, "-I", "-S", "-B", "-c", cold_program(root, event, step.body)], dict(LAMBDA_ENV), root)))
    no_pyc = callgrind_instructions([python, "-I", "-S", "-B", "-c", cold_program(bare, event, FIRST_REQUEST)],
                                    dict(LAMBDA_ENV), bare)
    return counts, no_pyc


def cold_wall_clock(python: str, root: Path, bare: Path, event: dict, runs: int) -> Dict[str, List[float]]:
    """Seconds from exec to exit of the interpreter alone, the floor, ours, and ours without .pyc, interleaved."""
    programs = {
        "interpreter": (root, "pass"),
        "floor": (root, "import _awscrt"),
        "ours": (root, FIRST_REQUEST),
        "ours_no_pyc": (bare, FIRST_REQUEST),
    }
    times: Dict[str, List[float]] = {name: [] for name in programs}
    for _ in range(runs):
        for name, (where, body) in programs.items():
            start = time.perf_counter()
            done = _run_target(python, cold_program(where, event, body), where)
            times[name].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise RuntimeError(f"cold start {name} failed: {done.stderr.strip().splitlines()[-1:]}")
    return times


def cold_report(python_version: str, zip_name: str, counts: List[Tuple[str, int]], no_pyc: int,
                times: Dict[str, List[float]]) -> Tuple[List[str], Dict[str, bool]]:
    floor = counts[1][1]
    ours = counts[-1][1]
    ratio = ours / floor
    ok = {"cold_instructions_vs_floor": ratio <= TARGETS["cold_instructions_vs_floor"]}
    lines = [
        f"## Cold start: {zip_name} under CPython {python_version} `-I -S -B`, read-only (callgrind instructions)",
        "",
        "| step | instructions | this step | × floor |",
        "|---|---:|---:|---:|",
    ]
    previous = 0
    for label, count in counts:
        lines.append(f"| {label} | {count / 1e6:.0f} M | {(count - previous) / 1e6:+.1f} M | {count / floor:.2f}× |")
        previous = count
    lines += [
        f"| the same cold start without .pyc files (every module compiled) | {no_pyc / 1e6:.0f} M "
        f"| {(no_pyc - ours) / 1e6:+.1f} M | {no_pyc / floor:.2f}× |",
        "",
        f"ours / floor: {ratio:.2f}× (our own share {100 * (ours - floor) / floor:.0f} % of the floor); "
        f"without .pyc {no_pyc / floor:.2f}×",
        f"lever: the .pyc files save {(no_pyc - ours) / 1e6:.0f} M instructions, "
        f"{100 * (no_pyc - ours) / floor:.0f} % of the floor",
        f"target cold start <= {TARGETS['cold_instructions_vs_floor']}x floor: {ratio:.2f}x "
        f"{MARK[ok['cold_instructions_vs_floor']]}",
        "",
        f"wall clock, exec to exit, median (min) of {len(times['ours'])} runs each, interleaved "
        f"(noisy: {_load_note()}): " + ", ".join(
            f"{name.replace('_', ' ')} {statistics.median(values) * 1000:.0f} ms ({min(values) * 1000:.0f})"
            for name, values in times.items()),
    ]
    return lines, ok


def build_zip(dest: Path, python: Optional[str]) -> Path:
    """The default python3.13 deployment zip, built as `make package` builds it, .pyc files required."""
    from edge.config import Config
    from infra import packaging

    result = packaging.build_package(COLD_RUNTIME, Config(), dest, ROOT / "requirements.txt", check_python=python,
                                     require_bytecode=True)
    return result.path


def cold_start(zip_path: Optional[Path], python: Optional[str], runs: int) -> Tuple[List[str], Dict[str, bool]]:
    from infra import packaging

    target = packaging.find_python(COLD_RUNTIME, python)
    if target is None:
        return [f"## Cold start: not measured: no CPython 3.13 found ({packaging.python_search_places(COLD_RUNTIME)}); "
                "pass --python PATH"], {"cold_instructions_vs_floor": False}
    version = subprocess.run([target, "-I", "-S", "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="mrap-edge-bench-") as temp:
        work = Path(temp)
        if zip_path is None:
            zip_path = build_zip(work / "dist", target)
        root = work / "zip"
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root)
        bare = without_bytecode(root, work / "zip-without-pyc")
        for tree in (root, bare):
            read_only(tree)
        event = _load("mrap-get")
        try:
            counts, no_pyc = cold_instructions(target, root, bare, event)
            times = cold_wall_clock(target, root, bare, event, runs)
        finally:
            for tree in (root, bare):  # writable again, so that the temporary directory can go
                for path in [tree, *tree.rglob("*")]:
                    path.chmod(path.stat().st_mode | 0o200)
    return cold_report(version, Path(zip_path).name, counts, no_pyc, times)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=25, help="interleaved rounds of warm batches")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh interpreters per contender (wall clock)")
    parser.add_argument("--zip", type=Path, help="python3.13 deployment zip to measure (default: build one)")
    parser.add_argument("--python", help="CPython 3.13 for the cold start (default: python3.13 on PATH, else pyenv's)")
    parser.add_argument("--warm-calls", type=int, default=300, help="calls per contender counted by callgrind")
    parser.add_argument("--no-instructions", action="store_true",
                        help="skip the callgrind counts (warm and cold); wall clock only")
    parser.add_argument("--instructions", action="store_true", help=argparse.SUPPRESS)  # the default now
    parser.add_argument("--json", action="store_true", help="print the raw wall-clock figures as JSON too")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    from importlib.metadata import version

    print(f"mrap-edge benchmark: host Python {platform.python_version()}, awscrt {version('awscrt')}, "
          f"cryptography {version('cryptography')}, {platform.machine()}, {os.cpu_count()} CPUs, {_load_note()}\n")
    ok: Dict[str, bool] = {}
    sections: List[Callable[[], Tuple[List[str], Dict[str, bool]]]] = []
    if not args.no_instructions:
        if shutil.which("valgrind") is None:
            print("instructions: not counted: valgrind is not installed (apt-get install valgrind)\n")
        else:
            sections.append(lambda: cold_start(args.zip, args.python, args.cold_runs))
            sections.append(lambda: warm_instruction_report(warm_instructions(args.warm_calls)))
    figures: Dict[str, float] = {}

    def wall_clock() -> Tuple[List[str], Dict[str, bool]]:
        figures.update(run(args.rounds, args.cold_runs))
        return report(figures)

    sections.append(wall_clock)
    for section in sections:
        lines, passed = section()
        ok.update(passed)
        print("\n".join(lines) + "\n", flush=True)
    if args.json:
        print(json.dumps(figures, indent=2))
    print("ALL TARGETS MET" if all(ok.values()) else
          "SOME TARGETS MISSED: " + ", ".join(name for name, passed in ok.items() if not passed))
    return 1 if args.strict and not all(ok.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
