"""The srtp section of `make bench` (host_tools/bench/srtp.py): libsrtp on
CPython and the portable context under the MicroPython unix port, both
ways, with the viper and the plain byte loops, at 20 and 60 ms packets."""

import types

from host_tools.bench import srtp


def test_the_bench_times_libsrtp_both_ways_at_each_packet_time():
    rows = srtp.cpython_rows(types.SimpleNamespace(rounds=4, run_s=0.01))
    assert [(row[0], row[1]) for row in rows] == [
        ("CPython, libsrtp", "20 ms"),
        ("CPython, libsrtp", "60 ms"),
    ]
    for row in rows:
        assert float(row[2]) > 0 and float(row[3]) > 0  # protect, unprotect us


def test_the_unix_port_bench_runs_both_loops_and_counts_the_heap():
    rows = srtp.unix_port_rows()
    assert [(row[0], row[1]) for row in rows] == [
        ("MicroPython unix port, viper", "20 ms"),
        ("MicroPython unix port, viper", "60 ms"),
        ("MicroPython unix port, plain", "20 ms"),
        ("MicroPython unix port, plain", "60 ms"),
    ]
    for row in rows:
        protect_bytes, _, unprotect_bytes, _ = row[6].split()
        assert int(protect_bytes) >= 0 and int(unprotect_bytes) >= 0
