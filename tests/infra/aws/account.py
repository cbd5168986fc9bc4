"""One model of an AWS account for the control-plane tests: moto for what it implements, plus what it lacks, modelled
once from AWS's documentation with the rules of `infra.aws.rules`:

- S3 Batch Operations (CreateJob, DescribeJob, ListJobs): a job generates its manifest from the source's object
  versions by replication status and eligibility, fails on an empty manifest with S3's reason, runs for a while on
  the account's clock, copies to every destination of the source's enabled rules, and is listed for 90 days after it
  ends;
- MRAP routes (GetMultiRegionAccessPoint, Get/SubmitMultiRegionAccessPointRoutes): an MRAP appears while its stack
  is being created, with every Region active; a change takes effect after the documented propagation time;
- CloudFormation: the TemplateBody size limit (the real ValidationError), a stack busy while it is being created or
  updated (and a change set refused meanwhile), the parameters a change set is given checked against the template;
- S3 bucket creation dates on the account's clock.

The clock is the account's: `sleep` given to a tool advances it, and a test moves it across months. Every refusal is
a botocore ClientError with AWS's code and message. moto does not replicate live writes: an application's upload goes
through `Account.write`, which replicates it by the bucket's rules.
"""
from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from botocore.exceptions import ClientError

from infra.aws import rules

from .helpers import ACCOUNT, MRAP_ARN_FORMAT, TOOL_CALLS, Clients, called_by_the_tools

UTC = datetime.timezone.utc
# How long the model's operations take on the clock (not AWS rules: orders of magnitude seen in real accounts).
JOB_PREPARATION = datetime.timedelta(minutes=10)
JOB_RUN = datetime.timedelta(hours=1)
MRAP_CREATION = datetime.timedelta(minutes=4)
STACK_UPDATE = datetime.timedelta(minutes=12)


def client_error(code: str, message: str, operation: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


class Clock:
    def __init__(self, start: Optional[datetime.datetime] = None) -> None:
        self.now = start or datetime.datetime(2027, 1, 4, 9, 0, tzinfo=UTC)

    def advance(self, by: "datetime.timedelta | float") -> None:
        self.now += by if isinstance(by, datetime.timedelta) else datetime.timedelta(seconds=by)

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)


# ---------------------------------------------------------------------------------------------------------- S3 Batch
@dataclass
class ModelJob:
    job_id: str
    region: str
    description: str
    source: str
    created: datetime.datetime
    manifest: List[Tuple[str, str]]  # (key, version id)
    destinations: List[str]
    copied: bool = False
    statuses: Tuple[str, ...] = ()  # the manifest's ObjectReplicationStatuses, as the request gave them

    @property
    def ends(self) -> datetime.datetime:
        return self.created + (JOB_PREPARATION if not self.manifest else JOB_PREPARATION + JOB_RUN)

    def status(self, now: datetime.datetime) -> str:
        if now < self.created + JOB_PREPARATION:
            return "Preparing"
        if not self.manifest:
            return "Failed"
        return "Active" if now < self.ends else "Complete"

    def descriptor(self, now: datetime.datetime) -> Dict[str, Any]:
        status = self.status(now)
        done = len(self.manifest) if status == "Complete" else 0
        item: Dict[str, Any] = {
            "JobId": self.job_id, "Description": self.description, "Operation": "S3ReplicateObject",
            "Priority": 10, "Status": status, "CreationTime": self.created,
            "ProgressSummary": {"TotalNumberOfTasks": len(self.manifest) if status != "Preparing" else 0,
                                "NumberOfTasksSucceeded": done, "NumberOfTasksFailed": 0,
                                "Timers": {"ElapsedTimeInActiveSeconds": int((min(now, self.ends) - self.created)
                                                                             .total_seconds())}}}
        if status in rules.JOB_FINAL_STATES:
            item["TerminationDate"] = self.ends
        return item


def _rule_matches(rule: Dict[str, Any], key: str) -> bool:
    prefix = (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix", ""))
    return key.startswith(prefix or "")


def eligible_destinations(config: Optional[Dict[str, Any]], key: str) -> List[str]:
    """Where S3 replicates `key`: per destination, the matching rule with the highest priority decides ("if rules
    overlap, the rule with the highest priority wins" - S3 User Guide, replication-add-config)."""
    winners: Dict[str, Dict[str, Any]] = {}
    for rule in (config or {}).get("Rules", []):
        bucket = rule["Destination"]["Bucket"].rsplit(":", 1)[-1]
        if _rule_matches(rule, key) and (bucket not in winners
                                         or rule.get("Priority", 0) > winners[bucket].get("Priority", 0)):
            winners[bucket] = rule
    return [bucket for bucket, rule in winners.items() if rule.get("Status") == "Enabled"]


# -------------------------------------------------------------------------------------------------------- MRAP routes
@dataclass
class ModelMrap:
    name: str
    arn: str
    buckets: List[Tuple[str, str]]  # (bucket, region)
    created: datetime.datetime
    dials: Dict[str, List[Tuple[datetime.datetime, int]]] = field(default_factory=dict)  # region -> changes

    def dial(self, region: str, now: datetime.datetime) -> int:
        value = rules.NEW_MRAP_ROUTES_EVERY_REGION
        for since, wanted in self.dials.get(region, []):
            if since <= now:
                value = wanted
        return value


class Account(Clients):
    """The account: moto's services, with the models above in place of s3control and around CloudFormation and S3."""

    def __init__(self, clock: Optional[Clock] = None) -> None:
        super().__init__()
        self.clock = clock or Clock()
        self.jobs: List[ModelJob] = []
        self.mraps: Dict[str, ModelMrap] = {}
        self.replication_status: Dict[Tuple[str, str, str], str] = {}  # (bucket, key, version) -> status
        self.busy: Dict[str, Tuple[str, datetime.datetime]] = {}  # stack -> (in-progress status, until)
        self.calls: List[Tuple[datetime.datetime, str]] = []  # (when, service.operation) of every write
        self.template_bodies: List[str] = []  # every TemplateBody sent to CreateChangeSet, refused ones too
        self._s3control: Dict[str, "S3ControlModel"] = {}
        self._dated: set = set()
        self._settling = False
        self.replication: Dict[str, Dict[str, Any]] = {}  # bucket -> its replication configuration, as sent

    def __call__(self, service: str, region: str) -> Any:
        if service == "s3control" and service not in self.stubbed:  # a test's stub: an AWS refusal to play
            return self._s3control.setdefault(region, S3ControlModel(self, region))
        client = super().__call__(service, region)
        if service in self.stubbed:
            return client
        if not getattr(client, "_account_hooked", False):
            client.meta.events.register("before-call", self._log_call)
            if service == "s3":
                client.meta.events.register("after-call.s3.CreateBucket", self._bucket_created)
                client.meta.events.register("before-parameter-build.s3", self._s3_params)
                client.meta.events.register("before-call.s3.GetBucketReplication", self._get_replication)
            client._account_hooked = True
        return CloudFormationModel(self, client) if service == "cloudformation" else client

    # ---- what the tests read
    def writes(self, service: str = "") -> List[str]:
        return [name for _, name in self.calls if name.startswith(service)]

    def s3_bucket(self, name: str) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[ACCOUNT]["aws"].buckets.get(name)

    # ---- hooks
    def _log_call(self, model: Any, **_: Any) -> None:
        name = model.name
        if self._settling:  # S3's own copies, not a tool's call
            return
        if not name.startswith(("Get", "Head", "List", "Describe", "Validate")):
            self.calls.append((self.clock.now, f"{model.service_model.service_name}.{name}"))

    def _bucket_created(self, **_: Any) -> None:
        """A bucket moto just made is dated on the account's clock (each bucket object once: a re-created name is a
        new object)."""
        from moto.s3.models import s3_backends

        for bucket in s3_backends[ACCOUNT]["aws"].buckets.values():
            if id(bucket) not in self._dated:
                self._dated.add(id(bucket))
                bucket.creation_date = self.clock.now

    def _s3_params(self, params: Dict[str, Any], model: Any, context: Dict[str, Any], **_: Any) -> None:
        """S3 keeps a replication configuration as it was sent (moto loses each rule's Filter and
        DeleteMarkerReplication): the model keeps it, and answers GetBucketReplication from it."""
        context["bucket"] = params.get("Bucket")
        if model.name == "PutBucketReplication":
            self.replication[params["Bucket"]] = json.loads(json.dumps(params["ReplicationConfiguration"]))
        elif model.name in ("DeleteBucketReplication", "DeleteBucket"):
            self.replication.pop(params["Bucket"], None)

    def _get_replication(self, context: Dict[str, Any], **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        config = self.replication.get(context.get("bucket", ""))
        if config is None:
            return None  # moto answers: ReplicationConfigurationNotFoundError, or NoSuchBucket
        return AWSResponse(None, 200, {}, None), {"ReplicationConfiguration": json.loads(json.dumps(config))}

    # ---- jobs
    def _versions(self, bucket: str, region: str) -> List[Tuple[str, str]]:
        found: List[Tuple[str, str]] = []
        s3 = super().__call__("s3", region)
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            found += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
        return found

    def _config(self, bucket: str, region: str) -> Optional[Dict[str, Any]]:
        return self.replication.get(bucket)

    def region_of(self, bucket: str) -> str:
        found = self.s3_bucket(bucket)
        return str(found.region_name) if found is not None else ""

    def create_job(self, region: str, request: Dict[str, Any]) -> str:
        generator = request["ManifestGenerator"]["S3JobManifestGenerator"]
        source = generator["SourceBucket"].rsplit(":", 1)[-1]
        statuses = set(generator["Filter"]["ObjectReplicationStatuses"])
        config = self._config(source, region)
        manifest = [(key, version) for key, version in self._versions(source, region)
                    if self.replication_status.get((source, key, version), "NONE") in statuses
                    and eligible_destinations(config, key)]
        job_id = hashlib.sha256(f"{len(self.jobs)}{request['Description']}".encode()).hexdigest()[:36]
        destinations = sorted({d for key, _ in manifest for d in eligible_destinations(config, key)})
        self.jobs.append(ModelJob(job_id, region, request["Description"], source, self.clock.now, manifest,
                                  destinations, statuses=tuple(generator["Filter"]["ObjectReplicationStatuses"])))
        return job_id

    def settle(self) -> None:
        """Jobs whose run has ended have copied their manifest (every destination of the rules) by now."""
        self._settling = True
        try:
            self._copy_finished_jobs()
        finally:
            self._settling = False

    def _copy_finished_jobs(self) -> None:
        for job in self.jobs:
            if job.copied or job.status(self.clock.now) != "Complete":
                continue
            job.copied = True
            source_s3 = super().__call__("s3", job.region)
            config = self._config(job.source, job.region)
            for key, version in job.manifest:
                body = source_s3.get_object(Bucket=job.source, Key=key, VersionId=version)["Body"].read()
                status = "COMPLETED"
                for destination in eligible_destinations(config, key):
                    if not self.region_of(destination):  # a destination that no longer exists: the task fails
                        status = "FAILED"
                        continue
                    put = super().__call__("s3", self.region_of(destination)).put_object(
                        Bucket=destination, Key=key, Body=body)
                    self.replication_status[(destination, key, put.get("VersionId", "null"))] = "REPLICA"
                self.replication_status[(job.source, key, version)] = status

    def write(self, bucket: str, key: str, body: bytes) -> None:
        """An application's upload, and live replication of it to the destinations of the bucket's rules ("objects
        written after the rules exist are replicated"): the source version COMPLETED, each copy a REPLICA."""
        region = self.region_of(bucket)
        put = super().__call__("s3", region).put_object(Bucket=bucket, Key=key, Body=body)
        self._settling = True
        try:
            for destination in eligible_destinations(self.replication.get(bucket), key):
                copy = super().__call__("s3", self.region_of(destination)).put_object(
                    Bucket=destination, Key=key, Body=body)
                self.replication_status[(destination, key, copy.get("VersionId", "null"))] = "REPLICA"
                self.replication_status[(bucket, key, put.get("VersionId", "null"))] = "COMPLETED"
        finally:
            self._settling = False

    def listed_jobs(self, region: str) -> List[ModelJob]:
        """ListJobs: the jobs not ended more than 90 days ago."""
        now = self.clock.now
        return [job for job in self.jobs if job.region == region and not (
            job.status(now) in rules.JOB_FINAL_STATES and job.ends < now - rules.JOB_HISTORY)]

    # ---- stacks and MRAPs
    def stack_executed(self, cfn: Any, name: str, creating: bool) -> None:
        (stack,) = cfn.describe_stacks(StackName=name)["Stacks"]
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
        self.busy[name] = ("CREATE_IN_PROGRESS" if creating else "UPDATE_IN_PROGRESS",
                           self.clock.now + STACK_UPDATE)
        mrap_name = parameters.get("MrapName", "")
        arn = MRAP_ARN_FORMAT.format(account=ACCOUNT, name=mrap_name)
        if mrap_name and arn not in self.mraps:
            pairs = list(zip(parameters.get("BucketNames", "").split(","),
                             parameters.get("BucketRegions", "").split(",")))
            self.mraps[arn] = ModelMrap(mrap_name, arn, pairs, self.clock.now + MRAP_CREATION)
        for other in [m for m in self.mraps.values() if m.arn != arn]:
            other.created = datetime.datetime.max.replace(tzinfo=UTC)  # deleted at the end of the update

    def stack_status(self, name: str) -> Optional[str]:
        status, until = self.busy.get(name, ("", self.clock.now))
        return status if status and self.clock.now < until else None

    def mrap(self, arn_or_name: str, operation: str) -> ModelMrap:
        for mrap in self.mraps.values():
            if arn_or_name in (mrap.arn, mrap.name) and mrap.created <= self.clock.now:
                return mrap
        raise client_error("NoSuchMultiRegionAccessPoint", "The specified Multi-Region Access Point does not exist",
                           operation, 404)


class S3ControlModel:
    """s3control in one Region: Batch Operations jobs and the MRAP calls, from the account's state."""

    def __init__(self, account: Account, region: str) -> None:
        self.account, self.region = account, region

    def _log(self, operation: str) -> None:
        if called_by_the_tools():  # the model answers without botocore: record the tools' calls for the policy check
            TOOL_CALLS.add(("s3control", operation, ""))
        if not operation.startswith(("Get", "List", "Describe")):
            self.account.calls.append((self.account.clock.now, f"s3control.{operation}"))

    def create_job(self, **request: Any) -> Dict[str, Any]:
        self._log("CreateJob")
        for required in ("AccountId", "Operation", "Report", "ClientRequestToken", "Priority", "RoleArn"):
            if required not in request:
                raise client_error("InvalidRequest", f"{required} is required", "CreateJob")
        if len(request.get("Description", "")) > rules.MAX_JOB_DESCRIPTION:
            raise client_error("InvalidRequest", "Description is too long", "CreateJob")
        return {"JobId": self.account.create_job(self.region, request)}

    def describe_job(self, AccountId: str, JobId: str) -> Dict[str, Any]:
        self._log("DescribeJob")
        self.account.settle()
        for job in self.account.listed_jobs(self.region):
            if job.job_id == JobId:
                item = job.descriptor(self.account.clock.now)
                item.update(Operation={"S3ReplicateObject": {}}, ConfirmationRequired=False,
                            FailureReasons=[{"FailureCode": rules.EMPTY_MANIFEST_CODE,
                                             "FailureReason": rules.EMPTY_MANIFEST_REASON}]
                            if item["Status"] == "Failed" else [])
                return {"Job": item}
        raise client_error("NotFoundException", f"Job {JobId} not found", "DescribeJob", 404)

    def list_jobs(self, AccountId: str, **params: Any) -> Dict[str, Any]:
        self._log("ListJobs")
        self.account.settle()
        now = self.account.clock.now
        jobs = sorted(self.account.listed_jobs(self.region), key=lambda j: j.created, reverse=True)
        wanted = set(params.get("JobStatuses", []))
        return {"Jobs": [j.descriptor(now) for j in jobs if not wanted or j.status(now) in wanted]}

    def get_multi_region_access_point(self, AccountId: str, Name: str) -> Dict[str, Any]:
        self._log("GetMultiRegionAccessPoint")
        mrap = self.account.mrap(Name, "GetMultiRegionAccessPoint")
        return {"AccessPoint": {"Name": mrap.name, "Alias": mrap.arn.rsplit("/", 1)[-1], "Status": "READY",
                                "Regions": [{"Bucket": b, "Region": r} for b, r in mrap.buckets]}}

    def _control(self, operation: str) -> None:
        if self.region not in rules.ROUTE_CONTROL_REGIONS:
            raise client_error("InvalidRequest", f"{operation} is not supported in {self.region}", operation)

    def get_multi_region_access_point_routes(self, AccountId: str, Mrap: str) -> Dict[str, Any]:
        self._log("GetMultiRegionAccessPointRoutes")
        self._control("GetMultiRegionAccessPointRoutes")
        mrap = self.account.mrap(Mrap, "GetMultiRegionAccessPointRoutes")
        now = self.account.clock.now
        return {"Mrap": Mrap, "Routes": [{"Bucket": b, "Region": r, "TrafficDialPercentage": mrap.dial(r, now)}
                                         for b, r in mrap.buckets]}

    def submit_multi_region_access_point_routes(self, AccountId: str, Mrap: str,
                                                RouteUpdates: List[Dict[str, Any]]) -> Dict[str, Any]:
        self._log("SubmitMultiRegionAccessPointRoutes")
        self._control("SubmitMultiRegionAccessPointRoutes")
        mrap = self.account.mrap(Mrap, "SubmitMultiRegionAccessPointRoutes")
        now = self.account.clock.now
        regions = {r for _, r in mrap.buckets}
        after = {r: mrap.dial(r, now) for r in regions}
        for update in RouteUpdates:
            if update.get("Region") not in regions:
                raise client_error("InvalidRequest", f"Region {update.get('Region')} is not part of the Multi-Region "
                                   "Access Point", "SubmitMultiRegionAccessPointRoutes")
            after[update["Region"]] = int(update["TrafficDialPercentage"])
        if not any(after.values()):
            raise client_error("InvalidRequest", "At least one Region must be active",
                               "SubmitMultiRegionAccessPointRoutes")
        for update in RouteUpdates:
            mrap.dials.setdefault(update["Region"], []).append(
                (now + rules.ROUTE_PROPAGATION, int(update["TrafficDialPercentage"])))
        return {}


class CloudFormationModel:
    """moto's CloudFormation with the request rules it lacks and stacks that take time on the account's clock."""

    def __init__(self, account: Account, client: Any) -> None:
        self._account, self._client = account, client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def describe_stacks(self, **params: Any) -> Dict[str, Any]:
        answer = self._client.describe_stacks(**params)
        for stack in answer["Stacks"]:
            busy = self._account.stack_status(stack["StackName"])
            if busy:
                stack["StackStatus"] = busy
                if busy.startswith("CREATE"):
                    stack.pop("Outputs", None)
        return dict(answer)

    def validate_template(self, **params: Any) -> Dict[str, Any]:
        self._check_body(params, "ValidateTemplate")
        return dict(self._client.validate_template(**params))

    def create_change_set(self, **params: Any) -> Dict[str, Any]:
        self._account.template_bodies.append(str(params.get("TemplateBody", "")))
        self._check_body(params, "CreateChangeSet")
        name = params["StackName"]
        busy = self._account.stack_status(name)
        if busy:
            raise client_error("ValidationError", f"Stack:arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{name} is "
                               f"in {busy} state and can not be updated.", "CreateChangeSet")
        body = params.get("TemplateBody")
        if body is not None:
            declared = json.loads(body).get("Parameters", {})
            unknown = [p["ParameterKey"] for p in params.get("Parameters", []) if p["ParameterKey"] not in declared]
            if unknown:
                raise client_error("ValidationError", f"Parameters: [{', '.join(unknown)}] do not exist in the "
                                   "template", "CreateChangeSet")
        return dict(self._client.create_change_set(**params))

    def execute_change_set(self, **params: Any) -> Dict[str, Any]:
        (before,) = self._client.describe_stacks(StackName=params["StackName"])["Stacks"]
        answer = dict(self._client.execute_change_set(**params))
        self._account.stack_executed(self._client, params["StackName"],
                                     creating=before["StackStatus"] == "REVIEW_IN_PROGRESS")
        return answer

    def _check_body(self, params: Dict[str, Any], operation: str) -> None:
        body = params.get("TemplateBody")
        if body is not None and len(body.encode("utf-8")) > rules.MAX_TEMPLATE_BODY_BYTES:
            raise client_error("ValidationError", rules.template_too_large_message(body), operation)
