"""The whole local request path, started and stopped as one: regional buckets (with replication between them), the
MRAP stand-in (SigV4A, then the template's policies), the failover bucket's endpoint (SigV4, then the bucket policy
deploy writes), the function's workers (none in native mode) and the CloudFront stand-in, wired together with a
local "DNS" (origin domain → 127.0.0.1 port). `StackOptions` says which situation to start from: greenfield or
brownfield, the deploy rule for Regions still being backfilled, the replication lag, the modelled network delay and
the stack's parameters (native mode, missing keys)."""
from __future__ import annotations

import collections
import json
import secrets
import string
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from botocore.credentials import Credentials as BotocoreCredentials

from infra.aws import error_pages
from infra.aws.regions import Bucket
from infra.local.cloudformation import rule_failures
from infra.local.cloudfront.distribution import RECORD_LIMIT, CloudFrontStandIn
from infra.local.cloudfront.origin_access import native_refusal
from infra.local.cloudfront.settings import TEMPLATE_FILE, DistributionSettings, load_settings
from infra.local.function.invoker import ACCOUNT_CONCURRENCY, DEFAULT_MAX_WORKERS, AwsCredentials, FunctionInvoker
from infra.local.httpserver import stop_all
from infra.local.iam import Principal
from infra.local.latency import NetworkModel
from infra.local.regions import BUCKET_REGIONS, POPS
from infra.local.s3.access import CLOUDFRONT, Access, StackIdentities
from infra.local.s3.buckets import BucketServers, RegionalBucket
from infra.local.s3.endpoint import BucketEndpoint, Caller
from infra.local.s3.estate import Estate
from infra.local.s3.mrap import MrapStandIn
from infra.local.s3.replication import BackfillJob, Replication
from infra.local.s3.verifier import Credentials as VerifierCredentials

__all__ = ["StackOptions", "LocalStack", "new_credentials"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StackOptions:
    # Regions with a bucket behind the MRAP; the user's story has London and Ohio.
    regions: Tuple[str, ...] = ("eu-west-2", "us-east-2")
    # Where clients are: one CloudFront POP (and one MRAP entry port) per Region listed.
    client_regions: Tuple[str, ...] = ("eu-west-2", "us-east-2")
    # The origin group's secondary origin is this Region's bucket, reached directly with origin access control;
    # None: the one the template's failover origin names (its `BucketRegions` index, the first bucket).
    failover_region: Optional[str] = None
    zip_path: Optional[Path] = None  # run the function from a deployment zip instead of the source tree
    template: Optional[Path] = None  # distribution settings; default: the project's cloudformation.template
    settings: Optional[DistributionSettings] = None  # overrides `template` (tests)
    record_dir: Optional[Path] = None
    function_timeout_s: Optional[float] = None  # None: the template's Timeout (a test may shorten it)
    function_concurrency: int = ACCOUNT_CONCURRENCY  # over it, an invocation is throttled (LambdaLimitExceeded)
    function_workers: int = DEFAULT_MAX_WORKERS  # execution environments per edge location, at most
    record_limit: int = RECORD_LIMIT  # requests, invocations and MRAP receipts kept in memory, the latest
    bucket_prefix: str = "mrap-edge-demo"
    seed: bool = True
    # The user's data is in the first Region's bucket. Greenfield: replicated since the first write, so every
    # bucket holds every object with the same version ids. Brownfield: the other buckets start empty (their probe
    # only), as after a first deploy on an existing bucket, until `LocalStack.backfill()`.
    brownfield: bool = False
    # The deploy rule: a Region whose bucket does not hold every object stays passive (traffic dial 0) until its
    # backfill completes. False shows what the rule prevents: an active, empty Region answering 403.
    passive_until_backfilled: bool = True
    replication_lag_s: float = 0.0  # new writes reach the other buckets this long after (0: before put returns)
    network_delay: bool = False  # sleep the modelled round trips (latency.py); off keeps tests and load tests fast
    # The template whose role and MRAP policies the MRAP stand-in enforces (a parsed document, for tests);
    # default: `template`, else the project's cloudformation.template.
    policy_template: Optional[Mapping[str, Any]] = None
    # The data Region's bucket's real state (SSE-KMS objects, archived objects, pre-gzipped objects with metadata
    # and tags, a bucket policy with a Deny), written before any replication rule exists; None: samples only.
    estate: Optional[Estate] = None
    # The stack's parameter values over the template's Defaults, e.g. {"NativeMode": "true"} (CloudFront signs with
    # SigV4A, no function) or {"MissingKeys": "404"}; the template's Rules are checked against them.
    parameters: Optional[Mapping[str, str]] = None


def new_credentials() -> AwsCredentials:
    """Fresh credentials shaped like a Lambda role's (temporary, with a session token); S3 here is the verifier."""
    alphabet = string.ascii_uppercase + string.digits
    return AwsCredentials(
        access_key_id="ASIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
        secret_access_key=secrets.token_urlsafe(30)[:40],
        session_token="IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(96),
    )


class LocalStack:
    def __init__(self, options: StackOptions = StackOptions(), progress: Optional[Progress] = None) -> None:
        for region in options.client_regions:
            if region not in POPS:
                raise ValueError(f"unable to place a client: no edge location for Region {region} "
                                 f"(known: {', '.join(POPS)})")
        for region in options.regions:
            if region not in BUCKET_REGIONS:
                raise ValueError(f"unable to place a bucket in {region}: not a Region with an edge location here "
                                 f"(known: {', '.join(BUCKET_REGIONS)})")
        if options.template is not None and not Path(options.template).is_file():
            raise ValueError(f"unable to read the distribution settings: no file {options.template}")
        self.parameters: Dict[str, str] = dict(options.parameters or {})
        self.settings = options.settings or load_settings(options.template, self.parameters)
        self._refuse_what_aws_refuses(options)
        options = self._resolved(options, self.settings)
        if options.failover_region not in options.regions:
            raise ValueError(f"unable to use failover Region {options.failover_region}: not in {options.regions}")
        self.options = options
        self.credentials = new_credentials()
        self.timings: Dict[str, float] = {}
        self._progress = progress or (lambda message: None)
        self.buckets = BucketServers(options.regions, options.bucket_prefix)
        self.network = NetworkModel(enabled=options.network_delay)
        self.oac_credentials = new_credentials()  # CloudFront's own, for origin access control
        self.data_region = options.regions[0]
        self.replication: Optional[Replication] = None
        self.access: Optional[Access] = None
        self.identities: Optional[StackIdentities] = None
        self.failover_endpoint: Optional[BucketEndpoint] = None
        self.backfills: List[BackfillJob] = []
        self.mrap: Optional[MrapStandIn] = None
        self.cloudfront: Optional[CloudFrontStandIn] = None
        self.invokers: Dict[str, FunctionInvoker] = {}
        self._stoppers: List[Callable[[], None]] = []

    def _refuse_what_aws_refuses(self, options: StackOptions) -> None:
        """CloudFormation's Rules for these parameters (as `create-stack` would refuse them) and CloudFront's
        refusal of a function on an origin that uses a SigV4a origin access control; one line each."""
        template = options.policy_template
        if template is None:
            template = json.loads(Path(options.template or TEMPLATE_FILE).read_text(encoding="utf-8"))
        parameters = {**self.parameters, "BucketRegions": ",".join(options.regions)}
        failures = rule_failures(template, parameters)
        if failures:
            raise ValueError(f"unable to create the stack with {_shown(self.parameters)}: {failures[0]}")
        refusal = native_refusal(self.settings)
        if refusal is not None:
            raise ValueError(refusal)

    @property
    def runs_function(self) -> bool:
        """Whether the distribution runs the function on origin requests (not in native mode)."""
        return "origin-request" in self.settings.function_events

    @staticmethod
    def _resolved(options: StackOptions, settings: DistributionSettings) -> StackOptions:
        """The options with what they leave to the template filled in: the failover bucket and the timeout."""
        index = min(settings.failover_bucket_index, len(options.regions) - 1)
        return replace(
            options,
            failover_region=options.failover_region or options.regions[index],
            function_timeout_s=(options.function_timeout_s if options.function_timeout_s is not None
                                else settings.function_timeout_s),
        )

    # --- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> "LocalStack":
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _stage(self, name: str, message: str, step: Callable[[], str]) -> None:
        """Run one start-up step: say what starts, time it, say it is up (with what `step` returns)."""
        self._progress(message)
        started = time.perf_counter()
        detail = step()
        self.timings[name] = (time.perf_counter() - started) * 1000
        self._progress(f"  ok ({self.timings[name]:.0f} ms){' ' + detail if detail else ''}")

    def _start(self) -> None:
        """One step per component, in the order each needs the one before."""
        options = self.options
        begun = time.perf_counter()
        self._progress(f"settings: {self.settings.source}; MRAP host {self.settings.primary.domain_name}; "
                       f"failover on {', '.join(str(c) for c in sorted(self.settings.failover_codes))}")
        self._stage("buckets", f"starting S3 (moto) servers for {', '.join(options.regions)}", self._start_buckets)
        if options.seed:
            empty = [r for r in options.regions if r != self.data_region]
            self._stage("seed", f"uploading sample images to {self.data_region} and per-bucket probe objects"
                        + (f"; {', '.join(empty)} start empty (brownfield)" if options.brownfield else ""),
                        self._seed)
        self._prepare_failover_bucket()
        self._stage("mrap", "starting the MRAP stand-in (SigV4A verified, then the template's role and MRAP "
                            "policies, per request)", self._start_mrap)
        self._stage("failover-bucket", f"starting the {options.failover_region} bucket's endpoint for the failover "
                                       f"origin (SigV4, then the bucket policy deploy writes)",
                    self._start_failover_endpoint)
        if self.runs_function:
            code = f"zip {options.zip_path.name}" if options.zip_path else "source tree"
            self._stage("function", f"starting the function ({code}): per edge location, one execution environment "
                                    f"now and up to {options.function_workers} under concurrent demand",
                        self._start_function)
        else:
            self._progress("no function: native mode, CloudFront signs for the MRAP with its SigV4A origin access "
                           "control")
        self._stage("cloudfront", "starting the CloudFront stand-in (one port per edge location)",
                    self._start_cloudfront)
        self.timings["total"] = (time.perf_counter() - begun) * 1000

    def _start_buckets(self) -> str:
        buckets = self.buckets.start()
        self._stoppers.append(self.buckets.stop)
        self.replication = Replication(self.buckets, lag_s=self.options.replication_lag_s)
        self._stoppers.append(self.replication.stop)
        return ", ".join(f"{b.region}={b.endpoint} ({b.bucket})" for b in buckets.values())

    def _seed(self) -> str:
        options = self.options
        assert self.replication is not None
        count = self.buckets.seed(regions=(self.data_region,))
        for item in options.estate.objects if options.estate else ():
            self.buckets.put(self.data_region, item.key, item.body, content_type=item.content_type,
                             content_encoding=item.content_encoding, metadata=dict(item.metadata),
                             tags=dict(item.tags), storage_class=item.storage_class, kms_key_id=item.kms_key_id)
            count += 1
        if not options.brownfield:
            count += self.replication.backfill(self.data_region).run().succeeded
        return f"{count} objects"

    def _prepare_failover_bucket(self) -> None:
        """The error page in the failover bucket (written by the deploy tooling's own function), the settings
        pointed at that bucket, and who may read what (the template's policies for the local names)."""
        failover = self.buckets.buckets[str(self.options.failover_region)]
        error_pages.ensure_error_page(lambda service, region: self.buckets.client(region),
                                      Bucket(failover.bucket, failover.region), lambda message: None)
        self.settings = self.settings.with_failover_domain(failover.virtual_host)
        self.identities = StackIdentities(
            mrap_alias=self.settings.primary.domain_name.split(".accesspoint.", 1)[0],
            bucket_names=tuple(self.buckets.buckets[r].bucket for r in self.options.regions),
        )
        self.access = self._access(self.identities)

    def _role_credentials(self) -> VerifierCredentials:
        return VerifierCredentials(self.credentials.access_key_id, self.credentials.secret_access_key,
                                   self.credentials.session_token)

    def _oac_credentials(self) -> VerifierCredentials:
        oac = self.oac_credentials
        return VerifierCredentials(oac.access_key_id, oac.secret_access_key, oac.session_token)

    def _start_mrap(self) -> str:
        assert self.identities is not None
        oac = self._oac_credentials()
        self.mrap = MrapStandIn(
            host=self.settings.primary.domain_name,
            servers=self.buckets,
            credentials=[self._role_credentials(), oac],  # the function's role; CloudFront's own (native mode)
            client_regions=self.options.client_regions,
            access=self.access,
            principals={self.credentials.access_key_id: Principal("AWS", self.identities.role_arn),
                        oac.access_key_id: CLOUDFRONT},
            contexts={oac.access_key_id: {"aws:SourceArn": self.identities.distribution_arn}},
            network=self.network,
            dials=self.initial_dials(),
        )
        # Bounded like every record of the stand-ins: the latest receipts are kept, the counts cover all.
        self.mrap.received = collections.deque(maxlen=self.options.record_limit)  # type: ignore[assignment]
        self.mrap.start()
        self._stoppers.append(self.mrap.stop)
        return (", ".join(f"{r}=127.0.0.1:{a[1]}" for r, a in self.mrap.addresses.items())
                + "; routes " + ", ".join(f"{r} {d}" for r, d in self.mrap.routing.current.dials))

    def _start_failover_endpoint(self) -> str:
        assert self.identities is not None and self.access is not None
        self.failover_endpoint = BucketEndpoint(
            region=str(self.options.failover_region),
            buckets=self.buckets,
            access=self.access,
            callers=[
                Caller(self._oac_credentials(), CLOUDFRONT, {"aws:SourceArn": self.identities.distribution_arn}),
                Caller(self._role_credentials(), Principal("AWS", self.identities.role_arn), {}),
            ],
            pops=self.options.client_regions,
            network=self.network,
        )
        self.failover_endpoint.start()
        self._stoppers.append(self.failover_endpoint.stop)
        return ""

    def _start_function(self) -> str:
        options = self.options
        for region in options.client_regions:
            invoker = FunctionInvoker(self.credentials, region=POPS[region].region, zip_path=options.zip_path,
                                      timeout_s=float(options.function_timeout_s or 0),
                                      max_workers=options.function_workers,
                                      memory_mb=self.settings.function_memory_mb,
                                      concurrency=options.function_concurrency)
            self.invokers[region] = invoker
            self._stoppers.append(invoker.stop)
            invoker.start()
        return ""

    def _start_cloudfront(self) -> str:
        options = self.options
        self.cloudfront = CloudFrontStandIn(
            settings=self.settings,
            invokers=self.invokers,
            resolve=self._resolver(self.buckets.buckets[str(options.failover_region)]),
            failover_region=str(options.failover_region),
            oac_credentials=BotocoreCredentials(self.oac_credentials.access_key_id,
                                                self.oac_credentials.secret_access_key,
                                                self.oac_credentials.session_token),
            record_dir=options.record_dir,
            record_limit=options.record_limit,
            pops=options.client_regions,
        )
        self.cloudfront.start()
        self._stoppers.append(self.cloudfront.stop)
        return ", ".join(f"{POPS[r].code}={self.cloudfront.url(r)}" for r in options.client_regions)

    def _resolver(self, failover: RegionalBucket) -> Callable[[str, str], Optional[Tuple[str, int]]]:
        mrap_host = self.settings.primary.domain_name.lower()

        def resolve(host: str, pop_region: str) -> Optional[Tuple[str, int]]:
            host = host.lower().split(":", 1)[0]
            if host == mrap_host and self.mrap is not None:
                return self.mrap.addresses[pop_region]  # the MRAP entry nearest the POP
            if host == failover.virtual_host and self.failover_endpoint is not None:
                return self.failover_endpoint.addresses[pop_region]  # the bucket's endpoint, seen from the POP
            return None

        return resolve

    def _access(self, identities: StackIdentities) -> Access:
        options = self.options
        estate = options.estate
        data_bucket = identities.bucket_names[0]
        account_state: Dict[str, Any] = {} if estate is None else {
            "existing_statements": {data_bucket: estate.statements_for(data_bucket)},
            "kms_key_policies": estate.kms_key_policies,
        }
        account_state["parameters"] = self.parameters
        if options.policy_template is not None:
            return Access(options.policy_template, identities, options.regions, **account_state)
        path = options.template or TEMPLATE_FILE
        try:
            return Access.from_file(path, identities, options.regions, **account_state)
        except (OSError, ValueError) as error:
            raise ValueError(f"unable to read the access policies from {path}: {error}") from None

    def initial_dials(self) -> Dict[str, int]:
        """The routes a deploy leaves: with the deploy rule, brownfield Regions without the data are passive."""
        if self.options.brownfield and self.options.passive_until_backfilled:
            return {region: 0 for region in self.options.regions if region != self.data_region}
        return {}

    def backfill(self, task_delay_s: float = 0.0, start: bool = True) -> BackfillJob:
        """The backfill deploy starts (S3 Batch Replication) from the data Region's bucket to the others; when it
        completes with no failed task, each destination Region becomes active, as the deploy rule says."""
        assert self.replication is not None and self.mrap is not None
        job = self.replication.backfill(self.data_region, task_delay_s=task_delay_s)
        routing = self.mrap.routing

        def activate(finished: BackfillJob) -> None:
            if finished.failed == 0 and self.options.passive_until_backfilled:
                for region in finished.destinations:
                    routing.set_dial(region, 100, configured=True)

        job.on_complete(activate)
        self.backfills.append(job)
        return job.start() if start else job

    def stop(self) -> None:
        stop_all((self.cloudfront, self.mrap, self.failover_endpoint))  # every listener told first
        while self._stoppers:
            stopper = self._stoppers.pop()
            try:
                stopper()
            except Exception as error:  # keep stopping the rest
                self._progress(f"  warning: unable to stop a component: {error}")

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- helpers --------------------------------------------------------------------------------------------------
    def url(self, client_region: str, path: str = "/") -> str:
        assert self.cloudfront is not None
        return self.cloudfront.url(client_region) + path

    def reset(self) -> None:
        """Back to the state after start: routing, faults, forced status, records, cache."""
        assert self.mrap is not None and self.cloudfront is not None
        self.mrap.routing.reset()
        self.mrap.forced_status = None
        self.mrap.clear()
        if self.failover_endpoint is not None:
            self.failover_endpoint.clear()
        self.cloudfront.clear()
        self.cloudfront.settings = self.settings
        self.cloudfront.cache_ttl = self.settings.default_ttl
        for invoker in self.invokers.values():
            invoker.fault = None
            invoker.fault_every = 1

    def client_regions(self) -> Sequence[str]:
        return self.options.client_regions


def _shown(parameters: Mapping[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted(parameters.items())) or "the default parameters"
