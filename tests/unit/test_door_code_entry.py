# Code entry against a guesser and against phones with odd but legal DTMF
# habits: one key reported by two sources counts once, a key typed twice
# counts twice; lockouts double up to door.lockout_max and step back only
# slowly, survive restarts (state format version 3, versions 1 and 2 still read);
# the door hangs up after door.hangup_after_wrong wrong entries in a call;
# a remote open (MQTT/HTTP, authenticated) is not blocked by a DTMF lockout.

from intercom.app.door import DUPLICATE_WINDOW_MS, expected_guess_seconds
from machine_events import drain, event_names
from test_door import answered, dial, make_config, rejection_reasons

DAY_S = 86400


def lockout_durations(policy):
    return [e["duration_ms"] for e in drain(policy) if e["event"] == "lockout"]


# -- one key, two sources --------------------------------------------------------


def dial_from_two_sources(policy, code, first, second, lag_ms, step_ms=400):
    """Each key of code from source first and lag_ms later from source
    second, a key every step_ms from 1 s on."""
    for index, key in enumerate(code):
        policy.receive_digit(key, first, 1000 + step_ms * index)
        policy.receive_digit(key, second, 1000 + step_ms * index + lag_ms)


def test_a_key_sent_as_rfc4733_and_info_counts_once():
    policy = answered()
    dial_from_two_sources(policy, "4711", "rfc4733", "info", 60)
    assert policy.relay_on
    assert event_names(policy) == ["door_opened"]
    assert policy.duplicate_digits == 4


def test_a_key_sent_as_info_and_left_in_the_audio_counts_once():
    policy = answered()
    dial_from_two_sources(policy, "4711", "info", "inband", 120)
    assert policy.relay_on


def test_a_key_typed_twice_counts_twice_from_one_or_two_sources():
    policy = answered(code="1123")
    dial(policy, "1123", 1000)  # every key from one source, the "1 1" at once
    assert policy.relay_on
    both = answered(code="1123")  # every press reported twice, RFC 4733 then INFO
    dial_from_two_sources(both, "1123", "rfc4733", "info", 50, step_ms=200)
    assert both.relay_on and both.duplicate_digits == 4


def test_the_same_key_from_another_source_after_the_window_is_a_new_key():
    policy = answered(code="1123")
    policy.receive_digit("1", "rfc4733", 1000)
    policy.receive_digit("1", "info", 1000 + DUPLICATE_WINDOW_MS)
    policy.receive_digit("2", "info", 1000 + DUPLICATE_WINDOW_MS + 100)
    policy.receive_digit("3", "info", 1000 + DUPLICATE_WINDOW_MS + 200)
    assert policy.relay_on


# -- growing lockouts ------------------------------------------------------------


def test_each_lockout_doubles_up_to_lockout_max():
    policy = answered(max_attempts=2, lockout=60, lockout_max=300, hangup_after_wrong=20)
    now = 1000
    seen = []
    for _ in range(5):
        dial(policy, "00001111", now)
        seen += lockout_durations(policy)
        now = policy.get_timer()  # the lockout's end
        policy.handle_timer(now)
        assert not policy.is_locked()
    assert seen == [60000, 120000, 240000, 300000, 300000]


def test_the_right_code_resets_the_doubling():
    policy = answered(max_attempts=1, lockout=60, lockout_max=3600, hangup_after_wrong=20)
    dial(policy, "0000", 1000)
    policy.handle_timer(61000)
    dial(policy, "1111", 61000)
    assert lockout_durations(policy) == [60000, 120000]
    policy.handle_timer(181000)
    dial(policy, "4711", 181000)
    assert policy.relay_on
    dial(policy, "2222", 190000)
    assert lockout_durations(policy) == [60000]


def test_the_doubling_steps_back_once_per_lockout_max_without_a_lockout():
    policy = answered(max_attempts=1, lockout=60, lockout_max=600, hangup_after_wrong=20)
    now = 1000
    for _ in range(3):  # 60, 120, 240 s
        dial(policy, "0000", now)
        now = policy.get_timer()
        policy.handle_timer(now)
    drain(policy)
    quiet_until = now + 600000
    while policy.get_timer() is not None and policy.get_timer() <= quiet_until:
        policy.handle_timer(policy.get_timer())
    dial(policy, "1111", quiet_until)
    assert lockout_durations(policy) == [240000]  # one step back from 480 s


def test_a_wrong_code_counts_for_lockout_max_not_just_the_first_lockout():
    policy = answered(max_attempts=3, lockout=10, lockout_max=DAY_S)
    dial(policy, "0000", 1000)
    policy.handle_timer(1000 + 3600 * 1000)  # an hour later: still counted
    dial(policy, "1111", 3601000)
    dial(policy, "2222", 3602000)
    assert policy.is_locked()


def test_lockout_level_and_failures_survive_a_restart():
    policy = answered(max_attempts=1, lockout=60, lockout_max=3600, hangup_after_wrong=20)
    dial(policy, "0000", 1000)
    policy.handle_timer(61000)
    dial(policy, "1111", 61000)
    state = policy.state_to_save(100000)
    assert state == {
        "version": 3,
        "lockout_remaining_ms": 81000,
        "failures_remaining_ms": [],
        "lockouts": 2,
        "step_back_remaining_ms": 0,
        "tamper": False,
    }
    restarted = answered(
        now_ms=0,
        saved_state=state,
        max_attempts=1,
        lockout=60,
        lockout_max=3600,
        hangup_after_wrong=20,
    )
    assert restarted.is_locked()
    restarted.handle_timer(81000)
    dial(restarted, "2222", 81000)
    assert lockout_durations(restarted) == [240000]


def test_a_version_1_state_is_still_read():
    old = {"version": 1, "lockout_remaining_ms": 5000, "failures_remaining_ms": [1000]}
    policy = answered(now_ms=0, saved_state=old, max_attempts=3, lockout=60)
    assert "error" not in event_names(policy)
    assert policy.is_locked() and policy.get_timer() == 1000
    assert policy.persistent_state(0)["version"] == 3


def test_a_version_2_state_is_still_read_without_a_tamper_alarm():
    old = {
        "version": 2,
        "lockout_remaining_ms": 0,
        "failures_remaining_ms": [],
        "lockouts": 2,
        "step_back_remaining_ms": 1000,
    }
    policy = answered(now_ms=0, saved_state=old, max_attempts=3, lockout=60)
    assert "error" not in event_names(policy)
    assert policy.get_timer() == 1000 and not policy.tamper_alarm


# -- hang up after wrong entries in one call ---------------------------------------


def test_the_door_hangs_up_after_hangup_after_wrong_entries_in_a_call():
    policy = answered(max_attempts=10, hangup_after_wrong=3)
    dial(policy, "00001111", 1000)
    assert policy.hangup_due is None
    dial(policy, "2222", 2000)
    assert policy.hangup_due == "wrong_codes"
    policy.call_ended(2100)
    assert policy.hangup_due is None
    policy.call_answered("sip:flat1@example.org", 3000)
    dial(policy, "3333", 3000)
    assert policy.hangup_due is None  # a new call starts counting again


def test_entries_refused_during_a_lockout_count_toward_the_hang_up_too():
    policy = answered(max_attempts=1, lockout=60, hangup_after_wrong=2)
    dial(policy, "0000", 1000)
    assert policy.is_locked() and policy.hangup_due is None
    dial(policy, "4711", 2000)
    assert rejection_reasons(policy) == ["wrong_code", "locked_out"]
    assert policy.hangup_due == "wrong_codes"


# -- remote open during a lockout ----------------------------------------------------


def test_an_authenticated_remote_open_is_not_blocked_by_a_dtmf_lockout():
    policy = answered(max_attempts=2, lockout=60)
    dial(policy, "00001111", 1000)
    assert policy.is_locked()
    drain(policy)
    assert policy.remote_open("mqtt", 2000) is True
    assert policy.relay_on
    opened = drain(policy)[0]
    assert (opened["event"], opened["caller"], opened["source"]) == (
        "door_opened",
        "remote",
        "mqtt",
    )
    assert policy.is_locked()  # the DTMF lockout itself goes on
    dial(policy, "4711", 3000)
    assert rejection_reasons(policy) == ["locked_out"]


# -- the time a guesser needs ---------------------------------------------------------


def test_expected_guess_time_grows_with_keys_and_shrinks_with_attempts():
    door = make_config(code="4711")["door"]  # 3 attempts, 300 s doubling to a day
    four = expected_guess_seconds(door)
    assert 4 * 365 * DAY_S < four < 5 * 365 * DAY_S  # 5000 guesses, 3 a day
    six = expected_guess_seconds(make_config(code="471100")["door"])
    assert six > 90 * four
    weak = make_config(code="4711", max_attempts=20, lockout=10, lockout_max=10)["door"]
    assert expected_guess_seconds(weak) < 3600  # 20 guesses every 10 s
    letters = expected_guess_seconds(make_config(code="47AB")["door"])
    assert letters > 3 * four  # 14 keys, not 10
    assert expected_guess_seconds(make_config(code=None)["door"]) is None
