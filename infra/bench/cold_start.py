"""The cold start of the deployment zip: the default runtime's zip, under that runtime's CPython run as Lambda runs
it (`python -I -S -B` over a read-only copy, in Lambda's environment), cut into cumulative steps from the interpreter
alone to the first signed request, counted in instructions; and the same with no .pyc files; and timed.

Each step is a program run as `python -I -S -B -c PROGRAM`; every step does what the one before it did, and more.
The event is a literal in the program, so that reading it costs no import: what the Lambda runtime itself loads
before calling the handler is not modelled, and everything the function imports is counted against it. These
programs stay strings because they are composed from the steps.
"""
from __future__ import annotations

import ast
import shutil
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from infra.packaging import DEFAULT_RUNTIME, build_package, find_python, python_search_places, python_version

from .callgrind import callgrind_instructions
from .contenders import FAKE_ENV, ROOT, load_event

__all__ = ["COLD_RUNTIME", "LAMBDA_ENV", "ColdStep", "ColdStart", "NotMeasured", "cold_program", "cold_steps",
           "without_bytecode", "read_only", "measure_cold_start"]

COLD_RUNTIME = DEFAULT_RUNTIME  # what the function is deployed with unless told otherwise
# The cold start's environment: what Lambda sets that the interpreter or awscrt read, and nothing of the builder's.
# It matters: with SSL_CERT_FILE set (as on many build machines, not on Lambda) `import _awscrt` reads that CA bundle,
# about 59 M instructions more.
LAMBDA_ENV = {**FAKE_ENV, "LANG": "C.UTF-8", "TZ": ":UTC"}

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


@dataclass(frozen=True)
class ColdStart:
    """What one run measured: the target's version, the zip, each step's instructions, the whole cold start without
    .pyc files, and the wall-clock seconds of each program by name."""
    python_version: str
    zip_name: str
    counts: List[Tuple[str, int]]
    no_pyc: int
    times: Dict[str, List[float]]


@dataclass(frozen=True)
class NotMeasured:
    reason: str


def cold_program(root: Path, event: Dict[str, Any], body: str) -> str:
    return COLD_PROGRAM.format(root=str(root), event=event, body=body)


def _run_target(python: str, program: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-I", "-S", "-B", "-c", program], capture_output=True, text=True,
                          env=dict(LAMBDA_ENV), cwd=root, timeout=300)


def _loaded_modules(python: str, root: Path, event: Dict[str, Any]) -> Dict[str, List[str]]:
    """The modules `import edge.handler` loads, and those the first request loads, asked of the target."""
    done = _run_target(python, cold_program(root, event, MODULE_PROBE), root)
    if done.returncode != 0:
        last = ([line for line in done.stderr.splitlines() if line.strip()] or ["no output"])[-1]
        raise RuntimeError(f"the function does not import and sign from {root}: {last}")
    modules: Dict[str, List[str]] = ast.literal_eval(done.stdout.splitlines()[-1])
    return modules


def cold_steps(python: str, root: Path, event: Dict[str, Any]) -> List[ColdStep]:
    """The cold start cut into cumulative steps, from the modules this edge/ really loads (asked of the target)."""
    modules = _loaded_modules(python, root, event)
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


def read_only(root: Path, writable: bool = False) -> None:
    """As Lambda's code directory is (-B keeps the interpreter from trying to write caches to it); or, with
    `writable`, writable again so that a temporary directory can go."""
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | 0o200 if writable else mode & ~0o222)


def _cold_instructions(python: str, root: Path, bare: Path, event: Dict[str, Any]) -> Tuple[List[Tuple[str, int]], int]:
    """Instructions of each cumulative step on the zip as built, and of the whole cold start without .pyc."""
    counts = []
    for step in cold_steps(python, root, event):
        counts.append((step.label, callgrind_instructions(
            [python, "-I", "-S", "-B", "-c", cold_program(root, event, step.body)], dict(LAMBDA_ENV), root)))
    no_pyc = callgrind_instructions([python, "-I", "-S", "-B", "-c", cold_program(bare, event, FIRST_REQUEST)],
                                    dict(LAMBDA_ENV), bare)
    return counts, no_pyc


def _cold_wall_clock(python: str, root: Path, bare: Path, event: Dict[str, Any], runs: int) -> Dict[str, List[float]]:
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


def _build_zip(dest: Path, python: str) -> Path:
    """The default deployment zip, built as `make package` builds it, .pyc files required."""
    return build_package(COLD_RUNTIME, None, dest, ROOT / "requirements.txt", check_python=python,
                         require_bytecode=True).path


def measure_cold_start(zip_path: Optional[Path], python: Optional[str], runs: int) -> Union[ColdStart, NotMeasured]:
    """The cold start of `zip_path` (default: one built now) under the target's CPython (default: found here)."""
    target = find_python(COLD_RUNTIME, python)
    if target is None:
        major, minor = python_version(COLD_RUNTIME)
        return NotMeasured(f"no CPython {major}.{minor} found ({python_search_places(COLD_RUNTIME)}); "
                           "pass --python PATH")
    version = subprocess.run([target, "-I", "-S", "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="mrap-edge-bench-") as temp:
        work = Path(temp)
        zip_path = zip_path or _build_zip(work / "dist", target)
        root = work / "zip"
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root)
        bare = without_bytecode(root, work / "zip-without-pyc")
        for tree in (root, bare):
            read_only(tree)
        event = load_event("mrap-get")
        try:
            counts, no_pyc = _cold_instructions(target, root, bare, event)
            times = _cold_wall_clock(target, root, bare, event, runs)
        finally:
            for tree in (root, bare):
                read_only(tree, writable=True)
    return ColdStart(version, Path(zip_path).name, counts, no_pyc, times)
