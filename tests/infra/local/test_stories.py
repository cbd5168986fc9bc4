"""`make demo ARGS="--brownfield --latency --check"`: the Houston colleague's story and the modelled latency table,
told end to end by the demo itself."""
from __future__ import annotations

import re
import subprocess
import sys

from infra.local.function.invoker import REPO_ROOT


def test_the_brownfield_story_and_the_latency_table() -> None:
    demo = subprocess.run([sys.executable, "-m", "infra.local.demo", "--brownfield", "--latency", "--check",
                           "--count", "1"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    output = demo.stdout + demo.stderr

    assert demo.returncode == 0, output
    assert "FAIL " not in output and output.rstrip().endswith("stopped"), output
    # without the rule: an active, empty Ohio denies every existing image
    assert re.search(r"ok +Houston: (\d+) of \1 existing images answered 403 AccessDenied by us-east-2 .*"
                     r"403 is not a failover code: the viewer gets the 403", output)
    # before, during and after the backfill
    assert re.search(r"ok +Houston GET /images/red.png: 200 from eu-west-2 .*us-east-2 passive", output)
    assert re.search(r"local-backfill-\d+ Active: \d+/(\d+) tasks succeeded.*us-east-2 passive", output)
    assert re.search(r"ok +during the backfill: Houston GET /images/red.png: 200 from eu-west-2", output)
    assert re.search(r"local-backfill-\d+ Complete: (\d+)/\1 tasks succeeded, 0 failed; routes: eu-west-2 active, "
                     r"us-east-2 active", output)
    assert re.search(r"ok +Houston GET /images/red.png: 200 from us-east-2", output)
    # the table is labelled as modelled, with the four paths
    assert "MODELLED network time" in output
    rows = re.findall(r"^  (London|Houston) colleague +(presigned URL, straight to the bucket|CloudFront \+ MRAP) +"
                      r"200 from (\S+) +(\d+) +(\d+)$", output, re.MULTILINE)
    assert {(who, path.split()[0].rstrip(","), region) for who, path, region, _, _ in rows} == {
        ("London", "presigned", "eu-west-2"), ("London", "CloudFront", "eu-west-2"),
        ("Houston", "presigned", "eu-west-2"), ("Houston", "CloudFront", "us-east-2"),
    }
    modelled = {(who, path.split()[0].rstrip(",")): int(ms) for who, path, _, ms, _ in rows}
    assert modelled[("Houston", "CloudFront")] < modelled[("Houston", "presigned")]
    measured = {(who, path.split()[0].rstrip(",")): int(ms) for who, path, _, _, ms in rows}
    # the delay model is on: what the client saw includes at least the modelled round trips
    assert all(measured[k] >= modelled[k] for k in modelled), rows


def test_with_missing_keys_404_the_empty_ohio_answers_404_and_the_passive_region_still_protects_houston() -> None:
    demo = subprocess.run([sys.executable, "-m", "infra.local.demo", "--brownfield", "--missing-keys", "404",
                           "--check", "--count", "1"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    output = demo.stdout + demo.stderr

    assert demo.returncode == 0, output
    assert re.search(r"ok +Houston: (\d+) of \1 existing images answered 404 NoSuchKey by us-east-2 .*"
                     r"404 is not a failover code: the viewer gets the 404", output), output
    assert re.search(r"ok +during the backfill: Houston GET /images/red.png: 200 from eu-west-2", output)
