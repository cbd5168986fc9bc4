"""Headless Chromium driven over the Chrome DevTools Protocol (a websocket, websocket-client): start it with the
flags that work in a container, open pages, evaluate JavaScript, take screenshots and keep the network events.

`chromium_executable()` installs Debian's `chromium` package when it is missing and the machine allows it (root and
apt-get); otherwise the caller skips with the reason returned."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import websocket

__all__ = ["Browser", "chromium_executable"]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-proxy-server",
         "--window-size=1000,700")
Event = Dict[str, Any]


def chromium_executable() -> Tuple[Optional[str], str]:
    """(path, "") when Chromium is here or could be installed; (None, why not) otherwise."""
    found = shutil.which("chromium")
    if found:
        return found, ""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, "chromium is not installed and cannot be installed here (needs root and apt-get)"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "timeout": 900}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env, **quiet)  # type: ignore[call-overload]
    if done.returncode != 0:  # the package lists may be missing or stale
        subprocess.run(["apt-get", "update", "-q"], env=env, **quiet)  # type: ignore[call-overload]
        done = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env, **quiet)  # type: ignore[call-overload]
    found = shutil.which("chromium")
    if found:
        return found, ""
    return None, f"unable to install chromium with apt-get: {done.stderr.decode(errors='replace').strip()[-300:]}"


class Browser:
    """One headless Chromium with one page. `host_rules` maps names to 127.0.0.1 (--host-resolver-rules)."""

    def __init__(self, executable: str, host_rules: Sequence[str] = (), timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s
        self.events: List[Event] = []
        self._profile = tempfile.mkdtemp(prefix="mrap-edge-chromium-")
        rules = ", ".join(f"MAP {name} 127.0.0.1" for name in host_rules)
        command = [executable, *FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-port=0",
                   *([f"--host-resolver-rules={rules}"] if rules else []), "about:blank"]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._next_id = 0
        try:
            self._socket = websocket.create_connection(self._page_websocket(), timeout=timeout_s,
                                                       suppress_origin=True)
            for domain in ("Page", "Network", "Runtime"):
                self.call(f"{domain}.enable")
        except BaseException:
            self.close()
            raise

    def _page_websocket(self) -> str:
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout_s
        while not port_file.exists() or not port_file.read_text().strip():
            if self._process.poll() is not None or time.monotonic() > deadline:
                error = self._process.stderr.read().decode(errors="replace") if self._process.poll() is not None \
                    else "no DevToolsActivePort file"
                raise RuntimeError(f"unable to start chromium: {error.strip()[-500:]}")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
                pages = [t for t in json.load(response) if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
            if time.monotonic() > deadline:
                raise RuntimeError("unable to find chromium's page target")
            time.sleep(0.05)

    # --- the protocol ---------------------------------------------------------------------------------------------
    def call(self, method: str, **params: Any) -> Dict[str, Any]:
        self._next_id += 1
        number = self._next_id
        self._socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = self._receive(time.monotonic() + self.timeout_s)
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result") or {})

    def _receive(self, deadline: float) -> Dict[str, Any]:
        self._socket.settimeout(max(0.01, deadline - time.monotonic()))
        message = json.loads(self._socket.recv())
        if "method" in message:
            self.events.append(message)
        return dict(message)

    def wait_for(self, method: str, since: int = 0, matching: Callable[[Event], bool] = lambda e: True) -> Event:
        deadline = time.monotonic() + self.timeout_s
        while True:
            for event in self.events[since:]:
                if event["method"] == method and matching(event):
                    return event
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {self.timeout_s} s")
            self._receive(deadline)

    def settle(self, quiet_s: float = 0.5) -> None:
        """Read events until none came for `quiet_s` (late network events after the load event)."""
        while True:
            try:
                self._receive(time.monotonic() + quiet_s)
            except websocket.WebSocketTimeoutException:
                return

    # --- pages ----------------------------------------------------------------------------------------------------
    def open(self, url: str) -> int:
        """Load `url` and wait for its load event; returns the index of the first event of this load."""
        since = len(self.events)
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired", since)
        self.settle()
        return since

    def reload(self) -> int:
        since = len(self.events)
        self.call("Page.reload")
        self.wait_for("Page.loadEventFired", since)
        self.settle()
        return since

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def screenshot(self, path: Union[str, Path]) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(data))
        return target

    def close(self) -> None:
        socket = getattr(self, "_socket", None)
        if socket is not None:
            socket.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
