# boards/runtime/service_loop.py on both interpreters: an error in service
# code (a reader, a timer, a direct call) is reported and never leaves the
# loop; the door's own loop keeps running.

from boards.runtime.loop import Loop
from boards.runtime.service_loop import ServiceLoop
from boards.runtime.udp import UdpSocket
from test_loop import run_until


def make():
    loop = Loop()
    failures = []
    services = ServiceLoop(loop, lambda callback, error: failures.append(str(error)))
    return loop, services, failures


def test_a_reader_that_raises_is_reported_and_removed_and_the_loop_goes_on():
    loop, services, failures = make()
    listener = UdpSocket("127.0.0.1")
    sender = UdpSocket("127.0.0.1")
    calls = []

    def on_readable(source, events):
        calls.append(source.recvfrom(64)[0])
        raise ValueError("broken service")

    services.add_reader(listener, on_readable)
    sender.sendto(b"first", listener.local_address)
    assert run_until(loop, lambda: failures)
    assert failures == ["broken service"] and calls == [b"first"]
    sender.sendto(b"second", listener.local_address)
    ticks = []
    loop.call_later(50, lambda: ticks.append(1))
    assert run_until(loop, lambda: ticks)
    assert calls == [b"first"]  # removed: a readable source cannot spin the loop
    assert services.failures == 1
    listener.close()
    sender.close()


def test_a_periodic_timer_that_raises_is_reported_each_time_and_keeps_its_cadence():
    loop, services, failures = make()
    runs = []

    def tick():
        runs.append(1)
        raise KeyError("state")

    timer = services.call_every(10, tick)
    assert run_until(loop, lambda: len(runs) >= 3)
    timer.cancel()
    assert len(failures) == len(runs) and services.failures == len(runs)


def test_a_one_shot_timer_that_raises_is_reported():
    loop, services, failures = make()
    services.call_later(0, lambda: [][1])
    assert run_until(loop, lambda: failures)
    assert len(failures) == 1


def test_call_reports_an_error_and_says_whether_it_ran():
    loop, services, failures = make()
    seen = []
    assert services.call(seen.append, "event") is True
    assert services.call(lambda event: int(event), "not a number") is False
    assert seen == ["event"] and len(failures) == 1


def test_memory_error_is_not_swallowed():
    loop, services, failures = make()

    def out_of_memory():
        raise MemoryError()

    raised = False
    try:
        services.call(out_of_memory)
    except MemoryError:
        raised = True
    assert raised and failures == []
