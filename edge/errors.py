"""The function's errors. Each carries the status CloudFront should answer with; only the handler turns them into
responses, and the viewer sees the status and the request id, never the message."""
from __future__ import annotations

__all__ = [
    "MrapEdgeError",
    "BadRequest",
    "NotAnObject",
    "MethodNotAllowed",
    "UriTooLong",
    "InvalidEvent",
    "ConfigError",
    "OriginMisconfigured",
    "CredentialsError",
    "SigningError",
]


class MrapEdgeError(Exception):
    """Base error: `fmt` is formatted with the keyword arguments, which stay on the instance for the log line."""

    fmt = "unable to handle request"
    status_hint = 500

    def __init__(self, **fields: object) -> None:
        self.fields = fields
        super().__init__(self.fmt.format(**fields))

    @property
    def code(self) -> str:
        return type(self).__name__


class BadRequest(MrapEdgeError):
    fmt = "unable to read request {part}: {reason}"
    status_hint = 400


class NotAnObject(MrapEdgeError):
    """The request would select another S3 operation than reading an object (a listing): answered as a missing
    object is, without signing anything."""

    fmt = "unable to read object: {reason}"
    status_hint = 404


class MethodNotAllowed(MrapEdgeError):
    fmt = "unable to sign method: {method}"
    status_hint = 405


class UriTooLong(MrapEdgeError):
    fmt = "unable to sign request: {length} characters of origin path, path and query, CloudFront's limit is {limit}"
    status_hint = 414


class InvalidEvent(MrapEdgeError):
    fmt = "unable to read event: {reason}"
    status_hint = 500


class ConfigError(MrapEdgeError):
    fmt = "unable to load configuration {source}: {reason}"
    status_hint = 500


class OriginMisconfigured(MrapEdgeError):
    """What the distribution adds to this origin's requests would break every signature: the fix is in the
    distribution's settings, not in the request or the function."""

    fmt = "distribution misconfiguration: {problem}; {fix}"
    status_hint = 500


class CredentialsError(MrapEdgeError):
    fmt = "unable to read credentials: {reason}"
    status_hint = 500


class SigningError(MrapEdgeError):
    fmt = "unable to sign request: {reason}"
    status_hint = 502
