# Ticks clocks wrap (intercom.compat: 2**30 ms, ticks_diff is right only
# within half of that, 6.2 days), and a door can sit idle far longer. The
# core keeps no tick that outlives its deadline: every stored time is a
# deadline that get_timer() reports and handle_timer() clears when it
# passes. These tests drive each part like the board's loop does (wake at
# every deadline, nothing in between) across gaps of 7, 30 and 400 days
# and check that nothing stays limited, locked or stuck.

from intercom.app.door import REMOTE_OPENS_PER_WINDOW, DoorPolicy
from intercom.compat import TICKS_PERIOD, ticks_add, ticks_diff
from intercom.config import validate
from intercom.sip.agent import Agent
from sip_harness import CountingRandom, door_settings
from station_harness import Pair
from test_sip_agent import exchange, message

DAY_MS = 86400000
GAPS_DAYS = (7, 30, 400)


def loop_advance(part, now_ms, gap_ms, *timer_args):
    """now_ms + gap_ms (as ticks), waking part at each deadline on the way,
    as boards/runtime/loop.py does."""
    left = gap_ms
    while True:
        deadline = part.get_timer()
        if deadline is None:
            break
        wait = max(0, ticks_diff(deadline, now_ms))
        if wait > left:
            break
        now_ms = ticks_add(now_ms, wait)
        left -= wait
        part.handle_timer(now_ms, *timer_args)
    return ticks_add(now_ms, left)


def test_a_drained_token_bucket_is_full_again_after_any_gap():
    for days in GAPS_DAYS:
        door = Agent(door_settings(rate_per_s=1, rate_burst=3), CountingRandom(5))
        now = 1000
        answered = []
        for index in range(5):
            probe = message("OPTIONS", branch="z9hG4bKdrain%d" % index)
            answered += [reply.status for reply, _ in exchange(door, probe, now_ms=now)]
        assert answered == [200, 200, 200], (days, answered)
        now = loop_advance(door, now, days * DAY_MS)
        answered = []
        for index in range(3):
            probe = message("OPTIONS", branch="z9hG4bKafter%d%d" % (days, index))
            answered += [reply.status for reply, _ in exchange(door, probe, now_ms=now)]
        assert answered == [200, 200, 200], (days, door.stats)


def remote_policy():
    config = validate(
        {
            "sip": {"server": "192.0.2.10", "domain": "example.org"},
            "call": {"targets": ["flat1"]},
            "door": {"code": "471100", "pulse": 1},
            "mqtt": {"host": "127.0.0.1", "user": "u", "password": "p", "allow_open": True},
        }
    )
    return DoorPolicy(config, 0)


def test_the_remote_open_limit_ends_after_any_gap():
    for days in GAPS_DAYS:
        policy = remote_policy()
        now = 5000
        opened = [policy.remote_open("mqtt", now) for _ in range(REMOTE_OPENS_PER_WINDOW + 1)]
        assert opened == [True] * REMOTE_OPENS_PER_WINDOW + [False]
        now = loop_advance(policy, now, days * DAY_MS)
        assert policy.remote_open("mqtt", now) is True, days
        assert policy.relay_on


def test_a_door_idle_for_any_gap_still_calls_opens_and_is_called():
    for days in GAPS_DAYS:
        pair = Pair()
        pair.press(pair.door, 1000)
        pair.flat.hangup(pair.now)
        pair.route()
        pair.run(6000)
        assert pair.door.state == "idle"
        gap = days * DAY_MS
        start = pair.now
        pair.now = loop_advance(pair.door, start, gap, 0)
        assert loop_advance(pair.flat, start, gap, 0) == pair.now
        assert pair.now == (start + gap) % TICKS_PERIOD
        before = len(pair.events["door"])
        pair.press(pair.door, 1000)
        assert pair.door.state == "talking", (days, pair.names("door")[before:])
        pair.flat.media.send_digits("1234")
        pair.run(1500)
        assert pair.door.relay_on is True, (days, pair.names("door")[before:])
