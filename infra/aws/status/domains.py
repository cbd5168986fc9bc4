"""scripts/status, alternate domain names: each name resolves to the distribution, and the certificate CloudFront
serves them with is ISSUED and not about to expire. The names' rules themselves live in infra/aws/domains.py."""
from __future__ import annotations

import datetime
import socket
from typing import Any, Callable, Dict, List, Optional, Tuple

from botocore.exceptions import ClientError

from ..clients import ClientFactory
from ..domains import ACM_REGION, EXPIRY_WARNING_DAYS, cname_records
from ..errors import error_code
from .checklist import Area, Check, failed, passed

__all__ = ["domain_checks"]

Resolve = Callable[[str], Tuple[str, List[str], List[str]]]  # socket.gethostbyname_ex's shape
AREA: Area = "domains"


def domain_checks(clients: ClientFactory, distribution: Dict[str, Any], resolve: Resolve = socket.gethostbyname_ex,
                  now: Optional[datetime.datetime] = None) -> List[Check]:
    """For a distribution (GetDistribution's `Distribution`) with alternate domain names: each name resolves to
    it, and its certificate is ISSUED and not about to expire. Nothing when it has none."""
    config = distribution.get("DistributionConfig") or {}
    names = list((config.get("Aliases") or {}).get("Items") or [])
    domain = str(distribution.get("DomainName") or "")
    if not names or not domain:
        return []
    checks = [_resolves_to(name, domain, resolve) for name in names]
    arn = (config.get("ViewerCertificate") or {}).get("ACMCertificateArn", "")
    if arn:
        checks.append(_certificate_expiry(clients, arn, now or datetime.datetime.now(datetime.timezone.utc)))
    return checks


def _resolves_to(name: str, domain: str, resolve: Resolve) -> Check:
    check = f"{name} resolves to the distribution"
    fix = f"create the DNS record: {cname_records([name], domain)[0]} (or a Route 53 alias: deploy --hosted-zone-id)"
    try:
        canonical, aliases, addresses = resolve(name)
    except OSError as error:
        return failed(AREA, check, f"{name} does not resolve ({error})", fix)
    if domain.lower() in {canonical.lower().rstrip(".")} | {a.lower().rstrip(".") for a in aliases}:
        return passed(AREA, check, f"CNAME to {domain}")
    try:
        distribution_addresses = set(resolve(domain)[2])
    except OSError as error:
        return failed(AREA, check, f"unable to resolve {domain} ({error})")
    shared = set(addresses) & distribution_addresses
    if shared:
        return passed(AREA, check, f"{name} and {domain} resolve to {len(shared)} common addresses (an alias record)")
    return failed(AREA, check, f"{name} resolves to {', '.join(sorted(addresses)) or 'nothing'}, not to {domain}",
                  fix)


def _certificate_expiry(clients: ClientFactory, arn: str, now: datetime.datetime) -> Check:
    check = "the alternate domain names' certificate is valid"
    try:
        certificate = clients("acm", ACM_REGION).describe_certificate(CertificateArn=arn)["Certificate"]
    except ClientError as error:
        return failed(AREA, check, f"unable to check: {error_code(error)} for {arn}",
                      "allow acm:DescribeCertificate to the identity running status")
    status, not_after = certificate.get("Status", ""), certificate.get("NotAfter")
    if status != "ISSUED" or not isinstance(not_after, datetime.datetime):
        return failed(AREA, check, f"{arn} is {status or 'unknown'}",
                      "request or import a new certificate in us-east-1 and deploy with it")
    days = (not_after - now).days
    renewal = "ACM renews it" if certificate.get("Type") == "AMAZON_ISSUED" else "imported: nobody renews it"
    if days < EXPIRY_WARNING_DAYS:
        return failed(AREA, check, f"{arn} expires {not_after:%Y-%m-%d} (in {days} days; {renewal})",
                      "renew or re-import the certificate, or deploy with a new one")
    return passed(AREA, check, f"ISSUED, expires {not_after:%Y-%m-%d} (in {days} days; {renewal})")
