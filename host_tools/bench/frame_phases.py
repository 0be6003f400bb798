# Where our door's 20 ms frames go: runs in the door's process, under CPython
# or the MicroPython unix port, in place of its entry, and times the
# functions of the 20 ms path with wrappers (an instrumented run, not a
# sampling one; host_tools/bench/profile_door.py runs it and reports).
#
#   CPython:      cd FOLDER && python frame_phases.py run -c door.toml --log json
#                 (PYTHONPATH with firmware/; the arguments go to `intercom`)
#   MicroPython:  cd FOLDER_WITH_CONFIG_JSON &&
#                 MICROPYPATH=FIRMWARE micropython frame_phases.py
#
# Every wrapped function adds its exclusive time (its own, minus that of the
# wrapped functions it calls) to its phase: PHASES lists the phases and the
# functions that make each. Time is wall time, perf_counter_ns on CPython and
# ticks_us on MicroPython (1 µs steps: over a thousand frames the rounding
# averages out); poll()'s time is asleep, so its phase is kept apart as
# POLL. On CPython, cyclic garbage collection gets its own phase
# (gc.callbacks); on MicroPython a collection runs inside the allocation that
# triggers it and counts in that function's phase.
#
# The window: once the station is talking, SETTLE_FRAMES audio frames pass,
# then every total is zeroed and "bench-frames-start" is written on stderr;
# WINDOW_FRAMES frames later (or BENCH_WINDOW_FRAMES from the environment)
# one line is written:
#   bench-frames {"frames": N, "kept": K, "kept_cpu": cpu, "unit_ns": 1 or
#                 1000, "phases": {name: {"time": t, "calls": n}},
#                 "wrapper_cost": time per wrapped call}
# (times in units of unit_ns). Frames are booked in groups of GROUP_FRAMES
# (1 on CPython, whose process_time_ns counts nanoseconds; 50 on
# MicroPython, whose clock() counts milliseconds): a group whose wall time
# in the phases exceeds the CPU the process spent over it (poll's kernel
# side and the wake-ups included) was preempted by another process and is
# left out; "time" sums the K frames kept, "kept_cpu" is their CPU, "calls"
# counts all N frames. wrapper_cost is measured here at start: a wrapped
# no-op against the plain no-op; most of a wrapper's cost lands in its
# caller's phase.
#
# The wrappers take fixed argument counts (no *args) and bind what they wrap
# as default arguments: no tuple or closure copy on MicroPython. A function
# whose frame is larger than the VM keeps on the C stack (11 words: a
# wrapper of four or five arguments) still has its frame allocated from the
# heap at each call on MicroPython, and so has the door's garbage collected
# more often while instrumented: profile_door.py reports the CPU the
# instrumentation adds, against a plain door's.

import os
import sys
import time

try:
    import gc

    gc_callbacks = gc.callbacks  # CPython
except AttributeError:  # MicroPython: no collection hooks
    gc_callbacks = None

if hasattr(time, "perf_counter_ns"):
    from operator import sub as elapsed_between

    clock = time.perf_counter_ns
    cpu_clock = time.process_time_ns
    UNIT_NS = 1
    GROUP_FRAMES = 1  # process_time_ns counts nanoseconds: each frame on its own
else:  # MicroPython (unix port): ticks_us, and clock() in float seconds
    clock = time.ticks_us  # pyright: ignore[reportAttributeAccessIssue]
    UNIT_NS = 1000
    GROUP_FRAMES = 50  # clock() counts whole milliseconds: a second at a time

    def elapsed_between(later, earlier):
        return time.ticks_diff(later, earlier)  # pyright: ignore[reportAttributeAccessIssue]

    def cpu_clock():
        return int(time.clock() * 1000000)  # pyright: ignore[reportAttributeAccessIssue]


SETTLE_FRAMES = 150  # 3 s: the jitter buffer and the peer have settled
WINDOW_FRAMES = 1500  # 30 s
START_LINE = "bench-frames-start"
REPORT_PREFIX = "bench-frames "
POLL = "poll (asleep, not CPU)"
GC = "garbage collection (CPython)"
CALIBRATION_CALLS = 1000
CALIBRATION_ROUNDS = 7
MAX_DEPTH = 64

# phase -> [(module, class, method, argument count including self)]; the
# MediaSession's codec functions are wrapped through session._CODECS.
PHASES = (
    ("loop: wake-up, dispatch, timer list", [("boards.runtime.loop", "Loop", "run_once", 1)]),
    (
        "runtime: frame glue",
        [
            ("boards.runtime.runtime", "Runtime", "_audio_tick", 1),
            ("boards.runtime.runtime", "Runtime", "exchange_audio", 2),
        ],
    ),
    ("receive (recvfrom, until drained)", [("boards.runtime.udp", "UdpSocket", "receive", 2)]),
    ("RTP parse and source check", [("intercom.media.rtp", "RtpReceiver", "receive", 3)]),
    ("RTCP reception statistics", [("intercom.media.rtcp", "RtcpSession", "rtp_received", 3)]),
    ("jitter buffer put", [("intercom.media.jitter", "JitterBuffer", "put", 5)]),
    ("jitter buffer get", [("intercom.media.jitter", "JitterBuffer", "get", 2)]),
    ("PLC history (Concealer.recover)", [("intercom.media.plc", "Concealer", "recover", 2)]),
    (
        "speaker: DTMF mute delay line (DtmfMute.play)",
        [("intercom.media.dtmf_mute", "DtmfMute", "play", 4)],
    ),
    ("decode (G.711)", []),
    ("encode (G.711)", []),
    ("RTP header", [("intercom.media.rtp", "RtpSender", "packet", 2)]),
    (
        "media session glue",
        [
            ("intercom.media.session", "MediaSession", "receive_rtp", 4),
            ("intercom.media.session", "MediaSession", "send_frame", 3),
            ("intercom.media.session", "MediaSession", "play_frame", 2),
        ],
    ),
    (
        "station: frame logic",
        [
            ("intercom.app.station", "Station", "receive_rtp", 4),
            ("intercom.app.station", "Station", "audio_frame", 3),
        ],
    ),
    ("send (sendto)", [("boards.runtime.udp", "UdpSocket", "sendto", 3)]),
    ("capture (WAV read)", [("boards.sim.board", "SimBoard", "read_mic_frame", 2)]),
    ("playout (WAV write)", [("boards.sim.board", "SimBoard", "play_frame", 2)]),
    ("flush, media fast path", [("boards.runtime.runtime", "Runtime", "_flush_media", 2)]),
    ("flush, full", [("boards.runtime.runtime", "Runtime", "flush", 1)]),
    (
        "timers (station.handle_timer)",
        [
            ("boards.runtime.runtime", "Runtime", "_on_timer", 1),
            ("intercom.app.station", "Station", "handle_timer", 3),
        ],
    ),
    (
        "timer recomputation (station.get_timer)",
        [("intercom.app.station", "Station", "get_timer", 1)],
    ),
    ("events (station.next_event)", [("intercom.app.station", "Station", "next_event", 1)]),
    (POLL, []),
    (GC, []),
)
NAMES = [phase[0] for phase in PHASES]
POLL_INDEX = NAMES.index(POLL)
DECODE = NAMES.index("decode (G.711)")
ENCODE = NAMES.index("encode (G.711)")

totals = [0] * len(NAMES)  # the current group's time per phase
counts = [0] * len(NAMES)  # the window's calls per phase
child = [0] * MAX_DEPTH  # time of wrapped callees, per open call
depth = [0]


def reset():
    for index in range(len(NAMES)):
        totals[index] = 0
        counts[index] = 0


def _done(index, level, started):
    """Book one wrapped call of phase index that ran at level since started."""
    spent = elapsed_between(clock(), started)
    depth[0] = level - 1
    totals[index] += spent - child[level]
    counts[index] += 1
    child[level - 1] += spent


def _enter():
    level = depth[0] + 1
    depth[0] = level
    child[level] = 0
    return level


def wrapped(index, function, arguments):
    """function, timed into phase index; it takes `arguments` arguments.
    index and function are default arguments, not captured names: a
    MicroPython closure copies its captured names and arguments to the heap
    when they are more than five. No try/finally (a bigger frame): a call
    that raises is not booked, and the next call booked at an outer level
    puts the depth right again."""
    if arguments == 1:

        def wrapper(a, index=index, function=function):
            level = _enter()
            started = clock()
            result = function(a)
            _done(index, level, started)
            return result

    elif arguments == 2:

        def wrapper(a, b, index=index, function=function):
            level = _enter()
            started = clock()
            result = function(a, b)
            _done(index, level, started)
            return result

    elif arguments == 3:

        def wrapper(a, b, c, index=index, function=function):
            level = _enter()
            started = clock()
            result = function(a, b, c)
            _done(index, level, started)
            return result

    elif arguments == 4:

        def wrapper(a, b, c, d, index=index, function=function):
            level = _enter()
            started = clock()
            result = function(a, b, c, d)
            _done(index, level, started)
            return result

    elif arguments == 5:

        def wrapper(a, b, c, d, e, index=index, function=function):
            level = _enter()
            started = clock()
            result = function(a, b, c, d, e)
            _done(index, level, started)
            return result

    else:
        raise ValueError("no wrapper for %d arguments" % arguments)
    return wrapper


class TimedPoll:
    """The loop's poll object: register() and unregister() as they are, and
    `wait`, the loop's wait for ready sources (ipoll on MicroPython, poll on
    CPython, as Loop picks it), timed into POLL (time asleep)."""

    def __init__(self, poll, wait):
        self._poll = poll
        self.wait = wrapped(POLL_INDEX, wait, 1)

    def register(self, source, events):
        self._poll.register(source, events)

    def unregister(self, source):
        self._poll.unregister(source)


class Window:
    """Counts audio frames, opens the measured window, keeps the groups of
    GROUP_FRAMES frames that ran unpreempted and reports when it closes."""

    def __init__(self):
        self.talking_frames = 0
        self.recorded = -1  # -1: not open yet
        wanted = int(os.getenv("BENCH_WINDOW_FRAMES") or WINDOW_FRAMES)
        self.window_frames = max(GROUP_FRAMES, wanted // GROUP_FRAMES * GROUP_FRAMES)
        self.kept = 0
        self.kept_totals = [0] * len(NAMES)
        self.kept_cpu = 0
        self.cpu_mark = 0
        self.wrapper_cost = calibrate()

    def frame(self, runtime):
        if self.recorded < 0:
            if runtime.station.state == "talking":
                self.talking_frames += 1
                if self.talking_frames == SETTLE_FRAMES:
                    reset()
                    self.cpu_mark = cpu_clock()
                    self.recorded = 0
                    sys.stderr.write(START_LINE + "\n")
        elif self.recorded < self.window_frames:
            self.recorded += 1
            if self.recorded % GROUP_FRAMES == 0:
                self.book_group()
            if self.recorded == self.window_frames:
                self.report()

    def book_group(self):
        """Adds the group's phases to the window's unless their wall time
        exceeds the CPU the process spent over the group (poll's sleep and
        wake-up included): then another process had the CPU in the middle
        of it, and its wall times are not its work."""
        now = cpu_clock()
        cpu = now - self.cpu_mark
        self.cpu_mark = now
        wall = 0
        for index in range(len(NAMES)):
            if index != POLL_INDEX:
                wall += totals[index]
        if wall <= cpu:
            self.kept += GROUP_FRAMES
            self.kept_cpu += cpu
            for index in range(len(NAMES)):
                self.kept_totals[index] += totals[index]
        for index in range(len(NAMES)):
            totals[index] = 0

    def report(self):
        import json

        phases = {}
        for index in range(len(NAMES)):
            phases[NAMES[index]] = {"time": self.kept_totals[index], "calls": counts[index]}
        figures = {
            "frames": self.recorded,
            "kept": self.kept,
            "kept_cpu": self.kept_cpu,
            "unit_ns": UNIT_NS,
            "phases": phases,
            "wrapper_cost": self.wrapper_cost,
        }
        sys.stderr.write(REPORT_PREFIX + json.dumps(figures) + "\n")


def calibrate():
    """Time units one wrapped call adds: a wrapped no-op against the no-op,
    the fastest of CALIBRATION_ROUNDS rounds of each (a round that another
    process interrupted is slower, never faster)."""

    def noop(a):
        return a

    timed = wrapped(len(NAMES) - 1, noop, 1)
    plain = wrapped_time = None
    for _ in range(CALIBRATION_ROUNDS):
        started = clock()
        for _ in range(CALIBRATION_CALLS):
            noop(0)
        spent = elapsed_between(clock(), started)
        plain = spent if plain is None else min(plain, spent)
        started = clock()
        for _ in range(CALIBRATION_CALLS):
            timed(0)
        spent = elapsed_between(clock(), started)
        wrapped_time = spent if wrapped_time is None else min(wrapped_time, spent)
    reset()
    return (wrapped_time - plain) / CALIBRATION_CALLS


def install():
    """Wrap every function of PHASES (import them first) and the loop's poll."""
    window = Window()
    for index in range(len(PHASES)):
        for module_name, class_name, method, arguments in PHASES[index][1]:
            __import__(module_name)
            owner = getattr(sys.modules[module_name], class_name)
            setattr(owner, method, wrapped(index, getattr(owner, method), arguments))
    from boards.runtime import loop, runtime
    from intercom.media import session

    for codec in list(session._CODECS):
        encode, decode = session._CODECS[codec]
        session._CODECS[codec] = (wrapped(ENCODE, encode, 2), wrapped(DECODE, decode, 2))

    timed_tick = runtime.Runtime._audio_tick

    def audio_tick(runtime_object):
        timed_tick(runtime_object)
        window.frame(runtime_object)

    runtime.Runtime._audio_tick = audio_tick

    class TimedLoop(loop.Loop):
        def __init__(self, clock=None):
            super().__init__(clock)
            self._poll = TimedPoll(self._poll, self._poll_ready)
            self._poll_ready = self._poll.wait

    runtime.Loop = TimedLoop  # Runtime() builds its loop from this name
    if gc_callbacks is not None:
        gc_callbacks.append(collection_timer())


def collection_timer():
    """A gc.callbacks entry that books collections into GC, outside the
    phase they interrupted."""
    index = NAMES.index(GC)
    started = [0]

    def on_collection(phase, info):
        if phase == "start":
            started[0] = clock()
            return
        spent = elapsed_between(clock(), started[0])
        totals[index] += spent
        counts[index] += 1
        child[depth[0]] += spent

    return on_collection


def run():
    install()
    if sys.implementation.name == "micropython":
        import main  # noqa: F401  (runs the door; main.py ends in sys.exit)
    else:
        import runpy

        sys.argv = ["intercom"] + sys.argv[1:]
        runpy.run_module("intercom", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    run()
