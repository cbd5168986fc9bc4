"""Property tests: random keys, origin paths, query strings and viewer headers all verify as S3 would, S3 reads the
key the viewer asked for, and changing any signed part of the wire request is refused."""
from __future__ import annotations

import re
import string
from urllib.parse import quote, unquote_to_bytes

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.helpers import Edge, load_event, on_the_wire, request_of, s3_for, verify_as_s3
from infra.local.s3verifier import S3Refusal

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Key segments: any printable text, including the characters that break naive signers, plus raw unicode.
segment = st.text(
    alphabet=st.one_of(st.sampled_from(list(" +()%:@!*',$~&=;#?[]{}|^`\"<>\\") + list(string.ascii_letters)),
                       st.characters(min_codepoint=0xA0, max_codepoint=0x2FFF, blacklist_categories=("Cs",))),
    min_size=0, max_size=12,
)


def viewer_uri(segments, encode: bool) -> str:
    """A URI as a viewer might send it: each segment percent-encoded (upper or lower hex) or raw where allowed."""
    parts = []
    for text in segments:
        data = text.replace("+", " ") if not encode else text
        encoded = quote(data.encode("utf-8"), safe="")
        parts.append(encoded.lower() if encode and len(parts) % 2 else encoded)
    return "/" + "/".join(parts)


origin_path = st.lists(st.text(alphabet=string.ascii_letters + string.digits + "-_.~", min_size=1, max_size=6),
                       max_size=3).map(lambda labels: "".join("/" + label for label in labels))
param_name = st.sampled_from(["versionId", "partNumber", "utm_source", "response-content-type", "x", "versionid"])
param_value = st.text(alphabet=string.printable, max_size=10)


@SETTINGS
@given(segments=st.lists(segment, min_size=1, max_size=4), encode=st.booleans(), path=origin_path,
       params=st.lists(st.tuples(param_name, param_value), max_size=4), range_start=st.integers(0, 10**9))
def test_any_key_path_and_query_verify_and_address_the_intended_key(monkeypatch, segments, encode, path, params,
                                                                    range_start) -> None:
    uri = viewer_uri(segments, encode)
    edge = Edge(monkeypatch)
    event = load_event("mrap-get")
    request = request_of(event)
    request["uri"] = uri
    request["origin"]["custom"]["path"] = path
    request["querystring"] = "&".join(f"{quote(n)}={quote(v, safe='')}" for n, v in params)
    request["headers"]["range"] = [{"key": "Range", "value": f"bytes={range_start}-"}]
    returned = edge(event)
    allowed = [n for n, _ in params if n in ("versionId", "partNumber")]
    if len(allowed) != len(set(allowed)):  # which of the two S3 would use is not defined: refused
        assert returned["status"] == "400" and "given more than once" in returned["body"]
        return
    if path + uri == "/":  # no key: the bucket would be listed, never signed
        assert returned["status"] == "404" and "authorization" not in returned["headers"]
        return
    result = verify_as_s3(event, returned)
    assert set(result.signed_headers) >= {"host", "x-amz-cf-id", "x-amz-date", "x-amz-content-sha256"}
    assert "range" not in result.signed_headers
    wire = on_the_wire(event, returned)
    # S3 decodes the wire path once: that must be the key the viewer meant (a raw "+" is a literal plus).
    assert unquote_to_bytes(wire.target.split("?")[0]) == unquote_to_bytes(path + uri.replace("+", "%2B"))
    kept = sorted((n, v) for n, v in params if n in ("versionId", "partNumber"))
    got = sorted((unquote_to_bytes(p.split("=")[0]).decode(), unquote_to_bytes(p.split("=", 1)[1]).decode())
                 for p in returned["querystring"].split("&") if p)
    assert got == kept


@SETTINGS
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=6),
       part=st.sampled_from(["target", "header"]))
def test_any_change_to_a_signed_part_is_refused(monkeypatch, position, bit, part) -> None:
    edge = Edge(monkeypatch)
    event = load_event("mrap-query-allowlisted")
    wire = on_the_wire(event, edge(event))
    signed = {"host", "x-amz-cf-id", "x-amz-date", "x-amz-region-set", "x-amz-security-token"}
    target, headers = wire.target, list(wire.headers)
    if part == "target":
        index = position % len(target)
        changed = chr(ord(target[index]) ^ (1 << bit))
        assume(changed.isprintable() and changed not in " ?#")
        tampered = target[:index] + changed + target[index + 1:]
        # "%2b" and "%2B" are the same byte to S3: a change that decodes to the same request is not a change.
        assume(unquote_to_bytes(tampered) != unquote_to_bytes(target))
        target = tampered
    else:
        candidates = [i for i, (name, _) in enumerate(headers) if name.lower() in signed]
        index = candidates[position % len(candidates)]
        name, value = headers[index]
        offset = (position // len(candidates)) % len(value)
        changed = chr(ord(value[offset]) ^ (1 << bit))
        assume(changed.isprintable() and changed.strip() and changed != ",")
        headers[index] = (name, value[:offset] + changed + value[offset + 1:])
    with pytest.raises(S3Refusal):
        s3_for().verify(method=wire.method, target=target, headers=headers, body=b"")


escapable = st.text(
    alphabet=st.one_of(st.sampled_from(list("%%%/+ ~.-_" + string.hexdigits + "FFFF2222777")),
                       st.characters(blacklist_categories=("Cs",))),
    max_size=30,
)


@settings(max_examples=400, deadline=None)
@given(text=escapable)
def test_the_canonical_forms_are_what_the_standard_library_would_write(text) -> None:
    # The encoder is hand-written for speed; urllib's quote() is the reference for "decode once, re-encode".
    from edge.canonical import _canonical_component, canonical_uri
    from edge.errors import BadRequest
    if re.search(r"%(?![0-9A-Fa-f]{2})", text):
        with pytest.raises(BadRequest):
            canonical_uri(text)
        return
    assert canonical_uri(text) == quote(unquote_to_bytes(text), safe="/")
    assert _canonical_component(text) == quote(unquote_to_bytes(text), safe="")


def test_every_escape_of_every_byte_is_canonicalised_as_the_standard_library_does() -> None:
    # Exhaustive for the escapes, which the already-canonical shortcut decides by hex ranges.
    from edge.canonical import _canonical_component, canonical_uri
    for byte in range(256):
        for escape in (f"%{byte:02X}", f"%{byte:02x}"):
            text = f"a{escape}b"
            assert canonical_uri("/" + text) == quote(unquote_to_bytes("/" + text), safe="/"), escape
            assert _canonical_component(text) == quote(unquote_to_bytes(text), safe=""), escape


def test_the_longest_uri_cloudfront_accepts_is_canonicalised_without_backtracking() -> None:
    # A nested quantifier in the shortcut's pattern once made a 30-character key cost 6 million instructions, and
    # an 8 KB one would never finish. Run in a child process so that a regression fails here instead of hanging.
    import subprocess
    import sys
    script = ("from edge.canonical import canonical_uri, canonical_query_string; "
              "canonical_uri('/' + 'a/b' * 2700 + '%C3%A9' * 10 + '\\u00e9'); "
              "canonical_query_string('versionId=' + 'a' * 8000 + '%2B' * 10 + '+', ('versionId',))")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
