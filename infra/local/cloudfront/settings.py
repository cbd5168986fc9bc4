"""The distribution settings the CloudFront stand-in runs with, read from `cloudformation.template` when it has them,
so that what runs locally is what will be deployed.

Read: the `mrap` (custom) and `failover` (S3) origins of resource `Distribution`, the origin group's failover status
codes, the default behaviour's allowed methods and Compress flag, the distribution's custom error responses, and the
header/query-string whitelists and TTL of resources `CachePolicy` and `OriginRequestPolicy`. `Ref` resolves to a
parameter's Default (a CommaDelimitedList to its items) and `Fn::Sub`/`Fn::Join`/`Fn::Split` are evaluated when
everything in them resolves; anything else (for example the failover bucket's `Fn::GetAtt`) is ignored and the
built-in default below is used instead.

`trusted_keys_from_template` reads the signed-URL key group of the default behaviour.

Native mode: the `mrap` origin's `OriginAccessControlId` is followed to its `AWS::CloudFront::OriginAccessControl`
resource (its own Condition) for the `SigningProtocol`, and the default behaviour's `LambdaFunctionAssociations`
give the function's event types; with the stack's parameter values (`NativeMode=true`) the first is `sigv4a` and
the second empty.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Literal, Mapping, Optional, Tuple

from infra.local.cloudformation import TEMPLATE_FILE, Evaluator, Unresolved
from infra.local.cloudfront.signed_requests import local_public_key_id

__all__ = [
    "ErrorResponse",
    "OriginSettings",
    "DistributionSettings",
    "DEFAULT_MRAP_HOST",
    "DEFAULT_SETTINGS",
    "TEMPLATE_FILE",
    "load_settings",
    "settings_from_template",
    "trusted_keys_from_template",
    "OriginKind",
]

DEFAULT_MRAP_HOST = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"


# Which object the origin-request event carries for an origin.
OriginKind = Literal["custom", "s3"]


@dataclass(frozen=True)
class OriginSettings:
    origin_id: str
    kind: OriginKind
    domain_name: str  # for the S3 origin the stack replaces it with its local failover bucket's domain
    path: str = ""
    custom_headers: Tuple[Tuple[str, str], ...] = ()
    read_timeout: int = 30  # seconds; CloudFront's default origin response timeout
    keepalive_timeout: int = 5


@dataclass(frozen=True)
class ErrorResponse:
    """One CustomErrorResponses item: for `code` from the origin, serve `page_path` with `response_code`."""

    code: int
    page_path: str = ""  # empty: CloudFront's own answer, only the error caching time changes
    response_code: int = 0
    min_ttl: int = 10  # ErrorCachingMinTTL; CloudFront's default is 10 s


@dataclass(frozen=True)
class DistributionSettings:
    primary: OriginSettings
    failover: OriginSettings
    # Origin group FailoverCriteria: statuses from the primary that make CloudFront try the secondary.
    failover_codes: frozenset
    # Viewer headers (lower-case) and query-string names forwarded to the origin: cache policy + origin request policy.
    forwarded_headers: Tuple[str, ...]
    forwarded_query: Tuple[str, ...]
    # What the cache key is made of (the cache policy alone); a subset of what is forwarded.
    cache_key_headers: Tuple[str, ...]
    cache_key_query: Tuple[str, ...]
    allowed_methods: Tuple[str, ...] = ("GET", "HEAD", "OPTIONS")
    compress: bool = True  # default behaviour's Compress: Accept-Encoding is normalised for the origin
    # The cache policy's TTLs: DefaultTTL when the origin says nothing, MinTTL and MaxTTL bound what it says.
    default_ttl: int = 0
    min_ttl: int = 0
    max_ttl: int = 31536000
    # The behaviour's trusted key groups: (key pair id, PEM public key) of every key; empty: no signed URLs needed.
    trusted_keys: Tuple[Tuple[str, str], ...] = ()
    source: str = "built-in defaults"
    unresolved: Tuple[str, ...] = field(default=(), compare=False)
    error_responses: Tuple[ErrorResponse, ...] = ()
    # The function's Timeout and MemorySize (resource `Function`); the template's defaults.
    function_timeout_s: float = 5.0
    function_memory_mb: int = 512
    # Which of the stack's buckets (its `BucketNames`/`BucketRegions` index) the failover origin names.
    failover_bucket_index: int = 0
    # The signing protocol of the origin access control on the MRAP origin: "sigv4a" in native mode (CloudFront
    # signs), "" when the origin has none (the function signs).
    primary_oac_protocol: str = ""
    # The event types of the default behaviour's Lambda@Edge associations.
    function_events: Tuple[str, ...] = ("origin-request",)

    def with_failover_domain(self, domain_name: str) -> "DistributionSettings":
        return replace(self, failover=replace(self.failover, domain_name=domain_name))


# Defaults matching the project's template: Range is not in a whitelist because CloudFront forwards it for GET/HEAD
# on its own, but the event must still carry it; conditional headers are forwarded the same way.
DEFAULT_SETTINGS = DistributionSettings(
    primary=OriginSettings(origin_id="mrap", kind="custom", domain_name=DEFAULT_MRAP_HOST),
    failover=OriginSettings(
        origin_id="failover",
        kind="s3",
        domain_name="failover-bucket.s3.us-east-2.amazonaws.com",
        custom_headers=(("originTypeFailover", "true"),),
    ),
    failover_codes=frozenset({500, 502, 503, 504}),
    forwarded_headers=("origin", "access-control-request-method", "access-control-request-headers"),
    forwarded_query=("versionId", "partNumber"),
    cache_key_headers=("origin", "access-control-request-method", "access-control-request-headers"),
    cache_key_query=("versionId", "partNumber"),
)


def load_settings(path: Optional[Path] = None, parameters: Optional[Mapping[str, str]] = None) -> DistributionSettings:
    """Settings from the template file (built-in defaults when there is none, or it has no Distribution).
    `parameters` are stack parameter values; so far only the signed-URL key parameters are read from them."""
    path = TEMPLATE_FILE if path is None else Path(path)
    if not path.is_file():
        return DEFAULT_SETTINGS
    template = json.loads(path.read_text(encoding="utf-8"))
    return settings_from_template(template, source=path.name, parameters=parameters)


def settings_from_template(template: Mapping[str, Any], source: str = "(template)",
                           parameters: Optional[Mapping[str, str]] = None) -> DistributionSettings:
    settings = _settings_from_template(template, source, parameters or {})
    settings = replace(settings, **_signing_at_the_mrap(template, parameters or {}))
    keys = trusted_keys_from_template(template, parameters or {})
    return replace(settings, trusted_keys=keys) if keys else settings


def _signing_at_the_mrap(template: Mapping[str, Any], parameters: Mapping[str, str]) -> Dict[str, Any]:
    """Who signs for the MRAP origin with these parameter values: the protocol of the origin access control its
    `OriginAccessControlId` names (followed through `Fn::If` to the resource), and the default behaviour's function
    event types."""
    evaluator = Evaluator(template, parameters=parameters, keep_resource_refs=True)
    resources: Mapping[str, Any] = template.get("Resources") or {}
    config = _props(resources, "Distribution").get("DistributionConfig")
    if not isinstance(config, Mapping):
        return {}
    origins = {o.get("Id"): o for o in config.get("Origins") or [] if isinstance(o, Mapping)}
    oac = evaluator.value((origins.get("mrap") or {}).get("OriginAccessControlId"), None)
    protocol = ""
    if isinstance(oac, Mapping) and "Fn::GetAtt" in oac:
        resource = resources.get(oac["Fn::GetAtt"][0]) or {}
        if "Condition" not in resource or evaluator.condition(resource["Condition"]):
            oac_config = (resource.get("Properties") or {}).get("OriginAccessControlConfig") or {}
            protocol = str(evaluator.value(oac_config.get("SigningProtocol"), ""))
    behaviour = config.get("DefaultCacheBehavior") or {}
    associations = evaluator.value(behaviour.get("LambdaFunctionAssociations"), [])
    events = tuple(str(a.get("EventType")) for a in associations if isinstance(a, Mapping)) \
        if isinstance(associations, list) else ()
    return {"primary_oac_protocol": protocol, "function_events": events}


def _settings_from_template(template: Mapping[str, Any], source: str,
                            parameters: Mapping[str, str]) -> DistributionSettings:
    resolver = Evaluator(template, parameters=parameters)
    resources: Mapping[str, Any] = template.get("Resources") or {}
    config = _props(resources, "Distribution").get("DistributionConfig")
    if not isinstance(config, Mapping):
        return DEFAULT_SETTINGS
    settings = DEFAULT_SETTINGS
    origins = {o.get("Id"): o for o in config.get("Origins") or [] if isinstance(o, Mapping)}
    if "mrap" in origins:
        settings = replace(settings, primary=_origin(resolver, origins["mrap"], settings.primary))
    if "failover" in origins:
        settings = replace(settings, failover=_origin(resolver, origins["failover"], settings.failover),
                           failover_bucket_index=_selected_index(origins["failover"].get("DomainName"),
                                                                 "BucketRegions", settings.failover_bucket_index))
    function = _props(resources, "Function")
    settings = replace(
        settings,
        function_timeout_s=float(resolver.value(function.get("Timeout"), settings.function_timeout_s)),
        function_memory_mb=int(resolver.value(function.get("MemorySize"), settings.function_memory_mb)),
    )
    codes = _failover_codes(resolver, config)
    if codes:
        settings = replace(settings, failover_codes=frozenset(codes))
    behaviour = config.get("DefaultCacheBehavior") or {}
    methods = resolver.value(behaviour.get("AllowedMethods"), None)
    if isinstance(methods, list):
        settings = replace(settings, allowed_methods=tuple(str(m).upper() for m in methods))
    compress = resolver.value(behaviour.get("Compress"), None)
    if compress is not None:
        settings = replace(settings, compress=str(compress).lower() == "true")
    cache = _props(resources, "CachePolicy").get("CachePolicyConfig") or {}
    request = _props(resources, "OriginRequestPolicy").get("OriginRequestPolicyConfig") or {}
    cache_params = cache.get("ParametersInCacheKeyAndForwardedToOrigin") or {}
    cache_headers = _whitelist(resolver, cache_params.get("HeadersConfig"), "Header")
    cache_query = _whitelist(resolver, cache_params.get("QueryStringsConfig"), "QueryString")
    request_headers = _whitelist(resolver, request.get("HeadersConfig"), "Header")
    request_query = _whitelist(resolver, request.get("QueryStringsConfig"), "QueryString")
    if cache_headers is not None or request_headers is not None:
        key = tuple(h.lower() for h in cache_headers or ())
        settings = replace(
            settings,
            cache_key_headers=key,
            forwarded_headers=_union(key, tuple(h.lower() for h in request_headers or ())),
        )
    if cache_query is not None or request_query is not None:
        key = tuple(cache_query or ())
        settings = replace(settings, cache_key_query=key, forwarded_query=_union(key, tuple(request_query or ())))
    errors = _error_responses(resolver, config)
    if errors:
        settings = replace(settings, error_responses=errors)
    for key, field_name in (("DefaultTTL", "default_ttl"), ("MinTTL", "min_ttl"), ("MaxTTL", "max_ttl")):
        ttl = resolver.value(cache.get(key), None)
        if ttl is not None:
            settings = replace(settings, **{field_name: int(ttl)})
    return replace(settings, source=source, unresolved=tuple(resolver.unresolved))


def _props(resources: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    resource = resources.get(name) or {}
    return resource.get("Properties") or {}


def _origin(resolver: Evaluator, origin: Mapping[str, Any], default: OriginSettings) -> OriginSettings:
    domain = resolver.value(origin.get("DomainName"), default.domain_name)
    path = resolver.value(origin.get("OriginPath"), default.path) or ""
    headers = tuple(
        (str(resolver.value(h.get("HeaderName"), "")), str(resolver.value(h.get("HeaderValue"), "")))
        for h in origin.get("OriginCustomHeaders") or []
    )
    custom = origin.get("CustomOriginConfig") or {}
    s3 = resolver.value(origin.get("S3OriginConfig"), None)
    return replace(
        default,
        kind="s3" if isinstance(s3, Mapping) else default.kind,
        domain_name=str(domain),
        path=str(path),
        custom_headers=tuple(h for h in headers if h[0]) or default.custom_headers,
        read_timeout=int(resolver.value(custom.get("OriginReadTimeout"), default.read_timeout)),
        keepalive_timeout=int(resolver.value(custom.get("OriginKeepaliveTimeout"), default.keepalive_timeout)),
    )


def _selected_index(node: Any, parameter: str, default: int) -> int:
    """The index of the first `{"Fn::Select": [i, {"Ref": parameter}]}` inside `node` (default: none there)."""
    if isinstance(node, Mapping):
        select = node.get("Fn::Select")
        if isinstance(select, list) and len(select) == 2 and select[1] == {"Ref": parameter}:
            return int(select[0])
        nodes: List[Any] = list(node.values())
    elif isinstance(node, list):
        nodes = node
    else:
        return default
    for child in nodes:
        found = _selected_index(child, parameter, -1)
        if found >= 0:
            return found
    return default


def _failover_codes(resolver: Evaluator, config: Mapping[str, Any]) -> List[int]:
    groups = (config.get("OriginGroups") or {}).get("Items") or []
    for group in groups:
        if group.get("Id") != "mrap-with-failover":
            continue
        items = resolver.value(((group.get("FailoverCriteria") or {}).get("StatusCodes") or {}).get("Items"), None)
        if isinstance(items, list):
            return [int(code) for code in items]
    return []


def _error_responses(resolver: Evaluator, config: Mapping[str, Any]) -> Tuple[ErrorResponse, ...]:
    items = resolver.value(config.get("CustomErrorResponses"), None)
    if not isinstance(items, list):
        return ()
    return tuple(
        ErrorResponse(code=int(item["ErrorCode"]), page_path=str(item.get("ResponsePagePath", "")),
                      response_code=int(item.get("ResponseCode") or item["ErrorCode"]),
                      min_ttl=int(item.get("ErrorCachingMinTTL", 10)))
        for item in items if isinstance(item, Mapping) and "ErrorCode" in item
    )


def _whitelist(resolver: Evaluator, config: Any, kind: str) -> Optional[Tuple[str, ...]]:
    """The names of a whitelist config (HeadersConfig/QueryStringsConfig); None when the template says nothing."""
    if not isinstance(config, Mapping):
        return None
    behaviour = str(resolver.value(config.get(f"{kind}Behavior"), "none"))
    if behaviour.lower() not in ("whitelist", "allviewerandwhitelistcloudfront"):
        return ()
    names = resolver.value(config.get(f"{kind}s"), [])
    return tuple(str(n) for n in names) if isinstance(names, list) else ()


def _union(first: Tuple[str, ...], second: Tuple[str, ...]) -> Tuple[str, ...]:
    return first + tuple(name for name in second if name not in first)


def trusted_keys_from_template(template: Mapping[str, Any],
                               parameters: Mapping[str, str]) -> Tuple[Tuple[str, str], ...]:
    """The default behaviour's trusted key groups with `parameters` (else the parameters' defaults) filled in:
    `TrustedKeyGroups` (an `Fn::If` on a condition is evaluated) -> `AWS::CloudFront::KeyGroup` resources (their
    own Condition, `Items` with `Fn::If`) -> `AWS::CloudFront::PublicKey` resources -> `EncodedKey`. Each key gets
    the stand-in's id for it (`signed_requests.local_public_key_id`)."""
    evaluator = Evaluator(template, parameters={name: str(value) for name, value in parameters.items()},
                          keep_resource_refs=True)
    resources: Mapping[str, Any] = template.get("Resources") or {}
    try:
        return _trusted_keys(evaluator, resources)
    except Unresolved as error:
        raise ValueError(f"unable to read the trusted key groups: {error}") from None


def _trusted_keys(evaluator: Evaluator, resources: Mapping[str, Any]) -> Tuple[Tuple[str, str], ...]:
    def present(name: str) -> bool:
        resource = resources.get(name) or {}
        return "Condition" not in resource or evaluator.condition(resource["Condition"])

    def refs(node: Any) -> List[str]:
        items = evaluator.resolve(node)
        return [i["Ref"] for i in items if isinstance(i, Mapping) and i.get("Ref") and present(i["Ref"])] \
            if isinstance(items, list) else []

    config = _props(resources, "Distribution").get("DistributionConfig") or {}
    keys: List[Tuple[str, str]] = []
    for group in refs((config.get("DefaultCacheBehavior") or {}).get("TrustedKeyGroups")):
        for key_name in refs((_props(resources, group).get("KeyGroupConfig") or {}).get("Items")):
            pem = evaluator.resolve((_props(resources, key_name).get("PublicKeyConfig") or {}).get("EncodedKey"))
            if isinstance(pem, str) and pem.strip():
                keys.append((local_public_key_id(pem), pem.strip() + "\n"))
    return tuple(keys)
