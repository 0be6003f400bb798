# The door policy's new inputs: each button's own code and open_from, the
# exit button, the tamper alarm (refusing DTMF until an authenticated reset,
# kept over restarts in door state version 3). Refusals as carefully as
# openings. Runs under pytest and under the MicroPython runner.

from intercom import config
from intercom.app.door import DoorPolicy
from machine_events import drain, event_names
from test_door import dial, rejection_reasons

FLAT1 = "sip:flat1@example.org"
FLAT2 = "sip:flat2@example.org"


def make_config(buttons=None, **door):
    section = {"code": "4711"}
    section.update(door)
    raw = {
        "sip": {"server": "192.0.2.10:5060", "domain": "example.org"},
        "call": {"targets": ["flat1", "flat2"]},
        "door": section,
    }
    if buttons is not None:
        raw["button"] = buttons
    return config.validate(raw)


SEPARATE = [
    {"id": 1, "targets": ["flat1"], "code": "1111", "open_from": ["flat1"]},
    {"id": 2, "targets": ["flat2"], "code": "2222", "open_from": ["flat2"]},
]


def answered(caller, button, saved_state=None, **door):
    policy = DoorPolicy(make_config(SEPARATE, **door), 1000, saved_state)
    policy.call_answered(caller, 1000, button)
    return policy


def test_each_button_s_call_opens_with_that_button_s_code_only():
    flat2 = answered(FLAT2, 2)
    dial(flat2, "1111", 1000)  # flat 1's code
    assert not flat2.relay_on
    assert rejection_reasons(flat2) == ["wrong_code"]
    dial(flat2, "2222", 2000)
    assert flat2.relay_on
    flat1 = answered(FLAT1, 1)
    dial(flat1, "2222", 1000)
    assert not flat1.relay_on and rejection_reasons(flat1) == ["wrong_code"]


def test_a_button_s_call_answered_by_another_flat_may_not_open():
    # button 2 rang flat 2, but flat 1 answered (a pickup, a forwarded call)
    policy = answered(FLAT1, 2)
    dial(policy, "2222#", 1000)
    dial(policy, "1111#", 7000)
    assert not policy.relay_on
    assert rejection_reasons(policy) == ["caller_not_allowed", "caller_not_allowed"]


def test_an_incoming_call_takes_the_door_wide_code_and_open_from():
    policy = answered(FLAT1, None)
    dial(policy, "1111", 1000)
    assert not policy.relay_on
    dial(policy, "4711", 7000)
    assert policy.relay_on


def test_the_next_call_does_not_keep_the_last_button_s_rules():
    policy = answered(FLAT2, 2)
    policy.call_ended(2000)
    policy.call_answered(FLAT1, 3000, 1)
    dial(policy, "2222", 3000)
    assert not policy.relay_on
    dial(policy, "1111", 9000)
    assert policy.relay_on


def test_buttons_without_their_own_code_share_the_door_s():
    policy = DoorPolicy(make_config([{"id": 1}, {"id": 2}]), 0)
    policy.call_answered(FLAT2, 0, 2)
    dial(policy, "4711", 0)
    assert policy.relay_on


def test_wrong_codes_of_every_button_count_toward_one_lockout():
    policy = answered(FLAT1, 1, max_attempts=2, hangup_after_wrong=5)
    dial(policy, "9999", 1000)
    policy.call_ended(2000)
    policy.call_answered(FLAT2, 3000, 2)
    dial(policy, "9999", 3000)
    assert policy.is_locked()
    dial(policy, "2222", 4000)
    assert not policy.relay_on and rejection_reasons(policy)[-1] == "locked_out"


def test_the_exit_button_opens_without_a_call_or_a_code():
    policy = DoorPolicy(make_config(), 0)
    policy.local_open(500)
    assert policy.relay_on and policy.get_timer() == 500 + 3000
    assert drain(policy) == [
        {
            "ts_ms": 500,
            "event": "door_opened",
            "caller": "inside",
            "source": "exit_button",
            "pulse_ms": 3000,
        }
    ]
    policy.handle_timer(3500)
    assert not policy.relay_on and event_names(policy) == ["door_closed"]


def test_a_tamper_alarm_refuses_every_dtmf_entry_until_reset():
    policy = answered(FLAT1, 1, tamper_blocks_open=True)
    policy.tamper(True, 1000)
    policy.tamper(False, 1100)
    assert [(e["event"], e["state"], e["blocks_open"]) for e in drain(policy)] == [
        ("tamper", "triggered", True),
        ("tamper", "restored", True),
    ]
    assert policy.tamper_alarm
    dial(policy, "1111", 2000)
    dial(policy, "9999", 8000)
    assert not policy.relay_on
    assert rejection_reasons(policy) == ["tamper", "tamper"]  # right and wrong alike
    assert policy.state_to_save(9000)["tamper"] is True
    assert not policy.is_locked()  # refusals in an alarm are not guesses
    assert policy.reset_tamper("http", 10000)
    assert drain(policy) == [{"ts_ms": 10000, "event": "tamper_reset", "source": "http"}]
    assert not policy.reset_tamper("http", 10001)
    dial(policy, "1111", 11000)
    assert policy.relay_on


def test_a_tamper_alarm_leaves_remote_opens_and_the_exit_button_working():
    policy = answered(FLAT1, 1, tamper_blocks_open=True)
    policy.tamper(True, 1000)
    assert policy.remote_open("mqtt", 2000)
    policy.handle_timer(6000)
    policy.local_open(7000)
    assert policy.relay_on


def test_without_tamper_blocks_open_the_alarm_is_reported_but_codes_open():
    policy = answered(FLAT1, 1)
    policy.tamper(True, 1000)
    assert policy.tamper_alarm and drain(policy)[0]["blocks_open"] is False
    dial(policy, "1111", 2000)
    assert policy.relay_on


def test_a_latched_alarm_survives_a_restart_and_a_bad_value_is_reported():
    policy = answered(FLAT1, 1, tamper_blocks_open=True)
    policy.tamper(True, 1000)
    state = policy.state_to_save(1000)
    assert state["version"] == 3 and state["tamper"] is True
    restarted = answered(FLAT1, 1, saved_state=state, tamper_blocks_open=True)
    assert restarted.tamper_alarm
    dial(restarted, "1111", 2000)
    assert not restarted.relay_on and rejection_reasons(restarted) == ["tamper"]
    state["tamper"] = "yes"
    broken = answered(FLAT1, 1, saved_state=state, tamper_blocks_open=True)
    assert not broken.tamper_alarm
    assert [e["reason"] for e in drain(broken) if e["event"] == "error"] == [
        "door state: bad tamper"
    ]
