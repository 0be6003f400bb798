# The ssl contexts of every TLS connection on CPython (SIP over TLS, MQTT,
# webhooks, the status page), so each speaks the same versions and loads
# its files the same way.
#
#   client_context(ca_file=None, cert_file=None, key_file=None)
#       -> ssl.SSLContext: TLS 1.2 or later, the server's certificate
#       verified against ca_file (else the system's trust store) and the
#       host name given to wrap_*(server_hostname=...) (ssl's
#       check_hostname, RFC 6125); cert_file/key_file: our client
#       certificate, offered when a server asks for one
#   server_context(cert_file, key_file) -> ssl.SSLContext: TLS 1.2 or later,
#       presenting our certificate; clients are not asked for one
#
# A missing or bad file raises OSError or ssl.SSLError (a ValueError).

import ssl


def client_context(ca_file=None, cert_file=None, key_file=None):
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return context


def server_context(cert_file, key_file):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context
