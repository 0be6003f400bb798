# The call benchmark (host_tools/bench/call.py) on a short call: every
# process of both calls is measured, baresip is paced (not burning a core)
# and our door stays within a plain budget.

from host_tools.bench import call


def test_interop_call_benchmark_measures_both_calls():
    ours, theirs = call.measure_both(4)
    assert set(ours) == {"our door (CPython)", "baresip, answering the door"}
    assert len(theirs) == 2
    for cpu, rss in list(ours.values()) + list(theirs.values()):
        assert 0 < rss < 200
        # a never-blocking player would spend about 60 CPU-s per minute
        assert 0 <= cpu < 15, (ours, theirs)
    door_cpu, door_rss = ours["our door (CPython)"]
    print("door %.2f CPU-s/min %.1f MiB; baresip %r" % (door_cpu, door_rss, theirs))
