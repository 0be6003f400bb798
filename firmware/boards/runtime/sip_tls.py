# SIP over TLS (sip.transport = "tls") on CPython: the standard ssl module
# through memory BIOs, so a TLS connection is bytes in and bytes out of the
# stream's own non-blocking socket (boards/runtime/tcp.py), handshake
# included, in the one loop. Imported only when sip.transport is "tls";
# MicroPython boards have no memory BIO and the config refuses "tls" there
# (intercom/config.py).
#
#   SipTls(ca_file=None, fingerprint=None, cert_file=None, key_file=None,
#          names=None)
#       from sip.tls_ca, sip.tls_fingerprint, sip.tls_cert, sip.tls_key; a
#       missing or bad file raises OSError or ssl.SSLError (the runtime
#       stops saying which); names: {address: host name} (sip.server's
#       address -> the name configured, which its certificate must carry)
#     .client(host) -> TlsSession   a connection we open to host (an IP
#                                   address: the certificate must name it,
#                                   or the name `names` gives for it,
#                                   RFC 5922 7)
#     .server() -> TlsSession, or None without a certificate of ours (a
#                                   connection a peer opens is then closed)
#   TlsSession
#     .feed(data) -> plaintext      ciphertext from the socket; None when
#                                   the session failed or the peer closed
#                                   it: .failure says why (None: closed)
#     .write(plaintext)             queued until the handshake is done
#     .take_output() -> bytes       ciphertext for the socket
#     .established                  the handshake is done (and checked)
#     .version()                    the TLS version agreed ("TLSv1.3")
#
# Rules:
#   - TLS 1.2 or later, both ways.
#   - A server certificate is verified against sip.tls_ca, else the system's
#     trust store, and must name the host we connect to (ssl's
#     check_hostname: a DNS name or an IP address in subjectAltName).
#   - With sip.tls_fingerprint, exactly the certificate with that SHA-256
#     fingerprint is trusted instead (a self-signed PBX): no CA, name or
#     date is checked, and any other certificate fails the handshake.
#   - Failures, as registration_failed reasons (README "SIP over TLS"):
#       tls_expired      the server's certificate has expired (or is not
#                        yet valid)
#       tls_hostname     it does not name the host we connected to
#       tls_untrusted    it does not chain to a CA we trust (self-signed,
#                        unknown issuer)
#       tls_certificate  another certificate problem (revoked, bad)
#       tls_fingerprint  not the pinned certificate
#       tls_handshake    the handshake failed otherwise (no common version
#                        or cipher, an alert from the peer: a client
#                        certificate it wanted and did not get)
#   - Our certificate (sip.tls_cert/tls_key) is offered when a server asks
#     and is what our listener presents; a client connecting to our
#     listener is not asked for one (the station decides who may talk to
#     us by address, like on TCP).

import hashlib
import ssl

from boards.runtime.tls_contexts import client_context, server_context

RECEIVE_CHUNK = 16384
# OpenSSL's X509_V_ERR_* codes (x509_vfy.h) -> our reasons
_VERIFY_REASONS = {
    9: "tls_expired",  # not yet valid
    10: "tls_expired",
    18: "tls_untrusted",  # self-signed
    19: "tls_untrusted",  # self-signed in the chain
    20: "tls_untrusted",  # unable to get the local issuer
    21: "tls_untrusted",  # unable to verify the first certificate
    62: "tls_hostname",
    64: "tls_hostname",  # IP address mismatch
}


class _HandshakeError(Exception):
    def __init__(self, reason, detail):
        Exception.__init__(self, detail)
        self.reason = reason


class SipTls:
    def __init__(self, ca_file=None, fingerprint=None, cert_file=None, key_file=None, names=None):
        self.fingerprint = fingerprint
        self.names = names or {}
        client = client_context(ca_file, cert_file, key_file)
        if fingerprint is not None:
            client.check_hostname = False
            client.verify_mode = ssl.CERT_NONE
        self._client = client
        self._server = None if cert_file is None else server_context(cert_file, key_file)

    def client(self, host):
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        name = self.names.get(host, host)
        connection = self._client.wrap_bio(incoming, outgoing, server_hostname=name)
        session = TlsSession(connection, incoming, outgoing, self.fingerprint)
        session.start()  # the ClientHello
        return session

    def server(self):
        if self._server is None:
            return None
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        connection = self._server.wrap_bio(incoming, outgoing, server_side=True)
        return TlsSession(connection, incoming, outgoing, None)


class TlsSession:
    def __init__(self, connection, incoming, outgoing, fingerprint):
        self._connection = connection
        self._incoming = incoming
        self._outgoing = outgoing
        self._fingerprint = fingerprint
        self._waiting = bytearray()  # plaintext written before the handshake ended
        self.established = False
        self.failure = None
        self.detail = ""

    def start(self):
        """Our ClientHello; the handshake then waits for the server."""
        try:
            self._connection.do_handshake()
        except ssl.SSLWantReadError:
            pass

    def feed(self, data):
        self._incoming.write(data)
        try:
            if not self.established:
                self._step()
                if not self.established:
                    return b""
            return self._read()
        except _HandshakeError as error:
            self.failure, self.detail = error.reason, str(error)
            return None

    def _read(self):
        plain = bytearray()
        while True:
            try:
                chunk = self._connection.read(RECEIVE_CHUNK)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:  # the peer's close_notify: a plain close
                raise _HandshakeError(None, "closed") from None
            except ssl.SSLError as error:  # an alert: a certificate it wanted, ...
                raise _HandshakeError("tls_handshake", error.reason or str(error)) from None
            if not chunk:
                break
            plain.extend(chunk)
        return bytes(plain)

    def write(self, data):
        if self.established:
            self._connection.write(data)
        else:
            self._waiting.extend(data)

    def take_output(self):
        return self._outgoing.read()

    def version(self):
        return self._connection.version()

    def _step(self):
        """Move the handshake on; at its end check the pin and send what
        waited."""
        try:
            self._connection.do_handshake()
        except ssl.SSLWantReadError:
            return
        except ssl.SSLCertVerificationError as error:
            reason = _VERIFY_REASONS.get(error.verify_code, "tls_certificate")
            raise _HandshakeError(reason, error.verify_message) from None
        except ssl.SSLError as error:
            raise _HandshakeError("tls_handshake", error.reason or str(error)) from None
        if self._fingerprint is not None:
            der = self._connection.getpeercert(True) or b""
            if hashlib.sha256(der).hexdigest() != self._fingerprint:
                raise _HandshakeError("tls_fingerprint", "not the pinned certificate")
        self.established = True
        if self._waiting:
            self._connection.write(bytes(self._waiting))
            self._waiting = bytearray()
