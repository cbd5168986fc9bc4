"""Shared by the AWS tooling tests: moto-backed clients (the base of the account model in account.py) with botocore
Stubbers for what neither knows (CloudFront's answers, AWS's refusals), a client wrapper that fails on any write (dry
runs), the stand-in template, and the ListJobs answers the probes' tests still stub."""
from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from botocore.stub import Stubber

from infra.aws import deploy as deploy_module
from infra.aws import encryption
from infra.cli import deploy as deploy_cli
from infra.aws.clients import ToolError
from infra.aws.regions import parse_buckets

ACCOUNT = "123456789012"
LONDON, OHIO = "mrap-edge-demo-eu-west-2", "mrap-edge-demo-us-east-2"
BUCKETS = f"{LONDON}@eu-west-2,{OHIO}@us-east-2"
# The stand-in stack's MRAP: its alias is derived from its name (a real alias is random), so a new name is a new MRAP.
MRAP_ARN_FORMAT = "arn:aws:s3::{account}:accesspoint/{name}.mrap"
MRAP_ARN = MRAP_ARN_FORMAT.format(account=ACCOUNT, name="mrap-edge")
DIST_ID = "E2QWRUHAPOMQZL"
CODE_BUCKET = f"mrap-edge-deployables-{ACCOUNT}"
# A stand-in stack for moto, which cannot create MRAPs or distributions: same parameters, outputs of the same shape.
TEST_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {name: {"Type": "String", "Default": ""} for name in (
        "MrapName", "BucketNames", "BucketRegions", "FunctionName", "CodeBucket", "CodeKey", "Runtime", "MemorySize",
        "Timeout", "FailoverStatusCodes", "PriceClass", "AllowedIpv4Cidrs", "NativeMode", "OriginPath", "KmsKeyArns")},
    "Resources": {
        "Marker": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": "${MrapName}-marker"}}},
    },
    "Outputs": {
        "DistributionId": {"Value": DIST_ID},
        "MrapArn": {"Value": {"Fn::Sub": "arn:aws:s3::${AWS::AccountId}:accesspoint/${MrapName}.mrap"}},
        "BucketNames": {"Value": {"Ref": "BucketNames"}},
        "BucketRegions": {"Value": {"Ref": "BucketRegions"}},
        "CodeKey": {"Value": {"Ref": "CodeKey"}},
    },
}
STUBBED_SERVICES = ("cloudfront", "s3control", "wafv2")
# Every AWS call the tools made in this test session, (service, operation, the parameters that choose the IAM action):
# recorded by tests/infra/aws/conftest.py, checked against the deployer's policy by test_permissions.py.
TOOL_CALLS: Set[Tuple[str, str, str]] = set()
_ROOT = Path(__file__).resolve().parents[3]
# The tools' code; the local stand-in (infra/local) plays AWS in some of these tests, its calls are not the tools'.
_PRODUCT = tuple(str(_ROOT / top) + "/" for top in ("infra/aws", "infra/cli", "scripts"))
_ACCOUNT_MODEL = str(Path(__file__).resolve().parent / "account.py")
# What the account model does as AWS, on AWS's own account (a Batch Replication job's copies), is no tool's call.
_AWS_OWN_WORK = {"settle", "_copy_finished_jobs"}


def called_by_the_tools() -> bool:
    """Is a frame of product code on the stack (not a test setting up moto), and is the call not AWS's own work in
    the account model?"""
    frame = sys._getframe(1)
    by_the_tools = False
    while frame is not None:
        code = frame.f_code
        if code.co_filename == _ACCOUNT_MODEL and code.co_name in _AWS_OWN_WORK:
            return False
        by_the_tools = by_the_tools or code.co_filename.startswith(_PRODUCT)
        frame = frame.f_back
    return by_the_tools


class Clients:
    """moto-backed clients, except the services given stubbed clients (one per service, whatever the Region)."""

    def __init__(self) -> None:
        self.real: Dict[Tuple[str, str], Any] = {}
        self.stubs: Dict[str, Stubber] = {}
        self.stubbed: Dict[str, Any] = {}
        self.replication_echo = _ReplicationEcho()

    def stub(self, service: str, region: str = "us-east-1") -> Stubber:
        """The service's Stubber, created on first use; responses queue up in call order."""
        if service in self.stubs:
            return self.stubs[service]
        client = boto3.client(service, region_name=region)
        stubber = Stubber(client)
        stubber.activate()
        self.stubbed[service] = client
        self.stubs[service] = stubber
        return stubber

    def __call__(self, service: str, region: str) -> Any:
        if service in self.stubbed:
            return self.stubbed[service]
        if service in STUBBED_SERVICES:
            raise AssertionError(f"unexpected call to {service}: stub it")
        key = (service, region)
        if key not in self.real:
            self.real[key] = boto3.client(service, region_name=region)
            if service == "cloudformation":
                self.real[key].meta.events.register("after-call.cloudformation.ExecuteChangeSet", _moto_refresh)
            if service == "s3":
                self.replication_echo.register(self.real[key])
        return self.real[key]


class _ReplicationEcho:
    """moto 5 drops a rule's SourceSelectionCriteria from the configuration it echoes back; S3 returns it as written
    (GetBucketReplication). Put it back from what PutBucketReplication sent."""

    def __init__(self) -> None:
        self.sent: Dict[str, Dict[str, Any]] = {}

    def register(self, client: Any) -> None:
        client.meta.events.register("provide-client-params.s3.PutBucketReplication", self._remember)
        client.meta.events.register("after-call.s3.GetBucketReplication", self._restore)

    def _remember(self, params: Dict[str, Any], **_: Any) -> None:
        rules = params.get("ReplicationConfiguration", {}).get("Rules", [])
        self.sent[params["Bucket"]] = {str(r.get("ID")): r.get("SourceSelectionCriteria") for r in rules}

    def _restore(self, parsed: Dict[str, Any], **kwargs: Any) -> None:
        sent = self.sent.get(kwargs.get("context", {}).get("input_params", {}).get("Bucket", ""), {})
        for rule in parsed.get("ReplicationConfiguration", {}).get("Rules", []):
            if sent.get(str(rule.get("ID"))):
                rule["SourceSelectionCriteria"] = sent[str(rule.get("ID"))]


_READ_PREFIXES = ("get_", "head_", "list_", "describe_")
_CLIENT_HELPERS = {"get_paginator", "can_paginate", "meta", "exceptions", "get_waiter"}


class ReadOnly:
    """Wraps a client factory; any client call that is not a read (get/head/list/describe) fails the test."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reads: List[str] = []

    def __call__(self, service: str, region: str) -> Any:
        return _ReadOnlyClient(self.inner(service, region), service, self.reads)


class _ReadOnlyClient:
    def __init__(self, client: Any, service: str, reads: List[str]) -> None:
        self._client, self._service, self._reads = client, service, reads

    def __getattr__(self, name: str) -> Any:
        if name in _CLIENT_HELPERS or name.startswith(_READ_PREFIXES):
            if not name.startswith("get_pag"):
                self._reads.append(f"{self._service}.{name}")
            return getattr(self._client, name)
        raise AssertionError(f"dry run made a write call: {self._service}.{name}")


def _moto_refresh(**_: Any) -> None:
    """moto 5.2 applies a change set's resources but keeps the stack's old outputs and parameters; refresh them as
    CloudFormation does, so the tooling reads what a real stack would show."""
    from moto.cloudformation.models import cloudformation_backends

    for backend in cloudformation_backends[ACCOUNT].values():
        for change_set in backend.change_sets.values():
            if change_set.execution_status == "EXECUTE_COMPLETE":
                stack = change_set.stack
                stack.template = change_set.template
                stack._parse_template()
                stack.parameters = change_set.parameters
                stack.resource_map.input_parameters = change_set.parameters
                stack.output_map = stack._create_output_map()


def distribution_response() -> Dict[str, Any]:
    origin = {"Id": "mrap", "DomainName": "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com",
              "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}
    return {"Distribution": {
        "Id": DIST_ID, "ARN": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{DIST_ID}", "Status": "InProgress",
        "LastModifiedTime": datetime.datetime(2026, 1, 1), "InProgressInvalidationBatches": 0,
        "DomainName": "d111111abcdef8.cloudfront.net",
        "DistributionConfig": {"CallerReference": "mrap-edge", "Origins": {"Quantity": 1, "Items": [origin]},
                               "DefaultCacheBehavior": {"TargetOriginId": "mrap-with-failover",
                                                        "ViewerProtocolPolicy": "redirect-to-https"},
                               "Comment": "mrap-edge", "Enabled": True}}, "ETag": "E2QWRUHEXAMPLE"}


def expect_report(clients: Clients) -> None:
    """What deploy's closing report reads from CloudFront, which the account model leaves to moto's absence: the
    distribution."""
    clients.stub("cloudfront").add_response("get_distribution", distribution_response(), {"Id": DIST_ID})


def expect_list_jobs(clients: Clients, jobs: Sequence[Dict[str, Any]] = (), regions: Sequence[str] = ("x",)) -> None:
    """ListJobs once per Region listed (one stubbed client answers for all): `jobs` in the first, none after."""
    for index, _ in enumerate(regions):
        clients.stub("s3control").add_response("list_jobs", {"Jobs": list(jobs) if index == 0 else []},
                                               {"AccountId": ACCOUNT})


def job_item(job_id: str, status: str, source: str = LONDON, destinations: str = OHIO, total: int = 0,
             succeeded: int = 0, failed: int = 0, elapsed: int = 0, stack: str = "mrap-edge",
             created: Optional[datetime.datetime] = None) -> Dict[str, Any]:
    """A JobListDescriptor (ListJobs) for a backfill job, as the s3control model shapes it."""
    return {"JobId": job_id, "Description": f"mrap-edge backfill {stack} {source} to {destinations}",
            "Operation": "S3ReplicateObject", "Priority": 10, "Status": status,
            "CreationTime": created or datetime.datetime(2026, 12, 1, 22, 0, tzinfo=datetime.timezone.utc),
            "ProgressSummary": {"TotalNumberOfTasks": total, "NumberOfTasksSucceeded": succeeded,
                                "NumberOfTasksFailed": failed, "Timers": {"ElapsedTimeInActiveSeconds": elapsed}}}


def make_bucket(clients: Clients, name: str, region: str, versioned: bool = True, objects: int = 0) -> None:
    s3 = clients("s3", region)
    kwargs: Dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for index in range(objects):
        s3.put_object(Bucket=name, Key=f"images/{index:04d}.jpg", Body=b"\xff\xd8 image")


def run_deploy(clients: Any, package: Path, template: Path, *extra: str, buckets: str = BUCKETS,
               sleep: Optional[Callable[[float], None]] = None) -> Tuple[int, List[str]]:
    """deploy() with the options the command line would give; (exit code, what it said)."""
    said: List[str] = []
    args = ["--buckets", buckets, "--zip", str(package), "--template", str(template), *extra]
    options = deploy_cli.build_parser().parse_args(args)
    try:
        deploy_module.deploy(clients, deploy_module.DeployOptions(
            buckets=parse_buckets(options.buckets), zip_path=options.zip, template=options.template,
            create_buckets=options.create_buckets, rtc=options.rtc, native=options.native,
            dry_run=options.dry_run, mrap_name=options.mrap_name, memory=options.memory,
            stack_name=options.stack_name, kms_keys=encryption.parse_kms_keys(options.kms_key),
            adopt_replication_role=options.adopt_replication_role, missing_keys=options.missing_keys),
            say=said.append, sleep=sleep or getattr(clients, "clock", None) and clients.clock.sleep or (lambda _: None))
    except ToolError as error:
        return 1, said + [str(error)]
    return 0, said


def bucket_policy_or_none(clients: Clients, name: str, region: str = "us-east-2") -> Optional[Dict[str, Any]]:
    from botocore.exceptions import ClientError

    try:
        return json.loads(clients("s3", region).get_bucket_policy(Bucket=name)["Policy"])
    except ClientError:
        return None


def rules_of(clients: Clients, name: str, region: str) -> List[Dict[str, Any]]:
    return list(clients("s3", region).get_bucket_replication(Bucket=name)["ReplicationConfiguration"]["Rules"])


def import_certificate(aws: Clients, names: Sequence[str], days: int = 365, region: str = "us-east-1") -> str:
    """A certificate as a company imports one into ACM: self-signed here, its SANs `names`, valid for `days`."""
    now = datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=days))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
                   .sign(key, hashes.SHA256()))
    return str(aws("acm", region).import_certificate(
        Certificate=certificate.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))["CertificateArn"])
