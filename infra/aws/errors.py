"""How the AWS tooling turns AWS's refusals into one line a user can act on.

Every tool catches `ToolError` at its entry point, prints the message and exits 1: a user never sees a traceback.
`error_code` is the one place that reads an error code out of botocore's ClientError.
"""
from __future__ import annotations

from typing import Any

__all__ = ["ToolError", "error_code", "error_message", "refusal", "unexpected"]


# The most of AWS's message a refusal repeats: enough for every message meant for people.
_MAX_MESSAGE = 400


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
    code, message = error_code(error) or type(error).__name__, " ".join(error_message(error).split())
    if len(message) > _MAX_MESSAGE:  # some refusals echo the whole request (CloudFormation: the template body)
        message = message[:_MAX_MESSAGE] + "..."
    line = f"unable to {doing}: {code}"
    if message and message != code:
        line += f" ({message})"
    if fix:
        line += f"; {fix}"
    return ToolError(line)


def unexpected(error: Exception) -> ToolError:
    """The one line for an AWS error that no step turned into a refusal of its own (a tool's last resort, so that
    the user still sees the call, the code and the message rather than a traceback)."""
    operation = getattr(error, "operation_name", "")
    if operation:
        return refusal(f"call {operation}", error,
                       "check the caller's permissions for it (aws sts get-caller-identity shows who calls)")
    return ToolError(f"unable to reach AWS: {error}; check the credentials and the network "
                     "(aws sts get-caller-identity)")
