# The per-frame breakdown's readers: a callgrind output file
# (host_tools/bench/callgrind_file.py) and an `strace -c` summary
# (profile_door.strace_counts), on files written the way the tools write them.

from host_tools.bench.callgrind_file import read_profile
from host_tools.bench.profile_door import strace_counts

# main (8 own) calls helper twice (40 with callees); helper (30 own) calls
# leaf once (10); names compressed after their first use; file and object
# lines, relative positions and a "*" position as callgrind writes them.
CALLGRIND = """# callgrind format
version: 1
creator: callgrind-3.19.0
positions: line
events: Ir
summary: 48

ob=(1) /usr/bin/door
fl=(1) door.c
fn=(1) main
10 5
+1 3
cfl=(1)
cfn=(2) helper
calls=2 20
11 40

fn=(2)
20 20
fi=(2) inline.h
* 10
fe=(1)
cob=(1)
cfn=(3) leaf
calls=1 30
21 10

fn=(3)
30 10

totals: 48
"""

STRACE = """% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 40.00    0.000400           0       500           poll
 35.00    0.000350           0      1000       500 recvfrom
 25.00    0.000250           0       500           sendto
------ ----------- ----------- --------- --------- ----------------
100.00    0.001000           0      2000       500 total
"""


def test_callgrind_file_gives_own_and_inclusive_instructions_and_call_counts(tmp_path):
    path = tmp_path / "callgrind.out.1"
    path.write_text(CALLGRIND)
    profile = read_profile(path)
    assert profile.total == 48
    assert profile.exclusive == {"main": 8, "helper": 30, "leaf": 10}
    assert [profile.inclusive(name) for name in ("main", "helper", "leaf")] == [48, 40, 10]
    assert profile.called == {"helper": 2, "leaf": 1}
    assert profile.edges == {("main", "helper"): 2, ("helper", "leaf"): 1}
    assert profile.top_exclusive(2) == [(30, "helper"), (10, "leaf")]
    assert profile.inclusive("absent") == 0


def test_strace_summary_gives_calls_and_failures_per_system_call(tmp_path):
    path = tmp_path / "strace.txt"
    path.write_text(STRACE)
    assert strace_counts(path) == {
        "poll": (500, 0),
        "recvfrom": (1000, 500),
        "sendto": (500, 0),
    }
