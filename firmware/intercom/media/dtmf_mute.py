# Keeps DTMF tones off the door's speaker: the resident's phone may send the
# door code as tones in its audio (no telephone-event negotiated), or send
# RFC 4733 events and leave the tones in the audio too; played on the door's
# speaker they would give the code to whoever stands at the door.
#
# Public API
#
#   DtmfMute(frame_samples, detector, lookahead_samples, silence=None)
#       detector: an InbandDtmfDetector (shared with the caller, which reads
#       its digits); lookahead_samples: how far the speaker runs behind the
#       detector (at most one frame; see "Onset" below); silence: a frame
#       of zeros to play for a muted frame, which nobody writes (the
#       station's, shared: one frame less of a Pico W's heap); None: its
#       own.
#     .play(pcm, detect, mute_frame) -> bytearray   the frame for the speaker
#         pcm: the next frame of received audio (frame_samples, s16le; may be
#         silenced in place when there is no lookahead). detect: feed it to
#         the detector (the caller decides when detection runs). mute_frame:
#         an out-of-band event (RFC 4733, SIP INFO) is in progress: the
#         whole frame is silence. The result is valid until the next call.
#     .muted        samples silenced so far (masked to 30 bits)
#
# Rules (what the speaker plays, sample by sample):
#   mute_frame                         -> silence, the whole frame
#   a detector block hit a digit       -> silence from one block before that
#                                         block (a tone whose start did not
#                                         fill its block) to one block after
#                                         the last block of the run (its tail)
#   otherwise                          -> the received audio
# Onset: a block is known to hit only once it is complete. With a lookahead
# of L samples the speaker plays the audio L samples after the detector saw
# it, so a tone's first samples can still be silenced: at most
# 1.75 blocks - L of a tone's onset reach the speaker (a block with at least
# a quarter of silence before the tone may not hit). 80 samples (10 ms)
# keep that under one block (12.75 ms); 0 leaves the timing to the caller.
#
# Positions are counted in samples relative to the end of the audio fed so
# far (<= 0): each frame moves every position back by frame_samples.
# Nothing is allocated per frame except while samples are being silenced.

from intercom.compat import const
from intercom.media.dtmf_inband import BLOCK, BLOCKS_MASK

_NONE = const(-(1 << 20))  # a position far enough back to mean "no range"
_MUTED_MASK = const(0x3FFFFFFF)


class DtmfMute:
    def __init__(self, frame_samples, detector, lookahead_samples, silence=None):
        if not 0 <= lookahead_samples <= frame_samples:
            raise ValueError("lookahead must be 0..frame_samples")
        if silence is None:
            silence = bytearray(2 * frame_samples)
        elif len(silence) != 2 * frame_samples or any(silence):
            raise ValueError("silence must be a frame of zeros")
        self._frame = frame_samples
        self._detector = detector
        self._lookahead = lookahead_samples
        self._blocks = detector.blocks
        self._mute_start = _NONE
        self._mute_end = _NONE
        self._silence = silence
        self.muted = 0
        self._line = None
        if lookahead_samples:
            # line = [older: lookahead][newest frame]; the speaker plays its
            # first frame_samples, then the last lookahead move to the front:
            # (where a frame goes in, what plays, what moves, where to, the
            # speaker's frame).
            frame_bytes = 2 * frame_samples
            ahead_bytes = 2 * lookahead_samples
            line = memoryview(bytearray(frame_bytes + ahead_bytes))
            self._line = (
                line[ahead_bytes:],
                line[:frame_bytes],
                line[frame_bytes:],
                line[:ahead_bytes],
                bytearray(frame_bytes),
            )

    def play(self, pcm, detect, mute_frame):
        if not (detect or mute_frame or self._line is not None or self._mute_end > _NONE):
            return pcm  # nothing to do: the frame path between key presses
        # Apart: MicroPython allocates a call's frame from the heap at every
        # call when it exceeds 11 words, whichever way the call returns.
        return self._play(pcm, detect, mute_frame)

    def _play(self, pcm, detect, mute_frame):
        frame = self._frame
        if self._mute_end > _NONE:
            self._mute_start = max(self._mute_start - frame, _NONE)
            self._mute_end = max(self._mute_end - frame, _NONE)
        if detect:
            self._detector.feed(pcm)
            self._mark_tones()
        else:
            self._blocks = self._detector.blocks
        out = pcm
        line = self._line
        if line is not None:
            frame_in, frame_out, keep_from, keep_to, out = line
            frame_in[:] = pcm
            out[:] = frame_out
            keep_to[:] = keep_from
        if mute_frame:
            self._count(frame)
            return self._silence
        # The speaker plays fed positions [-frame - lookahead, -lookahead).
        first = -frame - self._lookahead
        start = self._mute_start if self._mute_start > first else first
        end = self._mute_end if self._mute_end < -self._lookahead else -self._lookahead
        if start < end:
            offset = 2 * (start - first)
            length = 2 * (end - start)
            memoryview(out)[offset : offset + length] = bytes(length)
            self._count(end - start)
        return out

    def _mark_tones(self):
        detector = self._detector
        new = (detector.blocks - self._blocks) & BLOCKS_MASK
        self._blocks = detector.blocks
        tones = detector.tone_blocks
        partial = detector.partial_samples
        index = new - 1
        while index >= 0:  # oldest block first
            if (tones >> index) & 1:
                block_end = -(partial + index * BLOCK)
                block_start = block_end - BLOCK
                if self._mute_end < block_start:  # a new run: look one block back
                    self._mute_start = block_start - BLOCK
                if self._mute_end < block_end + BLOCK:
                    self._mute_end = block_end + BLOCK
            index -= 1

    def _count(self, samples):
        self.muted = (self.muted + samples) & _MUTED_MASK
