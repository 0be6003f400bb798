"""Where the emulated Pico W's cycles go: the door's or the test code's,
and, with a profile, which Python function and which C function.

    symbols = FirmwareSymbols(firmware_elf)          # arm-none-eabi-nm
    options = attribution_options(symbols, test_irqs=(21,), profile=False)
    EmulatedPico(..., attribution=options)          # runner.mjs --attribute
    print(profile_report(profile_event["frames"], symbols))

The runner (attribution.mjs) keeps the cycles per frame key: a frozen
function's bytecode address (named from the firmware's fun_data_<module>_
<function> symbols), a RAM address (test code: the image's boot.py and
stand-ins, compiled on the board), "irqN" (interrupt N; -2 is PendSV, -1
SysTick) or "none" (C outside any Python frame).

`python -m host_tools.rp2040.profile [--archive A.tar.gz]` runs the emulated
call (host_tools/rp2040/call.py) with a profile and prints, for the idle
registered door, the call's talk and the rest of the call (codes, door,
hang-up), the busy share, the wake-ups and the functions that spent the
cycles.
"""

import argparse
import bisect
import collections
import pathlib
import subprocess
import sys
import tempfile

RAM_START = 0x20000000
FROZEN_BYTECODE_PREFIX = "fun_data_"


class FirmwareSymbols:
    def __init__(self, elf):
        listing = subprocess.run(
            ["arm-none-eabi-nm", "-n", str(elf)], capture_output=True, text=True, check=True
        ).stdout
        self._functions = []  # (address, name), sorted
        self._bytecode = []
        self._by_name = {}
        for line in listing.splitlines():
            parts = line.split()
            if len(parts) != 3:
                continue
            address, kind, name = int(parts[0], 16), parts[1], parts[2]
            self._by_name.setdefault(name, address)
            if kind in "tTwW":
                self._functions.append((address, name))
            elif name.startswith(FROZEN_BYTECODE_PREFIX):
                self._bytecode.append((address, name[len(FROZEN_BYTECODE_PREFIX) :]))
        self._function_addresses = [address for address, _ in self._functions]
        self._bytecode_addresses = [address for address, _ in self._bytecode]
        self._heap_start = self._by_name["__bss_end__"]  # the MicroPython heap follows

    def address(self, name):
        return self._by_name[name]

    def function(self, pc):
        """The C function (or veneer) holding pc, or native code compiled into
        the heap (the stand-ins' viper functions)."""
        if pc >= self._heap_start:
            return "native code in the heap"
        index = bisect.bisect_right(self._function_addresses, pc) - 1
        return self._functions[index][1] if index >= 0 else hex(pc)

    def frame(self, key):
        """The Python function a frame key names ("test code" for RAM)."""
        if not key.isdigit():
            return key
        address = int(key)
        if address >= RAM_START:
            return "test code"
        index = bisect.bisect_right(self._bytecode_addresses, address) - 1
        return self._bytecode[index][1] if index >= 0 else hex(address)


def attribution_options(symbols, test_irqs=(), profile=False):
    return {
        "funBcCall": symbols.address("fun_bc_call"),
        "executeBytecode": symbols.address("mp_execute_bytecode"),
        "iobaseIoctl": symbols.address("iobase_ioctl"),
        "testIrqs": list(test_irqs),
        "profile": profile,
    }


def profile_report(frames, symbols, top_frames=25, top_functions=6):
    """Text lines: each Python function's share of the cycles (C it calls
    included) and its busiest C functions."""
    by_frame = collections.defaultdict(collections.Counter)
    for key, by_pc in frames.items():
        name = symbols.frame(key)
        for pc, cycles in by_pc.items():
            by_frame[name][symbols.function(int(pc))] += cycles
    total = sum(sum(counter.values()) for counter in by_frame.values()) or 1
    ranked = sorted(by_frame.items(), key=lambda item: -sum(item[1].values()))
    lines = []
    for name, functions in ranked[:top_frames]:
        cycles = sum(functions.values())
        inside = ", ".join(
            "%s %.0f%%" % (function, 100 * spent / cycles)
            for function, spent in functions.most_common(top_functions)
        )
        lines.append("%5.1f%%  %s: %s" % (100 * cycles / total, name, inside))
    return lines


def window_report(name, window, frames, symbols, clk_sys):
    """window: host_tools.rp2040.call.cpu_window of two marks."""
    lines = [
        "## %s: %.2f emulated s" % (name, window["ms"] / 1000),
        "busy %.1f %% of %d MHz: door %.1f %%, test code %.1f %%; %.0f wake-ups/s, "
        "%.0f cycles per wake-up"
        % (
            100 * window["busy_share"],
            clk_sys // 1000000,
            100 * window["door_share"],
            100 * window["test_share"],
            window["wakeups_per_s"],
            window["cycles_per_wakeup"],
        ),
    ]
    return lines + profile_report(frames, symbols)


def main(argv=None):
    from host_tools.pico_firmware.build import build_firmware
    from host_tools.rp2040.call import IMAGE, cpu_window, image_files, run_call

    parser = argparse.ArgumentParser(prog="python -m host_tools.rp2040.profile")
    parser.add_argument("--archive", help="MicroPython source archive (default: clone the tag)")
    arguments = parser.parse_args(argv)
    root = pathlib.Path(__file__).resolve().parents[2]
    with open(root / "build" / "pico-build.log", "w") as log:
        firmware = build_firmware(
            root / "build" / "pico", root / "build" / "firmware", arguments.archive, log=log
        )
    symbols = FirmwareSymbols(firmware.elf)
    with tempfile.TemporaryDirectory() as folder:
        result = run_call(firmware.bin, folder, image_files(IMAGE), profile=True)
    marks = result.marks
    for name, start, end in (
        ("idle, registered", "registered", "idle"),
        ("call: talk, before the first code", "answered", "talked"),
        ("call: the codes, the door opening, the hang-up", "talked", "ended"),
    ):
        window = cpu_window(marks[start], marks[end])
        frames = marks[end]["frames"]
        print("\n".join(window_report(name, window, frames, symbols, marks[end]["clk_sys"])))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
