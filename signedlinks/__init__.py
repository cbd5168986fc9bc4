"""CloudFront signed URLs and cookies for application links (see signer.py; it is the whole package)."""

# The package installs on its own, so it carries its version; it is mrap-edge's (infra/version.py), and a test keeps
# the two equal. pyproject.toml reads it from here.
__version__ = "0.1.0"

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
    "__version__",
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
