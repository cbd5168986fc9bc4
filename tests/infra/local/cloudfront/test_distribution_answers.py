"""CloudFront's own answers and limits on the local path: the function's failures labelled as CloudFront labels
them, throttling instead of a queue, the viewer quotas enforced before the function, the template's timeout, memory
and failover bucket, and errors cached as long as the distribution says."""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import List

import pytest

from infra.aws.error_pages import ERROR_PAGE
from infra.local.cloudfront.rules import error_ttl
from infra.local.cloudfront.settings import load_settings
from infra.local.stack import LocalStack, StackOptions
from tests.conftest import StartStack
from tests.curl import curl


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> LocalStack:
    return start_stack(default_ttl=0, function_timeout_s=2.0, function_concurrency=1)


def _invocations(local: LocalStack) -> int:
    assert local.cloudfront is not None
    return len(local.cloudfront.invocations)


def test_an_invocation_over_the_functions_concurrency_is_503_limit_exceeded_without_the_page(
        local: LocalStack) -> None:
    invoker = local.invokers["eu-west-2"]
    invoker.fault = "timeout"
    hung: List[int] = []
    thread = threading.Thread(target=lambda: hung.append(curl(local.url("eu-west-2", "/index.txt")).status))
    thread.start()
    while invoker.busy == 0:
        time.sleep(0.005)
    invoker.fault = None

    throttled = curl(local.url("eu-west-2", "/images/red.png"))
    thread.join()

    assert (throttled.status, throttled.header("x-cache")) == (503, "LambdaLimitExceeded from cloudfront")
    assert throttled.body != ERROR_PAGE and b"throttled" in throttled.body  # "Limit Exceeded": no custom page
    assert hung == [503]


def test_a_function_that_raises_is_503_execution_error_with_the_distributions_page(local: LocalStack) -> None:
    local.invokers["eu-west-2"].fault = "raise"

    response = curl(local.url("eu-west-2", "/images/red.png"))

    assert (response.status, response.header("x-cache")) == (503, "LambdaExecutionError from cloudfront")
    assert response.body == ERROR_PAGE
    assert local.invokers["eu-west-2"].memory_mb == 512  # the template's MemorySize


def test_an_invalid_result_is_502_validation_error(local: LocalStack) -> None:
    local.invokers["eu-west-2"].fault = "garbage"

    response = curl(local.url("eu-west-2", "/images/red.png"))

    assert (response.status, response.header("x-cache")) == (502, "LambdaValidationError from cloudfront")


@pytest.mark.parametrize("path_bytes, status", [(8192, 200), (8193, 413)], ids=["at-the-limit", "over"])
def test_a_url_over_8192_bytes_is_413_before_the_function(local: LocalStack, path_bytes: int, status: int) -> None:
    target = "/images/red.png?" + "x" * (path_bytes - len("/images/red.png?"))

    response = curl(local.url("eu-west-2", target))

    assert response.status == status
    assert _invocations(local) == (1 if status == 200 else 0)


def test_request_headers_over_20480_bytes_are_413_before_the_function(local: LocalStack) -> None:
    headers = [option for n in range(3) for option in ("-H", f"X-Big-{n}: {'v' * 7000}")]

    response = curl(local.url("eu-west-2", "/images/red.png"), *headers)

    assert (response.status, response.header("x-cache")) == (413, "Error from cloudfront")
    assert _invocations(local) == 0


def test_an_origin_error_is_cached_for_its_error_caching_min_ttl(local: LocalStack) -> None:
    assert local.cloudfront is not None and local.mrap is not None
    local.cloudfront.settings = replace(local.settings, error_responses=tuple(
        replace(r, min_ttl=1) if r.code == 403 else r for r in local.settings.error_responses))
    url = local.url("eu-west-2", "/appears-later.txt")

    first = curl(url)
    for region in local.options.regions:
        local.buckets.put(region, "appears-later.txt", b"here now")
    again = curl(url)
    time.sleep(1.1)
    later = curl(url)

    assert (first.status, again.status, later.status) == (403, 403, 200)
    assert again.header("x-cache") == "Error from cloudfront" and again.body == ERROR_PAGE
    assert len([r for r in local.mrap.received if r.target.startswith("/appears-later.txt")]) == 2


@pytest.mark.parametrize("status, headers, min_ttl, ttl", [
    (404, [], None, 10),  # CloudFront's default
    (404, [], 5, 5),
    (503, [("Cache-Control", "max-age=60")], 5, 60),  # the greater of the two
    (404, [("Cache-Control", "no-store")], 5, 0),  # 404, 410, 414, 501 obey no-store
    (503, [("Cache-Control", "no-store")], 5, 5),  # others ignore it
    (416, [], 30, 0),  # never cached
])
def test_how_long_cloudfront_caches_an_error(status: int, headers: list, min_ttl: int, ttl: int) -> None:
    assert error_ttl(status, headers, min_ttl, 31536000, now=0.0) == ttl


def test_the_function_runs_with_the_templates_timeout_and_memory_and_the_templates_failover_bucket() -> None:
    settings = load_settings()
    stack = LocalStack(StackOptions(settings=settings))

    assert (settings.function_timeout_s, settings.function_memory_mb) == (5.0, 512)
    assert stack.options.function_timeout_s == 5.0
    # The template's failover origin is its first bucket: the first Region's.
    assert settings.failover_bucket_index == 0 and stack.options.failover_region == stack.options.regions[0]
