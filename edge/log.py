"""JSON log lines: one compact object per line, None values dropped, CloudFront's requestId as correlation id.

Lambda@Edge writes stdout to CloudWatch Logs in the Region where the function ran. At the default level (WARNING)
a signed request logs nothing; an error logs one line; DEBUG logs each incoming event with secrets redacted.
"""
from __future__ import annotations

import json
import sys

__all__ = ["JsonLogger", "redact_event", "REDACTED"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Mapping, Optional, TextIO

REDACTED = "[REDACTED]"
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}
# Header values that carry credentials, signatures or session state; query parameters of a presigned URL likewise.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-amz-security-token"})
_SECRET_QUERY_PARAMS = ("x-amz-credential", "x-amz-signature", "x-amz-security-token", "signature", "awsaccesskeyid")


class JsonLogger:
    def __init__(self, level: str = "WARNING", stream: Optional[TextIO] = None) -> None:
        self.threshold = _LEVELS[level]
        self.stream = stream
        # Plain attributes, read on every request at no more cost than a name lookup.
        self.debug_enabled = self.enabled("DEBUG")
        self.info_enabled = self.enabled("INFO")

    def enabled(self, level: str) -> bool:
        return _LEVELS[level] >= self.threshold

    def log(self, level: str, message: str, **fields: Any) -> None:
        if _LEVELS[level] < self.threshold:
            return
        record: Dict[str, Any] = {"level": level, "message": message}
        record.update((key, value) for key, value in fields.items() if value is not None)
        line = json.dumps(record, separators=(",", ":"), default=str)
        (self.stream or sys.stdout).write(line + "\n")


def _redact_headers(headers: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        name: [dict(entry, value=REDACTED) for entry in entries] if name.lower() in _SECRET_HEADERS else entries
        for name, entries in headers.items()
    }


def _redact_query(query: str) -> str:
    pieces = []
    for piece in query.split("&"):
        name, sep, _ = piece.partition("=")
        pieces.append(f"{name}={REDACTED}" if sep and name.lower() in _SECRET_QUERY_PARAMS else piece)
    return "&".join(pieces)


def redact_event(event: Any) -> Any:
    """A copy of an origin-request event that is safe to log and to keep as a test fixture."""
    try:
        record = event["Records"][0]["cf"]
        request = dict(record["request"])
    except (KeyError, IndexError, TypeError):
        return {"unreadable_event_type": type(event).__name__}
    request["headers"] = _redact_headers(request.get("headers") or {})
    if isinstance(request.get("querystring"), str):
        request["querystring"] = _redact_query(request["querystring"])
    origin = request.get("origin")
    if isinstance(origin, dict):
        request["origin"] = {
            kind: dict(spec, customHeaders=_redact_headers(spec.get("customHeaders") or {}))
            if isinstance(spec, dict)
            else spec
            for kind, spec in origin.items()
        }
    if isinstance(request.get("body"), dict) and request["body"].get("data"):
        request["body"] = dict(request["body"], data=REDACTED)
    return {"Records": [{"cf": dict(record, request=request)}]}
