# Ports on 127.0.0.0/8 without races.
#
# Our own door and every socket a test opens in-process bind port 0 and
# report what they got (the door's `started` event names its SIP and RTP
# ports). A third-party peer (Kamailio, SIPp, baresip, Mosquitto, sshd) must
# be told its port before it binds it, so a port free when we looked can be
# taken by then: its starter picks ports with free_port() and runs through
# retry_when_taken(), which starts it again on new ports when it reports
# PortTakenError (it printed "Address already in use"). holds_port() tells
# whether a process we started holds a port (its readiness, and not some
# other process that happens to listen there).

import os
import socket

# strerror(EADDRINUSE): what Kamailio, SIPp, baresip, Mosquitto and sshd
# print when a port is taken.
PORT_TAKEN = "Address already in use"
START_ATTEMPTS = 5
_PROBES = 100


class PortTakenError(Exception):
    """A port handed to a peer was taken before the peer could bind it."""


def free_port(host="127.0.0.1", span=1, even=False, tcp=False):
    """A port P such that P .. P+span-1 are free on host for UDP (and TCP
    too when tcp) at this moment; even=True for RTP (RFC 3550 11). Only
    for a peer that must be told its port: start it through
    retry_when_taken."""
    for _ in range(_PROBES):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
        if (even and port % 2) or port + span > 65536:
            continue
        if all(_bindable(host, port + offset, tcp) for offset in range(span)):
            return port
    raise RuntimeError("no free port on %s (span %d, even %s)" % (host, span, even))


def _bindable(host, port, tcp):
    kinds = (socket.SOCK_DGRAM, socket.SOCK_STREAM) if tcp else (socket.SOCK_DGRAM,)
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                return False
    return True


def retry_when_taken(start, attempts=START_ATTEMPTS):
    """start() (which picks new ports each time); again when it raised
    PortTakenError, at most `attempts` times in all."""
    taken = []
    for _ in range(attempts):
        try:
            return start()
        except PortTakenError as error:
            taken.append(str(error))
    raise RuntimeError("ports taken on each of %d starts:\n%s" % (attempts, "\n".join(taken)))


def holds_port(pid, port, tcp=False):
    """Whether process pid has a socket bound to port (IPv4 or IPv6; for
    TCP a listening one), read from /proc."""
    inodes = set()
    try:
        descriptors = os.listdir("/proc/%d/fd" % pid)
    except OSError:  # gone
        return False
    for name in descriptors:
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, name))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    kind = "tcp" if tcp else "udp"
    for table in (kind, kind + "6"):
        try:
            with open("/proc/net/" + table) as rows:
                next(rows)
                for row in rows:
                    fields = row.split()
                    local_port = int(fields[1].rsplit(":", 1)[1], 16)
                    listening = not tcp or fields[3] == "0A"  # TCP_LISTEN
                    if local_port == port and listening and fields[9] in inodes:
                        return True
        except OSError:
            continue
    return False
