# python -m host_tools.bench.profile_door [--quick]   (also `make bench`'s
# section "frame")
#
# Where a 20 ms frame of our door's call goes, under CPython and under the
# MicroPython unix port: the call of the call benchmark (our sim door calling
# a baresip whose player is paced by paced_pcm.c, PCMU both ways, RFC 4733
# negotiated), each view from its own call so that no tool disturbs
# another's figures:
#
#   phases     frame_phases.py runs in the door and times the functions of
#              the 20 ms path (exclusive wall time per phase over
#              frame_phases.WINDOW_FRAMES frames once the call has settled,
#              frames another process preempted left out); the same window
#              of a plain door (no instrumentation) in the call before gives
#              the CPU the instrumentation adds (/proc/PID/task/*/schedstat)
#   syscalls   strace -c -f attached to the door and to the baresip it
#              called for TOOL_S seconds: system calls per frame
#   callgrind  the door (and the baresip) under valgrind --tool=callgrind,
#              instrumentation switched on (callgrind_control -i on) for
#              TOOL_S seconds of the call and dumped: user-space instructions
#              per frame, repeatable whatever the machine's load; the door
#              keeps real time under callgrind (about 10 % of a core) unless
#              the machine is very busy, and then counts the frames it ran
#
# Frames: the door's phases count them; callgrind's are the door's sendto
# calls (one RTP packet per frame, plus an RTCP report every ~5 s); strace's
# are the window's length / 20 ms.
# Debian packages: those of call.py, strace, valgrind.

import argparse
import json
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from host_tools.bench import call, frame_phases
from host_tools.bench.callgrind_file import read_profile
from host_tools.bench.timing import markdown_table
from host_tools.processes import stop_process

SECTION = "Where a 20 ms frame goes: our door"

FRAME_MS = 20
SETTLE_S = 3  # after the answer, before any tool looks
TOOL_S = 10  # strace and callgrind windows
REPORT_TIMEOUT_S = 120
PHASES_SCRIPT = pathlib.Path(frame_phases.__file__).resolve()
# The instrumented MicroPython door's heap: the call benchmark's plain door
# needs 400 KiB; the wrappers and frame_phases.py (compiled from source in
# the heap) need more: 448 KiB stopped being enough with SIP over TCP, 512
# KiB with session timers, transfer and the voicemail (a MemoryError while
# the door imported its config file).
MP_HEAP_KIB = 640
TOP_FUNCTIONS = 8
# (row, CPython functions, MicroPython functions, inclusive?): instructions
# per frame of C entry points; inclusive rows count what they call as well
# (so rows overlap: recvfrom's allocations are also allocation).
CALLGRIND_ROWS = (
    ("the loop's poll() (user side)", ["select_poll_poll"], ["poll_poll"], True),
    ("asking a socket before a read (ipoll)", [], ["poll_ipoll"], True),
    ("recvfrom (with its exception or allocations)", ["sock_recvfrom"], ["socket_recvfrom"], True),
    ("sendto", ["sock_sendto"], ["socket_sendto"], True),
    ("G.711 encode and decode", ["ulaw_encode_into", "ulaw_decode_into"], ["fun_viper_call"], True),
    ("garbage collection", ["gc_collect_main"], ["gc_collect"], True),
    (
        "allocator's own instructions",
        ["_PyObject_Malloc", "_PyObject_Free", "PyObject_Malloc", "PyObject_Free"],
        ["gc_alloc", "gc_free", "m_malloc", "m_free"],
        False,
    ),
)


def ensure_tools():
    call.ensure_packages()
    missing = [tool for tool in ("strace", "valgrind") if not shutil.which(tool)]
    if missing:
        raise RuntimeError(
            "%s missing: install the Debian packages (make setup)" % " and ".join(missing)
        )


# -- the doors ----------------------------------------------------------------------------


class PhasedDoor(call.Door):
    """The CPython door run through frame_phases.py, its window
    window_frames frames."""

    def __init__(self, folder, target, source_wav, call_s, window_frames):
        call.Door.__init__(self, folder, target, source_wav, call_s)
        self.window_frames = window_frames

    def command(self):
        _, environment = call.Door.command(self)
        environment["BENCH_WINDOW_FRAMES"] = str(self.window_frames)
        script = [sys.executable, str(PHASES_SCRIPT)]
        return script + ["run", "-c", "door.toml", "--log", "json"], environment


class PhasedMicroPythonDoor(call.MicroPythonDoor):
    """The MicroPython door run through frame_phases.py, its window
    window_frames frames."""

    def __init__(self, folder, target, source_wav, call_s, mpy_folder, heap_kib, window_frames):
        call.MicroPythonDoor.__init__(
            self, folder, target, source_wav, call_s, mpy_folder, heap_kib
        )
        self.window_frames = window_frames

    def command(self):
        argv, environment = call.MicroPythonDoor.command(self)
        environment["BENCH_WINDOW_FRAMES"] = str(self.window_frames)
        shutil.copy(PHASES_SCRIPT, self.folder / PHASES_SCRIPT.name)
        return argv[:-1] + [PHASES_SCRIPT.name], environment


def under_callgrind(argv, folder):
    """argv under callgrind, instrumentation off until callgrind_control."""
    return [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--callgrind-out-file=%s" % (folder / "callgrind.out"),
    ] + argv


class CallgrindDoor(call.Door):
    def command(self):
        argv, environment = call.Door.command(self)
        return under_callgrind(argv, self.folder), environment


class CallgrindMicroPythonDoor(call.MicroPythonDoor):
    def command(self):
        argv, environment = call.MicroPythonDoor.command(self)
        return under_callgrind(argv, self.folder), environment


class CallgrindBaresip(call.Baresip):
    def argv(self):
        return under_callgrind(call.Baresip.argv(self), self.folder)


# -- the windows ----------------------------------------------------------------------------


def stderr_line(door, prefix, timeout_s=REPORT_TIMEOUT_S):
    """The first line of the door's stderr that starts with prefix."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in door.stderr_path.read_text(errors="replace").splitlines():
            if line.startswith(prefix):
                return line
        if door.process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError("the door wrote no %r line" % prefix)


def door_cpu(door):
    """CPU seconds the door's threads have run, to the nanosecond: the first
    field of /proc/PID/task/*/schedstat (/proc/PID/stat counts in 10 ms
    ticks, too coarse for a few seconds of a process that mostly sleeps)."""
    total = 0
    for path in pathlib.Path("/proc/%d/task" % door.process.pid).glob("*/schedstat"):
        try:
            total += int(path.read_text().split()[0])
        except (OSError, IndexError, ValueError):  # the thread ended meanwhile
            continue
    return total / 1e9


def plain_window(frames):
    """The door's CPU s per frame over frames frames once settled."""

    def window(door, flat, call_s):
        time.sleep(SETTLE_S)
        before = door_cpu(door)
        time.sleep(frames * FRAME_MS / 1000.0)
        return (door_cpu(door) - before) / frames

    return window


def phased_window(door, flat, call_s):
    """(frame_phases report, door CPU s per frame over its window)."""
    stderr_line(door, frame_phases.START_LINE)
    before = door_cpu(door)
    line = stderr_line(door, frame_phases.REPORT_PREFIX)
    cpu = door_cpu(door) - before
    report = json.loads(line[len(frame_phases.REPORT_PREFIX) :])
    return report, cpu / report["frames"]


def callgrind_control(party, *options):
    """Runs callgrind_control with options for the party's valgrind process."""
    command = ["callgrind_control"] + list(options) + [str(party.process.pid)]
    subprocess.run(command, check=True, capture_output=True)


def callgrind_window(tool_s):
    """A window: {"door": CallgrindProfile, "baresip": one or None} of
    tool_s seconds once the call has settled."""

    def window(door, flat, call_s):
        time.sleep(SETTLE_S)
        watched = {"door": door}
        if isinstance(flat, CallgrindBaresip):
            watched["baresip"] = flat
        for party in watched.values():
            callgrind_control(party, "-i", "on")
        time.sleep(tool_s)
        for party in watched.values():
            callgrind_control(party, "-d")
            callgrind_control(party, "-i", "off")
        return {
            name: read_profile(party.folder / "callgrind.out.1") for name, party in watched.items()
        }

    return window


class Tracer:
    """strace -c -f attached to one party's process; its summary on stop."""

    def __init__(self, party):
        self.output = party.folder / "strace.txt"
        self.log_path = party.folder / "strace.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                ["strace", "-c", "-f", "-o", str(self.output), "-p", str(party.process.pid)],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def attached(self):
        return b"attached" in self.log_path.read_bytes()

    def stop(self):
        """SIGINT (strace detaches and writes its summary), then wait."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                stop_process(self.process)


def strace_window(tool_s):
    """A window: {"door": {syscall: (calls, errors) per frame}, "baresip": the
    same} of tool_s seconds once the call has settled."""

    def window(door, flat, call_s):
        time.sleep(SETTLE_S)
        tracers = {}
        try:
            for name, party in (("door", door), ("baresip", flat)):
                tracers[name] = Tracer(party)
            deadline = time.monotonic() + 10
            while not all(tracer.attached() for tracer in tracers.values()):
                if time.monotonic() > deadline:
                    raise RuntimeError("strace did not attach")
                time.sleep(0.02)
            started = time.monotonic()
            time.sleep(tool_s)
            frames = (time.monotonic() - started) * 1000.0 / FRAME_MS
        finally:
            for tracer in tracers.values():  # the first stops counting a few ms early
                tracer.stop()
        return {
            name: {
                syscall: (calls / frames, errors / frames)
                for syscall, (calls, errors) in strace_counts(tracer.output).items()
            }
            for name, tracer in tracers.items()
        }

    return window


def strace_counts(path):
    """{syscall: (calls, errors)} of an `strace -c` summary file."""
    counts = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) < 5 or not fields[0][0].isdigit() or fields[-1] == "total":
            continue
        if len(fields) >= 6:
            calls, errors = int(fields[3]), int(fields[4])
        else:
            calls, errors = int(fields[3]), 0
        counts[fields[-1]] = (calls, errors)
    return counts


# -- the runs -------------------------------------------------------------------------------


def profile_all(phase_frames, tool_s=TOOL_S, heap_kib=MP_HEAP_KIB):
    """Every view of the door's frames: {"phases": {interpreter: (report, CPU
    s per frame)}, "plain": {interpreter: CPU s per frame}, "callgrind":
    {interpreter: {"door": profile[, "baresip": profile]}}, "strace":
    {interpreter: {"door": counts, "baresip": counts}}}."""
    ensure_tools()
    call_s = int(SETTLE_S + max(phase_frames * FRAME_MS / 1000.0, tool_s)) + 2
    results = {"phases": {}, "plain": {}, "callgrind": {}, "strace": {}, "tool_s": tool_s}
    with tempfile.TemporaryDirectory(prefix="bench-frame-") as scratch:
        folder = pathlib.Path(scratch)
        (folder / "mpy").mkdir()
        mpy_folder = call.compile_firmware(folder / "mpy")
        player = call.PacedNullPlayer(call.build_shim(folder))
        doors = {
            "CPython": (call.Door, PhasedDoor, CallgrindDoor, ()),
            "MicroPython": (
                call.MicroPythonDoor,
                PhasedMicroPythonDoor,
                CallgrindMicroPythonDoor,
                (mpy_folder, heap_kib),
            ),
        }
        for interpreter, (plain, phased, callgrind, arguments) in doors.items():
            # each view: its door class, arguments after the door's own, options
            views = (
                ("plain", plain, (), {"window": plain_window(phase_frames)}),
                ("phases", phased, (phase_frames,), {"window": phased_window}),
                (
                    "callgrind",
                    callgrind,
                    (),
                    {
                        "window": callgrind_window(tool_s),
                        "flat_class": CallgrindBaresip if interpreter == "CPython" else None,
                        # under valgrind, on a busy machine, frames run late
                        "audio_slack_s": call_s / 2.0,
                    },
                ),
                ("strace", plain, (), {"window": strace_window(tool_s)}),
            )
            for view, door_class, extra, options in views:
                where = folder / interpreter / view
                where.mkdir(parents=True)
                results[view][interpreter], _ = call.door_vs_baresip(
                    where, player, call_s, door_class, *arguments, *extra, **options
                )
    return results


# -- the report -----------------------------------------------------------------------------


def phase_micros(report, name):
    """µs per frame of a phase over the frames kept (not preempted)."""
    return report["phases"][name]["time"] * report["unit_ns"] / 1000.0 / max(1, report["kept"])


def phase_rows(results):
    """Header and rows of the phase table, each interpreter's columns side by side."""
    interpreters = list(results["phases"])
    names = [name for name in frame_phases.NAMES if name != frame_phases.POLL]
    rows = [[name] for name in names]
    extra = [
        ["**sum of the phases** (wall time in our code)"],
        ["CPU per frame, the same kept frames (the process's own clock)"],
        ["CPU per frame, the whole instrumented window (schedstat)"],
        ["CPU per frame, the same window of a plain door (schedstat)"],
        ["instrumentation: wrapped calls per frame x calibrated cost"],
        ["frames kept (not preempted) / frames"],
        ["wake-ups per frame (poll returns)"],
    ]
    for interpreter in interpreters:
        report, cpu = results["phases"][interpreter]
        frames = report["frames"]
        unit_us = report["unit_ns"] / 1000.0
        total = 0.0
        for row, name in zip(rows, names, strict=True):
            micros = phase_micros(report, name)
            total += micros
            row += ["%.1f" % micros, "%.2f" % (report["phases"][name]["calls"] / frames)]
        wrapped_calls = sum(
            phase["calls"] for name, phase in report["phases"].items() if name != frame_phases.GC
        )
        kept_cpu = report["kept_cpu"] * unit_us / max(1, report["kept"])
        extra[0] += ["**%.1f**" % total, ""]
        extra[1] += ["%.1f" % kept_cpu, ""]
        extra[2] += ["%.1f" % (cpu * 1e6), ""]
        extra[3] += ["%.1f" % (results["plain"][interpreter] * 1e6), ""]
        extra[4] += ["%.1f" % (wrapped_calls / frames * report["wrapper_cost"] * unit_us), ""]
        extra[5] += ["%d / %d" % (report["kept"], frames), ""]
        extra[6] += ["", "%.2f" % (report["phases"][frame_phases.POLL]["calls"] / frames)]
    header = ["phase"]
    for interpreter in interpreters:
        header += ["%s µs/frame" % interpreter, "calls/frame"]
    return header, rows + extra


def syscall_rows(results):
    columns = [
        ("CPython door", results["strace"]["CPython"]["door"]),
        ("MicroPython door", results["strace"]["MicroPython"]["door"]),
        ("baresip (answering the CPython door)", results["strace"]["CPython"]["baresip"]),
    ]
    names = sorted(set().union(*(counts for _, counts in columns)))
    rows = []
    for syscall in names:
        row = [syscall]
        for _, counts in columns:
            calls, errors = counts.get(syscall, (0.0, 0.0))
            row.append("%.2f" % calls + (" (%.2f failed)" % errors if errors >= 0.005 else ""))
        rows.append(row)
    totals = ["**all**"]
    for _, counts in columns:
        totals.append("**%.2f**" % sum(calls for calls, _ in counts.values()))
    rows.append(totals)
    return ["system call"] + [name for name, _ in columns], rows


def callgrind_frames(profile, interpreter):
    """The window's frames: the door's sendto calls (one RTP packet each)."""
    sendto = "sock_sendto" if interpreter == "CPython" else "socket_sendto"
    return max(1, profile.called.get(sendto, 0))


def callgrind_rows(results):
    doors = {name: results["callgrind"][name]["door"] for name in results["callgrind"]}
    frames = {name: callgrind_frames(profile, name) for name, profile in doors.items()}
    baresip = results["callgrind"]["CPython"].get("baresip")
    rows = [
        ["**all user-space instructions**"]
        + ["**%.0f**" % (doors[name].total / frames[name]) for name in doors]
        + ["**%.0f**" % (baresip.total / frames["CPython"]) if baresip else ""]
    ]
    for row_name, cpython, micropython, inclusive in CALLGRIND_ROWS:
        row = [row_name + ("" if inclusive else " (own instructions only)")]
        for name, functions in (("CPython", cpython), ("MicroPython", micropython)):
            profile = doors[name]
            cost = sum(
                profile.inclusive(f) if inclusive else profile.exclusive.get(f, 0)
                for f in functions
            )
            shown = ", ".join(functions) or "-"
            row.append("%.0f (%s)" % (cost / frames[name], shown) if functions else "-")
        row.append("")
        rows.append(row)
    return ["instructions per frame", "CPython door", "MicroPython door", "baresip"], rows


# (row, CPython (callers, callee), MicroPython (callers, callee)): calls per
# frame from the callgrind dumps' call counts; callers None: from anywhere,
# else the callers counted (callgrind names a recursive activation "name'2").
ALLOCATION_ROWS = (
    ("allocations (calls of the allocator)", (None, "_PyObject_Malloc"), (None, "gc_alloc")),
    (
        "call frames allocated from the heap (MicroPython: over 11 words)",
        None,
        (("fun_bc_call", "fun_bc_call'2"), "m_malloc_maybe"),
    ),
)


def allocation_rows(results):
    doors = {name: results["callgrind"][name]["door"] for name in results["callgrind"]}
    rows = []
    for row_name, cpython, micropython in ALLOCATION_ROWS:
        row = [row_name]
        for name, counted in (("CPython", cpython), ("MicroPython", micropython)):
            if counted is None:
                row.append("-")
                continue
            profile = doors[name]
            callers, callee = counted
            if callers is None:
                count = profile.called.get(callee, 0)
                shown = callee
            else:
                count = sum(profile.edges.get((caller, callee), 0) for caller in callers)
                shown = "%s -> %s" % (callers[0], callee)
            row.append("%.2f (%s)" % (count / callgrind_frames(profile, name), shown))
        rows.append(row)
    return ["calls per frame", "CPython door", "MicroPython door"], rows


def top_rows(results):
    rows = []
    parties = [
        ("CPython door", results["callgrind"]["CPython"]["door"], "CPython"),
        ("MicroPython door", results["callgrind"]["MicroPython"]["door"], "MicroPython"),
    ]
    baresip = results["callgrind"]["CPython"].get("baresip")
    if baresip is not None:
        parties.append(("baresip", baresip, "CPython"))
    door_frames = {
        name: callgrind_frames(results["callgrind"][name]["door"], name)
        for name in results["callgrind"]
    }
    for party, profile, interpreter in parties:
        for cost, function in profile.top_exclusive(TOP_FUNCTIONS):
            share = 100.0 * cost / profile.total
            rows.append(
                [party, function, "%.0f" % (cost / door_frames[interpreter]), "%.1f" % share]
            )
    return ["process", "function", "own instructions per frame", "% of the process"], rows


def report(results, phase_frames):
    header, rows = phase_rows(results)
    syscall_header, syscalls = syscall_rows(results)
    callgrind_header, instructions = callgrind_rows(results)
    allocation_header, allocations = allocation_rows(results)
    top_header, top = top_rows(results)
    text = [
        "The call of the call benchmark (our sim door calling baresip, its"
        " player paced by paced_pcm.c; PCMU, 20 ms, both ways, RFC 4733"
        " negotiated), %d s after the answer, one call per view and interpreter"
        " (`python -m host_tools.bench.profile_door`). The MicroPython door runs"
        " from .mpy files with -X heapsize=%d KiB." % (SETTLE_S, MP_HEAP_KIB),
        "",
        "### Phases: time per frame in each part of the 20 ms path",
        "",
        "host_tools/bench/frame_phases.py wraps the functions of the path in the"
        " door's own process and adds up their exclusive wall time (a"
        " function's own, without the wrapped functions it calls;"
        " perf_counter_ns on CPython, ticks_us on MicroPython) over %d frames."
        " Frames in which another process had the CPU (their wall time in the"
        " phases exceeds the process's CPU time over them: each frame on"
        " CPython, groups of 50 on MicroPython, whose clock() counts"
        " milliseconds) are left out. Time asleep in poll() is not in any"
        " phase; its kernel side and the scheduler's work of each wake-up are"
        " the gap between the sum of the phases and the CPU of the same"
        " frames. The first phase after each wake-up (the loop) also pays for"
        " caches gone cold while the door slept; the wrappers' own cost lands"
        " mostly in their callers' phases (the loop, the runtime glue), and"
        " the CPU of a plain door over the same window says what they add in"
        " all. On MicroPython a garbage collection counts in the phase whose"
        " allocation triggered it; on CPython it has its own row." % phase_frames,
        "",
        markdown_table(header, rows),
        "",
        "### System calls per frame (strace -c -f, %d s)" % results["tool_s"],
        "",
        "Attached to the door and to the baresip it called, all threads;"
        " strace slows every call it sees, so these are counts, not times.",
        "",
        markdown_table(syscall_header, syscalls),
        "",
        "### Instructions per frame (callgrind, %d s)" % results["tool_s"],
        "",
        "User-space instructions only (a system call's kernel work is not"
        " counted: baresip makes about seven times our wake-ups), the same"
        " whatever the machine's load. Frames: the door's sendto calls in the"
        " window; the baresip ran under callgrind in the CPython door's call.",
        "",
        markdown_table(callgrind_header, instructions),
        "",
        "Allocations per frame: calls of the allocator from the same dumps. A"
        " MicroPython call whose frame (arguments, locals, value stack, 3"
        " words per try block) exceeds 11 words gets it from the heap at every"
        " call (py/objfun.c, VM_MAX_STATE_ON_STACK): 10-25k cycles each on a"
        " Pico W. Over it in the steady frame path: Station.receive_rtp and"
        " audio_frame (their try/except); off it, the jitter buffer's rare"
        " paths (_misfit, _skippable, _decode_blocks of a partly filled frame).",
        "",
        markdown_table(allocation_header, allocations),
        "",
        markdown_table(top_header, top),
    ]
    return "\n".join(text)


def run(options):
    phase_frames = 250 if options.quick else frame_phases.WINDOW_FRAMES
    return report(profile_all(phase_frames), phase_frames)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m host_tools.bench.profile_door")
    parser.add_argument("--quick", action="store_true", help="a 5 s phase window")
    options = parser.parse_args(argv)
    print(run(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
