"""The function's runtime, run as its own process like a Lambda execution environment: it imports the handler once
(a cold start), then reads one JSON message per line on stdin and writes one JSON result per line on stdout.

Standard library only, because with `--isolated` it runs under `python -I -S` with nothing but the extracted
deployment package on sys.path: a package that works here does not lean on the developer's site-packages.
What the handler prints (its log lines, as Lambda sends stdout to CloudWatch Logs) goes to stderr, as stdout is the
protocol channel, and is also sent back with the result: the init lines with the ready message, each invocation's
lines with its result.

Ready:   {"ok": true, "ready": true, "init_ms": 80.1, "logs": [...]}
Message: {"event": {...}, "fault": null | "raise" | "timeout" | "garbage" | "exit" | "corrupt-signature"}
Result:  {"ok": true, "result": ..., "ms": 1.2, "logs": [...]} or {"ok": false, "error": "Type: message", ...}
"""
import importlib
import json
import os
import sys
import time
import traceback
import uuid

FUNCTION_NAME = "us-east-1.mrap-edge"
TIMEOUT_MS = 30000  # Lambda@Edge's limit for origin events
MAX_LOG_LINES = 50  # per invocation sent back with the result; all of them still go to stderr
MAX_LOG_LINE = 4096


class LogCapture:
    """A text stream that writes through to `stream` and keeps the lines written since the last `take()`."""

    def __init__(self, stream):
        self._stream = stream
        self._partial = ""
        self._lines = []

    def write(self, text):
        self._stream.write(text)
        pieces = (self._partial + text).split("\n")
        self._partial = pieces.pop()
        room = MAX_LOG_LINES - len(self._lines)
        if room > 0:
            self._lines += [line[:MAX_LOG_LINE] for line in pieces[:room]]
        return len(text)

    def flush(self):
        self._stream.flush()

    def take(self):
        lines, self._lines = self._lines, []
        if self._partial:
            lines.append(self._partial[:MAX_LOG_LINE])
            self._partial = ""
        return lines


class LambdaContext:
    """The attributes of the Lambda context object a handler may read."""

    def __init__(self, deadline: float) -> None:
        self.function_name = FUNCTION_NAME
        self.function_version = "1"
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:mrap-edge:1"
        self.memory_limit_in_mb = "128"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = "/aws/lambda/" + FUNCTION_NAME
        self.log_stream_name = time.strftime("%Y/%m/%d/[1]") + uuid.uuid4().hex
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _corrupt_signature(result):
    """Flip one hex digit of the Authorization signature, as a man in the middle would."""
    for entry in (result.get("headers") or {}).get("authorization", []):
        value = entry["value"]
        last = value[-1]
        entry["value"] = value[:-1] + ("0" if last != "0" else "1")
    return result


def _invoke(handler, message):
    fault = message.get("fault")
    if fault == "exit":
        os._exit(70)
    if fault == "timeout":
        time.sleep(3600)
    if fault == "raise":
        raise RuntimeError("fault injected: the function raised")
    if fault == "garbage":
        return "this is not a CloudFront request or response"
    result = handler(message["event"], LambdaContext(time.monotonic() + TIMEOUT_MS / 1000))
    if fault == "corrupt-signature" and isinstance(result, dict):
        result = _corrupt_signature(result)
    return result


def main(argv):
    code_dir, handler_name = argv[argv.index("--code-dir") + 1], argv[argv.index("--handler") + 1]
    sys.path.insert(0, code_dir)
    protocol = sys.stdout
    logs = LogCapture(sys.stderr)
    sys.stdout = logs
    module_name, function_name = handler_name.rsplit(".", 1)
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception:
        traceback.print_exc(file=logs)
        protocol.write(json.dumps({"ok": False, "init_error": traceback.format_exc(limit=3),
                                   "logs": logs.take()}) + "\n")
        protocol.flush()
        return 1
    protocol.write(json.dumps({"ok": True, "ready": True, "init_ms": (time.perf_counter() - started) * 1000,
                               "logs": logs.take()}) + "\n")
    protocol.flush()
    for line in sys.stdin:
        message = json.loads(line)
        started = time.perf_counter()
        try:
            reply = {"ok": True, "result": _invoke(handler, message)}
        except Exception as error:
            traceback.print_exc(file=logs)
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        reply["ms"] = (time.perf_counter() - started) * 1000
        reply["logs"] = logs.take()
        try:
            text = json.dumps(reply)
        except (TypeError, ValueError) as error:
            text = json.dumps({"ok": False, "error": f"unable to serialise result: {error}", "ms": reply["ms"],
                               "logs": reply["logs"]})
        protocol.write(text + "\n")
        protocol.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
