# Registration with a SIP registrar (RFC 3261 section 10), as one sans-I/O
# state machine: it builds REGISTER requests, reads their final responses and
# says when to act next. The agent owns the socket and the transactions.
#
# States and rules ("attempt" = the REGISTERs that lead to one outcome: the
# first registration, a refresh, a retry after a failure, or the unregister;
# credential retries, 423 retries and the NAT fix stay inside one attempt):
#
#   state          input                              action -> next state
#   -------------  ---------------------------------  --------------------------------
#   IDLE/STOPPED   start()                            new attempt, REGISTER -> TRYING
#   TRYING         1xx                                ignored
#   TRYING         2xx, top Via received/rport show   REGISTER with the corrected
#                  another address (RFC 3581), first  Contact, the old one with
#                  time in this attempt               ;expires=0 -> TRYING
#   TRYING         2xx                                "registered", refresh armed,
#                                                     keep-alives on -> REGISTERED
#   TRYING         401/407, challenge usable, realm   REGISTER with credentials
#                  allowed, first (or first stale)    -> TRYING
#                  challenge in this attempt
#   TRYING         401/407 otherwise                  "registration_failed", back off
#                                                     -> BACKOFF (nothing sent)
#   TRYING         423 with Min-Expires > ours        REGISTER asking Min-Expires
#                                                     -> TRYING (RFC 3261 10.2.8)
#   TRYING         other final >= 300, or timeout     "registration_failed", wait
#                                                     Retry-After or back off -> BACKOFF
#   REGISTERED     refresh deadline                   new attempt, REGISTER -> TRYING
#   BACKOFF        retry deadline                     new attempt, REGISTER -> TRYING
#   any started    stop(), nothing in flight          bound: REGISTER Expires 0
#                                                     -> UNREGISTERING; else
#                                                     "unregistered" -> STOPPED
#   TRYING         stop(), REGISTER in flight         wait for its outcome, then as
#                                                     above (its 2xx counts as bound,
#                                                     its challenge is answered)
#   UNREGISTERING  401/407 as in TRYING               REGISTER Expires 0 with
#                                                     credentials -> UNREGISTERING
#   UNREGISTERING  other final, or timeout            "unregistered" -> STOPPED
#
# Requests. next_request() hands out each REGISTER once, WITHOUT a Via: the
# agent sends it in a new non-INVITE client transaction and adds the Via
# (branch, rport) itself. Request-URI sip:domain (with the server port when
# the domain is the server host), To/From sip:user@domain, one Call-ID and
# From tag for the life of the object (RFC 3261 10.2.4), CSeq + 1 per request,
# Contact <sip:user@host:port>, Expires header, Max-Forwards 70, User-Agent,
# Allow. Random values come from the random_bytes callable.
#
# Credentials (RFC 3261 22, RFC 7616, RFC 8760) go out only when the
# challenge came from the configured server address (host and port exactly
# as given to the constructor, which must be the address the agent sends
# to, not a DNS name) AND, when a `realm` is configured, its realm equals it.
# Without a configured realm any realm from the server is accepted (FRITZ!Box
# uses its host name, Asterisk "asterisk"); on_response() therefore takes
# the response's source (host, port). Otherwise: nothing is sent,
# "registration_failed" with reason "foreign realm". The challenge answered
# is auth.best_challenge's pick (SHA-256 before MD5); the last accepted one
# is reused for later REGISTERs (nonce-count + 1, new cnonce each time). A
# stale=true challenge earns one retry per attempt, a plain one only one per
# attempt, so a wrong password never loops.
#
# Timing:
#   refresh    at max(E/2, E - 32 s) after the 200, E = the expiry the server
#              granted (our Contact's ;expires, else Expires, else what we
#              asked); 32 s = Timer F, so a refresh that times out still ends
#              before the binding does. Never sooner than 1 s, never later
#              than one day (the tick clock's range).
#   failure    RFC 5626 4.5 back-off (see backoff.py): base 30 s, cap 1800 s,
#              min(cap, base * 2**failures) randomised to 50-100 %.
#              Retry-After on any failure response wins (RFC 3261 20.33),
#              kept between 1 s and the cap.
#   keep-alive RFC 5626 4.4.1 double-CRLF ping while registered over UDP,
#              every 80-100 % of keepalive_ms (default 25 s, under the ~30 s
#              UDP timeout of common NAT boxes; 0 turns it off); a Flow-Timer
#              in the 200 replaces keepalive_ms. Servers drop the empty
#              datagram silently on UDP: it only keeps the NAT mapping open.
#              Each REGISTER sent counts as a keep-alive.
#
# NAT (RFC 3581): when the 200 (from the server address) carries received/
# rport in the top Via that differ from our Contact, the Contact is replaced
# in one REGISTER that also removes the old binding (two Contact values, the
# old one with ;expires=0), and .contact changes for the agent and dialogs.
#
# Events (next_event()):
#   {"event": "registered", "expires": s, "contact": uri}   (every success,
#        refreshes included)
#   {"event": "registration_failed", "reason": text, "status": code or None,
#        "retry_in_ms": ms}   reason: "forbidden" (403), "authentication
#        failed" (challenged again), "foreign realm", "unsupported challenge",
#        "interval too brief" (423), "rejected" (other codes), "timeout"
#   {"event": "unregistered", "status": code or None, "reason": text or None}

import binascii

from intercom.compat import ticks_add, ticks_diff
from intercom.sip import auth
from intercom.sip.backoff import (
    BACKOFF_BASE_MS,
    BACKOFF_CAP_MS,
    randomised,
    retry_delay_ms,
)
from intercom.sip.flow import SIP_PORT
from intercom.sip.grammar import format_host
from intercom.sip.message import (
    Headers,
    Request,
    SipParseError,
    parse_cseq,
    parse_name_addr,
    parse_via,
)
from intercom.sip.uri import parse_uri

IDLE = "idle"
TRYING = "trying"
REGISTERED = "registered"
BACKOFF = "backoff"
UNREGISTERING = "unregistering"
STOPPED = "stopped"

KEEPALIVE = b"\r\n\r\n"  # RFC 5626 section 4.4.1 CRLF ping
KEEPALIVE_MS = 25000
KEEPALIVE_LOW_PERCENT = 80  # RFC 5626 section 4.4.1: 80-100 % of the interval
REFRESH_MARGIN_MS = 32000  # Timer F (64 * T1), RFC 3261 section 17.1.2.2
MIN_REFRESH_MS = 1000
MIN_RETRY_AFTER_MS = 1000  # "Retry-After: 0" must not make a tight loop
MAX_TIMER_MS = 86400000  # one day, well inside ticks_diff's half period
MAX_FORWARDS = "70"
USER_AGENT = "intercom"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"
_MAX_SECONDS = 0xFFFFFFFF  # RFC 3261 section 20.19: delta-seconds
_ADDRESS_CHARS = "0123456789abcdefABCDEF.:-_"


def parse_seconds(text):
    """The delta-seconds in `text` as an int, or None when it is not one."""
    if text is None:
        return None
    text = text.strip()
    if not text or len(text) > 10:
        return None
    for char in text:
        if char < "0" or char > "9":
            return None
    value = int(text)
    return value if value <= _MAX_SECONDS else None


def retry_after_seconds(text):
    """Seconds from a Retry-After value ("120 (comment);duration=60")."""
    if text is None:
        return None
    for stop in "(;":
        cut = text.find(stop)
        if cut >= 0:
            text = text[:cut]
    return parse_seconds(text)


def refresh_delay_ms(granted_s):
    """When to refresh a binding the server granted for granted_s seconds."""
    expires_ms = granted_s * 1000
    delay = max(expires_ms // 2, expires_ms - REFRESH_MARGIN_MS)
    return min(MAX_TIMER_MS, max(MIN_REFRESH_MS, delay))


def _bare_host(host):
    return host.strip("[]").lower()


def _hex(data):
    return binascii.hexlify(data).decode()


def _looks_like_address(text):
    if not text or len(text) > 64:
        return False
    for char in text:
        if char not in _ADDRESS_CHARS and not char.isalpha():
            return False
    return True


class Registration:
    """Keeps user@domain registered at server_host:server_port.

    server_host must be the address the agent sends to (an IP literal); the
    board resolves names first. random_bytes(n) returns n random bytes.
    """

    def __init__(
        self,
        server_host,
        server_port,
        domain,
        user,
        password,
        expires_s,
        contact_host,
        contact_port,
        random_bytes,
        keepalive_ms=KEEPALIVE_MS,
        realm=None,
        user_agent=USER_AGENT,
        allow=ALLOW,
        backoff_base_ms=BACKOFF_BASE_MS,
        backoff_cap_ms=BACKOFF_CAP_MS,
    ):
        if not server_host or not domain or not user or not contact_host:
            raise ValueError("server_host, domain, user and contact_host are required")
        if not isinstance(expires_s, int) or expires_s < 1:
            raise ValueError("expires_s must be a positive int")
        if keepalive_ms < 0 or backoff_base_ms < 1 or backoff_cap_ms < backoff_base_ms:
            raise ValueError("bad keep-alive or back-off timing")
        port = server_port or SIP_PORT
        self.server_address = (server_host, port)
        self.state = IDLE
        self.registered = False
        self.expires_s = None  # what the server granted last
        self.ignored_responses = 0  # stray, late or malformed responses
        self._user = user
        self._password = password
        self._realm = realm
        self._random_bytes = random_bytes
        self._user_agent = user_agent
        self._allow = allow
        self._keepalive_ms = keepalive_ms
        self._keepalive_interval_ms = keepalive_ms
        self._backoff_base_ms = backoff_base_ms
        self._backoff_cap_ms = backoff_cap_ms
        self._requested_expires = expires_s
        self._aor = "sip:%s@%s" % (user, format_host(domain))
        if domain == server_host and port != SIP_PORT:
            self._request_uri = "sip:%s:%d" % (format_host(domain), port)
        else:
            self._request_uri = "sip:" + format_host(domain)
        self._contact_host = contact_host
        self._contact_port = contact_port
        self.contact = self._contact_uri(contact_host, contact_port)
        self._old_contact = None  # binding to remove with the next REGISTER
        self._call_id = _hex(random_bytes(12))
        self._from_tag = _hex(random_bytes(8))
        self._cseq = 0
        self._pending = None  # built, not yet handed to the agent
        self._in_flight = False
        self._deadline = None  # refresh or retry
        self._keepalive_deadline = None
        self._events = []
        self._failures = 0
        self._stopping = False
        self._bound = False  # the server may hold a binding of ours
        self._challenge = None
        self._auth_header = None
        self._nonce_count = 0
        self._challenges_in_attempt = 0
        self._stale_retried = False
        self._nat_fixed = False

    # -- driver interface -------------------------------------------------

    def start(self, now_ms):
        """Begin registering; the first REGISTER waits in next_request()."""
        if self.state not in (IDLE, STOPPED):
            raise RuntimeError("registration already started")
        self._stopping = False
        self._failures = 0
        self._start_attempt(TRYING)

    def stop(self, now_ms):
        """Unregister (Expires: 0) if a binding may exist, then "unregistered"."""
        if self.state in (IDLE, STOPPED) or self._stopping:
            return
        self._stopping = True
        self._deadline = None
        self._keepalive_deadline = None
        if not self._in_flight:
            self._pending = None
            self._after_stop_requested()

    def next_request(self, now_ms):
        """The REGISTER to send now (no Via: the agent adds it), or None."""
        request = self._pending
        if request is not None:
            self._pending = None
            self._in_flight = True
            if self._keepalive_deadline is not None:
                self._arm_keepalive(now_ms)
        return request

    def on_response(self, response, now_ms, source):
        """A response to our REGISTER; source is the (host, port) it came from."""
        if not self._in_flight or not self._is_ours(response):
            self.ignored_responses += 1
            return
        status = response.status
        if status < 200:
            return
        self._in_flight = False
        if self._stopping and self.state == TRYING:
            if status < 300:
                self._bound = True
            elif status in (401, 407):
                self._take_challenge(response, source)
            self._after_stop_requested()
        elif self.state == UNREGISTERING:
            self._on_unregister_response(response, source)
        elif status < 300:
            self._on_success(response, now_ms, source)
        elif status in (401, 407):
            failure = self._take_challenge(response, source)
            if failure is None:
                self._queue_request()
            else:
                self._fail(now_ms, failure, status)
        elif status == 423:
            self._on_interval_too_brief(response, now_ms)
        else:
            reason = "forbidden" if status == 403 else "rejected"
            retry_s = retry_after_seconds(response.headers.get("Retry-After"))
            retry_ms = None
            if retry_s is not None:
                retry_ms = min(self._backoff_cap_ms, max(MIN_RETRY_AFTER_MS, retry_s * 1000))
            self._fail(now_ms, reason, status, retry_ms)

    def on_transaction_timeout(self, now_ms):
        """The REGISTER's client transaction timed out (Timer F)."""
        if not self._in_flight:
            return
        self._in_flight = False
        if self._stopping and self.state == TRYING:
            self._after_stop_requested()
        elif self.state == UNREGISTERING:
            self._finish_stop(None, "timeout")
        else:
            self._fail(now_ms, "timeout", None)

    def get_timer(self):
        """Earliest deadline (refresh, retry or keep-alive) in ms, or None."""
        deadline = self._deadline
        keepalive = self._keepalive_deadline
        if deadline is None or (keepalive is not None and ticks_diff(keepalive, deadline) < 0):
            return keepalive
        return deadline

    def handle_timer(self, now_ms):
        """Start a refresh or a retry when its deadline has passed.

        Keep-alives are not sent from here: ask keepalive_due() after it.
        """
        if self._deadline is None or ticks_diff(now_ms, self._deadline) < 0:
            return
        self._deadline = None
        if self.state in (REGISTERED, BACKOFF):
            self._start_attempt(TRYING)

    def keepalive_due(self, now_ms):
        """True when KEEPALIVE should go to server_address now."""
        deadline = self._keepalive_deadline
        return deadline is not None and ticks_diff(now_ms, deadline) >= 0

    def keepalive_sent(self, now_ms):
        """The agent sent KEEPALIVE: schedule the next one."""
        if self._keepalive_deadline is not None:
            self._arm_keepalive(now_ms)

    def next_event(self):
        """The oldest pending event dict, or None."""
        return self._events.pop(0) if self._events else None

    # -- outcomes ---------------------------------------------------------

    def _on_success(self, response, now_ms, source):
        self._bound = True
        self._old_contact = None
        corrected = self._nat_address(response, source)
        if corrected is not None and not self._nat_fixed:
            self._nat_fixed = True
            self._old_contact = self.contact
            self._contact_host, self._contact_port = corrected
            self.contact = self._contact_uri(corrected[0], corrected[1])
            self._queue_request()
            return
        granted = self._granted_expires(response)
        self.expires_s = granted
        self._failures = 0
        self.registered = True
        self.state = REGISTERED
        self._deadline = ticks_add(now_ms, refresh_delay_ms(granted))
        flow_timer = parse_seconds(response.headers.get("Flow-Timer"))
        if flow_timer:
            self._keepalive_interval_ms = min(MAX_TIMER_MS, flow_timer * 1000)
        else:
            self._keepalive_interval_ms = self._keepalive_ms
        self._arm_keepalive(now_ms)
        self._events.append({"event": "registered", "expires": granted, "contact": self.contact})

    def _on_interval_too_brief(self, response, now_ms):
        minimum = parse_seconds(response.headers.get("Min-Expires"))
        if minimum is not None and minimum > self._requested_expires:
            self._requested_expires = minimum
            self._queue_request()
        else:
            self._fail(now_ms, "interval too brief", 423)

    def _on_unregister_response(self, response, source):
        status = response.status
        if status < 300:
            self._finish_stop(status, None)
            return
        failure = "forbidden" if status == 403 else "rejected"
        if status in (401, 407):
            failure = self._take_challenge(response, source)
            if failure is None:
                self._queue_request()
                return
        self._finish_stop(status, failure)

    def _fail(self, now_ms, reason, status, retry_in_ms=None):
        self._failures += 1
        if retry_in_ms is None:
            retry_in_ms = retry_delay_ms(
                self._failures, self._random_bytes, self._backoff_base_ms, self._backoff_cap_ms
            )
        self.registered = False
        self.state = BACKOFF
        self._deadline = ticks_add(now_ms, retry_in_ms)
        self._keepalive_deadline = None
        self._events.append(
            {
                "event": "registration_failed",
                "reason": reason,
                "status": status,
                "retry_in_ms": retry_in_ms,
            }
        )

    def _after_stop_requested(self):
        if self._bound:
            self._start_attempt(UNREGISTERING)
        else:
            self._finish_stop(None, None)

    def _finish_stop(self, status, reason):
        self.state = STOPPED
        self.registered = False
        self._bound = False
        self._stopping = False
        self._old_contact = None
        self._deadline = None
        self._keepalive_deadline = None
        self._events.append({"event": "unregistered", "status": status, "reason": reason})

    # -- digest authentication --------------------------------------------

    def _take_challenge(self, response, source):
        """Adopt the response's challenge; None, or why no credentials go out."""
        status = response.status
        name = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
        challenge = auth.best_challenge(response.headers.get_all(name))
        if challenge is None:
            return "unsupported challenge"
        if not self._from_server(source) or (
            self._realm is not None and challenge.realm != self._realm
        ):
            return "foreign realm"
        if challenge.stale and not self._stale_retried:
            self._stale_retried = True
        elif self._challenges_in_attempt == 0:
            self._challenges_in_attempt = 1
        else:
            return "authentication failed"
        if self._challenge is None or self._challenge.nonce != challenge.nonce:
            self._nonce_count = 0  # RFC 7616 3.4: nc counts requests per nonce
        self._challenge = challenge
        self._auth_header = "Authorization" if status == 401 else "Proxy-Authorization"
        return None

    def _from_server(self, source):
        if source is None:
            return False
        host, port = self.server_address
        return _bare_host(source[0]) == _bare_host(host) and source[1] == port

    # -- reading the 200 --------------------------------------------------

    def _granted_expires(self, response):
        """Our Contact's ;expires, else the Expires header, else what we asked."""
        for value in response.headers.get_all("Contact"):
            try:
                name_addr = parse_name_addr(value)
                uri = parse_uri(name_addr.uri)
            except (SipParseError, ValueError):
                continue
            if (
                uri.user == self._user
                and _bare_host(uri.host) == _bare_host(self._contact_host)
                and (uri.port or SIP_PORT) == self._contact_port
            ):
                granted = parse_seconds(name_addr.params.get("expires"))
                if granted is not None:
                    return granted
        granted = parse_seconds(response.headers.get("Expires"))
        return self._requested_expires if granted is None else granted

    def _nat_address(self, response, source):
        """(host, port) the server saw us at (RFC 3581), if not our Contact's."""
        if not self._from_server(source):
            return None
        vias = response.headers.get_all("Via")
        if not vias:
            return None
        try:
            via = parse_via(vias[0])
        except (SipParseError, ValueError):
            return None
        host = via.params.get("received") or self._contact_host
        port = self._contact_port
        rport = parse_seconds(via.params.get("rport"))
        if rport is not None:
            port = rport
        if not _looks_like_address(host) or not 0 < port < 65536:
            return None
        if _bare_host(host) == _bare_host(self._contact_host) and port == self._contact_port:
            return None
        return (_bare_host(host), port)

    def _is_ours(self, response):
        headers = response.headers
        if headers.get("Call-ID") != self._call_id:
            return False
        try:
            number, method = parse_cseq(headers.get("CSeq") or "")
        except (SipParseError, ValueError):
            return False
        return number == self._cseq and method == "REGISTER"

    # -- building requests ------------------------------------------------

    def _start_attempt(self, state):
        self.state = state
        self._challenges_in_attempt = 0
        self._stale_retried = False
        self._nat_fixed = False
        self._queue_request()

    def _contact_uri(self, host, port):
        return "sip:%s@%s:%d" % (self._user, format_host(host), port)

    def _queue_request(self):
        self._cseq = (self._cseq + 1) & 0x7FFFFFFF  # RFC 3261 8.1.1.5: < 2**31
        expires = 0 if self.state == UNREGISTERING else self._requested_expires
        headers = Headers()
        headers.add("Max-Forwards", MAX_FORWARDS)
        headers.add("From", "<%s>;tag=%s" % (self._aor, self._from_tag))
        headers.add("To", "<%s>" % self._aor)
        headers.add("Call-ID", self._call_id)
        headers.add("CSeq", "%d REGISTER" % self._cseq)
        if self._old_contact is not None:
            headers.add("Contact", "<%s>;expires=0" % self._old_contact)
        headers.add("Contact", "<%s>" % self.contact)
        headers.add("Expires", str(expires))
        headers.add("Allow", self._allow)
        headers.add("User-Agent", self._user_agent)
        if self._challenge is not None:
            self._nonce_count += 1
            headers.add(
                self._auth_header,
                auth.authorization_value(
                    self._challenge,
                    "REGISTER",
                    self._request_uri,
                    self._user,
                    self._password,
                    self._nonce_count,
                    _hex(self._random_bytes(8)),
                ),
            )
        self._pending = Request("REGISTER", self._request_uri, headers)

    def _arm_keepalive(self, now_ms):
        if self._keepalive_interval_ms and not self._stopping:
            delay = randomised(
                self._keepalive_interval_ms, KEEPALIVE_LOW_PERCENT, self._random_bytes
            )
            self._keepalive_deadline = ticks_add(now_ms, delay)
