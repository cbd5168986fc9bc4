"""SigV4A for an S3 Multi-Region Access Point, through one awscrt call.

awscrt builds the canonical request and string to sign, derives the P-256 key from the credentials (SigV4A key
derivation) and makes the ECDSA signature. Everything S3-specific is a named setting in SIGNING_SETTINGS; the
path and query handed in must already be canonical (see canonical.py), because with these settings awscrt signs
them verbatim.

Only the headers that must be signed go into the awscrt request: S3 requires `host`, every `x-amz-*` header and
`content-type` when present. Headers that may change between CloudFront and S3 (`Via`, `Accept-Encoding`, ...) stay
out of the signature and are forwarded as they are.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import List, Mapping, Optional, Tuple

from awscrt import auth, http

from .errors import CredentialsError, SigningError

__all__ = ["Credentials", "Signer", "ALGORITHM", "EMPTY_SHA256", "credentials_from_environment"]

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
        self._crt_request = http.HttpRequest()
        # Besides X-Amz-Date and Authorization, what awscrt adds follows from the settings and the credentials.
        self._fixed_headers = [("X-Amz-Region-Set", REGION_SET), ("x-amz-content-sha256", EMPTY_SHA256)]
        if credentials.session_token:
            self._fixed_headers.append(("X-Amz-Security-Token", credentials.session_token))
        self._config: Optional[auth.AwsSigningConfig] = None
        self._config_second: Optional[int] = None

    def _signing_config(self, now: datetime.datetime) -> auth.AwsSigningConfig:
        # X-Amz-Date has one-second resolution, so one config serves every request within the same second.
        second = int(now.timestamp())
        if second != self._config_second:
            self._config = auth.AwsSigningConfig(credentials_provider=self._provider, date=now, **SIGNING_SETTINGS)
            self._config_second = second
        return self._config

    def sign(
        self, method: str, target: str, signed_headers: List[Tuple[str, str]], now: datetime.datetime
    ) -> List[Tuple[str, str]]:
        """Sign `method target` with `signed_headers` (host, x-amz-cf-id, ...); return the headers to add:
        Authorization, X-Amz-Date, X-Amz-Region-Set, x-amz-content-sha256 and X-Amz-Security-Token if any."""
        # One awscrt request per container, refilled for each signature: cheaper than building a new one each time.
        crt_request = self._crt_request
        crt_request.method = method
        crt_request.path = target
        crt_request.headers.clear()
        crt_request.headers.add_pairs(signed_headers)
        try:
            auth.aws_sign_request(crt_request, self._signing_config(now)).result()
        except Exception as error:  # awscrt reports failures as its own AwsCrtError; any failure means unsigned
            raise SigningError(reason=f"{type(error).__name__}: {error}") from None
        # Read back only what awscrt computed. SignedHeaders must name exactly the headers given plus X-Amz-Date and
        # the fixed ones (counted by its ";" separators): a header signed but not returned would be refused by S3.
        authorization = crt_request.headers.get("Authorization") or ""
        amz_date = crt_request.headers.get("X-Amz-Date")
        if (
            not authorization.startswith(_AUTHORIZATION_PREFIX)
            or amz_date is None
            or authorization.count(";") != len(signed_headers) + len(self._fixed_headers)
        ):
            raise SigningError(reason="the signer did not produce the expected SigV4A headers")
        return [("X-Amz-Date", amz_date), *self._fixed_headers, ("Authorization", authorization)]
