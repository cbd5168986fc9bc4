"""The MRAP checks and the backfill behind its routes (botocore Stubber: moto has neither the MRAP calls nor S3 Batch
Operations): status, Block Public Access, the policy's grant, and each route explained against the backfill."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import pytest

from infra.aws.status import backfill, mrap
from infra.aws.status.backfill import BackfillJob
from infra.aws.status.checklist import FAIL, PASS, Check
from tests.infra.aws.status.helpers import (
    ACCOUNT, LONDON, MRAP_ARN, MRAP_NAME, OHIO, ROLE_ARN, AwsWorld, backfill_job, check, facts, healthy_mrap,
    healthy_mrap_policy, list_jobs_answer, list_jobs_params, mrap_policy_document, routes_answer,
)

MRAP_PARAMS = {"AccountId": ACCOUNT, "Name": MRAP_NAME}


def stub_mrap(world: AwsWorld, point: Optional[Dict[str, Any]] = None, policy: Optional[Dict[str, Any]] = None,
              london: int = 100, ohio: int = 100) -> None:
    api = world.stub("s3control", "us-west-2")
    api.add_response("get_multi_region_access_point", point or healthy_mrap(), MRAP_PARAMS)
    api.add_response("get_multi_region_access_point_policy", policy or healthy_mrap_policy(), MRAP_PARAMS)
    world.stub("s3control", "us-east-1").add_response("get_multi_region_access_point_routes",
                                                       routes_answer(london, ohio),
                                                       {"AccountId": ACCOUNT, "Mrap": MRAP_ARN})


def job(status: str, total: int = 52_000, succeeded: int = 0, failed: int = 0, source=LONDON) -> BackfillJob:
    found = backfill_job("8d3b5a1f-0c7e-4d0e-a0f1-b2c3d4e5f601", source, status, total, succeeded, failed)
    progress = found["ProgressSummary"]
    return BackfillJob(found["JobId"], source, status, total, progress["NumberOfTasksSucceeded"],
                       progress["NumberOfTasksFailed"], found["CreationTime"], 600,
                       report="s3://mrap-edge-reports-eu-west-2/backfill/images-london")


def run(world: AwsWorld, jobs: Optional[Sequence[BackfillJob]] = (), **stubbed: Any) -> List[Check]:
    stub_mrap(world, **stubbed)
    checks = mrap.mrap_checks(world, facts(), ROLE_ARN, jobs, "" if jobs is not None else "AccessDenied")
    world.assert_all_called()
    return checks


def test_a_healthy_mrap_passes() -> None:
    checks = run(AwsWorld())
    assert [(c.name, c.state) for c in checks] == [
        ("MRAP mrap-edge status", PASS), ("Block Public Access", PASS),
        ("MRAP policy grants the function role s3:GetObject and s3:GetObjectVersion", PASS),
        ("route eu-west-2 (images-london)", PASS), ("route us-east-2 (images-ohio)", PASS)]


@pytest.mark.parametrize("stubbed, name, evidence", [
    ({"point": healthy_mrap(status="INCONSISTENT_ACROSS_REGIONS")}, "MRAP mrap-edge status",
     "INCONSISTENT_ACROSS_REGIONS"),
    ({"point": healthy_mrap(block_public=False)}, "Block Public Access", "off: BlockPublicPolicy"),
    ({"policy": healthy_mrap_policy(mrap_policy_document(actions=("s3:GetObject",)))}, "MRAP policy",
     "no Allow of s3:GetObjectVersion"),
    ({"policy": healthy_mrap_policy(mrap_policy_document(principal="arn:aws:iam::123456789012:role/other"))},
     "MRAP policy", "no Allow of s3:GetObject, s3:GetObjectVersion"),
], ids=["inconsistent", "public access allowed", "no version reads", "another role"])
def test_each_broken_mrap_setting_fails(stubbed: Dict[str, Any], name: str, evidence: str) -> None:
    found = check(run(AwsWorld(), **stubbed), name)
    assert found.state == FAIL and evidence in found.evidence and found.fix


def test_wildcards_and_the_account_principal_count_as_grants() -> None:
    document = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                               "Action": "s3:Get*", "Resource": f"{MRAP_ARN}/object/*"}]}
    assert mrap.policy_grants(document, ROLE_ARN, "s3:GetObjectVersion", f"{MRAP_ARN}/object/*")
    document["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "s3:GetObjectVersion",
                                  "Resource": "*"})
    assert not mrap.policy_grants(document, ROLE_ARN, "s3:GetObjectVersion", f"{MRAP_ARN}/object/*")


def test_a_refused_mrap_read_names_the_permission() -> None:
    world = AwsWorld()
    api = world.stub("s3control", "us-west-2")
    api.add_client_error("get_multi_region_access_point", service_error_code="AccessDenied",
                         service_message="Access Denied", http_status_code=403)
    api.add_response("get_multi_region_access_point_policy", healthy_mrap_policy(), MRAP_PARAMS)
    world.stub("s3control", "us-east-1").add_client_error(
        "get_multi_region_access_point_routes", service_error_code="AccessDenied", service_message="Access Denied",
        http_status_code=403)
    checks = mrap.mrap_checks(world, facts(), ROLE_ARN, [], "")
    assert check(checks, "MRAP mrap-edge").fix == "the caller needs s3:GetMultiRegionAccessPoint"
    assert "s3:GetMultiRegionAccessPointRoutes" in check(checks, "routes").evidence


def test_a_deleted_mrap_is_one_line_saying_it_is_missing() -> None:
    world = AwsWorld()
    world.stub("s3control", "us-west-2").add_client_error(
        "get_multi_region_access_point", service_error_code="NoSuchMultiRegionAccessPoint",
        service_message="The specified Multi-Region Access Point does not exist", http_status_code=404,
        expected_params=MRAP_PARAMS)
    checks = mrap.mrap_checks(world, facts(), ROLE_ARN, [], "")
    world.assert_all_called()
    assert [(c.name, c.state, c.evidence) for c in checks] == [
        ("MRAP mrap-edge", FAIL, "does not exist: NoSuchMultiRegionAccessPoint (The specified Multi-Region Access "
                                 "Point does not exist)")]
    assert "permission" not in checks[0].fix and "needs" not in checks[0].fix
    assert checks[0].fix.startswith("it was deleted outside the stack, or never created")


# --- routes and the backfill ----------------------------------------------------------------------------------------


def routes_of(world: AwsWorld, london: int, ohio: int, jobs: Optional[Sequence[BackfillJob]]) -> Dict[str, Check]:
    world.stub("s3control", "us-east-1").add_response("get_multi_region_access_point_routes",
                                                       routes_answer(london, ohio),
                                                       {"AccountId": ACCOUNT, "Mrap": MRAP_ARN})
    checks = mrap.route_checks(world, facts(), jobs, "AccessDenied (Access Denied)")
    return {c.name.split()[1]: c for c in checks}


def test_a_region_held_passive_while_its_backfill_runs_is_explained() -> None:
    ohio = routes_of(AwsWorld(), 100, 0, [job("Active", succeeded=20_800)])["us-east-2"]
    assert ohio.state == PASS
    assert ohio.evidence == ("passive while backfill job 8d3b5a1f-0c7e-4d0e-a0f1-b2c3d4e5f601 from images-london "
                             "(eu-west-2) Active, 40% done (20800 of 52000 objects), 35 objects/s, about 15 min left")


def test_a_passive_region_with_no_backfill_says_how_to_activate_it() -> None:
    ohio = routes_of(AwsWorld(), 100, 0, [])["us-east-2"]
    assert ohio.state == FAIL and ohio.evidence == "passive with no backfill running"
    assert "scripts/routes --activate us-east-2" in ohio.fix


def test_a_passive_region_whose_backfill_completed_should_be_activated() -> None:
    ohio = routes_of(AwsWorld(), 100, 0, [job("Complete", succeeded=52_000)])["us-east-2"]
    assert ohio.state == FAIL and "passive though its backfill is complete" in ohio.evidence
    assert ohio.fix == "scripts/routes --activate us-east-2"


def test_an_active_region_with_an_incomplete_backfill_fails() -> None:
    checks = routes_of(AwsWorld(), 100, 100, [job("Active", succeeded=5_200)])
    ohio, london = checks["us-east-2"], checks["eu-west-2"]
    assert ohio.state == FAIL
    assert ohio.evidence.startswith("active while job 8d3b5a1f-0c7e-4d0e-a0f1-b2c3d4e5f601 from images-london "
                                    "(eu-west-2) Active, 10% done")
    assert "viewers nearest us-east-2 get 403" in ohio.evidence
    assert ohio.fix.startswith("scripts/routes --passive us-east-2")
    assert london.state == PASS  # London is the source: nothing is copied into it


def test_an_active_region_after_a_backfill_with_failed_objects_fails_and_points_at_the_report() -> None:
    ohio = routes_of(AwsWorld(), 100, 100, [job("Complete", succeeded=51_990, failed=10)])["us-east-2"]
    assert ohio.state == FAIL and "10 failed" in ohio.evidence
    assert "s3://mrap-edge-reports-eu-west-2/backfill/images-london" in ohio.fix


def test_a_passive_region_whose_backfill_failed_says_rerun() -> None:
    ohio = routes_of(AwsWorld(), 100, 0, [job("Failed", succeeded=100)])["us-east-2"]
    assert ohio.state == FAIL and ohio.fix.startswith("re-run the backfill")


def test_routes_with_the_backfill_unknown_still_show_the_state() -> None:
    checks = routes_of(AwsWorld(), 100, 0, None)
    assert checks["eu-west-2"].state == PASS
    assert checks["us-east-2"].state == FAIL
    assert checks["us-east-2"].evidence == "passive (traffic dial 0); backfill unknown: AccessDenied (Access Denied)"


def test_every_region_passive_is_one_failure() -> None:
    world = AwsWorld()
    world.stub("s3control", "us-east-1").add_response("get_multi_region_access_point_routes", routes_answer(0, 0),
                                                       {"AccountId": ACCOUNT, "Mrap": MRAP_ARN})
    (only,) = mrap.route_checks(world, facts(), [], "")
    assert only.state == FAIL and only.evidence == "every Region is passive: the MRAP serves nothing"


# --- finding the backfill jobs ------------------------------------------------------------------------------------


def test_find_jobs_keeps_the_newest_job_of_each_source_and_ignores_other_jobs() -> None:
    world = AwsWorld()
    london = world.stub("s3control", "eu-west-2")
    old = backfill_job("00000000-old0-4d0e-a0f1-b2c3d4e5f601", LONDON, "Failed", 52_000, 10)
    new = backfill_job("8d3b5a1f-0c7e-4d0e-a0f1-b2c3d4e5f601", LONDON, "Active", 52_000, 26_000)
    new["CreationTime"] = old["CreationTime"].replace(hour=21)
    other = dict(backfill_job("11111111-2222-4333-8444-555555555555", LONDON, "Active", 10, 1),
                 Description="nightly tagging job")
    london.add_response("list_jobs", list_jobs_answer(old, other, new), list_jobs_params())
    london.add_response("describe_job", {"Job": new}, {"AccountId": ACCOUNT, "JobId": new["JobId"]})
    london.add_response("describe_job", {"Job": old}, {"AccountId": ACCOUNT, "JobId": old["JobId"]})
    world.stub("s3control", "us-east-2").add_response("list_jobs", {"Jobs": []}, list_jobs_params())
    jobs = backfill.find_jobs(world, ACCOUNT, "mrap-edge", (LONDON, OHIO))
    world.assert_all_called()
    assert [(j.job_id, j.status, j.succeeded) for j in jobs] == [(new["JobId"], "Active", 26_000)]
    assert jobs[0].report == "s3://mrap-edge-reports-eu-west-2/backfill/images-london"


def test_a_job_of_another_stack_whose_name_starts_alike_is_not_ours() -> None:
    world = AwsWorld()
    theirs = dict(backfill_job("8d3b5a1f-0c7e-4d0e-a0f1-b2c3d4e5f601", LONDON, "Active", 5, 1),
                  Description="mrap-edge backfill mrap-edge-prod images-london")
    world.stub("s3control", "eu-west-2").add_response("list_jobs", list_jobs_answer(theirs), list_jobs_params())
    world.stub("s3control", "us-east-2").add_response("list_jobs", {"Jobs": []}, list_jobs_params())
    assert backfill.find_jobs(world, ACCOUNT, "mrap-edge", (LONDON, OHIO)) == []


def test_a_job_preparing_its_manifest_says_so() -> None:
    assert job("Preparing", total=0).describe().endswith("Preparing, preparing its manifest")
