"""CloudFront signed URLs and signed cookies for an application's links: the replacement for S3 presigned URLs.

Self-contained on purpose: it needs only the standard library, botocore and cryptography, so an application can
import the `signedlinks` package or copy this one file.

    signer = LinkSigner.from_pem_file("K2JCJMDEHXQW5F", "cloudfront-signing-key.pem")
    url = signer.object_url("https://images.example.com", "photos/summer 2024.png", expires_in=3600)

What CloudFront checks, and so what this module writes (CloudFront Developer Guide, "Create a signed URL using a
canned policy", "... using a custom policy", "Set signed cookies ...", "Specify signers ..."):
- keys: RSA 2048 or ECDSA P-256 (the public key is in a trusted key group of the cache behaviour); the signature is
  RSASSA-PKCS1-v1_5 for RSA, ASN.1 DER for ECDSA, over the policy bytes hashed with SHA-1 (the default) or SHA-256,
  which the link then names with `Hash-Algorithm=SHA256` (cookie `CloudFront-Hash-Algorithm`);
- a canned policy is `{"Statement":[{"Resource":"<url>","Condition":{"DateLessThan":{"AWS:EpochTime":<n>}}}]}`
  with no white space, and only `Expires` travels; a custom policy (an IP range, a start time, a wildcard resource)
  travels whole in `Policy`;
- `Policy` and `Signature` are base64 with CloudFront's substitutions `+` -> `-`, `=` -> `_`, `/` -> `~`.
"""
from __future__ import annotations

import base64
import datetime
import ipaddress
import re
from pathlib import Path
from typing import Callable, Dict, List, Optional, Union
from urllib.parse import quote, urlsplit

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

__all__ = [
    "HASH_ALGORITHMS",
    "SIGNING_PARAMETERS",
    "LinkSigner",
    "SignedLinksError",
    "cloudfront_b64encode",
    "canned_policy",
    "custom_policy",
    "set_cookie_headers",
    "shared_cookie_domain",
]

# CloudFront's names; SHA1 is what a link without Hash-Algorithm means.
HASH_ALGORITHMS = ("SHA1", "SHA256")
# Query parameters CloudFront reads as the signature; a link must not already carry them.
SIGNING_PARAMETERS = ("Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm")
# CloudFront assigns public key ids like K2JCJMDEHXQW5F; legacy account key pairs look like APKA...
_KEY_PAIR_ID = re.compile(r"^[A-Z0-9]{1,128}$")
Expiry = Union[datetime.datetime, int, float]


class SignedLinksError(ValueError):
    """Input CloudFront would refuse or misread: raised before anything is signed."""


def cloudfront_b64encode(data: bytes) -> str:
    """Base64 with the three substitutions CloudFront requires in query strings and cookies."""
    return base64.b64encode(data).decode("ascii").replace("+", "-").replace("=", "_").replace("/", "~")


def _epoch(moment: Expiry) -> int:
    if isinstance(moment, datetime.datetime):
        if moment.tzinfo is None:
            raise SignedLinksError("a datetime must carry its time zone (e.g. datetime.timezone.utc)")
        return int(moment.timestamp())
    return int(moment)


def canned_policy(resource: str, expires: Expiry) -> str:
    """The canned policy CloudFront rebuilds from the URL and `Expires`: byte for byte what is signed."""
    return str(_signer_for_policy().build_policy(resource, _as_utc(expires)))


def custom_policy(resource: str, expires: Expiry, ip_range: Optional[str] = None,
                  not_before: Optional[Expiry] = None) -> str:
    """A custom policy: `resource` may use `*` (any characters) and `?` (one character); `ip_range` is one IPv4
    address or CIDR range; `not_before` is the DateGreaterThan condition."""
    return str(_signer_for_policy().build_policy(
        resource, _as_utc(expires), date_greater_than=_as_utc(not_before) if not_before is not None else None,
        ip_address=_check_ip_range(ip_range) if ip_range is not None else None))


def _as_utc(moment: Expiry) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(_epoch(moment), tz=datetime.timezone.utc)


def _signer_for_policy() -> CloudFrontSigner:
    return CloudFrontSigner("-", lambda message: b"")  # build_policy needs no key


def _check_ip_range(ip_range: str) -> str:
    try:
        network = ipaddress.ip_network(ip_range.strip(), strict=False)
    except ValueError:
        raise SignedLinksError(f"not an IP address or CIDR range: {ip_range!r}") from None
    if network.version != 4:
        # The Developer Guide: "IP addresses in IPv6 format ... are not supported" in a custom policy.
        raise SignedLinksError(f"CloudFront accepts only an IPv4 address or range in a policy: {ip_range!r}")
    return str(network)


def _check_url(url: str, what: str = "URL") -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SignedLinksError(f"the {what} must be an absolute http:// or https:// URL: {url!r}")
    if parts.fragment or "#" in url:
        raise SignedLinksError(f"the {what} must not have a #fragment: {url!r}")
    if any(ord(c) > 126 or c in ' "\\' or ord(c) < 33 for c in url):
        raise SignedLinksError(f"the {what} must be percent-encoded (no spaces, quotes or non-ASCII): {url!r}")
    names = {pair.split("=", 1)[0] for pair in parts.query.split("&") if pair}
    taken = sorted(names & set(SIGNING_PARAMETERS))
    if taken:
        raise SignedLinksError(f"the {what} already has CloudFront's signing parameter {taken[0]}")
    return url


def _check_resource(resource: str) -> str:
    # A policy Resource "must begin with http://, https://, or *"; wildcards are allowed anywhere.
    if not (resource.startswith(("http://", "https://", "*"))):
        raise SignedLinksError(f"a policy resource must begin with http://, https:// or *: {resource!r}")
    if any(ord(c) > 126 or ord(c) < 33 or c in '"\\' for c in resource):
        raise SignedLinksError(f"a policy resource must be percent-encoded ASCII: {resource!r}")
    return resource


class LinkSigner:
    """Signs links and cookies with one private key whose public key is in the distribution's trusted key group."""

    def __init__(self, key_pair_id: str, private_key_pem: bytes, hash_algorithm: str = "SHA256",
                 clock: Callable[[], float] = lambda: datetime.datetime.now(datetime.timezone.utc).timestamp(),
                 ) -> None:
        if not _KEY_PAIR_ID.match(key_pair_id or ""):
            raise SignedLinksError(f"not a CloudFront public key id (e.g. K2JCJMDEHXQW5F): {key_pair_id!r}")
        if hash_algorithm not in HASH_ALGORITHMS:
            raise SignedLinksError(f"hash_algorithm must be one of {', '.join(HASH_ALGORITHMS)}: {hash_algorithm!r}")
        try:
            key = serialization.load_pem_private_key(private_key_pem, password=None)
        except (ValueError, TypeError):
            raise SignedLinksError("not an unencrypted PEM private key") from None
        if isinstance(key, rsa.RSAPrivateKey):
            if key.key_size != 2048:
                raise SignedLinksError(f"CloudFront accepts RSA keys of 2048 bits, not {key.key_size}")
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            if not isinstance(key.curve, ec.SECP256R1):
                raise SignedLinksError(f"CloudFront accepts ECDSA keys on P-256 only, not {key.curve.name}")
        else:
            raise SignedLinksError("CloudFront accepts RSA 2048 or ECDSA P-256 keys only")
        self.key_pair_id = key_pair_id
        self.hash_algorithm = hash_algorithm
        self._key = key
        self._clock = clock
        self._cloudfront = CloudFrontSigner(key_pair_id, self._sign)

    @classmethod
    def from_pem_file(cls, key_pair_id: str, path: Union[str, Path], hash_algorithm: str = "SHA256") -> "LinkSigner":
        try:
            pem = Path(path).read_bytes()
        except OSError as error:
            raise SignedLinksError(f"unable to read the private key {path}: {error.strerror}") from None
        return cls(key_pair_id, pem, hash_algorithm)

    # --- signing ------------------------------------------------------------------------------------------------
    def _sign(self, message: bytes) -> bytes:
        digest = hashes.SHA256() if self.hash_algorithm == "SHA256" else hashes.SHA1()
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(message, padding.PKCS1v15(), digest)
        return self._key.sign(message, ec.ECDSA(digest))  # DER-encoded (r, s)

    def _expiry(self, expires_in: Optional[float], expires_at: Optional[Expiry]) -> int:
        if (expires_in is None) == (expires_at is None):
            raise SignedLinksError("give exactly one of expires_in (seconds) or expires_at")
        moment = _epoch(expires_at) if expires_at is not None else int(self._clock() + float(expires_in or 0))
        if moment <= self._clock():
            raise SignedLinksError("the expiry is not in the future")
        return moment

    def _with_hash_algorithm(self, url: str) -> str:
        return url + "&Hash-Algorithm=SHA256" if self.hash_algorithm == "SHA256" else url

    def url(self, url: str, *, expires_in: Optional[float] = None, expires_at: Optional[Expiry] = None,
            resource: Optional[str] = None, ip_range: Optional[str] = None,
            not_before: Optional[Expiry] = None) -> str:
        """A signed URL. A canned policy (only `Expires` in the link) unless a custom policy is needed: a
        `resource` other than the URL itself (a wildcard), an `ip_range` or a `not_before`."""
        _check_url(url)
        expires = self._expiry(expires_in, expires_at)
        if resource is None and ip_range is None and not_before is None:
            signed = self._cloudfront.generate_presigned_url(url, date_less_than=_as_utc(expires))
        else:
            policy = custom_policy(_check_resource(resource or url), expires, ip_range, not_before)
            signed = self._cloudfront.generate_presigned_url(url, policy=policy)
        return self._with_hash_algorithm(signed)

    def object_url(self, base_url: str, key: str, **conditions: object) -> str:
        """The signed URL of an S3 key behind the distribution at `base_url` (e.g. https://images.example.com):
        the key percent-encoded as S3 names it, then `url()`."""
        if not key or key.startswith("/"):
            raise SignedLinksError(f"an S3 key is not empty and does not start with '/': {key!r}")
        path = quote(key, safe="/-._~")
        return self.url(base_url.rstrip("/") + "/" + path, **conditions)  # type: ignore[arg-type]

    def cookies(self, resource: str, *, expires_in: Optional[float] = None, expires_at: Optional[Expiry] = None,
                ip_range: Optional[str] = None, not_before: Optional[Expiry] = None) -> Dict[str, str]:
        """Signed cookies (name -> value) for `resource`, usually a wildcard such as https://images.example.com/*.
        A resource without wildcards and no other condition gets a canned policy (CloudFront-Expires), anything
        else a custom policy (CloudFront-Policy)."""
        expires = self._expiry(expires_in, expires_at)
        _check_resource(resource)
        canned = "*" not in resource and "?" not in resource and ip_range is None and not_before is None
        if canned:
            _check_url(resource, "resource")
            policy = canned_policy(resource, expires)
            values = {"CloudFront-Expires": str(expires)}
        else:
            policy = custom_policy(resource, expires, ip_range, not_before)
            values = {"CloudFront-Policy": cloudfront_b64encode(policy.encode("utf-8"))}
        values["CloudFront-Signature"] = cloudfront_b64encode(self._sign(policy.encode("utf-8")))
        values["CloudFront-Key-Pair-Id"] = self.key_pair_id
        if self.hash_algorithm == "SHA256":
            values["CloudFront-Hash-Algorithm"] = "SHA256"
        return values


# SameSite values a browser accepts. None also needs Secure (browsers drop "SameSite=None" cookies without it).
SAME_SITE_VALUES = ("Strict", "Lax", "None")


def shared_cookie_domain(app_host: str, images_host: str) -> Optional[str]:
    """The parent domain both hosts share, for the `Domain` attribute of signed cookies the app at `app_host` sets
    for images served from `images_host` (the distribution's alternate domain name): app.example.com and
    images.example.com share example.com. A cookie is sent only to hosts under its Domain, so the two hosts need a
    parent of at least two labels; *.cloudfront.net is a public suffix, whose cookies browsers refuse. (Other public
    suffixes, such as co.uk, are not known here: pass the company's own domain.) None when both are the same host
    (on other ports, as on a developer's machine): a host-only cookie reaches every port of its host."""
    hosts = [_bare_host(app_host), _bare_host(images_host)]
    if hosts[0] == hosts[1] and hosts[0]:
        return None
    for host in hosts:
        if host == "cloudfront.net" or host.endswith(".cloudfront.net"):
            raise SignedLinksError(f"unable to share cookies with {host}: cloudfront.net is a public suffix; give "
                                   f"the distribution an alternate domain name under the app's domain "
                                   f"(e.g. images.<your domain>)")
        if _is_ip_address(host):
            raise SignedLinksError(f"unable to share cookies with {host}: an IP address has no parent domain")
    common: List[str] = []
    for app_label, images_label in zip(reversed(hosts[0].split(".")), reversed(hosts[1].split("."))):
        if app_label != images_label:
            break
        common.insert(0, app_label)
    if len(common) < 2:
        raise SignedLinksError(f"unable to share cookies between {hosts[0]} and {hosts[1]}: no parent domain in "
                               f"common; put the images on a name under the app's domain")
    return ".".join(common)


def _bare_host(host: str) -> str:
    """A host name without port or trailing dot, lower-case (`[::1]:8080` keeps its brackets off)."""
    host = (host or "").strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") == 1 else host.rstrip(".")


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def set_cookie_headers(cookies: Dict[str, str], domain: Optional[str] = None, path: str = "/",
                       secure: bool = True, http_only: bool = True, same_site: Optional[str] = "Lax") -> List[str]:
    """One Set-Cookie value per cookie (each header carries one pair). No Expires/Max-Age, as the guide
    recommends: the browser drops them when it closes; the policy's own expiry still applies.

    `domain`: the parent domain the app and the images share (`shared_cookie_domain`); without it the cookies go
    back only to the host that set them. `secure`: keep it for https; browsers refuse a Secure cookie set over
    plain http. `same_site`: Lax (the default) and Strict are sent with the <img> requests of a page on a host of
    the same site (app.example.com -> images.example.com); None needs Secure."""
    if same_site is not None and same_site not in SAME_SITE_VALUES:
        raise SignedLinksError(f"same_site must be one of {', '.join(SAME_SITE_VALUES)} or None: {same_site!r}")
    if same_site == "None" and not secure:
        raise SignedLinksError("browsers refuse SameSite=None cookies without Secure")
    if domain is not None:
        domain = _bare_host(domain).lstrip(".")
        if "." not in domain or _is_ip_address(domain):
            raise SignedLinksError(f"a cookie Domain needs a parent domain of two labels or more: {domain!r}")
    if not path.startswith("/"):
        raise SignedLinksError(f"a cookie Path starts with '/': {path!r}")
    attributes = [f"Path={path}"] + ([f"Domain={domain}"] if domain else [])
    attributes += (["Secure"] if secure else []) + (["HttpOnly"] if http_only else [])
    attributes += [f"SameSite={same_site}"] if same_site else []
    return ["; ".join([f"{name}={value}"] + attributes) for name, value in cookies.items()]
