"""Runs the function the way Lambda does: in a separate process (`worker.py`) holding the credentials in its
environment, one invocation at a time, killed and cold-started again after a timeout or a crash.

The code comes from the source tree or from a deployment zip. A zip is extracted to a temporary directory and run
with `python -I -S`: only the standard library and the zip's contents are importable, as on Lambda.
"""
from __future__ import annotations

import collections
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Optional

__all__ = ["AwsCredentials", "Invocation", "FunctionInvoker", "FAULTS", "REPO_ROOT"]

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("worker.py")
HANDLER = "edge.handler.lambda_handler"
FAULTS = ("raise", "timeout", "garbage", "exit", "corrupt-signature")
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: Optional[str] = None

    def __repr__(self) -> str:  # never print the secret
        return f"AwsCredentials(access_key_id={self.access_key_id!r}, secret_access_key='[SENSITIVE]')"


@dataclass(frozen=True)
class Invocation:
    outcome: str  # "ok", "error" (the function raised), "timeout", "crash" (the process died)
    result: Any = None
    error: str = ""
    ms: float = 0.0  # time inside the function as the worker measured it (wall clock for timeouts)
    cold_start_ms: Optional[float] = None  # set on the first invocation of a fresh worker


class FunctionInvoker:
    def __init__(
        self,
        credentials: AwsCredentials,
        region: str = "us-east-1",
        zip_path: Optional[Path] = None,
        timeout_s: float = 30.0,
        log: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.credentials = credentials
        self.region = region
        self.zip_path = Path(zip_path) if zip_path else None
        self.timeout_s = timeout_s
        self.fault: Optional[str] = None  # applied to every invocation while set (tests and the demo set it)
        self.stderr_tail: Deque[str] = collections.deque(maxlen=200)
        self._log = log
        self._lock = threading.Lock()
        self._process: Optional[subprocess.Popen] = None
        self._replies: "queue.Queue[Optional[str]]" = queue.Queue()
        self._code_dir: Optional[Path] = None
        self._init_ms: Optional[float] = None

    # --- process lifecycle -------------------------------------------------------------------------------------
    def _command(self) -> list:
        if self.zip_path is None:
            # -I: neither the script's directory nor PYTHON* variables leak in; site-packages stay (awscrt).
            return [sys.executable, "-I", str(WORKER), "--code-dir", str(REPO_ROOT), "--handler", HANDLER]
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
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
        }
        if self.credentials.session_token:
            env["AWS_SESSION_TOKEN"] = self.credentials.session_token
        return env

    def start(self) -> float:
        """Start the worker and import the handler; returns the init (cold start) time in ms."""
        self._process = subprocess.Popen(
            self._command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._environment(),
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._replies = queue.Queue()
        threading.Thread(target=self._read_stdout, args=(self._process, self._replies), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self._process,), daemon=True).start()
        started = time.perf_counter()
        line = self._next_reply(START_TIMEOUT_S)
        ready = json.loads(line) if line else {}
        if not ready.get("ready"):
            self._kill()
            detail = ready.get("init_error") or "\n".join(list(self.stderr_tail)[-10:])
            raise RuntimeError(f"unable to start function worker: {detail}")
        self._init_ms = ready.get("init_ms", (time.perf_counter() - started) * 1000)
        return float(self._init_ms)

    def stop(self) -> None:
        with self._lock:
            self._kill()
        if self._code_dir is not None:
            shutil.rmtree(self._code_dir, ignore_errors=True)
            self._code_dir = None

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _read_stdout(self, process: subprocess.Popen, replies: "queue.Queue[Optional[str]]") -> None:
        assert process.stdout is not None
        for line in process.stdout:
            replies.put(line)
        replies.put(None)  # end of stream: the worker died

    def _read_stderr(self, process: subprocess.Popen) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.stderr_tail.append(line.rstrip("\n"))
            if self._log:
                self._log(line.rstrip("\n"))

    def _next_reply(self, timeout_s: float) -> Optional[str]:
        try:
            return self._replies.get(timeout=timeout_s)
        except queue.Empty:
            return None

    # --- invocations --------------------------------------------------------------------------------------------
    def invoke(self, event: Dict[str, Any], fault: Optional[str] = None) -> Invocation:
        fault = fault or self.fault
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unable to inject fault: {fault!r} (known: {', '.join(FAULTS)})")
        with self._lock:
            cold = None
            if self._process is None or self._process.poll() is not None:
                self._kill()
                cold = self.start()
            assert self._process is not None and self._process.stdin is not None
            started = time.perf_counter()
            try:
                self._process.stdin.write(json.dumps({"event": event, "fault": fault}) + "\n")
                self._process.stdin.flush()
            except OSError:
                self._kill()
                return Invocation("crash", error="worker stdin closed", cold_start_ms=cold)
            line = self._next_reply(self.timeout_s)
            if line is None:
                timed_out = self._process.poll() is None
                self._process.kill()  # Lambda discards an environment after a timeout or a crash
                self._kill()
                wall = (time.perf_counter() - started) * 1000
                if timed_out:
                    return Invocation("timeout", error=f"timed out after {self.timeout_s:g} s", ms=wall,
                                      cold_start_ms=cold)
                return Invocation("crash", error="the function's process exited", ms=wall, cold_start_ms=cold)
            reply = json.loads(line)
            if reply.get("ok"):
                return Invocation("ok", result=reply.get("result"), ms=reply.get("ms", 0.0), cold_start_ms=cold)
            return Invocation("error", error=reply.get("error", "unknown"), ms=reply.get("ms", 0.0), cold_start_ms=cold)
