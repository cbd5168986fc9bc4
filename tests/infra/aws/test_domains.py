"""Alternate domain names: the certificate preflight (against moto's ACM, with certificates imported or requested
as a user would), the DNS records deploy prints or creates in Route 53 (moto), and the status checks."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from infra.aws import deploy as deploy_module
from infra.aws.domains import (
    CLOUDFRONT_HOSTED_ZONE_ID,
    DomainOptions,
    certificate_covers,
    check_certificate,
    publish_dns,
)
from infra.aws.errors import ToolError
from infra.aws.regions import parse_buckets

from .account import Account
from .helpers import BUCKETS, Clients, expect_report, import_certificate

DISTRIBUTION = "d111111abcdef8.cloudfront.net"


# --- what is refused before any call ---------------------------------------------------------------------------------

@pytest.mark.parametrize("names, arn, zone, message", [
    ("images.example.com", "", "", "without a certificate"),
    ("", "arn:aws:acm:us-east-1:123456789012:certificate/8d1b6a7e-1f2c", "", "without alternate domain names"),
    ("", "", "Z123", "--hosted-zone-id without"),
    ("images.example.com", "arn:aws:acm:eu-west-2:123456789012:certificate/8d1b6a7e-1f2c", "",
     "it is in eu-west-2; CloudFront uses certificates from us-east-1 only"),
    ("images.example.com", "8d1b6a7e-1f2c", "", "not an ACM certificate ARN"),
    ("images_example.com", "arn:aws:acm:us-east-1:123456789012:certificate/8d1b6a7e-1f2c", "", "not a domain name"),
    ("localhost", "arn:aws:acm:us-east-1:123456789012:certificate/8d1b6a7e-1f2c", "", "not a domain name"),
])
def test_options_that_cannot_work_are_refused_in_one_line(names: str, arn: str, zone: str, message: str) -> None:
    with pytest.raises(ToolError, match=message) as refused:
        DomainOptions.parse(names, arn, zone)
    assert "\n" not in str(refused.value)


def test_names_are_normalised_and_become_the_stacks_parameters() -> None:
    options = DomainOptions.parse(" Images.Example.com., static.example.com,images.example.com",
                                  "arn:aws:acm:us-east-1:123456789012:certificate/8d1b6a7e-1f2c", "/hostedzone/Z1")

    assert options.names == ("images.example.com", "static.example.com")
    assert options.hosted_zone_id == "Z1"
    assert options.stack_parameters == {
        "AlternateDomainNames": "images.example.com,static.example.com",
        "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/8d1b6a7e-1f2c"}
    assert DomainOptions().stack_parameters == {"AlternateDomainNames": "", "CertificateArn": ""}


@pytest.mark.parametrize("name, covered", [
    ("images.example.com", True),
    ("example.com", False),
    ("a.b.example.com", False),
    ("*.example.com", True),
    ("images.example.org", False),
])
def test_a_wildcard_certificate_covers_one_label(name: str, covered: bool) -> None:
    assert certificate_covers(["*.example.com"], name) is covered


# --- the certificate preflight, against ACM ------------------------------------------------------------------------

def test_an_issued_certificate_covering_every_name_passes(aws: Clients) -> None:
    arn = import_certificate(aws, ["example.com", "*.example.com"])

    certificate = check_certificate(aws, DomainOptions.parse("images.example.com,example.com", arn))

    assert certificate["Status"] == "ISSUED"


def test_a_certificate_not_covering_a_name_is_refused_naming_it(aws: Clients) -> None:
    arn = import_certificate(aws, ["*.example.com"])

    with pytest.raises(ToolError, match="it does not cover a.b.example.com"):
        check_certificate(aws, DomainOptions.parse("images.example.com,a.b.example.com", arn))


def test_a_certificate_pending_validation_is_refused(aws: Clients) -> None:
    arn = aws("acm", "us-east-1").request_certificate(DomainName="images.example.com",
                                                      ValidationMethod="DNS")["CertificateArn"]

    with pytest.raises(ToolError, match="its status is PENDING_VALIDATION, not ISSUED"):
        check_certificate(aws, DomainOptions.parse("images.example.com", arn))


def test_a_certificate_missing_from_us_east_1_is_refused(aws: Clients) -> None:
    arn = import_certificate(aws, ["images.example.com"])
    gone = arn[:-4] + "0000"

    with pytest.raises(ToolError, match="no such certificate in us-east-1"):
        check_certificate(aws, DomainOptions.parse("images.example.com", gone))


# --- DNS -----------------------------------------------------------------------------------------------------------

def _zone(aws: Clients, name: str = "example.com") -> str:
    return str(aws("route53", "us-east-1").create_hosted_zone(Name=name, CallerReference=name)["HostedZone"]["Id"])


def _records(aws: Clients, zone: str) -> List[Dict[str, Any]]:
    return [r for r in aws("route53", "us-east-1").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
            if r["Type"] in ("A", "AAAA", "CNAME")]


ARN = "arn:aws:acm:us-east-1:123456789012:certificate/8d1b6a7e-1f2c"


def test_without_a_hosted_zone_deploy_prints_the_cname_records() -> None:
    said: List[str] = []

    publish_dns(lambda service, region: pytest.fail("no AWS call"),
                DomainOptions.parse("images.example.com", ARN), DISTRIBUTION, said.append)

    assert f"  images.example.com. 300 IN CNAME {DISTRIBUTION}." in said


def test_with_a_hosted_zone_deploy_creates_alias_records_once(aws: Clients) -> None:
    zone = _zone(aws)
    options = DomainOptions.parse("images.example.com", ARN, zone)

    publish_dns(aws, options, DISTRIBUTION, lambda line: None)
    said: List[str] = []
    publish_dns(aws, options, DISTRIBUTION, said.append)  # the second run finds them and writes nothing

    records = _records(aws, zone)
    assert sorted(r["Type"] for r in records) == ["A", "AAAA"]
    assert all(r["AliasTarget"]["HostedZoneId"] == CLOUDFRONT_HOSTED_ZONE_ID
               and r["AliasTarget"]["DNSName"].rstrip(".") == DISTRIBUTION for r in records)
    assert said == []


def test_a_dry_run_says_what_it_would_create_and_creates_nothing(aws: Clients) -> None:
    zone = _zone(aws)
    said: List[str] = []

    publish_dns(aws, DomainOptions.parse("images.example.com", ARN, zone), DISTRIBUTION, said.append, dry_run=True)

    assert said == [f"would create Route 53 alias A images.example.com. -> {DISTRIBUTION}",
                    f"would create Route 53 alias AAAA images.example.com. -> {DISTRIBUTION}"]
    assert _records(aws, zone) == []


def test_a_record_pointing_elsewhere_is_never_replaced(aws: Clients) -> None:
    zone = _zone(aws)
    aws("route53", "us-east-1").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "CREATE", "ResourceRecordSet": {"Name": "images.example.com.", "Type": "CNAME", "TTL": 300,
                                                  "ResourceRecords": [{"Value": "old-images.example.net"}]}}]})

    with pytest.raises(ToolError, match="has a CNAME record for it pointing elsewhere; not replacing"):
        publish_dns(aws, DomainOptions.parse("images.example.com", ARN, zone), DISTRIBUTION, lambda line: None)

    assert [r["ResourceRecords"] for r in _records(aws, zone)] == [[{"Value": "old-images.example.net"}]]


def test_a_name_outside_the_hosted_zone_is_refused(aws: Clients) -> None:
    zone = _zone(aws, "example.org")

    with pytest.raises(ToolError, match="the zone is example.org"):
        publish_dns(aws, DomainOptions.parse("images.example.com", ARN, zone), DISTRIBUTION, lambda line: None)


# --- scripts/status ------------------------------------------------------------------------------------------------

# --- the deploy hook -------------------------------------------------------------------------------------------------

def _template_with_domain_parameters(template: Path) -> Path:
    document = json.loads(template.read_text(encoding="utf-8"))
    for name in ("AlternateDomainNames", "CertificateArn"):
        document["Parameters"][name] = {"Type": "String", "Default": ""}
    document["Outputs"]["DistributionDomainName"] = {"Value": DISTRIBUTION}
    path = template.with_name("domains.template")
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_deploy_refuses_a_certificate_not_issued_before_writing_anything(aws: Clients, package: Path,
                                                                         template: Path) -> None:
    arn = aws("acm", "us-east-1").request_certificate(DomainName="images.example.com",
                                                      ValidationMethod="DNS")["CertificateArn"]
    options = deploy_module.DeployOptions(
        buckets=parse_buckets(BUCKETS), zip_path=package, template=_template_with_domain_parameters(template),
        create_buckets=True, alternate_domains=DomainOptions.parse("images.example.com", arn))

    with pytest.raises(ToolError, match="its status is PENDING_VALIDATION, not ISSUED"):
        deploy_module.deploy(aws, options, say=lambda line: None, sleep=lambda _: None)

    assert aws("s3", "us-east-1").list_buckets()["Buckets"] == []
    assert aws("cloudformation", "us-east-1").list_stacks()["StackSummaries"] == []


def test_deploy_passes_the_names_and_certificate_to_the_stack_and_prints_the_dns_records(
        aws: Account, package: Path, template: Path) -> None:
    arn = import_certificate(aws, ["*.example.com"])
    expect_report(aws)
    options = deploy_module.DeployOptions(
        buckets=parse_buckets(BUCKETS), zip_path=package, template=_template_with_domain_parameters(template),
        create_buckets=True, alternate_domains=DomainOptions.parse("images.example.com", arn))
    said: List[str] = []

    result = deploy_module.deploy(aws, options, say=said.append, sleep=aws.clock.sleep)

    (stack,) = aws("cloudformation", "us-east-1").describe_stacks(StackName="mrap-edge")["Stacks"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert (parameters["AlternateDomainNames"], parameters["CertificateArn"]) == ("images.example.com", arn)
    assert result.outputs["DistributionDomainName"] == DISTRIBUTION
    assert f"  images.example.com. 300 IN CNAME {DISTRIBUTION}." in said
