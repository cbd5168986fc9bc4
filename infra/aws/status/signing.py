"""Signed probe requests. Once the distribution's default behaviour has trusted key groups, CloudFront refuses every
request without a valid signed URL or signed cookies (403 MissingKey), the probe's too. Given the key pair id and its
private key, status signs each request it sends through the distribution with the project's link signer
(`signedlinks`): a canned policy for exactly that URL, valid for a few minutes, never printed."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import ToolError

__all__ = ["UrlSigner", "SIGNED_FOR_SECONDS", "url_signer"]

# A URL in, the same URL with CloudFront's signing parameters out.
UrlSigner = Callable[[str], str]
# Long enough for a slow run of every check, short enough that a signed URL copied from a terminal is soon useless.
SIGNED_FOR_SECONDS = 300


def url_signer(key_pair_id: str, private_key: Path, expires_in: int = SIGNED_FOR_SECONDS) -> UrlSigner:
    """Raises ToolError (one line) for an id or a key CloudFront would refuse, before any request is sent."""
    from signedlinks import LinkSigner, SignedLinksError  # cryptography: only when a key is given

    try:
        signer = LinkSigner.from_pem_file(key_pair_id, private_key)
    except SignedLinksError as error:
        raise ToolError(f"unable to sign the probe requests: {error}") from None

    def sign(url: str) -> str:
        return signer.url(url, expires_in=expires_in)

    return sign
