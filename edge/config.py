"""The function's configuration, read once per container from a JSON file packaged beside the code.

Lambda@Edge has no environment variables and no layers, so the deployment zip carries `edge/mrap-edge.json`.
Precedence: explicit argument > that file > the defaults below. Every key is checked when the file is read; an
unknown key or a bad value is a ConfigError that names the file, the key and the value.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Pattern, Tuple

from .errors import ConfigError

__all__ = ["Config", "CONFIG_FILE", "load_config", "DEFAULT_HOST_PATTERNS", "SIGNABLE_METHODS", "LOG_LEVELS"]

CONFIG_FILE = Path(__file__).with_name("mrap-edge.json")

# An MRAP alias ends in ".mrap", so its host is <label>.mrap.accesspoint.s3-global.amazonaws.com.
DEFAULT_HOST_PATTERNS = ("*.mrap.accesspoint.s3-global.amazonaws.com",)
# OPTIONS is accepted so that CORS preflights can be signed when a user opts in; S3 answers it for an MRAP.
SIGNABLE_METHODS = ("GET", "HEAD", "OPTIONS")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# RFC 7230 token: what a header name may be.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# A host pattern: DNS labels, where a label may be "*" (exactly one label of letters, digits and hyphens).
_HOST_PATTERN = re.compile(r"^(\*|[a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.(\*|[a-z0-9]([a-z0-9-]*[a-z0-9])?))+$")
# S3's query parameters are named with unreserved characters only, so a name is its own canonical form.
_PARAMETER_NAME = re.compile(r"^[A-Za-z0-9\-._~]+$")
# Query parameter names S3 reads as part of a presigned request; passing one through would break the signature.
_PRESIGN_PARAMS = re.compile(r"^x-amz-", re.IGNORECASE)


@dataclass(frozen=True)
class Config:
    # Origin custom header that marks a failover (secondary) origin: such a request is returned untouched.
    failover_header: str = "originTypeFailover"
    # Hosts that are MRAPs and get signed; "*" stands for one DNS label. Matched case-insensitively.
    mrap_host_patterns: Tuple[str, ...] = DEFAULT_HOST_PATTERNS
    # Query parameters passed to S3 (signed); every other parameter is dropped. Case-sensitive, as S3 is.
    query_allowlist: Tuple[str, ...] = ("versionId", "partNumber")
    # Methods that are signed; any other method gets a generated 405 with an Allow header.
    allowed_methods: Tuple[str, ...] = ("GET", "HEAD")
    # DEBUG also logs each incoming event (credentials and signatures redacted) so it can become a fixture.
    log_level: str = "WARNING"
    _host_regex: Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        source = "(arguments)"
        _check_header_name(source, "failover_header", self.failover_header)
        for pattern in self.mrap_host_patterns:
            if not isinstance(pattern, str) or not _HOST_PATTERN.match(pattern.lower()):
                raise ConfigError(source=source, reason=f"mrap_host_patterns: not a host pattern: {pattern!r}")
        if not self.mrap_host_patterns:
            raise ConfigError(source=source, reason="mrap_host_patterns: at least one pattern is needed")
        for name in self.query_allowlist:
            if not isinstance(name, str) or not _PARAMETER_NAME.match(name):
                raise ConfigError(
                    source=source,
                    reason=f"query_allowlist: not a parameter name (letters, digits and - . _ ~): {name!r}",
                )
            if _PRESIGN_PARAMS.match(name):
                raise ConfigError(source=source, reason=f"query_allowlist: S3 reads {name!r} as a signature parameter")
        if not self.allowed_methods:
            raise ConfigError(source=source, reason="allowed_methods: at least one method is needed")
        for method in self.allowed_methods:
            if method not in SIGNABLE_METHODS:
                raise ConfigError(
                    source=source, reason=f"allowed_methods: {method!r} is not one of {', '.join(SIGNABLE_METHODS)}"
                )
        if self.log_level not in LOG_LEVELS:
            levels = ", ".join(LOG_LEVELS)
            raise ConfigError(source=source, reason=f"log_level: {self.log_level!r} is not one of {levels}")
        regex = "|".join(
            r"\.".join("[a-z0-9-]+" if label == "*" else re.escape(label) for label in pattern.lower().split("."))
            for pattern in self.mrap_host_patterns
        )
        object.__setattr__(self, "_host_regex", re.compile(f"^(?:{regex})$"))

    def is_mrap_host(self, host: str) -> bool:
        return self._host_regex.match(host.lower().rstrip(".")) is not None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "(mapping)") -> "Config":
        """Build a Config from parsed JSON: unknown keys and wrong types are errors naming `source`."""
        if not isinstance(values, Mapping):
            raise ConfigError(source=source, reason="the top level must be a JSON object")
        known = {"failover_header", "mrap_host_patterns", "query_allowlist", "allowed_methods", "log_level"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(source=source, reason=f"unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
        kwargs: Dict[str, Any] = {}
        for key, value in values.items():
            if key in ("failover_header", "log_level"):
                if not isinstance(value, str):
                    raise ConfigError(source=source, reason=f"{key}: expected a string, got {value!r}")
                kwargs[key] = value.upper() if key == "log_level" else value
            else:
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(source=source, reason=f"{key}: expected a list of strings, got {value!r}")
                kwargs[key] = tuple(v.upper() for v in value) if key == "allowed_methods" else tuple(value)
        try:
            return cls(**kwargs)
        except ConfigError as error:
            raise ConfigError(source=source, reason=error.fields["reason"]) from None

    def to_mapping(self) -> Dict[str, Any]:
        """The JSON form, as the packaging script writes it."""
        return {
            "failover_header": self.failover_header,
            "mrap_host_patterns": list(self.mrap_host_patterns),
            "query_allowlist": list(self.query_allowlist),
            "allowed_methods": list(self.allowed_methods),
            "log_level": self.log_level,
        }


def _check_header_name(source: str, key: str, value: object) -> None:
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise ConfigError(source=source, reason=f"{key}: not a header name: {value!r}")
    if value.lower().startswith("x-amz-"):
        raise ConfigError(source=source, reason=f"{key}: CloudFront refuses origin custom headers named X-Amz-*")


def load_config(path: Optional[Path] = None) -> Config:
    """Read the packaged file (defaults when it is absent); raise ConfigError naming the file on any problem."""
    path = CONFIG_FILE if path is None else Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except OSError as error:
        raise ConfigError(source=str(path.name), reason=f"cannot read it ({error.strerror})") from None
    try:
        values = json.loads(text)
    except ValueError as error:
        raise ConfigError(source=str(path.name), reason=f"not valid JSON ({error})") from None
    return Config.from_mapping(values, source=path.name)
