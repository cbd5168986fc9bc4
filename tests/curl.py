"""Real curl for the end-to-end tests: one request, its status, headers and body bytes exactly as curl saw them."""
from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

__all__ = ["CurlResponse", "curl"]


@dataclass(frozen=True)
class CurlResponse:
    status: int
    headers: Tuple[Tuple[str, str], ...]  # (lower-case name, value), in order
    body: bytes

    def header(self, name: str) -> str:
        values = [value for key, value in self.headers if key == name.lower()]
        return values[-1] if values else ""


def curl(url: str, *options: str, timeout_s: int = 30) -> CurlResponse:
    """`curl -sS` with `options` (e.g. "-I", "-H", "Range: bytes=0-1"); headers and body go to files so binary
    bodies survive, and --path-as-is keeps dot segments and escapes as given."""
    with tempfile.TemporaryDirectory(prefix="mrap-edge-curl-") as temp:
        head, body = Path(temp, "head"), Path(temp, "body")
        command: List[str] = ["curl", "-sS", "--path-as-is", "--max-time", str(timeout_s),
                              "-D", str(head), "-o", str(body), *options, url]
        completed = subprocess.run(command, capture_output=True, check=False)
        if completed.returncode != 0:
            raise AssertionError(f"curl {url} failed ({completed.returncode}): {completed.stderr.decode()}")
        return _parse(head.read_bytes(), body.read_bytes() if body.exists() else b"")


def _parse(head: bytes, body: bytes) -> CurlResponse:
    blocks = [block for block in head.split(b"\r\n\r\n") if block.strip()]
    lines = blocks[-1].decode("utf-8", "replace").split("\r\n")  # the last block: after any 100 Continue
    status = int(lines[0].split()[1])
    headers: Sequence[Tuple[str, str]] = [
        (line.split(":", 1)[0].strip().lower(), line.split(":", 1)[1].strip()) for line in lines[1:] if ":" in line
    ]
    return CurlResponse(status, tuple(headers), body)
