# What the door's events say about the door code and about peer text:
# every dtmf event's digit is masked ("*") unless device.show_dtmf_digits
# (a debug option) is on, so no sink (event log, MQTT, webhooks, call log,
# status page) ever gets the code; and peer text (From, display names,
# reason phrases) is cut to events.MAX_TEXT characters before any sink.

from intercom import events
from station_harness import Pair, door_config


def dtmf_events(pair):
    return [event for event in pair.events["door"] if event["event"] == "dtmf"]


def test_the_door_masks_every_digit_by_default_and_the_code_still_opens():
    pair = Pair()
    pair.press(pair.door, 1000)
    pair.flat.media.send_digits("1234")
    pair.run(1500)
    digits = dtmf_events(pair)
    assert [event["digit"] for event in digits] == ["*"] * 4
    assert [event["source"] for event in digits] == ["rfc4733"] * 4
    assert pair.door.relay_on is True
    for event in pair.events["door"]:
        assert "1234" not in events.format_line(event)


def test_info_digits_are_masked_too():
    pair = Pair()
    pair.press(pair.door, 1000)
    pair.flat_sends_info("7", 160)
    assert [(e["digit"], e["source"]) for e in dtmf_events(pair)] == [("*", "info")]


def test_the_debug_option_shows_the_digits():
    config = door_config()
    config["device"]["show_dtmf_digits"] = True
    pair = Pair(door_cfg=config)
    pair.press(pair.door, 1000)
    pair.flat.media.send_digits("1234")
    pair.run(1500)
    assert [event["digit"] for event in dtmf_events(pair)] == list("1234")


def test_a_huge_caller_uri_is_cut_in_the_event():
    config = door_config()
    config["call"]["answer_from"] = ["sip:flat1@127.0.0.1"]
    pair = Pair(door_cfg=config)
    pair.flat.agent.settings.user = "mallory" * 100  # a long From (MicroPython reads 4 KiB)
    pair.press(pair.flat, 600)
    incoming = pair.first("door", "incoming_call")
    assert incoming["accepted"] is False
    assert len(incoming["from"]) == events.MAX_TEXT
    assert incoming["from"].startswith("sip:mallorymallory")
    assert incoming["from"].endswith("...")
    for event in pair.events["door"]:
        for value in event.values():
            assert not isinstance(value, str) or len(value) <= events.MAX_TEXT
