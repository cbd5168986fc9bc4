"""SigV4A for an S3 Multi-Region Access Point, through one awscrt call.

awscrt builds the canonical request and string to sign, derives the P-256 key from the credentials (SigV4A key
derivation) and makes the ECDSA signature. Everything S3-specific is a named setting in SIGNING_SETTINGS; the
path and query handed in must already be canonical (see canonical.py), because with these settings awscrt signs
them verbatim. Which headers are signed is headers.py's rule; this module signs what it is given.

awscrt's Python layer (`awscrt.auth`, `awscrt.http`) is a thin wrapper over its extension module `_awscrt`, and
importing it costs more than everything else this function does at a cold start (concurrent.futures, enum, typing,
its io and http modules). The signature itself is made by one extension function, `_awscrt.sign_request_aws`, which
the public `auth.aws_sign_request` wraps in a `concurrent.futures.Future`: that costs about a tenth of the ECDSA
signature, as much as all the rest of the function's own work, and gives nothing here, because with static
credentials the signing completes inside the call. So `_NativeCrt` calls the six extension functions the public
layer would call, with the same arguments, on handles it keeps in `_binding` attributes as the public classes do.
When the installed awscrt lacks one of them, `_PublicCrt` goes through the public layer instead. The pinned awscrt
takes the native path (a test says so), both paths are checked by the independent verifier, and packaging signs
with the built zip before writing it, so an awscrt upgrade that changes the calls is caught before any deploy.
"""
from __future__ import annotations

import datetime
import os

import _awscrt

from .errors import CredentialsError, SigningError

__all__ = ["Credentials", "Signer", "ALGORITHM", "EMPTY_SHA256", "REGION_SET", "credentials_from_environment"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Collection, List, Mapping, Optional, Tuple

ALGORITHM = "AWS4-ECDSA-P256-SHA256"
_AUTHORIZATION_PREFIX = ALGORITHM + " Credential="
# "x-amz-content-sha256 ... For GET and HEAD, the hash of the empty string" (S3 requires the header).
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# An MRAP signature is valid in every Region, so the MRAP can route the request to any of its buckets.
REGION_SET = "*"

# awscrt's AwsSigningConfig settings, by name; the numbers are its enums' values (AwsSigningAlgorithm.V4_ASYMMETRIC,
# AwsSignatureType.HTTP_REQUEST_HEADERS, AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256).
SIGNING_SETTINGS = {
    "algorithm": 1,
    "signature_type": 0,
    "region": REGION_SET,
    "service": "s3",
    # S3 decodes the path once, so it must be encoded once, and "." / ".." / "//" are part of the key.
    "use_double_uri_encode": False,
    "should_normalize_uri_path": False,
    "signed_body_value": EMPTY_SHA256,
    "signed_body_header_type": 1,
}


class Credentials:
    __slots__ = ("access_key_id", "secret_access_key", "session_token")

    def __init__(self, access_key_id: str, secret_access_key: str, session_token: Optional[str] = None) -> None:
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.session_token = session_token

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Credentials) and (
            (self.access_key_id, self.secret_access_key, self.session_token)
            == (other.access_key_id, other.secret_access_key, other.session_token)
        )

    def __hash__(self) -> int:
        return hash(self.access_key_id)

    def __repr__(self) -> str:
        return f"Credentials(access_key_id={self.access_key_id[:4]}..., secret_access_key=[REDACTED])"


def credentials_from_environment(environ: Mapping[str, str] = os.environ) -> Credentials:
    """The function role's credentials: Lambda puts them in the reserved variables for the container's life."""
    access_key_id = environ.get("AWS_ACCESS_KEY_ID")
    secret = environ.get("AWS_SECRET_ACCESS_KEY")
    if not access_key_id or not secret:
        missing = [name for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not environ.get(name)]
        raise CredentialsError(reason=f"{' and '.join(missing)} not set")
    return Credentials(access_key_id, secret, environ.get("AWS_SESSION_TOKEN") or None)


class AwsCrtError(Exception):
    """A failure awscrt reported by its error code, named as awscrt names it."""


class _Handle:
    """What awscrt's extension functions accept for one of its objects: anything holding the native object in
    `_binding`, as awscrt's own Python classes do."""

    __slots__ = ("_binding",)

    def __init__(self, binding: object) -> None:
        self._binding = binding


class _NativeCrt:
    """awscrt's extension functions, called as its public layer calls them."""

    name = "native"
    FUNCTIONS = ("credentials_provider_new_static", "http_headers_new", "http_message_new_request",
                 "http_message_set_request_method", "http_message_set_request_path", "http_headers_clear",
                 "http_headers_add_pairs", "http_headers_get", "signing_config_new", "sign_request_aws",
                 "get_error_name", "get_error_message")

    def __init__(self, credentials: Credentials) -> None:
        self._provider = _Handle(_awscrt.credentials_provider_new_static(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token))
        self._headers = _Handle(_awscrt.http_headers_new())
        self._request = _Handle(_awscrt.http_message_new_request(self._headers))

    def config(self, date: datetime.datetime) -> object:
        settings = SIGNING_SETTINGS
        return _Handle(_awscrt.signing_config_new(
            settings["algorithm"], settings["signature_type"], self._provider, settings["region"],
            settings["service"], date, date.timestamp(), None, settings["use_double_uri_encode"],
            settings["should_normalize_uri_path"], settings["signed_body_value"],
            settings["signed_body_header_type"], 0, False))

    def sign(self, method: str, target: str, headers: Collection[Tuple[str, str]], config: object) -> None:
        request, binding = self._request, self._headers._binding
        _awscrt.http_message_set_request_method(request._binding, method)
        _awscrt.http_message_set_request_path(request._binding, target)
        _awscrt.http_headers_clear(binding)
        _awscrt.http_headers_add_pairs(binding, headers)
        outcome: List[int] = []  # the error code awscrt reports through its callback; 0 is success
        _awscrt.sign_request_aws(request, config, outcome.append)
        if outcome == [0]:
            return
        if outcome:
            code = outcome[0]
            raise AwsCrtError(f"{_awscrt.get_error_name(code)}: {_awscrt.get_error_message(code)}")
        raise RuntimeError("awscrt did not finish signing within the call")

    def header(self, name: str) -> Optional[str]:
        value: Optional[str] = _awscrt.http_headers_get(self._headers._binding, name, None)
        return value


class _PublicCrt:
    """awscrt's public layer: for an awscrt whose extension functions are not the ones _NativeCrt knows."""

    name = "public"

    def __init__(self, credentials: Credentials) -> None:
        from awscrt import auth, http

        self._auth = auth
        self._provider = auth.AwsCredentialsProvider.new_static(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token)
        self._request = http.HttpRequest()

    def config(self, date: datetime.datetime) -> object:
        auth, settings = self._auth, SIGNING_SETTINGS
        return auth.AwsSigningConfig(
            algorithm=auth.AwsSigningAlgorithm(settings["algorithm"]),
            signature_type=auth.AwsSignatureType(settings["signature_type"]),
            credentials_provider=self._provider, region=settings["region"], service=settings["service"], date=date,
            use_double_uri_encode=settings["use_double_uri_encode"],
            should_normalize_uri_path=settings["should_normalize_uri_path"],
            signed_body_value=settings["signed_body_value"],
            signed_body_header_type=auth.AwsSignedBodyHeaderType(settings["signed_body_header_type"]),
        )

    def sign(self, method: str, target: str, headers: Collection[Tuple[str, str]], config: object) -> None:
        request = self._request
        request.method, request.path = method, target
        request.headers.clear()
        request.headers.add_pairs(list(headers))
        self._auth.aws_sign_request(request, config).result()

    def header(self, name: str) -> Optional[str]:
        value: Optional[str] = self._request.headers.get(name)
        return value


_CRT: Callable[[Credentials], Any] = (
    _NativeCrt if all(hasattr(_awscrt, name) for name in _NativeCrt.FUNCTIONS) else _PublicCrt
)


class Signer:
    """Signs origin requests with one set of credentials; build it once per container."""

    def __init__(self, credentials: Credentials, crt: Optional[Callable[[Credentials], Any]] = None) -> None:
        self._credentials = credentials
        self._new_crt = crt or _CRT
        # One awscrt request per container, refilled for each signature: cheaper than building a new one each time.
        self._crt = self._new_crt(credentials)
        # Besides X-Amz-Date and Authorization, what awscrt adds follows from the settings and the credentials.
        fixed = [("X-Amz-Region-Set", REGION_SET), ("x-amz-content-sha256", EMPTY_SHA256)]
        if credentials.session_token:
            fixed.append(("X-Amz-Security-Token", credentials.session_token))
        self.fixed_headers: Tuple[Tuple[str, str], ...] = tuple(fixed)
        self._config: object = None
        self._config_second: Optional[int] = None
        self._amz_date = ""

    def sign(self, method: str, target: str, signed_headers: Collection[Tuple[str, str]],
             now: float) -> Tuple[str, str]:
        """Sign `method target` with `signed_headers` ((name, value) pairs: host, x-amz-cf-id, ...; headers.py gives
        one pair per name, as S3 joins repeated headers) at `now` (seconds since the epoch).

        Return (X-Amz-Date, Authorization); the request must also carry `fixed_headers`, which are signed too."""
        # X-Amz-Date has one-second resolution, so one config serves every request within the same second.
        second = int(now)
        if second != self._config_second:
            self._config = self._crt.config(datetime.datetime.fromtimestamp(second, datetime.timezone.utc))
            self._config_second = None  # until a signature with it has shown the X-Amz-Date it produces
        crt = self._crt
        try:
            crt.sign(method, target, signed_headers, self._config)
        except Exception as error:  # awscrt reports failures as its own errors; any failure means unsigned
            # awscrt may still hold the request (a signing left running): never reuse it.
            self._crt = self._new_crt(self._credentials)
            self._config_second = None
            raise SigningError(reason=f"{type(error).__name__}: {error}") from None
        # Read back what awscrt computed. SignedHeaders must name exactly the headers given plus X-Amz-Date and the
        # fixed ones, each once however many values it has (counted by its ";" separators): a header signed but not
        # returned would be refused by S3.
        authorization = crt.header("Authorization") or ""
        listed = authorization.count(";")
        if not authorization.startswith(_AUTHORIZATION_PREFIX) or (
            listed != len(signed_headers) + len(self.fixed_headers)
            # awscrt lists a name once however many values it has; counted only when the quick count disagrees
            and listed != len({name.lower() for name, _ in signed_headers}) + len(self.fixed_headers)
        ):
            raise SigningError(reason="the signer did not produce the expected SigV4A headers")
        if self._config_second is None:
            # X-Amz-Date comes from the config alone, so reading it once per config is reading it every time.
            amz_date = crt.header("X-Amz-Date")
            if amz_date is None:
                raise SigningError(reason="the signer did not add X-Amz-Date")
            self._amz_date, self._config_second = amz_date, second
        return self._amz_date, authorization
