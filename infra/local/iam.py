"""A small IAM policy evaluator for the local stack: exactly what the project's policies use, and nothing more.

Supported, as IAM evaluates it ("Policy evaluation logic", IAM User Guide):
- `Effect: Allow` and `Effect: Deny`: "an explicit deny in any policy overrides any allows"; otherwise a request
  is allowed when any statement of the policies given allows it, and implicitly denied when none does;
- `Action` with `*` and `?` wildcards, matched case-insensitively;
- `Resource` with `*` and `?` wildcards, matched case-sensitively (an ARN's `.` is a plain character);
- `Principal` as `"*"`, `{"AWS": ...}` or `{"Service": ...}` (a string or a list); none in identity policies. An
  account as `{"AWS": "arn:aws:iam::<account>:root"}` (or the bare account id) stands for every principal of that
  account, as in AWS's own Multi-Region Access Point policy example;
- `Condition` with `StringEquals` and `StringNotEquals`: condition key names case-insensitive, values
  case-sensitive, a list of values matching any, several keys all required. A key absent from the request: "the
  condition returns false", so `StringEquals` never matches it and `StringNotEquals` always does (the negated
  operator of a missing key), which is what a Deny on `aws:SourceVpce` relies on.

Anything else (`NotAction`, `NotResource`, `NotPrincipal`, other condition operators, policy variables) is refused
with `UnsupportedPolicy` when the policy is read: the evaluator never silently allows what IAM might not.

Why not moto's `moto.iam.access_control.IAMPolicy`: it treats a statement whose condition key is missing from the
request as matching, ignores condition operators it does not know, turns an Allow whose condition fails into a
Deny, reads ARN patterns as regular expressions (`.` matches any character) and cannot match a `Service`
principal; each is kinder (or stranger) than IAM in the way the local stack must not be. policyuniverse (the other
Python library that parses IAM policies) analyses policies (which principals, which actions) but does not decide
whether a given request is allowed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, List, Literal, Mapping, Optional, Tuple

__all__ = ["UnsupportedPolicy", "Principal", "Request", "Statement", "Policy", "Decision", "decide", "allowed"]

Decision = Literal["allow", "explicit-deny", "implicit-deny"]
PrincipalKind = Literal["AWS", "Service"]
Effect = Literal["Allow", "Deny"]
_OPERATORS = ("StringEquals", "StringNotEquals")
_ACCOUNT_ROOT = re.compile(r"arn:aws:iam::(\d{12}):root|(\d{12})")
_ARN_ACCOUNT = re.compile(r"arn:aws:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):")


class UnsupportedPolicy(ValueError):
    """A policy uses an element this evaluator does not implement."""


@dataclass(frozen=True)
class Principal:
    """Who makes the request: kind "AWS" (a role or user ARN) or "Service" (e.g. cloudfront.amazonaws.com)."""

    kind: PrincipalKind
    identifier: str


@dataclass(frozen=True)
class Request:
    action: str  # e.g. s3:GetObject
    resource: str  # an ARN
    principal: Optional[Principal] = None
    context: Mapping[str, str] = field(default_factory=dict)  # condition keys, e.g. aws:SourceArn

    def context_value(self, key: str) -> Optional[str]:
        wanted = key.lower()
        for name, value in self.context.items():
            if name.lower() == wanted:
                return value
        return None


def _values(node: Any, element: str) -> Tuple[str, ...]:
    items = node if isinstance(node, list) else [node]
    if not items or not all(isinstance(item, str) for item in items):
        raise UnsupportedPolicy(f"{element} must be a string or a list of strings: {node!r}")
    for item in items:
        if "${" in item:
            raise UnsupportedPolicy(f"policy variables are not supported: {item}")
    return tuple(items)


def _pattern(text: str, ignore_case: bool) -> "re.Pattern[str]":
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: Tuple["re.Pattern[str]", ...]
    resources: Tuple["re.Pattern[str]", ...]
    principals: Optional[Tuple[Tuple[str, str], ...]]  # None: no Principal element (identity policy)
    conditions: Tuple[Tuple[str, str, Tuple[str, ...]], ...]  # (operator, key, values)
    effect: Effect = "Allow"

    @classmethod
    def parse(cls, node: Mapping[str, Any]) -> "Statement":
        if not isinstance(node, Mapping):
            raise UnsupportedPolicy(f"a statement must be an object: {node!r}")
        sid = str(node.get("Sid", ""))
        for element in ("NotAction", "NotResource", "NotPrincipal"):
            if element in node:
                raise UnsupportedPolicy(f"statement {sid or '(no Sid)'}: {element} is not supported")
        effect = node.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise UnsupportedPolicy(f"statement {sid or '(no Sid)'}: Effect must be Allow or Deny, not {effect!r}")
        if "Action" not in node or "Resource" not in node:
            raise UnsupportedPolicy(f"statement {sid or '(no Sid)'}: Action and Resource are required")
        actions = tuple(_pattern(a, ignore_case=True) for a in _values(node["Action"], "Action"))
        resources = tuple(_pattern(r, ignore_case=False) for r in _values(node["Resource"], "Resource"))
        principals = cls._principals(sid, node["Principal"]) if "Principal" in node else None
        conditions: List[Tuple[str, str, Tuple[str, ...]]] = []
        for operator, block in (node.get("Condition") or {}).items():
            if operator not in _OPERATORS:
                raise UnsupportedPolicy(f"statement {sid or '(no Sid)'}: condition operator {operator} "
                                        f"is not supported (only {', '.join(_OPERATORS)})")
            if not isinstance(block, Mapping):
                raise UnsupportedPolicy(f"statement {sid or '(no Sid)'}: {operator} must map keys to values")
            for key, value in block.items():
                conditions.append((operator, str(key).lower(), _values(value, f"condition {key}")))
        return cls(sid, actions, resources, principals, tuple(conditions), effect)

    @staticmethod
    def _principals(sid: str, node: Any) -> Tuple[Tuple[str, str], ...]:
        if node == "*":
            return (("*", "*"),)
        if not isinstance(node, Mapping):
            raise UnsupportedPolicy(f"statement {sid or '(no Sid)'}: Principal must be \"*\" or an object")
        out: List[Tuple[str, str]] = []
        for kind, value in node.items():
            if kind not in ("AWS", "Service"):
                raise UnsupportedPolicy(f"statement {sid or '(no Sid)'}: principal type {kind} is not supported")
            out += [(kind, item) for item in _values(value, f"Principal {kind}")]
        return tuple(out)

    def applies(self, request: Request) -> bool:
        """Whether the statement's action, resource, principal and conditions all match the request."""
        if not any(p.fullmatch(request.action) for p in self.actions):
            return False
        if not any(p.fullmatch(request.resource) for p in self.resources):
            return False
        if self.principals is not None and not self._principal_matches(request.principal):
            return False
        for operator, key, expected in self.conditions:
            actual = request.context_value(key)
            equal = actual is not None and actual in expected
            if equal != (operator == "StringEquals"):
                return False
        return True

    def allows(self, request: Request) -> bool:
        return self.effect == "Allow" and self.applies(request)

    def _principal_matches(self, principal: Optional[Principal]) -> bool:
        if principal is None:
            return False
        for kind, identifier in self.principals or ():
            if kind == "*" or (kind == "AWS" and identifier == "*"):
                return True
            if kind == principal.kind and identifier == principal.identifier:
                return True
            if kind == "AWS" == principal.kind and _same_account(identifier, principal.identifier):
                return True
        return False


@dataclass(frozen=True)
class Policy:
    name: str
    statements: Tuple[Statement, ...]

    @classmethod
    def parse(cls, name: str, document: Mapping[str, Any]) -> "Policy":
        if not isinstance(document, Mapping):
            raise UnsupportedPolicy(f"policy {name}: a policy document must be an object")
        statements = document.get("Statement")
        if isinstance(statements, Mapping):
            statements = [statements]
        if not isinstance(statements, list):
            raise UnsupportedPolicy(f"policy {name}: Statement must be an object or a list")
        try:
            return cls(name, tuple(Statement.parse(s) for s in statements))
        except UnsupportedPolicy as error:
            raise UnsupportedPolicy(f"policy {name}: {error}") from None

    def allowing(self, request: Request) -> Optional[Statement]:
        return next((s for s in self.statements if s.allows(request)), None)


def _same_account(identifier: str, principal_arn: str) -> bool:
    """An account principal (`arn:aws:iam::<account>:root` or `<account>`) names every principal of the account."""
    account = _ACCOUNT_ROOT.fullmatch(identifier)
    arn = _ARN_ACCOUNT.match(principal_arn)
    return account is not None and arn is not None and (account.group(1) or account.group(2)) == arn.group(1)


def decide(policies: Iterable[Policy], request: Request) -> Decision:
    """IAM's decision over the policies: an explicit Deny anywhere wins, then any Allow, else an implicit deny."""
    statements = [s for policy in policies for s in policy.statements if s.applies(request)]
    if any(s.effect == "Deny" for s in statements):
        return "explicit-deny"
    return "allow" if statements else "implicit-deny"


def allowed(policies: Iterable[Policy], request: Request) -> bool:
    """True when the policies allow the request: an Allow and no explicit Deny."""
    return decide(policies, request) == "allow"

