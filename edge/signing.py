"""SigV4A for an S3 Multi-Region Access Point, through one awscrt call.

awscrt builds the canonical request and string to sign, derives the P-256 key from the credentials (SigV4A key
derivation) and makes the ECDSA signature. Everything S3-specific is a named setting in SIGNING_SETTINGS; the
path and query handed in must already be canonical (see canonical.py), because with these settings awscrt signs
them verbatim.

The signature is made by the extension function that awscrt's public `auth.aws_sign_request` wraps in a
`concurrent.futures.Future`. That wrapper costs about a tenth of the ECDSA signature itself, as much as all the rest
of the function's own work, and gives nothing here: with static credentials the signing completes inside the call.
The direct call is used when the installed awscrt has it (the pinned one does; a test says so, and packaging signs
with the built zip before writing it); otherwise the public wrapper is.

Only the headers that must be signed go into the awscrt request: S3 requires `host`, every `x-amz-*` header and
`content-type` when present. Headers that may change between CloudFront and S3 (`Via`, `Accept-Encoding`, ...) stay
out of the signature and are forwarded as they are.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import List, Mapping, Optional, Tuple

from awscrt import auth, exceptions, http

from .errors import CredentialsError, SigningError

__all__ = ["Credentials", "Signer", "ALGORITHM", "EMPTY_SHA256", "credentials_from_environment", "is_signature_header"]

ALGORITHM = "AWS4-ECDSA-P256-SHA256"
_AUTHORIZATION_PREFIX = ALGORITHM + " Credential="
# "x-amz-content-sha256 ... For GET and HEAD, the hash of the empty string" (S3 requires the header).
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# An MRAP signature is valid in every Region, so the MRAP can route the request to any of its buckets.
REGION_SET = "*"

SIGNING_SETTINGS = {
    "algorithm": auth.AwsSigningAlgorithm.V4_ASYMMETRIC,
    "region": REGION_SET,
    "service": "s3",
    # S3 decodes the path once, so it must be encoded once, and "." / ".." / "//" are part of the key.
    "use_double_uri_encode": False,
    "should_normalize_uri_path": False,
    "signed_body_value": auth.AwsSignedBodyValue.EMPTY_SHA256,
    "signed_body_header_type": auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
}


def is_signature_header(name: str) -> bool:
    """Authorization, or an x-amz-* header, which S3 refuses unless it is signed: a header that only the signer
    may set."""
    lowered = name.lower()
    return lowered == "authorization" or lowered.startswith("x-amz-")


try:
    from _awscrt import sign_request_aws as _native_sign
except ImportError:  # an awscrt without it: the public wrapper below still works
    _native_sign = None


def _sign_through_future(request: http.HttpRequest, config: auth.AwsSigningConfig) -> None:
    auth.aws_sign_request(request, config).result()


def _sign_directly(request: http.HttpRequest, config: auth.AwsSigningConfig) -> None:
    outcome: List[int] = []  # the error code awscrt reports through its callback; 0 is success
    _native_sign(request, config, outcome.append)
    if outcome == [0]:
        return
    if outcome:
        raise exceptions.from_code(outcome[0])
    raise RuntimeError("awscrt did not finish signing within the call")


_sign_in_place = _sign_directly if _native_sign is not None else _sign_through_future


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: Optional[str] = None

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


class Signer:
    """Signs origin requests with one set of credentials; build it once per container."""

    def __init__(self, credentials: Credentials) -> None:
        self._provider = auth.AwsCredentialsProvider.new_static(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token
        )
        # One awscrt request per container, refilled for each signature: cheaper than building a new one each time.
        self._crt_request = http.HttpRequest()
        self._crt_headers = self._crt_request.headers
        # Besides X-Amz-Date and Authorization, what awscrt adds follows from the settings and the credentials.
        fixed = [("X-Amz-Region-Set", REGION_SET), ("x-amz-content-sha256", EMPTY_SHA256)]
        if credentials.session_token:
            fixed.append(("X-Amz-Security-Token", credentials.session_token))
        self.fixed_headers: Tuple[Tuple[str, str], ...] = tuple(fixed)
        self._config: Optional[auth.AwsSigningConfig] = None
        self._config_second: Optional[int] = None
        self._amz_date = ""

    def sign(self, method: str, target: str, signed_headers: List[Tuple[str, str]], now: float) -> Tuple[str, str]:
        """Sign `method target` with `signed_headers` (host, x-amz-cf-id, ...) at `now` (seconds since the epoch).

        Return (X-Amz-Date, Authorization); the request must also carry `fixed_headers`, which are signed too."""
        # X-Amz-Date has one-second resolution, so one config serves every request within the same second.
        second = int(now)
        if second != self._config_second:
            self._config = auth.AwsSigningConfig(
                credentials_provider=self._provider,
                date=datetime.datetime.fromtimestamp(second, datetime.timezone.utc),
                **SIGNING_SETTINGS,
            )
            self._config_second = None  # until a signature with it has shown the X-Amz-Date it produces
        crt_request, crt_headers = self._crt_request, self._crt_headers
        crt_request.method = method
        crt_request.path = target
        crt_headers.clear()
        crt_headers.add_pairs(signed_headers)
        try:
            _sign_in_place(crt_request, self._config)
        except Exception as error:  # awscrt reports failures as its own AwsCrtError; any failure means unsigned
            # awscrt may still hold the request (a signing left running): never reuse it.
            self._crt_request = http.HttpRequest()
            self._crt_headers = self._crt_request.headers
            raise SigningError(reason=f"{type(error).__name__}: {error}") from None
        # Read back what awscrt computed. SignedHeaders must name exactly the headers given plus X-Amz-Date and the
        # fixed ones (counted by its ";" separators): a header signed but not returned would be refused by S3.
        authorization = crt_headers.get("Authorization") or ""
        if (
            not authorization.startswith(_AUTHORIZATION_PREFIX)
            or authorization.count(";") != len(signed_headers) + len(self.fixed_headers)
        ):
            raise SigningError(reason="the signer did not produce the expected SigV4A headers")
        if self._config_second is None:
            # X-Amz-Date comes from the config alone, so reading it once per config is reading it every time.
            amz_date = crt_headers.get("X-Amz-Date")
            if amz_date is None:
                raise SigningError(reason="the signer did not add X-Amz-Date")
            self._amz_date, self._config_second = amz_date, second
        return self._amz_date, authorization
