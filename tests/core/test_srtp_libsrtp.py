# The portable SRTP context (intercom.media.srtp, what a MicroPython board
# runs) against libsrtp (boards/runtime/srtp_libsrtp.py, what a CPython
# board runs): the same bytes for the same packets, each reads what the
# other writes, and both drop the same forgeries and replays. Random
# streams from hypothesis, across the sequence number's wrap.

import struct

from boards.runtime.srtp_libsrtp import LibsrtpContext
from hypothesis import given, settings
from hypothesis import strategies as st
from intercom.media.srtp import SUITES

from tests.unit.srtp_support import portable

masters = st.binary(min_size=30, max_size=30)
suites = st.sampled_from(sorted(SUITES))


def rtp(sequence, timestamp, ssrc, payload, marker=False, payload_type=0):
    second = (0x80 if marker else 0) | payload_type
    return struct.pack(">BBHII", 0x80, second, sequence, timestamp, ssrc) + payload


@settings(max_examples=60, deadline=None)
@given(
    master=masters,
    suite=suites,
    ssrc=st.integers(0, 0xFFFFFFFF),
    first=st.integers(0, 0xFFFF),
    payloads=st.lists(st.binary(min_size=0, max_size=320), min_size=1, max_size=40),
)
def test_protect_gives_libsrtps_bytes_and_each_unprotects_the_other(
    master, suite, ssrc, first, payloads
):
    ours_out = portable(suite, master, True)
    theirs_out = LibsrtpContext(suite, master, True)
    ours_in = portable(suite, master, False)
    theirs_in = LibsrtpContext(suite, master, False)
    for index, payload in enumerate(payloads):
        packet = rtp((first + index) & 0xFFFF, 160 * index, ssrc, payload, index == 0)
        ours = bytes(ours_out.protect(packet))
        theirs = theirs_out.protect(packet)
        assert ours == theirs
        assert bytes(ours_in.unprotect(theirs)) == packet
        assert theirs_in.unprotect(ours) == packet


@settings(max_examples=30, deadline=None)
@given(master=masters, suite=suites, start=st.integers(0xFFF0, 0xFFFF), count=st.integers(20, 80))
def test_both_agree_across_the_sequence_wrap(master, suite, start, count):
    ours_out = portable(suite, master, True)
    theirs_out = LibsrtpContext(suite, master, True)
    ours_in = portable(suite, master, False)
    for index in range(count):
        packet = rtp((start + index) & 0xFFFF, 160 * index, 0x11223344, bytes([index]) * 160)
        theirs = theirs_out.protect(packet)
        assert bytes(ours_out.protect(packet)) == theirs
        assert bytes(ours_in.unprotect(theirs)) == packet


@settings(max_examples=30, deadline=None)
@given(
    master=masters,
    suite=suites,
    order=st.permutations(list(range(12))),
    replays=st.lists(st.integers(0, 11), max_size=6),
    flips=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 171)), max_size=4),
)
def test_both_drop_the_same_replays_and_forgeries(master, suite, order, replays, flips):
    sender = LibsrtpContext(suite, master, True)
    protected = [
        sender.protect(rtp(100 + index, 160 * index, 7, bytes([index]) * 160))
        for index in range(12)
    ]
    arrivals = [protected[index] for index in order] + [protected[index] for index in replays]
    for index, position in flips:
        forged = bytearray(protected[index])
        forged[position % len(forged)] ^= 0x04
        arrivals.append(bytes(forged))
    ours = portable(suite, master, False)
    theirs = LibsrtpContext(suite, master, False)
    for data in arrivals:
        mine = ours.unprotect(data)
        libsrtp = theirs.unprotect(data)
        assert (None if mine is None else bytes(mine)) == libsrtp
    assert ours.failures == theirs.failures


@settings(max_examples=30, deadline=None)
@given(master=masters, suite=suites, bodies=st.lists(st.binary(max_size=200), max_size=5))
def test_srtcp_each_reads_the_other(master, suite, bodies):
    # libsrtp counts the SRTCP index from 1, the portable context from 0
    # (RFC 3711 3.4): the bytes differ, both read either
    ours_out = portable(suite, master, True)
    theirs_out = LibsrtpContext(suite, master, True)
    ours_in = portable(suite, master, False)
    theirs_in = LibsrtpContext(suite, master, False)
    for body in bodies:
        words = (len(body) + 3) // 4
        report = struct.pack(">BBHI", 0x80, 201, words + 1, 0x55667788) + body.ljust(4 * words)
        assert bytes(ours_in.unprotect_rtcp(theirs_out.protect_rtcp(report))) == report
        assert theirs_in.unprotect_rtcp(ours_out.protect_rtcp(report)) == report


@settings(max_examples=60, deadline=None)
@given(
    master=masters,
    suite=suites,
    sequences=st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=40),
)
def test_both_guess_the_same_index_for_any_sequence_numbers(master, suite, sequences):
    # jumps of any size, backwards and forwards, across the wrap or not,
    # repeats too: each packet is protected by a sender that moved there
    # (the portable one: libsrtp refuses to protect an index twice), and
    # both receivers must agree on every one
    ours = portable(suite, master, False)
    theirs = LibsrtpContext(suite, master, False)
    sender = portable(suite, master, True)
    for index, sequence in enumerate(sequences):
        data = bytes(sender.protect(rtp(sequence, 160 * index, 0xABCDEF01, bytes([index]) * 40)))
        mine = ours.unprotect(data)
        libsrtp = theirs.unprotect(data)
        assert (None if mine is None else bytes(mine)) == libsrtp, (index, sequence)
    assert ours.failures == theirs.failures
