# The door policy: decides whether DTMF digits open the door. This file is
# the security boundary (DESIGN.md, principle 5); every rule is listed here.
#
# Inputs (from the app): call_answered(caller, now, button), call_ended(now),
# receive_digit(digit, source, now), remote_open(source, now),
# local_open(now) (the exit button), tamper(active, now),
# reset_tamper(source, now), handle_timer(now).
# Outputs: events (next_event), relay_on, in_call, tamper_alarm,
# hangup_due (None, or the reason the call should end: "door_opened",
# "wrong_codes"), get_timer(), state_to_save(now).
#
# Caller: the other end of the answered call, incoming (From) or outgoing
# (the target that answered), as a SIP URI or name-addr. It may open only if
# its identity (intercom.app.identity: (user, host), display name and URI
# parameters ignored) is in the call's open_from, with the call's code.
# The call's code and open_from: a call placed by a button (button: its
# [[button]] id) takes that button's code and open_from (each defaults to
# door.code and door.open_from), so flat 2 cannot open with flat 1's code
# where the owner gives each button its own; an incoming call (button None)
# takes door.code and door.open_from. Failures and lockouts are the door's,
# whatever the button: a guesser at the door is one guesser.
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
# One key press, two reports: a phone may send a key as RFC 4733 and as SIP
# INFO, or as INFO while leaving the tones in the audio. A key equal to the
# previous key, from a source that has not reported that press yet, within
# DUPLICATE_WINDOW_MS of it, is the same press: dropped (duplicate_digits).
# The same key from the same source again is a new press ("1 1" counts
# twice), and so is the same key after the window.
#
# Rules for a finished entry, first match wins:
#   no answered call          digit refused at once: code_rejected no_call
#   caller not in open_from   code_rejected caller_not_allowed  (not counted;
#                             entries end at 16 keys so the code length
#                             does not show)
#   door.code not set         code_rejected no_code              (not counted)
#   shorter than the code     code_rejected too_short            (not counted:
#                             it could never open)
#   tamper alarm, and         code_rejected tamper               (not counted:
#   door.tamper_blocks_open                                       right or
#                                                                 wrong, the
#                                                                 same answer)
#   locked out                code_rejected locked_out           (counted, even
#                             the right code)
#   wrong code                code_rejected wrong_code           (counted)
#   right code                door_opened, relay on for door.pulse seconds,
#                             hangup_due "door_opened" after
#                             door.hangup_after_open (0: never); failures
#                             and the lockout doubling start over
#   After door.hangup_after_wrong counted entries in one call: hangup_due
#   "wrong_codes" (a guesser must call again for every few guesses).
#
# Remote open (remote_open(source, now)): only the CPython services call it,
# and only when [mqtt] or [http] has allow_open = true, which the config
# allows only with broker credentials or an http token. No call is needed.
# A DTMF lockout does not block it: it is the residents' way in while
# someone guesses at the door.
#   REMOTE_OPENS_PER_WINDOW   code_rejected rate_limited        (not counted)
#   opens within the last
#   REMOTE_WINDOW_MS
#   otherwise                 door_opened (caller "remote", source mqtt or
#                             http), relay on for door.pulse seconds, no
#                             hang-up; every outcome is an event (logged)
#
# Exit button (local_open(now)): the door's own input inside the house, no
# call, no code, no limit: door_opened (caller "inside", source
# "exit_button"), relay on for door.pulse seconds.
#
# Tamper (tamper(active, now), from the housing's switch): a trigger is a
# `tamper` event (state "triggered") and latches tamper_alarm; the switch
# closing again is a `tamper` event (state "restored") and leaves the alarm
# latched. With door.tamper_blocks_open every DTMF entry is refused (above)
# while the alarm is latched; remote opens and the exit button still open.
# reset_tamper(source, now) (the authenticated API or MQTT) clears it: a
# `tamper_reset` event; False when there was no alarm.
#
# Counting: a counted entry is a failure that expires door.lockout_max
# seconds later. When door.max_attempts failures are unexpired: lockout
# event, failures cleared (so max_attempts more counted entries during a
# lockout renew it), locked for door.lockout seconds doubled once per
# earlier lockout (the level), at most door.lockout_max. The level steps
# back by one per door.lockout_max after a lockout without another one,
# and to 0 when the right code opens. A guesser therefore gets at most
# max_attempts guesses per lockout_max once the doubling has reached it;
# expected_guess_seconds() is what `intercom config check` prints.
# Every deadline is at most door.lockout_max (at most 5 days, inside the
# ticks clock's half period) ahead.
#
# Restart: now_ms is a ticks clock that restarts at boot, so the persisted
# state holds durations, not times: {"version": 3, "lockout_remaining_ms": n,
# "failures_remaining_ms": [n, ...], "lockouts": level,
# "step_back_remaining_ms": n, "tamper": alarm latched}. Restored at boot
# they count from boot: the device stays locked for the remaining time it
# had when the state was last saved (the time it was off adds to the
# lockout, never subtracts), and a latched tamper alarm stays latched.
# Version 1 (no level) and version 2 (no tamper) are still read, as level 0
# and no alarm. Keys beyond these belong to the station (the quiet hours
# mode) and are ignored here. state_to_save() returns the state after every
# change (a failure, a lockout, its end, a failure expiring, a step back,
# the tamper alarm) for the board to write atomically.
#
# Code comparison: SHA-256 digests of the entry and the code compared with
# constant_time_equal, which reads every byte whatever differs.

import hashlib

from intercom import events
from intercom.app.identity import allowed_identities, home_hosts, parse_identity
from intercom.app.relay import RelayPulse
from intercom.compat import ticks_add, ticks_diff

ENTRY_TIMEOUT_MS = 5000
DUPLICATE_WINDOW_MS = 1000
REMOTE_SOURCES = ("mqtt", "http")
REMOTE_OPENS_PER_WINDOW = 3
REMOTE_WINDOW_MS = 60000
LONGEST_ENTRY = 16
STATE_VERSION = 3
MAX_LEVEL = 32  # lockout << MAX_LEVEL is beyond any lockout_max
KEYS = "0123456789ABCD"
TERMINATORS = "#*"

# hangup_due: why the app should end the call
HANGUP_DOOR_OPENED = "door_opened"
HANGUP_WRONG_CODES = "wrong_codes"

NO_CALL = "no_call"
CALLER_NOT_ALLOWED = "caller_not_allowed"
NO_CODE = "no_code"
TOO_SHORT = "too_short"
LOCKED_OUT = "locked_out"
WRONG_CODE = "wrong_code"
RATE_LIMITED = "rate_limited"
TAMPER = "tamper"


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


def expected_guess_seconds(door):
    """Seconds a guesser needs on average to find door["code"] by DTMF, or
    None without a code: half the codes of its length (keys 0-9, or 0-9 A-D
    when the code has letters), max_attempts guesses per lockout, lockouts
    doubling from door.lockout to door.lockout_max. The time to type and to
    call again is left out: the true figure is longer."""
    code = door["code"]
    if not code:
        return None
    keys = 10
    for key in code:
        if key not in "0123456789":
            keys = 14
    left = keys ** len(code) // 2
    attempts = door["max_attempts"]
    lockout = door["lockout"]
    longest = door["lockout_max"]
    seconds = 0
    while left > attempts and lockout < longest:
        left -= attempts
        seconds += lockout
        lockout *= 2
    if left > attempts:
        seconds += ((left - 1) // attempts) * longest
    return seconds


def _describe(identity):
    if identity is None:
        return "unknown"
    if identity[0]:
        return "%s@%s" % identity
    return identity[1]


def _rules(code, open_from, hosts):
    """(code length, code digest or None, allowed identities) of one call kind."""
    if not code:
        return (0, None, allowed_identities(open_from, hosts))
    return (len(code), _digest(code), allowed_identities(open_from, hosts))


class DoorPolicy:
    def __init__(self, config, now_ms, saved_state=None):
        door = config["door"]
        hosts = home_hosts(config["sip"])
        self._door_rules = _rules(door["code"], door["open_from"], hosts)
        self._button_rules = {}  # button id -> rules
        for button in config["button"]:
            self._button_rules[button["id"]] = _rules(button["code"], button["open_from"], hosts)
        self._tamper_blocks = door["tamper_blocks_open"]
        self.tamper_alarm = False
        self._hangup_after_ms = door["hangup_after_open"] * 1000
        self._max_attempts = door["max_attempts"]
        self._wrong_per_call = door["hangup_after_wrong"]
        self._lockout_ms = door["lockout"] * 1000
        self._lockout_max_ms = door["lockout_max"] * 1000
        self._relay = RelayPulse(door["pulse"] * 1000)
        self.ignored_digits = 0
        self.duplicate_digits = 0
        self._events = []
        self._reset_call()
        self._locked_until = None
        self._level = 0  # lockouts so far: the next one lasts lockout << level
        self._step_back_at = None  # when the level steps back by one
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

    def call_answered(self, caller, now_ms, button=None):
        """A call is established with `caller` (SIP URI or name-addr); button:
        the id of the button that placed it, None for an incoming call."""
        self._reset_call()
        rules = self._door_rules if button is None else self._button_rules[button]
        self._code_length, self._code_digest, self._allowed = rules
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
        if self._is_second_report(digit, source, now_ms):
            self.duplicate_digits += 1
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
        if len(self._remote_opens) < REMOTE_OPENS_PER_WINDOW:
            self._remote_opens.append(ticks_add(now_ms, REMOTE_WINDOW_MS))
            self._relay.start(now_ms)
            fields = {"caller": "remote", "source": source, "pulse_ms": self._relay.pulse_ms}
            self._events.append(events.make_event(now_ms, events.DOOR_OPENED, fields))
            return True
        event = events.code_rejected(now_ms, RATE_LIMITED, len(self._failures))
        event["source"] = source
        self._events.append(event)
        return False

    def local_open(self, now_ms):
        """The exit button inside (see Exit button above)."""
        self._relay.start(now_ms)
        fields = {"caller": "inside", "source": "exit_button", "pulse_ms": self._relay.pulse_ms}
        self._events.append(events.make_event(now_ms, events.DOOR_OPENED, fields))

    def tamper(self, active, now_ms):
        """The housing's tamper switch changed (see Tamper above)."""
        fields = {"state": "triggered" if active else "restored"}
        fields["blocks_open"] = self._tamper_blocks
        self._events.append(events.make_event(now_ms, events.TAMPER, fields))
        if active and not self.tamper_alarm:
            self.tamper_alarm = True
            self._dirty = True

    def reset_tamper(self, source, now_ms):
        """Clears the tamper alarm (authenticated API/MQTT); False without one."""
        if not self.tamper_alarm:
            return False
        self.tamper_alarm = False
        self._dirty = True
        self._events.append(events.make_event(now_ms, events.TAMPER_RESET, {"source": source}))
        return True

    def handle_timer(self, now_ms):
        if self._relay.handle_timer(now_ms):
            self._events.append(events.make_event(now_ms, events.DOOR_CLOSED))
        if self._entry_deadline is not None and ticks_diff(now_ms, self._entry_deadline) >= 0:
            self._finish_entry(now_ms, None)
        if self._hangup_deadline is not None and ticks_diff(now_ms, self._hangup_deadline) >= 0:
            self._hangup_deadline = None
            self.hangup_due = HANGUP_DOOR_OPENED
        self._expire(now_ms)

    # -- outputs -----------------------------------------------------------

    def get_timer(self):
        """The next tick at which handle_timer has work, or None."""
        deadlines = [
            self._relay.get_timer(),
            self._entry_deadline,
            self._hangup_deadline,
            self._locked_until,
            self._step_back_at,
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
        return {
            "version": STATE_VERSION,
            "lockout_remaining_ms": _remaining(self._locked_until, now_ms),
            "failures_remaining_ms": [_remaining(expiry, now_ms) for expiry in self._failures],
            "lockouts": self._level,
            "step_back_remaining_ms": _remaining(self._step_back_at, now_ms),
            "tamper": self.tamper_alarm,
        }

    # -- internals ---------------------------------------------------------

    def _reset_call(self):
        """The per-call state as no call has it (at start and after each call)."""
        self._code_length, self._code_digest, self._allowed = self._door_rules
        self._in_call = False
        self._caller = None
        self._caller_allowed = False
        self._entry = []
        self._entry_deadline = None
        self._hangup_deadline = None
        # [key, ticks, [sources]] of this call's last press; calls last at
        # most an hour: no stale ticks here
        self._last_key = None
        self._call_failures = 0
        self.hangup_due = None

    def _is_second_report(self, key, source, now_ms):
        """True for a key another source already reported (see the top)."""
        last = self._last_key
        if (
            last is not None
            and last[0] == key
            and source not in last[2]
            and ticks_diff(now_ms, last[1]) < DUPLICATE_WINDOW_MS
        ):
            last[2].append(source)
            return True
        self._last_key = [key, now_ms, [source]]
        return False

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
        elif self.tamper_alarm and self._tamper_blocks:
            self._reject(now_ms, TAMPER)
        elif self._locked_until is not None:
            self._count_failure(now_ms, LOCKED_OUT)
        elif constant_time_equal(_digest(entry), self._code_digest):
            self._open(now_ms, source)
        else:
            self._count_failure(now_ms, WRONG_CODE)

    def _reject(self, now_ms, reason):
        self._events.append(events.code_rejected(now_ms, reason, len(self._failures)))

    def _count_failure(self, now_ms, reason):
        self._failures.append(ticks_add(now_ms, self._lockout_max_ms))
        self._dirty = True
        self._reject(now_ms, reason)
        if len(self._failures) >= self._max_attempts:
            attempts = len(self._failures)
            self._failures = []
            self._lock(now_ms, attempts)
        self._call_failures += 1
        if self._call_failures >= self._wrong_per_call and self.hangup_due is None:
            self.hangup_due = HANGUP_WRONG_CODES

    def _lock(self, now_ms, attempts):
        duration = min(self._lockout_ms << self._level, self._lockout_max_ms)
        if duration < self._lockout_max_ms:
            self._level = min(self._level + 1, MAX_LEVEL)
        self._step_back_at = None
        self._locked_until = ticks_add(now_ms, duration)
        self._events.append(events.lockout(now_ms, duration, attempts))

    def _open(self, now_ms, source):
        self._failures = []
        self._level = 0
        self._step_back_at = None
        self._dirty = True
        self._relay.start(now_ms)
        fields = {"caller": _describe(self._caller), "source": source}
        fields["pulse_ms"] = self._relay.pulse_ms
        self._events.append(events.make_event(now_ms, events.DOOR_OPENED, fields))
        if self._hangup_after_ms:
            self._hangup_deadline = ticks_add(now_ms, self._hangup_after_ms)

    def _expire(self, now_ms):
        """Ends a lockout, steps the level back, drops failures and remote
        opens whose time has come."""
        if self._locked_until is not None and ticks_diff(now_ms, self._locked_until) >= 0:
            self._locked_until = None
            if self._level:
                self._step_back_at = ticks_add(now_ms, self._lockout_max_ms)
            self._dirty = True
        if self._step_back_at is not None and ticks_diff(now_ms, self._step_back_at) >= 0:
            self._level -= 1
            self._step_back_at = None
            if self._level:
                self._step_back_at = ticks_add(now_ms, self._lockout_max_ms)
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
        version = saved_state.get("version") if isinstance(saved_state, dict) else None
        if version not in (1, 2, STATE_VERSION):
            self._events.append(events.error(now_ms, "door state not understood, ignored"))
            return
        longest = self._lockout_max_ms
        remaining = _count(saved_state.get("lockout_remaining_ms"))
        if remaining is None:
            self._events.append(events.error(now_ms, "door state: bad lockout_remaining_ms"))
        elif remaining > 0:
            self._locked_until = ticks_add(now_ms, min(remaining, longest))
        failures = saved_state.get("failures_remaining_ms")
        counts = [_count(item) for item in failures] if isinstance(failures, list) else [None]
        if None in counts:
            self._events.append(events.error(now_ms, "door state: bad failures_remaining_ms"))
        else:
            for item in counts[: self._max_attempts]:
                if item:
                    self._failures.append(ticks_add(now_ms, min(item, longest)))
        if version >= 2:
            level = _count(saved_state.get("lockouts"))
            step_back = _count(saved_state.get("step_back_remaining_ms"))
            if level is None or step_back is None:
                self._events.append(events.error(now_ms, "door state: bad lockouts"))
            else:
                self._level = min(level, MAX_LEVEL)
                if self._level and self._locked_until is None:
                    self._step_back_at = ticks_add(now_ms, min(step_back, longest))
        if version == STATE_VERSION:
            tamper = saved_state.get("tamper")
            if isinstance(tamper, bool):
                self.tamper_alarm = tamper
            else:
                self._events.append(events.error(now_ms, "door state: bad tamper"))
        if len(self._failures) >= self._max_attempts:
            attempts = len(self._failures)
            self._failures = []
            self._lock(now_ms, attempts)
            self._dirty = True


def _remaining(deadline, now_ms):
    """ms from now_ms to deadline (0 for none or past)."""
    if deadline is None:
        return 0
    return max(0, ticks_diff(deadline, now_ms))


def _count(value):
    """value when it is a whole number >= 0 (not a bool), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
