"""The one CloudFormation evaluator of the local stack: the intrinsic functions the project's template uses, with
what is known before deployment (parameters' values or Defaults) and, when given, what CloudFormation knows once
the stack exists (`DeployedNames`: resources' `Ref`s and attributes, pseudo parameters).

Evaluated: `Ref` (parameters, a CommaDelimitedList as its items; pseudo parameters and resources with deployed
names; `AWS::NoValue` leaves the property or list item out), `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::Split`,
`Fn::Select`, `Fn::If` with the template's `Conditions` (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`,
`Condition`, and `Fn::Contains` of the template's `Rules`). Anything else, or a value not known, is `Unresolved`:
`resolve` raises it (a policy must be the one that would be deployed), `value` records it and gives the caller's
default (settings may fall back to defaults).

`rule_failures` evaluates the template's `Rules` as CloudFormation does before it creates or updates anything: each
rule whose `RuleCondition` holds must have every `Assert` true, else the stack is refused with the assertion's
`AssertDescription`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Mapping, Optional, Tuple

__all__ = ["TEMPLATE_FILE", "Unresolved", "DeployedNames", "Evaluator", "rule_failures"]

TEMPLATE_FILE = Path(__file__).resolve().parents[2] / "cloudformation.template"

_NO_VALUE = object()  # Ref AWS::NoValue: the property or list item is left out


class Unresolved(Exception):
    """A template value that cannot be known here (a GetAtt before deployment, a parameter without Default...)."""


@dataclass(frozen=True)
class DeployedNames:
    """What CloudFormation knows once the stack exists, for the local stand-in's account: parameter values (over
    the Defaults), what `Ref` gives for resources and what `Fn::GetAtt` gives for their attributes."""

    account_id: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    refs: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[Tuple[str, str], str] = field(default_factory=dict)
    region: str = "us-east-1"
    partition: str = "aws"
    # The function's name is made from the stack id's UUID (a name of its own per stack).
    stack_id: str = "arn:aws:cloudformation:us-east-1:000000000000:stack/mrap-edge/8f2d51a0-9a3b-11f0-8de9-0242ac120002"


class Evaluator:
    """Evaluates a template's intrinsic functions. `parameters`: values over the Defaults; `names`: the deployed
    stack's (else resources' `Ref`s, attributes and pseudo parameters are unresolved); `keep_resource_refs`: a
    `Ref` to a resource stays `{"Ref": name}`, for readers that follow it to the resource."""

    def __init__(self, template: Mapping[str, Any], parameters: Optional[Mapping[str, Any]] = None,
                 names: Optional[DeployedNames] = None, keep_resource_refs: bool = False) -> None:
        self.declared: Mapping[str, Any] = template.get("Parameters") or {}
        self.conditions: Mapping[str, Any] = template.get("Conditions") or {}
        self.resources: Mapping[str, Any] = template.get("Resources") or {}
        self.given = {**(names.parameters if names else {}), **(parameters or {})}
        self.names = names
        self.keep_resource_refs = keep_resource_refs
        self.unresolved: List[str] = []

    # --- the two ways to ask ----------------------------------------------------------------------------------------
    def resolve(self, node: Any) -> Any:
        """The node's value; raises Unresolved for anything that cannot be known."""
        value = self._eval(node)
        return None if value is _NO_VALUE else value

    def value(self, node: Any, default: Any) -> Any:
        """The node's value, or `default` when it is absent, left out, or cannot be known (noted in `unresolved`)."""
        if node is None:
            return default
        try:
            value = self._eval(node)
        except Unresolved as error:
            self.unresolved.append(str(error))
            return default
        return default if value is _NO_VALUE else value

    def condition(self, node: Any) -> bool:
        """A condition: a name in `Conditions`, or a condition function."""
        if isinstance(node, str):
            if node not in self.conditions:
                raise Unresolved(f"Condition {node}")
            return self.condition(self.conditions[node])
        (name, arg), = node.items()
        if name == "Condition":
            return self.condition(arg)
        if name == "Fn::Equals":
            first, second = (self._eval(item) for item in arg)
            return str(first) == str(second)
        if name == "Fn::Not":
            return not self.condition(arg[0])
        if name == "Fn::And":
            return all(self.condition(item) for item in arg)
        if name == "Fn::Or":
            return any(self.condition(item) for item in arg)
        if name == "Fn::Contains":  # a rule function: whether the list holds the value
            items, wanted = (self._eval(item) for item in arg)
            return isinstance(items, list) and str(wanted) in (str(item) for item in items)
        raise Unresolved(f"condition {name}")

    # --- evaluation -------------------------------------------------------------------------------------------------
    def _eval(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self._eval(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            (name, arg), = node.items()
            if name == "Ref":
                return self._ref(arg)
            if name.startswith("Fn::") or name == "Condition":
                return self._function(name, arg)
        out = {key: self._eval(value) for key, value in node.items()}
        return {key: value for key, value in out.items() if value is not _NO_VALUE}

    def _function(self, name: str, arg: Any) -> Any:
        if name == "Fn::GetAtt":
            logical, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self._attribute(logical, attribute)
        if name == "Fn::If":
            return self._eval(arg[1] if self.condition(arg[0]) else arg[2])
        if name == "Fn::Select":
            return self._eval(arg[1])[int(self._eval(arg[0]))]
        if name == "Fn::Join":
            return str(arg[0]).join(str(v) for v in self._eval(arg[1]))
        if name == "Fn::Split":
            return str(self._eval(arg[1])).split(arg[0])
        if name == "Fn::Sub":
            return self._sub(arg)
        if name in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
            return self.condition({name: arg})
        raise Unresolved(f"{name} {json.dumps(arg)[:60]}")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.declared:
            return self._parameter(name)
        if self.names is not None:
            pseudo = {"AWS::AccountId": self.names.account_id, "AWS::Partition": self.names.partition,
                      "AWS::Region": self.names.region, "AWS::URLSuffix": "amazonaws.com",
                      "AWS::StackId": self.names.stack_id}
            if name in pseudo:
                return pseudo[name]
            if name in self.names.refs:
                return self.names.refs[name]
        if self.keep_resource_refs and name in self.resources:
            return {"Ref": name}
        raise Unresolved(f"Ref {name}")

    def _parameter(self, name: str) -> Any:
        spec = self.declared.get(name) or {}
        if name in self.given:
            value = self.given[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise Unresolved(f"Ref {name}")
        if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    def _attribute(self, logical: str, attribute: str) -> Any:
        if self.keep_resource_refs and self.names is None and logical in self.resources:
            return {"Fn::GetAtt": [logical, attribute]}
        if self.names is None or (logical, attribute) not in self.names.attributes:
            raise Unresolved(f"Fn::GetAtt {logical}.{attribute}")
        return self.names.attributes[(logical, attribute)]

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def substitute(match: "re.Match[str]") -> str:
            name = match.group(1)
            if name in variables:
                return str(self._eval(variables[name]))
            try:
                value = self._attribute(*name.split(".", 1)) if "." in name and not name.startswith("AWS::") \
                    else self._ref(name)
            except Unresolved:
                raise Unresolved(f"Fn::Sub ${{{name}}}") from None
            if isinstance(value, Mapping):  # a kept resource reference has no text to put in a string
                raise Unresolved(f"Fn::Sub ${{{name}}}")
            return ",".join(value) if isinstance(value, list) else str(value)

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)


def rule_failures(template: Mapping[str, Any], parameters: Optional[Mapping[str, Any]] = None,
                  region: str = "us-east-1") -> List[str]:
    """The `AssertDescription` of every assertion of the template's `Rules` that fails with these parameter values
    (over the Defaults) in `region`; empty when CloudFormation would accept them."""
    evaluator = Evaluator(template, parameters=parameters, names=DeployedNames(account_id="000000000000",
                                                                               region=region))
    failures: List[str] = []
    for rule in (template.get("Rules") or {}).values():
        if "RuleCondition" in rule and not evaluator.condition(rule["RuleCondition"]):
            continue
        failures += [str(a.get("AssertDescription", "a rule's assertion failed"))
                     for a in rule.get("Assertions") or [] if not evaluator.condition(a["Assert"])]
    return failures
