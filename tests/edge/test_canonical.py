"""S3's canonical path and query string, judged by what S3 would do with the request CloudFront sends after the
function (independent verifier), and the decisions for the cases S3's rules leave open."""
from __future__ import annotations

from typing import Dict
from urllib.parse import unquote_to_bytes

import pytest

from tests.helpers import BASE_SIGNED, Edge, load_event, on_the_wire, request_of, verify_as_s3

# What S3 must see on the wire for each awkward key, written out by hand from S3's rules (not computed).
CANONICAL_URIS: Dict[str, str] = {
    "mrap-get": "/images/cat.jpg",
    "mrap-key-space": "/photos/summer%20holiday/beach%20day.jpg",
    "mrap-key-unicode": "/fotos/%C3%BCber/caf%C3%A9/%E5%86%99%E7%9C%9F.png",
    "mrap-key-plus": "/c%2B%2B/a%2Bb.png",
    "mrap-key-punctuation": "/odd/%281%29%3A%40%21%2A%27%2C%24~.jpg",
    "mrap-key-encoded-slash": "/a/b/c.jpg",
    "mrap-key-lowercase-escape": "/a/b%C3%A9/~user.jpg",
    "mrap-key-dot-segments": "/a/./b/../c.jpg",
    "mrap-key-double-slash": "//a//b.jpg",
    "mrap-key-over-encoded": "/ABC.jpg",
    # Not UTF-8: the bytes are the key, signed as they are (upper-case hex); S3 decides what they address.
    "mrap-key-not-utf8": "/raw/%FF%FE%C3.bin",
}


@pytest.mark.parametrize("name", sorted(CANONICAL_URIS))
def test_awkward_keys_are_signed_for_the_key_s3_will_read(edge: Edge, name: str) -> None:
    event = load_event(name)
    returned = edge(event)
    assert returned["uri"] == CANONICAL_URIS[name]
    result = verify_as_s3(event, returned)
    assert set(result.signed_headers) == BASE_SIGNED | {"x-amz-security-token"}
    # The key S3 reads is the one the viewer asked for, a raw "+" being a literal plus.
    viewer_key = unquote_to_bytes(request_of(event)["uri"].replace("+", "%2B"))
    assert unquote_to_bytes(returned["uri"]) == viewer_key


def test_allow_listed_query_parameters_are_kept_signed_and_the_rest_dropped(edge: Edge) -> None:
    event = load_event("mrap-query-allowlisted")
    returned = edge(event)
    assert returned["querystring"] == "partNumber=2&versionId=3HL4kqtJlcpXroDTDmJ%2Bnrn"
    assert on_the_wire(event, returned).target == "/images/cat.jpg?partNumber=2&versionId=3HL4kqtJlcpXroDTDmJ%2Bnrn"
    verify_as_s3(event, returned)


def test_response_overrides_never_reach_s3_by_default(edge: Edge) -> None:
    event = load_event("mrap-query-response-override")
    returned = edge(event)
    assert returned["querystring"] == "versionId=v1"
    verify_as_s3(event, returned)


@pytest.mark.parametrize("name", ["mrap-key-malformed-escape", "mrap-query-malformed-escape"])
def test_malformed_percent_escapes_get_a_400(edge: Edge, name: str) -> None:
    returned = edge(load_event(name))
    assert returned["status"] == "400"
    assert "malformed percent-escape" in returned["body"]
    assert returned["headers"]["cache-control"][0]["value"] == "no-store"
    assert [line["status"] for line in edge.log_lines()] == [400]


@pytest.mark.parametrize("field, value", [("uri", "/images/\ud800.jpg"), ("querystring", "versionId=\udfff")])
def test_text_that_is_not_unicode_gets_a_400(edge: Edge, field: str, value: str) -> None:
    # JSON can carry a lone surrogate ("\ud800"); it has no UTF-8 form, so there is no key to sign for.
    event = load_event("mrap-get")
    request_of(event)[field] = value
    returned = edge(event)
    assert returned["status"] == "400" and "not valid Unicode" in returned["body"]
    assert [line["status"] for line in edge.log_lines()] == [400]



def test_a_malformed_escape_in_a_parameter_that_is_dropped_anyway_is_ignored(edge: Edge) -> None:
    # utm_source=%zz, a name "bad%zz" and a name "%": none of them can reach S3, so none of them is an error.
    event = load_event("mrap-query-other-malformed")
    returned = edge(event)
    assert returned["querystring"] == "versionId=v1"
    verify_as_s3(event, returned)


@pytest.mark.parametrize("querystring", ["versionId=%zz", "versionId=a%", "version%49d=%G1"])
def test_a_malformed_escape_in_an_allow_listed_parameter_is_a_400_naming_it(edge: Edge, querystring: str) -> None:
    event = load_event("mrap-get")
    request_of(event)["querystring"] = querystring
    returned = edge(event)
    assert returned["status"] == "400"
    assert "query parameter versionId: malformed percent-escape" in returned["body"]


@pytest.mark.parametrize("querystring", ["versionId=b&partNumber=1&versionId=a", "versionId=a&version%49d=a"])
def test_an_allow_listed_parameter_given_twice_is_a_400_naming_it(edge: Edge, querystring: str) -> None:
    # Which of the two S3 would use is not defined, so neither is chosen for it.
    event = load_event("mrap-query-twice")
    request_of(event)["querystring"] = querystring
    returned = edge(event)
    assert returned["status"] == "400"
    assert "query parameter versionId: given more than once" in returned["body"]
    assert [line["status"] for line in edge.log_lines()] == [400]
