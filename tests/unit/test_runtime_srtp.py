# boards.runtime.srtp: the SRTP implementation a board of this interpreter
# runs (libsrtp on CPython, the portable context over cryptolib on
# MicroPython) reads what the portable context writes and the other way
# round, and a CPython door without pylibsrtp stops at start saying so.

import sys

from boards.runtime.addresses import StartError
from boards.runtime.srtp import srtp_implementation
from intercom.compat import IS_MICROPYTHON
from srtp_support import portable

MASTER = bytes(range(7, 37))
PACKET = b"\x80\x00\x12\x34" + b"\x00\x00\x00\xa0" + b"\x01\x02\x03\x04" + b"\x55" * 160
REPORT = b"\x80\xc9\x00\x01\x01\x02\x03\x04"


def test_the_boards_srtp_and_the_portable_one_read_each_other():
    factory = srtp_implementation()
    for suite in ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"):
        board_out = factory(suite, MASTER, True, 2)
        board_in = factory(suite, MASTER, False, 1)
        ours_out = portable(suite, MASTER, True)
        ours_in = portable(suite, MASTER, False)
        assert bytes(ours_in.unprotect(board_out.protect(PACKET))) == PACKET
        protected = bytes(ours_out.protect(PACKET))
        assert bytes(board_in.unprotect(protected)) == PACKET
        assert bytes(ours_in.unprotect_rtcp(board_out.protect_rtcp(REPORT))) == REPORT
        assert bytes(board_in.unprotect_rtcp(ours_out.protect_rtcp(REPORT))) == REPORT
        forged = PACKET[:3] + b"\x35" + PACKET[4:] + b"\x00" * 10  # the next number, no key
        assert board_in.unprotect(forged) is None
        assert board_in.unprotect(protected) is None  # seen
        assert (board_in.failures["auth"], board_in.failures["replay"]) == (1, 1)


def test_a_cpython_door_without_pylibsrtp_says_what_is_missing():
    if IS_MICROPYTHON:
        return  # cryptolib is built in
    saved = {name: sys.modules.get(name) for name in ("pylibsrtp", "boards.runtime.srtp_libsrtp")}
    sys.modules["pylibsrtp"] = None  # import pylibsrtp raises ImportError
    sys.modules.pop("boards.runtime.srtp_libsrtp", None)
    try:
        srtp_implementation()
    except StartError as error:
        assert "pylibsrtp" in str(error)
    else:
        raise AssertionError("no StartError")
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
