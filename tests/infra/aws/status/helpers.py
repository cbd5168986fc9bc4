"""A deployed stack as AWS would describe it, for the status tests: responses shaped like the real ones (botocore's
service models; Stubber checks every parameter and field against them), moto for S3, CloudWatch, CloudWatch Logs,
EC2 and STS, and a real HTTP server on 127.0.0.1 for the function's code URL and the request path.

Each `healthy_*` function returns a fresh dict, so a test breaks exactly one thing of it.
"""
from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime
import hashlib
import http.server
import io
import json
import threading
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import boto3
from botocore.stub import Stubber

from infra.aws.regions import Bucket

ACCOUNT = "123456789012"  # moto's default account: STS answers with it
STACK = "mrap-edge"
LONDON = Bucket("images-london", "eu-west-2")
OHIO = Bucket("images-ohio", "us-east-2")
BUCKETS = (LONDON, OHIO)
ALIAS = "mfzwi23gnjvgw.mrap"
MRAP_NAME = "mrap-edge"
MRAP_ARN = f"arn:aws:s3::{ACCOUNT}:accesspoint/{ALIAS}"
MRAP_DOMAIN = f"{ALIAS}.accesspoint.s3-global.amazonaws.com"
DIST_ID = "E2QWRUHAPOMQZL"
DOMAIN = "d111111abcdef8.cloudfront.net"
STACK_UUID = "0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b"
# The template names the function `<FunctionName parameter>-<first group of the stack id's UUID>`, so that two
# stacks never share one: the parameter alone is not the deployed function's name.
FUNCTION_PARAMETER = "mrap-edge"
FUNCTION = f"{FUNCTION_PARAMETER}-{STACK_UUID.split('-')[0]}"
VERSION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{FUNCTION}:7"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/mrap-edge-FunctionRole-1A2B3C4D5E6F"
CACHE_POLICY_ID = "4cc15a8a-d715-48a4-82b8-cc0b614638fe"
REQUEST_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
OAC_ID = "E1F83G8C2ARO7P"
ACL_ID, IP_SET_ID = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", "a1b2c3d4-5678-90ab-cdef-EXAMPLE22222"
WEB_ACL_ARN = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/mrap-edge-internal-only/{ACL_ID}"
IP_SET_ARN = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/ipset/mrap-edge-allowed-viewers/{IP_SET_ID}"
NOW = datetime.datetime(2026, 12, 1, 22, 0, tzinfo=datetime.timezone.utc)
CREATED = datetime.datetime(2026, 12, 1, 20, 0, tzinfo=datetime.timezone.utc)
STUBBED = ("cloudformation", "cloudfront", "lambda", "s3control", "wafv2")


def healthy_stack() -> Dict[str, Any]:
    outputs = {
        "DistributionDomainName": DOMAIN, "DistributionId": DIST_ID, "MrapAlias": ALIAS, "MrapArn": MRAP_ARN,
        "BucketNames": ",".join(b.name for b in BUCKETS), "BucketRegions": ",".join(b.region for b in BUCKETS),
        "FunctionVersionArn": VERSION_ARN, "FunctionName": FUNCTION,
        "FunctionLogGroupName": f"/aws/lambda/us-east-1.{FUNCTION}",
    }
    parameters = {"MrapName": MRAP_NAME, "FunctionName": FUNCTION_PARAMETER, "NativeMode": "false",
                  "BucketNames": outputs["BucketNames"], "BucketRegions": outputs["BucketRegions"]}
    return {"Stacks": [{
        "StackName": STACK, "StackId": f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{STACK}/{STACK_UUID}",
        "CreationTime": CREATED, "StackStatus": "UPDATE_COMPLETE",
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
    }]}


def healthy_distribution(web_acl: str = "", key_group: str = "") -> Dict[str, Any]:
    """`key_group`: the id of a trusted key group on the default behaviour (signed URLs required)."""
    failover_domain = f"{LONDON.name}.s3.{LONDON.region}.amazonaws.com"
    config: Dict[str, Any] = {
        "CallerReference": "mrap-edge-0f1e2d3c", "Aliases": {"Quantity": 0}, "DefaultRootObject": "",
        "Origins": {"Quantity": 2, "Items": [
            {"Id": "mrap", "DomainName": MRAP_DOMAIN, "OriginPath": "", "CustomHeaders": {"Quantity": 0},
             "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only",
                                    "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
                                    "OriginReadTimeout": 30, "OriginKeepaliveTimeout": 5},
             "ConnectionAttempts": 3, "ConnectionTimeout": 10, "OriginAccessControlId": ""},
            {"Id": "failover", "DomainName": failover_domain, "OriginPath": "",
             "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": "originTypeFailover", "HeaderValue": "true"}]},
             "S3OriginConfig": {"OriginAccessIdentity": ""}, "ConnectionAttempts": 3, "ConnectionTimeout": 10,
             "OriginAccessControlId": OAC_ID},
        ]},
        "OriginGroups": {"Quantity": 1, "Items": [{
            "Id": "mrap-with-failover",
            "FailoverCriteria": {"StatusCodes": {"Quantity": 4, "Items": [500, 502, 503, 504]}},
            "Members": {"Quantity": 2, "Items": [{"OriginId": "mrap"}, {"OriginId": "failover"}]},
        }]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "mrap-with-failover", "ViewerProtocolPolicy": "redirect-to-https",
            "AllowedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"],
                               "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
            "Compress": True, "CachePolicyId": CACHE_POLICY_ID, "OriginRequestPolicyId": REQUEST_POLICY_ID,
            "LambdaFunctionAssociations": {"Quantity": 1, "Items": [
                {"LambdaFunctionARN": VERSION_ARN, "EventType": "origin-request", "IncludeBody": False}]},
            "FunctionAssociations": {"Quantity": 0}, "FieldLevelEncryptionId": "",
            "TrustedKeyGroups": ({"Enabled": True, "Quantity": 1, "Items": [key_group]} if key_group
                                 else {"Enabled": False, "Quantity": 0}),
        },
        "CacheBehaviors": {"Quantity": 0},
        "CustomErrorResponses": {"Quantity": 2, "Items": [
            {"ErrorCode": 403, "ResponsePagePath": "/mrap-edge-errors/403.html", "ResponseCode": "403",
             "ErrorCachingMinTTL": 10},
            {"ErrorCode": 404, "ResponsePagePath": "/mrap-edge-errors/404.html", "ResponseCode": "404",
             "ErrorCachingMinTTL": 10},
        ]},
        "Comment": f"mrap-edge {STACK}: {MRAP_NAME}", "PriceClass": "PriceClass_100", "Enabled": True,
        "WebACLId": web_acl, "HttpVersion": "http2and3", "IsIPV6Enabled": not web_acl,
        "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
    }
    return {"ETag": "E3UN6WX5RRO2AG", "Distribution": {
        "Id": DIST_ID, "ARN": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{DIST_ID}", "Status": "Deployed",
        "LastModifiedTime": CREATED, "InProgressInvalidationBatches": 0, "DomainName": DOMAIN,
        "DistributionConfig": config,
    }}


def _headers(behaviour: str, names: List[str]) -> Dict[str, Any]:
    block: Dict[str, Any] = {"HeaderBehavior": behaviour}
    if names:
        block["Headers"] = {"Quantity": len(names), "Items": names}
    return block


def _queries(behaviour: str, names: List[str]) -> Dict[str, Any]:
    block: Dict[str, Any] = {"QueryStringBehavior": behaviour}
    if names:
        block["QueryStrings"] = {"Quantity": len(names), "Items": names}
    return block


CORS = ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"]


def healthy_request_policy(headers: Tuple[str, List[str]] = ("whitelist", CORS),
                           queries: Tuple[str, List[str]] = ("whitelist", ["versionId", "partNumber"]),
                           ) -> Dict[str, Any]:
    return {"ETag": "E2QWRUHEXAMPLE", "OriginRequestPolicy": {
        "Id": REQUEST_POLICY_ID, "LastModifiedTime": CREATED, "OriginRequestPolicyConfig": {
            "Name": f"{STACK}-mrap-edge", "Comment": "Forward exactly what the function signs or keeps",
            "HeadersConfig": _headers(*headers), "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": _queries(*queries)}}}


def healthy_cache_policy(queries: Tuple[str, List[str]] = ("whitelist", ["versionId", "partNumber"]),
                         ) -> Dict[str, Any]:
    return {"ETag": "E23ZP02F085DFQ", "CachePolicy": {
        "Id": CACHE_POLICY_ID, "LastModifiedTime": CREATED, "CachePolicyConfig": {
            "Name": f"{STACK}-mrap-edge", "DefaultTTL": 86400, "MaxTTL": 31536000, "MinTTL": 0,
            "ParametersInCacheKeyAndForwardedToOrigin": {
                "EnableAcceptEncodingGzip": True, "EnableAcceptEncodingBrotli": True,
                "HeadersConfig": _headers("whitelist", CORS), "CookiesConfig": {"CookieBehavior": "none"},
                "QueryStringsConfig": _queries(*queries)}}}}


def package_zip(config: Optional[Dict[str, Any]] = None, handler: bool = True) -> bytes:
    """A deployment zip as scripts/package writes it: edge/ and its configuration file (wheels left out)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("edge/__init__.py", "")
        if handler:
            archive.writestr("edge/handler.py", "def lambda_handler(event, context):\n    return event\n")
        if config is not None:
            archive.writestr("edge/mrap-edge.json", json.dumps(config))
    return buffer.getvalue()


HEALTHY_CONFIG = {"failover_header": "originTypeFailover",
                  "mrap_host_patterns": ["*.mrap.accesspoint.s3-global.amazonaws.com"],
                  "query_allowlist": ["versionId", "partNumber"], "allowed_methods": ["GET", "HEAD"],
                  "log_level": "WARNING"}


def healthy_function(location: str, code: bytes, **changes: Any) -> Dict[str, Any]:
    configuration = {
        "FunctionName": FUNCTION, "FunctionArn": VERSION_ARN, "Runtime": "python3.13", "Role": ROLE_ARN,
        "Handler": "edge.handler.lambda_handler", "CodeSize": len(code),
        "Description": "code mrap-edge/0a1b.zip on python3.13, 512 MB", "Timeout": 5, "MemorySize": 512,
        "LastModified": "2026-12-01T20:00:00.000+0000",
        "CodeSha256": base64.b64encode(hashlib.sha256(code).digest()).decode(), "Version": "7",
        "State": "Active", "PackageType": "Zip", "Architectures": ["x86_64"],
    }
    configuration.update(changes)
    return {"Configuration": configuration, "Code": {"RepositoryType": "S3", "Location": location}}


def healthy_mrap(status: str = "READY", block_public: bool = True) -> Dict[str, Any]:
    return {"AccessPoint": {
        "Name": MRAP_NAME, "Alias": ALIAS, "CreatedAt": CREATED, "Status": status,
        "PublicAccessBlock": {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                              "BlockPublicPolicy": block_public, "RestrictPublicBuckets": True},
        "Regions": [{"Bucket": b.name, "Region": b.region, "BucketAccountId": ACCOUNT} for b in BUCKETS],
    }}


def mrap_policy_document(actions: Tuple[str, ...] = ("s3:GetObject", "s3:GetObjectVersion"),
                         principal: str = ROLE_ARN) -> Dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "EdgeFunctionReadsObjects", "Effect": "Allow", "Principal": {"AWS": principal},
        "Action": list(actions), "Resource": f"{MRAP_ARN}/object/*"}]}


def healthy_mrap_policy(document: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    text = json.dumps(document or mrap_policy_document())
    return {"Policy": {"Established": {"Policy": text}, "Proposed": {"Policy": text}}}


def routes_answer(london: int = 100, ohio: int = 100) -> Dict[str, Any]:
    return {"Mrap": MRAP_ARN, "Routes": [
        {"Bucket": LONDON.name, "Region": LONDON.region, "TrafficDialPercentage": london},
        {"Bucket": OHIO.name, "Region": OHIO.region, "TrafficDialPercentage": ohio},
    ]}


def backfill_job(job_id: str, source: Bucket, status: str, total: int, succeeded: int, failed: int = 0,
                 active_seconds: int = 600) -> Dict[str, Any]:
    """DescribeJob's Job for a Batch Replication job as deploy creates it (generated manifest, failed-tasks report)."""
    job: Dict[str, Any] = {
        "JobId": job_id, "ConfirmationRequired": False,
        "Description": f"mrap-edge backfill {STACK} {source.name}",
        "JobArn": f"arn:aws:s3:{source.region}:{ACCOUNT}:job/{job_id}", "Status": status,
        "Operation": {"S3ReplicateObject": {}}, "Priority": 10,
        "ProgressSummary": {"TotalNumberOfTasks": total, "NumberOfTasksSucceeded": succeeded,
                            "NumberOfTasksFailed": failed, "Timers": {"ElapsedTimeInActiveSeconds": active_seconds}},
        "Report": {"Bucket": f"arn:aws:s3:::mrap-edge-reports-{source.region}", "Format": "Report_CSV_20180820",
                   "Enabled": True, "Prefix": f"backfill/{source.name}", "ReportScope": "FailedTasksOnly"},
        "CreationTime": CREATED, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{STACK}-batch-replication",
        "ManifestGenerator": {"S3JobManifestGenerator": {
            "SourceBucket": f"arn:aws:s3:::{source.name}", "EnableManifestOutput": True,
            "ManifestOutputLocation": {"Bucket": f"arn:aws:s3:::mrap-edge-reports-{source.region}",
                                       "ManifestPrefix": "manifests",
                                       "ManifestFormat": "S3InventoryReport_CSV_20211130"},
            "Filter": {"EligibleForReplication": True, "ObjectReplicationStatuses": ["NONE", "FAILED"]}}},
    }
    if status == "Complete":
        job["TerminationDate"] = CREATED + datetime.timedelta(seconds=active_seconds)
    return job


def list_jobs_answer(*jobs: Dict[str, Any]) -> Dict[str, Any]:
    keys = ("JobId", "Description", "Priority", "Status", "CreationTime", "ProgressSummary")
    return {"Jobs": [dict({k: job[k] for k in keys if k in job}, Operation="S3ReplicateObject") for job in jobs]}


def list_jobs_params() -> Dict[str, Any]:
    from infra.aws.status.backfill import LISTED_STATUSES

    return {"AccountId": ACCOUNT, "JobStatuses": LISTED_STATUSES}


class AwsWorld:
    """The client factory the status code gets: moto for what moto models, one Stubber per stubbed (service,
    Region); every stubbed call must have been queued."""

    def __init__(self) -> None:
        self.real: Dict[Tuple[str, str], Any] = {}
        self.clients: Dict[Tuple[str, str], Any] = {}
        self.stubs: Dict[Tuple[str, str], Stubber] = {}
        # Replication configurations by bucket: moto 5.2's GetBucketReplication answers every rule with
        # Filter {"Prefix": ""} and DeleteMarkerReplication Disabled whatever was put, so S3's answer is stubbed.
        self.replication: Dict[str, Dict[str, Any]] = {}

    def stub(self, service: str, region: str = "us-east-1") -> Stubber:
        key = (service, region)
        if key not in self.stubs:
            client = boto3.client(service, region_name=region)
            self.clients[key] = client
            self.stubs[key] = Stubber(client)
            self.stubs[key].activate()
        return self.stubs[key]

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key in self.clients:
            return self.clients[key]
        if service in STUBBED:
            raise AssertionError(f"unexpected call to {service} in {region}: stub it")
        if key not in self.real:
            client = boto3.client(service, region_name=region)
            self.real[key] = _S3WithReplication(self, client, region) if service == "s3" else client
        return self.real[key]

    def assert_all_called(self) -> None:
        for stubber in self.stubs.values():
            stubber.assert_no_pending_responses()


class _S3WithReplication:
    """moto's S3 client, except GetBucketReplication: answered by a Stubber from what the test put (validated
    against botocore's model), or S3's ReplicationConfigurationNotFoundError when nothing was."""

    def __init__(self, world: AwsWorld, real: Any, region: str) -> None:
        self._world, self._real = world, real
        self._client = boto3.client("s3", region_name=region)
        self._stub = Stubber(self._client)
        self._stub.activate()

    def get_bucket_replication(self, Bucket: str) -> Dict[str, Any]:  # noqa: N803 - boto3's name
        configuration = self._world.replication.get(Bucket)
        if configuration is None:
            self._stub.add_client_error(
                "get_bucket_replication", service_error_code="ReplicationConfigurationNotFoundError",
                service_message="The replication configuration was not found", http_status_code=404,
                expected_params={"Bucket": Bucket})
        else:
            self._stub.add_response("get_bucket_replication", {"ReplicationConfiguration": configuration},
                                    {"Bucket": Bucket})
        return dict(self._client.get_bucket_replication(Bucket=Bucket))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def make_buckets(world: AwsWorld, with_replication: bool = True, metrics: bool = True) -> None:
    """The two buckets in moto: versioned, replicating both ways as deploy configures them, one shared object."""
    for bucket in BUCKETS:
        s3 = world("s3", bucket.region)
        s3.create_bucket(Bucket=bucket.name, CreateBucketConfiguration={"LocationConstraint": bucket.region})
        s3.put_bucket_versioning(Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"})
    if with_replication:
        for source in BUCKETS:
            put_rules(world, source, metrics=metrics)
    for bucket in BUCKETS:
        world("s3", bucket.region).put_object(Bucket=bucket.name, Key="images/red.png", Body=b"red")


def put_rules(world: AwsWorld, source: Bucket, metrics: bool = True, probe_rule: bool = True,
              extra: Optional[List[Dict[str, Any]]] = None) -> None:
    from infra.aws.status.request_path import PROBE_KEY

    rules: List[Dict[str, Any]] = []
    others = [b for b in BUCKETS if b != source]
    for index, destination in enumerate(others):
        target: Dict[str, Any] = {"Bucket": f"arn:aws:s3:::{destination.name}"}
        if metrics:
            target["Metrics"] = {"Status": "Enabled"}
        rules.append({"ID": f"to-{destination.region}", "Priority": index + 1, "Status": "Enabled",
                      "Filter": {"Prefix": ""}, "DeleteMarkerReplication": {"Status": "Enabled"},
                      "Destination": target})
        if probe_rule:
            rules.append({"ID": f"keep-probe-out-of-{destination.region}", "Priority": len(others) + index + 1,
                          "Status": "Disabled", "Filter": {"Prefix": PROBE_KEY},
                          "DeleteMarkerReplication": {"Status": "Disabled"},
                          "Destination": {"Bucket": f"arn:aws:s3:::{destination.name}"}})
    rules += extra or []
    put_replication(world, source, rules)


def put_replication(world: AwsWorld, source: Bucket, rules: List[Dict[str, Any]],
                    role: str = f"arn:aws:iam::{ACCOUNT}:role/{STACK}-replication") -> None:
    world.replication[source.name] = {"Role": role, "Rules": rules}


class HttpServer:
    """A real HTTP server on 127.0.0.1: `routes` maps a request target to (status, headers, body)."""

    def __init__(self, responder: Callable[[str], Tuple[int, Dict[str, str], bytes]]) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                outer.requests.append(self.path)
                status, headers, body = responder(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.requests: List[str] = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "HttpServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_bytes(body: bytes) -> HttpServer:
    return HttpServer(lambda path: (200, {"Content-Type": "application/zip"}, body))


@contextlib.contextmanager
def aws_world(monkeypatch: Any) -> Iterator[AwsWorld]:
    """moto running, fake credentials in the environment (never real ones), and a fresh AwsWorld."""
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield AwsWorld()


def check(checks: Any, name: str) -> Any:
    """The one check whose name starts with `name`."""
    found = [c for c in checks if c.name.startswith(name)]
    assert len(found) == 1, f"{name!r} matched {[c.name for c in checks]}"
    return found[0]


def facts(**parameters: str) -> Any:
    """StackFacts for the healthy stack, with parameters changed (e.g. NativeMode="true")."""
    from infra.aws.status.facts import StackFacts

    answer = healthy_stack()["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in answer["Outputs"]}
    params = {p["ParameterKey"]: p["ParameterValue"] for p in answer["Parameters"]}
    params.update(parameters)
    return StackFacts(STACK, ACCOUNT, outputs, params, BUCKETS)


def queue_stack(world: AwsWorld, code_url: str, code: bytes, distribution: Optional[Dict[str, Any]] = None,
                request_policy: Optional[Dict[str, Any]] = None, london: int = 100, ohio: int = 100,
                jobs: Tuple[Dict[str, Any], ...] = (), web_acl: bool = True,
                distribution_deleted: bool = False) -> None:
    """Queue every stubbed answer a whole `scripts/status` run asks for, in the order it asks, and put the moto
    side in place (buckets with two-way replication, the function's log group in eu-west-2)."""
    world.stub("cloudformation").add_response("describe_stacks", healthy_stack(), {"StackName": STACK})
    cloudfront = world.stub("cloudfront")
    if distribution_deleted:
        cloudfront.add_client_error("get_distribution", service_error_code="NoSuchDistribution",
                                    service_message="The specified distribution does not exist.",
                                    http_status_code=404, expected_params={"Id": DIST_ID})
    else:
        cloudfront.add_response("get_distribution",
                                distribution or healthy_distribution(WEB_ACL_ARN if web_acl else ""), {"Id": DIST_ID})
    world.stub("lambda").add_response("get_function", healthy_function(code_url, code),
                                      {"FunctionName": VERSION_ARN})
    if not distribution_deleted:
        cloudfront.add_response("get_origin_request_policy", request_policy or healthy_request_policy(),
                                {"Id": REQUEST_POLICY_ID})
        cloudfront.add_response("get_cache_policy", healthy_cache_policy(), {"Id": CACHE_POLICY_ID})
    for bucket in BUCKETS:
        theirs = [job for job in jobs if job["ManifestGenerator"]["S3JobManifestGenerator"]["SourceBucket"]
                  .endswith(":" + bucket.name)]
        control = world.stub("s3control", bucket.region)
        control.add_response("list_jobs", list_jobs_answer(*theirs), list_jobs_params())
        for job in theirs:
            control.add_response("describe_job", {"Job": job}, {"AccountId": ACCOUNT, "JobId": job["JobId"]})
    api = world.stub("s3control", "us-west-2")
    api.add_response("get_multi_region_access_point", healthy_mrap(), {"AccountId": ACCOUNT, "Name": MRAP_NAME})
    api.add_response("get_multi_region_access_point_policy", healthy_mrap_policy(),
                     {"AccountId": ACCOUNT, "Name": MRAP_NAME})
    world.stub("s3control", "us-east-1").add_response("get_multi_region_access_point_routes",
                                                       routes_answer(london, ohio),
                                                       {"AccountId": ACCOUNT, "Mrap": MRAP_ARN})
    # The account's enabled Regions (a short list keeps the run quick; moto would list every Region).
    world.stub("ec2").add_response("describe_regions", {"Regions": [
        {"Endpoint": f"ec2.{region}.amazonaws.com", "RegionName": region, "OptInStatus": "opt-in-not-required"}
        for region in ("eu-west-1", "eu-west-2", "us-east-1", "us-east-2")]}, {"AllRegions": False})
    if web_acl:
        waf = world.stub("wafv2")
        waf.add_response("get_web_acl", waf_web_acl(), WAF_ACL_PARAMS)
        waf.add_response("get_ip_set", waf_ip_set(["198.51.100.0/24"]), WAF_SET_PARAMS)
    make_buckets(world)
    group = f"/aws/lambda/us-east-1.{FUNCTION}"
    world("logs", LONDON.region).create_log_group(logGroupName=group)
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
    world("cloudwatch", LONDON.region).put_metric_data(Namespace="AWS/Lambda", MetricData=[
        {"MetricName": "Invocations", "Timestamp": now, "Value": 1250.0,
         "Dimensions": [{"Name": "FunctionName", "Value": f"us-east-1.{FUNCTION}"}]}])


WAF_ACL_PARAMS = {"Name": "mrap-edge-internal-only", "Scope": "CLOUDFRONT", "Id": ACL_ID}
WAF_SET_PARAMS = {"Name": "mrap-edge-allowed-viewers", "Scope": "CLOUDFRONT", "Id": IP_SET_ID}
WAF_VISIBILITY = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                  "MetricName": "allow-company-ranges"}


def waf_web_acl(default: str = "Block") -> Dict[str, Any]:
    return {"LockToken": "1a2b3c4d-0000-4000-8000-000000000001", "WebACL": {
        "Name": "mrap-edge-internal-only", "Id": WAF_ACL_PARAMS["Id"], "ARN": WEB_ACL_ARN,
        "DefaultAction": {default: {}}, "Description": "Blocks every viewer outside the company ranges.",
        "Rules": [{"Name": "allow-company-ranges", "Priority": 0, "Action": {"Allow": {}},
                   "Statement": {"IPSetReferenceStatement": {"ARN": IP_SET_ARN}}, "VisibilityConfig": WAF_VISIBILITY}],
        "VisibilityConfig": dict(WAF_VISIBILITY, MetricName="mrap-edge-internal-only"), "Capacity": 1}}


def waf_ip_set(addresses: List[str]) -> Dict[str, Any]:
    return {"LockToken": "1a2b3c4d-0000-4000-8000-000000000002", "IPSet": {
        "Name": "mrap-edge-allowed-viewers", "Id": WAF_SET_PARAMS["Id"], "ARN": IP_SET_ARN,
        "Description": "Company ranges allowed to use the distribution.", "IPAddressVersion": "IPV4",
        "Addresses": addresses}}


@dataclasses.dataclass(frozen=True)
class SigningKey:
    """A key pair as scripts/cloudfront-keys writes it, with the id the local CloudFront stand-in gives its public
    key (CloudFront assigns ids like K2JCJMDEHXQW5F)."""
    key_pair_id: str
    private_key: Path
    public_pem: str


def signing_key(directory: Path) -> SigningKey:
    from infra.local.signed_requests import local_public_key_id
    from signedlinks.keys import generate_key_pair

    files = generate_key_pair(directory / "cloudfront-signing-key", "ecdsa")
    return SigningKey(local_public_key_id(files.public_pem), files.private_key, files.public_pem)


def signed_url_settings(key: SigningKey) -> Any:
    """The template's distribution with `key` in key slot 1, so the default behaviour requires signed URLs; no cache
    and no custom error responses, so each answer's own body reaches the checks."""
    from infra.local.template import load_settings

    return dataclasses.replace(load_settings(parameters={"SignedUrlPublicKey1": key.public_pem}), default_ttl=0,
                               error_responses=())
