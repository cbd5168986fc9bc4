"""The whole local request path, started and stopped as one: regional buckets, the MRAP stand-in, the function's
workers and the CloudFront stand-in, wired together with a local "DNS" (origin domain → 127.0.0.1 port)."""
from __future__ import annotations

import collections
import secrets
import string
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from botocore.credentials import Credentials as BotocoreCredentials

from infra.local.s3verifier import Credentials as VerifierCredentials

from .buckets import BucketServers, RegionalBucket
from .cloudfront import RECORD_LIMIT, CloudFrontStandIn
from .invoker import DEFAULT_MAX_WORKERS, AwsCredentials, FunctionInvoker
from .mrap import MrapStandIn
from .regions import POPS
from .template import DistributionSettings, load_settings

__all__ = ["StackOptions", "LocalStack", "new_credentials"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StackOptions:
    # Regions with a bucket behind the MRAP; the user's story has London and Ohio.
    regions: Tuple[str, ...] = ("eu-west-2", "us-east-2")
    # Where clients are: one CloudFront POP (and one MRAP entry port) per Region listed.
    client_regions: Tuple[str, ...] = ("eu-west-2", "us-east-2")
    # The origin group's secondary origin is this Region's bucket, reached directly with origin access control.
    failover_region: str = "us-east-2"
    zip_path: Optional[Path] = None  # run the function from a deployment zip instead of the source tree
    template: Optional[Path] = None  # distribution settings; default: the project's cloudformation.template
    settings: Optional[DistributionSettings] = None  # overrides `template` (tests)
    record_dir: Optional[Path] = None
    function_timeout_s: float = 30.0  # Lambda@Edge's limit for origin-request functions
    function_workers: int = DEFAULT_MAX_WORKERS  # execution environments per edge location, at most
    record_limit: int = RECORD_LIMIT  # requests, invocations and MRAP receipts kept in memory, the latest
    bucket_prefix: str = "mrap-edge-demo"
    seed: bool = True


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
        if options.template is not None and not Path(options.template).is_file():
            raise ValueError(f"unable to read the distribution settings: no file {options.template}")
        if options.failover_region not in options.regions:
            raise ValueError(f"unable to use failover Region {options.failover_region}: not in {options.regions}")
        self.options = options
        self.credentials = new_credentials()
        self.settings = options.settings or load_settings(options.template)
        self.timings: Dict[str, float] = {}
        self._progress = progress or (lambda message: None)
        self.buckets = BucketServers(options.regions, options.bucket_prefix)
        self.mrap: Optional[MrapStandIn] = None
        self.cloudfront: Optional[CloudFrontStandIn] = None
        self.invokers: Dict[str, FunctionInvoker] = {}
        self._stoppers: List[Callable[[], None]] = []

    # --- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> "LocalStack":
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _step(self, name: str, message: str) -> float:
        self._progress(message)
        return time.perf_counter()

    def _done(self, name: str, started: float, detail: str = "") -> None:
        self.timings[name] = (time.perf_counter() - started) * 1000
        self._progress(f"  ok ({self.timings[name]:.0f} ms){' ' + detail if detail else ''}")

    def _start(self) -> None:
        options = self.options
        begun = time.perf_counter()
        self._progress(f"settings: {self.settings.source}; MRAP host {self.settings.primary.domain_name}; "
                       f"failover on {', '.join(str(c) for c in sorted(self.settings.failover_codes))}")
        t = self._step("buckets", f"starting S3 (moto) servers for {', '.join(options.regions)}")
        buckets = self.buckets.start()
        self._stoppers.append(self.buckets.stop)
        self._done("buckets", t, ", ".join(f"{b.region}={b.endpoint} ({b.bucket})" for b in buckets.values()))
        if options.seed:
            t = self._step("seed", "uploading sample images and per-bucket probe objects")
            count = self.buckets.seed()
            self._done("seed", t, f"{count} objects")
        failover = buckets[options.failover_region]
        self.settings = self.settings.with_failover_domain(failover.virtual_host)
        t = self._step("mrap", "starting the MRAP stand-in (SigV4A verified per request)")
        self.mrap = MrapStandIn(
            host=self.settings.primary.domain_name,
            buckets=buckets,
            credentials=[VerifierCredentials(self.credentials.access_key_id, self.credentials.secret_access_key,
                                             self.credentials.session_token)],
            client_regions=options.client_regions,
        )
        # Bounded like every record of the stand-ins: the latest receipts are kept, the counts cover all.
        self.mrap.received = collections.deque(maxlen=options.record_limit)  # type: ignore[assignment]
        self.mrap.start()
        self._stoppers.append(self.mrap.stop)
        self._done("mrap", t, ", ".join(f"{r}=127.0.0.1:{a[1]}" for r, a in self.mrap.addresses.items()))
        code = f"zip {options.zip_path.name}" if options.zip_path else "source tree"
        t = self._step("function", f"starting the function ({code}): per edge location, one execution environment "
                                   f"now and up to {options.function_workers} under concurrent demand")
        for region in options.client_regions:
            invoker = FunctionInvoker(self.credentials, region=region, zip_path=options.zip_path,
                                      timeout_s=options.function_timeout_s, max_workers=options.function_workers)
            self.invokers[region] = invoker
            self._stoppers.append(invoker.stop)
            invoker.start()
        self._done("function", t)
        t = self._step("cloudfront", "starting the CloudFront stand-in (one port per edge location)")
        self.cloudfront = CloudFrontStandIn(
            settings=self.settings,
            invokers=self.invokers,
            resolve=self._resolver(failover),
            failover_region=options.failover_region,
            oac_credentials=BotocoreCredentials(self.credentials.access_key_id, self.credentials.secret_access_key,
                                                self.credentials.session_token),
            record_dir=options.record_dir,
            record_limit=options.record_limit,
        )
        self.cloudfront.start()
        self._stoppers.append(self.cloudfront.stop)
        pops = ", ".join(f"{POPS[r].code}={self.cloudfront.url(r)}" for r in options.client_regions)
        self._done("cloudfront", t, pops)
        self.timings["total"] = (time.perf_counter() - begun) * 1000

    def _resolver(self, failover: RegionalBucket) -> Callable[[str, str], Optional[Tuple[str, int]]]:
        mrap_host = self.settings.primary.domain_name.lower()

        def resolve(host: str, pop_region: str) -> Optional[Tuple[str, int]]:
            host = host.lower().split(":", 1)[0]
            if host == mrap_host and self.mrap is not None:
                return self.mrap.addresses[pop_region]  # the MRAP entry nearest the POP
            if host == failover.virtual_host:
                return failover.host, failover.port
            return None

        return resolve

    def stop(self) -> None:
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
        self.cloudfront.clear()
        self.cloudfront.settings = self.settings
        self.cloudfront.cache_ttl = self.settings.default_ttl
        for invoker in self.invokers.values():
            invoker.fault = None
            invoker.fault_every = 1

    def client_regions(self) -> Sequence[str]:
        return self.options.client_regions
