# The doorbell: what happens between a button press and the end of a call.
#
# One state machine. Times are integer ms (now_ms, compat ticks). The SIP side
# is a `phone` with call(target, now_ms, button) -> call_id (None: no room
# for the call, it fails as no_room; button: the pressed button's config
# entry, for the INVITE's display name and Alert-Info), hangup(call_id,
# now_ms), answer(call_id, now_ms) and reject(call_id, status, now_ms); the
# station feeds the phone's outcomes back through the on_* methods.
# may_answer(identity) says whether an incoming caller (the identity the SIP
# layer vouches for, or None) may be answered. Events (`button`,
# `call_started`, `ringing`, `answered`, `incoming_call`, `call_ended`) go
# out at once through emit(now_ms, name, fields), the station's own event
# output (no queue of their own).
#
# A press (button_pressed(now, button, targets, quiet)) names its button
# (a [[button]] entry: id, mode, label, ...) and whom it rings: the
# button's targets, or in quiet hours (quiet) other targets or none. Every
# press is a `button` event with the button's id, `quiet`, and `repeat`: 0
# for a press in idle, else the number of presses since the last one that
# placed a call. A press in quiet hours never sets chime_due; otherwise a
# press that may place a call does, and a repeat does with chime_on_repeat
# (the station sounds the chime output and tone and clears the flag).
#
#   state    input                         action                               next
#   -------- ----------------------------- ------------------------------------ --------
#   idle     button, in the cooldown       `button` repeat n, no call           idle
#            (call.cooldown s after a call
#            ended)
#            button, quiet and no targets  `button` only                        idle
#            button, not registered        error tone, call_ended(error,
#                                          not_registered)                      idle
#            button                        call the targets (the button's mode),
#                                          ring timer                           calling
#            incoming, identity allowed    answer, max-duration timers          talking
#            incoming, identity not        reject 403 (no ring, no media)       idle
#            allowed or None
#            cooldown timer                the cooldown ends                    idle
#   calling  button                        `button` repeat n, counted           calling
#            ringing (first)               ringback tone, `ringing`             calling
#            answered                      cancel the other targets, stop tone,
#                                          max-duration timers, `answered`      talking
#            failed, sequential            next target, or give up (below)      calling/idle
#            failed, parallel              forget it; when none left: give up   calling/idle
#            ring timer                    hang up (CANCEL) the ringing
#                                          target(s) (no_answer), then as
#                                          failed                               calling/idle
#            hangup (command, stop; the     hang up (CANCEL) every ringing
#            door opened: door_opened; an   target, call_ended(cancelled, or
#            error)                         the reason given)                    idle
#   talking  button                        `button` repeat n, counted           talking
#            warning timer (10 s before)   warning beep                         talking
#            max-duration timer            hang up, call_ended(max_duration)    ending
#            hangup (command, the door
#            policy after opening or
#            wrong codes, the media
#            timeout, an error)            hang up, call_ended(reason given)    ending
#            remote ended                  call_ended(remote_hangup, or the
#                                          reason the station maps)             idle
#            transferred(new call)         the new call is the talking one (a   talking
#                                          transfer's party answered; timers go
#                                          on: max_duration is the visitor's)
#   ending   remote ended / ending timer   (the BYE is done or gave up)         idle
#            button                        `button` repeat n, counted           ending
#
# Every way back to idle after a call (or an incoming call) starts the
# cooldown when call.cooldown is set.
#
# Giving up (every target failed): the failures name the attempt in
# _FAILURE_PRECEDENCE order (one busy flat makes it "busy" rather than "no
# answer"), as a call_ended reason of intercom.events: no_answer; refused
# with the failure as detail and its SIP status as sip_code; error for
# no_room (the phone had no room for the call) and bad_sdp. Nobody
# answered (no_answer, refused): `nobody_answered` is set and the station
# plays the prompt sequence (intercom.app.voicemail); any other give-up:
# the error tone.
#
# A target the phone has no room to call (call() gives None) fails at once
# as no_room. Every call that was started ends with exactly one
# `call_ended` event (reasons and details: intercom.events).
# One-shot tones (chime, error, warning, confirm, reject) last TONE_MS;
# ringback plays while calling after the first `ringing` (after the chime).

from intercom import events
from intercom.compat import ticks_add, ticks_diff

IDLE = "idle"
CALLING = "calling"
TALKING = "talking"
ENDING = "ending"

TONE_MS = 1500
WARNING_BEFORE_END_MS = 10000
ENDING_TIMEOUT_MS = 5000

# Failures of one target (what the phone reports, "no_answer" for the ring
# timer, "no_room" when call() gives None), in the order that names the
# whole attempt when every target failed; any other is "rejected".
_FAILURE_PRECEDENCE = (
    "busy",
    "declined",
    "no_answer",
    "unavailable",
    "not_found",
    "redirect",
    "auth",
    "rejected",
    "bad_sdp",
    "no_room",
)
_ERROR_FAILURES = ("bad_sdp", "no_room")


class Doorbell:
    def __init__(self, call_settings, phone, may_answer, emit, chime_on_repeat=False):
        self._ring_timeout_ms = call_settings["ring_timeout"] * 1000
        self._max_duration_ms = call_settings["max_duration"] * 1000
        self._cooldown_ms = call_settings["cooldown"] * 1000
        self._chime_on_repeat = chime_on_repeat
        self._phone = phone
        self._may_answer = may_answer
        self.state = IDLE
        self.registered = True
        self.ignored_presses = 0
        self.repeats = 0  # presses since the one that placed the last call
        self.chime_due = False
        self.button = None  # the button entry of the call attempt (None: incoming)
        self.button_id = None  # its id
        self._targets = []
        self._parallel = False
        self.tone = None
        self.nobody_answered = False  # set on giving up so; the station clears it
        self.talking_call_id = None  # the call in talking (and ending)
        self._ringing_calls = {}  # call_id -> target, while calling
        self._rang = []  # call ids that reported ringing
        self._next_target = 0
        self._failures = []  # (failure, SIP status or None) per target
        self._answered_ms = 0
        self._timers = {}  # name -> deadline ms
        self.emit = emit

    # -- inputs from the board ------------------------------------------

    def button_pressed(self, now_ms, button, targets, quiet):
        """button: its config entry; targets: whom this press rings."""
        fields = {"state": "pressed", "button": button["id"], "quiet": quiet}
        if self.state != IDLE or "cooldown" in self._timers:
            self.ignored_presses += 1
            self.repeats += 1
            fields["repeat"] = self.repeats
            self.emit(now_ms, "button", fields)
            self.chime_due = self._chime_on_repeat and not quiet
            return
        self.repeats = 0
        fields["repeat"] = 0
        self.emit(now_ms, "button", fields)
        self.chime_due = not quiet
        if not targets:
            return
        if not self.registered:
            self._play(now_ms, "error")
            self._emit_call_ended(now_ms, events.CALL_FAILED, 0, "not_registered")
            return
        self.state = CALLING
        self.button = button
        self.button_id = button["id"]
        self._targets = list(targets)
        self._parallel = button["mode"] == "parallel"
        self._failures = []
        self._next_target = 0
        self._ring_next(now_ms)

    def hangup_requested(self, now_ms, reason, detail=None):
        """reason, detail: the call_ended reason and detail (intercom.events);
        local_hangup while calling is cancelled (nobody had answered)."""
        if self.state == CALLING:
            if reason == events.LOCAL_HANGUP:
                reason = events.CANCELLED
            self._hang_up_ringing(now_ms)
            self._finish(now_ms, reason, detail)
        elif self.state == TALKING:
            self._end_talking(now_ms, reason, detail)

    def set_registered(self, registered):
        self.registered = registered

    # -- outcomes from the phone ----------------------------------------

    def on_ringing(self, call_id, now_ms):
        if self.state == CALLING and call_id in self._ringing_calls and call_id not in self._rang:
            self._rang.append(call_id)
            if "tone" not in self._timers:
                self.tone = "ringback"
            self.emit(now_ms, "ringing", {"target": self._ringing_calls[call_id]})

    def on_answered(self, call_id, now_ms):
        if self.state != CALLING or call_id not in self._ringing_calls:
            # A second flat answered after the first (parallel race): end it.
            self._phone.hangup(call_id, now_ms)
            return
        target = self._ringing_calls.pop(call_id)
        self._hang_up_ringing(now_ms)
        self._start_talking(call_id, now_ms)
        self.emit(now_ms, "answered", {"target": target})

    def on_failed(self, call_id, reason, now_ms, status=None):
        """reason: the phone's word for the failure; status: its SIP code."""
        if self.state != CALLING or call_id not in self._ringing_calls:
            return
        del self._ringing_calls[call_id]
        self._failures.append((reason, status))
        if not self._ringing_calls:
            self._ring_next(now_ms)

    def on_remote_ended(self, call_id, now_ms, reason=events.REMOTE_HANGUP, detail=None):
        if call_id != self.talking_call_id:
            return
        if self.state == TALKING:
            self._emit_call_ended(now_ms, reason, ticks_diff(now_ms, self._answered_ms), detail)
        self._back_to_idle(now_ms)

    def on_incoming(self, call_id, caller, identity, now_ms):
        """The phone asks whether to take a call from caller (its From, for
        the event) whose identity may_answer judges; returns whether it was
        answered."""
        accepted = self.state == IDLE and self._may_answer(identity)
        self.emit(now_ms, "incoming_call", {"from": caller, "accepted": accepted})
        if not accepted:
            self._phone.reject(call_id, 486 if self.state != IDLE else 403, now_ms)
            return False
        self._phone.answer(call_id, now_ms)
        self.button = None
        self.button_id = None
        self._start_talking(call_id, now_ms)
        return True

    def transferred(self, call_id):
        """The talking call moved to call_id (a transfer, see the top)."""
        if self.state == TALKING:
            self.talking_call_id = call_id

    def owns(self, call_id):
        """Whether call_id is a call of the current attempt (ringing or talking)."""
        return call_id == self.talking_call_id or call_id in self._ringing_calls

    def door_opened(self, now_ms):
        """The door policy opened the door: the visitor hears a confirmation."""
        self._play(now_ms, "confirm")

    def code_rejected(self, now_ms):
        self._play(now_ms, "reject")

    def play_chime(self, now_ms):
        """The local chime on the door's speaker (chime.tone)."""
        self._play(now_ms, "chime")

    # -- timers ------------------------------------------------------------

    def get_timer(self):
        earliest = None
        for deadline in self._timers.values():
            if earliest is None or ticks_diff(deadline, earliest) < 0:
                earliest = deadline
        return earliest

    def handle_timer(self, now_ms):
        for name in list(self._timers):
            deadline = self._timers.get(name)
            if deadline is not None and ticks_diff(deadline, now_ms) <= 0:
                del self._timers[name]
                self._fire(name, now_ms)

    def _fire(self, name, now_ms):
        if name == "tone":
            self.tone = "ringback" if self.state == CALLING and self._rang else None
        elif name == "ring" and self.state == CALLING:
            for _ in list(self._ringing_calls):
                self._failures.append(("no_answer", None))
            self._hang_up_ringing(now_ms)
            self._ring_next(now_ms)
        elif name == "warning" and self.state == TALKING:
            self._play(now_ms, "warning")
        elif name == "max_duration" and self.state == TALKING:
            self._end_talking(now_ms, events.MAX_DURATION)
        elif name == "ending" and self.state == ENDING:
            self._back_to_idle(now_ms)

    # -- events ------------------------------------------------------------

    # -- helpers -------------------------------------------------------------

    def _ring_next(self, now_ms):
        """Call the next target (every target, parallel) and time the ring;
        gives up when no target is left to ring."""
        while self._next_target < len(self._targets):
            target = self._targets[self._next_target]
            self._next_target += 1
            call_id = self._phone.call(target, now_ms, self.button)
            self.emit(now_ms, "call_started", {"target": target, "button": self.button_id})
            if call_id is None:  # no room for another SIP call
                self._failures.append(("no_room", None))
                continue
            self._ringing_calls[call_id] = target
            if not self._parallel:
                break
        if self._ringing_calls:
            self._timers["ring"] = ticks_add(now_ms, self._ring_timeout_ms)
        else:
            self._give_up(now_ms)

    def _hang_up_ringing(self, now_ms):
        for call_id in list(self._ringing_calls):
            self._phone.hangup(call_id, now_ms)
        self._ringing_calls = {}

    def _give_up(self, now_ms):
        failure, status = self._naming_failure()
        if failure == "no_answer":
            reason, detail, status = events.NO_ANSWER, None, None
        elif failure in _ERROR_FAILURES:
            reason, detail, status = events.CALL_FAILED, failure, None
        else:
            reason, detail = events.REFUSED, failure
        self._finish(now_ms, reason, detail, status)
        if reason == events.CALL_FAILED:
            self._play(now_ms, "error")
        else:
            self.nobody_answered = True

    def _naming_failure(self):
        """(failure, SIP status) that names the attempt (_FAILURE_PRECEDENCE)."""
        best = None
        best_rank = len(_FAILURE_PRECEDENCE)
        for failure, status in self._failures:
            if failure not in _FAILURE_PRECEDENCE:
                failure = "rejected"
            rank = _FAILURE_PRECEDENCE.index(failure)
            if best is None or rank < best_rank:
                best, best_rank = (failure, status), rank
        return best if best is not None else ("no_room", None)

    def _finish(self, now_ms, reason, detail=None, sip_code=None):
        self._emit_call_ended(now_ms, reason, 0, detail, sip_code)
        self._back_to_idle(now_ms)

    def _start_talking(self, call_id, now_ms):
        self.state = TALKING
        self.talking_call_id = call_id
        self._rang = []
        self.tone = None
        self._answered_ms = now_ms
        self._timers.pop("ring", None)
        self._timers.pop("tone", None)
        self._timers["max_duration"] = ticks_add(now_ms, self._max_duration_ms)
        if self._max_duration_ms > WARNING_BEFORE_END_MS:
            warning_at = self._max_duration_ms - WARNING_BEFORE_END_MS
            self._timers["warning"] = ticks_add(now_ms, warning_at)

    def _end_talking(self, now_ms, reason, detail=None):
        self._phone.hangup(self.talking_call_id, now_ms)
        self._emit_call_ended(now_ms, reason, ticks_diff(now_ms, self._answered_ms), detail)
        self.state = ENDING
        for name in ("max_duration", "warning"):
            self._timers.pop(name, None)
        self._timers["ending"] = ticks_add(now_ms, ENDING_TIMEOUT_MS)

    def _emit_call_ended(self, now_ms, reason, duration_ms, detail=None, sip_code=None):
        fields = {
            "reason": reason,
            "duration_ms": duration_ms,
            "detail": detail,
            "sip_code": sip_code,
        }
        self.emit(now_ms, "call_ended", fields)

    def _back_to_idle(self, now_ms):
        self.state = IDLE
        self.talking_call_id = None
        self._ringing_calls = {}
        self._rang = []
        if self.tone == "ringback":
            self.tone = None
        for name in ("ring", "max_duration", "warning", "ending"):
            self._timers.pop(name, None)
        if self._cooldown_ms:
            self._timers["cooldown"] = ticks_add(now_ms, self._cooldown_ms)

    def _play(self, now_ms, tone):
        self.tone = tone
        self._timers["tone"] = ticks_add(now_ms, TONE_MS)
