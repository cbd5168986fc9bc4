"""The checklist `scripts/status` prints: each check holds (✓) or not (✗), with the evidence and, when it fails, the
fix. One place turns an AWS refusal into a failed check that names the missing permission, so that no check raises.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Final, Iterable, List, Literal, Optional

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import error_code, error_message

__all__ = [
    "PASS", "FAIL", "SKIP", "State", "Area", "AWS_ERRORS", "MISSING_CODES", "Check", "Checklist", "passed", "failed",
    "skipped", "verdict", "refused", "is_missing", "render_text", "render_json",
]

# A check holds, does not, or does not apply here (e.g. the function's checks in native mode).
State = Literal["pass", "fail", "skip"]
PASS: Final = "pass"
FAIL: Final = "fail"
SKIP: Final = "skip"
_MARKS: Dict[State, str] = {PASS: "✓", FAIL: "✗", SKIP: "–"}
# The parts of the chain, in the order a request meets them; the checklist prints one heading per area.
Area = Literal["distribution", "domains", "function", "mrap", "buckets and replication", "request path", "waf"]


@dataclass(frozen=True)
class Check:
    area: Area
    name: str
    state: State
    evidence: str = ""
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.state != FAIL


def passed(area: Area, name: str, evidence: str = "") -> Check:
    return Check(area, name, PASS, evidence)


def failed(area: Area, name: str, evidence: str, fix: str = "") -> Check:
    return Check(area, name, FAIL, evidence, fix)


def skipped(area: Area, name: str, evidence: str) -> Check:
    return Check(area, name, SKIP, evidence)


def verdict(area: Area, name: str, ok: bool, evidence: str, fix: str = "") -> Check:
    return passed(area, name, evidence) if ok else failed(area, name, evidence, fix)


def refused(area: Area, name: str, error: BaseException, permission: str) -> Check:
    """A failed check for an AWS call that was refused or could not be made: the code, the message, the permission.
    A resource that no longer exists is said as such: no permission would make it readable."""
    if isinstance(error, ClientError):
        code, message = error_code(error), error_message(error)
        evidence = code + (f" ({message})" if message and message != code else "")
        if is_missing(error):
            return failed(area, name, f"does not exist: {evidence}", MISSING_FIX)
    else:
        evidence = f"{type(error).__name__}: {error}"
    fix = f"the caller needs {permission}" if permission else ""
    if isinstance(error, ClientError) and not _is_denied(error_code(error)):
        fix = f"{fix}; AWS refused the call, see the code above" if fix else "AWS refused the call, see the code above"
    return failed(area, name, f"unable to check: {evidence}", fix)


# The codes AWS answers for a resource that does not exist (botocore's service models: CloudFront GetDistribution,
# GetCachePolicy, GetOriginRequestPolicy, GetKeyGroup; Lambda GetFunction and CloudWatch Logs; WAFV2 GetWebACL and
# GetIPSet; S3 and S3 Control's error code list for buckets and Multi-Region Access Points).
MISSING_CODES = frozenset({
    "NoSuchDistribution", "NoSuchCachePolicy", "NoSuchOriginRequestPolicy", "NoSuchResource",
    "ResourceNotFoundException", "WAFNonexistentItemException", "NoSuchBucket", "NoSuchMultiRegionAccessPoint",
})
MISSING_FIX = ("it was deleted outside the stack, or never created: deploy again (scripts/deploy), or remove what "
               "is left (scripts/teardown)")


def is_missing(error: BaseException) -> bool:
    return isinstance(error, ClientError) and error_code(error) in MISSING_CODES


_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
                 "403", "Forbidden"}
AWS_ERRORS = (ClientError, BotoCoreError)


def _is_denied(code: str) -> bool:
    # Services spell it differently: AccessDenied (S3), AccessDeniedException (Lambda), WAFAccessDeniedException.
    return code in _DENIED_CODES or "AccessDenied" in code


@dataclass
class Checklist:
    checks: List[Check] = field(default_factory=list)
    target: str = ""  # what was checked: the stack and distribution, or a base URL

    def add(self, checks: Iterable[Check]) -> None:
        self.checks.extend(checks)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def failures(self) -> List[Check]:
        return [check for check in self.checks if not check.ok]


def render_text(checklist: Checklist) -> str:
    lines: List[str] = []
    if checklist.target:
        lines.append(f"status of {checklist.target}")
    area: Optional[Area] = None
    for check in checklist.checks:
        if check.area != area:
            area = check.area
            lines.append("")
            lines.append(area)
        line = f"  {_MARKS[check.state]} {check.name}"
        if check.evidence:
            line += f": {check.evidence}"
        lines.append(line)
        if check.state == FAIL and check.fix:
            lines.append(f"      fix: {check.fix}")
    failures = checklist.failures()
    lines.append("")
    if failures:
        lines.append(f"{len(failures)} of {len(checklist.checks)} checks failed")
    else:
        lines.append(f"all {len(checklist.checks)} checks passed")
    return "\n".join(lines) + "\n"


def render_json(checklist: Checklist) -> str:
    document: Dict[str, Any] = {
        "target": checklist.target,
        "ok": checklist.ok,
        "checks": [dict(asdict(check), ok=check.ok) for check in checklist.checks],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
