"""Create or update the us-east-1 stack through a change set, stream its events, and read its outputs."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple

from botocore.exceptions import ClientError

from .clients import HOME_REGION, ClientFactory, ToolError
from .errors import refusal
from .rules import MAX_TEMPLATE_BODY_BYTES

__all__ = ["StackResult", "ChangeSet", "template_body", "check_template_size", "prepare_change_set",
           "execute_change_set", "discard_change_set", "deploy_stack", "delete_stack", "stack_outputs",
           "template_parameters",           "check_mrap_change", "deployed_function_name"]

Say = Callable[[str], None]
Sleep = Callable[[float], None]

# Stack states that end a wait; anything else is still moving.
_DONE_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"}
_DONE_BAD = {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "DELETE_FAILED",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
    "UPDATE_FAILED",
}
# How long deploy waits for the stack before it says the stack continues without it, and how often it says it waits.
STACK_WAIT_TIMEOUT = 90 * 60.0
HEARTBEAT = 60.0
# What CloudFormation says when a change set would change nothing.
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
# A template with a transform (AWS::LanguageExtensions) needs CAPABILITY_AUTO_EXPAND; the role needs CAPABILITY_IAM.
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


class StackResult:
    def __init__(self, changed: bool, outputs: Dict[str, str]) -> None:
        self.changed = changed
        self.outputs = outputs


def template_parameters(template_body: str) -> Set[str]:
    return set(json.loads(template_body).get("Parameters", {}))


def _describe(cfn: Any, name: str) -> Optional[Dict[str, Any]]:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise refusal(f"read stack {name} in {HOME_REGION}", error,
                      "the deploying identity needs cloudformation:DescribeStacks") from None
    return stacks[0] if stacks else None


def existing_stack(clients: ClientFactory, name: str) -> Optional[Dict[str, Any]]:
    """The stack as DescribeStacks gives it, or None when there is none; a refusal is a ToolError."""
    stack = _describe(clients("cloudformation", HOME_REGION), name)
    return dict(stack) if stack is not None else None


def stack_outputs(clients: ClientFactory, name: str) -> Dict[str, str]:
    stack = _describe(clients("cloudformation", HOME_REGION), name)
    if stack is None:
        raise ToolError(f"unable to find stack {name} in {HOME_REGION}: deploy it first")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _same_as_deployed(cfn: Any, name: str, body: str, parameters: Mapping[str, str]) -> bool:
    """True when the stack already runs this template with these parameters: skip the change set altogether."""
    deployed = cfn.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    if isinstance(deployed, dict):  # boto3 parses JSON bodies
        deployed = json.dumps(deployed)
    try:
        if json.loads(deployed) != json.loads(body):
            return False
    except ValueError:
        return False
    stack = _describe(cfn, name) or {}
    current = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    return all(current.get(k) == v for k, v in parameters.items())


def _stream_events(cfn: Any, name: str, seen: Set[str], say: Say,
                   failures: Optional[List[Dict[str, Any]]] = None) -> None:
    events: List[Dict[str, Any]] = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=name):
        events.extend(event for event in page["StackEvents"] if event["EventId"] not in seen)
    for event in sorted(events, key=lambda e: e["Timestamp"]):
        seen.add(event["EventId"])
        reason = f" - {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
        say(f"  {event['ResourceStatus']:<28} {event['ResourceType']:<40} {event['LogicalResourceId']}{reason}")
        if failures is not None and event["ResourceStatus"].endswith("_FAILED"):
            failures.append(event)


def wait_for_stack(cfn: Any, name: str, seen: Set[str], say: Say, sleep: Sleep, poll: float = 10.0,
                   failures: Optional[List[Dict[str, Any]]] = None, timeout: float = STACK_WAIT_TIMEOUT,
                   on_poll: Optional[Callable[[], None]] = None, heartbeat: float = HEARTBEAT) -> str:
    """Print stack events not in `seen` until the stack reaches a final state; return that state. Failed resource
    events are appended to `failures` when given. A line every `heartbeat` seconds without events says the wait goes
    on; after `timeout` seconds a ToolError says the stack continues without us. `on_poll` runs at every poll (deploy
    sets a new MRAP's routes from there, as soon as the MRAP exists)."""
    waited = quiet = 0.0
    while True:
        stack = _describe(cfn, name)
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        before = len(seen)
        if stack is not None:
            _stream_events(cfn, name, seen, say, failures)
        if on_poll is not None:
            on_poll()
        if status in _DONE_OK or status in _DONE_BAD:
            return status
        quiet = 0.0 if len(seen) != before else quiet + poll
        if quiet >= heartbeat:
            say(f"  stack {name}: {status}, {int(waited // 60)} min so far (CloudFront changes take minutes)")
            quiet = 0.0
        if waited >= timeout:
            raise ToolError(f"unable to see stack {name} finish within {int(timeout // 60)} min: it is {status} and "
                            "continues in CloudFormation; follow it in the console and run deploy again when it is "
                            "done")
        sleep(poll)
        waited += poll


def _change_set_parameters(declared: Set[str], given: Mapping[str, str],
                           stack: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The given parameters, and UsePreviousValue for every other declared one the stack already has.

    A change set sets a parameter it is not given to the template's default, so a value set outside deploy (a
    signed-URL key slot filled by scripts/cloudfront-keys) would silently go back to its default on the next deploy."""
    entries: List[Dict[str, Any]] = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(given.items())]
    deployed = {p["ParameterKey"] for p in (stack or {}).get("Parameters", [])}
    entries += [{"ParameterKey": k, "UsePreviousValue": True} for k in sorted((declared & deployed) - set(given))]
    return entries


def template_body(path: Path) -> str:
    """The template as deploy sends it: minified JSON. CloudFormation takes at most MAX_TEMPLATE_BODY_BYTES of
    TemplateBody in a request, and the indentation of the file in the repository is about half of its size."""
    try:
        return json.dumps(json.loads(path.read_text(encoding="utf-8")), separators=(",", ":"), sort_keys=False)
    except (OSError, ValueError) as error:
        raise ToolError(f"unable to read template {path}: {error}") from None


def check_template_size(body: str) -> List[str]:
    size = len(body.encode("utf-8"))
    if size <= MAX_TEMPLATE_BODY_BYTES:
        return []
    return [f"template: {size:,} bytes minified, over CloudFormation's {MAX_TEMPLATE_BODY_BYTES:,} for a template "
            "body in a request; shorten it (deploy does not upload templates to S3 for TemplateURL)"]


@dataclass
class ChangeSet:
    """A change set CloudFormation has validated and not executed; `name` is "" when the stack would not change."""
    stack_name: str
    name: str
    change_type: str
    changes: List[Dict[str, Any]] = field(default_factory=list)


def deploy_stack(clients: ClientFactory, name: str, body: str, parameters: Mapping[str, str], say: Say,
                 sleep: Sleep = time.sleep) -> StackResult:
    """prepare_change_set and execute_change_set in one go."""
    return execute_change_set(clients, prepare_change_set(clients, name, body, parameters, say, sleep), say, sleep)


def prepare_change_set(clients: ClientFactory, name: str, body: str, parameters: Mapping[str, str], say: Say,
                       sleep: Sleep = time.sleep) -> ChangeSet:
    """Have CloudFormation validate the template and parameters in a change set, without executing it; deploy does
    this before it writes anything else, so that a refusal leaves the account as it was."""
    try:
        return _prepare_change_set(clients, name, body, parameters, say, sleep)
    except ClientError as error:
        raise refusal(f"create a change set for stack {name}", error, "nothing was changed") from None


def _prepare_change_set(clients: ClientFactory, name: str, body: str, parameters: Mapping[str, str], say: Say,
                        sleep: Sleep) -> ChangeSet:
    declared = template_parameters(body)
    unknown = sorted(set(parameters) - declared)
    if unknown:
        raise ToolError(f"unable to pass parameter {unknown[0]}: the template does not declare it")
    cfn = clients("cloudformation", HOME_REGION)
    stack = _describe(cfn, name)
    if stack is not None and stack["StackStatus"] == "ROLLBACK_COMPLETE":
        raise ToolError(
            f"unable to update stack {name}: its creation failed (ROLLBACK_COMPLETE); run scripts/teardown first"
        )
    if stack is not None and stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        stack = None  # an earlier CREATE change set was never executed: create again
    if stack is not None and _same_as_deployed(cfn, name, body, parameters):
        say(f"stack {name}: no changes")
        return ChangeSet(name, "", "UPDATE")
    change_type = "UPDATE" if stack is not None else "CREATE"
    change_set = f"{name}-{int(time.time())}"
    cfn.create_change_set(StackName=name, ChangeSetName=change_set, ChangeSetType=change_type, TemplateBody=body,
                          Parameters=_change_set_parameters(declared, parameters, stack), Capabilities=CAPABILITIES,
                          Tags=[{"Key": "mrap-edge:stack", "Value": name}])
    while True:
        described = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)
        if described["Status"] == "CREATE_COMPLETE":
            break
        if described["Status"] == "FAILED":
            reason = described.get("StatusReason", "")
            cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
            if any(text in reason for text in _NO_CHANGES):
                say(f"stack {name}: no changes")
                return ChangeSet(name, "", "UPDATE")
            if change_type == "CREATE":  # the empty stack a CREATE change set made: leave nothing behind
                cfn.delete_stack(StackName=name)
            raise ToolError(f"unable to create a change set for stack {name}: {reason}; nothing was changed")
        sleep(5)
    changes = [change.get("ResourceChange", {}) for change in described.get("Changes", [])]
    for rc in changes:
        action, kind, logical = rc.get("Action", "?"), rc.get("ResourceType", "?"), rc.get("LogicalResourceId", "?")
        say(f"  change: {action:<8} {kind:<40} {logical}")
    say(f"stack {name}: change set {change_set} validated by CloudFormation (not executed yet)")
    return ChangeSet(name, change_set, change_type, changes)


def discard_change_set(clients: ClientFactory, change_set: ChangeSet) -> None:
    """Delete a change set not executed, and the empty stack a CREATE change set made."""
    if not change_set.name:
        return
    cfn = clients("cloudformation", HOME_REGION)
    try:
        cfn.delete_change_set(StackName=change_set.stack_name, ChangeSetName=change_set.name)
        if change_set.change_type == "CREATE":
            cfn.delete_stack(StackName=change_set.stack_name)
    except ClientError as error:
        raise refusal(f"delete change set {change_set.name}", error) from None


def execute_change_set(clients: ClientFactory, change_set: ChangeSet, say: Say, sleep: Sleep = time.sleep,
                       on_poll: Optional[Callable[[], None]] = None,
                       timeout: float = STACK_WAIT_TIMEOUT) -> StackResult:
    name = change_set.stack_name
    if not change_set.name:
        return StackResult(changed=False, outputs=stack_outputs(clients, name))
    cfn = clients("cloudformation", HOME_REGION)
    try:
        seen = _existing_events(cfn, name)
        cfn.execute_change_set(StackName=name, ChangeSetName=change_set.name)
        say(f"stack {name}: {change_set.change_type.lower()} started")
        failures: List[Dict[str, Any]] = []
        final = wait_for_stack(cfn, name, seen, say, sleep, failures=failures, timeout=timeout, on_poll=on_poll)
    except ClientError as error:
        raise refusal(f"deploy stack {name}", error) from None
    if final not in _DONE_OK:
        hint = _failure_hint(failures)
        raise ToolError(f"unable to {change_set.change_type.lower()} stack {name}: it ended in {final}"
                        + (f"; {hint}" if hint else " (see the events above)"))
    say(f"stack {name}: {final}")
    return StackResult(changed=True, outputs=stack_outputs(clients, name))


def _failure_hint(failures: List[Dict[str, Any]]) -> str:
    """What to do about the failures CloudFormation reports in words that do not say it."""
    for event in failures:
        reason = str(event.get("ResourceStatusReason", ""))
        if event.get("ResourceType") == "AWS::Lambda::Function" and (
                "ResourceConflictException" in reason or "already exist" in reason):
            return (f"the function name {event.get('PhysicalResourceId') or '(see above)'} is taken by a function "
                    "kept from an earlier stack (Lambda@Edge replicas keep it for hours after a teardown): run "
                    "`scripts/teardown cleanup` for it, or deploy with another --function-name; then run "
                    "`scripts/teardown` and deploy again")
    return ""


def check_mrap_change(clients: ClientFactory, name: str, parameters: Mapping[str, str], say: Say) -> None:
    """Refuse, before anything is changed, a new set of buckets for an MRAP that exists: an MRAP's Regions (and its
    name) are fixed at creation, so CloudFormation would fail the update half-way. With a new MRAP name the stack
    replaces the MRAP instead: it creates the new one, switches the distribution's origin to it, and deletes the old
    one at the end."""
    stack = _describe(clients("cloudformation", HOME_REGION), name)
    if stack is None or stack["StackStatus"] in ("REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE"):
        return  # no MRAP was made (or it was rolled back): any buckets will do
    current = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    if "BucketNames" not in current:
        return
    old = list(zip(current["BucketNames"].split(","), current.get("BucketRegions", "").split(",")))
    new = list(zip(parameters["BucketNames"].split(","), parameters["BucketRegions"].split(",")))
    if old == new:
        return

    def show(pairs: List[Tuple[str, str]]) -> str:
        return ",".join(f"{b}@{r}" for b, r in pairs)
    mrap = current.get("MrapName", "")
    if parameters.get("MrapName") == mrap:
        raise ToolError(
            f"unable to change the buckets of MRAP {mrap} ({show(old)} -> {show(new)}): an MRAP's Regions are fixed "
            f"when it is created. To move to the new buckets, deploy again with a new --mrap-name as well: the stack "
            f"creates that MRAP, switches the distribution's origin to it and deletes {mrap} at the end")
    say(f"stack {name}: MRAP {mrap} ({show(old)}) will be replaced by {parameters.get('MrapName')} ({show(new)}): "
        f"CloudFormation creates the new MRAP (minutes, up to hours), switches the origin, then deletes {mrap}")


def deployed_function_name(clients: ClientFactory, name: str) -> Optional[str]:
    """The name the template gave the stack's function: `<FunctionName>-<first group of the stack id's UUID>`.
    Read from the stack id and parameters, so it is known for a rolled-back create too (no outputs then, but the
    function is retained); None without a stack or in native mode."""
    stack = _describe(clients("cloudformation", HOME_REGION), name)
    if stack is None:
        return None
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    if parameters.get("NativeMode") == "true" or not parameters.get("FunctionName"):
        return None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    uuid = str(stack["StackId"]).rsplit("/", 1)[-1]
    return outputs.get("FunctionName") or f"{parameters['FunctionName']}-{uuid.split('-', 1)[0]}"


def _existing_events(cfn: Any, name: str) -> Set[str]:
    """Ids of the events already there, so that only this run's events are printed."""
    seen: Set[str] = set()
    try:
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=name):
            seen.update(event["EventId"] for event in page["StackEvents"])
    except ClientError:
        pass
    return seen


def delete_stack(clients: ClientFactory, name: str, say: Say, sleep: Sleep = time.sleep) -> bool:
    """Delete the stack and wait; False when there was none."""
    try:
        return _delete_stack(clients, name, say, sleep)
    except ClientError as error:
        raise refusal(f"delete stack {name}", error) from None


def _delete_stack(clients: ClientFactory, name: str, say: Say, sleep: Sleep) -> bool:
    cfn = clients("cloudformation", HOME_REGION)
    if _describe(cfn, name) is None:
        say(f"stack {name}: not found, nothing to delete")
        return False
    seen = _existing_events(cfn, name)
    cfn.delete_stack(StackName=name)
    say(f"stack {name}: delete started (the function and its versions are retained; see `scripts/teardown cleanup`)")
    final = wait_for_stack(cfn, name, seen, say, sleep)
    if final != "DELETE_COMPLETE":
        raise ToolError(f"unable to delete stack {name}: it ended in {final}")
    say(f"stack {name}: deleted")
    return True
