# Events: the names from the contract, the dict shape and the JSON line.
# Runs under pytest and under the MicroPython runner.

import json

from intercom import events

CONTRACT_NAMES = (
    "started registered registration_failed button call_started ringing answered call_ended "
    "incoming_call dtmf door_opened door_closed code_rejected lockout error"
)


def test_every_contract_name_is_known():
    for name in CONTRACT_NAMES.split():
        assert name in events.EVENT_NAMES
    assert events.CALL_ENDED == "call_ended"
    assert events.INCOMING_CALL == "incoming_call"


def test_event_starts_with_ts_ms_and_name():
    event = events.make_event(1234, events.BUTTON, {"state": "pressed"})
    assert event == {"ts_ms": 1234, "event": "button", "state": "pressed"}
    assert events.make_event(5, events.RINGING) == {"ts_ms": 5, "event": "ringing"}


def test_helpers_fill_the_contract_fields():
    assert events.call_started(1, "sip:flat1@example.org")["target"] == "sip:flat1@example.org"
    ended = events.call_ended(2, "remote_hangup", 4500)
    assert (ended["reason"], ended["duration_ms"]) == ("remote_hangup", 4500)
    assert (ended["detail"], ended["sip_code"], ended["media"]) == (None, None, None)
    refused = events.call_ended(2, "refused", 0, "busy", 486)
    assert (refused["detail"], refused["sip_code"]) == ("busy", 486)
    incoming = events.incoming_call(3, "sip:flat1@example.org", True)
    assert incoming == {
        "ts_ms": 3,
        "event": "incoming_call",
        "from": "sip:flat1@example.org",
        "accepted": True,
    }
    assert events.dtmf(4, "#", "inband", show_digit=True) == {
        "ts_ms": 4,
        "event": "dtmf",
        "digit": "#",
        "source": "inband",
    }
    assert events.code_rejected(5, "wrong_code", 2)["attempts"] == 2
    assert events.lockout(6, 300000, 3)["duration_ms"] == 300000
    assert events.error(7, "no audio")["reason"] == "no audio"


def test_dtmf_digits_are_masked_unless_shown():
    for digit in "0123456789*#ABCD":
        assert events.dtmf(4, digit, "rfc4733")["digit"] == events.MASKED_DIGIT == "*"
        assert events.dtmf(4, digit, "info", show_digit=True)["digit"] == digit


def test_long_text_fields_are_cut_to_max_text():
    exact = "x" * events.MAX_TEXT
    assert events.make_event(1, events.ERROR, {"reason": exact})["reason"] == exact
    cut = events.incoming_call(2, "sip:" + "y" * 5000 + "@192.0.2.1", False)["from"]
    assert len(cut) == events.MAX_TEXT and cut == "sip:" + "y" * (events.MAX_TEXT - 7) + "..."
    # Other values pass untouched.
    event = events.make_event(3, events.ERROR, {"reason": "r", "detail": ["z" * 1000]})
    assert event["detail"] == ["z" * 1000]


def test_misuse_raises():
    for bad in (
        lambda: events.make_event(0, "doorbell"),
        lambda: events.make_event(0, events.BUTTON, {"event": "x"}),
        lambda: events.make_event(0, events.BUTTON, {"ts_ms": 1}),
        lambda: events.dtmf(0, "1", "sms"),
        lambda: events.call_ended(0, "busy", 0),  # a detail, not a reason
    ):
        try:
            bad()
        except ValueError:
            continue
        raise AssertionError("no ValueError")


def test_format_line_is_one_json_object():
    line = events.format_line(events.make_event(10, events.CALL_ENDED, {"reason": "x", "n": 3}))
    assert "\n" not in line
    assert json.loads(line) == {"ts_ms": 10, "event": "call_ended", "reason": "x", "n": 3}
    assert line == '{"ts_ms": 10, "event": "call_ended", "n": 3, "reason": "x"}'


def test_format_line_sorts_nested_keys():
    event = events.make_event(1, events.ERROR, {"reason": "x", "detail": {"b": [1, None], "a": 2}})
    line = events.format_line(event)
    assert line == (
        '{"ts_ms": 1, "event": "error", "detail": {"a": 2, "b": [1, null]}, "reason": "x"}'
    )


def test_format_line_is_ascii_and_identical_on_every_interpreter():
    event = events.incoming_call(1, 'T\u00fcr "\u00e4" \U0001f6aa\n', False)
    line = events.format_line(event)
    assert line == (
        '{"ts_ms": 1, "event": "incoming_call", '
        '"accepted": false, "from": "T\\u00fcr \\"\\u00e4\\" \\ud83d\\udeaa\\n"}'
    )
    # MicroPython's json.loads does not join surrogate pairs: read back a
    # line without characters above U+FFFF.
    plain = events.incoming_call(1, "T\u00fcr \u20ac", True)
    assert json.loads(events.format_line(plain)) == plain
