"""Which origins are signed, which are handed back untouched, and which MRAP origins cannot be signed at all
(edge/origins.py), through the handler and judged by the independent verifier."""
from __future__ import annotations

import pytest

from edge.config import Config
from tests.helpers import Edge, load_event, on_the_wire, request_of, verify_as_s3


def test_origin_path_is_prepended_on_the_wire_and_signed(edge: Edge) -> None:
    event = load_event("mrap-origin-path")
    returned = edge(event)
    assert returned["uri"] == "/2026/cat.jpg"
    wire = on_the_wire(event, returned)
    assert wire.target == "/assets/2026/cat.jpg"
    verify_as_s3(event, returned)


def test_origin_path_not_in_canonical_form_fails_closed_on_every_request(edge: Edge) -> None:
    for _ in range(2):  # a refused origin is not remembered as decided: each request is refused and logged
        returned = edge(load_event("mrap-origin-path-not-canonical"))
        assert returned["status"] == "500"
        assert "authorization" not in returned.get("headers", {})
    assert [line["error"] for line in edge.log_lines()] == ["OriginMisconfigured", "OriginMisconfigured"]
    # The log says it is the distribution's setting, which one, and what to set it to.
    message = edge.log_lines()[0]["message"]
    assert message.startswith("distribution misconfiguration: the origin path '/my assets' of origin ")
    assert "not in S3's canonical form" in message
    assert message.endswith("in the distribution's origin settings (Origin path), set it to '/my%20assets'")
    assert "unable to load configuration" not in message


def test_an_origin_is_decided_once_and_a_changed_origin_again(monkeypatch, edge: Edge) -> None:
    import edge.origins as origins
    decided = []
    real = origins.origin_decision
    monkeypatch.setattr(origins, "origin_decision", lambda origin, config: decided.append(origin) or real(
        origin, config))
    event = load_event("mrap-get")
    for _ in range(3):
        verify_as_s3(event, edge(event))
    assert len(decided) == 1
    # The same host with the failover marker added is another origin, and is passed through
    marked = load_event("mrap-get")
    request_of(marked)["origin"]["custom"]["customHeaders"] = {
        "origintypefailover": [{"key": "originTypeFailover", "value": "1"}]}
    assert edge(marked) == request_of(marked)
    assert len(decided) == 2


def test_an_origin_custom_authorization_header_would_replace_the_signature_so_it_is_refused(edge: Edge) -> None:
    returned = edge(load_event("mrap-custom-authorization"))
    assert returned["status"] == "500"
    (line,) = edge.log_lines()
    assert line["error"] == "OriginMisconfigured" and "remove that custom header" in line["message"]


def test_mrap_host_is_matched_case_insensitively(edge: Edge) -> None:
    event = load_event("mrap-upper-case-host")
    returned = edge(event)
    assert returned["headers"]["authorization"][0]["value"].startswith("AWS4-ECDSA-P256-SHA256")


@pytest.mark.parametrize("name, reason", [
    ("failover-s3-origin", "failover-origin"),
    ("failover-s3-origin-lower-case", "failover-origin"),
    ("failover-custom-origin", "failover-origin"),
    ("docs2020-origin-request-s3", "s3-origin"),
    ("docs-origin-request-custom", "other-host"),
    ("docs2020-origin-request-custom-path", "other-host"),
    ("other-domain-custom-origin", "other-host"),
    ("lookalike-domain", "other-host"),
])
def test_other_origins_are_returned_exactly_as_received(monkeypatch, name: str, reason: str) -> None:
    edge = Edge(monkeypatch, level="INFO")
    event = load_event(name)
    assert edge(event) == request_of(event)
    assert [line["decision"] for line in edge.log_lines()] == [reason]


def test_the_failover_header_name_is_configurable_and_matched_in_any_case(monkeypatch) -> None:
    edge = Edge(monkeypatch, config=Config(failover_header="X-Failover-Origin"))
    event = load_event("failover-s3-origin")
    origin = request_of(event)["origin"]["s3"]
    origin["customHeaders"] = {"x-failover-origin": [{"key": "x-failover-origin", "value": "1"}]}
    assert edge(event) == request_of(event)
    # The default marker now means nothing: an MRAP origin carrying it is signed.
    mrap = load_event("failover-custom-origin")
    assert "authorization" in edge(mrap)["headers"]



@pytest.mark.parametrize("path, fix", [("/my assets", "set it to '/my%20assets'"),
                                       ("/%7euser", "set it to '/~user'"),
                                       ("/100%", "percent-encode it as S3 does (upper-case hex)")])
def test_an_origin_path_s3_would_read_otherwise_is_refused_with_the_setting_to_change(path: str, fix: str) -> None:
    from edge.errors import OriginMisconfigured
    from edge.event import parse_origin_request
    from edge.origins import check_signable
    event = load_event("mrap-origin-path")
    request_of(event)["origin"]["custom"]["path"] = path
    with pytest.raises(OriginMisconfigured) as refused:
        check_signable(parse_origin_request(event).origin)
    assert str(refused.value).endswith(fix)
    assert refused.value.status_hint == 500

