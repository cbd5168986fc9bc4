"""The function's configuration, read once per container from a JSON file packaged beside the code.

Lambda@Edge has no environment variables and no layers, so the deployment zip carries `edge/mrap-edge.json`.
Precedence: explicit argument > that file > the defaults below. Every key is checked when the file is read; an
unknown key or a bad value is a ConfigError that names the file, the key and the value.
"""
from __future__ import annotations

import json
import os

from .errors import ConfigError
from .objects import OPERATION_PARAMETERS

__all__ = ["Config", "CONFIG_FILE", "load_config", "DEFAULT_HOST_PATTERNS", "SIGNABLE_METHODS", "LOG_LEVELS"]

TYPE_CHECKING = False  # nothing of typing, dataclasses or pathlib at run time: this module loads on every cold start
if TYPE_CHECKING:
    from typing import Any, Dict, Mapping, Optional, Tuple, Union

CONFIG_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mrap-edge.json")

# An MRAP alias ends in ".mrap", so its host is <label>.mrap.accesspoint.s3-global.amazonaws.com.
DEFAULT_HOST_PATTERNS = ("*.mrap.accesspoint.s3-global.amazonaws.com",)
# OPTIONS is accepted so that CORS preflights can be signed when a user opts in; S3 answers it for an MRAP.
SIGNABLE_METHODS = ("GET", "HEAD", "OPTIONS")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_KEYS = ("failover_header", "mrap_host_patterns", "query_allowlist", "allowed_methods", "log_level")

# RFC 7230 token: what a header name may be.
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# A DNS label: letters, digits and hyphens, not beginning or ending with a hyphen (lower case once lowered).
_LABEL = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
# S3's query parameters are named with unreserved characters only, so a name is its own canonical form.
_PARAMETER_NAME = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _is_label(label: str) -> bool:
    return bool(label) and set(label) <= _LABEL and label[0] != "-" and label[-1] != "-"


def _is_host_pattern(pattern: object) -> bool:
    """Two or more DNS labels, where a label may be "*" (exactly one label of letters, digits and hyphens)."""
    if not isinstance(pattern, str):
        return False
    labels = pattern.lower().split(".")
    return len(labels) >= 2 and all(label == "*" or _is_label(label) for label in labels)


class Config:
    """The function's settings: immutable, keyword-only, every value checked on construction."""

    __slots__ = _KEYS + ("_host_labels",)

    # Origin custom header that marks a failover (secondary) origin: such a request is returned untouched.
    failover_header: str
    # Hosts that are MRAPs and get signed; "*" stands for one DNS label. Matched case-insensitively.
    mrap_host_patterns: Tuple[str, ...]
    # Query parameters passed to S3 (signed); every other parameter is dropped. Case-sensitive, as S3 is.
    query_allowlist: Tuple[str, ...]
    # Methods that are signed; any other method gets a generated 405 with an Allow header.
    allowed_methods: Tuple[str, ...]
    # DEBUG also logs each incoming event (credentials and signatures redacted) so it can become a fixture.
    log_level: str
    _host_labels: Tuple[Tuple[str, ...], ...]

    def __init__(
        self,
        *,
        failover_header: str = "originTypeFailover",
        mrap_host_patterns: Tuple[str, ...] = DEFAULT_HOST_PATTERNS,
        query_allowlist: Tuple[str, ...] = ("versionId", "partNumber"),
        allowed_methods: Tuple[str, ...] = ("GET", "HEAD"),
        log_level: str = "WARNING",
    ) -> None:
        source = "(arguments)"
        _check_header_name(source, "failover_header", failover_header)
        for pattern in mrap_host_patterns:
            if not _is_host_pattern(pattern):
                raise ConfigError(source=source, reason=f"mrap_host_patterns: not a host pattern: {pattern!r}")
        if not mrap_host_patterns:
            raise ConfigError(source=source, reason="mrap_host_patterns: at least one pattern is needed")
        for name in query_allowlist:
            if not isinstance(name, str) or not name or not set(name) <= _PARAMETER_NAME:
                raise ConfigError(
                    source=source,
                    reason=f"query_allowlist: not a parameter name (letters, digits and - . _ ~): {name!r}",
                )
            # Names S3 reads as part of a presigned request; passing one through would break the signature.
            if name.lower().startswith("x-amz-"):
                raise ConfigError(source=source, reason=f"query_allowlist: S3 reads {name!r} as a signature parameter")
            if name.lower() in OPERATION_PARAMETERS:
                raise ConfigError(
                    source=source,
                    reason=f"query_allowlist: {name!r} selects another S3 operation than reading an object",
                )
        if not allowed_methods:
            raise ConfigError(source=source, reason="allowed_methods: at least one method is needed")
        for method in allowed_methods:
            if method not in SIGNABLE_METHODS:
                raise ConfigError(
                    source=source, reason=f"allowed_methods: {method!r} is not one of {', '.join(SIGNABLE_METHODS)}"
                )
        if log_level not in LOG_LEVELS:
            levels = ", ".join(LOG_LEVELS)
            raise ConfigError(source=source, reason=f"log_level: {log_level!r} is not one of {levels}")
        setattr_ = object.__setattr__
        setattr_(self, "failover_header", failover_header)
        setattr_(self, "mrap_host_patterns", tuple(mrap_host_patterns))
        setattr_(self, "query_allowlist", tuple(query_allowlist))
        setattr_(self, "allowed_methods", tuple(allowed_methods))
        setattr_(self, "log_level", log_level)
        setattr_(self, "_host_labels", tuple(tuple(p.lower().split(".")) for p in mrap_host_patterns))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Config is immutable: use replace({name}=...)")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self.to_mapping() == other.to_mapping()

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, key) for key in _KEYS))

    def __repr__(self) -> str:
        return "Config(" + ", ".join(f"{key}={getattr(self, key)!r}" for key in _KEYS) + ")"

    def replace(self, **changes: Any) -> Config:
        """A copy with some values changed, checked like any other."""
        unknown = sorted(set(changes) - set(_KEYS))
        if unknown:
            raise TypeError(f"Config has no setting {unknown[0]!r}")
        values: Dict[str, Any] = {key: getattr(self, key) for key in _KEYS}
        values.update(changes)
        return Config(**values)

    def is_mrap_host(self, host: str) -> bool:
        labels = host.lower().rstrip(".").split(".")
        for pattern in self._host_labels:
            if len(pattern) == len(labels) and all(
                want == label if want != "*" else bool(label) and set(label) <= _LABEL
                for want, label in zip(pattern, labels)
            ):
                return True
        return False

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "(mapping)") -> Config:
        """Build a Config from parsed JSON: unknown keys and wrong types are errors naming `source`."""
        if not isinstance(values, dict):
            raise ConfigError(source=source, reason="the top level must be a JSON object")
        unknown = sorted(set(values) - set(_KEYS))
        if unknown:
            raise ConfigError(source=source, reason=f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
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
    if not isinstance(value, str) or not value or not set(value) <= _TOKEN:
        raise ConfigError(source=source, reason=f"{key}: not a header name: {value!r}")
    if value.lower().startswith("x-amz-"):
        raise ConfigError(source=source, reason=f"{key}: CloudFront refuses origin custom headers named X-Amz-*")


def load_config(path: Optional[Union[str, os.PathLike[str]]] = None) -> Config:
    """Read the packaged file (defaults when it is absent); raise ConfigError naming the file on any problem."""
    path = CONFIG_FILE if path is None else os.fspath(path)
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except FileNotFoundError:
        return Config()
    except OSError as error:
        raise ConfigError(source=name, reason=f"cannot read it ({error.strerror})") from None
    try:
        values = json.loads(text)
    except ValueError as error:
        raise ConfigError(source=name, reason=f"not valid JSON ({error})") from None
    return Config.from_mapping(values, source=name)
