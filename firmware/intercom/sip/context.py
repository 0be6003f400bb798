# What a session (a call, the registration) needs of the SIP stack, as one
# narrow object: sessions never see the agent. The agent builds one context,
# routes what arrives to the sessions, and the sessions act through this.
#
#   ids          new_tag(), new_call_id(), random_number()
#   who we are   local_identity(display_name) (From), contact_value(
#                transport) (Contact, with ;transport=tcp on TCP;
#                public_address is what peers reach us at: the registration
#                corrects it after a NAT fix, RFC 3581),
#                add_capabilities(headers) (Allow, Supported, User-Agent),
#                add_server_header(headers)
#   where to     flows (flow.py): request_flow(uri) for a dialog-creating
#                request (over sip.transport to the server when there is
#                one, our outbound proxy; else to the URI), dialog_flow(
#                dialog, transport) inside a dialog (to its next hop, over
#                the hop's transport parameter, else the dialog's transport)
#   sending      send_request(request, flow, now_ms, owner) -> the client
#                transaction it runs in (our Via added unless it has one:
#                CANCEL reuses the INVITE's; RFC 3261 18.1.1: a request for
#                UDP over UDP_SIZE_LIMIT bytes goes over TCP, its Via saying
#                so); send_stateless(request, flow) -> its bytes (the ACK of
#                a 2xx, RFC 3261 13.2.2.4: its own branch, no transaction);
#                send(wire, flow) (stored bytes again: a 2xx, an ACK, a
#                keep-alive); close_flow(flow) (a stream a session gave up
#                on, RFC 5626 4.4.1: the board closes the connection)
#   answering    answer_options(transaction, now_ms, to_tag)
#   credentials  credentials() -> a Credentials (credentials.py) for one owner
#   reporting    emit(event) (the agent's next_event queue), count(name)
#
# Tables (memory stays bounded whatever arrives): at most max_transactions
# transactions; add_transaction() makes room by dropping the oldest one
# no live session owns (transactions_reaped); make_room() is False when
# live sessions own every one (the agent then answers a new request 503).
# Sessions own transactions the same way: `owner` is the call or the
# registration, which has .ended (a registration never ends) and hears
# on_response(transaction, response, now_ms) and
# on_transaction_timeout(transaction, now_ms).

import binascii

from intercom.sip.client_transaction import ClientTransaction
from intercom.sip.credentials import Credentials
from intercom.sip.flow import (
    TCP,
    UDP,
    UDP_SIZE_LIMIT,
    flow_address,
    make_flow,
    uri_flow,
    via_transport,
)
from intercom.sip.grammar import format_hostport
from intercom.sip.message import Headers, make_response

# Exactly what we implement: the methods a dialog of ours answers (UPDATE:
# RFC 3311, PRACK: RFC 3262, REFER: RFC 3515) and the option tags (100rel:
# reliable provisional responses, timer: RFC 4028 session timers, replaces:
# RFC 3891 6.2).
ALLOWED_METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO", "UPDATE", "PRACK", "REFER")
ALLOW = ", ".join(ALLOWED_METHODS)
SUPPORTED = ("100rel", "replaces", "timer")
ACCEPT = "application/sdp, application/dtmf-relay, application/dtmf"
MAX_EVENTS = 256
STAT_MASK = 0xFFFFFFFF


class SessionContext:
    def __init__(self, settings, random_bytes):
        self.settings = settings
        self.timers = settings.timers
        self.random_bytes = random_bytes
        self.public_address = (settings.local_host, settings.local_port)
        self.transactions = {}
        self.stats = {}
        self.outbox = []  # (bytes, flow); transactions hold this very list
        self.closing = []  # flows to close
        self.events = []

    # -- ids ----------------------------------------------------------------

    def new_tag(self):
        return hex_text(self.random_bytes(6))

    def new_call_id(self):
        return "%s@%s" % (hex_text(self.random_bytes(10)), self.settings.local_host)

    def random_number(self):
        value = 0
        for byte in self.random_bytes(4):
            value = (value << 8) | byte
        return value & 0x7FFFFFFF

    # -- who we are -----------------------------------------------------------

    def local_identity(self, display_name=None):
        """Our From (without tag); display_name: a button's label, else
        device.name."""
        settings = self.settings
        uri = "sip:%s@%s" % (settings.user, format_hostport(settings.domain, None))
        name = display_name or settings.display_name
        if name:
            return '"%s" <%s>' % (name, uri)
        return "<%s>" % uri

    def contact_uri(self, transport):
        """Our Contact URI for messages over `transport`: where peers reach
        us (on TCP our listener, RFC 3261 18.1.1: say so, or a peer would
        answer over UDP)."""
        host, port = self.public_address
        uri = "sip:%s@%s" % (self.settings.user, format_hostport(host, port))
        if transport != UDP:
            uri += ";transport=" + transport
        return uri

    def contact_value(self, transport):
        return "<%s>" % self.contact_uri(transport)

    def add_capabilities(self, headers):
        headers.add("Allow", ALLOW)
        headers.add("Supported", ", ".join(SUPPORTED))
        headers.add("User-Agent", self.settings.user_agent)

    def add_server_header(self, headers):
        headers.add("Server", self.settings.user_agent)

    # -- where to ---------------------------------------------------------------

    def request_flow(self, uri):
        """The flow of a dialog-creating request for uri (see the top)."""
        settings = self.settings
        if settings.server_address is not None:
            return make_flow(settings.transport, settings.server_address)
        return uri_flow(uri, settings.transport)

    def dialog_flow(self, dialog, transport):
        return uri_flow(dialog.next_hop(), transport)

    # -- sending ----------------------------------------------------------------

    def send_request(self, request, flow, now_ms, owner):
        """Send in a new client transaction (see the top)."""
        size_switched = False
        if request.headers.get("Via") is None:
            branch = self.new_branch()
            prepend_via(request, self.via(flow, branch))
            if flow[0] == UDP and len(request.to_bytes()) > UDP_SIZE_LIMIT:
                flow = make_flow(TCP, flow_address(flow))
                request.headers.set("Via", self.via(flow, branch))
                size_switched = True
                self.count("switched_to_tcp")
        transaction = ClientTransaction(
            request, flow, self.timers, now_ms, self.outbox, owner, size_switched
        )
        self.add_transaction(transaction)
        self.count("requests_out")
        return transaction

    def send_stateless(self, request, flow):
        prepend_via(request, self.via(flow, self.new_branch()))
        wire = request.to_bytes()
        self.outbox.append((wire, flow))
        return wire

    def send(self, wire, flow):
        self.outbox.append((wire, flow))

    def close_flow(self, flow):
        self.closing.append(flow)

    def new_branch(self):
        return "z9hG4bK" + hex_text(self.random_bytes(8))

    def via(self, flow, branch):
        hostport = format_hostport(self.settings.local_host, self.settings.local_port)
        return "SIP/2.0/%s %s;branch=%s;rport" % (via_transport(flow), hostport, branch)

    # -- answering ----------------------------------------------------------------

    def answer_options(self, transaction, now_ms, to_tag):
        response = make_response(transaction.request, 200, None, to_tag or self.new_tag())
        response.headers.add("Allow", ALLOW)
        response.headers.add("Accept", ACCEPT)
        response.headers.add("Supported", ", ".join(SUPPORTED))
        self.add_server_header(response.headers)
        transaction.send_response(response, now_ms)

    def credentials(self):
        return Credentials(self)

    # -- reporting ----------------------------------------------------------------

    def emit(self, event):
        if len(self.events) >= MAX_EVENTS:
            self.events.pop(0)
            self.count("events_dropped")
        self.events.append(event)

    def count(self, name):
        self.stats[name] = (self.stats.get(name, 0) + 1) & STAT_MASK

    # -- the transaction table ------------------------------------------------------

    def add_transaction(self, transaction):
        self.make_room()
        self.transactions[transaction.key] = transaction

    def make_room(self):
        """Room for one more transaction; False when the table is full and
        live sessions own every transaction in it."""
        transactions = self.transactions
        if len(transactions) < self.settings.max_transactions:
            return True
        spare = None
        for key, transaction in transactions.items():
            owner = transaction.owner
            if owner is None or owner.ended:
                spare = key
                break
        if spare is None:
            return False
        del transactions[spare]
        self.count("transactions_reaped")
        return True


def prepend_via(request, value):
    """Put a Via line first: it must precede the other fields (§8.1.1.7)."""
    headers = Headers()
    headers.add("Via", value)
    for name, field in request.headers.items():
        headers.add(name, field)
    request.headers = headers


def hex_text(data):
    return binascii.hexlify(data).decode()
