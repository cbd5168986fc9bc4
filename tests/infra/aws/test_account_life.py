"""The seed user's months on the account model, each scenario ending with the account's state: buckets, rules, roles,
jobs, routes, stack. London (eu-west-2) is theirs, versioned and full; Ohio (us-east-2) is made by deploy.

Hook for the checks of encryption, bucket policies and archived objects: each scenario's London is made by
`_brownfield_london`; a scenario of those belongs next to the brownfield one, with London's SSE-KMS objects, its
Deny on aws:SourceVpce and its archived objects added there."""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Dict, List

import pytest

from infra.aws import rules
from infra.aws import routes as mrap_routes
from infra.aws import teardown
from infra.cli import deploy as deploy_cli
from infra.cli import routes as routes_cli
from infra.cli.common import EXIT_INTERRUPTED, EXIT_OK

from .account import STACK_UPDATE, Account
from .helpers import (ACCOUNT, BUCKETS, DIST_ID, LONDON, MRAP_ARN, MRAP_ARN_FORMAT, OHIO,
                      distribution_response, make_bucket, rules_of, run_deploy)

TOKYO = "mrap-edge-demo-ap-northeast-1"
THEIR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/images-backup-replication"
TO_BACKUP = {"ID": "to-backup", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
             "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": {"Bucket": "arn:aws:s3:::images-backup"}}
WRITES = ("s3.Put", "s3.Create", "s3.Delete", "iam.", "s3control.", "cloudformation.")


def _brownfield_london(aws: Account, objects: int = 5) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=objects)


def _deploy(aws: Account, package: Path, template: Path, *extra: str, buckets: str = BUCKETS) -> List[str]:
    aws.stub("cloudfront").add_response("get_distribution", distribution_response(), {"Id": DIST_ID})
    code, said = run_deploy(aws, package, template, "--create-buckets", *extra, buckets=buckets)
    assert code == 0, "\n".join(said)
    return said


def _routes(aws: Account, mrap: str = MRAP_ARN) -> Dict[str, int]:
    return {r.region: r.traffic_dial for r in mrap_routes.get_routes(aws, ACCOUNT, mrap)}


def _writes(aws: Account, since: int = 0) -> List[str]:
    return [name for _, name in aws.calls[since:] if name.startswith(WRITES)]


def _bucket_names(aws: Account) -> List[str]:
    return sorted(b["Name"] for b in aws("s3", "us-east-1").list_buckets()["Buckets"])


def test_a_first_deploy_next_to_a_users_own_replication_is_refused_before_anything_is_written(
        aws: Account, package: Path, template: Path) -> None:
    # GIVEN London replicating to the user's backup bucket with their own role, under an id that starts with "to-"
    _brownfield_london(aws)
    aws("s3", "eu-west-2").put_bucket_replication(Bucket=LONDON, ReplicationConfiguration={
        "Role": THEIR_ROLE, "Rules": [TO_BACKUP]})
    before = len(aws.calls)
    # WHEN deploying with --create-buckets
    code, said = run_deploy(aws, package, template, "--create-buckets")
    # THEN deploy refuses, naming their role and rule, before any change set, bucket, role, rule, job or route
    assert code == 1 and f"replicates with role {THEIR_ROLE}" in said[-1] and "to-backup" in said[-1]
    assert _writes(aws, before) == []
    # AND the account is as it was: their rule, no Ohio, no stack, no job
    assert rules_of(aws, LONDON, "eu-west-2") == [TO_BACKUP]
    assert _bucket_names(aws) == [LONDON] and aws.jobs == [] and aws.template_bodies == []


def test_the_seed_deploy_sends_a_template_cloudformation_takes_and_sets_the_new_mraps_routes_before_the_stack_ends(
        aws: Account, package: Path, template: Path) -> None:
    _brownfield_london(aws)
    before = len(aws.calls)
    said = _deploy(aws, package, template)
    # The body sent is within CloudFormation's limit
    assert all(len(body.encode()) <= rules.MAX_TEMPLATE_BODY_BYTES for body in aws.template_bodies)
    # The change set was validated before the first bucket, role, rule or job was written
    writes = _writes(aws, before)
    assert writes[0] == "cloudformation.CreateChangeSet", writes
    assert writes.index("cloudformation.ExecuteChangeSet") > writes.index("s3control.CreateJob")
    # The new MRAP's routes were submitted while the stack was still being created, and "in effect" came after
    # the documented propagation time
    (executed,) = [when for when, name in aws.calls if name == "cloudformation.ExecuteChangeSet"]
    (submitted,) = [when for when, name in aws.calls if name == "s3control.SubmitMultiRegionAccessPointRoutes"]
    assert submitted < executed + STACK_UPDATE
    assert said.index("routes: in effect") > said.index(next(line for line in said if "CREATE_COMPLETE" in line))
    assert _routes(aws) == {"eu-west-2": 100, "us-east-2": 0}


def test_a_refused_change_set_leaves_the_account_untouched(aws: Account, package: Path, template: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a deploy interrupted with Ctrl-C while its stack was being created: one line, exit 130
    _brownfield_london(aws)

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    argv = ["--buckets", BUCKETS, "--zip", str(package), "--template", str(template), "--create-buckets", "--yes"]
    assert deploy_cli.main(argv, clients=aws, sleep=interrupt) == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().startswith("deploy: interrupted; what was started goes on in AWS")
    # WHEN deploying again at once, while CloudFormation is still creating the stack
    before = len(aws.calls)
    code, said = run_deploy(aws, package, template, "--create-buckets", "--memory", "1024")
    # THEN CloudFormation refuses the change set, and nothing else is written
    assert code == 1 and "is in CREATE_IN_PROGRESS state and can not be updated" in said[-1], said[-1]
    assert said[-1].endswith("nothing was changed") and _writes(aws, before) == []


def test_teardown_after_a_deploy_that_never_made_its_stack(aws: Account, package: Path, template: Path,
                                                           tmp_path: Path) -> None:
    # GIVEN what an earlier version's deploy left when CloudFormation refused its template: Ohio, the roles, the
    # rules both ways and a paid backfill job, and no stack
    _brownfield_london(aws)
    from infra.aws import backfill, replication
    from infra.aws.buckets import ensure_bucket
    from infra.aws.regions import parse_buckets

    buckets = parse_buckets(BUCKETS)
    ensure_bucket(aws, buckets[1], lambda _: None, versioned=True)
    role = replication.ensure_replication_role(aws, ACCOUNT, "mrap-edge", buckets, lambda _: None)
    replication.put_replication(aws, "mrap-edge", buckets, role, rtc=False, say=lambda _: None)
    batch_role, _ = backfill.ensure_batch_role(aws, ACCOUNT, "mrap-edge", buckets, lambda _: None)
    backfill.start_job(aws, ACCOUNT, "mrap-edge", buckets[0], buckets[1:], batch_role, lambda _: None)
    aws.clock.advance(datetime.timedelta(hours=2))
    # WHEN tearing down with --delete-buckets
    aws.stub("cloudfront").add_response("list_origin_access_controls", {"OriginAccessControlList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}}, {})
    said: List[str] = []
    teardown.teardown(aws, "mrap-edge", delete_buckets=True, say=said.append, sleep=aws.clock.sleep)
    # THEN London no longer replicates to Ohio, Ohio and both roles are gone, London and its objects stay
    assert _bucket_names(aws) == [LONDON]
    with pytest.raises(aws("s3", "eu-west-2").exceptions.ClientError):
        aws("s3", "eu-west-2").get_bucket_replication(Bucket=LONDON)
    assert aws("iam", "us-east-1").list_roles()["Roles"] == []
    assert aws("s3", "eu-west-2").list_objects_v2(Bucket=LONDON)["KeyCount"] == 5


def test_a_routine_redeploy_keeps_the_operators_failover(aws: Account, package: Path, template: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the seed case deployed and backfilled, both Regions active
    _brownfield_london(aws)
    _deploy(aws, package, template)
    aws.clock.advance(datetime.timedelta(hours=2))
    _deploy(aws, package, template)
    assert _routes(aws) == {"eu-west-2": 100, "us-east-2": 100}
    # AND an operator's failover drill: Ohio made passive with scripts/routes
    assert routes_cli.main(["--passive", "us-east-2", "--yes"], clients=aws, sleep=aws.clock.sleep) == EXIT_OK
    aws.clock.advance(datetime.timedelta(days=3))
    # WHEN a routine deploy changes the memory
    said = _deploy(aws, package, template, "--memory", "1024")
    # THEN Ohio stays passive, and deploy says why and how to change it
    assert _routes(aws) == {"eu-west-2": 100, "us-east-2": 0}
    assert any(line.startswith("warning: us-east-2") and "scripts/routes --activate us-east-2" in line
               for line in said), said
    assert "routes: no change" in said


def test_adding_a_region_through_a_new_mrap_fills_it_from_the_bucket_that_holds_everything(
        aws: Account, package: Path, template: Path) -> None:
    # GIVEN the seed case deployed and backfilled
    _brownfield_london(aws)
    _deploy(aws, package, template)
    aws.clock.advance(datetime.timedelta(hours=2))
    _deploy(aws, package, template)
    aws.clock.advance(datetime.timedelta(days=40))
    # AND an image uploaded in Houston since, replicated live to London
    aws.write(OHIO, "images/from-houston.jpg", b"\xff\xd8 houston")
    # WHEN Tokyo is added through a new MRAP (an MRAP's Regions are fixed)
    three = f"{BUCKETS},{TOKYO}@ap-northeast-1"
    said = _deploy(aws, package, template, "--mrap-name", "mrap-edge-3", buckets=three)
    new_mrap = MRAP_ARN_FORMAT.format(account=ACCOUNT, name="mrap-edge-3")
    # THEN one job copies London, which holds everything, with the objects it already replicated (COMPLETED)
    london_jobs = [job for job in aws.jobs if job.source == LONDON]
    assert len(london_jobs) == 2 and len(aws.jobs) == 2
    assert len(london_jobs[-1].manifest) >= 5 and TOKYO in london_jobs[-1].destinations
    # AND the new MRAP's routes made Tokyo passive as soon as the MRAP existed
    assert _routes(aws, new_mrap) == {"eu-west-2": 100, "us-east-2": 100, "ap-northeast-1": 0}
    assert any("MRAP mrap-edge-3 exists: setting its routes now" in line for line in said)
    # WHEN the job has completed and deploy runs again THEN Tokyo holds London's objects and is active
    aws.clock.advance(datetime.timedelta(hours=2))
    _deploy(aws, package, template, "--mrap-name", "mrap-edge-3", buckets=three)
    tokyo = [o["Key"] for o in aws("s3", "ap-northeast-1").list_objects_v2(Bucket=TOKYO)["Contents"]]
    assert len(tokyo) >= 6 and "images/from-houston.jpg" in tokyo  # London's replica of it is copied too
    assert _routes(aws, new_mrap) == {"eu-west-2": 100, "us-east-2": 100, "ap-northeast-1": 100}


def test_a_dry_run_before_adding_a_region_prices_the_copy_again(aws: Account, package: Path,
                                                                template: Path) -> None:
    _brownfield_london(aws)
    _deploy(aws, package, template)
    aws.clock.advance(datetime.timedelta(hours=2))
    _deploy(aws, package, template)
    before = len(aws.calls)
    code, said = run_deploy(aws, package, template, "--create-buckets", "--dry-run", "--mrap-name", "mrap-edge-3",
                            buckets=f"{BUCKETS},{TOKYO}@ap-northeast-1")
    assert code == 0, said
    # Ohio's own objects reach London as replicas: those are selected too (REPLICA)
    assert f"would start a backfill job (S3 Batch Replication) {LONDON} -> {TOKYO} in eu-west-2, objects NONE, " \
           "FAILED, COMPLETED, REPLICA" in said, "\n".join(said)
    assert any(f"of the 6 object versions of {LONDON}, S3 copies those it already replicated again, to every "
               "destination" in line for line in said), said
    assert _writes(aws, before) == []


def test_teardown_and_redeploy_within_90_days_does_not_trust_the_old_job(aws: Account, package: Path,
                                                                         template: Path) -> None:
    # GIVEN the seed case deployed and backfilled, then torn down with its buckets
    _brownfield_london(aws)
    _deploy(aws, package, template)
    aws.clock.advance(datetime.timedelta(hours=2))
    _deploy(aws, package, template)
    aws.stub("cloudfront").add_response("list_origin_access_controls", {"OriginAccessControlList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}}, {})
    teardown.teardown(aws, "mrap-edge", delete_buckets=True, say=lambda _: None, sleep=aws.clock.sleep)
    assert OHIO not in _bucket_names(aws)
    # WHEN the same names are deployed again 30 days later (ListJobs still lists the old, completed job)
    aws.clock.advance(datetime.timedelta(days=30))
    assert [job.status(aws.clock.now) for job in aws.jobs] == ["Complete"]
    _deploy(aws, package, template)
    # THEN a new job copies London into the new Ohio, and Ohio stays passive until it is done
    assert len(aws.jobs) == 2 and aws.jobs[-1].created == max(job.created for job in aws.jobs)
    assert _routes(aws) == {"eu-west-2": 100, "us-east-2": 0}
    aws.clock.advance(datetime.timedelta(hours=2))
    said = _deploy(aws, package, template)
    assert _routes(aws) == {"eu-west-2": 100, "us-east-2": 100}, "\n".join(said)
    assert aws("s3", "us-east-2").list_objects_v2(Bucket=OHIO)["KeyCount"] >= 5, [
        (j.source, j.destinations, len(j.manifest), j.status(aws.clock.now)) for j in aws.jobs]


