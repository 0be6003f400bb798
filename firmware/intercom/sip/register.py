# Registration with a SIP registrar (RFC 3261 section 10), as one sans-I/O
# state machine: it sends REGISTER requests through its session context,
# reads their final responses and says when to act next.
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
#   TRYING         other final >= 300, timeout, or    "registration_failed", wait
#                  the connection failed (TCP)        Retry-After or back off -> BACKOFF
#   REGISTERED     the connection to the server       new attempt at once over a
#                  failed, or no pong within 10 s     new connection (RFC 5626 4.5)
#                  (TCP, RFC 5626 4.4.1)              -> TRYING
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
# Requests. The registration sends each REGISTER to the server over
# sip.transport (flow.py; on TCP the board keeps one connection to the
# server and reuses it for everything sent there) through its session
# context (context.py), in a new non-INVITE client transaction that it owns,
# as a call owns its transactions: the context adds the Via (branch, rport),
# the transaction's response comes back through on_response(transaction,
# response, now_ms), its timeout through on_transaction_timeout(transaction,
# now_ms). Request-URI sip:domain (with the server port when the domain is
# the server host), To/From sip:user@domain, one Call-ID and From tag for
# the life of the object (RFC 3261 10.2.4), CSeq + 1 per request, Contact
# <sip:user@host:port> (the context's public address; ;transport=tcp on
# TCP, so the registrar reaches us at our TCP listener), Expires header,
# Max-Forwards 70, Allow, User-Agent. Random values come from the context.
#
# Credentials: credentials.py, the one digest path (only to the configured
# server's address, only for the configured realm when one is set; SHA-256
# before MD5). The challenge adopted is reused for later REGISTERs
# (nonce-count + 1, new cnonce each time). Per attempt a stale=true
# challenge earns one retry and a plain one one retry, so a wrong password
# never loops; a challenge credentials.py refuses fails the attempt with
# its reason ("foreign realm", "unsupported challenge", "no password").
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
#   keep-alive RFC 5626 4.4.1 double-CRLF ping to the server while
#              registered, every 80-100 % of keepalive_ms (sip.keepalive;
#              0 turns it off), sent from handle_timer(); a Flow-Timer in
#              the 200 replaces keepalive_ms. Each REGISTER sent counts as
#              a keep-alive. Over UDP servers drop the empty datagram
#              silently: it only keeps the NAT mapping open. Over TCP the
#              server answers a CRLF pong (on_pong()); none within
#              PONG_WAIT_MS (10 s) means the flow failed: the connection is
#              closed (context.close_flow) and a new REGISTER goes out.
#
# NAT (RFC 3581, UDP only): when the 200 (from the server address) carries
# received/rport in the top Via that differ from our Contact, the Contact is
# replaced in one REGISTER that also removes the old binding (two Contact
# values, the old one with ;expires=0), and the context's public address
# changes, so every later Contact (calls, dialogs) names it.
#
# Events (context.emit, the agent's next_event()):
#   {"event": "registered", "expires": s, "contact": uri}   (every success,
#        refreshes included)
#   {"event": "registration_failed", "reason": text, "status": code or None,
#        "retry_in_ms": ms}   reason: "forbidden" (403), "authentication
#        failed" (challenged again), "foreign realm", "unsupported challenge",
#        "no password", "interval too brief" (423), "rejected" (other
#        codes), "no_response" (Timer F, no final response: a registrar
#        that is not there or never answers), "connection failed" (TCP,
#        TLS), a TLS failure the board names: "tls_untrusted",
#        "tls_hostname", "tls_expired", "tls_certificate",
#        "tls_fingerprint", "tls_handshake" (boards/runtime/sip_tls.py)
#   {"event": "unregistered", "status": code or None, "reason": text or None}

from intercom.compat import ticks_add, ticks_diff
from intercom.sip.backoff import (
    BACKOFF_BASE_MS,
    BACKOFF_CAP_MS,
    randomised,
    retry_delay_ms,
)
from intercom.sip.context import hex_text
from intercom.sip.credentials import from_server
from intercom.sip.flow import SIP_PORT, is_stream, make_flow, same_peer
from intercom.sip.framing import PING
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

KEEPALIVE_LOW_PERCENT = 80  # RFC 5626 section 4.4.1: 80-100 % of the interval
PONG_WAIT_MS = 10000  # RFC 5626 section 4.4.1: no pong within 10 s, the flow failed
REFRESH_MARGIN_MS = 32000  # Timer F (64 * T1), RFC 3261 section 17.1.2.2
MIN_REFRESH_MS = 1000
MIN_RETRY_AFTER_MS = 1000  # "Retry-After: 0" must not make a tight loop
MAX_TIMER_MS = 86400000  # one day, well inside ticks_diff's half period
MAX_FORWARDS = "70"
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


def _looks_like_address(text):
    if not text or len(text) > 64:
        return False
    for char in text:
        if char not in _ADDRESS_CHARS and not char.isalpha():
            return False
    return True


class Registration:
    """Keeps user@domain registered at the configured server.

    context: the session context (context.py); its settings name the server
    (an address the board resolved: the core does no DNS), the user, the
    domain, the expiry and the keep-alive interval.
    """

    def __init__(self, context, backoff_base_ms=BACKOFF_BASE_MS, backoff_cap_ms=BACKOFF_CAP_MS):
        settings = context.settings
        if settings.server_address is None or not settings.domain or not settings.user:
            raise ValueError("a registration needs a server, a domain and a user")
        if not isinstance(settings.expires_s, int) or settings.expires_s < 1:
            raise ValueError("expires_s must be a positive int")
        if settings.keepalive_ms < 0 or backoff_base_ms < 1 or backoff_cap_ms < backoff_base_ms:
            raise ValueError("bad keep-alive or back-off timing")
        self._context = context
        self.server_address = settings.server_address
        self.flow = make_flow(settings.transport, settings.server_address)
        self.state = IDLE
        self.registered = False
        self.expires_s = None  # what the server granted last
        self.ignored_responses = 0  # stray, late or malformed responses
        self._credentials = context.credentials()
        self._keepalive_ms = settings.keepalive_ms
        self._keepalive_interval_ms = settings.keepalive_ms
        self._backoff_base_ms = backoff_base_ms
        self._backoff_cap_ms = backoff_cap_ms
        self._requested_expires = settings.expires_s
        domain = format_host(settings.domain)
        self._aor = "sip:%s@%s" % (settings.user, domain)
        host, port = self.server_address
        if settings.domain == host and port != SIP_PORT:
            self._request_uri = "sip:%s:%d" % (domain, port)
        else:
            self._request_uri = "sip:" + domain
        self._old_contact = None  # binding to remove with the next REGISTER
        random_bytes = context.random_bytes
        self._call_id = hex_text(random_bytes(12))
        self._from_tag = hex_text(random_bytes(8))
        self._cseq = 0
        self._transaction = None  # the REGISTER in flight
        self._deadline = None  # refresh or retry
        self._keepalive_deadline = None
        self._pong_deadline = None
        self._failures = 0
        self._stopping = False
        self._bound = False  # the server may hold a binding of ours
        self._challenges_in_attempt = 0
        self._stale_retried = False
        self._nat_fixed = False

    @property
    def contact(self):
        """Our Contact URI, as the registrar binds it."""
        return self._context.contact_uri(self.flow[0])

    @property
    def ended(self):
        """A registration lives as long as the agent: its transactions are
        never evicted to make room (context.py)."""
        return False

    # -- driver interface -------------------------------------------------

    def start(self, now_ms):
        """Begin registering: the first REGISTER goes out now."""
        if self.state not in (IDLE, STOPPED):
            raise RuntimeError("registration already started")
        self._stopping = False
        self._failures = 0
        self._start_attempt(TRYING, now_ms)

    def stop(self, now_ms):
        """Unregister (Expires: 0) if a binding may exist, then "unregistered"."""
        if self.state in (IDLE, STOPPED) or self._stopping:
            return
        self._stopping = True
        self._deadline = None
        self._keepalive_deadline = None
        self._pong_deadline = None
        if self._transaction is None:
            self._after_stop_requested(now_ms)

    def on_response(self, transaction, response, now_ms):
        """A response to a REGISTER of ours; response.source is where it
        came from."""
        if transaction is not self._transaction or not self._is_ours(response):
            self.ignored_responses += 1
            return
        status = response.status
        if status < 200:
            return
        self._transaction = None
        if self._stopping and self.state == TRYING:
            if status < 300:
                self._bound = True
            elif status in (401, 407):
                self._take_challenge(response)
            self._after_stop_requested(now_ms)
        elif self.state == UNREGISTERING:
            self._on_unregister_response(response, now_ms)
        elif status < 300:
            self._on_success(response, now_ms)
        elif status in (401, 407):
            failure = self._take_challenge(response)
            if failure is None:
                self._send_register(now_ms)
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

    def on_transaction_timeout(self, transaction, now_ms):
        """A REGISTER's client transaction timed out (Timer F), or its
        connection failed (transaction.transport_error: its reason)."""
        if transaction is not self._transaction:
            return
        self._transaction = None
        reason = transaction.transport_reason if transaction.transport_error else "no_response"
        if self._stopping and self.state == TRYING:
            self._after_stop_requested(now_ms)
        elif self.state == UNREGISTERING:
            self._finish_stop(None, reason)
        else:
            self._fail(now_ms, reason, None)

    def on_pong(self, flow, now_ms):
        """A CRLF pong arrived on flow (RFC 5626 4.4.1)."""
        if same_peer(flow, self.flow):
            self._pong_deadline = None

    def on_flow_failed(self, flow, now_ms):
        """The board lost a stream to flow's peer (closed, reset, refused).
        A REGISTER in flight on it hears of it through its transaction."""
        if not same_peer(flow, self.flow):
            return
        self._pong_deadline = None
        if self.state == REGISTERED and not self._stopping:
            self._start_attempt(TRYING, now_ms)

    def get_timer(self):
        """Earliest deadline (refresh, retry, keep-alive, pong) in ms, or None."""
        deadline = None
        for candidate in (self._deadline, self._keepalive_deadline, self._pong_deadline):
            if candidate is not None and (deadline is None or ticks_diff(candidate, deadline) < 0):
                deadline = candidate
        return deadline

    def handle_timer(self, now_ms):
        """Start a refresh or a retry, send the keep-alive, when due (a
        REGISTER sent counts as the keep-alive)."""
        deadline = self._deadline
        if deadline is not None and ticks_diff(now_ms, deadline) >= 0:
            self._deadline = None
            if self.state in (REGISTERED, BACKOFF):
                self._start_attempt(TRYING, now_ms)
        pong = self._pong_deadline
        if pong is not None and ticks_diff(now_ms, pong) >= 0:
            self._pong_deadline = None
            self._context.close_flow(self.flow)  # the board closes the connection
            self.on_flow_failed(self.flow, now_ms)
        keepalive = self._keepalive_deadline
        if keepalive is not None and ticks_diff(now_ms, keepalive) >= 0:
            self._context.send(PING, self.flow)
            if is_stream(self.flow) and self._pong_deadline is None:
                self._pong_deadline = ticks_add(now_ms, PONG_WAIT_MS)
            self._arm_keepalive(now_ms)

    # -- outcomes ---------------------------------------------------------

    def _on_success(self, response, now_ms):
        self._bound = True
        self._old_contact = None
        corrected = self._nat_address(response)
        if corrected is not None and not self._nat_fixed:
            self._nat_fixed = True
            self._old_contact = self.contact
            self._context.public_address = corrected
            self._send_register(now_ms)
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
        self._context.emit({"event": "registered", "expires": granted, "contact": self.contact})

    def _on_interval_too_brief(self, response, now_ms):
        minimum = parse_seconds(response.headers.get("Min-Expires"))
        if minimum is not None and minimum > self._requested_expires:
            self._requested_expires = minimum
            self._send_register(now_ms)
        else:
            self._fail(now_ms, "interval too brief", 423)

    def _on_unregister_response(self, response, now_ms):
        status = response.status
        if status < 300:
            self._finish_stop(status, None)
            return
        failure = "forbidden" if status == 403 else "rejected"
        if status in (401, 407):
            failure = self._take_challenge(response)
            if failure is None:
                self._send_register(now_ms)
                return
        self._finish_stop(status, failure)

    def _fail(self, now_ms, reason, status, retry_in_ms=None):
        self._failures += 1
        if retry_in_ms is None:
            retry_in_ms = retry_delay_ms(
                self._failures,
                self._context.random_bytes,
                self._backoff_base_ms,
                self._backoff_cap_ms,
            )
        self.registered = False
        self.state = BACKOFF
        self._deadline = ticks_add(now_ms, retry_in_ms)
        self._keepalive_deadline = None
        self._pong_deadline = None
        self._context.emit(
            {
                "event": "registration_failed",
                "reason": reason,
                "status": status,
                "retry_in_ms": retry_in_ms,
            }
        )

    def _after_stop_requested(self, now_ms):
        if self._bound:
            self._start_attempt(UNREGISTERING, now_ms)
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
        self._pong_deadline = None
        self._context.emit({"event": "unregistered", "status": status, "reason": reason})

    # -- digest authentication --------------------------------------------

    def _take_challenge(self, response):
        """Adopt the response's challenge; None, or why no credentials go out."""
        credentials = self._credentials
        failure = credentials.examine(response)
        if failure is not None:
            return failure
        if credentials.offered[0].stale and not self._stale_retried:
            self._stale_retried = True
        elif self._challenges_in_attempt == 0:
            self._challenges_in_attempt = 1
        else:
            return "authentication failed"
        credentials.adopt()
        return None

    # -- reading the 200 --------------------------------------------------

    def _granted_expires(self, response):
        """Our Contact's ;expires, else the Expires header, else what we asked."""
        user = self._context.settings.user
        host, port = self._context.public_address
        for value in response.headers.get_all("Contact"):
            try:
                name_addr = parse_name_addr(value)
                uri = parse_uri(name_addr.uri)
            except (SipParseError, ValueError):
                continue
            if (
                uri.user == user
                and _bare_host(uri.host) == _bare_host(host)
                and (uri.port or SIP_PORT) == port
            ):
                granted = parse_seconds(name_addr.params.get("expires"))
                if granted is not None:
                    return granted
        granted = parse_seconds(response.headers.get("Expires"))
        return self._requested_expires if granted is None else granted

    def _nat_address(self, response):
        """(host, port) the server saw us at (RFC 3581), if not our Contact's;
        never over a stream, whose source port is the connection's, not our
        listener's."""
        if is_stream(self.flow) or not from_server(self._context.settings, response.source):
            return None
        vias = response.headers.get_all("Via")
        if not vias:
            return None
        try:
            via = parse_via(vias[0])
        except (SipParseError, ValueError):
            return None
        contact_host, contact_port = self._context.public_address
        host = via.params.get("received") or contact_host
        port = contact_port
        rport = parse_seconds(via.params.get("rport"))
        if rport is not None:
            port = rport
        if not _looks_like_address(host) or not 0 < port < 65536:
            return None
        if _bare_host(host) == _bare_host(contact_host) and port == contact_port:
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

    def _start_attempt(self, state, now_ms):
        self.state = state
        self._challenges_in_attempt = 0
        self._stale_retried = False
        self._nat_fixed = False
        self._send_register(now_ms)

    def _send_register(self, now_ms):
        self._cseq = (self._cseq + 1) & 0x7FFFFFFF  # RFC 3261 8.1.1.5: < 2**31
        expires = 0 if self.state == UNREGISTERING else self._requested_expires
        context = self._context
        headers = Headers()
        headers.add("Max-Forwards", MAX_FORWARDS)
        headers.add("From", "<%s>;tag=%s" % (self._aor, self._from_tag))
        headers.add("To", "<%s>" % self._aor)
        headers.add("Call-ID", self._call_id)
        headers.add("CSeq", "%d REGISTER" % self._cseq)
        if self._old_contact is not None:
            headers.add("Contact", "<%s>;expires=0" % self._old_contact)
        headers.add("Contact", context.contact_value(self.flow[0]))
        headers.add("Expires", str(expires))
        context.add_capabilities(headers)
        credentials = self._credentials
        if credentials.ready:
            answer = credentials.authorization("REGISTER", self._request_uri)
            headers.add(credentials.header, answer)
        request = Request("REGISTER", self._request_uri, headers)
        self._transaction = context.send_request(request, self.flow, now_ms, self)
        if self._keepalive_deadline is not None:
            self._arm_keepalive(now_ms)

    def _arm_keepalive(self, now_ms):
        if self._keepalive_interval_ms and not self._stopping:
            delay = randomised(
                self._keepalive_interval_ms, KEEPALIVE_LOW_PERCENT, self._context.random_bytes
            )
            self._keepalive_deadline = ticks_add(now_ms, delay)
