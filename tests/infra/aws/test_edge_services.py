"""The closing report of deploy: what it reads through CloudFront, WAF and the MRAP control plane (Stubber)."""
from __future__ import annotations

from typing import List

from .helpers import ACCOUNT, Clients


def test_the_report_names_what_the_web_acl_admits(aws: Clients) -> None:
    from infra.aws.edge_services import report
    acl_id = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
    arn = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/mrap-edge-allow/{acl_id}"
    rule = {"Name": "company-ranges", "Priority": 0, "Action": {"Allow": {}},
            "Statement": {"IPSetReferenceStatement": {
                "ARN": f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/ipset/mrap-edge-allowed/{acl_id}"}},
            "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                 "MetricName": "company-ranges"}}
    aws.stub("wafv2", "us-east-1").add_response("get_web_acl", {"WebACL": {
        "Name": "mrap-edge-allow", "Id": acl_id, "ARN": arn, "DefaultAction": {"Block": {}}, "Rules": [rule],
        "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                             "MetricName": "mrap-edge-allow"}}, "LockToken": "token"},
        {"Name": "mrap-edge-allow", "Scope": "CLOUDFRONT", "Id": acl_id})
    said: List[str] = []
    facts = report(aws, ACCOUNT, {"WebAclArn": arn}, said.append)
    assert facts == {"web_acl_default": "Block"}
    assert said == ["web ACL mrap-edge-allow: default Block, 1 rule(s)"]
    aws.stubs["wafv2"].assert_no_pending_responses()
