# SRTP and SRTCP (RFC 3711) of intercom.media.srtp, the portable context a
# MicroPython board runs: the RFC's test vectors, packets as libsrtp writes
# them, authentication, replay protection and the ROC across a sequence
# number wrap. tests/core/test_srtp_libsrtp.py holds it to libsrtp.

import binascii
import struct

from intercom.media import srtp
from srtp_support import new_aes, portable

SUITE_80 = "AES_CM_128_HMAC_SHA1_80"
SUITE_32 = "AES_CM_128_HMAC_SHA1_32"
# RFC 3711 appendix B.3 (key derivation) master key and salt
MASTER_KEY = binascii.unhexlify("E1F97A0D3E018BE0D64FA32C06DE4139")
MASTER_SALT = binascii.unhexlify("0EC675AD498AFEEBB6960B3AABE6")
MASTER = MASTER_KEY + MASTER_SALT


def unhex(text):
    return binascii.unhexlify(text.replace(" ", ""))


def rtp(sequence, payload=b"\xab" * 16, ssrc=0xCAFEBABE, timestamp=0xDECAFBAD, first=0x80):
    return struct.pack(">BBHII", first, 0x0F, sequence, timestamp, ssrc) + payload


def rtcp_report(ssrc=0xCAFEBABE):
    # a receiver report without report blocks, and an SDES CNAME chunk
    report = struct.pack(">BBHI", 0x80, 201, 1, ssrc)
    sdes = struct.pack(">BBHIBB", 0x81, 202, 3, ssrc, 1, 4) + b"door" + b"\x00\x00"
    return report + sdes


def test_key_derivation_gives_the_rfc_3711_b3_session_keys():
    master_cipher = new_aes(MASTER_KEY)
    derive = srtp.derive_key
    assert derive(master_cipher, MASTER_SALT, 0, 16) == unhex("C61E7A93744F39EE10734AFE3FF7A087")
    assert derive(master_cipher, MASTER_SALT, 2, 14) == unhex("30CBBC08863D8C85D49DB34A9AE1")
    assert derive(master_cipher, MASTER_SALT, 1, 20) == unhex(
        "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"
    )


def test_srtcp_keys_come_from_labels_3_to_5():
    # the same master, the SRTCP labels (4.3.2); libsrtp derives the same
    master_cipher = new_aes(MASTER_KEY)
    derive = srtp.derive_key
    assert derive(master_cipher, MASTER_SALT, 3, 16) == unhex("4C1AA45A81F73D61C800BBB00FBB1EAA")
    assert derive(master_cipher, MASTER_SALT, 4, 20) == unhex(
        "8D54534FEB49AE8E7993A6BD0B844FC323A93DFD"
    )
    assert derive(master_cipher, MASTER_SALT, 5, 14) == unhex("9581C7AD87B3E530BF3E4454A8B3")


def test_aes_cm_keystream_is_rfc_3711_b2():
    cipher = new_aes(unhex("2B7E151628AED2A6ABF7158809CF4F3C"))
    iv = bytearray(unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"))
    stream = srtp.keystream(cipher, iv, 48)
    assert stream == unhex(
        "E03EAD0935C95E80E166B16DD92B4EB4"
        "D23513162B02D0F72A43A2FE4A5F97AB"
        "41E95B3BB0A2E8DD477901E4FCA894C0"
    )


def test_a_protected_packet_is_the_one_libsrtp_writes():
    # libsrtp's own known answer (its srtp_driver test packet, same master):
    # the header stays, the payload is encrypted, the tag follows
    for suite, tag in ((SUITE_80, "99EA179B8DBB"), (SUITE_32, "")):
        protected = bytes(portable(suite, MASTER, True).protect(rtp(0x1234)))
        expected = "800F1234DECAFBADCAFEBABE4E55DC4CE79978D88CA4D215949D2402B78D6ACC" + tag
        assert protected == unhex(expected), suite
    assert len(protected) == 12 + 16 + 4


def test_both_suites_round_trip_rtp_and_rtcp():
    for suite, tag_bytes in ((SUITE_80, 10), (SUITE_32, 4)):
        sender = portable(suite, MASTER, True)
        receiver = portable(suite, MASTER, False)
        for sequence in (7, 8, 9):
            packet = rtp(sequence, bytes(range(160)))
            protected = bytes(sender.protect(packet))
            assert len(protected) == len(packet) + tag_bytes
            assert protected[12:172] != packet[12:]
            assert bytes(receiver.unprotect(protected)) == packet
        report = rtcp_report()
        secured = sender.protect_rtcp(report)
        assert len(secured) == len(report) + 4 + 10  # E||index, 80-bit tag for both suites
        assert secured[:8] == report[:8] and secured[8 : len(report)] != report[8:]
        assert secured[len(report)] & 0x80  # E: encrypted
        assert bytes(receiver.unprotect_rtcp(secured)) == report
        assert receiver.failures == {"malformed": 0, "auth": 0, "replay": 0}


def test_csrcs_and_a_header_extension_stay_in_clear():
    extension = struct.pack(">HH", 0xBEDE, 1) + b"\x10\x01\x00\x00"
    packet = rtp(5, b"\x11" * 20, first=0x91) + b""
    packet = packet[:12] + struct.pack(">I", 0x0A0B0C0D) + extension + packet[12:]
    protected = bytes(portable(SUITE_80, MASTER, True).protect(packet))
    assert protected[:24] == packet[:24]
    assert protected[24:44] != packet[24:]
    assert bytes(portable(SUITE_80, MASTER, False).unprotect(protected)) == packet


def test_a_forged_or_altered_packet_is_dropped_counted_and_changes_nothing():
    sender = portable(SUITE_80, MASTER, True)
    receiver = portable(SUITE_80, MASTER, False)
    assert receiver.unprotect(sender.protect(rtp(100))) is not None
    genuine = bytes(sender.protect(rtp(101)))
    flipped = bytearray(genuine)
    flipped[20] ^= 0x01  # one payload bit
    assert receiver.unprotect(bytes(flipped)) is None
    wrong_key = bytearray(MASTER)
    wrong_key[0] ^= 0x80
    forged = bytes(portable(SUITE_80, bytes(wrong_key), True).protect(rtp(30000)))
    assert receiver.unprotect(forged) is None  # a far jump: would move the ROC guess
    plain = rtp(102) + b"\x00" * 10  # clear RTP with a made-up tag
    assert receiver.unprotect(plain) is None
    assert receiver.failures == {"malformed": 0, "auth": 3, "replay": 0}
    assert bytes(receiver.unprotect(genuine)) == rtp(101)  # still in sequence
    forged_report = bytearray(sender.protect_rtcp(rtcp_report()))
    forged_report[-1] ^= 0xFF
    assert receiver.unprotect_rtcp(bytes(forged_report)) is None
    assert receiver.failures["auth"] == 4


def test_forged_packets_from_new_ssrcs_never_push_the_real_source_out_of_the_replay_table():
    # RFC 3711 3.3 step 5: a packet is authenticated before anything else is
    # done with it. A LAN host without the key that sends packets from
    # MAX_SOURCES new SSRCs must not make the receiver forget the real
    # source's replay window, or a captured packet (a DTMF digit of the
    # door code) plays again as if new.
    sender = portable(SUITE_80, MASTER, True)
    receiver = portable(SUITE_80, MASTER, False)
    packets = [bytes(sender.protect(rtp(1000 + n))) for n in range(5)]
    packets_rtcp = [sender.protect_rtcp(rtcp_report()) for _ in range(3)]
    for packet in packets:
        assert receiver.unprotect(packet) is not None
    for packet in packets_rtcp:
        assert receiver.unprotect_rtcp(packet) is not None
    for number in range(srtp.MAX_SOURCES + 2):
        ssrc = 0x10000 + number
        assert receiver.unprotect(rtp(7, ssrc=ssrc) + bytes(10)) is None
        assert receiver.unprotect_rtcp(rtcp_report(ssrc) + b"\x80\x00\x00\x01" + bytes(10)) is None
    assert receiver.unprotect(packets[2]) is None
    assert receiver.unprotect_rtcp(packets_rtcp[1]) is None
    auth = 2 * (srtp.MAX_SOURCES + 2)
    assert receiver.failures == {"malformed": 0, "auth": auth, "replay": 2}
    # a real new source (another sender's SSRC under the same key) still gets in
    other = portable(SUITE_80, MASTER, True)
    assert bytes(receiver.unprotect(other.protect(rtp(5, ssrc=0xFEED)))) == rtp(5, ssrc=0xFEED)
    assert bytes(receiver.unprotect(sender.protect(rtp(1005)))) == rtp(1005)


def test_a_replayed_packet_is_dropped_and_late_ones_inside_the_window_are_not():
    sender = portable(SUITE_80, MASTER, True)
    receiver = portable(SUITE_80, MASTER, False)
    packets = [bytes(sender.protect(rtp(1000 + n))) for n in range(200)]
    for packet in packets[:10]:
        assert receiver.unprotect(packet) is not None
    assert receiver.unprotect(packets[5]) is None  # seen
    assert receiver.unprotect(packets[12]) is not None  # ahead, 10 and 11 missing
    assert receiver.unprotect(packets[11]) is not None  # late, in the window
    assert receiver.unprotect(packets[11]) is None
    for packet in packets[13:150]:
        assert receiver.unprotect(packet) is not None
    assert receiver.unprotect(packets[10]) is None  # never seen, but 139 behind (window 128)
    assert receiver.failures == {"malformed": 0, "auth": 0, "replay": 3}
    report = sender.protect_rtcp(rtcp_report())
    assert receiver.unprotect_rtcp(report) is not None
    assert receiver.unprotect_rtcp(report) is None
    assert receiver.failures["replay"] == 4


def test_the_roc_follows_the_sequence_number_across_its_wrap():
    # RFC 3711 3.3.1: after 65535 the sender's ROC becomes 1 and the
    # keystream and tag use it; the receiver's guess follows, also for a
    # packet from before the wrap arriving after it
    sender = portable(SUITE_80, MASTER, True)
    receiver = portable(SUITE_80, MASTER, False)
    sequences = [65530 + n for n in range(6)] + list(range(0, 8))
    protected = {}
    for sequence in sequences:
        protected[sequence] = bytes(sender.protect(rtp(sequence, bytes([sequence & 0xFF]) * 32)))
    order = [65530, 65531, 65532, 65533, 0, 1, 65535, 2, 65534, 3, 4, 5, 6, 7]
    for sequence in order:
        plain = receiver.unprotect(protected[sequence])
        assert plain is not None, sequence
        assert bytes(plain) == rtp(sequence, bytes([sequence & 0xFF]) * 32)
    assert receiver.failures == {"malformed": 0, "auth": 0, "replay": 0}
    # the same sequence number one ROC later is another packet, not a replay
    fresh = portable(SUITE_80, MASTER, False)
    assert fresh.unprotect(protected[3]) is None  # ROC 1: a fresh receiver guesses 0
    assert fresh.failures["auth"] == 1


def test_short_and_broken_packets_are_dropped_not_raised():
    receiver = portable(SUITE_32, MASTER, False)
    for data in (b"", b"\x80", rtp(1)[:12] + b"\x00\x00\x00", b"\x00" * 30):
        assert receiver.unprotect(data) is None
    too_many_csrcs = b"\x8f" + rtp(1)[1:]  # 15 CSRCs in a 32-octet packet
    assert receiver.unprotect(too_many_csrcs) is None
    for data in (b"", b"\x80\xc9\x00\x01", b"\x00" * 21):
        assert receiver.unprotect_rtcp(data) is None
    assert receiver.failures["malformed"] == 8
    assert receiver.failures["auth"] == 0 and receiver.failures["replay"] == 0


def test_protect_results_stay_valid_for_the_frames_packets():
    sender = portable(SUITE_80, MASTER, True, 3)
    first = sender.protect(rtp(1))
    copy = bytes(first)
    sender.protect(rtp(2))
    sender.protect(rtp(3))
    assert bytes(first) == copy
    sender.protect(rtp(4))
    assert bytes(first) != copy


def test_the_fast_loops_give_the_plain_loops_bytes():
    if srtp._xor_into is srtp.xor_plain:
        return  # CPython: only the plain loops exist
    source = bytes((n * 37 + 11) & 0xFF for n in range(200))
    for shift in range(4):  # word loops where aligned, byte loops where not
        for offset in (0, 1, 5, 12):
            plain_target = bytearray(range(256)) + bytearray(64)
            fast_target = bytearray(plain_target)
            srtp.xor_plain(memoryview(plain_target)[shift:], offset, source[shift:], 173)
            srtp._xor_into(memoryview(fast_target)[shift:], offset, source[shift:], 173)
            assert plain_target == fast_target
    iv = bytearray(unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"))
    salt = unhex("30CBBC08863D8C85D49DB34A9AE1")
    packet = rtp(0xBEEF, ssrc=0x89ABCDEF)
    for shift in range(4):
        plain_counters = bytearray(16 * 12)
        fast_counters = bytearray(16 * 12)
        srtp.fill_counters_plain(memoryview(plain_counters)[shift:], iv, 11)
        srtp._fill_counters(memoryview(fast_counters)[shift:], iv, 11)
        assert plain_counters == fast_counters
        plain_roc = bytearray(4)
        fast_roc = bytearray(4)
        for roc in (0, 1, 0x12345678):
            srtp.rtp_counters_plain(
                memoryview(plain_counters)[shift:], salt, packet, roc, 0xBEEF, 11, plain_roc
            )
            srtp._rtp_counters(
                memoryview(fast_counters)[shift:], salt, packet, roc, 0xBEEF, 11, fast_roc
            )
            assert plain_counters == fast_counters and plain_roc == fast_roc
    for tag, other in ((source[:10], source[:10]), (source[:10], source[1:11])):
        assert bool(srtp.differs_plain(tag, other, 0, 10)) == bool(srtp._differs(tag, other, 0, 10))
        assert bool(srtp._differs(tag, b"xx" + other, 2, 10)) == (tag != other)
