"""Only object reads reach S3 (edge/objects.py): a request for the bucket itself is answered 404 without signing,
and no allow-list can let a parameter through that turns a read into another operation."""
from __future__ import annotations

import pytest

from edge.config import Config
from edge.errors import ConfigError
from tests.helpers import Edge, load_event, on_the_wire, request_of, verify_as_s3


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("query", ["", "list-type=2&prefix=", "versions", "versionId=abc"])
def test_the_bucket_root_is_a_404_and_nothing_is_signed(edge: Edge, method: str, query: str) -> None:
    event = load_event("mrap-get")
    request = request_of(event)
    request["method"], request["uri"], request["querystring"] = method, "/", query
    request_id = event["Records"][0]["cf"]["config"]["requestId"]

    returned = edge(event)

    assert returned["status"] == "404"
    assert "authorization" not in returned.get("headers", {})
    assert returned["body"] == ("404 Not Found: unable to read object: the request names no object: an empty key "
                                f"would list the bucket\nRequest ID: {request_id}\n")
    assert [line["error"] for line in edge.log_lines()] == ["NotAnObject"]


@pytest.mark.parametrize("uri", ["//", "/%2F", "/a/"])
def test_keys_that_look_like_folders_are_objects_and_are_signed(edge: Edge, uri: str) -> None:
    # "//" is the key "/", "/a/" the key "a/": objects S3 can hold, read with GetObject.
    event = load_event("mrap-get")
    request_of(event)["uri"] = uri
    returned = edge(event)
    assert "status" not in returned
    verify_as_s3(event, returned)


def test_the_root_under_an_origin_path_is_the_prefix_s_own_key_and_is_signed(edge: Edge) -> None:
    event = load_event("mrap-origin-path")  # origin path "/assets": "/" is the key "assets/"
    request_of(event)["uri"] = "/"
    returned = edge(event)
    assert on_the_wire(event, returned).target == "/assets/"
    verify_as_s3(event, returned)


@pytest.mark.parametrize("name", ["list-type", "prefix", "delimiter", "uploadId", "UPLOADID", "acl", "tagging",
                                  "attributes", "versions", "max-keys", "legal-hold"])
def test_no_allow_list_may_pass_a_parameter_that_selects_another_operation(name: str) -> None:
    with pytest.raises(ConfigError) as error:
        Config(query_allowlist=("versionId", name))
    assert f"query_allowlist: {name!r} selects another S3 operation than reading an object" in str(error.value)
