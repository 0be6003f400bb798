# Addresses for the runtime, before the Station exists: names resolved to
# IPv4 addresses (the core does no DNS), our own address as peers reach us,
# and the RTP/RTCP port pair. CPython and MicroPython.
#
#   resolved_config(config)   a copy with sip.server, sip.trusted and (peer-
#                             to-peer only) the targets of [call], each
#                             [[button]] and each [[schedule]] naming
#                             addresses; answer_from/open_from keep their
#                             names (they are identities compared with From,
#                             not places)
#   first_peer(config)        (host, port) we talk to first: server or target
#   find_local_host(peer)     our address on the interface towards peer
#   bind_rtp_pair(host, port) (rtp, rtcp) UdpSockets, even port and the next
#
# Each raises StartError with a message naming the key or port at fault.

import socket

from intercom import compat
from intercom.app.identity import sip_uri
from intercom.sip.flow import SIP_PORT
from intercom.sip.grammar import SipParseError, is_ipv4, is_ipv6, parse_hostport

from boards.runtime.udp import UdpSocket

RTP_PORT_ATTEMPTS = 16


class StartError(Exception):
    """The runtime cannot start (a name does not resolve, a port is taken)."""


# -- names and addresses (the core does no DNS) ---------------------------------


def is_ip_address(host):
    return is_ipv4(host) or is_ipv6(host.strip("[]"))


def resolve_host(host, what):
    """The IPv4 address of host (itself when it is one); StartError when not found."""
    if is_ip_address(host):
        return host
    try:
        found = socket.getaddrinfo(host, SIP_PORT, socket.AF_INET, socket.SOCK_DGRAM)
        return compat.peer_address(found[0][-1])[0]
    except (OSError, IndexError, ValueError) as error:
        raise StartError("%s: cannot resolve '%s': %s" % (what, host, error)) from None


def _uri_with_host(uri, address):
    """uri with its host part replaced by address (user, port, params kept)."""
    start = uri.find("@") + 1 if "@" in uri else uri.find(":") + 1
    end = start
    while end < len(uri) and uri[end] not in ":;?":
        end += 1
    return uri[:start] + address + uri[end:]


def resolved_config(config):
    """A copy of config whose sip.server, sip.trusted and (peer-to-peer)
    targets name IP addresses; StartError on the first name that fails.

    answer_from and open_from keep their names: they are identities the
    caller's From is compared with, not addresses.
    """
    sip = dict(config["sip"])
    call = dict(config["call"])
    if sip["server"]:
        host, port = _valid_hostport(sip["server"])
        address = resolve_host(host, "sip.server")
        sip["server"] = address if port is None else "%s:%d" % (address, port)
    sip["trusted"] = [resolve_host(host, "sip.trusted") for host in sip["trusted"]]
    resolved = dict(config)
    resolved["sip"] = sip
    resolved["call"] = call
    if not sip["server"]:
        call["targets"] = _resolved_targets(call["targets"], sip, "call.targets")
        for name in ("button", "schedule"):
            tables = []
            for index, table in enumerate(config[name]):
                table = dict(table)
                key = "%s[%d].targets" % (name, index)
                table["targets"] = _resolved_targets(table["targets"], sip, key)
                tables.append(table)
            resolved[name] = tables
    return resolved


def _resolved_targets(targets, sip, what):
    """targets as sip: URIs naming IP addresses (peer-to-peer)."""
    resolved = []
    for target in targets:
        parsed = sip_uri(target)
        if parsed is None:  # a bare user: at sip.domain
            host = resolve_host(sip["domain"], "sip.domain")
            resolved.append("sip:%s@%s" % (target, host))
        elif is_ip_address(parsed.host):
            resolved.append(target)
        else:
            resolved.append(_uri_with_host(target, resolve_host(parsed.host, what)))
    return resolved


def first_peer(config):
    """(host, port) we talk to first: the server, else the first target."""
    if config["sip"]["server"]:
        host, port = _valid_hostport(config["sip"]["server"])
        return host, port or SIP_PORT
    target = config["call"]["targets"][0]
    parsed = sip_uri(target)
    if parsed is None:  # resolved_config made every target a sip: URI
        raise StartError("call.targets: '%s' is not a sip: URI" % target)
    return parsed.host, parsed.port or SIP_PORT


def _valid_hostport(server):
    """(host, port) of sip.server, which the config check has accepted."""
    try:
        return parse_hostport(server)
    except SipParseError:
        raise StartError("sip.server: '%s' is not a host or host:port" % server) from None


def find_local_host(peer):
    """Our address on the interface towards peer (host, port).

    CPython: connect() a UDP socket (nothing is sent) and read getsockname().
    MicroPython has no getsockname: loopback peers give 127.0.0.1, others
    need the board (WLAN ifconfig) or INTERCOM_LOCAL_HOST to say it.
    """
    if peer[0].startswith("127."):
        return "127.0.0.1"
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        get_own_address = getattr(probe, "getsockname", None)  # CPython only
        if get_own_address is None:
            raise StartError(
                "cannot tell our address towards %s; set INTERCOM_LOCAL_HOST" % peer[0]
            )
        probe.connect(peer)
        return get_own_address()[0]
    except OSError as error:
        raise StartError("no route to %s: %s" % (peer[0], error)) from None
    finally:
        probe.close()


def bind_rtp_pair(host, port):
    """(rtp, rtcp) UdpSockets on an even port and the next one (RFC 3550 11).

    port 0: any even port whose successor is free too, a few tries.
    """
    attempts = RTP_PORT_ATTEMPTS if port == 0 else 1
    error = None
    for _ in range(attempts):
        try:
            rtp = UdpSocket(host, port, even_port=True)
        except OSError as failure:
            error = failure
            continue
        try:
            rtcp = UdpSocket(host, rtp.local_address[1] + 1)
        except OSError as failure:
            rtp.close()
            error = failure
            continue
        return rtp, rtcp
    raise StartError("cannot bind RTP/RTCP on %s port %d: %s" % (host, port, error))
