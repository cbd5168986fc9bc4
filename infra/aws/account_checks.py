"""What a real account has that decides how deploy may touch it, read once before deploy writes anything: SSE-KMS
(encryption.py), bucket policies that deny (bucket_policies.py), and the replication role a bucket already uses
(adopted_role.py). Deploy calls `before_deploy` first and hands the facts to the steps that need them:
`stack_parameters` for the template, `after_stack` for what only the distribution's ARN can tell.

Options are read with getattr so that any options object with `buckets`, `stack_name`, `native`, `create_buckets`
(and optionally `kms_keys`, `adopt_replication_role`) will do.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from . import adopted_role, bucket_policies, encryption
from .clients import ClientFactory
from .errors import ToolError
from .replication import current_replication

__all__ = ["AccountFacts", "before_deploy", "stack_parameters", "after_stack"]

Say = Callable[[str], None]


@dataclass
class AccountFacts:
    kms: encryption.KmsPlan = field(default_factory=encryption.KmsPlan)
    encryptions: List[encryption.BucketEncryption] = field(default_factory=list)
    adopted_role: Optional[str] = None  # the user's replication role, with --adopt-replication-role


def _say_encryption(facts: AccountFacts, say: Say) -> None:
    for item in facts.encryptions:
        if item.uses_kms:
            name = item.bucket.name
            say(f"bucket {name}: SSE-KMS ({item.default_algorithm or 'no default'}, {item.kms_objects} of "
                f"{item.sampled} sampled objects); replicas written with {facts.kms.replica_keys[item.bucket.region]},"
                f" objects read with {', '.join(sorted(facts.kms.stored_keys[name]))}")


def _check_their_rules(clients: ClientFactory, facts: AccountFacts, buckets: List[Any]) -> None:
    """Without --create-buckets the user's own rules replicate: they must opt in to SSE-KMS objects too."""
    gaps = []
    for item in facts.encryptions:
        others = [b for b in buckets if b != item.bucket]
        gaps += encryption.kms_gaps(current_replication(clients, item.bucket), item, others)
    if gaps:
        raise ToolError("unable to use buckets whose replication leaves SSE-KMS objects out: " + "; ".join(gaps)
                        + "; the MRAP would answer 403 for them from the other Regions. Add to each rule "
                        "\"SourceSelectionCriteria\": {\"SseKmsEncryptedObjects\": {\"Status\": \"Enabled\"}} and "
                        "\"Destination\": {..., \"EncryptionConfiguration\": {\"ReplicaKmsKeyID\": <key ARN in the "
                        "destination's Region>}}, or pass --create-buckets")


def before_deploy(clients: ClientFactory, options: Any, account: str, say: Say) -> AccountFacts:
    """Read the buckets' encryption, policies and replication role; refuse (ToolError) what deploy cannot do
    safely, with the fix. Reads only: safe in a dry run."""
    buckets = list(options.buckets)
    facts = AccountFacts()
    if getattr(options, "adopt_replication_role", False):
        if not options.create_buckets:
            raise ToolError("unable to adopt a replication role without --create-buckets: mrap-edge writes no "
                            "replication rules then")
        facts.adopted_role = adopted_role.role_in_use(clients, buckets)
    # Policies first: a Deny that refuses our principals usually refuses the reads below too.
    bucket_policies.check_bucket_policies(clients, account, options.stack_name, buckets, options.native,
                                          options.create_buckets, say, replication_role=facts.adopted_role or "")
    facts.encryptions = [encryption.read_encryption(clients, b) for b in buckets]
    facts.kms = encryption.plan_kms(clients, facts.encryptions, getattr(options, "kms_keys", None) or {})
    _say_encryption(facts, say)
    for item in facts.encryptions:
        if item.unsampled:
            say(f"warning: unable to read the encryption of {item.bucket.name}'s objects ({item.unsampled}); only "
                "its default encryption is known")
    if facts.kms.active and not options.create_buckets:
        _check_their_rules(clients, facts, buckets)
    _check_aws_managed_keys(facts, options, say)
    return facts


def _check_aws_managed_keys(facts: AccountFacts, options: Any, say: Say) -> None:
    """CloudFront can never decrypt under an AWS managed key (aws/s3): its key policy cannot be changed. Native mode
    reads every bucket through CloudFront: refuse. The function's mode reads only the failover bucket so: warn."""
    read_by_cloudfront = list(options.buckets) if options.native else list(options.buckets)[:1]
    managed = [(b.name, k) for b in read_by_cloudfront for k in sorted(facts.kms.stored_keys.get(b.name, ()))
               if k in facts.kms.aws_managed]
    if not managed:
        return
    listed = ", ".join(f"{name} ({key})" for name, key in managed)
    if options.native:
        raise ToolError(f"unable to use native mode: objects of {listed} are under an AWS managed key, whose policy "
                        "cannot let CloudFront decrypt; use a customer managed key, or deploy without --native")
    say(f"warning: objects of {listed} are under an AWS managed key: CloudFront's failover reads of them will be "
        "refused (its key policy cannot let CloudFront decrypt); the function's reads through the MRAP work")


def stack_parameters(facts: AccountFacts) -> Dict[str, str]:
    """The template parameters the account decides: the keys the function role may decrypt with."""
    keys = encryption.function_key_arns(facts.kms)
    return {"KmsKeyArns": ",".join(keys)} if keys else {}


def after_stack(clients: ClientFactory, facts: AccountFacts, options: Any, distribution_arn: str,
                say: Say) -> List[str]:
    """Once the distribution exists: the key-policy statements CloudFront still needs (native mode: every bucket;
    otherwise the failover bucket it reads directly), printed as warnings with the statement to add."""
    read_by_cloudfront = list(options.buckets) if options.native else list(options.buckets)[:1]
    problems = encryption.cloudfront_key_problems(clients, facts.kms, read_by_cloudfront, distribution_arn)
    for problem in problems:
        say(f"warning: {problem}")
    return problems
