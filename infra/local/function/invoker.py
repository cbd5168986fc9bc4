"""Runs the function the way Lambda does: each execution environment is a process of its own (`worker.py`)
holding the credentials in its environment and serving one invocation at a time.

Per edge location a `FunctionInvoker` keeps a pool of environments that grows with concurrent demand, as Lambda
starts another execution environment when every existing one is busy: an invocation takes an idle environment
(the most recently used first, so the pool grows only under concurrency), else starts a new one (its own cold
start), else, at the pool's limit, waits for one to be free. An environment whose invocation times out or crashes
is discarded, as Lambda discards it; the other environments keep serving.

Two limits: the function's concurrency (`concurrency`, Lambda's 1,000 per Region by default): an invocation over it
is throttled at once, as Lambda throttles it (CloudFront answers 503 LambdaLimitExceeded); and what this machine can
hold (`max_workers` processes): an invocation over that, but within the concurrency, waits for an environment.
Environments are not reclaimed when idle.

Each environment runs with the function's timeout and memory (`timeout_s`, `memory_mb`: the template's `Timeout`
and `MemorySize`); memory is the process's address-space limit, so a function that allocates past it fails as an
out-of-memory function fails on Lambda.

The code comes from the source tree or from a deployment zip. A zip is extracted to a temporary directory and run
with `python -I -S`: only the standard library and the zip's contents are importable, as on Lambda.
"""
from __future__ import annotations

import collections
import json
import os
import queue
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Deque, Dict, List, Literal, Optional, Tuple

__all__ = ["AwsCredentials", "Invocation", "Outcome", "FunctionInvoker", "FAULTS", "REPO_ROOT",
           "ACCOUNT_CONCURRENCY"]

REPO_ROOT = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).with_name("worker.py")
HANDLER = "edge.handler.lambda_handler"
Fault = Literal["raise", "timeout", "garbage", "exit", "corrupt-signature"]
FAULTS: Tuple[Fault, ...] = ("raise", "timeout", "garbage", "exit", "corrupt-signature")
START_TIMEOUT_S = 60.0
# Execution environments per edge location, at most. Lambda runs up to the account's concurrency (1,000 per Region
# by default); here each one is a process (about 20 MB, a cold start of about 200 ms of CPU). The function takes
# about 1 ms of the 8 or so a request takes through the stack, so even at 32 concurrent viewers a location rarely
# has more than 4 invocations in flight; a bigger pool only adds cold starts on a small machine. StackOptions and
# `--function-workers` change it.
DEFAULT_MAX_WORKERS = 4
# "Concurrent executions: 1,000" per Region, the default account quota Lambda@Edge counts against (Lambda quotas).
ACCOUNT_CONCURRENCY = 1000
# "ok"; "error": the function raised, or failed to start; "timeout"; "crash": the process died; "throttled": over
# the function's concurrency, not run.
Outcome = Literal["ok", "error", "timeout", "crash", "throttled"]

@dataclass(frozen=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: Optional[str] = None

    def __repr__(self) -> str:  # never print the secret
        return f"AwsCredentials(access_key_id={self.access_key_id!r}, secret_access_key='[SENSITIVE]')"


@dataclass(frozen=True)
class Invocation:
    outcome: Outcome
    result: Any = None
    error: str = ""
    ms: float = 0.0  # time inside the function as the worker measured it (wall clock for timeouts and crashes)
    cold_start_ms: Optional[float] = None  # set on the first invocation an environment serves: its init time
    worker: int = 0  # which execution environment served it (1, 2, ... per invoker, never reused)
    logs: Tuple[str, ...] = ()  # the function's own log lines: its init lines on a cold start, then this invocation's


_TIMED_OUT = object()  # no reply in time; None on the reply queue means the worker's stdout closed


class _Worker:
    """One execution environment: a worker process, its protocol pipes and its stderr."""

    def __init__(self, number: int, command: List[str], env: Dict[str, str], stderr_tail: Deque[str],
                 log: Optional[Callable[[str], None]], memory_mb: Optional[int] = None) -> None:
        self.number = number
        self._memory_mb = memory_mb
        self._command = command
        self._env = env
        self._stderr_tail = stderr_tail
        self._log = log
        self._process: Optional[subprocess.Popen] = None
        self._replies: "queue.Queue[Optional[str]]" = queue.Queue()
        self.init_ms: Optional[float] = None
        self.init_logs: Tuple[str, ...] = ()
        self.fresh = True  # has not served an invocation yet

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process is not None else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> float:
        """Start the process and import the handler; returns the init (cold start) time in ms."""
        self._process = subprocess.Popen(
            self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self._env,
            text=True, encoding="utf-8", bufsize=1, preexec_fn=self._limit_memory,
        )
        threading.Thread(target=self._read_stdout, args=(self._process, self._replies), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self._process,), daemon=True).start()
        started = time.perf_counter()
        line = self._next_reply(START_TIMEOUT_S)
        ready = json.loads(line) if isinstance(line, str) else {}
        if not ready.get("ready"):
            self.kill()
            detail = ready.get("init_error") or "\n".join(list(self._stderr_tail)[-10:])
            raise RuntimeError(f"unable to start function worker: {detail}")
        self.init_ms = float(ready.get("init_ms", (time.perf_counter() - started) * 1000))
        self.init_logs = tuple(ready.get("logs") or ())
        return self.init_ms

    def _limit_memory(self) -> None:  # runs in the child, before the worker starts
        if self._memory_mb is not None:
            limit = self._memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()  # Lambda discards an environment after a timeout or a crash
        process.wait()

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop a healthy worker: end of input, then a kill if it does not exit in time."""
        process = self._process
        if process is not None and process.stdin:
            try:
                process.stdin.close()
            except OSError:
                pass
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def _read_stdout(self, process: subprocess.Popen, replies: "queue.Queue[Optional[str]]") -> None:
        assert process.stdout is not None
        for line in process.stdout:
            replies.put(line)
        replies.put(None)  # end of stream: the worker died

    def _read_stderr(self, process: subprocess.Popen) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self._stderr_tail.append(line.rstrip("\n"))
            if self._log:
                self._log(line.rstrip("\n"))

    def _next_reply(self, timeout_s: float) -> Any:
        try:
            return self._replies.get(timeout=timeout_s)
        except queue.Empty:
            return _TIMED_OUT

    def invoke(self, event: Dict[str, Any], fault: Optional[str], timeout_s: float) -> Invocation:
        cold = self.init_ms if self.fresh else None
        logs = self.init_logs if self.fresh else ()
        self.fresh = False
        process = self._process
        assert process is not None and process.stdin is not None
        started = time.perf_counter()
        try:
            process.stdin.write(json.dumps({"event": event, "fault": fault}) + "\n")
            process.stdin.flush()
        except OSError:
            status = self._exit_status()
            return Invocation("crash", error=f"Runtime exited with error: {status}", cold_start_ms=cold,
                              worker=self.number, logs=logs)
        line = self._next_reply(timeout_s)
        wall = (time.perf_counter() - started) * 1000
        if line is _TIMED_OUT:
            self.kill()
            return Invocation("timeout", error=f"Task timed out after {timeout_s:.2f} seconds", ms=wall,
                              cold_start_ms=cold, worker=self.number, logs=logs)
        if line is None:  # stdout closed: the process is exiting or has exited
            status = self._exit_status()
            return Invocation("crash", error=f"Runtime exited with error: {status}", ms=wall, cold_start_ms=cold,
                              worker=self.number, logs=logs)
        reply = json.loads(line)
        logs = logs + tuple(reply.get("logs") or ())
        ms = float(reply.get("ms", 0.0))
        if reply.get("ok"):
            return Invocation("ok", result=reply.get("result"), ms=ms, cold_start_ms=cold, worker=self.number,
                              logs=logs)
        return Invocation("error", error=reply.get("error", "unknown"), ms=ms, cold_start_ms=cold,
                          worker=self.number, logs=logs)

    def _exit_status(self) -> str:
        """How the process ended, in Lambda's words ("exit status 70", "signal: killed"); waits for the exit."""
        process, self._process = self._process, None
        if process is None:
            return "unknown"
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        return f"signal: {-code}" if code < 0 else f"exit status {code}"


class FunctionInvoker:
    """The function at one edge location: a pool of execution environments (see the module's docstring)."""

    def __init__(
        self,
        credentials: AwsCredentials,
        region: str = "us-east-1",
        zip_path: Optional[Path] = None,
        timeout_s: float = 30.0,
        log: Optional[Callable[[str], None]] = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
        memory_mb: Optional[int] = None,
        concurrency: int = ACCOUNT_CONCURRENCY,
    ) -> None:
        if max_workers < 1 or concurrency < 1:
            raise ValueError(f"unable to run the function: max_workers and concurrency must be at least 1, not "
                             f"{max_workers} and {concurrency}")
        self.credentials = credentials
        self.region = region
        self.zip_path = Path(zip_path) if zip_path else None
        self.timeout_s = timeout_s
        self.max_workers = max_workers
        self.memory_mb = memory_mb
        self.concurrency = concurrency
        self._in_flight = 0
        # Injected into invocations while set (tests, the demo and the soak set it): every `fault_every`-th
        # invocation gets it, so a fault can hit some invocations among many.
        self.fault: Optional[Fault] = None
        self.fault_every = 1
        self.stderr_tail: Deque[str] = collections.deque(maxlen=200)
        self.workers_started = 0
        self.cold_starts: Deque[Tuple[int, float]] = collections.deque(maxlen=1000)  # (worker, init ms)
        self._log = log
        self._code_dir: Optional[Path] = None
        self._pool = threading.Condition()
        self._idle: List[_Worker] = []
        self._all: Dict[int, _Worker] = {}
        self._size = 0  # workers running or starting
        self._invocations = 0
        self._stopped = False

    # --- environments ------------------------------------------------------------------------------------------
    def _command(self) -> list:
        if self.zip_path is None:
            # -I: neither the script's directory nor PYTHON* variables leak in; site-packages stay (awscrt).
            return [sys.executable, "-I", str(WORKER), "--code-dir", str(REPO_ROOT), "--handler", HANDLER]
        with self._pool:
            if self._code_dir is None:
                self._code_dir = Path(tempfile.mkdtemp(prefix="mrap-edge-zip-"))
                with zipfile.ZipFile(self.zip_path) as archive:
                    archive.extractall(self._code_dir)
        return [sys.executable, "-I", "-S", str(WORKER), "--code-dir", str(self._code_dir), "--handler", HANDLER]

    def _environment(self) -> Dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": "us-east-1.mrap-edge",
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb or 128),
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
        }
        if self.credentials.session_token:
            env["AWS_SESSION_TOKEN"] = self.credentials.session_token
        return env

    def _new_worker(self) -> _Worker:
        """Start one more environment (the caller has reserved its place in the pool)."""
        with self._pool:
            self.workers_started += 1
            number = self.workers_started
        worker = _Worker(number, self._command(), self._environment(), self.stderr_tail, self._log, self.memory_mb)
        init_ms = worker.start()
        with self._pool:
            self._all[number] = worker
            self.cold_starts.append((number, init_ms))
        return worker

    def start(self) -> float:
        """Start one environment ahead of the first request (so a function that cannot start fails the stack's
        start, not a request); returns its init time in ms."""
        with self._pool:
            self._stopped = False
            self._size += 1
        try:
            worker = self._new_worker()
        except BaseException:
            with self._pool:
                self._size -= 1
            raise
        self._release(worker)
        return float(worker.init_ms or 0.0)

    def stop(self) -> None:
        with self._pool:
            self._stopped = True
            idle = list(self._idle)
            busy = [worker for worker in self._all.values() if worker not in idle]
            self._idle.clear()
            self._pool.notify_all()
        for worker in busy:
            worker.kill()  # its invocation ends as a crash; waiting could take up to the function timeout
        for worker in idle:
            worker.close()
        if self._code_dir is not None:
            shutil.rmtree(self._code_dir, ignore_errors=True)
            self._code_dir = None

    @property
    def size(self) -> int:
        """Environments running now (busy or idle)."""
        with self._pool:
            return self._size

    @property
    def pids(self) -> List[int]:
        """The environments' processes now (for CPU accounting)."""
        with self._pool:
            return [pid for pid in (worker.pid for worker in self._all.values()) if pid is not None]

    @property
    def busy(self) -> int:
        """Environments serving an invocation now (or starting for one)."""
        with self._pool:
            return self._size - len(self._idle)

    def _acquire(self) -> _Worker:
        with self._pool:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive:
                        return worker
                    self._discard(worker)
                if self._size < self.max_workers:
                    self._size += 1
                    break
                self._pool.wait()
        try:
            return self._new_worker()
        except BaseException:
            with self._pool:
                self._size -= 1
                self._pool.notify()
            raise

    def _discard(self, worker: _Worker) -> None:  # with self._pool held
        self._all.pop(worker.number, None)
        self._size -= 1
        self._pool.notify()

    def _release(self, worker: _Worker) -> None:
        with self._pool:
            if worker.alive and not self._stopped:
                self._idle.append(worker)
                self._pool.notify()
                return
            self._discard(worker)
        worker.kill()

    # --- invocations --------------------------------------------------------------------------------------------
    def _fault_for_next(self) -> Optional[str]:
        fault = self.fault
        if fault is None:
            return None
        with self._pool:
            self._invocations += 1
            return fault if self._invocations % max(1, self.fault_every) == 0 else None

    def invoke(self, event: Dict[str, Any], fault: Optional[str] = None) -> Invocation:
        fault = fault or self._fault_for_next()
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unable to inject fault: {fault!r} (known: {', '.join(FAULTS)})")
        with self._pool:
            if self._in_flight >= self.concurrency:
                return Invocation("throttled", error="Rate Exceeded.")
            self._in_flight += 1
        try:
            try:
                worker = self._acquire()
            except RuntimeError as error:  # the new environment could not start: Lambda's init error
                return Invocation("error", error=str(error))
            try:
                return worker.invoke(event, fault, self.timeout_s)
            finally:
                self._release(worker)
        finally:
            with self._pool:
                self._in_flight -= 1
