"""The distribution's alternate domain names (e.g. images.example.com): the certificate CloudFront needs for them,
the DNS records that point them at the distribution, and the status checks that they do.

AWS's rules, applied here and nowhere else (CloudFront Developer Guide, "Use custom URLs by adding alternate domain
names (CNAMEs)" and "Requirements for using SSL/TLS certificates with CloudFront"; Route 53 Developer Guide,
"Routing traffic to an Amazon CloudFront distribution by using your domain name"):
- "To use an ACM certificate with CloudFront, make sure you request (or import) the certificate in the US East
  (N. Virginia) Region (us-east-1)";
- the certificate must be valid (ACM status ISSUED) and "must list the alternate domain name ... in the Subject
  Alternative Name (SAN) field"; a wildcard `*.example.com` covers exactly one label (images.example.com, not
  example.com nor a.b.example.com);
- DNS: a CNAME record from the name to the distribution's domain name, or in Route 53 an alias record (A and AAAA)
  whose target is the distribution, with CloudFront's fixed hosted zone id Z2FDTNDATAQYW2. A CNAME cannot sit at a
  zone apex (example.com itself); an alias can.

Deploy reads before it writes DNS: it creates only missing records, leaves alone records that already point at the
distribution, and refuses to replace a record for the name that points anywhere else.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Sequence, Tuple

from botocore.exceptions import ClientError

from .clients import HOME_REGION, ClientFactory
from .errors import ToolError, error_code, refusal

__all__ = ["ACM_REGION", "CLOUDFRONT_HOSTED_ZONE_ID", "EXPIRY_WARNING_DAYS", "DomainOptions", "add_arguments",
           "certificate_covers", "check_certificate", "cname_records", "publish_dns"]

Say = Callable[[str], None]

ACM_REGION = "us-east-1"
# Route 53: "Z2FDTNDATAQYW2 ... is always the hosted zone ID when you create an alias record that routes traffic
# to a CloudFront distribution."
CLOUDFRONT_HOSTED_ZONE_ID = "Z2FDTNDATAQYW2"
# ACM renews certificates it issued from 60 days before expiry; an imported one is renewed by nobody: warn early.
EXPIRY_WARNING_DAYS = 30
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):[0-9]{12}:certificate/[0-9a-f-]+$")


@dataclass(frozen=True)
class DomainOptions:
    names: Tuple[str, ...] = ()
    certificate_arn: str = ""
    hosted_zone_id: str = ""  # Route 53 zone to create the alias records in; empty: print the CNAMEs to create

    @classmethod
    def parse(cls, names: str, certificate_arn: str, hosted_zone_id: str = "") -> "DomainOptions":
        """Everything that can be refused without calling AWS, one line each."""
        parsed = tuple(dict.fromkeys(_domain_name(n) for n in names.split(",") if n.strip()))
        certificate_arn, hosted_zone_id = certificate_arn.strip(), hosted_zone_id.strip()
        if parsed and not certificate_arn:
            raise ToolError("unable to use alternate domain names without a certificate: pass --certificate-arn "
                            "(an ACM certificate in us-east-1 covering every name)")
        if certificate_arn and not parsed:
            raise ToolError("unable to use a certificate without alternate domain names: pass "
                            "--alternate-domain-names (e.g. images.example.com)")
        if hosted_zone_id and not parsed:
            raise ToolError("unable to use --hosted-zone-id without --alternate-domain-names")
        if certificate_arn:
            match = _ACM_ARN.match(certificate_arn)
            if match is None:
                raise ToolError(f"unable to use certificate {certificate_arn}: not an ACM certificate ARN")
            if match.group(1) != ACM_REGION:
                raise ToolError(f"unable to use certificate {certificate_arn}: it is in {match.group(1)}; CloudFront "
                                f"uses certificates from {ACM_REGION} only (request or import it there)")
        return cls(parsed, certificate_arn, hosted_zone_id.rsplit("/", 1)[-1])

    @property
    def stack_parameters(self) -> Dict[str, str]:
        return {"AlternateDomainNames": ",".join(self.names), "CertificateArn": self.certificate_arn}


def add_arguments(parser: Any) -> None:
    """scripts/deploy's options for alternate domain names (a later deploy without them keeps the stack's)."""
    parser.add_argument("--alternate-domain-names", default="", metavar="NAMES",
                        help="the company's names for the distribution, comma-separated (e.g. images.example.com); "
                             "signed cookies need one under the app's domain")
    parser.add_argument("--certificate-arn", default="",
                        help="with --alternate-domain-names: an ISSUED ACM certificate in us-east-1 covering them")
    parser.add_argument("--hosted-zone-id", default="",
                        help="create Route 53 alias records for the names in this hosted zone (default: print the "
                             "CNAME records to create)")


def _domain_name(text: str) -> str:
    name = text.strip().lower().rstrip(".")
    labels = name.split(".")
    wildcard = labels[0] == "*"
    if len(labels) < 2 or len(name) > 253 or not all(_LABEL.match(label) for label in labels[wildcard:]):
        raise ToolError(f"unable to use alternate domain name {text.strip()!r}: not a domain name "
                        f"(e.g. images.example.com)")
    return name


def certificate_covers(certificate_names: Sequence[str], name: str) -> bool:
    """Does a certificate for `certificate_names` (its domain and SANs) cover `name`? `*.example.com` covers one
    label: images.example.com, not example.com nor a.b.example.com; an alias `*.example.com` needs the wildcard."""
    name = name.lower().rstrip(".")
    for covered in (c.lower().rstrip(".") for c in certificate_names):
        if covered == name:
            return True
        if covered.startswith("*.") and "." in name and not name.startswith("*."):
            if name.split(".", 1)[1] == covered[2:]:
                return True
    return False


def check_certificate(clients: ClientFactory, options: DomainOptions) -> Dict[str, Any]:
    """The preflight: the certificate exists in us-east-1, is ISSUED and covers every name; its description."""
    try:
        certificate = clients("acm", ACM_REGION).describe_certificate(
            CertificateArn=options.certificate_arn)["Certificate"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise ToolError(f"unable to use certificate {options.certificate_arn}: no such certificate in "
                            f"{ACM_REGION} in this account") from None
        raise refusal(f"read certificate {options.certificate_arn}", error,
                      "the deploying identity needs acm:DescribeCertificate") from None
    status = certificate.get("Status", "")
    if status != "ISSUED":
        raise ToolError(f"unable to use certificate {options.certificate_arn}: its status is {status}, not ISSUED"
                        + (" (create its DNS validation records first)" if status == "PENDING_VALIDATION" else ""))
    covered = list(certificate.get("SubjectAlternativeNames") or []) + [certificate.get("DomainName", "")]
    missing = [name for name in options.names if not certificate_covers(covered, name)]
    if missing:
        raise ToolError(f"unable to use certificate {options.certificate_arn}: it does not cover {missing[0]} "
                        f"(it covers {', '.join(sorted(set(filter(None, covered))))})")
    return dict(certificate)


def cname_records(names: Sequence[str], distribution_domain: str) -> List[str]:
    """The DNS records to create at the company's DNS provider, one zone-file line each."""
    return [f"{name}. 300 IN CNAME {distribution_domain}." for name in names]


def _alias(name: str, record_type: str, distribution_domain: str) -> Dict[str, Any]:
    return {"Name": f"{name}.", "Type": record_type,
            "AliasTarget": {"HostedZoneId": CLOUDFRONT_HOSTED_ZONE_ID, "DNSName": f"{distribution_domain}.",
                            "EvaluateTargetHealth": False}}


def _points_at(record: Dict[str, Any], distribution_domain: str) -> bool:
    target = (record.get("AliasTarget") or {}).get("DNSName", "")
    if not target and record.get("Type") == "CNAME":
        target = ((record.get("ResourceRecords") or [{}])[0]).get("Value", "")
    return bool(target.lower().rstrip(".") == distribution_domain.lower().rstrip("."))


def _existing(route53: Any, zone_id: str, name: str) -> List[Dict[str, Any]]:
    page = route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=f"{name}.", MaxItems="10")
    return [r for r in page.get("ResourceRecordSets", []) if r["Name"].lower().rstrip(".") == name
            and r["Type"] in ("A", "AAAA", "CNAME")]


def publish_dns(clients: ClientFactory, options: DomainOptions, distribution_domain: str, say: Say,
                dry_run: bool = False) -> None:
    """Print the CNAME records to create, or with a hosted zone create the missing Route 53 alias records."""
    if not options.names or not distribution_domain:
        return
    if not options.hosted_zone_id:
        say(f"DNS: create these records where {', '.join(options.names)} is managed (then scripts/status checks "
            f"them):")
        for line in cname_records(options.names, distribution_domain):
            say(f"  {line}")
        return
    route53 = clients("route53", HOME_REGION)
    zone_id = options.hosted_zone_id
    try:
        zone = route53.get_hosted_zone(Id=zone_id)["HostedZone"]["Name"].lower().rstrip(".")
        changes = _alias_changes(route53, zone_id, zone, options.names, distribution_domain)
    except ClientError as error:
        raise refusal(f"read hosted zone {zone_id}", error, "check the zone id (aws route53 list-hosted-zones)"
                      ) from None
    for change in changes:
        record = change["ResourceRecordSet"]
        say(f"{'would create' if dry_run else 'creating'} Route 53 alias {record['Type']} {record['Name']} -> "
            f"{distribution_domain}")
    if changes and not dry_run:
        try:
            route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={
                "Comment": "mrap-edge: the distribution's alternate domain names", "Changes": changes})
        except ClientError as error:
            raise refusal(f"create the alias records in hosted zone {zone_id}", error) from None


def _alias_changes(route53: Any, zone_id: str, zone: str, names: Sequence[str],
                   distribution_domain: str) -> List[Dict[str, Any]]:
    changes = []
    for name in names:
        if name != zone and not name.endswith("." + zone):
            raise ToolError(f"unable to create a record for {name} in hosted zone {zone_id}: the zone is {zone}")
        existing = _existing(route53, zone_id, name)
        elsewhere = [r for r in existing if not _points_at(r, distribution_domain)]
        if elsewhere:
            raise ToolError(f"unable to point {name} at the distribution: hosted zone {zone_id} has a "
                            f"{elsewhere[0]['Type']} record for it pointing elsewhere; not replacing a record this "
                            f"tool did not create (change or delete it, then deploy again)")
        have = {r["Type"] for r in existing}
        changes += [{"Action": "CREATE", "ResourceRecordSet": _alias(name, record_type, distribution_domain)}
                    for record_type in ("A", "AAAA") if record_type not in have and "CNAME" not in have]
    return changes
