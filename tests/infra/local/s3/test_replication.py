"""Replication between the Regional buckets (the deploy tooling's rules), version ids kept, and the backfill job;
read back through `BucketServers.serve`, the bucket as S3 answers a reader without s3:ListBucket."""
from __future__ import annotations

import itertools
import time
from typing import Iterator, List, Tuple
from urllib.parse import quote

import pytest

from infra.local.s3.buckets import BucketServers
from infra.local.s3.replication import Replication, Rule, deciding_rule, rules_for
from infra.local.samples import PROBE_KEY, sample_objects

LONDON, OHIO = "eu-west-2", "us-east-2"
_keys = itertools.count()


@pytest.fixture(scope="module")
def servers() -> Iterator[BucketServers]:
    buckets = BucketServers((LONDON, OHIO), "replication-test")
    buckets.start()
    yield buckets
    buckets.stop()


@pytest.fixture
def replication(servers: BucketServers) -> Iterator[Replication]:
    running = Replication(servers)
    yield running
    running.stop()


def key(name: str) -> str:
    return f"t{next(_keys)}/{name}"


def read(servers: BucketServers, region: str, key_: str, version_id: str = "") -> Tuple[int, bytes, List]:
    target = "/" + key_ + (f"?versionId={version_id}" if version_id else "")
    status, headers, body = servers.serve(region, "GET", target, [])
    return status, body, headers


def header(headers: List[Tuple[str, str]], name: str) -> str:
    return next(v for n, v in headers if n.lower() == name)


def test_the_rules_are_the_deploy_toolings(servers: BucketServers) -> None:
    rules = rules_for(servers, LONDON)

    live = deciding_rule(rules, "images/red.png", OHIO)
    assert live is not None and live.delete_markers and live.destination == OHIO
    assert deciding_rule(rules, PROBE_KEY, OHIO) is None  # the higher-priority disabled rule keeps probes out
    assert deciding_rule(rules, "images/red.png", LONDON) is None  # no rule towards itself


def test_the_highest_priority_matching_rule_decides() -> None:
    rules = [Rule("all", 1, True, "", True, OHIO), Rule("logs-out", 2, False, "logs/", False, OHIO)]

    assert deciding_rule(rules, "logs/a", OHIO) is None
    assert deciding_rule(rules, "images/a", OHIO) == rules[0]
    assert deciding_rule(list(reversed(rules)), "logs/a", OHIO) is None


def test_a_write_is_replicated_with_its_version_id(servers: BucketServers, replication: Replication) -> None:
    name = key("a.txt")

    version_id = replication.write(LONDON, name, b"written in London", content_type="text/plain",
                                   cache_control="max-age=60")

    status, body, headers = read(servers, OHIO, name, version_id)
    assert (status, body) == (200, b"written in London")
    assert header(headers, "x-amz-version-id") == version_id  # the London id, not the one moto gave the copy
    assert header(headers, "content-type") == "text/plain"
    assert header(headers, "cache-control") == "max-age=60"
    assert header(read(servers, OHIO, name)[2], "x-amz-version-id") == version_id
    # moto's own id for Ohio's copy differs: the ledger is what keeps S3's id
    [copy] = [v for v in servers.ledger.versions(OHIO) if v.key == name]
    assert copy.moto_id != version_id and copy.replica_of == LONDON


def test_a_replica_is_not_replicated_back(servers: BucketServers, replication: Replication) -> None:
    name = key("b.txt")
    replication.write(LONDON, name, b"one")

    assert len([v for v in servers.ledger.versions() if v.key == name]) == 2  # London's and Ohio's copy
    # Ohio's copy is a REPLICA: not eligible for Ohio's own rules, not even for a backfill from Ohio
    [replica] = [v for v in servers.ledger.versions(OHIO) if v.key == name]
    assert not replication.eligible(replica, LONDON)
    assert all(task_key != name for task_key, _, _ in replication.backfill(OHIO).manifest)


def test_replication_is_two_way(servers: BucketServers, replication: Replication) -> None:
    name = key("from-ohio.txt")

    version_id = replication.write(OHIO, name, b"written in Ohio")

    assert read(servers, LONDON, name, version_id)[:2] == (200, b"written in Ohio")


def test_a_write_made_outside_replication_is_not_copied(servers: BucketServers) -> None:
    name = key("c.txt")
    version_id = servers.put(LONDON, name, b"before the rules")

    status, body, _ = read(servers, OHIO, name)

    assert status == 403 and b"<Code>AccessDenied</Code>" in body  # not 404: the reader has no s3:ListBucket
    assert read(servers, OHIO, name, version_id)[0] == 403


def test_replication_lag(servers: BucketServers) -> None:
    lagging = Replication(servers, lag_s=0.6)
    try:
        name = key("d.txt")
        lagging.write(LONDON, name, b"later")
        time.sleep(0.2)  # well inside the lag: a copy made at once would be there by now

        assert read(servers, OHIO, name)[0] == 403
        assert lagging.pending() == 1
        assert lagging.wait(5)
        assert read(servers, OHIO, name)[:2] == (200, b"later")
    finally:
        lagging.stop()


def test_a_delete_marker_is_replicated_as_the_rule_says(servers: BucketServers, replication: Replication) -> None:
    name = key("e.txt")
    first = replication.write(LONDON, name, b"soon deleted")

    marker = replication.delete(LONDON, name)

    assert read(servers, OHIO, name)[0] == 403  # the current version is a delete marker in Ohio too
    assert read(servers, OHIO, name, first)[:2] == (200, b"soon deleted")  # older versions stay readable
    [ohio_marker] = [v for v in servers.ledger.versions(OHIO) if v.key == name and v.delete_marker]
    assert ohio_marker.version_id == marker


def test_a_delete_marker_stays_when_the_rule_does_not_replicate_them(servers: BucketServers) -> None:
    replication = Replication(servers)
    replication.rules[LONDON] = [Rule(r.rule_id, r.priority, r.enabled, r.prefix, False, r.destination)
                                 for r in replication.rules[LONDON]]
    name = key("f.txt")
    replication.write(LONDON, name, b"kept in Ohio")

    replication.delete(LONDON, name)

    assert read(servers, LONDON, name)[0] == 403
    assert read(servers, OHIO, name)[:2] == (200, b"kept in Ohio")


def test_the_backfill_copies_every_version_that_existed_before(servers: BucketServers) -> None:
    # GIVEN a London bucket with objects written before the rules (two versions of one key), and a probe
    fresh = BucketServers((LONDON, OHIO), "backfill-test")
    fresh.start()
    try:
        fresh.seed(regions=(LONDON,))
        older = fresh.put(LONDON, "images/red.png", b"an older red")
        newer = fresh.put(LONDON, "images/red.png", b"the newest red")
        replication = Replication(fresh)
        samples = sample_objects()

        # WHEN the backfill job runs
        job = replication.backfill(LONDON, task_delay_s=0.0)
        assert (job.status, job.progress_summary()["NumberOfTasksSucceeded"]) == ("New", 0)
        job.run()

        # THEN every version is in Ohio with its London version id; the probe is not copied
        assert job.status == "Complete"
        assert job.progress_summary() == {"TotalNumberOfTasks": len(samples) + 2,
                                          "NumberOfTasksSucceeded": len(samples) + 2, "NumberOfTasksFailed": 0}
        for name, body in samples.items():
            if name != "images/red.png":
                assert read(fresh, OHIO, quote(name, safe="/"))[:2] == (200, body), name
        assert read(fresh, OHIO, "images/red.png")[1] == b"the newest red"
        assert read(fresh, OHIO, "images/red.png", older)[:2] == (200, b"an older red")
        assert read(fresh, OHIO, "images/red.png", newer)[:2] == (200, b"the newest red")
        ohio_probe = [v for v in fresh.ledger.versions(OHIO) if v.key == PROBE_KEY]
        assert len(ohio_probe) == 1 and ohio_probe[0].replica_of is None
        # AND a second job finds nothing left to do
        assert replication.backfill(LONDON).total == 0
    finally:
        fresh.stop()


def test_the_backfill_runs_in_the_background_with_progress(servers: BucketServers) -> None:
    replication = Replication(servers)
    names = [key(f"bulk-{i}.txt") for i in range(3)]
    for name in names:
        servers.put(LONDON, name, name.encode())
    job = replication.backfill(LONDON, task_delay_s=0.1)
    finished: List[str] = []
    job.on_complete(lambda j: finished.append(j.status))

    job.start()
    seen = {job.progress_summary()["NumberOfTasksSucceeded"]}
    while not job.wait(0.02):
        seen.add(job.progress_summary()["NumberOfTasksSucceeded"])

    assert finished == ["Complete"]
    assert job.progress_summary()["NumberOfTasksSucceeded"] == job.total >= 3
    assert len(seen) >= 2  # progress was seen moving, not only at the end
    assert all(read(servers, OHIO, name)[:2] == (200, name.encode()) for name in names)


def test_a_key_missing_from_a_bucket_is_403_for_head_too(servers: BucketServers) -> None:
    status, headers, body = servers.serve(OHIO, "HEAD", "/" + key("absent"), [])

    assert (status, body) == (403, b"")
    assert header(headers, "content-type") == "application/xml"
