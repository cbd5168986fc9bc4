"""The origin-request event as the function sees it, and the two things it can hand back: a request or a response.

Documentation: CloudFront Developer Guide, "Lambda@Edge event structure" (origin request) and "Generating HTTP
responses in request triggers". Headers keep CloudFront's shape, {lower-case name: [{"key": Name, "value": v}]}:
the lower-case name drives the logic and the original `key` is what goes back on the wire.
"""
from __future__ import annotations

from collections import namedtuple

from .errors import InvalidEvent

__all__ = [
    "Headers", "Origin", "OriginRequest", "request_id_of", "parse_origin_request", "render_request",
    "generated_response",
]

TYPE_CHECKING = False  # typing is not imported at run time: it would cost more than the rest of this module
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, NamedTuple, Optional

    Headers = Dict[str, List[Dict[str, str]]]

    # Immutable views built once per request. They are tuples because a tuple is built several times faster than
    # a frozen dataclass, and every microsecond here is paid again per request; the fast path below builds them
    # with tuple.__new__, which skips the generated Python-level __new__ and halves the cost again.
    class Origin(NamedTuple):
        kind: str  # "custom" or "s3", the key CloudFront uses in request.origin
        domain_name: str
        path: str  # CloudFront prepends it to `uri` on the wire; it is not part of `uri`
        custom_headers: Mapping[str, List[Dict[str, str]]]  # keyed by the lower-case name, as CloudFront sends them

    class OriginRequest(NamedTuple):
        request_id: str  # config.requestId: CloudFront sends it to the origin as X-Amz-Cf-Id
        distribution_id: str
        method: str
        uri: str
        querystring: str
        headers: Mapping[str, List[Dict[str, str]]]
        origin: Origin
        raw: Mapping[str, Any]  # the request object as received, returned untouched when not signing
else:
    # The same fields at run time, without typing's machinery.
    Origin = namedtuple("Origin", "kind domain_name path custom_headers")
    OriginRequest = namedtuple("OriginRequest", "request_id distribution_id method uri querystring headers origin raw")

_ORIGIN_KINDS = ("custom", "s3")
_REASONS = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 414: "URI Too Long",
            500: "Internal Server Error", 502: "Bad Gateway"}


def request_id_of(event: Any) -> Optional[str]:
    """`Records[0].cf.config.requestId` when it is there, whatever is wrong with the rest of the event.

    Read first and on its own, so that even an event the function cannot use (a function attached to the wrong
    trigger, say) gets an answer and a log line that carry the id the viewer's report can be found by."""
    try:
        request_id = event["Records"][0]["cf"]["config"]["requestId"]
    except (KeyError, IndexError, TypeError):
        return None
    return request_id if type(request_id) is str and request_id else None


_new = tuple.__new__


def _require(mapping: Any, key: str, kind: type, where: str) -> Any:
    # Events arrive as parsed JSON, so objects are exactly dicts, lists and strs; `type() is` is the cheapest test.
    value = mapping.get(key) if type(mapping) is dict else None
    if type(value) is not kind:
        raise InvalidEvent(reason=f"{where}.{key} is missing or not a {kind.__name__}")
    return value


def parse_origin_request(event: Any) -> OriginRequest:
    """Read the fields the signer needs; raise InvalidEvent naming the first one that is wrong."""
    # Fast path for the event CloudFront sends, which always has every field read here; anything unexpected, a
    # missing optional field included, goes through the field-by-field reading below, which says what is wrong and
    # applies the defaults. Both read the same fields.
    try:
        cf = event["Records"][0]["cf"]
        config, request = cf["config"], cf["request"]
        ((kind, spec),) = request["origin"].items()
        uri, headers, domain_name = request["uri"], request["headers"], spec["domainName"]
        request_id, method = config["requestId"], request["method"]
        if (
            config["eventType"] != "origin-request"
            or kind not in _ORIGIN_KINDS
            or type(uri) is not str
            or not uri.startswith("/")
            or type(headers) is not dict
            or type(domain_name) is not str
            or type(request_id) is not str
            or type(method) is not str
        ):
            raise ValueError(kind)
        origin = _new(Origin, (kind, domain_name, spec["path"] or "", spec["customHeaders"] or {}))
        return _new(OriginRequest, (request_id, config["distributionId"] or "", method, uri,
                                    request["querystring"] or "", headers, origin, request))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return _read_field_by_field(event)


def _read_field_by_field(event: Any) -> OriginRequest:
    records = _require(event, "Records", list, "event")
    if not records:
        raise InvalidEvent(reason="event.Records is empty")
    cf = _require(records[0], "cf", dict, "Records[0]")
    config = _require(cf, "config", dict, "cf")
    event_type = config.get("eventType")
    if event_type != "origin-request":
        raise InvalidEvent(reason=f"eventType is {event_type!r}, not 'origin-request'")
    request = _require(cf, "request", dict, "cf")
    origin_spec = _require(request, "origin", dict, "request")
    kind = "custom" if "custom" in origin_spec else "s3"
    if len(origin_spec) != 1 or kind not in origin_spec:
        raise InvalidEvent(reason="request.origin must hold exactly one of 'custom' or 's3'")
    spec = _require(origin_spec, kind, dict, "request.origin")
    uri = _require(request, "uri", str, "request")
    if not uri.startswith("/"):
        raise InvalidEvent(reason="request.uri does not start with '/'")
    return OriginRequest(
        request_id=_require(config, "requestId", str, "cf.config"),
        distribution_id=config.get("distributionId") or "",
        method=_require(request, "method", str, "request"),
        uri=uri,
        querystring=request.get("querystring") or "",
        headers=_require(request, "headers", dict, "request"),
        origin=Origin(
            kind=kind,
            domain_name=_require(spec, "domainName", str, "request.origin." + kind),
            path=spec.get("path") or "",
            custom_headers=spec.get("customHeaders") or {},
        ),
        raw=request,
    )


def render_request(request: OriginRequest, uri: str, querystring: str, headers: Headers) -> Dict[str, Any]:
    """The request to return: the one received with a new uri, query string and headers; all else as it came."""
    rendered = dict(request.raw)
    rendered["uri"] = uri
    rendered["querystring"] = querystring
    rendered["headers"] = headers
    return rendered


def generated_response(
    status: int, request_id: Optional[str], message: str, extra_headers: Optional[Headers] = None
) -> Dict[str, Any]:
    """A short plain-text response that CloudFront serves instead of contacting the origin. `no-store`, so an
    error is never cached; the body names the request id so a viewer's report can be found in the logs."""
    reason = _REASONS.get(status, "Error")
    body = f"{status} {reason}: {message}\nRequest ID: {request_id or 'unknown'}\n"
    headers: Headers = {
        "content-type": [{"key": "Content-Type", "value": "text/plain; charset=utf-8"}],
        "cache-control": [{"key": "Cache-Control", "value": "no-store"}],
    }
    headers.update(extra_headers or {})
    return {"status": str(status), "statusDescription": reason, "headers": headers, "body": body}
