"""scripts/status, alternate domain names (infra/aws/status/domains.py): each name resolves to the distribution and
the certificate is valid, against moto's ACM with certificates imported as a user would and a resolver table."""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from infra.aws.status.domains import domain_checks

from ..helpers import Clients, import_certificate

DISTRIBUTION = "d111111abcdef8.cloudfront.net"


def _distribution(names: Sequence[str], arn: str) -> Dict[str, Any]:
    return {"DomainName": DISTRIBUTION, "DistributionConfig": {
        "Aliases": {"Quantity": len(names), "Items": list(names)},
        "ViewerCertificate": {"ACMCertificateArn": arn, "SSLSupportMethod": "sni-only"}}}


def _resolver(table: Dict[str, Tuple[str, List[str], List[str]]]) -> Any:
    def resolve(name: str) -> Tuple[str, List[str], List[str]]:
        if name not in table:
            raise OSError(-2, "Name or service not known")
        return table[name]
    return resolve


def test_status_passes_names_that_resolve_to_the_distribution_and_a_certificate_far_from_expiry(
        aws: Clients) -> None:
    arn = import_certificate(aws, ["*.example.com"], days=200)
    resolve = _resolver({
        "images.example.com": (DISTRIBUTION, ["images.example.com"], ["192.0.2.10"]),  # a CNAME
        "static.example.com": ("static.example.com", [], ["192.0.2.10", "192.0.2.11"]),  # a Route 53 alias
        DISTRIBUTION: (DISTRIBUTION, [], ["192.0.2.10", "192.0.2.12"]),
    })

    findings = domain_checks(aws, _distribution(["images.example.com", "static.example.com"], arn), resolve)

    assert [(f.ok, f.evidence.split(" (")[0]) for f in findings][:2] == [
        (True, f"CNAME to {DISTRIBUTION}"), (True, f"static.example.com and {DISTRIBUTION} resolve to 1 common "
                                                    "addresses")]
    assert findings[2].ok and findings[2].evidence.startswith("ISSUED, expires")
    assert any(f"in {days} days" in findings[2].evidence for days in (199, 200))


def test_status_fails_a_name_that_does_not_resolve_or_points_elsewhere_with_the_record_to_create(
        aws: Clients) -> None:
    arn = import_certificate(aws, ["*.example.com"])
    resolve = _resolver({"static.example.com": ("static.example.com", [], ["198.51.100.7"]),
                         DISTRIBUTION: (DISTRIBUTION, [], ["192.0.2.10"])})

    findings = domain_checks(aws, _distribution(["images.example.com", "static.example.com"], arn), resolve)

    assert [f.ok for f in findings[:2]] == [False, False]
    assert "does not resolve" in findings[0].evidence
    assert "resolves to 198.51.100.7, not to" in findings[1].evidence
    assert f"images.example.com. 300 IN CNAME {DISTRIBUTION}." in findings[0].fix


def test_status_fails_a_certificate_close_to_expiry(aws: Clients) -> None:
    arn = import_certificate(aws, ["images.example.com"], days=10)
    resolve = _resolver({"images.example.com": (DISTRIBUTION, [], ["192.0.2.10"])})

    findings = domain_checks(aws, _distribution(["images.example.com"], arn), resolve)

    assert not findings[-1].ok and "imported: nobody renews it" in findings[-1].evidence


def test_status_says_nothing_for_a_distribution_without_alternate_names(aws: Clients) -> None:
    assert domain_checks(aws, {"DomainName": DISTRIBUTION, "DistributionConfig": {"Aliases": {"Quantity": 0}}},
                           _resolver({})) == []
