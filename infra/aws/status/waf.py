"""AWS WAF: when the distribution has a web ACL that admits only an allow-list of address ranges, whether this
shell's public address is inside it (if not, every request from here gets CloudFront's 403 "Request blocked")."""
from __future__ import annotations

import ipaddress
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..clients import HOME_REGION, ClientFactory
from .checklist import AWS_ERRORS, Area, Check, failed, passed, refused, skipped

__all__ = ["waf_checks", "public_address", "CHECKIP_URL"]

AREA: Area = "waf"
CHECKIP_URL = "https://checkip.amazonaws.com/"
AddressSource = Callable[[], str]


def public_address(url: str = CHECKIP_URL, timeout: float = 5.0) -> str:
    """This shell's public address as AWS sees it."""
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - a fixed https URL
        return bytes(answer.read(100)).decode("ascii").strip()


def _parse_arn(arn: str) -> Tuple[str, str]:
    # arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id> (the same form for ipset)
    name, item_id = arn.split("/")[-2:]
    return name, item_id


def waf_checks(clients: ClientFactory, web_acl_arn: str, address: AddressSource) -> List[Check]:
    name = "this shell's address is allowed"
    if not web_acl_arn:
        return [skipped(AREA, name, "the distribution has no web ACL: every viewer is admitted")]
    if not web_acl_arn.startswith("arn:aws:wafv2:"):
        return [skipped(AREA, name, f"web ACL {web_acl_arn} is WAF Classic: not checked")]
    wafv2 = clients("wafv2", HOME_REGION)
    acl_name, acl_id = _parse_arn(web_acl_arn)
    try:
        acl = wafv2.get_web_acl(Name=acl_name, Scope="CLOUDFRONT", Id=acl_id)["WebACL"]
    except AWS_ERRORS as error:
        return [refused(AREA, f"web ACL {acl_name}", error, "wafv2:GetWebACL")]
    allow_sets: List[Dict[str, Any]] = []
    for rule in acl.get("Rules", []):
        reference = (rule.get("Statement") or {}).get("IPSetReferenceStatement")
        if reference and "Allow" in (rule.get("Action") or {}):
            allow_sets.append(reference)
    default_blocks = "Block" in (acl.get("DefaultAction") or {})
    if not default_blocks or not allow_sets:
        return [skipped(AREA, name, f"web ACL {acl_name} is not an address allow-list (default "
                                    f"{'Block' if default_blocks else 'Allow'}): not evaluated")]
    ranges: List[str] = []
    for reference in allow_sets:
        set_name, set_id = _parse_arn(reference["ARN"])
        try:
            ranges += wafv2.get_ip_set(Name=set_name, Scope="CLOUDFRONT", Id=set_id)["IPSet"].get("Addresses", [])
        except AWS_ERRORS as error:
            return [refused(AREA, f"IP set {set_name}", error, "wafv2:GetIPSet")]
    try:
        mine = address()
        here = ipaddress.ip_address(mine)
    except (OSError, ValueError) as error:
        return [failed(AREA, name, f"unable to learn this shell's public address ({error}); allow-list "
                                   f"{', '.join(ranges)}", "pass --my-ip ADDRESS")]
    inside = _containing(here, ranges)
    if inside:
        return [passed(AREA, name, f"{mine} is inside {inside} (web ACL {acl_name})")]
    return [failed(AREA, name, f"{mine} is outside the allow-list {', '.join(ranges) or '(empty)'} of web ACL "
                               f"{acl_name}: requests from here get 403 Request blocked",
                   "run from inside a listed range, or add this range: scripts/deploy --allowed-cidrs ...")]


def _containing(here: Any, ranges: List[str]) -> Optional[str]:
    for text in ranges:
        try:
            if here in ipaddress.ip_network(text, strict=False):
                return text
        except ValueError:
            continue
    return None
