"""What the deployed stack says it built, read once: the outputs and parameters of the us-east-1 stack and the
caller's account. Every other check starts from these facts."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from botocore.exceptions import ClientError

from ..clients import HOME_REGION, ClientFactory
from ..errors import ToolError, refusal
from ..regions import Bucket

__all__ = ["StackFacts", "read_facts", "LockedClients", "quick_clients"]


@dataclass(frozen=True)
class StackFacts:
    stack_name: str
    account: str
    outputs: Dict[str, str]
    parameters: Dict[str, str]
    buckets: Tuple[Bucket, ...]

    @property
    def distribution_id(self) -> str:
        return self.outputs.get("DistributionId", "")

    @property
    def domain_name(self) -> str:
        return self.outputs.get("DistributionDomainName", "")

    @property
    def mrap_arn(self) -> str:
        return self.outputs.get("MrapArn", "")

    @property
    def mrap_alias(self) -> str:
        return self.outputs.get("MrapAlias", "") or self.mrap_arn.rsplit("/", 1)[-1]

    @property
    def mrap_name(self) -> str:
        return self.parameters.get("MrapName", "mrap-edge")

    @property
    def mrap_domain(self) -> str:
        return f"{self.mrap_alias}.accesspoint.s3-global.amazonaws.com"

    @property
    def function_name(self) -> str:
        """The deployed function's name. The template suffixes the FunctionName parameter with the stack's own id
        (`mrap-edge-0f1e2d3c`), so the parameter alone names no function: the FunctionName output, else the name in
        the version's ARN (arn:aws:lambda:us-east-1:<account>:function:<name>:<version>); empty when neither."""
        named = self.outputs.get("FunctionName", "")
        if named:
            return named
        parts = self.function_version_arn.split(":")
        return parts[6] if len(parts) == 8 and parts[5] == "function" else ""

    @property
    def function_version_arn(self) -> str:
        return self.outputs.get("FunctionVersionArn", "")

    @property
    def native(self) -> bool:
        return self.parameters.get("NativeMode", "false") == "true"

    @property
    def web_acl_arn(self) -> str:
        return self.outputs.get("WebAclArn", "")

    @property
    def failover_bucket(self) -> Optional[Bucket]:
        return self.buckets[0] if self.buckets else None


def read_facts(clients: ClientFactory, stack_name: str) -> StackFacts:
    """The stack's outputs and parameters; a missing stack or a refusal is a ToolError (nothing else can run)."""
    try:
        account = str(clients("sts", HOME_REGION).get_caller_identity()["Account"])
    except ClientError as error:
        raise refusal("find the caller's account", error, "check the credentials (aws sts get-caller-identity)") \
            from None
    try:
        stacks = clients("cloudformation", HOME_REGION).describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            raise ToolError(f"unable to find stack {stack_name} in {HOME_REGION}: deploy it first, or pass "
                            "--stack-name (or --url to check only the request path)") from None
        raise refusal(f"read stack {stack_name}", error, "the caller needs cloudformation:DescribeStacks") from None
    if not stacks:
        raise ToolError(f"unable to find stack {stack_name} in {HOME_REGION}")
    stack = stacks[0]
    _refuse_an_empty_stack(stack_name, str(stack.get("StackStatus", "")), bool(stack.get("Outputs")))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", []) or []}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", []) or []}
    names = [n for n in (outputs.get("BucketNames") or parameters.get("BucketNames", "")).split(",") if n]
    regions = [r for r in (outputs.get("BucketRegions") or parameters.get("BucketRegions", "")).split(",") if r]
    if not names or len(names) != len(regions):
        raise ToolError(f"unable to read the buckets of stack {stack_name} (status {stack.get('StackStatus')}): "
                        "its BucketNames and BucketRegions outputs are missing or differ in length")
    buckets = tuple(Bucket(name=n, region=r) for n, r in zip(names, regions))
    return StackFacts(stack_name, account, outputs, parameters, buckets)


# Stacks that exist by name but built nothing to check (CloudFormation's stack status codes).
_EMPTY_STACKS = {
    "REVIEW_IN_PROGRESS": "a change set was created but never executed: nothing is deployed yet",
    "ROLLBACK_IN_PROGRESS": "its creation failed and is being rolled back",
    "ROLLBACK_COMPLETE": "its creation failed and was rolled back: it holds nothing",
    "ROLLBACK_FAILED": "its creation failed and so did the rollback",
    "DELETE_IN_PROGRESS": "it is being deleted",
    "DELETE_FAILED": "its deletion failed part-way",
}


def _refuse_an_empty_stack(stack_name: str, status: str, has_outputs: bool) -> None:
    if status in _EMPTY_STACKS and not has_outputs:
        raise ToolError(f"unable to check stack {stack_name}: it is {status}, {_EMPTY_STACKS[status]}; see its events "
                        f"(aws cloudformation describe-stack-events --region {HOME_REGION} --stack-name "
                        f"{stack_name}), then deploy again (scripts/deploy) or remove it (scripts/teardown)")


class LockedClients:
    """A client factory safe to call from several threads (boto3 sessions are not); clients themselves are."""

    def __init__(self, inner: ClientFactory) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def __call__(self, service: str, region: str) -> Any:
        with self._lock:
            return self._inner(service, region)


def listed(value: Any) -> List[Any]:
    """CloudFront's {"Quantity": n, "Items": [...]} lists, with Items absent when empty."""
    if isinstance(value, dict):
        return list(value.get("Items") or [])
    return list(value or [])


def quick_clients() -> ClientFactory:
    """boto3 clients that give up quickly: a status check must not hang for minutes on one unreachable Region."""
    import boto3  # here so that --help and --url work without boto3 configured
    from botocore.config import Config as BotoConfig

    session = boto3.Session()
    config = BotoConfig(connect_timeout=5, read_timeout=15, retries={"max_attempts": 3, "mode": "standard"})
    made: Dict[Tuple[str, str], Any] = {}

    def factory(service: str, region: str) -> Any:
        if (service, region) not in made:
            made[(service, region)] = session.client(service, region_name=region, config=config)
        return made[(service, region)]

    return factory
