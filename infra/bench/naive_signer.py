"""The naive baseline, not part of the function: what the 2023 AWS sample does per request. It builds a boto3
Session, reads its credentials and signs with botocore's CrtS3SigV4AsymAuth, all inside the handler."""
from __future__ import annotations

from typing import Any, Dict

import boto3
from botocore.awsrequest import AWSRequest
from botocore.crt.auth import CrtS3SigV4AsymAuth

__all__ = ["naive_handler"]


def naive_handler(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    request: Dict[str, Any] = event["Records"][0]["cf"]["request"]
    host = request["origin"]["custom"]["domainName"]
    session = boto3.Session()
    aws_request = AWSRequest(method=request["method"], url="https://" + host + request["uri"],
                             headers={"host": host, "x-amz-cf-id": event["Records"][0]["cf"]["config"]["requestId"]})
    CrtS3SigV4AsymAuth(session.get_credentials(), "s3", "*").add_auth(aws_request)
    for name, value in aws_request.headers.items():
        if name.lower() != "x-amz-cf-id":
            request["headers"][name.lower()] = [{"key": name, "value": value}]
    return request
