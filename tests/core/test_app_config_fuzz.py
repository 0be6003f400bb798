# Property tests (CPython, hypothesis): hostile input never crashes the
# config, the identity parser or the door policy, and never opens the door.

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from intercom import config
from intercom.app.door import DoorPolicy, constant_time_equal
from intercom.app.identity import parse_identity
from intercom.errors import ConfigError

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(), st.text(max_size=12)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
KEY_NAMES = st.sampled_from(
    ["device", "sip", "call", "door", "audio", "gpio", "wifi", "mqtt", "http", "webhook", "x"]
)
INNER_KEYS = st.sampled_from(
    [row[0] for rows in config.SECTIONS.values() for row in rows] + ["url", "events", "bogus"]
)
CONFIGS = st.dictionaries(
    KEY_NAMES,
    st.one_of(
        st.dictionaries(INNER_KEYS, VALUES, max_size=6), st.lists(VALUES, max_size=2), VALUES
    ),
    max_size=8,
)

EFFECTIVE = config.validate(
    {
        "sip": {"server": "192.0.2.10", "domain": "example.org"},
        "call": {"targets": ["flat1"]},
        "door": {"code": "4711", "max_attempts": 3, "lockout": 60},
    }
)


@settings(max_examples=100, deadline=None)
@given(CONFIGS)
def test_validate_gives_a_config_or_config_error_only(raw):
    try:
        effective = config.validate(raw, "fuzz.toml")
    except ConfigError as error:
        assert error.problems
        assert all(line.startswith("fuzz.toml: ") for line in error.problems)
    else:
        assert json.loads(json.dumps(effective)) == effective
        assert config.validate(effective, "again.json") == effective


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_identity_parser_never_raises(text):
    identity = parse_identity(text)
    assert identity is None or (isinstance(identity[0], str) and isinstance(identity[1], str))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.lists(st.text(max_size=2), max_size=40))
def test_unlisted_callers_never_open(caller, digits):
    if parse_identity(caller) in (("flat1", "example.org"), ("flat1", "192.0.2.10")):
        return
    policy = DoorPolicy(EFFECTIVE, 0)
    policy.call_answered(caller, 0)
    for step, digit in enumerate(digits + list("4711#")):
        policy.receive_digit(digit, "rfc4733", step * 100)
        policy.handle_timer(step * 100)
        assert not policy.relay_on


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789ABCD", min_size=4, max_size=4), max_size=12))
def test_wrong_codes_never_open_and_lock_out_after_three(entries):
    entries = [entry for entry in entries if entry != "4711"]
    policy = DoorPolicy(EFFECTIVE, 0)
    policy.call_answered("sip:flat1@example.org", 0)
    for entry in entries:
        for digit in entry:
            policy.receive_digit(digit, "info", 1000)
        assert not policy.relay_on
    assert policy.is_locked() == (len(entries) >= 3)


@given(st.binary(max_size=40), st.binary(max_size=40))
def test_constant_time_equal_agrees_with_equality(left, right):
    assert constant_time_equal(left, right) == (left == right)
