# SDES (RFC 4568) in our offers and answers (intercom.sdp, intercom.sdes):
# what each audio.srtp mode offers, which offers it answers with SRTP, with
# plain RTP or refuses (488), and which a=crypto lines it can use.

import binascii

from intercom.sdes import format_crypto, parse_crypto
from intercom.sdp import SdpError, answer, build_offer, parse_answer, parse_sdp

SUITE_80 = "AES_CM_128_HMAC_SHA1_80"
SUITE_32 = "AES_CM_128_HMAC_SHA1_32"
OURS_80 = bytes(range(30))
OURS_32 = bytes(range(100, 130))
THEIRS = bytes(range(200, 230))
ANSWER_KEY = bytes(range(50, 80))
THEIR_KEY_TEXT = binascii.b2a_base64(THEIRS).decode().strip()


def phone_offer(proto="RTP/AVP", crypto=()):
    lines = [
        "v=0",
        "o=flat1 3000 3001 IN IP4 192.0.2.20",
        "s=call",
        "c=IN IP4 192.0.2.20",
        "t=0 0",
        "m=audio 30000 %s 0 101" % proto,
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
    ]
    lines.extend("a=crypto:" + value for value in crypto)
    return ("\r\n".join(lines) + "\r\n").encode()


def our_offer(srtp):
    crypto = [(1, SUITE_80, OURS_80), (2, SUITE_32, OURS_32)]
    return build_offer(5, 1, "192.0.2.10", 40000, srtp=srtp, crypto=crypto)


def phone_answer(proto="RTP/AVP", crypto=()):
    return phone_offer(proto, crypto)


def status_of(function, *arguments, **keywords):
    try:
        function(*arguments, **keywords)
    except SdpError as error:
        return error.status
    return None


def answer_to(offer, srtp):
    return answer(offer, 6, 0, "192.0.2.10", 40000, srtp=srtp, master=ANSWER_KEY)


def test_offers_per_mode():
    off = parse_sdp(our_offer("off")).media[0]
    assert (off.proto, off.crypto) == ("RTP/AVP", [])
    optional = parse_sdp(our_offer("optional")).media[0]
    assert optional.proto == "RTP/AVP"
    assert [parse_crypto(value) for value in optional.crypto] == [
        (1, SUITE_80, OURS_80),
        (2, SUITE_32, OURS_32),
    ]
    mandatory = parse_sdp(our_offer("mandatory")).media[0]
    assert mandatory.proto == "RTP/SAVP"
    assert mandatory.crypto == optional.crypto
    line = b"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"
    assert line + b"\r\n" in our_offer("mandatory")


def test_mandatory_refuses_an_offer_without_srtp_and_off_refuses_savp():
    assert status_of(answer_to, phone_offer(), "mandatory") == 488
    savp = phone_offer("RTP/SAVP", ["1 %s inline:%s" % (SUITE_80, THEIR_KEY_TEXT)])
    assert status_of(answer_to, savp, "off") == 488
    # RTP/SAVP whose only line we cannot use (an MKI) is refused by every mode
    mki = phone_offer("RTP/SAVP", ["1 %s inline:%s|2^31|1:4" % (SUITE_80, THEIR_KEY_TEXT)])
    assert status_of(answer_to, mki, "optional") == 488
    assert status_of(answer_to, mki, "mandatory") == 488


def assert_keyed_answers(offer, proto, tag, suite):
    """Whether optional or mandatory, the answer keeps proto and takes the
    offer's crypto line `tag` with `suite`, sending our own key."""
    for mode in ("optional", "mandatory"):
        body, negotiated = answer_to(offer, mode)
        section = parse_sdp(body).media[0]
        assert section.proto == proto
        assert section.crypto == [format_crypto(tag, suite, ANSWER_KEY)]
        assert negotiated.srtp == (suite, ANSWER_KEY, THEIRS)


def test_answers_take_the_first_usable_line_and_send_our_own_key():
    offer = phone_offer(
        "RTP/SAVP",
        [
            "1 AES_256_CM_HMAC_SHA1_80 inline:%s" % THEIR_KEY_TEXT,  # a suite we lack
            "2 %s inline:%s UNENCRYPTED_SRTP" % (SUITE_80, THEIR_KEY_TEXT),
            "3 %s inline:%s KDR=20" % (SUITE_80, THEIR_KEY_TEXT),
            "4 %s inline:%s|2^31 WSH=64" % (SUITE_32, THEIR_KEY_TEXT),
            "5 %s inline:%s" % (SUITE_80, THEIR_KEY_TEXT),
        ],
    )
    assert_keyed_answers(offer, "RTP/SAVP", 4, SUITE_32)


def test_best_effort_offers_get_srtp_unless_off():
    offer = phone_offer("RTP/AVP", ["1 %s inline:%s" % (SUITE_80, THEIR_KEY_TEXT)])
    assert_keyed_answers(offer, "RTP/AVP", 1, SUITE_80)
    body, negotiated = answer_to(offer, "off")
    assert parse_sdp(body).media[0].crypto == [] and negotiated.srtp is None
    body, negotiated = answer_to(phone_offer(), "optional")
    assert parse_sdp(body).media[0].crypto == [] and negotiated.srtp is None


def test_reading_the_answer_to_our_offer():
    line_2 = ["2 %s inline:%s" % (SUITE_32, THEIR_KEY_TEXT)]
    for mode, proto in (("optional", "RTP/AVP"), ("mandatory", "RTP/SAVP")):
        negotiated = parse_answer(phone_answer(proto, line_2), our_offer(mode))
        assert negotiated.srtp == (SUITE_32, OURS_32, THEIRS)
    # no usable line: plain RTP after a best-effort offer, 488 after RTP/SAVP
    for crypto in (
        [],
        ["3 %s inline:%s" % (SUITE_32, THEIR_KEY_TEXT)],  # a tag we did not offer
        ["1 %s inline:%s" % (SUITE_32, THEIR_KEY_TEXT)],  # tag 1 was the _80 suite
        ["2 %s inline:%s|1:1" % (SUITE_32, THEIR_KEY_TEXT)],  # an MKI
    ):
        assert parse_answer(phone_answer("RTP/AVP", crypto), our_offer("optional")).srtp is None
        assert status_of(parse_answer, phone_answer("RTP/SAVP", crypto), our_offer("mandatory"))
    # an answer's a=crypto to an offer without any is ignored
    assert parse_answer(phone_answer("RTP/AVP", line_2), our_offer("off")).srtp is None


def test_crypto_lines_we_cannot_use():
    key = THEIR_KEY_TEXT
    assert parse_crypto("123456789 %s inline:%s" % (SUITE_80, key)) == (123456789, SUITE_80, THEIRS)
    assert parse_crypto("1 %s inline:%s|2^20" % (SUITE_80, key)) is not None
    assert parse_crypto("1 %s inline:%s|1048576" % (SUITE_80, key)) is not None
    for value in (
        "1234567890 %s inline:%s" % (SUITE_80, key),  # a tag of 10 digits
        "x %s inline:%s" % (SUITE_80, key),
        "1 %s inline:%s|2^19" % (SUITE_80, key),  # a lifetime shorter than a day's calls
        "1 %s inline:%s|1000" % (SUITE_80, key),
        "1 %s inline:%s|2^31|1:4" % (SUITE_80, key),  # an MKI
        "1 %s inline:%s;inline:%s" % (SUITE_80, key, key),  # two keys
        "1 %s inline:%s" % (SUITE_80, key[:-4]),  # 27 octets
        "1 %s inline:%s" % (SUITE_80, "!" * 40),  # not base64
        "1 %s inline:%s UNAUTHENTICATED_SRTP" % (SUITE_80, key),
        "1 %s inline:%s UNENCRYPTED_SRTCP" % (SUITE_80, key),
        "1 %s inline:%s FEC_ORDER=FEC_SRTP" % (SUITE_80, key),
        "1 %s %s" % (SUITE_80, key),  # no inline:
        "1 %s" % SUITE_80,
    ):
        assert parse_crypto(value) is None, value


def test_keys_never_show_in_the_negotiated_media_text():
    _, negotiated = answer_to(
        phone_offer("RTP/SAVP", ["1 %s inline:%s" % (SUITE_80, THEIR_KEY_TEXT)]), "mandatory"
    )
    text = repr(negotiated)
    assert SUITE_80 in text
    assert THEIR_KEY_TEXT not in text and str(THEIRS) not in text and str(ANSWER_KEY) not in text


def test_an_offer_of_an_srtp_and_a_plain_stream_gets_one_of_them():
    # an RTP/SAVP stream and an RTP/AVP one (FreeSWITCH's "optional" style):
    # SRTP modes take the first, off takes the second; the other is port 0
    savp = phone_offer("RTP/SAVP", ["1 %s inline:%s" % (SUITE_80, THEIR_KEY_TEXT)])
    offer = savp + b"m=audio 30002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    for mode, taken in (("optional", 0), ("mandatory", 0), ("off", 1)):
        body, negotiated = answer_to(offer, mode)
        sections = parse_sdp(body).media
        assert [section.port != 0 for section in sections] == [taken == 0, taken == 1]
        assert negotiated.remote_port == 30000 + 2 * taken
        assert (negotiated.srtp is not None) == (taken == 0)
