# The door policy: decides whether DTMF digits open the door. This file is
# the security boundary (DESIGN.md, principle 5); every rule is listed here.
#
# Inputs (from the app): call_answered(caller, now), call_ended(now),
# receive_digit(digit, source, now), handle_timer(now).
# Outputs: events (next_event), relay_on, hangup_due, get_timer(),
# state_to_save(now).
#
# Caller: the other end of the answered call, incoming (From) or outgoing
# (the target that answered), as a SIP URI or name-addr. It may open only if
# its identity (intercom.app.identity: (user, host), display name and URI
# parameters ignored) is in door.open_from.
#
# Entry grammar (digits from any source: rfc4733, info, inband, mixed):
#   entry   = 1*key [ "#" / "*" ]      keys are 0-9 and A-D
#   An entry ends at the first of:
#     - its length reaching the code length (no '#' needed)
#     - '#' or '*' (a terminator on an empty entry is ignored)
#     - ENTRY_TIMEOUT_MS without a digit
#     - the end of the call (the partial entry is discarded, no event)
#   Digits never carry over from one entry or one call to the next, and a
#   code is never searched for inside a longer digit stream (that would let
#   one long stream test many codes as a single attempt).
#
# Rules for a finished entry, first match wins:
#   no answered call          digit refused at once: code_rejected no_call
#   caller not in open_from   code_rejected caller_not_allowed  (not counted;
#                             entries end at 16 keys so the code length
#                             does not show)
#   door.code not set         code_rejected no_code              (not counted)
#   shorter than the code     code_rejected too_short            (not counted:
#                             it could never open)
#   locked out                code_rejected locked_out           (counted, even
#                             the right code)
#   wrong code                code_rejected wrong_code           (counted)
#   right code                door_opened, relay on for door.pulse seconds,
#                             hangup_due after door.hangup_after_open (0: never)
#
# Remote open (remote_open(source, now)): only the CPython services call it,
# and only when [mqtt] or [http] has allow_open = true, which the config
# allows only with broker credentials or an http token. No call is needed.
#   locked out                code_rejected locked_out          (not counted)
#   REMOTE_OPENS_PER_WINDOW   code_rejected rate_limited        (not counted)
#   opens within the last
#   REMOTE_WINDOW_MS
#   otherwise                 door_opened (caller "remote", source mqtt or
#                             http), relay on for door.pulse seconds, no
#                             hang-up; every outcome is an event (logged)
#
# Counting: a counted entry is a failure that expires door.lockout seconds
# later. When door.max_attempts failures are unexpired: lockout event, locked
# for door.lockout seconds, failures cleared (so max_attempts more counted
# entries during a lockout renew it).
#
# Restart: now_ms is a ticks clock that restarts at boot, so the persisted
# state holds durations, not times: {"version": 1, "lockout_remaining_ms": n,
# "failures_remaining_ms": [n, ...]}. Restored at boot they count from boot:
# the device stays locked for the remaining time it had when the state was
# last saved (the time it was off adds to the lockout, never subtracts).
# state_to_save() returns the state after every change (a failure, a lockout,
# its end, a failure expiring) for the board to write atomically.
#
# Code comparison: SHA-256 digests of the entry and the code compared with
# constant_time_equal, which reads every byte whatever differs.

import hashlib

from intercom import events
from intercom.app.identity import allowed_identities, home_hosts, parse_identity
from intercom.app.relay import RelayPulse
from intercom.compat import ticks_add, ticks_diff

ENTRY_TIMEOUT_MS = 5000
REMOTE_SOURCES = ("mqtt", "http")
REMOTE_OPENS_PER_WINDOW = 3
REMOTE_WINDOW_MS = 60000
LONGEST_ENTRY = 16
STATE_VERSION = 1
KEYS = "0123456789ABCD"
TERMINATORS = "#*"

NO_CALL = "no_call"
CALLER_NOT_ALLOWED = "caller_not_allowed"
NO_CODE = "no_code"
TOO_SHORT = "too_short"
LOCKED_OUT = "locked_out"
WRONG_CODE = "wrong_code"
RATE_LIMITED = "rate_limited"


def constant_time_equal(left, right):
    """True when two byte sequences are equal, reading every byte of both.

    The time taken depends only on the lengths, never on where they differ
    (hmac.compare_digest does not exist on MicroPython).
    """
    difference = len(left) ^ len(right)
    length = max(len(left), len(right))
    for index in range(length):
        left_byte = left[index] if index < len(left) else 0
        right_byte = right[index] if index < len(right) else 0
        difference |= left_byte ^ right_byte
    return difference == 0


def _digest(text):
    return hashlib.sha256(text.encode()).digest()


def _earliest(deadlines):
    best = None
    for deadline in deadlines:
        if deadline is not None and (best is None or ticks_diff(deadline, best) < 0):
            best = deadline
    return best


def _describe(identity):
    if identity is None:
        return "unknown"
    if identity[0]:
        return "%s@%s" % identity
    return identity[1]


class DoorPolicy:
    def __init__(self, config, now_ms, saved_state=None):
        door = config["door"]
        self._code_length = len(door["code"]) if door["code"] else 0
        self._code_digest = _digest(door["code"]) if door["code"] else None
        self._allowed = allowed_identities(door["open_from"], home_hosts(config["sip"]))
        self._hangup_after_ms = door["hangup_after_open"] * 1000
        self._max_attempts = door["max_attempts"]
        self._lockout_ms = door["lockout"] * 1000
        self._relay = RelayPulse(door["pulse"] * 1000)
        self.hangup_due = False
        self.ignored_digits = 0
        self._events = []
        self._in_call = False
        self._caller = None
        self._caller_allowed = False
        self._entry = []
        self._entry_deadline = None
        self._hangup_deadline = None
        self._locked_until = None
        self._failures = []  # expiry ticks of unexpired counted entries
        self._remote_opens = []  # ticks when recent remote opens stop counting
        self._dirty = False
        self._restore(saved_state, now_ms)

    @property
    def relay_on(self):
        return self._relay.is_on

    @property
    def in_call(self):
        """Between call_answered and call_ended: digits may make entries."""
        return self._in_call

    def is_locked(self):
        """Locked out, as of the last input or handle_timer call."""
        return self._locked_until is not None

    # -- inputs ------------------------------------------------------------

    def call_answered(self, caller, now_ms):
        """A call is established with `caller` (SIP URI or name-addr)."""
        self._reset_call()
        self._in_call = True
        self._caller = parse_identity(caller)
        self._caller_allowed = self._caller is not None and self._caller in self._allowed

    def call_ended(self, now_ms):
        """The call is over: partial digits are dropped, no hang-up pending.

        The relay is not touched: a pulse in progress ends by its own timer.
        """
        self._reset_call()

    def receive_digit(self, digit, source, now_ms):
        """One DTMF key (0-9 * # A-D) from any source; others are dropped."""
        if not isinstance(digit, str) or len(digit) != 1:
            self.ignored_digits += 1
            return
        digit = digit.upper()
        if digit not in KEYS and digit not in TERMINATORS:
            self.ignored_digits += 1
            return
        if not self._in_call:
            self._reject(now_ms, NO_CALL)
            return
        if self._entry_deadline is not None and ticks_diff(now_ms, self._entry_deadline) >= 0:
            self._finish_entry(now_ms, None)  # the pause ended it, whether or not a timer ran
        if digit in TERMINATORS:
            if self._entry:
                self._finish_entry(now_ms, source)
            return
        self._entry.append(digit)
        self._entry_deadline = ticks_add(now_ms, ENTRY_TIMEOUT_MS)
        if len(self._entry) >= self._entry_limit():
            self._finish_entry(now_ms, source)

    def remote_open(self, source, now_ms):
        """An authenticated open from the services (see Remote open above)."""
        if source not in REMOTE_SOURCES:
            raise ValueError("remote open from %r" % (source,))
        self._expire(now_ms)
        if self._locked_until is not None:
            reason = LOCKED_OUT
        elif len(self._remote_opens) >= REMOTE_OPENS_PER_WINDOW:
            reason = RATE_LIMITED
        else:
            self._remote_opens.append(ticks_add(now_ms, REMOTE_WINDOW_MS))
            self._relay.start(now_ms)
            fields = {"caller": "remote", "source": source, "pulse_ms": self._relay.pulse_ms}
            self._events.append(events.make_event(now_ms, events.DOOR_OPENED, fields))
            return True
        event = events.code_rejected(now_ms, reason, len(self._failures))
        event["source"] = source
        self._events.append(event)
        return False

    def handle_timer(self, now_ms):
        if self._relay.handle_timer(now_ms):
            self._events.append(events.make_event(now_ms, events.DOOR_CLOSED))
        if self._entry_deadline is not None and ticks_diff(now_ms, self._entry_deadline) >= 0:
            self._finish_entry(now_ms, None)
        if self._hangup_deadline is not None and ticks_diff(now_ms, self._hangup_deadline) >= 0:
            self._hangup_deadline = None
            self.hangup_due = True
        self._expire(now_ms)

    # -- outputs -----------------------------------------------------------

    def get_timer(self):
        """The next tick at which handle_timer has work, or None."""
        deadlines = [
            self._relay.get_timer(),
            self._entry_deadline,
            self._hangup_deadline,
            self._locked_until,
        ]
        return _earliest(deadlines + self._failures + self._remote_opens)

    def next_event(self):
        """The oldest undelivered event dict, or None."""
        if self._events:
            return self._events.pop(0)
        return None

    def state_to_save(self, now_ms):
        """The persistent state when it changed since the last call, else None."""
        if not self._dirty:
            return None
        self._dirty = False
        return self.persistent_state(now_ms)

    def persistent_state(self, now_ms):
        remaining = 0
        if self._locked_until is not None:
            remaining = max(0, ticks_diff(self._locked_until, now_ms))
        failures = [max(0, ticks_diff(expiry, now_ms)) for expiry in self._failures]
        return {
            "version": STATE_VERSION,
            "lockout_remaining_ms": remaining,
            "failures_remaining_ms": failures,
        }

    # -- internals ---------------------------------------------------------

    def _reset_call(self):
        self._in_call = False
        self._caller = None
        self._caller_allowed = False
        self._entry = []
        self._entry_deadline = None
        self._hangup_deadline = None
        self.hangup_due = False

    def _entry_limit(self):
        if self._caller_allowed and self._code_length:
            return self._code_length
        return LONGEST_ENTRY

    def _finish_entry(self, now_ms, source):
        entry = "".join(self._entry)
        self._entry = []
        self._entry_deadline = None
        self._expire(now_ms)
        if not self._caller_allowed:
            self._reject(now_ms, CALLER_NOT_ALLOWED)
        elif self._code_digest is None:
            self._reject(now_ms, NO_CODE)
        elif len(entry) < self._code_length:
            self._reject(now_ms, TOO_SHORT)
        elif self._locked_until is not None:
            self._count_failure(now_ms, LOCKED_OUT)
        elif constant_time_equal(_digest(entry), self._code_digest):
            self._open(now_ms, source)
        else:
            self._count_failure(now_ms, WRONG_CODE)

    def _reject(self, now_ms, reason):
        self._events.append(events.code_rejected(now_ms, reason, len(self._failures)))

    def _count_failure(self, now_ms, reason):
        self._failures.append(ticks_add(now_ms, self._lockout_ms))
        self._dirty = True
        self._reject(now_ms, reason)
        if len(self._failures) >= self._max_attempts:
            attempts = len(self._failures)
            self._failures = []
            self._locked_until = ticks_add(now_ms, self._lockout_ms)
            self._events.append(events.lockout(now_ms, self._lockout_ms, attempts))

    def _open(self, now_ms, source):
        self._relay.start(now_ms)
        fields = {"caller": _describe(self._caller), "source": source}
        fields["pulse_ms"] = self._relay.pulse_ms
        self._events.append(events.make_event(now_ms, events.DOOR_OPENED, fields))
        if self._hangup_after_ms:
            self._hangup_deadline = ticks_add(now_ms, self._hangup_after_ms)

    def _expire(self, now_ms):
        """Ends a lockout, drops failures and remote opens whose time has come."""
        if self._locked_until is not None and ticks_diff(now_ms, self._locked_until) >= 0:
            self._locked_until = None
            self._dirty = True
        kept = [expiry for expiry in self._failures if ticks_diff(now_ms, expiry) < 0]
        if len(kept) != len(self._failures):
            self._failures = kept
            self._dirty = True
        self._remote_opens = [end for end in self._remote_opens if ticks_diff(now_ms, end) < 0]

    def _restore(self, saved_state, now_ms):
        """Adopts a persisted state; malformed parts are dropped with an error event."""
        if saved_state is None:
            return
        if not isinstance(saved_state, dict) or saved_state.get("version") != STATE_VERSION:
            self._events.append(events.error(now_ms, "door state not understood, ignored"))
            return
        remaining = saved_state.get("lockout_remaining_ms")
        if remaining is not None and _is_count(remaining):
            if remaining > 0:
                remaining = min(remaining, self._lockout_ms)
                self._locked_until = ticks_add(now_ms, remaining)
        else:
            self._events.append(events.error(now_ms, "door state: bad lockout_remaining_ms"))
        failures = saved_state.get("failures_remaining_ms")
        if isinstance(failures, list) and all(_is_count(item) for item in failures):
            for item in failures[: self._max_attempts]:
                if item > 0:
                    self._failures.append(ticks_add(now_ms, min(item, self._lockout_ms)))
        else:
            self._events.append(events.error(now_ms, "door state: bad failures_remaining_ms"))
        if len(self._failures) >= self._max_attempts:
            self._failures = []
            self._locked_until = ticks_add(now_ms, self._lockout_ms)
            self._dirty = True


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
