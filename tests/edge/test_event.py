"""Reading the origin-request event (edge/event.py): the fast and the field-by-field reading agree, a malformed
event gets a generated 500, and the request id is read first, on its own."""
from __future__ import annotations

import pytest

from tests.helpers import EVENTS, Edge, load_event


@pytest.mark.parametrize("name", sorted(path.stem for path in EVENTS.glob("*.json")))
def test_the_fast_and_the_field_by_field_reading_agree(name: str) -> None:
    from edge.errors import InvalidEvent
    from edge.event import _read_field_by_field, parse_origin_request
    event = load_event(name)
    try:
        expected = _read_field_by_field(event)
    except InvalidEvent:
        with pytest.raises(InvalidEvent):
            parse_origin_request(event)
        return
    assert parse_origin_request(event) == expected


MALFORMED_WITH_AN_ID = ["malformed-viewer-request", "malformed-origin-response", "malformed-two-origins",
                        "malformed-no-origin-kind", "malformed-headers-not-object", "malformed-no-uri",
                        "malformed-uri-without-slash", "malformed-no-method"]


@pytest.mark.parametrize("name", MALFORMED_WITH_AN_ID + ["malformed-no-records"])
def test_malformed_events_get_a_generated_500_and_one_log_line(edge: Edge, name: str) -> None:
    returned = edge(load_event(name))
    assert returned["status"] == "500"
    assert returned["headers"]["cache-control"] == [{"key": "Cache-Control", "value": "no-store"}]
    (line,) = edge.log_lines()
    assert line["level"] == "ERROR" and line["error"] == "InvalidEvent"


@pytest.mark.parametrize("name", MALFORMED_WITH_AN_ID)
def test_an_unusable_event_still_answers_and_logs_with_its_request_id(edge: Edge, name: str) -> None:
    # The realistic case: the function attached to the wrong trigger, so every request through that behaviour
    # gets this answer. The id in config.requestId is readable whatever is wrong with the rest.
    event = load_event(name)
    request_id = event["Records"][0]["cf"]["config"]["requestId"]
    returned = edge(event)
    assert returned["body"].endswith(f"Request ID: {request_id}\n")
    assert [line["request_id"] for line in edge.log_lines()] == [request_id]


@pytest.mark.parametrize("event", [None, [], {"Records": [{"cf": {"config": {"requestId": 7}}}]},
                                   {"Records": [{"cf": {"config": []}}]}, {"Records": "x"}],
                         ids=["none", "list", "id-not-a-string", "config-not-an-object", "records-not-a-list"])
def test_no_readable_request_id_is_said_so(edge: Edge, event: object) -> None:
    from edge.event import request_id_of
    assert request_id_of(event) is None
    assert edge(event)["body"].endswith("Request ID: unknown\n")

