# The door policy on a virtual clock: every refusal leaves the relay off,
# the right code from an allowed caller opens it for exactly the pulse.
# Runs under pytest and under the MicroPython runner.

from intercom import config
from intercom.app.door import ENTRY_TIMEOUT_MS, DoorPolicy, constant_time_equal
from intercom.compat import TICKS_PERIOD, ticks_add
from machine_events import drain, event_names

RESIDENT = "sip:flat1@example.org"


def make_config(**door):
    section = {"code": "4711", "open_from": ["flat1", "sip:flat2@192.0.2.7"]}
    section.update(door)
    return config.validate(
        {
            "sip": {"server": "192.0.2.10:5060", "domain": "example.org"},
            "call": {"targets": ["flat1"]},
            "door": section,
        }
    )


def dial(policy, keys, now_ms, source="rfc4733"):
    for key in keys:
        policy.receive_digit(key, source, now_ms)


def answered(caller=RESIDENT, now_ms=1000, saved_state=None, **door):
    policy = DoorPolicy(make_config(**door), now_ms, saved_state)
    policy.call_answered(caller, now_ms)
    return policy


def rejection_reasons(policy):
    return [event["reason"] for event in drain(policy) if event["event"] == "code_rejected"]


# -- successes -----------------------------------------------------------------


def test_right_code_opens_for_exactly_the_pulse():
    policy = answered(pulse=3)
    dial(policy, "4711", 1000)
    assert policy.relay_on
    opened = drain(policy)
    assert [event["event"] for event in opened] == ["door_opened"]
    assert opened[0]["caller"] == "flat1@example.org"
    assert opened[0]["pulse_ms"] == 3000
    assert policy.get_timer() == 1000 + 3000
    policy.handle_timer(1000 + 2999)
    assert policy.relay_on
    assert drain(policy) == []
    policy.handle_timer(1000 + 3000)
    assert not policy.relay_on
    closed = drain(policy)
    assert [event["event"] for event in closed] == ["door_closed"]
    assert closed[0]["ts_ms"] == 4000


def test_each_dtmf_source_opens():
    for source in ("rfc4733", "info", "inband"):
        policy = answered()
        dial(policy, "4711", 1000, source)
        assert policy.relay_on, source
        assert drain(policy)[0]["source"] == source


def test_digits_from_mixed_sources_make_one_entry():
    policy = answered()
    policy.receive_digit("4", "rfc4733", 1000)
    policy.receive_digit("7", "info", 1100)
    policy.receive_digit("1", "inband", 1200)
    policy.receive_digit("1", "inband", 1300)  # typed twice: counts twice
    assert policy.relay_on


def test_code_followed_by_hash_opens_once():
    policy = answered()
    dial(policy, "4711#", 1000)
    assert event_names(policy) == ["door_opened"]
    assert policy.relay_on


def test_code_with_letters_opens_and_lower_case_keys_count():
    policy = answered(code="12AB")
    dial(policy, "12ab", 1000)
    assert policy.relay_on


def test_uri_entry_in_open_from_opens_for_that_caller():
    policy = answered(caller='"Flat 2" <sip:flat2@192.0.2.7:5062;transport=udp>;tag=9')
    dial(policy, "4711", 1000)
    assert policy.relay_on


def test_bare_user_matches_at_the_server_host_too():
    policy = answered(caller="<sip:flat1@192.0.2.10>")
    dial(policy, "4711", 1000)
    assert policy.relay_on


def test_relay_turns_off_by_its_own_timer_after_hang_up():
    policy = answered(pulse=2)
    dial(policy, "4711", 1000)
    policy.call_ended(1500)
    assert policy.relay_on
    policy.handle_timer(3000)
    assert not policy.relay_on
    assert event_names(policy) == ["door_opened", "door_closed"]


def test_relay_pulse_across_the_ticks_wrap():
    start = TICKS_PERIOD - 1000
    policy = answered(now_ms=start, pulse=3)
    dial(policy, "4711", start)
    assert policy.get_timer() == ticks_add(start, 3000) == 2000
    policy.handle_timer(1999)
    assert policy.relay_on
    policy.handle_timer(2000)
    assert not policy.relay_on


def test_hangup_is_due_after_hangup_after_open():
    policy = answered(hangup_after_open=5, pulse=3)
    dial(policy, "4711", 1000)
    policy.handle_timer(4000)
    assert not policy.hangup_due
    assert policy.get_timer() == 6000
    policy.handle_timer(5999)
    assert not policy.hangup_due
    policy.handle_timer(6000)
    assert policy.hangup_due
    policy.call_ended(6010)
    assert not policy.hangup_due
    assert policy.get_timer() is None


def test_hangup_after_open_zero_keeps_the_call():
    policy = answered(hangup_after_open=0, pulse=3)
    dial(policy, "4711", 1000)
    policy.handle_timer(4000)
    assert policy.get_timer() is None
    assert not policy.hangup_due


# -- refusals ------------------------------------------------------------------


def test_wrong_code_is_rejected_and_counted():
    policy = answered()
    dial(policy, "4712", 1000)
    assert not policy.relay_on
    rejected = drain(policy)
    assert [(e["event"], e["reason"], e["attempts"]) for e in rejected] == [
        ("code_rejected", "wrong_code", 1)
    ]


def test_a_long_stream_is_cut_into_entries_of_code_length():
    # "1234711" contains the code, but as entries "1234" and "711": no opening.
    policy = answered()
    dial(policy, "1234711", 1000)
    assert not policy.relay_on
    assert rejection_reasons(policy) == ["wrong_code"]
    policy.handle_timer(1000 + ENTRY_TIMEOUT_MS)
    assert rejection_reasons(policy) == ["too_short"]
    assert not policy.relay_on


def test_short_entry_ended_by_hash_or_star_is_too_short_and_not_counted():
    policy = answered(max_attempts=1)
    dial(policy, "47#", 1000)
    dial(policy, "4*", 1100)
    assert rejection_reasons(policy) == ["too_short", "too_short"]
    assert not policy.is_locked()
    dial(policy, "4711", 1200)
    assert policy.relay_on


def test_terminator_alone_is_ignored():
    policy = answered()
    dial(policy, "##*", 1000)
    assert drain(policy) == []


def test_pause_between_digits_ends_the_entry():
    policy = answered()
    dial(policy, "47", 1000)
    assert policy.get_timer() == 1000 + ENTRY_TIMEOUT_MS
    policy.handle_timer(1000 + ENTRY_TIMEOUT_MS)
    assert rejection_reasons(policy) == ["too_short"]
    dial(policy, "11", 7000)
    assert not policy.relay_on
    policy.handle_timer(7000 + ENTRY_TIMEOUT_MS)
    assert rejection_reasons(policy) == ["too_short"]


def test_pause_ends_the_entry_even_when_no_timer_ran():
    policy = answered()
    dial(policy, "47", 1000)
    dial(policy, "11", 1000 + ENTRY_TIMEOUT_MS)
    assert not policy.relay_on
    assert rejection_reasons(policy) == ["too_short"]


def test_pause_just_short_of_the_timeout_keeps_the_entry():
    policy = answered()
    dial(policy, "47", 1000)
    policy.handle_timer(1000 + ENTRY_TIMEOUT_MS - 1)
    dial(policy, "11", 1000 + ENTRY_TIMEOUT_MS - 1)
    assert policy.relay_on


def test_caller_not_in_open_from_is_refused():
    policy = answered(caller="sip:visitor@example.org")
    dial(policy, "4711#", 1000)
    assert not policy.relay_on
    assert rejection_reasons(policy) == ["caller_not_allowed"]


def test_refused_caller_cannot_cause_a_lockout():
    policy = answered(caller="sip:visitor@example.org", max_attempts=1)
    dial(policy, "0000#1111#", 1000)
    assert rejection_reasons(policy) == ["caller_not_allowed", "caller_not_allowed"]
    policy.call_answered(RESIDENT, 2000)
    dial(policy, "4711", 2000)
    assert policy.relay_on


def test_refused_caller_does_not_learn_the_code_length():
    policy = answered(caller="sip:visitor@example.org")
    dial(policy, "471147114711471", 1000)
    assert drain(policy) == []
    dial(policy, "1", 1000)
    assert rejection_reasons(policy) == ["caller_not_allowed"]


def test_display_name_cannot_spoof_an_allowed_caller():
    for caller in (
        '"flat1" <sip:evil@attacker.test>',
        "flat1 <sip:evil@attacker.test>",
        '"<sip:flat1@example.org>" <sip:evil@attacker.test>',
        '"sip:flat1@example.org" <sip:evil@attacker.test>',
    ):
        policy = answered(caller=caller)
        dial(policy, "4711#", 1000)
        assert not policy.relay_on, caller
        assert rejection_reasons(policy) == ["caller_not_allowed"], caller


def test_uri_parameters_and_lookalikes_cannot_spoof_an_allowed_caller():
    for caller in (
        "sip:evil@attacker.test;user=flat1",
        "sip:evil@attacker.test;maddr=example.org",
        "sip:evil@attacker.test?to=flat1@example.org",
        "sip:flat1@example.org.attacker.test",
        "sip:flat1@attacker.test",
        "sip:flat1:secret@example.org",
        "sip:flat1@example.org@attacker.test",
        "sip:Flat1@example.org",
        "tel:flat1",
        "flat1",
        "sip:example.org",
        "<sip:flat1@example.org",
        '"unterminated <sip:flat1@example.org>',
        "",
    ):
        policy = answered(caller=caller)
        dial(policy, "4711", 1000)
        assert not policy.relay_on, caller


def test_case_of_host_and_scheme_and_escapes_do_not_matter():
    for caller in ("SIP:flat1@EXAMPLE.ORG", "sips:flat1@example.org", "sip:fl%61t1@example.org"):
        policy = answered(caller=caller)
        dial(policy, "4711", 1000)
        assert policy.relay_on, caller


def test_digits_before_answer_are_refused():
    policy = DoorPolicy(make_config(), 0)
    dial(policy, "4711", 500)
    assert rejection_reasons(policy) == ["no_call"] * 4
    policy.call_answered(RESIDENT, 1000)
    dial(policy, "#", 1000)
    assert drain(policy) == []
    assert not policy.relay_on


def test_digits_after_hang_up_are_refused():
    policy = answered()
    dial(policy, "47", 1000)
    policy.call_ended(1200)
    dial(policy, "11", 1300)
    assert not policy.relay_on
    assert rejection_reasons(policy) == ["no_call", "no_call"]


def test_digits_split_across_calls_do_not_combine():
    policy = answered()
    dial(policy, "47", 1000)
    policy.call_ended(1200)
    policy.call_answered(RESIDENT, 2000)
    dial(policy, "11", 2100)
    assert not policy.relay_on
    policy.handle_timer(2100 + ENTRY_TIMEOUT_MS)
    assert rejection_reasons(policy) == ["too_short"]


def test_without_a_code_nothing_opens():
    policy = DoorPolicy(config.validate({"call": {"targets": ["sip:flat1@example.org"]}}), 0, None)
    policy.call_answered(RESIDENT, 0)
    dial(policy, "1234#", 0)
    assert not policy.relay_on
    assert rejection_reasons(policy) == ["no_code"]


def test_garbage_digits_are_dropped_and_counted():
    policy = answered()
    for digit in ("E", "", "47", None, 4, "x"):
        policy.receive_digit(digit, "rfc4733", 1000)
    assert policy.ignored_digits == 6
    assert drain(policy) == []
    dial(policy, "4711", 1000)
    assert policy.relay_on


# -- lockout -------------------------------------------------------------------


def test_max_attempts_wrong_codes_lock_out_even_the_right_code():
    policy = answered(max_attempts=3, lockout=300)
    dial(policy, "0000", 1000)
    dial(policy, "1111", 2000)
    dial(policy, "2222", 3000)
    out = drain(policy)
    assert [e["event"] for e in out] == ["code_rejected"] * 3 + ["lockout"]
    assert [e.get("attempts") for e in out] == [1, 2, 3, 3]
    assert out[3]["duration_ms"] == 300000
    assert policy.is_locked()
    dial(policy, "4711", 4000)
    assert not policy.relay_on
    assert rejection_reasons(policy) == ["locked_out"]


def test_lockout_ends_after_lockout_seconds():
    policy = answered(max_attempts=2, lockout=60)
    dial(policy, "00001111", 1000)
    assert policy.get_timer() == 61000
    policy.handle_timer(60999)
    assert policy.is_locked()
    policy.handle_timer(61000)
    assert not policy.is_locked()
    dial(policy, "4711", 61000)
    assert policy.relay_on


def test_right_code_after_the_lockout_without_a_timer_call_opens():
    policy = answered(max_attempts=1, lockout=60)
    dial(policy, "0000", 1000)
    dial(policy, "4711", 61000)
    assert policy.relay_on


def test_attempts_during_a_lockout_renew_it():
    policy = answered(max_attempts=2, lockout=60)
    dial(policy, "00001111", 1000)
    drain(policy)
    dial(policy, "47114711", 30000)
    out = drain(policy)
    assert [e["event"] for e in out] == ["code_rejected", "code_rejected", "lockout"]
    assert out[-1]["duration_ms"] == 120000  # the second lockout: doubled
    policy.handle_timer(61000)
    assert policy.is_locked()
    dial(policy, "4711", 61000)
    assert not policy.relay_on
    policy.handle_timer(150000)
    dial(policy, "4711", 150000)
    assert policy.relay_on


def test_failures_older_than_the_window_expire():
    policy = answered(max_attempts=2, lockout=60, lockout_max=120)
    dial(policy, "0000", 1000)
    policy.handle_timer(121000)
    dial(policy, "1111", 121000)
    assert not policy.is_locked()
    assert [e["attempts"] for e in drain(policy)] == [1, 1]


def test_failures_persist_and_count_after_a_restart():
    policy = answered(max_attempts=3, lockout=300, lockout_max=300)
    dial(policy, "0000", 1000)
    dial(policy, "1111", 2000)
    state = policy.state_to_save(2000)
    assert state == {
        "version": 3,
        "lockout_remaining_ms": 0,
        "failures_remaining_ms": [299000, 300000],
        "lockouts": 0,
        "step_back_remaining_ms": 0,
        "tamper": False,
    }
    assert policy.state_to_save(2000) is None
    restarted = answered(now_ms=5, saved_state=state, max_attempts=3, lockout=300)
    dial(restarted, "2222", 10)
    assert restarted.is_locked()
    assert event_names(restarted) == ["code_rejected", "lockout"]


def test_lockout_survives_a_restart_for_the_remaining_time():
    policy = answered(max_attempts=2, lockout=300)
    dial(policy, "00001111", 1000)
    state = policy.state_to_save(101000)
    assert state["lockout_remaining_ms"] == 200000
    restarted = answered(now_ms=0, saved_state=state, max_attempts=2, lockout=300)
    dial(restarted, "4711", 100)
    assert not restarted.relay_on
    assert rejection_reasons(restarted) == ["locked_out"]
    assert restarted.is_locked()
    restarted.handle_timer(200000)
    assert not restarted.is_locked()
    assert restarted.state_to_save(200000)["lockout_remaining_ms"] == 0
    dial(restarted, "4711", 200000)
    assert restarted.relay_on


def test_end_of_lockout_and_expiry_mark_the_state_for_saving():
    policy = answered(max_attempts=2, lockout=60, lockout_max=60)
    dial(policy, "0000", 1000)
    assert policy.state_to_save(1000)["failures_remaining_ms"] == [60000]
    policy.handle_timer(61000)
    assert policy.state_to_save(61000)["failures_remaining_ms"] == []


def test_saved_state_is_clamped_and_garbage_is_reported():
    long_lock = {"version": 1, "lockout_remaining_ms": 10**9, "failures_remaining_ms": []}
    policy = answered(now_ms=0, saved_state=long_lock, lockout=60, lockout_max=600)
    assert policy.get_timer() == 600000  # no lockout lasts longer than lockout_max
    for state in ("junk", {"version": 99}, {"version": 1, "lockout_remaining_ms": True}):
        policy = answered(now_ms=0, saved_state=state)
        assert "error" in event_names(policy)
        dial(policy, "4711", 0)
        assert policy.relay_on


def test_saved_failures_at_max_attempts_lock_at_boot():
    state = {"version": 1, "lockout_remaining_ms": 0, "failures_remaining_ms": [5000, 6000]}
    policy = answered(now_ms=0, saved_state=state, max_attempts=2, lockout=60)
    assert policy.is_locked()
    dial(policy, "4711", 0)
    assert not policy.relay_on


# -- constant-time compare -----------------------------------------------------


class CountingBytes:
    def __init__(self, data):
        self.data = data
        self.reads = 0

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        self.reads += 1
        return self.data[index]


def test_constant_time_equal_answers():
    assert constant_time_equal(b"", b"")
    assert constant_time_equal(b"4711", b"4711")
    assert not constant_time_equal(b"4711", b"4712")
    assert not constant_time_equal(b"4711", b"471")
    assert not constant_time_equal(b"", b"\x00")
    assert not constant_time_equal(b"\x00\x00", b"\x00")


def test_constant_time_equal_reads_every_byte_wherever_they_differ():
    reference = bytes(range(32))
    for position in (0, 1, 16, 31, None):
        other = bytearray(reference)
        if position is not None:
            other[position] ^= 0xFF
        left = CountingBytes(reference)
        right = CountingBytes(bytes(other))
        assert constant_time_equal(left, right) == (position is None)
        assert left.reads == 32, position
        assert right.reads == 32, position


# -- remote open (mqtt/http allow_open) ------------------------------------------------


def test_remote_open_pulses_the_relay_without_a_call_and_says_who():
    policy = DoorPolicy(make_config(pulse=2), 1000)
    assert policy.remote_open("mqtt", 1000) is True
    assert policy.relay_on
    opened = drain(policy)
    assert opened == [
        {
            "ts_ms": 1000,
            "event": "door_opened",
            "caller": "remote",
            "source": "mqtt",
            "pulse_ms": 2000,
        }
    ]
    policy.handle_timer(2999)
    assert policy.relay_on
    policy.handle_timer(3000)
    assert not policy.relay_on and event_names(policy) == ["door_closed"]
    assert policy.hangup_due is None


def test_remote_open_is_rate_limited_per_minute():
    policy = DoorPolicy(make_config(pulse=1), 0)
    results = [policy.remote_open("http", moment) for moment in (0, 10, 20, 30, 59999)]
    assert results == [True, True, True, False, False]
    refused = [e for e in drain(policy) if e["event"] == "code_rejected"]
    assert [(e["reason"], e["source"]) for e in refused] == [("rate_limited", "http")] * 2
    assert policy.remote_open("http", 60000) is True


def test_remote_open_from_an_unknown_source_is_our_bug():
    policy = DoorPolicy(make_config(), 0)
    try:
        policy.remote_open("sip", 0)
    except ValueError:
        assert not policy.relay_on
        return
    raise AssertionError("an unknown source must raise")
