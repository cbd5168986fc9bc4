"""Lambda@Edge origin-request handler: parse the event, decide whether the origin is the MRAP, sign, render.

What S3 receives is the returned request plus what CloudFront adds afterwards: the origin path in front of `uri`,
the origin custom headers and `X-Amz-Cf-Id: <config.requestId>`. So the signature covers the origin path, the
canonical `uri` and query returned here, `host`, `content-type` if any, and `x-amz-cf-id`, which is signed but not
returned (a function may not set it). Viewer `Authorization` and `x-amz-*` headers never reach S3.

Errors become generated responses here and nowhere else; nothing is raised to CloudFront, and nothing unsigned
or half-signed is returned for the MRAP. The rules live in their own modules: event.py (reading the event and
answering), origins.py (which origins are signed), canonical.py (path and query), headers.py (every header rule),
signing.py (awscrt), config.py; this module only wires them. What a container keeps between requests is one
Runtime object, RUNTIME, which tests replace as a whole.
"""
from __future__ import annotations

import time

from .canonical import canonical_query_string, canonical_uri
from .config import Config, load_config
from .errors import ConfigError, MethodNotAllowed, MrapEdgeError, UriTooLong
from .event import generated_response, parse_origin_request, render_request, request_id_of
from .headers import entries_of, forwarded_headers, headers_to_sign, signed_request_headers
from .log import JsonLogger, redact_event
from .objects import check_object_read
from .origins import SIGN, OriginMemo
from .signing import Signer, credentials_from_environment

__all__ = ["lambda_handler", "sign_for_mrap", "Runtime", "RUNTIME", "MAX_TARGET_LENGTH"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Optional

    from .event import Headers, OriginRequest

# What a viewer is told for a server-side failure; the detail goes to the log only.
_SERVER_SIDE_MESSAGES = {500: "the edge function cannot sign requests", 502: "the origin request could not be signed"}
# CloudFront refuses an origin request whose origin path + path + query reach 8,192 characters, with a 502 of its
# own that says nothing; the function answers 414 with the request id instead.
MAX_TARGET_LENGTH = 8192


class Runtime:
    """What one container keeps between requests: the configuration (or why it could not be read), the logger,
    the origin memo and the signer, built at the first request that needs it (it reads the credentials)."""

    __slots__ = ("config", "config_error", "log", "origins", "cold_start", "_signer", "_added")

    def __init__(self, config: Config, config_error: Optional[ConfigError] = None, log: Optional[JsonLogger] = None,
                 signer: Optional[Signer] = None) -> None:
        self.config = config
        self.config_error = config_error
        self.log = log if log is not None else JsonLogger(config.log_level)
        self.origins = OriginMemo(config)
        self.cold_start = True
        self._signer = signer
        self._added: Headers = entries_of(signer.fixed_headers) if signer is not None else {}

    @classmethod
    def from_package(cls) -> Runtime:
        """The runtime for the packaged configuration file; a bad file is logged once here, and every request then
        gets a generated 500 naming it in the log."""
        try:
            runtime = cls(load_config())
        except ConfigError as error:
            runtime = cls(Config(), error)
            runtime.log.log("ERROR", str(error), error=error.code)
        return runtime

    def signer(self) -> Signer:
        if self._signer is None:
            self._signer = Signer(credentials_from_environment())
            # The headers the signer adds besides X-Amz-Date and Authorization, in CloudFront's shape: built once
            # and shared by every response, which CloudFront only reads.
            self._added = entries_of(self._signer.fixed_headers)
        return self._signer

    def added_headers(self) -> Headers:
        return self._added


def sign_for_mrap(request: OriginRequest, config: Config, signer: Signer, now: float,
                  added: Optional[Headers] = None) -> Dict[str, Any]:
    """The request to return for the MRAP origin, signed for what CloudFront will put on the wire.

    `now` is in seconds since the epoch; `added` is `signer.fixed_headers` in CloudFront's shape (built here when not
    given). The origin must have passed origins.check_signable."""
    if request.method not in config.allowed_methods:
        raise MethodNotAllowed(method=request.method)
    origin = request.origin
    uri = canonical_uri(request.uri)
    query = canonical_query_string(request.querystring, config.query_allowlist) if request.querystring else ""
    check_object_read(origin.path + uri)
    target = (origin.path + uri + "?" + query) if query else (origin.path + uri)
    if len(target) >= MAX_TARGET_LENGTH:
        raise UriTooLong(length=len(target), limit=f"fewer than {MAX_TARGET_LENGTH}")
    amz_date, authorization = signer.sign(request.method, target, headers_to_sign(request).items(), now)
    headers = signed_request_headers(forwarded_headers(request), origin.domain_name,
                                     added if added is not None else entries_of(signer.fixed_headers),
                                     amz_date, authorization)
    return render_request(request, uri, query, headers)


def _error_response(runtime: Runtime, error: MrapEdgeError, request_id: Optional[str],
                    request: Optional[OriginRequest]) -> Dict[str, Any]:
    status = error.status_hint
    runtime.log.log(
        "ERROR" if status >= 500 else "WARNING",
        str(error),
        error=error.code,
        status=status,
        request_id=request_id,
        distribution_id=request.distribution_id if request else None,
        origin=request.origin.domain_name if request else None,
    )
    extra = None
    if status == 405:
        extra = {"allow": [{"key": "Allow", "value": ", ".join(runtime.config.allowed_methods)}]}
    viewer_message = _SERVER_SIDE_MESSAGES.get(status, str(error))
    return generated_response(status, request_id, viewer_message, extra)


def lambda_handler(event: Any, context: Any) -> Dict[str, Any]:
    runtime = RUNTIME
    cold_start, runtime.cold_start = runtime.cold_start, False
    # First, and on its own: whatever else is wrong with the event, the answer and the log line carry this id.
    request_id = request_id_of(event)
    request: Optional[OriginRequest] = None
    log = runtime.log
    try:
        request = parse_origin_request(event)
        if log.debug_enabled:
            log.log("DEBUG", "origin request", request_id=request_id, event=redact_event(event))
        if runtime.config_error is not None:
            # Answered, not raised: raising the one stored error again on every request would grow its traceback
            # (and keep each request's frames alive) for as long as the container lives.
            return _error_response(runtime, runtime.config_error, request_id, request)
        decision = runtime.origins.decide(request.origin)
        if decision != SIGN:
            log.log("INFO", "passed through", request_id=request_id, decision=decision,
                    origin=request.origin.domain_name, cold_start=cold_start)
            return dict(request.raw)
        signer = runtime.signer()
        signed = sign_for_mrap(request, runtime.config, signer, time.time(), runtime.added_headers())
        if log.info_enabled:
            log.log("INFO", "signed", request_id=request_id, origin=request.origin.domain_name,
                    uri=signed["uri"], querystring=signed["querystring"], cold_start=cold_start)
        return signed
    except MrapEdgeError as error:
        return _error_response(runtime, error, request_id, request)
    except Exception as error:  # never raise to CloudFront: it would answer 503 with no reason
        log.log("ERROR", f"unexpected {type(error).__name__}: {error}", request_id=request_id, error="Unexpected")
        return generated_response(500, request_id, _SERVER_SIDE_MESSAGES[500])


RUNTIME = Runtime.from_package()
