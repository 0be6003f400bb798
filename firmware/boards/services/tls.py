# TLS and stream I/O for the CPython services, on the standard ssl module,
# never blocking the one loop (handshakes are stepped from loop timers and
# readable events, never waited for).
#
#   client_tls(host, ca_file=None, cert_file=None, key_file=None) -> ClientTls
#       for boards.services.tcp_client.Connecting: the context of
#       boards.runtime.tls_contexts.client_context, checking host (a name or
#       an IP address). A missing or bad file raises OSError/ValueError.
#   handshake(sock) -> True when the handshake is done, False while it waits
#       for the peer; OSError (with a readable reason) when it failed
#   send_some(sock, data) -> bytes sent, 0 when the socket (or TLS) cannot
#       take more now; OSError when the peer is gone
#   receive_some(sock, size) -> the bytes there (b"" at the end of the
#       stream), None when nothing is there yet; a TLS socket's records
#       already decrypted (pending()) are read too, since poll() cannot see
#       them
#
# paho's own TLS (tls_set) is not used: it wraps the socket and then waits
# for the whole handshake with a timeout of the keepalive (30 s), which
# would stall calls and audio behind a slow broker. The MQTT client gets
# the socket once our handshake is done.

import ssl

from boards.runtime.tls_contexts import client_context

RECEIVE_MORE_LIMIT = 65536
_AGAIN = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class ClientTls:
    def __init__(self, context, host):
        self._context = context
        self._host = host

    def wrap(self, sock):
        return self._context.wrap_socket(
            sock, server_hostname=self._host, do_handshake_on_connect=False
        )

    def handshake(self, sock):
        return handshake(sock)


def client_tls(host, ca_file=None, cert_file=None, key_file=None):
    return ClientTls(client_context(ca_file, cert_file, key_file), host)


def handshake(sock):
    try:
        sock.do_handshake()
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return False
    except ssl.SSLCertVerificationError as error:
        raise OSError("certificate verify failed: %s" % error.verify_message) from None
    except ssl.SSLError as error:
        raise OSError(error.reason or str(error)) from None
    return True


def send_some(sock, data):
    try:
        return sock.send(data)
    except _AGAIN:
        return 0


def receive_some(sock, size):
    try:
        data = sock.recv(size)
    except _AGAIN:
        return None
    except ssl.SSLZeroReturnError:  # the peer's TLS close_notify
        return b""
    pending = getattr(sock, "pending", None)
    while data and pending is not None and pending() and len(data) < RECEIVE_MORE_LIMIT:
        data += sock.recv(pending())
    return data
