# The doorbell state machine on a virtual clock, with a recording phone.

from intercom.app.doorbell import CALLING, ENDING, IDLE, TALKING, TONE_MS, Doorbell
from machine_events import run_timers


class RecordingPhone:
    def __init__(self):
        self.actions = []
        self.buttons = []  # the id of the button each call was placed for
        self._count = 0
        self.full = False  # True: no room for a call, call() gives None

    def call(self, target, now_ms, button):
        if self.full:
            return None
        self._count += 1
        self.buttons.append(button["id"])
        call_id = "c%d" % self._count
        self.actions.append(("call", target, call_id, now_ms))
        return call_id

    def hangup(self, call_id, now_ms):
        self.actions.append(("hangup", call_id, now_ms))

    def answer(self, call_id, now_ms):
        self.actions.append(("answer", call_id, now_ms))

    def reject(self, call_id, status, now_ms):
        self.actions.append(("reject", call_id, status, now_ms))


class RecordedEvents:
    """The doorbell's event output (the station's, in the door)."""

    def __init__(self):
        self.events = []

    def __call__(self, now_ms, name, fields):
        event = {"event": name}
        event.update(fields)
        self.events.append(event)


def make(
    mode="sequential",
    targets=("flat1", "flat2"),
    ring_timeout=30,
    max_duration=120,
    cooldown=0,
    chime_on_repeat=False,
):
    phone = RecordingPhone()
    settings = {
        "targets": list(targets),
        "mode": mode,
        "ring_timeout": ring_timeout,
        "max_duration": max_duration,
        "cooldown": cooldown,
    }
    bell = Doorbell(
        settings,
        phone,
        lambda identity: identity == "sip:flat1@example.org",
        RecordedEvents(),
        chime_on_repeat,
    )
    bell.test_button = {"id": 1, "mode": mode, "targets": list(targets)}
    return bell, phone


def press(bell, now_ms, button=None, targets=None, quiet=False):
    """A press of button (default: button 1 ringing make()'s targets)."""
    button = button or bell.test_button
    bell.button_pressed(now_ms, button, button["targets"] if targets is None else targets, quiet)


def events(bell):
    """The events the doorbell emitted since the last call."""
    out = bell.emit.events
    bell.emit.events = []
    return out


def names(bell):
    return [event["event"] for event in events(bell)]


def test_press_calls_the_first_target_and_rings_back_on_ringing():
    bell, phone = make()
    press(bell, 1000)
    assert phone.actions == [("call", "flat1", "c1", 1000)]
    assert bell.state == CALLING and bell.tone is None
    bell.on_ringing("c1", 1100)
    bell.on_ringing("c1", 1200)  # a repeated 180 is not a second ring
    assert bell.tone == "ringback"
    assert events(bell) == [
        {"event": "button", "state": "pressed", "button": 1, "quiet": False, "repeat": 0},
        {"event": "call_started", "target": "flat1", "button": 1},
        {"event": "ringing", "target": "flat1"},
    ]


def test_busy_first_target_moves_to_the_next():
    bell, phone = make()
    press(bell, 0)
    bell.on_failed("c1", "busy", 300)
    assert phone.actions[-1] == ("call", "flat2", "c2", 300)
    assert bell.get_timer() == 300 + 30000
    bell.on_answered("c2", 2000)
    assert bell.state == TALKING and bell.talking_call_id == "c2"
    assert names(bell)[-1] == "answered"


def ended(reason, duration_ms=0, detail=None, sip_code=None):
    return {
        "event": "call_ended",
        "reason": reason,
        "duration_ms": duration_ms,
        "detail": detail,
        "sip_code": sip_code,
    }


def test_ring_timeout_cancels_and_tries_the_next_then_gives_up_for_the_prompt():
    bell, phone = make(ring_timeout=20)
    press(bell, 0)
    bell.on_ringing("c1", 100)
    run_timers(bell, 20000)
    assert phone.actions[1:] == [("hangup", "c1", 20000), ("call", "flat2", "c2", 20000)]
    assert not bell.nobody_answered
    run_timers(bell, 40000)
    assert phone.actions[-1] == ("hangup", "c2", 40000)
    # nobody answered: the station plays the prompt (intercom.app.voicemail)
    assert bell.state == IDLE and bell.tone is None and bell.nobody_answered
    assert events(bell)[-1] == ended("no_answer")
    assert bell.get_timer() is None


def test_busy_wins_over_no_answer_when_every_target_failed():
    bell, phone = make()
    press(bell, 0)
    bell.on_failed("c1", "not_found", 10, 404)
    bell.on_failed("c2", "busy", 20, 486)
    assert events(bell)[-1] == ended("refused", detail="busy", sip_code=486)
    assert bell.nobody_answered and bell.tone is None


def test_a_refusal_the_phone_has_no_word_for_is_rejected_with_its_code():
    bell, phone = make(targets=("flat1",))
    press(bell, 0)
    bell.on_failed("c1", "error", 10, 500)
    assert events(bell)[-1] == ended("refused", detail="rejected", sip_code=500)


def test_no_answer_wins_over_unavailable_and_a_bad_answer_is_an_error():
    bell, phone = make(mode="parallel")
    press(bell, 0)
    bell.on_failed("c1", "unavailable", 10, 480)
    run_timers(bell, 30000)
    assert events(bell)[-1] == ended("no_answer")
    bell, phone = make(targets=("flat1",))
    press(bell, 0)
    bell.on_failed("c1", "bad_sdp", 10, 200)
    assert events(bell)[-1] == ended("error", detail="bad_sdp")
    assert bell.tone == "error" and not bell.nobody_answered


def test_parallel_rings_everyone_and_the_first_answer_wins():
    bell, phone = make(mode="parallel", targets=("flat1", "flat2", "flat3"))
    press(bell, 0)
    assert [action[1] for action in phone.actions] == ["flat1", "flat2", "flat3"]
    bell.on_failed("c3", "not_found", 50)
    bell.on_answered("c2", 900)
    assert phone.actions[3:] == [("hangup", "c1", 900)]
    assert bell.state == TALKING and bell.talking_call_id == "c2"
    bell.on_answered("c1", 950)  # the CANCEL crossed a 200: end that one too
    assert phone.actions[-1] == ("hangup", "c1", 950)
    assert bell.talking_call_id == "c2"


def test_parallel_ring_timeout_is_for_all_targets_at_once():
    bell, phone = make(mode="parallel", ring_timeout=30)
    press(bell, 0)
    run_timers(bell, 30000)
    assert sorted(phone.actions[2:]) == [("hangup", "c1", 30000), ("hangup", "c2", 30000)]
    assert bell.state == IDLE


def test_hammering_the_button_does_not_start_more_calls():
    bell, phone = make()
    press(bell, 0)
    for moment in range(10, 200, 10):
        press(bell, moment)
    assert [action[0] for action in phone.actions] == ["call"]
    assert bell.ignored_presses == 19
    bell.on_answered("c1", 500)
    press(bell, 600)
    assert bell.ignored_presses == 20 and len(phone.actions) == 1


def test_not_registered_gives_an_error_tone_and_no_call():
    bell, phone = make()
    bell.set_registered(False)
    press(bell, 0)
    assert phone.actions == [] and bell.tone == "error" and bell.state == IDLE
    assert events(bell)[-1] == ended("error", detail="not_registered")
    assert not bell.nobody_answered


def test_max_duration_warns_ten_seconds_before_and_hangs_up():
    bell, phone = make(max_duration=60)
    press(bell, 0)
    bell.on_answered("c1", 1000)
    run_timers(bell, 50999)
    assert bell.tone is None
    run_timers(bell, 51000)
    assert bell.tone == "warning"
    run_timers(bell, 61000)
    assert phone.actions[-1] == ("hangup", "c1", 61000)
    assert bell.state == ENDING
    assert events(bell)[-1] == ended("max_duration", 60000)
    bell.on_remote_ended("c1", 61100)
    assert bell.state == IDLE and events(bell) == []


def test_remote_hangup_reports_the_talk_duration():
    bell, phone = make()
    press(bell, 0)
    bell.on_answered("c1", 2000)
    bell.on_remote_ended("c1", 9500)
    assert bell.state == IDLE
    assert events(bell)[-1] == ended("remote_hangup", 7500)


def test_the_station_names_how_the_remote_ended():
    bell, phone = make()
    bell.on_incoming("in1", "sip:flat1@example.org", "sip:flat1@example.org", 100)
    bell.on_remote_ended("in1", 150, "cancelled", "remote")
    assert events(bell)[-1] == ended("cancelled", 50, "remote")


def test_door_opened_confirms_and_a_hangup_with_a_reason_ends_the_call():
    bell, phone = make()
    press(bell, 0)
    bell.on_answered("c1", 1000)
    bell.door_opened(3000)
    assert bell.tone == "confirm" and bell.state == TALKING
    run_timers(bell, 3000 + TONE_MS)
    assert bell.tone is None
    bell.hangup_requested(8000, "door_opened")
    assert phone.actions[-1] == ("hangup", "c1", 8000)
    assert events(bell)[-1] == ended("door_opened", 7000)


def test_a_hangup_command_while_talking_is_a_local_hangup():
    bell, phone = make()
    press(bell, 0)
    bell.on_answered("c1", 1000)
    bell.hangup_requested(4000, "local_hangup", "hangup")
    assert events(bell)[-1] == ended("local_hangup", 3000, "hangup")


def test_incoming_call_from_an_allowed_caller_is_answered():
    bell, phone = make()
    assert bell.on_incoming("in1", "sip:flat1@example.org", "sip:flat1@example.org", 100) is True
    assert phone.actions == [("answer", "in1", 100)]
    assert bell.state == TALKING
    assert events(bell) == [
        {"event": "incoming_call", "from": "sip:flat1@example.org", "accepted": True}
    ]


def test_incoming_call_from_anyone_else_is_refused_without_ringing():
    bell, phone = make()
    assert (
        bell.on_incoming("in1", "sip:mallory@example.org", "sip:mallory@example.org", 100) is False
    )
    assert phone.actions == [("reject", "in1", 403, 100)]
    assert bell.state == IDLE and bell.tone is None


def test_incoming_call_without_an_identity_is_refused():
    bell, phone = make()
    assert bell.on_incoming("in1", "sip:flat1@example.org", None, 100) is False
    assert phone.actions == [("reject", "in1", 403, 100)]
    assert events(bell)[-1]["accepted"] is False


def test_a_target_without_room_for_its_call_fails_as_an_error():
    bell, phone = make(mode="parallel")
    phone.full = True
    press(bell, 0)
    assert bell.state == IDLE and bell.tone == "error"
    assert events(bell)[-1] == ended("error", detail="no_room")


def test_incoming_call_while_busy_gets_486():
    bell, phone = make()
    press(bell, 0)
    assert bell.on_incoming("in1", "sip:flat1@example.org", "sip:flat1@example.org", 100) is False
    assert phone.actions[-1] == ("reject", "in1", 486, 100)
    assert bell.state == CALLING


def test_local_hangup_while_calling_cancels_and_reports():
    bell, phone = make(mode="parallel")
    press(bell, 0)
    bell.hangup_requested(400, "local_hangup", "hangup")
    assert sorted(phone.actions[2:]) == [("hangup", "c1", 400), ("hangup", "c2", 400)]
    assert events(bell)[-1] == ended("cancelled", detail="hangup")
    assert not bell.nobody_answered


# -- several buttons, repeated presses, cooldown, quiet hours, chime ----------------

FLAT2_BUTTON = {"id": 2, "mode": "parallel", "targets": ["flat2a", "flat2b"]}


def test_each_press_rings_its_own_button_s_targets_in_its_mode():
    bell, phone = make(mode="sequential")
    press(bell, 0, FLAT2_BUTTON)
    assert [action[1] for action in phone.actions] == ["flat2a", "flat2b"]  # parallel
    assert phone.buttons == [2, 2] and bell.button is FLAT2_BUTTON
    started = [event for event in events(bell) if event["event"] == "call_started"]
    assert [(event["target"], event["button"]) for event in started] == [
        ("flat2a", 2),
        ("flat2b", 2),
    ]


def test_presses_during_a_call_count_repeats_and_never_call():
    bell, phone = make()
    press(bell, 0)
    press(bell, 100)
    press(bell, 200, FLAT2_BUTTON)  # another flat's button: the door has one call
    bell.on_answered("c1", 300)
    press(bell, 400)
    pressed = [event for event in events(bell) if event["event"] == "button"]
    assert [(event["button"], event["repeat"]) for event in pressed] == [
        (1, 0),
        (1, 1),
        (2, 2),
        (1, 3),
    ]
    assert phone.buttons == [1]
    bell.on_remote_ended("c1", 1000)
    press(bell, 2000)
    assert events(bell)[-2]["repeat"] == 0 and phone.buttons == [1, 1]


def test_the_cooldown_after_a_call_turns_presses_into_repeats():
    bell, phone = make(cooldown=10)
    press(bell, 0)
    bell.on_answered("c1", 1000)
    bell.on_remote_ended("c1", 5000)
    assert bell.get_timer() == 15000
    press(bell, 14999)
    assert events(bell)[-1]["repeat"] == 1 and len(phone.buttons) == 1
    assert bell.state == IDLE
    run_timers(bell, 15000)
    press(bell, 15000)
    assert events(bell)[-2]["repeat"] == 0 and len(phone.buttons) == 2


def test_the_cooldown_follows_unanswered_and_incoming_calls_too():
    bell, phone = make(cooldown=5, ring_timeout=10, targets=("flat1",))
    press(bell, 0)
    run_timers(bell, 10000)  # nobody answered
    press(bell, 12000)
    assert phone.buttons == [1]
    run_timers(bell, 15000)
    assert bell.on_incoming("in1", "sip:flat1@example.org", "sip:flat1@example.org", 16000)
    bell.on_remote_ended("in1", 17000)
    press(bell, 21999)
    assert phone.buttons == [1]
    run_timers(bell, 22000)
    press(bell, 22000)
    assert phone.buttons == [1, 1]


def test_a_quiet_press_without_targets_is_an_event_only():
    bell, phone = make()
    press(bell, 0, targets=[], quiet=True)
    assert phone.actions == [] and bell.state == IDLE and not bell.chime_due
    assert events(bell) == [
        {"event": "button", "state": "pressed", "button": 1, "quiet": True, "repeat": 0}
    ]
    press(bell, 10, targets=["night-phone"], quiet=True)
    assert phone.actions[-1][1] == "night-phone" and not bell.chime_due


def test_the_chime_is_due_for_a_calling_press_and_for_repeats_only_when_asked():
    bell, _ = make()
    press(bell, 0)
    assert bell.chime_due
    bell.chime_due = False
    press(bell, 100)
    assert not bell.chime_due
    again, _ = make(chime_on_repeat=True)
    press(again, 0)
    again.chime_due = False
    press(again, 100)
    assert again.chime_due
    again.chime_due = False
    press(again, 200, quiet=True, targets=[])
    assert not again.chime_due
    bell.play_chime(300)
    assert bell.tone == "chime"


def test_the_door_opening_while_ringing_cancels_every_phone_still_ringing():
    bell, phone = make(mode="parallel")
    press(bell, 0)
    bell.on_ringing("c1", 100)
    events(bell)
    bell.hangup_requested(2000, "door_opened")
    assert sorted(phone.actions[2:]) == [("hangup", "c1", 2000), ("hangup", "c2", 2000)]
    assert bell.state == IDLE
    assert events(bell) == [ended("door_opened")]
