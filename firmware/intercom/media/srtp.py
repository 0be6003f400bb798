# SRTP and SRTCP (RFC 3711) for the two SDES suites of RFC 4568 section
# 6.2: AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32. Portable: this
# is the implementation a MicroPython board runs (AES from cryptolib, HMAC
# over hashlib.sha1); a CPython board runs libsrtp behind the same
# interface (boards/runtime/srtp_libsrtp.py), and the tests hold both to
# the same bytes.
#
# Public API
#
#   SUITES                      suite name -> SRTP auth tag bytes (SRTCP: 10)
#   MASTER_BYTES                30: master key (16) || master salt (14)
#   derive_key(master_cipher, master_salt, label, length) -> bytes   (4.3)
#   keystream(cipher, iv, length) -> bytes   AES-CM from counter block iv
#   xor_plain, fill_counters_plain, rtp_counters_plain, differs_plain
#       the byte loops (srtp_viper has the same under MicroPython)
#   SrtpContext(suite, master, new_aes, buffers=1)
#       one direction's crypto context (RFC 3711 3.2): a sender's or a
#       receiver's. new_aes(key16) -> an AES-128 block cipher in ECB mode
#       with encrypt(source, target) over whole blocks (MicroPython's
#       cryptolib.aes(key, 1) is one). buffers: how many protect() results
#       stay valid at once (the packets of one audio frame).
#     .protect(rtp) -> memoryview          the SRTP packet (valid until
#                                           `buffers` more protect calls)
#     .unprotect(srtp) -> memoryview or None   the RTP packet (valid until
#                                           the next unprotect), None when
#                                           dropped (counted in .failures)
#     .protect_rtcp(rtcp) -> bytes         SRTCP, encrypted (E=1)
#     .unprotect_rtcp(srtcp) -> memoryview or None
#     .failures   dict reason -> count: "malformed" (too short, a header
#                 longer than the packet), "auth" (the tag does not match:
#                 forged, corrupted or under another key), "replay" (an
#                 index seen before or older than the window)
#
# Rules:
#   - Key derivation (4.3.1) with key_derivation_rate 0 (RFC 4568 6.3.1's
#     default; lines with another KDR are not accepted by the SDP layer):
#     labels 0-2 give the SRTP cipher key, auth key and salt, 3-5 SRTCP's,
#     each the AES-CM keystream of the master key over (salt XOR label << 48)
#     << 16.
#   - AES-CM (4.1.1): IV = (salt << 16) XOR (SSRC << 64) XOR (index << 16),
#     the keystream XORed over the payload (SRTP: after the header, its
#     CSRCs and extension; SRTCP: after the first 8 octets).
#   - Authentication (4.2): HMAC-SHA1 over the packet and the ROC (SRTP) or
#     the packet and E||index (SRTCP), truncated to the suite's tag; checked
#     before anything else is done with the packet (3.3 step 5), compared
#     in constant time; a packet that fails changes no state.
#   - Index (3.3.1, appendix A): the sender counts the ROC up when its
#     sequence number wraps; the receiver guesses ROC-1, ROC or ROC+1 from
#     its highest sequence number s_l and moves s_l and the ROC only for
#     packets that authenticate.
#   - Replay (3.3.2): per SSRC, a window of REPLAY_WINDOW indices behind the
#     highest one received; an index seen in the window or older than it is
#     dropped ("replay"). The receiver keeps MAX_SOURCES SSRCs; a new one
#     joins once one of its packets authenticated (until then it is checked
#     against a spare state: a forged packet from a new SSRC changes no
#     state, so it never pushes a real source's window out), and after
#     MAX_SOURCES takes the place of the least recently seen.
#   - SRTCP index (3.4): 31 bits counted from 0 by the sender, E set; a
#     received packet with E clear is authenticated but not decrypted.

import hashlib

from intercom.compat import const

SUITES = {"AES_CM_128_HMAC_SHA1_80": 10, "AES_CM_128_HMAC_SHA1_32": 4}
SRTCP_TAG_BYTES = const(10)  # both suites (RFC 4568 6.2.1, 6.2.2)
KEY_BYTES = const(16)
SALT_BYTES = const(14)
MASTER_BYTES = const(30)
AUTH_KEY_BYTES = const(20)
REPLAY_WINDOW = const(128)  # libsrtp's; divides 65536
MAX_SOURCES = const(4)
MAX_PACKET = const(1500)
RTP_HEADER = const(12)
RTCP_HEADER = const(8)


def xor_plain(target, offset, source, count):
    """target[offset + i] ^= source[i] for i < count (srtp_viper's twin)."""
    for index in range(count):
        target[offset + index] ^= source[index]


def fill_counters_plain(target, iv, blocks):
    """Counter blocks iv+0, iv+1, ...: iv's last two octets are 0 and a
    packet has fewer than 2**16 blocks, so only they change."""
    for block in range(blocks):
        base = 16 * block
        target[base : base + 14] = iv[0:14]
        target[base + 14] = block >> 8
        target[base + 15] = block & 0xFF


def rtp_counters_plain(target, salt, packet, roc, sequence, blocks, roc_bytes):
    """The counter blocks of an SRTP packet (4.1.1): the salt XOR the SSRC
    (octets 8-11 of the packet) XOR the 48-bit index ROC || SEQ; and the
    ROC as 4 octets for the authentication tag (4.2)."""
    iv = bytearray(16)
    iv[0:SALT_BYTES] = salt
    for index in range(4):
        iv[4 + index] ^= packet[8 + index]
        shift = 24 - 8 * index
        iv[8 + index] ^= (roc >> shift) & 0xFF
        roc_bytes[index] = (roc >> shift) & 0xFF
    iv[12] ^= sequence >> 8
    iv[13] ^= sequence & 0xFF
    fill_counters_plain(target, iv, blocks)


def differs_plain(tag, packet, offset, count):
    """Non-zero when tag[:count] differs from packet[offset:]: every octet
    is compared whatever the others hold (constant time)."""
    difference = 0
    for index in range(count):
        difference |= tag[index] ^ packet[offset + index]
    return difference


try:
    from intercom.media import srtp_viper

    _xor_into = srtp_viper.xor_into
    _fill_counters = srtp_viper.fill_counters
    _rtp_counters = srtp_viper.rtp_counters
    _differs = srtp_viper.differs
except ImportError:  # CPython, or a port without the viper emitter
    _xor_into = xor_plain
    _fill_counters = fill_counters_plain
    _rtp_counters = rtp_counters_plain
    _differs = differs_plain


class _Buffer:
    """A preallocated buffer and memoryviews of its first n octets, made
    once per n (a call's packets keep one length): no allocation per packet."""

    def __init__(self, size):
        self.view = memoryview(bytearray(size))
        self._heads = {}

    def head(self, length):
        view = self._heads.get(length)
        if view is None:
            if len(self._heads) >= 8:
                self._heads.clear()
            view = self.view[:length]
            self._heads[length] = view
        return view


class _Hmac:
    """HMAC-SHA1 (RFC 2104) with its key's pads computed once."""

    def __init__(self, key):
        inner = bytearray(64)
        outer = bytearray(64)
        for index in range(64):
            byte = key[index] if index < len(key) else 0
            inner[index] = byte ^ 0x36
            outer[index] = byte ^ 0x5C
        self._inner = bytes(inner)
        self._outer = bytes(outer)

    def digest(self, data, trailer):
        hasher = hashlib.sha1(self._inner)
        hasher.update(data)
        hasher.update(trailer)
        outer = hashlib.sha1(self._outer)
        outer.update(hasher.digest())
        return outer.digest()


class _Keys:
    """One stream kind's session keys: cipher, salt and HMAC (4.3.1)."""

    def __init__(self, master_cipher, master_salt, first_label, new_aes):
        cipher_key = derive_key(master_cipher, master_salt, first_label, KEY_BYTES)
        auth_key = derive_key(master_cipher, master_salt, first_label + 1, AUTH_KEY_BYTES)
        self.salt = derive_key(master_cipher, master_salt, first_label + 2, SALT_BYTES)
        self.cipher = new_aes(cipher_key)
        self.hmac = _Hmac(auth_key)


def derive_key(master_cipher, master_salt, label, length):
    """PRF_n(k_master, x), x = key_id XOR master_salt, key_id = label || r
    with r = 0 (4.3.1, 4.3.3): the label XORs octet 7 of the salt."""
    iv = bytearray(16)
    iv[0:SALT_BYTES] = master_salt
    iv[7] ^= label
    return keystream(master_cipher, iv, length)


def keystream(cipher, iv, length):
    """length octets of AES-CM keystream from the counter block iv (4.1.1)."""
    blocks = (length + 15) // 16
    counters = bytearray(16 * blocks)
    out = bytearray(16 * blocks)
    _fill_counters(counters, iv, blocks)
    cipher.encrypt(counters, out)
    return bytes(out[:length])


class _Replay:
    """A receiver's state for one SSRC: ROC, s_l and the replay window."""

    def __init__(self):
        self.seen = bytearray(REPLAY_WINDOW)
        self.renew(0, 0)

    def renew(self, ssrc_high, ssrc_low):
        """Nothing seen yet from this SSRC (seen is cleared by the first accept)."""
        self.ssrc_high = ssrc_high
        self.ssrc_low = ssrc_low
        self.started = False
        self.roc = 0
        self.highest = 0  # s_l (SRTP) or the highest SRTCP index

    def check(self, roc, number):
        """True when (roc, number) is new; number is the sequence number
        (SRTP, roc the guessed ROC) or the SRTCP index (roc 0)."""
        if not self.started:
            return True
        delta = (roc - self.roc) * 65536 + number - self.highest
        if delta > 0:
            return True
        if delta <= -REPLAY_WINDOW:
            return False
        return not self.seen[number % REPLAY_WINDOW]

    def accept(self, roc, number):
        """Record an authenticated (roc, number)."""
        seen = self.seen
        if not self.started:
            self.started = True
            self.roc = roc
            self.highest = number
            for index in range(REPLAY_WINDOW):
                seen[index] = 0
            seen[number % REPLAY_WINDOW] = 1
            return
        delta = (roc - self.roc) * 65536 + number - self.highest
        if delta > 0:
            if delta >= REPLAY_WINDOW:
                for index in range(REPLAY_WINDOW):
                    seen[index] = 0
            else:
                position = self.highest
                for _ in range(delta):
                    position += 1
                    seen[position % REPLAY_WINDOW] = 0
            self.roc = roc
            self.highest = number
        seen[number % REPLAY_WINDOW] = 1


class SrtpContext:
    def __init__(self, suite, master, new_aes, buffers=1):
        tag_bytes = SUITES.get(suite)
        if tag_bytes is None:
            raise ValueError("unsupported SRTP suite %r" % suite)
        if len(master) != MASTER_BYTES:
            raise ValueError("an SRTP master key and salt are %d bytes" % MASTER_BYTES)
        self.suite = suite
        self._tag_bytes = tag_bytes
        self._counters = _Buffer(MAX_PACKET + 16)
        self._keystream = _Buffer(MAX_PACKET + 16)
        master_cipher = new_aes(bytes(master[:KEY_BYTES]))
        master_salt = bytes(master[KEY_BYTES:])
        self._rtp = _Keys(master_cipher, master_salt, 0, new_aes)
        self._rtcp = _Keys(master_cipher, master_salt, 3, new_aes)
        self._iv = bytearray(16)  # SRTCP's first counter block: its last two octets stay 0
        self._roc_bytes = bytearray(4)
        # room for a whole SHA-1 digest after the longest packet
        self._outputs = [_Buffer(MAX_PACKET + 24) for _ in range(buffers)]
        self._next_output = 0
        self._input = _Buffer(MAX_PACKET + 24)
        self._send_roc = 0
        self._send_sequence = None
        self._rtcp_index = 0
        self._sources = []  # _Replay per SSRC, most recently used first
        self._rtcp_sources = []
        self._spare = _Replay()  # a new SSRC's state until its packet authenticates
        self.failures = {"malformed": 0, "auth": 0, "replay": 0}

    # -- SRTP ------------------------------------------------------------

    def protect(self, rtp):
        length = len(rtp)
        start = _payload_start(rtp, length)
        if start < 0 or length + self._tag_bytes > MAX_PACKET:
            raise ValueError("not an RTP packet we can protect")
        buffer = self._outputs[self._next_output]
        self._next_output = (self._next_output + 1) % len(self._outputs)
        out = buffer.view
        out[:length] = rtp
        sequence = (out[2] << 8) | out[3]
        last = self._send_sequence
        if last is not None and sequence < last and last - sequence > 0x8000:
            self._send_roc = (self._send_roc + 1) & 0xFFFFFFFF  # wrapped (3.3.1)
        self._send_sequence = sequence
        blocks = self._rtp_counters(out, start, length, self._send_roc, sequence)
        self._apply(self._rtp.cipher, out, start, length, blocks)
        out[length : length + 20] = self._rtp.hmac.digest(buffer.head(length), self._roc_bytes)
        return buffer.head(length + self._tag_bytes)  # the tag truncated (4.2)

    def unprotect(self, data):
        length = len(data) - self._tag_bytes
        if length < RTP_HEADER or length > MAX_PACKET:
            return self._fail("malformed")
        out = self._input.view
        out[: len(data)] = data
        start = _payload_start(out, length)
        if start < 0:
            return self._fail("malformed")
        sequence = (out[2] << 8) | out[3]
        state = self._source(self._sources, out, 8)
        roc = _guess_roc(state, sequence)
        if not state.check(roc, sequence):
            return self._fail("replay")
        blocks = self._rtp_counters(out, start, length, roc, sequence)
        tag = self._rtp.hmac.digest(self._input.head(length), self._roc_bytes)
        if _differs(tag, out, length, self._tag_bytes):
            return self._fail("auth")
        state.accept(roc, sequence)
        if state is self._spare:
            self._keep(self._sources, state)
        self._apply(self._rtp.cipher, out, start, length, blocks)
        return self._input.head(length)

    # -- SRTCP -----------------------------------------------------------

    def protect_rtcp(self, rtcp):
        length = len(rtcp)
        if length < RTCP_HEADER or length + 4 + SRTCP_TAG_BYTES > MAX_PACKET:
            raise ValueError("not an RTCP packet we can protect")
        out = self._outputs[self._next_output].view
        self._next_output = (self._next_output + 1) % len(self._outputs)
        out[:length] = rtcp
        index = self._rtcp_index
        self._rtcp_index = (index + 1) & 0x7FFFFFFF
        self._crypt_rtcp(out, length, index)
        out[length] = 0x80 | (index >> 24)  # E=1 (3.4)
        out[length + 1] = (index >> 16) & 0xFF
        out[length + 2] = (index >> 8) & 0xFF
        out[length + 3] = index & 0xFF
        out[length + 4 : length + 24] = self._rtcp.hmac.digest(out[: length + 4], b"")
        return bytes(out[: length + 4 + SRTCP_TAG_BYTES])

    def unprotect_rtcp(self, data):
        length = len(data) - 4 - SRTCP_TAG_BYTES
        if length < RTCP_HEADER or length > MAX_PACKET:
            return self._fail("malformed")
        out = self._input.view
        out[: len(data)] = data
        encrypted = out[length] & 0x80
        index = ((out[length] & 0x7F) << 24) | (out[length + 1] << 16)
        index |= (out[length + 2] << 8) | out[length + 3]
        state = self._source(self._rtcp_sources, out, 4)
        if not state.check(0, index):
            return self._fail("replay")
        tag = self._rtcp.hmac.digest(out[: length + 4], b"")
        if _differs(tag, out, length + 4, SRTCP_TAG_BYTES):
            return self._fail("auth")
        state.accept(0, index)
        if state is self._spare:
            self._keep(self._rtcp_sources, state)
        if encrypted:
            self._crypt_rtcp(out, length, index)
        return out[:length]

    # -- helpers ------------------------------------------------------------

    def _fail(self, reason):
        self.failures[reason] += 1
        return None

    def _source(self, sources, packet, offset):
        """The _Replay of the packet's SSRC (at offset); for a new SSRC the
        spare, renewed, which joins sources only by _keep()."""
        high = (packet[offset] << 8) | packet[offset + 1]
        low = (packet[offset + 2] << 8) | packet[offset + 3]
        for position in range(len(sources)):
            state = sources[position]
            if state.ssrc_high == high and state.ssrc_low == low:
                if position:
                    sources.pop(position)
                    sources.insert(0, state)
                return state
        state = self._spare
        state.renew(high, low)
        return state

    def _keep(self, sources, state):
        """The spare, now an authenticated source, joins sources first; the
        least recently seen one makes room and becomes the spare."""
        self._spare = sources.pop() if len(sources) >= MAX_SOURCES else _Replay()
        sources.insert(0, state)

    def _rtp_counters(self, packet, start, end, roc, sequence):
        """The counter blocks for packet[start:end] of an SRTP packet
        (4.1.1) and the ROC octets the tag covers (4.2): how many blocks."""
        blocks = (end - start + 15) // 16
        salt = self._rtp.salt
        _rtp_counters(self._counters.view, salt, packet, roc, sequence, blocks, self._roc_bytes)
        return blocks

    def _crypt_rtcp(self, packet, end, index):
        """XOR the SRTCP keystream over packet[8:end] (4.1.1, 3.4): the
        sender's SSRC is octets 4-7 of the packet, the index 31 bits."""
        iv = self._iv
        iv[0:SALT_BYTES] = self._rtcp.salt
        for position in range(4):
            iv[4 + position] ^= packet[4 + position]
            iv[10 + position] ^= (index >> (24 - 8 * position)) & 0xFF
        blocks = (end - RTCP_HEADER + 15) // 16
        _fill_counters(self._counters.view, iv, blocks)
        self._apply(self._rtcp.cipher, packet, RTCP_HEADER, end, blocks)

    def _apply(self, cipher, packet, start, end, blocks):
        """XOR the keystream of the counter blocks over packet[start:end]."""
        if blocks:
            keystream = self._keystream.head(16 * blocks)
            cipher.encrypt(self._counters.head(16 * blocks), keystream)
            _xor_into(packet, start, keystream, end - start)


def _payload_start(packet, length):
    """Octets before the payload (header, CSRCs, extension), or -1."""
    if length < RTP_HEADER or packet[0] >> 6 != 2:
        return -1
    start = RTP_HEADER + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:  # extension (RFC 3550 5.3.1)
        if start + 4 > length:
            return -1
        start += 4 + 4 * ((packet[start + 2] << 8) | packet[start + 3])
    return start if start <= length else -1


def _guess_roc(state, sequence):
    """RFC 3711 3.3.1 / appendix A: the ROC a received sequence number
    belongs to, from s_l and the ROC of the highest one. There is no ROC
    before 0: while it is 0, a number more than 2**15 ahead of s_l is a
    jump forward, not the previous cycle (libsrtp guesses the same)."""
    if not state.started:
        return 0
    roc = state.roc
    highest = state.highest
    if highest < 0x8000:
        if sequence - highest > 0x8000 and roc > 0:
            return roc - 1
        return roc
    if highest - 0x8000 > sequence:
        return roc + 1
    return roc
