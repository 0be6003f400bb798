# The doorbell state machine on a virtual clock, with a recording phone.

from intercom.app.doorbell import CALLING, ENDING, IDLE, TALKING, TONE_MS, Doorbell


class RecordingPhone:
    def __init__(self):
        self.actions = []
        self._count = 0
        self.full = False  # True: no room for a call, call() gives None

    def call(self, target, now_ms):
        if self.full:
            return None
        self._count += 1
        call_id = "c%d" % self._count
        self.actions.append(("call", target, call_id, now_ms))
        return call_id

    def hangup(self, call_id, now_ms):
        self.actions.append(("hangup", call_id, now_ms))

    def answer(self, call_id, now_ms):
        self.actions.append(("answer", call_id, now_ms))

    def reject(self, call_id, status, now_ms):
        self.actions.append(("reject", call_id, status, now_ms))


def make(mode="sequential", targets=("flat1", "flat2"), ring_timeout=30, max_duration=120):
    phone = RecordingPhone()
    settings = {
        "targets": list(targets),
        "mode": mode,
        "ring_timeout": ring_timeout,
        "max_duration": max_duration,
    }
    bell = Doorbell(settings, phone, lambda identity: identity == "sip:flat1@example.org")
    return bell, phone


def events(bell):
    out = []
    event = bell.next_event()
    while event is not None:
        out.append(event)
        event = bell.next_event()
    return out


def names(bell):
    return [event["event"] for event in events(bell)]


def advance(bell, now_ms):
    deadline = bell.get_timer()
    while deadline is not None and deadline <= now_ms:
        bell.handle_timer(deadline)
        deadline = bell.get_timer()


def test_press_calls_the_first_target_and_rings_back_on_ringing():
    bell, phone = make()
    bell.button_pressed(1000)
    assert phone.actions == [("call", "flat1", "c1", 1000)]
    assert bell.state == CALLING and bell.tone is None
    bell.on_ringing("c1", 1100)
    bell.on_ringing("c1", 1200)  # a repeated 180 is not a second ring
    assert bell.tone == "ringback"
    assert events(bell) == [
        {"event": "button", "state": "pressed"},
        {"event": "call_started", "target": "flat1"},
        {"event": "ringing", "target": "flat1"},
    ]


def test_busy_first_target_moves_to_the_next():
    bell, phone = make()
    bell.button_pressed(0)
    bell.on_failed("c1", "busy", 300)
    assert phone.actions[-1] == ("call", "flat2", "c2", 300)
    assert bell.get_timer() == 300 + 30000
    bell.on_answered("c2", 2000)
    assert bell.state == TALKING and bell.talking_call_id == "c2"
    assert names(bell)[-1] == "answered"


def test_ring_timeout_cancels_and_tries_the_next_then_gives_up_with_an_error_tone():
    bell, phone = make(ring_timeout=20)
    bell.button_pressed(0)
    bell.on_ringing("c1", 100)
    advance(bell, 20000)
    assert phone.actions[1:] == [("hangup", "c1", 20000), ("call", "flat2", "c2", 20000)]
    advance(bell, 40000)
    assert phone.actions[-1] == ("hangup", "c2", 40000)
    assert bell.state == IDLE and bell.tone == "error"
    assert events(bell)[-1] == {"event": "call_ended", "reason": "no_answer", "duration_ms": 0}
    advance(bell, 40000 + TONE_MS)
    assert bell.tone is None and bell.get_timer() is None


def test_busy_wins_over_no_answer_when_every_target_failed():
    bell, phone = make()
    bell.button_pressed(0)
    bell.on_failed("c1", "busy", 10)
    bell.on_failed("c2", "not_found", 20)
    assert events(bell)[-1]["reason"] == "busy"


def test_parallel_rings_everyone_and_the_first_answer_wins():
    bell, phone = make(mode="parallel", targets=("flat1", "flat2", "flat3"))
    bell.button_pressed(0)
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
    bell.button_pressed(0)
    advance(bell, 30000)
    assert sorted(phone.actions[2:]) == [("hangup", "c1", 30000), ("hangup", "c2", 30000)]
    assert bell.state == IDLE


def test_hammering_the_button_does_not_start_more_calls():
    bell, phone = make()
    bell.button_pressed(0)
    for moment in range(10, 200, 10):
        bell.button_pressed(moment)
    assert [action[0] for action in phone.actions] == ["call"]
    assert bell.ignored_presses == 19
    bell.on_answered("c1", 500)
    bell.button_pressed(600)
    assert bell.ignored_presses == 20 and len(phone.actions) == 1


def test_not_registered_gives_an_error_tone_and_no_call():
    bell, phone = make()
    bell.set_registered(False)
    bell.button_pressed(0)
    assert phone.actions == [] and bell.tone == "error" and bell.state == IDLE
    assert events(bell)[-1] == {"event": "call_ended", "reason": "not_registered", "duration_ms": 0}


def test_max_duration_warns_ten_seconds_before_and_hangs_up():
    bell, phone = make(max_duration=60)
    bell.button_pressed(0)
    bell.on_answered("c1", 1000)
    advance(bell, 50999)
    assert bell.tone is None
    advance(bell, 51000)
    assert bell.tone == "warning"
    advance(bell, 61000)
    assert phone.actions[-1] == ("hangup", "c1", 61000)
    assert bell.state == ENDING
    assert events(bell)[-1] == {
        "event": "call_ended",
        "reason": "max_duration",
        "duration_ms": 60000,
    }
    bell.on_remote_ended("c1", 61100)
    assert bell.state == IDLE and events(bell) == []


def test_remote_hangup_reports_the_talk_duration():
    bell, phone = make()
    bell.button_pressed(0)
    bell.on_answered("c1", 2000)
    bell.on_remote_ended("c1", 9500)
    assert bell.state == IDLE
    assert events(bell)[-1] == {
        "event": "call_ended",
        "reason": "remote_hangup",
        "duration_ms": 7500,
    }


def test_door_opened_confirms_and_a_hangup_with_a_reason_ends_the_call():
    bell, phone = make()
    bell.button_pressed(0)
    bell.on_answered("c1", 1000)
    bell.door_opened(3000)
    assert bell.tone == "confirm" and bell.state == TALKING
    advance(bell, 3000 + TONE_MS)
    assert bell.tone is None
    bell.hangup_requested(8000, "door_opened")
    assert phone.actions[-1] == ("hangup", "c1", 8000)
    assert events(bell)[-1] == {"event": "call_ended", "reason": "door_opened", "duration_ms": 7000}


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


def test_a_target_without_room_for_its_call_fails_as_unavailable():
    bell, phone = make(mode="parallel")
    phone.full = True
    bell.button_pressed(0)
    assert bell.state == IDLE
    assert events(bell)[-1] == {"event": "call_ended", "reason": "unavailable", "duration_ms": 0}


def test_incoming_call_while_busy_gets_486():
    bell, phone = make()
    bell.button_pressed(0)
    assert bell.on_incoming("in1", "sip:flat1@example.org", "sip:flat1@example.org", 100) is False
    assert phone.actions[-1] == ("reject", "in1", 486, 100)
    assert bell.state == CALLING


def test_local_hangup_while_calling_cancels_and_reports():
    bell, phone = make(mode="parallel")
    bell.button_pressed(0)
    bell.hangup_requested(400)
    assert sorted(phone.actions[2:]) == [("hangup", "c1", 400), ("hangup", "c2", 400)]
    assert events(bell)[-1] == {"event": "call_ended", "reason": "local_hangup", "duration_ms": 0}
