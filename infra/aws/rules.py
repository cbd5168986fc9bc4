"""The AWS account's rules the tools meet: every limit and behaviour a deploy step depends on, once, with its source.

The tools decide with these names, and the test model of the account (tests/infra/aws/account.py) enforces the same
names, so a rule changes in one place. Neither botocore's models nor moto know most of them: a test of the request a
tool sends, against this module, is the only thing that catches a breach before AWS does.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Tuple

__all__ = [
    "MAX_TEMPLATE_BODY_BYTES",
    "MAX_TEMPLATE_URL_BYTES",
    "TEMPLATE_TOO_LARGE_MESSAGE",
    "template_too_large_message",
    "JOB_HISTORY",
    "JOB_RUNNING_STATES",
    "JOB_FINAL_STATES",
    "MANIFEST_STATUSES",
    "EMPTY_MANIFEST_REASON",
    "EMPTY_MANIFEST_CODE",
    "manifest_statuses",
    "ROUTE_PROPAGATION",
    "ROUTE_CONTROL_REGIONS",
    "MRAP_API_REGION",
    "ACTIVE",
    "PASSIVE",
    "NEW_MRAP_ROUTES_EVERY_REGION",
    "MAX_RULE_ID",
    "MAX_JOB_DESCRIPTION",
    "ARCHIVED_CLASSES",
    "MAX_MANAGED_POLICY_CHARS",
]

# --- CloudFormation -------------------------------------------------------------------------------------------------
# "Template body size in a request: 51,200 bytes. To use a larger template body, separate your template into
# multiple templates by using, for example, nested stacks. Or upload the template to an Amazon S3 bucket."
# (CloudFormation User Guide, "CloudFormation quotas"; CreateChangeSet: "TemplateBody ... Length Constraints:
# Minimum length of 1" in botocore's model, the maximum only in the quota table.)
MAX_TEMPLATE_BODY_BYTES = 51_200
# "Template size in an S3 object: 1 MB" (same quota table): the limit for a template passed by TemplateURL.
MAX_TEMPLATE_URL_BYTES = 1_000_000
# The refusal CloudFormation answers for a body over the limit (ValidationError, HTTP 400).
TEMPLATE_TOO_LARGE_MESSAGE = ("1 validation error detected: Value '{body}' at 'templateBody' failed to satisfy "
                              "constraint: Member must have length less than or equal to 51200")


def template_too_large_message(body: str) -> str:
    """CloudFormation's message for a refused TemplateBody; it echoes the body, shortened here."""
    return TEMPLATE_TOO_LARGE_MESSAGE.format(body=body[:40] + "...")


# --- S3 Batch Operations (Batch Replication) ------------------------------------------------------------------------
# "ListJobs: Lists current S3 Batch Operations jobs as well as the jobs that have ended within the last 90 days"
# (S3 Control API reference, ListJobs). A job older than that is gone from every listing.
JOB_HISTORY = timedelta(days=90)
# "Job statuses" (S3 User Guide, batch-ops-job-status): Complete, Failed and Cancelled are final; a Suspended or
# Paused job is still a job that will copy (after confirmation or resumption), so it is running, not failed.
JOB_FINAL_STATES = ("Complete", "Failed", "Cancelled")
JOB_RUNNING_STATES = ("New", "Preparing", "Suspended", "Ready", "Active", "Pausing", "Paused", "Completing",
                      "Cancelling", "Failing")
# A generated manifest selects by replication status (S3 User Guide, s3-batch-replication-batch, "Filter"):
# NONE: never replicated; FAILED: replication failed; COMPLETED: "If you want to back-fill a destination bucket with
# objects that have been replicated to another destination, include COMPLETED"; REPLICA: the object is a replica.
# "Batch Operations attempts to perform existing object replication for every rule", so a COMPLETED object is copied
# again to every destination of the source's rules.
MANIFEST_STATUSES = ("NONE", "FAILED", "COMPLETED", "REPLICA")
# "Manifest generation found no keys matching the filter criteria" (replication-troubleshoot): the job fails.
EMPTY_MANIFEST_REASON = "Manifest generation found no keys matching the filter criteria"
EMPTY_MANIFEST_CODE = "ManifestGenerationFailed"  # the FailureCode a failed job reports for it


def manifest_statuses(holds_replicas: bool) -> Tuple[str, ...]:
    """The statuses a backfill selects: objects never replicated or failed, and COMPLETED ones, since a destination
    being filled may be new next to others that already have them (a Region added later, a bucket created again
    under an old name): without them the manifest can be empty and the job fails. REPLICA too when the source holds
    copies of another bucket's objects that the new destination needs as well."""
    statuses: Tuple[str, ...] = ("NONE", "FAILED", "COMPLETED")
    return (*statuses, "REPLICA") if holds_replicas else statuses


# --- S3 Multi-Region Access Points ----------------------------------------------------------------------------------
# "Changes to your routing configuration ... can take up to 2 minutes to take effect"
# (SubmitMultiRegionAccessPointRoutes, S3 Control API reference).
ROUTE_PROPAGATION = timedelta(minutes=2)
# "... routed to one of the following Regions: us-east-1, us-west-2, ap-southeast-2, ap-northeast-1, eu-west-1"
ROUTE_CONTROL_REGIONS = ("us-east-1", "us-west-2", "ap-southeast-2", "ap-northeast-1", "eu-west-1")
# "This action will always be routed to the US West (Oregon) Region" (GetMultiRegionAccessPoint, CreateMultiRegion-
# AccessPoint and the other MRAP management calls, S3 Control API reference).
MRAP_API_REGION = "us-west-2"
# TrafficDialPercentage: "0 indicates a passive state ... 100 indicates an active state".
ACTIVE = 100
PASSIVE = 0
# A new MRAP is created with every bucket active ("By default, all Regions are active"), so it routes viewers to a
# new, still empty bucket until its routes are changed.
NEW_MRAP_ROUTES_EVERY_REGION = ACTIVE

# --- S3 replication and jobs: field limits (botocore models) --------------------------------------------------------
MAX_RULE_ID = 255  # ReplicationRule.ID: "Up to 255 characters"
MAX_JOB_DESCRIPTION = 256  # CreateJob Description: "Length Constraints: Minimum length of 1. Maximum 256"

# --- S3 storage classes ---------------------------------------------------------------------------------------------
# Objects in S3 Glacier Flexible Retrieval or Glacier Deep Archive are not replicated by Batch Replication, and a
# GetObject of one answers 403 InvalidObjectState ("Object is archived and inaccessible until restored", GetObject
# API reference) until it is restored. Glacier Instant Retrieval (GLACIER_IR) is read like Standard: not archived.
ARCHIVED_CLASSES = {"GLACIER": "Glacier Flexible Retrieval", "DEEP_ARCHIVE": "Glacier Deep Archive"}

# --- IAM ------------------------------------------------------------------------------------------------------------
# IAM quotas: "Managed policy size: 6,144 characters" (white space not counted).
MAX_MANAGED_POLICY_CHARS = 6144
