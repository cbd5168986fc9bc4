"""How the AWS tooling turns AWS's refusals into one line a user can act on.

Every tool catches `ToolError` at its entry point, prints the message and exits 1: a user never sees a traceback.
`error_code` is the one place that reads an error code out of botocore's ClientError.
"""
from __future__ import annotations

from typing import Any

__all__ = ["ToolError", "error_code", "error_message", "refusal"]


class ToolError(Exception):
    """A failure the user can act on; the CLI prints the message and exits 1, without a traceback."""


def error_code(error: Any) -> str:
    """The AWS error code of a botocore ClientError ("AccessDenied", "NoSuchBucket", "404" for a HEAD...)."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(error: Any) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")).strip()


def refusal(doing: str, error: Any, fix: str = "") -> ToolError:
    """"unable to <doing>: <Code> (<Message>); <fix>", as one line."""
    code, message = error_code(error) or type(error).__name__, error_message(error)
    line = f"unable to {doing}: {code}"
    if message and message != code:
        line += f" ({message})"
    if fix:
        line += f"; {fix}"
    return ToolError(line)
