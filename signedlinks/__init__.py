"""CloudFront signed URLs and cookies for application links (see signer.py; it is the whole package)."""
from .signer import (
    HASH_ALGORITHMS,
    SIGNING_PARAMETERS,
    LinkSigner,
    SignedLinksError,
    canned_policy,
    cloudfront_b64encode,
    custom_policy,
    set_cookie_headers,
    shared_cookie_domain,
)

__all__ = [
    "HASH_ALGORITHMS",
    "SIGNING_PARAMETERS",
    "LinkSigner",
    "SignedLinksError",
    "canned_policy",
    "cloudfront_b64encode",
    "custom_policy",
    "set_cookie_headers",
    "shared_cookie_domain",
]
