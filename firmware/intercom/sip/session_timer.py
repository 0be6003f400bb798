# Session timers (RFC 4028): a call is refreshed every session interval by
# a re-INVITE or an UPDATE from one side, the refresher; when no refresh
# comes, the other side ends the call with BYE (section 10). One
# SessionTimer per call, sans-I/O: the call hands it the requests and the
# 2xx that carry Session-Expires, asks it for the fields of what it sends,
# and asks it what is due.
#
#   event                                  action / answer                 due
#   -------------------------------------- ------------------------------- ---------
#   our INVITE (sip.session_expires > 0)   Session-Expires: SE, Min-SE     -
#                                          (the call says Supported: timer)
#   422 to our INVITE, with a Min-SE       SE = that Min-SE, INVITE again  -
#   within MAX_SE_S                        once (section 7.4)
#   2xx to our INVITE or refresh with SE   its interval; refresher=uac:    refresh or
#                                          we refresh, uas: the peer       expire
#   2xx without Session-Expires            no session timer (section 7.2)  none
#   the peer's INVITE/UPDATE: SE below     422 with Min-SE (section 9),    unchanged
#   MIN_SE_S (malformed: 400)              nothing else changes
#   the peer's INVITE/UPDATE with SE       our 2xx: SE;refresher= theirs,  refresh or
#                                          else uac when the peer supports expire
#                                          timer, else uas (we refresh);
#                                          Require: timer when it does
#   the peer's INVITE/UPDATE without SE    no session timer (section 9)    none
#   refresh due (we refresh; SE/2 after    the call sends an UPDATE when   none until
#   the last one, section 10)              the peer allows it, else a      the answer
#                                          re-INVITE with its SDP
#   our refresh fails: 491 (glare)         again in RETRY_MS               refresh
#   our refresh fails otherwise, not       the session lasts until its     expire
#   408/481                                expiry
#   expire due (no refresh by SE - min(32  the call sends BYE, call_ended  none
#   s, SE/3) after the last, section 10)   session_expired
#   (our refresh answered 408 or 481, or   the call sends BYE, call_ended
#   no answer: the call's rule, §10)       session_expired)
#
# Times in integer ms (ticks); intervals in seconds, as on the wire.

from intercom.compat import ticks_add
from intercom.sip.timers import is_due

MIN_SE_S = 90  # RFC 4028 section 4: no smaller interval is ever agreed
MAX_SE_S = 86400  # larger values from a peer are taken as this
RETRY_MS = 2000  # a refresh refused with 491 (glare) goes again after this
REFRESH = "refresh"
EXPIRE = "expire"


class SessionTimer:
    def __init__(self, wanted_s):
        self.wanted_s = wanted_s  # 0: we do not ask for one (we still honour the peer's)
        self.interval_s = wanted_s
        self.we_refresh = False
        self.due = None  # REFRESH, EXPIRE or None
        self.due_at = None
        self.refreshed_at = 0  # when the interval last started
        self.retried = False  # one INVITE again after a 422
        self.answer = None  # (interval, refresher, require) for our next 2xx

    # -- what we send ----------------------------------------------------------

    def add_offer(self, headers, refresh=False):
        """Session-Expires and Min-SE on our INVITE, or on our refresh
        (where we stay the refresher: refresher=uac)."""
        if refresh:
            headers.add("Session-Expires", "%d;refresher=uac" % self.interval_s)
        elif self.interval_s:
            headers.add("Session-Expires", "%d" % self.interval_s)
        else:
            return
        headers.add("Min-SE", "%d" % MIN_SE_S)

    def add_answer(self, headers, now_ms):
        """Our 2xx to the peer's INVITE or UPDATE: what on_request agreed;
        the interval starts now."""
        answer = self.answer
        self.answer = None
        if answer is None:
            return
        interval_s, refresher, require = answer
        headers.add("Session-Expires", "%d;refresher=%s" % (interval_s, refresher))
        if require:
            headers.add("Require", "timer")
        self._start(interval_s, refresher == "uas", now_ms)

    # -- what the peer sends -----------------------------------------------------

    def on_request(self, request):
        """The peer's INVITE or UPDATE: 422 when its interval is too small
        (the caller answers with Min-SE: MIN_SE_S), 400 when it is
        malformed, else None, and add_answer puts the agreement in our 2xx."""
        self.answer = None
        value = request.headers.get("Session-Expires")
        if value is None:
            self.stop()
            return None
        parsed = parse_session_expires(value)
        if parsed is None:
            return 400
        if parsed[0] < MIN_SE_S:
            return 422
        interval_s, refresher = parsed
        supported = has_option(request.headers.get_all("Supported"), "timer")
        if refresher is None:
            refresher = "uac" if supported else "uas"
        self.answer = (interval_s, refresher, supported)
        return None

    def on_success(self, response, now_ms):
        """A 2xx to our INVITE or refresh."""
        value = response.headers.get("Session-Expires")
        parsed = None if value is None else parse_session_expires(value)
        if parsed is None:
            self.stop()
            return
        self._start(parsed[0], parsed[1] != "uas", now_ms)

    def on_too_small(self, response):
        """A 422 to our INVITE: True when we may send it again with the
        Min-SE it asks for (once)."""
        wanted = parse_delta(response.headers.get("Min-SE") or "")
        if self.retried or wanted is None or wanted > MAX_SE_S:
            return False
        self.retried = True
        self.interval_s = max(wanted, MIN_SE_S)
        return True

    def on_refresh_failed(self, status, now_ms):
        """Our refresh got a final failure other than 408/481."""
        if status == 491:
            self.due, self.due_at = REFRESH, ticks_add(now_ms, RETRY_MS)
        else:
            self.due = EXPIRE  # due_at: the expiry counted from the last refresh
            self.due_at = ticks_add(self.refreshed_at, self._expiry_ms())

    # -- time ---------------------------------------------------------------------

    def get_timer(self):
        return self.due_at

    def handle_timer(self, now_ms):
        """REFRESH (send one now), EXPIRE (end the call) or None."""
        if not is_due(self.due_at, now_ms):
            return None
        due = self.due
        self.due = None
        self.due_at = None
        return due

    def _start(self, interval_s, we_refresh, now_ms):
        self.interval_s = min(interval_s, MAX_SE_S)
        self.we_refresh = we_refresh
        self.refreshed_at = now_ms
        if we_refresh:
            self.due, self.due_at = REFRESH, ticks_add(now_ms, self.interval_s * 500)
        else:
            self.due, self.due_at = EXPIRE, ticks_add(now_ms, self._expiry_ms())

    def stop(self):
        self.due = None
        self.due_at = None
        self.we_refresh = False

    def _expiry_ms(self):
        interval_s = self.interval_s
        return (interval_s - min(32, interval_s // 3)) * 1000


def parse_session_expires(value):
    """(seconds, "uac"/"uas"/None) of a Session-Expires value, or None when
    malformed (RFC 4028 section 4: delta-seconds *(; se-params))."""
    parts = value.split(";")
    seconds = parse_delta(parts[0])
    if seconds is None:
        return None
    refresher = None
    for part in parts[1:]:
        name, _, param = part.partition("=")
        if name.strip().lower() == "refresher":
            refresher = param.strip().lower()
            if refresher not in ("uac", "uas"):
                return None
    return seconds, refresher


def parse_delta(text):
    """delta-seconds (digits, RFC 3261 25.1), capped at MAX_SE_S, or None.
    A Min-SE may carry parameters too: they are ignored."""
    text = text.split(";")[0].strip()
    if not text or not text.isdigit() or len(text) > 10:
        return None
    return min(int(text), MAX_SE_S)


def has_option(tags, option):
    """Whether an option tag (Supported, Require) list holds option."""
    for tag in tags:
        if tag.strip().lower() == option:
            return True
    return False
