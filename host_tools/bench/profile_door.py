# python -m host_tools.bench.profile_door [--seconds S] [--top N]
#
# Where the CPython sim door's CPU goes during a call: the call of the call
# benchmark (our door -> baresip, paced, on 127.0.0.1), with the door run
# under cProfile switched on by SIGUSR1 once the call is answered and off
# (stats dumped) by SIGUSR2 S seconds later, so start-up and hang-up are
# left out. The profiler's clock is process CPU time (time.process_time),
# so time asleep in poll() does not count. Prints the top functions by own
# CPU time (cProfile's tottime) with their share of all profiled CPU time,
# and the same per source file. cProfile adds a cost per Python call,
# so call-heavy functions look bigger than they are; compare the door's
# CPU per call-minute printed here with the benchmark's.

import argparse
import pathlib
import pstats
import signal
import sys
import tempfile
import time

from host_tools.bench import call

WRAPPER = """
import cProfile, runpy, signal, sys, time
profiler = cProfile.Profile(time.process_time)
def start(number, frame):
    profiler.enable()
def stop(number, frame):
    profiler.disable()
    profiler.dump_stats(%r)
signal.signal(signal.SIGUSR1, start)
signal.signal(signal.SIGUSR2, stop)
sys.argv = ["intercom", "run", "-c", "door.toml", "--log", "json"]
runpy.run_module("intercom", run_name="__main__", alter_sys=True)
"""


class ProfiledDoor(call.Door):
    def command(self):
        _, environment = call.Door.command(self)
        self.stats_path = self.folder / "door.prof"
        return [sys.executable, "-c", WRAPPER % str(self.stats_path)], environment


def profile(seconds):
    """(pstats.Stats of the door over `seconds` of an answered call, CPU s
    per call-minute of the door over the same time)."""
    call.ensure_packages()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as scratch:
        folder = pathlib.Path(scratch)
        player = call.PacedNullPlayer(call.build_shim(folder))
        try:
            wav = call.write_tone_wav(folder / "tone.wav", seconds + 30)
            flat = call.Baresip(folder / "flat", "flat", wav, player).start()
            door = ProfiledDoor(folder / "door", flat.uri, wav, seconds)
            try:
                door.start()
                door.wait_event("started")
                door.send("press")
                door.wait_event("answered")
                flat.wait_event("CALL_ESTABLISHED")
                pid = door.process.pid
                before = call.cpu_seconds(pid)
                door.process.send_signal(signal.SIGUSR1)
                time.sleep(seconds)
                door.process.send_signal(signal.SIGUSR2)
                cpu = (call.cpu_seconds(pid) - before) * 60.0 / seconds
                deadline = time.monotonic() + 10
                while not door.stats_path.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(0.2)  # dump_stats writes in one go; let it finish
                stats = pstats.Stats(str(door.stats_path))
                door.send("hangup")
                door.wait_event("call_ended")
                door.finish()
            finally:
                door.stop()
                flat.stop()
        finally:
            pass
    return stats, cpu


def own_times(stats, inclusive=False):
    """[(own, or with inclusive own + callees', CPU s, calls, file,
    'file:line(function)')] of every function."""
    rows = []
    for (path, line, function), (_, calls, own, cumulative, _) in stats.stats.items():
        short = path.split("/firmware/", 1)[-1]
        spent = cumulative if inclusive else own
        rows.append((spent, calls, short, "%s:%d(%s)" % (short, line, function)))
    return rows


def top_functions(stats, count):
    """[(share of profiled CPU, own s, calls, function)], biggest first."""
    rows = sorted(own_times(stats), reverse=True)
    total = sum(row[0] for row in rows)
    return [(own / total, own, calls, name) for own, calls, _, name in rows[:count]]


def top_inclusive(stats, count):
    """[(share of profiled CPU, s with callees, calls, function)] of the firmware."""
    total = sum(row[0] for row in own_times(stats))
    rows = [row for row in own_times(stats, inclusive=True) if row[2].endswith(".py")]
    rows = [row for row in rows if not row[2].startswith("/")]
    rows.sort(reverse=True)
    return [(spent / total, spent, calls, name) for spent, calls, _, name in rows[:count]]


def by_file(stats, count):
    """[(share of profiled CPU, own s, file)], biggest first (C builtins are '~')."""
    totals = {}
    for own, _, path, _ in own_times(stats):
        totals[path] = totals.get(path, 0.0) + own
    total = sum(totals.values())
    rows = sorted(((own, path) for path, own in totals.items()), reverse=True)
    return [(own / total, own, path) for own, path in rows[:count]]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m host_tools.bench.profile_door")
    parser.add_argument("--seconds", type=int, default=20, help="profiled call time")
    parser.add_argument("--top", type=int, default=25, help="functions listed")
    options = parser.parse_args(argv)
    stats, cpu = profile(options.seconds)
    print("door CPU while profiled: %.2f s per call-minute (cProfile included)" % cpu)
    print("share  own s   calls  function")
    for share, own, calls, name in top_functions(stats, options.top):
        print("%5.1f%% %6.3f %7d  %s" % (share * 100, own, calls, name))
    print("share  with callees  calls  function")
    for share, spent, calls, name in top_inclusive(stats, options.top):
        print("%5.1f%% %6.3f %7d  %s" % (share * 100, spent, calls, name))
    print("share  own s   file")
    for share, own, path in by_file(stats, options.top):
        print("%5.1f%% %6.3f  %s" % (share * 100, own, path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
