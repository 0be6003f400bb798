# Where SIP messages go, without DNS and without sockets (RFC 3261 section
# 18; RFC 3263 section 4 for numeric hosts: the board resolved names).
#
#   uri_address(uri)   (host, port) a request for uri goes to: the maddr
#                      parameter or the host, the port or SIP_PORT

from intercom.sip.uri import parse_uri

SIP_PORT = 5060  # RFC 3261 section 19.1.2: sip: over UDP and TCP


def uri_address(uri_text):
    """(host, port) for a SIP URI; raises SipParseError for a bad one."""
    uri = parse_uri(uri_text)
    return (uri.params.get("maddr") or uri.host, uri.port or SIP_PORT)
