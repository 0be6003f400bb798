# Run on the emulated Pico W by the srtp section of make bench (from its
# littlefs image, after the SRTP timings): the MicroPython heap one TLS
# client session takes on the rp2 port (MicroPython's ssl over mbedTLS,
# whose buffers and handshake state come from the MicroPython heap there;
# the unix port's mbedTLS uses the C heap instead, so it cannot measure
# this). A client and a server run in the one heap, joined by in-memory
# streams, their handshake pumped by hand; every sample is taken after
# gc.collect(), so it counts live memory only. Prints one JSON line:
#   client_context   the client's SSLContext with the CA loaded
#   client_wrap      the client session before the handshake
#   client_held      client context and session after the handshake, the
#                    server gone: what a door would hold beside a call
#   both_peak        the peak during the handshake, both sides
# Needs pico_cert.der and pico_key.der (a self-signed P-256 certificate for
# 127.0.0.1, its own CA) beside it, and the RTC set to a date it is valid.

import gc
import io
import json
import ssl


class _Channel:
    def __init__(self):
        self.data = b""


class _Pipe(io.IOBase):
    """One end of an in-memory stream pair (None when nothing waits: the
    TLS layer takes that as 'would block')."""

    def __init__(self, incoming, outgoing):
        self.incoming = incoming
        self.outgoing = outgoing

    def readinto(self, buffer):
        data = self.incoming.data
        if not data:
            return None
        count = min(len(buffer), len(data))
        buffer[:count] = data[:count]
        self.incoming.data = data[count:]
        return count

    def write(self, buffer):
        self.outgoing.data += bytes(buffer)
        return len(buffer)

    def ioctl(self, request, argument):
        return 0


def _live():
    gc.collect()
    return gc.mem_alloc()


def _step(side):
    try:
        side.write(b"")
    except OSError:  # wants to read or write: the other side moves next
        pass


def main():
    with open("pico_cert.der", "rb") as source:
        certificate = source.read()
    with open("pico_key.der", "rb") as source:
        key = source.read()
    to_server, to_client = _Channel(), _Channel()
    base = _live()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certificate, key)
    server = server_context.wrap_socket(
        _Pipe(to_server, to_client), server_side=True, do_handshake_on_connect=False
    )
    server_part = _live() - base
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.load_verify_locations(cadata=certificate)
    client_context.verify_mode = ssl.CERT_REQUIRED
    context_part = _live() - base - server_part
    client = client_context.wrap_socket(
        _Pipe(to_client, to_server), server_hostname="127.0.0.1", do_handshake_on_connect=False
    )
    wrap_part = _live() - base - server_part - context_part
    peak = 0
    received = b""
    for _ in range(100):
        _step(client)
        peak = max(peak, _live() - base)
        _step(server)
        peak = max(peak, _live() - base)
        try:
            client.write(b"OPTIONS")
            received = server.read(7)
        except OSError:
            continue
        if received == b"OPTIONS":
            break
    if received != b"OPTIONS":
        raise SystemExit("no TLS session")
    server.close()
    server = server_context = None
    held = _live() - base
    result = {
        "client_context": context_part,
        "client_wrap": wrap_part,
        "client_held": held,
        "both_peak": peak,
    }
    print(json.dumps({"tls": result}))
