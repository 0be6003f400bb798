# The SIP user agent façade: one object the board drives, sans-I/O.
#
# Driver contract (aioquic style):
#   receive_datagram(data, addr, now_ms)   feed every UDP datagram
#   datagrams_to_send(now_ms)              -> [(bytes, (host, port))], send them all
#   get_timer()                            -> next deadline (ms ticks) or None
#   handle_timer(now_ms)                   call when that deadline has passed
#   next_event()                           -> event dict or None, drain after each call
#
# App methods: start(now_ms), stop(now_ms), call(target, rtp_port, now_ms,
# ring_timeout_ms=None, display_name=None, alert_info=None) -> call id
# (display_name: the From's, instead of the settings'; alert_info: an
# Alert-Info header value, RFC 3261 20.4, so phones ring differently per
# door button), answer(call_id, rtp_port, now_ms),
# reject(call_id, status, now_ms), hangup(call_id, now_ms).
#
# Events (every dict has "event"; calls carry "call_id", the SIP Call-ID):
#   {"event": "registered", "expires": s, "contact": uri}            (register.py)
#   {"event": "registration_failed", "reason": text, "status": code|None,
#    "retry_in_ms": ms}                                             (register.py)
#   {"event": "unregistered", "status": code|None, "reason": text|None}
#   {"event": "incoming_call", "call_id", "from": name-addr text, "from_uri":
#    uri, "identity": uri or None (who the caller is, see below), "user": user
#    part or None, "source": (host, port), "media": MEDIA, or None for an
#    INVITE without SDP: then MEDIA comes with "answered"}
#       -> the app calls answer() or reject(); the agent already sent 180.
#       The app gets no media and no digits before "answered" (the ACK
#       that matches our To tag, which a forged INVITE never sees).
#   {"event": "ringing", "call_id"}                                 180 received
#   {"event": "early_media", "call_id", "media": MEDIA}             183 with SDP
#   {"event": "answered", "call_id", "media": MEDIA}   outgoing: 2xx ACKed;
#                                                      incoming: our 2xx ACKed
#   {"event": "media_updated", "call_id", "media": MEDIA}           re-INVITE (hold)
#   {"event": "dtmf", "call_id", "digit": "0-9*#A-D", "source": "info"}
#   {"event": "call_failed", "call_id", "target": uri, "status": code,
#    "reason": REASON, "text": reason phrase}   an outgoing call never answered
#       REASON: busy (486, 600), declined (403, 603), not_found (404, 604),
#       unavailable (480), timeout (408, Timer B, ring timeout), redirect (3xx,
#       never followed), auth (challenge we may not or cannot answer),
#       cancelled (hangup() before the answer), bad_sdp, error (anything else)
#   {"event": "call_ended", "call_id", "reason": REASON, "duration_ms": ms}
#       an answered call ended, or an incoming one before it was answered.
#       REASON: local_hangup, remote_hangup, no_ack (our 2xx never ACKed,
#       §13.3.1.4), cancelled (caller's CANCEL), rejected (reject()).
#   {"event": "internal_error", "reason": text}   a bug of ours met a datagram;
#       the datagram was dropped and counted (stats["internal_errors"])
#   MEDIA = {"remote_host", "remote_port", "payload_type", "codec",
#            "telephone_event_pt" (None when not offered), "ptime",
#            "direction" (ours)}                          (media_session.py)
#
# Who may talk to us: only the configured server and `trusted` hosts (in
# peer-to-peer mode also the hosts of `targets` and `answer_from` URIs).
# Anything else is dropped without a reply and counted; each source host has
# a token bucket (guard.py).
#
# Who a caller is (incoming_call "identity", what allow lists compare):
#   server mode                 the From URI: the server vouches for it (it
#                               must not route external callers to the door)
#   server, asserted_identity   the first sip:/sips: URI of the
#                               P-Asserted-Identity (RFC 3325 9.1) in an
#                               INVITE from the server itself; None without one
#   peer-to-peer                the From URI when its host is the address the
#                               INVITE came from, else None (a trusted flat
#                               cannot claim another flat's identity)
# Media (peer_media_same_host, peer-to-peer only): the c= of the peer's SDP
# (offer, answer, 183, ACK, re-INVITE) must be the peer's own host: the
# INVITE's source, or the host we called; else 488, or ACK and BYE
# (bad_sdp) for an answer.
#
# Tables (memory stays bounded whatever arrives; a flood never ends a call):
#   calls         at most max_calls live (not ended) calls; call() returns
#                 None when full (calls_refused); an INVITE while any call
#                 is live gets 486 (one call at a time); a live call is
#                 never evicted, ended ones are forgotten
#   transactions  at most max_transactions; when full, the oldest one that
#                 neither a live call nor the registration owns makes room
#                 (transactions_reaped); when every one is owned, a new
#                 request gets a stateless 503 with Retry-After (RFC 3261
#                 21.5.4) and our own requests (BYE, CANCEL, a refresh) still
#                 go out: their number is bounded by the live calls

from intercom.sip import auth
from intercom.sip.call import Call
from intercom.sip.client_transaction import PROCEEDING, ClientTransaction, client_key
from intercom.sip.flow import SIP_PORT, uri_address
from intercom.sip.grammar import format_hostport
from intercom.sip.guard import SourceGuard
from intercom.sip.message import (
    Headers,
    Request,
    SipParseError,
    error_response,
    make_response,
    parse_cseq,
    parse_message,
    parse_name_addr,
    parse_via,
    unsupported_requirements,
)
from intercom.sip.register import KEEPALIVE, Registration
from intercom.sip.server_transaction import ACCEPTED, ServerTransaction, server_key
from intercom.sip.timers import earliest
from intercom.sip.uri import parse_uri

ALLOWED_METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO")
KNOWN_METHODS = ALLOWED_METHODS + (
    "REGISTER",
    "SUBSCRIBE",
    "NOTIFY",
    "REFER",
    "MESSAGE",
    "UPDATE",
    "PRACK",
    "PUBLISH",
)
ALLOW = ", ".join(ALLOWED_METHODS)
SUPPORTED = ()  # option tags we implement (none: no 100rel, timer, replaces)
ACCEPT = "application/sdp, application/dtmf-relay, application/dtmf"
MAX_EVENTS = 256
RETRY_AFTER_S = 5
STAT_MASK = 0xFFFFFFFF


class Agent:
    """SIP user agent: transactions, calls and registration behind one façade."""

    def __init__(self, settings, random_bytes):
        self.settings = settings
        self.timers = settings.timers
        self.random_bytes = random_bytes
        self.transactions = {}
        self.calls = {}
        self.stats = {}
        self.last_error = None
        self._outbox = []
        self._events = []
        self.guard = SourceGuard(settings)
        self.registration = None
        if settings.server_address is not None and settings.register:
            host, port = settings.server_address
            self.registration = Registration(
                host,
                port,
                settings.domain,
                settings.user,
                settings.password,
                settings.expires_s,
                settings.local_host,
                settings.local_port,
                random_bytes,
                keepalive_ms=settings.keepalive_ms,
                realm=settings.realm,
                user_agent=settings.user_agent,
                allow=ALLOW,
            )

    # -- driver interface -------------------------------------------------------

    def start(self, now_ms):
        if self.registration is not None:
            self.registration.start(now_ms)
            self._pump_registration(now_ms)

    def stop(self, now_ms):
        for call in list(self.calls.values()):
            call.hangup(now_ms)
        if self.registration is not None:
            self.registration.stop(now_ms)
            self._pump_registration(now_ms)

    def receive_datagram(self, data, addr, now_ms):
        """Feed one datagram from addr; never raises for anything a peer sends."""
        self._count("datagrams_in")
        refusal = self.guard.verdict(addr[0], now_ms)
        if refusal is not None:
            self._count(refusal)
            return
        if not data.strip(b"\r\n"):
            self._count("keepalives_in")
            if data == KEEPALIVE:
                self._outbox.append((b"\r\n", addr))  # RFC 5626 §4.4.1 pong
            return
        try:
            self._receive(data, addr, now_ms)
        except SipParseError:
            self._count("malformed_dropped")
        except MemoryError:
            raise  # the board restarts; swallowing it would hang the call
        except Exception as error:  # our bug: counted, reported, kept for tests
            self._count("internal_errors")
            self.last_error = error
            self.emit({"event": "internal_error", "reason": repr(error)})

    def datagrams_to_send(self, now_ms):
        datagrams = self._outbox[:]
        del self._outbox[:]  # transactions hold this very list
        return datagrams

    def get_timer(self):
        deadline = self.guard.get_timer()
        for transaction in self.transactions.values():
            deadline = earliest(deadline, transaction.get_timer())
        for call in self.calls.values():
            deadline = earliest(deadline, call.get_timer())
        if self.registration is not None:
            deadline = earliest(deadline, self.registration.get_timer())
        return deadline

    def handle_timer(self, now_ms):
        self.guard.handle_timer(now_ms)
        for transaction in list(self.transactions.values()):
            if transaction.handle_timer(now_ms) and transaction.owner is not None:
                self._count("transaction_timeouts")
                self._notify_timeout(transaction, now_ms)
        for call in list(self.calls.values()):
            call.handle_timer(now_ms)
        registration = self.registration
        if registration is not None:
            registration.handle_timer(now_ms)
            if registration.keepalive_due(now_ms):
                self._outbox.append((KEEPALIVE, self.settings.server_address))
                registration.keepalive_sent(now_ms)
            self._pump_registration(now_ms)
        self._reap()

    def next_event(self):
        return self._events.pop(0) if self._events else None

    # -- app interface ------------------------------------------------------------

    def call(
        self, target, rtp_port, now_ms, ring_timeout_ms=None, display_name=None, alert_info=None
    ):
        """Call a user ("flat1") or a SIP URI; returns the call id, or None
        when the call table is full of live calls."""
        target_uri = self.target_uri(target)
        settings = self.settings
        if settings.server_address is not None:
            address = settings.server_address  # outbound proxy
        else:
            address = uri_address(target_uri)
        if ring_timeout_ms is None:
            ring_timeout_ms = settings.ring_timeout_ms
        call_id = self._new_call_id()
        call = Call(self, call_id, True, (settings.local_host, rtp_port))
        if settings.server_address is None and settings.peer_media_same_host:
            call.media_host = address[0]
        if not self._add_call(call):
            self._count("calls_refused")
            return None
        call.start_outgoing(target_uri, address, ring_timeout_ms, now_ms, display_name, alert_info)
        return call_id

    def answer(self, call_id, rtp_port, now_ms):
        self._call(call_id).answer((self.settings.local_host, rtp_port), now_ms)

    def reject(self, call_id, status, now_ms):
        self._call(call_id).reject(status, now_ms)

    def hangup(self, call_id, now_ms):
        """CANCEL before the answer, BYE after; unknown or ended ids are ignored."""
        call = self.calls.get(call_id)
        if call is not None:
            call.hangup(now_ms)

    def target_uri(self, target):
        if ":" in target and target.split(":", 1)[0].lower() in ("sip", "sips"):
            return target
        return "sip:%s@%s" % (target, format_hostport(self.settings.domain, None))

    # -- services for Call (the "stack") --------------------------------------------

    def emit(self, event):
        if len(self._events) >= MAX_EVENTS:
            self._events.pop(0)
            self._count("events_dropped")
        self._events.append(event)

    def send_request(self, request, address, now_ms, owner):
        """Send in a new client transaction; adds a Via unless it has one (CANCEL)."""
        if request.headers.get("Via") is None:
            _prepend_via(request, self._via())
        transaction = ClientTransaction(request, address, self.timers, now_ms, self._outbox, owner)
        self._add_transaction(transaction)
        self._count("requests_out")
        return transaction

    def send_stateless(self, request, address):
        """ACK for a 2xx: its own branch, no transaction (§13.2.2.4, §17.1.1.3)."""
        _prepend_via(request, self._via())
        wire = request.to_bytes()
        self._outbox.append((wire, address))
        return wire

    def send_datagram(self, wire, address):
        self._outbox.append((wire, address))

    def route_address(self, dialog):
        return dialog.next_hop()

    def new_tag(self):
        return _hex(self.random_bytes(6))

    def random_number(self):
        value = 0
        for byte in self.random_bytes(4):
            value = (value << 8) | byte
        return value & 0x7FFFFFFF

    def local_identity(self, display_name=None):
        uri = "sip:%s@%s" % (self.settings.user, format_hostport(self.settings.domain, None))
        name = display_name or self.settings.display_name
        if name:
            return '"%s" <%s>' % (name, uri)
        return "<%s>" % uri

    def contact_value(self):
        if self.registration is not None:
            return "<%s>" % self.registration.contact
        settings = self.settings
        hostport = format_hostport(settings.local_host, settings.local_port)
        return "<sip:%s@%s>" % (settings.user, hostport)

    def add_capabilities(self, headers):
        headers.add("Allow", ALLOW)
        headers.add("User-Agent", self.settings.user_agent)

    def add_server_header(self, headers):
        headers.add("Server", self.settings.user_agent)

    def answer_options(self, transaction, now_ms, to_tag):
        response = make_response(transaction.request, 200, None, to_tag or self.new_tag())
        response.headers.add("Allow", ALLOW)
        response.headers.add("Accept", ACCEPT)
        response.headers.add("Supported", ", ".join(SUPPORTED))
        self.add_server_header(response.headers)
        transaction.send_response(response, now_ms)

    def credentials_for(self, transaction, response):
        """(header, value) answering a 401/407 to INVITE, or None.

        Only a challenge from the configured server (the address we sent the
        INVITE to) with an allowed realm gets credentials; anything else would
        leak a digest of our password (DESIGN: credentials go only to the
        configured registrar realm).
        """
        settings = self.settings
        if settings.server_address is None or transaction.address != settings.server_address:
            self._count("foreign_challenges")
            return None
        if settings.password is None:
            return None
        if response.status == 401:
            challenge_header, answer_header = "WWW-Authenticate", "Authorization"
        else:
            challenge_header, answer_header = "Proxy-Authenticate", "Proxy-Authorization"
        challenge = auth.best_challenge(response.headers.get_all(challenge_header))
        if challenge is None:
            return None
        if settings.realm is not None and challenge.realm != settings.realm:
            self._count("foreign_challenges")
            return None
        request = transaction.request
        answer = auth.authorization_value(
            challenge,
            request.method,
            request.uri,
            settings.user,
            settings.password,
            1,
            _hex(self.random_bytes(8)),
            request.body,
        )
        return (answer_header, answer)

    # -- receiving -------------------------------------------------------------------

    def _receive(self, data, addr, now_ms):
        try:
            message = parse_message(data, self.settings.max_message_size)
        except SipParseError as error:
            reply = error_response(error)
            if reply is None:
                self._count("malformed_dropped")
                return
            self._count("malformed_requests")
            self.add_server_header(reply.headers)
            self._outbox.append((reply.to_bytes(), self._response_address(reply, addr)))
            return
        if message is None:
            self._count("keepalives_in")
        elif isinstance(message, Request):
            self._count("requests_in")
            self._receive_request(message, addr, now_ms)
        else:
            self._count("responses_in")
            self._receive_response(message, addr, now_ms)

    def _receive_response(self, response, addr, now_ms):
        number, method = parse_cseq(response.headers.get("CSeq"))
        branch = parse_via(response.headers.get("Via")).branch
        transaction = self.transactions.get(client_key(branch, method))
        if transaction is None:
            self._count("stray_responses")
            return
        if not transaction.receive_response(response, now_ms) or transaction.owner is None:
            return
        owner = transaction.owner
        if owner is self.registration:
            owner.on_response(response, now_ms, addr)
            self._pump_registration(now_ms)
        else:
            owner.on_response(transaction, response, now_ms)
        self._reap()

    def _receive_request(self, request, addr, now_ms):
        method = request.method
        self._mark_received(request, addr)
        number, cseq_method = parse_cseq(request.headers.get("CSeq"))
        if cseq_method != method:
            self._reply(request, addr, 400, now_ms, "CSeq method mismatch")
            return
        existing = self.transactions.get(server_key(request))
        # RFC 6026 §7.1: an ACK matching an INVITE transaction in the accepted
        # state (RFC 2543 peers, reused branches) belongs to the dialog.
        if existing is not None and not (method == "ACK" and existing.state == ACCEPTED):
            self._count("retransmissions_in")
            existing.receive_request(request, now_ms)
            return
        if method == "ACK":
            call = self._dialog_call(request)
            if call is None:
                self._count("stray_acks")
            else:
                call.on_ack(request, now_ms)
            return
        if not self._make_room():
            self._reply_unavailable(request, addr)
            return
        if method not in KNOWN_METHODS:
            self._reply(request, addr, 501, now_ms)
            return
        if method == "REFER":
            self._reply(request, addr, 403, now_ms)
            return
        if method not in ALLOWED_METHODS:
            self._reply(request, addr, 405, now_ms, allow=True)
            return
        unsupported = unsupported_requirements(request, SUPPORTED)
        if unsupported:
            self._reply(request, addr, 420, now_ms, unsupported=", ".join(unsupported))
            return
        if not self._acceptable_body(request):
            self._reply(request, addr, 415, now_ms)
            return
        if method == "CANCEL":
            self._receive_cancel(request, addr, now_ms)
            return
        if parse_name_addr(request.headers.get("To")).tag is not None:
            call = self._dialog_call(request)
            if call is None:
                self._reply(request, addr, 481, now_ms)
                return
            call.on_request(self._server_transaction(request, addr, now_ms, call), request, now_ms)
            self._reap()
            return
        if method == "INVITE":
            self._receive_invite(request, addr, now_ms)
        elif method == "OPTIONS":
            self.answer_options(self._server_transaction(request, addr, now_ms), now_ms, None)
        else:
            self._reply(request, addr, 481, now_ms)  # BYE, INFO outside any dialog

    def _receive_invite(self, request, addr, now_ms):
        if request.headers.get("Contact") is None:
            self._reply(request, addr, 400, now_ms, "Missing Contact")
            return
        busy = False
        for call in self.calls.values():
            if not call.ended:
                busy = True
        if busy:
            self._reply(request, addr, 486, now_ms)
            return
        call_id = request.headers.get("Call-ID")
        call = Call(self, call_id, False, (self.settings.local_host, 0))
        if self.settings.server_address is None and self.settings.peer_media_same_host:
            call.media_host = addr[0]
        self._add_call(call)  # room: no call is live (486 above), ended ones go
        transaction = self._server_transaction(request, addr, now_ms, call)
        if not call.start_incoming(transaction, request, now_ms):
            self._count("no_common_media")
            del self.calls[call_id]
            return
        caller = parse_name_addr(request.headers.get("From"))
        self.emit(
            {
                "event": "incoming_call",
                "call_id": call_id,
                "from": caller.to_string(),
                "from_uri": caller.uri,
                "identity": self._caller_identity(request, caller.uri, addr),
                "user": _uri_user(caller.uri),
                "source": addr,
                "media": call.media,
            }
        )

    def _caller_identity(self, request, from_uri, addr):
        """The URI allow lists compare the caller by, or None (see the top)."""
        settings = self.settings
        if settings.server_address is not None:
            if not settings.asserted_identity:
                return from_uri
            if addr[0] != settings.server_address[0]:
                return None
            for value in request.headers.get_all("P-Asserted-Identity"):
                try:
                    uri = parse_name_addr(value).uri
                except SipParseError:
                    continue
                if uri[:4].lower() == "sip:" or uri[:5].lower() == "sips:":
                    return uri
            return None
        try:
            host = parse_uri(from_uri).host
        except SipParseError:
            return None
        if host is None or host.strip("[]").lower() != addr[0].strip("[]").lower():
            self._count("foreign_from_hosts")
            return None
        return from_uri

    def _receive_cancel(self, request, addr, now_ms):
        """CANCEL matches the INVITE server transaction with its branch (§9.2)."""
        key = server_key(request)
        invite = self.transactions.get(key[:-1] + ("INVITE",))
        if invite is None:
            self._reply(request, addr, 481, now_ms)
            return
        self._reply(request, addr, 200, now_ms)
        if invite.owner is not None:
            invite.owner.on_cancel(now_ms)
            self._reap()

    def _acceptable_body(self, request):
        """415 for bodies we cannot read (§21.4.13); INFO is checked by the call."""
        encoding = request.headers.get("Content-Encoding")
        if encoding is not None and encoding.strip().lower() != "identity":
            return False
        if not request.body or request.method != "INVITE":
            return True
        content_type = request.headers.get("Content-Type") or ""
        return content_type.split(";")[0].strip().lower() == "application/sdp"

    def _reply_unavailable(self, request, addr):
        """503 with Retry-After (§21.5.4), without a transaction: the
        transaction table is full."""
        self._count("responses_503")
        response = make_response(request, 503, None, self.new_tag())
        response.headers.add("Retry-After", str(RETRY_AFTER_S))
        self.add_server_header(response.headers)
        self._outbox.append((response.to_bytes(), self._response_address(request, addr)))

    def _reply(self, request, addr, status, now_ms, reason=None, allow=False, unsupported=None):
        """Answer a request we do not take further, in its own server transaction."""
        self._count("responses_%d" % status)
        transaction = self._server_transaction(request, addr, now_ms)
        response = make_response(request, status, reason, self.new_tag())
        if allow or status == 415 or status == 501:
            response.headers.add("Allow", ALLOW)
        if status == 415:
            response.headers.add("Accept", ACCEPT)
            response.headers.add("Accept-Encoding", "identity")
        if unsupported:
            response.headers.add("Unsupported", unsupported)
        self.add_server_header(response.headers)
        transaction.send_response(response, now_ms)

    def _server_transaction(self, request, addr, now_ms, owner=None):
        address = self._response_address(request, addr)
        transaction = ServerTransaction(request, address, self.timers, now_ms, self._outbox, owner)
        self._add_transaction(transaction)
        return transaction

    def _response_address(self, message, addr):
        """Where responses go (§18.2.2, RFC 3581 §4): the source with rport."""
        value = message.headers.get("Via")
        if value is None:
            return addr
        via = parse_via(value)
        if "rport" in via.params:
            return addr
        return (addr[0], via.port or SIP_PORT)

    def _mark_received(self, request, addr):
        """Add received (and rport's value) to the top Via (§18.2.1, RFC 3581)."""
        vias = request.headers.get_all("Via")
        if not vias:
            return
        top = parse_via(vias[0])
        if top.host != addr[0] or "rport" in top.params:
            top.params["received"] = addr[0]
        if "rport" in top.params:
            top.params["rport"] = str(addr[1])
        vias[0] = top.to_string()
        request.headers.remove("Via")
        _prepend_via(request, ", ".join(vias))

    def _dialog_call(self, request):
        call = self.calls.get(request.headers.get("Call-ID"))
        if call is None or call.dialog is None:
            return None
        to_tag = parse_name_addr(request.headers.get("To")).tag
        from_tag = parse_name_addr(request.headers.get("From")).tag
        if call.dialog.local_tag != to_tag or call.dialog.remote_tag != from_tag:
            return None
        return call

    # -- bookkeeping ----------------------------------------------------------------

    def _notify_timeout(self, transaction, now_ms):
        owner = transaction.owner
        if owner is self.registration:
            owner.on_transaction_timeout(now_ms)
            self._pump_registration(now_ms)
        elif isinstance(transaction, ClientTransaction):
            owner.on_transaction_timeout(transaction, now_ms)

    def _pump_registration(self, now_ms):
        registration = self.registration
        if registration is None:
            return
        while True:
            request = registration.next_request(now_ms)
            if request is None:
                break
            self.send_request(request, registration.server_address, now_ms, registration)
        while True:
            event = registration.next_event()
            if event is None:
                break
            self.emit(event)

    def _add_transaction(self, transaction):
        self._make_room()
        self.transactions[transaction.key] = transaction

    def _make_room(self):
        """Room for one more transaction; False when the table is full and
        a live call or the registration owns every transaction in it."""
        transactions = self.transactions
        if len(transactions) < self.settings.max_transactions:
            return True
        spare = None
        for key, transaction in transactions.items():
            owner = transaction.owner
            if owner is None or (isinstance(owner, Call) and owner.ended):
                spare = key
                break
        if spare is None:
            return False
        del transactions[spare]
        self._count("transactions_reaped")
        return True

    def _add_call(self, call):
        """Adds call unless max_calls live calls exist; ended ones go first."""
        calls = self.calls
        if len(calls) >= self.settings.max_calls:
            for call_id in [c for c, known in calls.items() if known.ended]:
                del calls[call_id]
        if len(calls) >= self.settings.max_calls:
            return False
        calls[call.call_id] = call
        return True

    def _reap(self):
        """Forget what has ended; an INVITE still proceeding for a call that
        gave up has no timer of its own (§17.1.1.2), so it goes too."""
        for key, transaction in list(self.transactions.items()):
            owner = transaction.owner
            abandoned = (
                isinstance(transaction, ClientTransaction)
                and isinstance(owner, Call)
                and owner.ended
                and transaction.state == PROCEEDING
            )
            if transaction.terminated or abandoned:
                del self.transactions[key]
        for call_id in [c for c, call in self.calls.items() if call.ended]:
            del self.calls[call_id]

    def _call(self, call_id):
        call = self.calls.get(call_id)
        if call is None:
            raise KeyError("no call %s" % call_id)
        return call

    def _count(self, name):
        self.stats[name] = (self.stats.get(name, 0) + 1) & STAT_MASK

    def _via(self):
        settings = self.settings
        hostport = format_hostport(settings.local_host, settings.local_port)
        return "SIP/2.0/UDP %s;branch=z9hG4bK%s;rport" % (hostport, _hex(self.random_bytes(8)))

    def _new_call_id(self):
        return "%s@%s" % (_hex(self.random_bytes(10)), self.settings.local_host)


def _prepend_via(request, value):
    """Put a Via line first: it must precede the other fields (§8.1.1.7)."""
    headers = Headers()
    headers.add("Via", value)
    for name, field in request.headers.items():
        headers.add(name, field)
    request.headers = headers


def _uri_user(uri_text):
    try:
        return parse_uri(uri_text).user
    except SipParseError:
        return None


def _hex(data):
    digits = "0123456789abcdef"
    return "".join(digits[byte >> 4] + digits[byte & 15] for byte in data)
