# MicroPython script: the viper and the plain filter paths of
# intercom.media.dtmf_inband give identical filter states and digits.
#
#   MICROPYPATH=firmware micropython tests/core/inband_paths.py PCM_FILE
#
# Feeds the file (16-bit little-endian PCM) to one detector per path in
# chunks of varying size and prints, per path: "<path> <blocks> <checksum
# of every block's filter states and energy> <digits>".

import sys

from intercom.media.dtmf_inband import InbandDtmfDetector


class Recorder:
    def __init__(self, fast):
        self.detector = InbandDtmfDetector(fast=fast)
        self.checksum = 0
        self.original = self.detector._block_done
        self.detector._block_done = self.block_done

    def block_done(self, energy):
        total = int(energy)
        for position, value in enumerate(self.detector._ends):
            total += (position + 1) * value
        self.checksum = (self.checksum * 31 + total) & 0x3FFFFFFF
        self.original(energy)


def main(path):
    with open(path, "rb") as source:
        data = source.read()
    for fast in (True, False):
        recorder = Recorder(fast)
        index = 0
        size = 1
        while index < len(data):
            recorder.detector.feed(memoryview(data)[index : index + 2 * size])
            index += 2 * size
            size = size * 7 % 401 + 1  # 1..401 samples, in an irregular order
        digits = ""
        digit = recorder.detector.next_digit()
        while digit is not None:
            digits += digit
            digit = recorder.detector.next_digit()
        print(recorder.detector.path, recorder.detector.blocks, recorder.checksum, digits)


main(sys.argv[1])
