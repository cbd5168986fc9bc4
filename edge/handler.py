"""Lambda@Edge origin-request handler: parse the event, decide whether the origin is the MRAP, sign, render.

What S3 receives is the returned request plus what CloudFront adds afterwards: the origin path in front of `uri`,
the origin custom headers and `X-Amz-Cf-Id: <config.requestId>`. So the signature covers the origin path, the
canonical `uri` and query returned here, `host`, `content-type` if any, and `x-amz-cf-id`, which is signed but not
returned (a function may not set it). Viewer `Authorization` and `x-amz-*` headers never reach S3.

Errors become generated responses here and nowhere else; nothing is raised to CloudFront, and nothing unsigned
or half-signed is returned for the MRAP.
"""
from __future__ import annotations

import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .canonical import canonical_query_string, canonical_uri
from .config import Config, load_config
from .errors import ConfigError, MethodNotAllowed, MrapEdgeError
from .event import Headers, OriginRequest, generated_response, parse_origin_request, render_request
from .failover import SIGN, OriginPolicy
from .log import JsonLogger, redact_event
from .signing import Signer, credentials_from_environment, is_signature_header

__all__ = ["lambda_handler", "sign_for_mrap"]

# What a viewer is told for a server-side failure; the detail goes to the log only.
_SERVER_SIDE_MESSAGES = {500: "the edge function cannot sign requests", 502: "the origin request could not be signed"}


def _load() -> Tuple[Config, Optional[ConfigError]]:
    try:
        return load_config(), None
    except ConfigError as error:
        return Config(), error


CONFIG, CONFIG_ERROR = _load()
LOG = JsonLogger(CONFIG.log_level)
if CONFIG_ERROR is not None:
    LOG.log("ERROR", str(CONFIG_ERROR), error=CONFIG_ERROR.code)
_policy = OriginPolicy(CONFIG)
_signer: Optional[Signer] = None
_fixed_entries: Tuple[Optional[Signer], Headers] = (None, {})
_cold_start = True


def _get_signer() -> Signer:
    global _signer
    if _signer is None:
        _signer = Signer(credentials_from_environment())
    return _signer


def _fixed_entries_of(signer: Signer) -> Headers:
    """The headers a signer adds besides X-Amz-Date and Authorization, in CloudFront's shape. Built once per signer
    and shared by every response, which CloudFront only reads."""
    global _fixed_entries
    if _fixed_entries[0] is not signer:
        entries = {name.lower(): [{"key": name, "value": value}] for name, value in signer.fixed_headers}
        _fixed_entries = (signer, entries)
    return _fixed_entries[1]


def _get_policy() -> OriginPolicy:
    global _policy
    if _policy.config is not CONFIG:
        _policy = OriginPolicy(CONFIG)
    return _policy


def _without_viewer_credentials(headers: Mapping[str, List[Dict[str, str]]]) -> Headers:
    # A viewer's Authorization or x-amz-* header would either break the signature or be unsigned, which S3 refuses.
    # Usually there is nothing to drop: one search of the joined names settles that several times faster than
    # testing each name in Python. A name that merely contains one of the two strings takes the exact path below.
    names = "\n".join(headers).lower()
    if "authorization" not in names and "x-amz-" not in names:
        return dict(headers)
    return {name: entries for name, entries in headers.items() if not is_signature_header(name)}


def sign_for_mrap(request: OriginRequest, config: Config, signer: Signer, now: float) -> Dict[str, Any]:
    """The request to return for the MRAP origin, signed for what CloudFront will put on the wire.

    `now` is in seconds since the epoch. The origin must have passed failover.check_signable."""
    if request.method not in config.allowed_methods:
        raise MethodNotAllowed(method=request.method)
    origin = request.origin
    uri = canonical_uri(request.uri)
    query = canonical_query_string(request.querystring, config.query_allowlist) if request.querystring else ""
    headers = _without_viewer_credentials(request.headers)
    headers["host"] = [{"key": "Host", "value": origin.domain_name}]
    to_sign = [("host", origin.domain_name), ("x-amz-cf-id", request.request_id)]
    # An origin custom header replaces a same-named request header on the wire, so sign the value S3 will see.
    content_type = origin.custom_headers.get("content-type") or headers.get("content-type")
    if content_type:
        to_sign += [("content-type", entry["value"]) for entry in content_type]
    target = (origin.path + uri + "?" + query) if query else (origin.path + uri)
    amz_date, authorization = signer.sign(request.method, target, to_sign, now)
    headers.update(_fixed_entries_of(signer))
    headers["x-amz-date"] = [{"key": "X-Amz-Date", "value": amz_date}]
    headers["authorization"] = [{"key": "Authorization", "value": authorization}]
    return render_request(request, uri, query, headers)


def _error_response(error: MrapEdgeError, request: Optional[OriginRequest]) -> Dict[str, Any]:
    status = error.status_hint
    request_id = request.request_id if request else None
    LOG.log(
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
        extra = {"allow": [{"key": "Allow", "value": ", ".join(CONFIG.allowed_methods)}]}
    viewer_message = _SERVER_SIDE_MESSAGES.get(status, str(error))
    return generated_response(status, request_id, viewer_message, extra)


def lambda_handler(event: Any, context: Any) -> Dict[str, Any]:
    global _cold_start
    cold_start, _cold_start = _cold_start, False
    request: Optional[OriginRequest] = None
    try:
        request = parse_origin_request(event)
        if LOG.debug_enabled:
            LOG.log("DEBUG", "origin request", request_id=request.request_id, event=redact_event(event))
        if CONFIG_ERROR is not None:
            raise CONFIG_ERROR
        decision = _get_policy().decide(request.origin)
        if decision != SIGN:
            LOG.log("INFO", "passed through", request_id=request.request_id, decision=decision,
                    origin=request.origin.domain_name, cold_start=cold_start)
            return dict(request.raw)
        signed = sign_for_mrap(request, CONFIG, _get_signer(), time.time())
        if LOG.info_enabled:
            LOG.log("INFO", "signed", request_id=request.request_id, origin=request.origin.domain_name,
                    uri=signed["uri"], querystring=signed["querystring"], cold_start=cold_start)
        return signed
    except MrapEdgeError as error:
        return _error_response(error, request)
    except Exception as error:  # never raise to CloudFront: it would answer 503 with no reason
        LOG.log("ERROR", f"unexpected {type(error).__name__}: {error}",
                request_id=request.request_id if request else None, error="Unexpected")
        return generated_response(500, request.request_id if request else None, _SERVER_SIDE_MESSAGES[500])
