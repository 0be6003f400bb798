# Flows: how the sans-I/O core names the path a message came on and the
# path to send one on, without a socket (RFC 3261 section 18; RFC 5626
# section 3; RFC 3263 section 4 for numeric hosts: the board resolved names).
#
#   flow = (transport, host, port, connection)     a tuple: small, hashable
#
#   transport   UDP, TCP or TLS ("udp", "tcp", "tls"); TLS is a stream
#               like TCP (the board wraps the socket in TLS, the core is
#               the same), the only one SDES keys may cross (sdp.py)
#   host, port  the remote address
#   connection  0 on UDP; on a stream 0 asks the board for any open
#               connection to that address (it connects when there is none:
#               connection reuse), > 0 names one connection the board opened
#               or accepted (its own numbers: messages arrive with them, and
#               responses go back on them, RFC 3261 section 18.2.2)
#
# Streams are reliable: the transactions retransmit nothing on them and wait
# for no stray retransmissions afterwards (RFC 3261 section 17: timers A, E
# and G run only on unreliable transports; D, I, J and K are zero on
# reliable ones).
#
# Which transport a request takes (RFC 3261 section 18.1.1, RFC 3263 4.1):
# TLS for a sips: URI (RFC 3261 19.1, 26.2.2: TLS on every hop, port 5061
# by default), else the URI's transport parameter when it names one we
# speak, else the given default (sip.transport for a new request, the
# dialog's own inside one); a TLS default port is 5061 (SIPS_PORT);
# a request for UDP larger than UDP_SIZE_LIMIT goes over TCP instead
# ("larger than 1300 bytes and the path MTU is unknown"), and back to UDP
# when the peer refuses the connection (context.py, client_transaction.py).

from intercom.sip.grammar import SipParseError
from intercom.sip.uri import parse_uri

UDP = "udp"
TCP = "tcp"
TLS = "tls"
TRANSPORTS = (UDP, TCP, TLS)
SIP_PORT = 5060  # RFC 3261 section 19.1.2: sip: over UDP and TCP
SIPS_PORT = 5061  # and over TLS
UDP_SIZE_LIMIT = 1300  # RFC 3261 section 18.1.1


def make_flow(transport, address, connection=0):
    return (transport, address[0], address[1], connection)


def flow_address(flow):
    """(host, port) of the peer."""
    return (flow[1], flow[2])


def is_stream(flow):
    return flow[0] != UDP


def same_peer(first, second):
    """Same transport and remote address, whichever connection carries it."""
    return first[0] == second[0] and first[1] == second[1] and first[2] == second[2]


def via_transport(flow):
    """The Via sent-protocol's transport token (RFC 3261 section 20.42)."""
    return flow[0].upper()


def default_port(transport):
    """The port of a URI or server without one (RFC 3261 19.1.2)."""
    return SIPS_PORT if transport == TLS else SIP_PORT


def uri_flow(uri_text, transport):
    """The flow a request for uri_text takes: to the maddr parameter or the
    host, over TLS for sips:, else the URI's transport parameter when we
    speak it, else `transport`; the port or the transport's default.
    Raises SipParseError for a bad URI."""
    uri = parse_uri(uri_text)
    if uri.host is None:
        raise SipParseError(416, "no host in URI")
    named = (uri.params.get("transport") or "").lower()
    if uri.scheme == "sips":
        transport = TLS
    elif named in TRANSPORTS:
        transport = named
    port = uri.port or default_port(transport)
    return (transport, uri.params.get("maddr") or uri.host, port, 0)
