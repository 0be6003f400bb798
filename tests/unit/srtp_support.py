# SRTP for the tests: AES-128 in ECB mode for intercom.media.srtp, and the
# contexts each side of a station test runs. Not a test module.
#
#   new_aes(key)        MicroPython's cryptolib (what the boards use); on
#                       CPython the `cryptography` package (pinned in
#                       requirements/dev.txt for these tests only: the
#                       CPython boards run libsrtp)
#   portable(suite, master, outbound, buffers=1)   intercom.media.srtp
#   board_srtp()        what a board of this interpreter runs
#                       (boards.runtime.srtp: libsrtp on CPython)

from intercom.media.srtp import SrtpContext

try:
    import cryptolib

    def new_aes(key):
        return cryptolib.aes(key, 1)

except ImportError:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    class _Ecb:
        def __init__(self, key):
            self._encryptor = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()

        def encrypt(self, source, target):
            target[: len(source)] = self._encryptor.update(bytes(source))

    def new_aes(key):
        return _Ecb(key)


def portable(suite, master, outbound, buffers=1):
    return SrtpContext(suite, master, new_aes, buffers)


def board_srtp():
    from boards.runtime.srtp import srtp_implementation

    return srtp_implementation()
