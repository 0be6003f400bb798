# Which SRTP implementation a door runs (audio.srtp other than off): libsrtp
# through pylibsrtp on CPython (boards/runtime/srtp_libsrtp.py), the
# portable intercom.media.srtp over MicroPython's cryptolib AES elsewhere.
# Both give the same bytes (tests/unit/test_media_srtp.py, tests/core).
#
#   srtp_implementation() -> factory(suite, master, outbound, buffers) for the
#       Station (intercom.media.session's srtp_factory); raises StartError
#       naming what is missing. Imported only when audio.srtp is on: a Pico
#       W without SRTP spends no heap on it.

from boards.runtime.addresses import StartError


def srtp_implementation():
    try:
        from boards.runtime.srtp_libsrtp import LibsrtpContext
    except ImportError:
        pass
    else:
        return LibsrtpContext
    try:
        import cryptolib  # pyright: ignore[reportMissingImports]
    except ImportError:
        raise StartError(
            "audio.srtp needs pylibsrtp on CPython (pip install pylibsrtp) "
            "or cryptolib on MicroPython"
        ) from None
    from intercom.media.srtp import SrtpContext

    def new_aes(key):
        return cryptolib.aes(key, 1)  # ECB: SrtpContext builds the counter mode

    def portable(suite, master, outbound, buffers=1):
        return SrtpContext(suite, master, new_aes, buffers)

    return portable
