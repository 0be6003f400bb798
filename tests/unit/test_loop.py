# boards/runtime/loop.py with real UDP sockets on 127.0.0.1, on both interpreters.

from boards.runtime.loop import Clock, Loop
from boards.runtime.udp import UdpSocket
from intercom import compat


def run_until(loop, done, limit_ms=2000):
    """Run the loop until done() or limit_ms; return whether done() came true."""
    expired = []
    guard = loop.call_later(limit_ms, lambda: expired.append(True))
    while not done() and not expired:
        loop.run_once()
    guard.cancel()
    return done()


def two_readers(loop, on_readable):
    """Two sockets on 127.0.0.1 that the loop reads with on_readable, and a
    third to send from."""
    first, second, sender = [UdpSocket("127.0.0.1") for _ in range(3)]
    loop.add_reader(first, on_readable)
    loop.add_reader(second, on_readable)
    return first, second, sender


def test_datagrams_reach_the_callback_of_their_socket():
    loop = Loop()
    received = []

    def on_readable(source, events):
        data, peer = source.recvfrom(2048)
        received.append((source is first, data, peer))

    first, second, sender = two_readers(loop, on_readable)
    sender.sendto(b"to-second", second.local_address)
    sender.sendto(b"to-first", first.local_address)
    assert run_until(loop, lambda: len(received) == 2)
    received.sort()
    assert received[0] == (False, b"to-second", sender.local_address)
    assert received[1] == (True, b"to-first", sender.local_address)
    for sock in (first, second, sender):
        sock.close()


def test_removed_reader_is_no_longer_called():
    loop = Loop()
    listener = UdpSocket("127.0.0.1")
    sender = UdpSocket("127.0.0.1")
    calls = []
    loop.add_reader(listener, lambda source, events: calls.append(source.recvfrom(64)))
    loop.remove_reader(listener)
    sender.sendto(b"x", listener.local_address)
    fired = []
    loop.call_later(50, lambda: fired.append(1))
    assert run_until(loop, lambda: fired)
    assert calls == []
    listener.close()
    sender.close()


def test_a_reader_removed_by_another_readers_callback_in_the_same_pass_is_not_called():
    loop = Loop()
    calls = []

    def on_readable(source, events):
        calls.append(source)
        source.recvfrom(64)
        loop.remove_reader(second if source is first else first)

    first, second, sender = two_readers(loop, on_readable)
    sender.sendto(b"1", first.local_address)
    sender.sendto(b"2", second.local_address)
    # Loopback delivers within sendto; the loop has not run yet.
    assert first.waiting() and second.waiting()
    loop.run_once()  # both ready in this pass: the first called removes the other
    assert len(calls) == 1
    for sock in (first, second, sender):
        sock.close()


def test_even_port_is_even():
    for _ in range(5):
        sock = UdpSocket("127.0.0.1", even_port=True)
        assert sock.local_address[1] % 2 == 0
        sock.close()


def test_timers_fire_in_deadline_order_then_scheduling_order():
    loop = Loop()
    order = []
    loop.call_later(30, lambda: order.append("30ms"))
    loop.call_later(10, lambda: order.append("10ms-a"))
    loop.call_later(20, lambda: order.append("20ms"))
    loop.call_later(10, lambda: order.append("10ms-b"))
    assert run_until(loop, lambda: len(order) == 4)
    assert order == ["10ms-a", "10ms-b", "20ms", "30ms"]


def test_timer_scheduled_from_a_callback_fires():
    loop = Loop()
    order = []

    def first():
        order.append("first")
        loop.call_later(0, lambda: order.append("scheduled-from-first"))

    loop.call_later(5, first)
    assert run_until(loop, lambda: len(order) == 2)
    assert order == ["first", "scheduled-from-first"]


def test_cancelled_timer_never_fires():
    loop = Loop()
    fired = []
    doomed = loop.call_later(20, lambda: fired.append("doomed"))
    loop.call_later(5, doomed.cancel)
    loop.call_later(40, lambda: fired.append("survivor"))
    assert run_until(loop, lambda: "survivor" in fired)
    assert fired == ["survivor"]


def test_timer_cancelled_by_a_timer_due_in_the_same_pass_never_fires():
    loop = Loop()
    fired = []
    canceller_box = []
    loop.call_later(10, lambda: canceller_box[0].cancel())
    canceller_box.append(loop.call_later(10, lambda: fired.append("cancelled one")))
    loop.call_later(30, lambda: fired.append("done"))
    assert run_until(loop, lambda: "done" in fired)
    assert fired == ["done"]


class SteppedClock:
    """A clock the test sets: the loop's timers fire when it says so, however
    busy the machine is."""

    def __init__(self, now_ms=1000):
        self.now = now_ms

    def now_ms(self):
        return self.now


def test_periodic_timer_keeps_its_cadence_and_can_cancel_itself():
    clock = SteppedClock()
    loop = Loop(clock)
    deadlines = []
    box = []

    def tick():
        deadlines.append(box[0].deadline_ms)
        if len(deadlines) == 4:
            box[0].cancel()

    box.append(loop.call_every(15, tick))
    first_deadline = box[0].deadline_ms
    while len(deadlines) < 4:
        clock.now = box[0].deadline_ms  # each pass 0-3 ms late
        clock.now = compat.ticks_add(clock.now, len(deadlines))
        loop.run_once()
    # Each deadline is the previous one plus the period: no drift.
    expected = [compat.ticks_add(first_deadline, 15 * n) for n in range(1, 5)]
    assert deadlines == expected
    later = []
    clock.now = loop.call_later(100, lambda: later.append(1)).deadline_ms
    loop.run_once()
    assert later == [1] and len(deadlines) == 4  # the cancelled timer stayed quiet


def test_periodic_timer_a_whole_period_late_skips_ahead_instead_of_bursting():
    clock = SteppedClock()
    loop = Loop(clock)
    fired = []
    timer = loop.call_every(15, lambda: fired.append(clock.now))
    clock.now = compat.ticks_add(timer.deadline_ms, 40)  # the loop was busy: 55 ms
    loop.run_once()
    assert fired == [1055]
    assert timer.deadline_ms == 1070  # now + period, not three catch-up calls
    loop.run_once()
    assert fired == [1055]


def test_idle_loop_with_a_100ms_timer_wakes_only_for_it():
    loop = Loop()
    ticks = []
    loop.call_every(100, lambda: ticks.append(1))
    while len(ticks) < 10:
        loop.run_once()
    # Each wake-up fires the timer, but for a few that poll's millisecond
    # timeout ends a little early; a busy loop would wake thousands of
    # times. A loaded machine only delays wake-ups: it never adds any.
    assert 10 <= loop.wakeups <= 14, loop.wakeups


def test_timers_survive_the_ticks_wrap():
    start_offset = compat.TICKS_PERIOD - Clock().now_ms() - 40
    loop = Loop(Clock(start_offset))
    order = []
    loop.call_later(60, lambda: order.append("after wrap"))
    loop.call_later(10, lambda: order.append("before wrap"))
    loop.call_later(120, lambda: order.append("well after"))
    assert run_until(loop, lambda: len(order) == 3)
    assert order == ["before wrap", "after wrap", "well after"]
    assert loop.wakeups < 20, loop.wakeups


def test_next_timeout_is_forever_without_timers():
    loop = Loop()
    assert loop.next_timeout_ms(loop.clock.now_ms()) == -1
    timer = loop.call_later(250, lambda: None)
    timeout = loop.next_timeout_ms(loop.clock.now_ms())
    assert 200 <= timeout <= 250, timeout
    timer.cancel()
    assert loop.next_timeout_ms(loop.clock.now_ms()) == -1


def test_waiting_tells_whether_a_datagram_waits_without_taking_it():
    receiver = UdpSocket("127.0.0.1")
    sender = UdpSocket("127.0.0.1")
    loop = Loop()
    assert not receiver.waiting()
    sender.sendto(b"one", receiver.local_address)
    sender.sendto(b"two", receiver.local_address)
    assert run_until(loop, receiver.waiting, 2000)
    assert receiver.waiting()  # asking again does not take it
    assert receiver.recvfrom(2048)[0] == b"one"
    assert receiver.waiting()
    assert receiver.recvfrom(2048)[0] == b"two"
    assert not receiver.waiting()
    for sock in (receiver, sender):
        sock.close()


def test_receive_gives_each_datagram_then_none_when_drained():
    receiver = UdpSocket("127.0.0.1")
    sender = UdpSocket("127.0.0.1")
    loop = Loop()
    assert receiver.receive(2048) is None
    sender.sendto(b"one", receiver.local_address)
    sender.sendto(b"two", receiver.local_address)
    assert run_until(loop, receiver.waiting, 2000)
    assert receiver.receive(2048) == (b"one", sender.local_address)
    assert receiver.receive(2048) == (b"two", sender.local_address)
    assert receiver.receive(2048) is None
    for sock in (receiver, sender):
        sock.close()


def test_receive_gives_none_when_a_stream_pauses_and_each_datagram_after():
    # one datagram per drain, as a call's RTP per audio frame; then drains
    # that find nothing (the stream paused: on CPython the first read after
    # a drain that got a datagram reads without asking), then the stream
    receiver = UdpSocket("127.0.0.1")
    sender = UdpSocket("127.0.0.1")
    loop = Loop()
    for data in (b"one", b"two", None, None, b"three", b"four"):
        if data is not None:
            sender.sendto(data, receiver.local_address)
            assert run_until(loop, receiver.waiting, 2000)
            assert receiver.receive(2048) == (data, sender.local_address)
        assert receiver.receive(2048) is None
    for sock in (receiver, sender):
        sock.close()


def test_a_writer_runs_while_it_is_registered_and_never_after():
    loop = Loop()
    sock = UdpSocket("127.0.0.1")  # a UDP socket is writable at once
    writes = []

    def on_writable(source, events):
        writes.append(source is sock)
        if len(writes) == 3:
            loop.remove_writer(source)

    loop.add_writer(sock, on_writable)
    fired = []
    loop.call_later(100, lambda: fired.append(1))
    assert run_until(loop, lambda: fired)
    assert writes == [True, True, True]
    sock.close()


def test_reader_and_writer_share_a_socket_and_go_separately():
    loop = Loop()
    sock = UdpSocket("127.0.0.1")
    sender = UdpSocket("127.0.0.1")
    read = []
    writable = []
    loop.add_reader(sock, lambda source, events: read.append(source.recvfrom(64)[0]))
    loop.add_writer(sock, lambda source, events: writable.append(1))
    try:
        loop.add_writer(sock, lambda source, events: None)
    except ValueError:
        pass
    else:
        raise AssertionError("a second writer must raise")
    assert run_until(loop, lambda: writable)
    loop.remove_writer(sock)
    del writable[:]
    sender.sendto(b"still read", sock.local_address)
    assert run_until(loop, lambda: read)
    assert read == [b"still read"] and writable == []
    loop.remove_reader(sock)
    before = loop.wakeups
    fired = []
    loop.call_later(60, lambda: fired.append(1))
    assert run_until(loop, lambda: fired)
    assert loop.wakeups - before <= 2  # nothing watched: the loop sleeps to its timer
    sock.close()
    sender.close()


def test_timer_scheduled_by_the_only_due_timer_fires_on_the_next_pass():
    loop = Loop()
    order = []
    loop.call_later(60000, lambda: order.append("much later"))

    def first():
        order.append("first")
        loop.call_later(0, lambda: order.append("second"))

    loop.call_later(0, first)
    loop.run_once()
    assert order == ["first"]
    loop.run_once()
    assert order == ["first", "second"]


def test_many_sources_ready_in_one_pass_are_all_served():
    loop = Loop()
    sender = UdpSocket("127.0.0.1")
    receivers = [UdpSocket("127.0.0.1") for _ in range(20)]
    received = []

    def on_readable(source, events):
        received.append(source.recvfrom(2048)[0])

    for index, receiver in enumerate(receivers):
        loop.add_reader(receiver, on_readable)
        sender.sendto(b"to %d" % index, receiver.local_address)
    assert run_until(loop, lambda: len(received) == len(receivers))
    assert sorted(received) == sorted(b"to %d" % index for index in range(len(receivers)))
    for sock in receivers + [sender]:
        sock.close()


def test_receive_gives_each_datagram_the_address_of_its_sender():
    receiver = UdpSocket("127.0.0.1")
    senders = [UdpSocket("127.0.0.1"), UdpSocket("127.0.0.1")]
    loop = Loop()
    for round_number in range(3):
        for index, sender in enumerate(senders):
            sender.sendto(b"%d from %d" % (round_number, index), receiver.local_address)
    got = []
    while len(got) < 6:
        assert run_until(loop, receiver.waiting, 2000)
        received = receiver.receive(2048)
        while received is not None:
            got.append(received)
            received = receiver.receive(2048)
    expected = []
    for round_number in range(3):
        for index, sender in enumerate(senders):
            expected.append((b"%d from %d" % (round_number, index), sender.local_address))
    assert got == expected
    for sock in senders + [receiver]:
        sock.close()


def test_receive_names_each_of_more_senders_than_it_remembers():
    receiver = UdpSocket("127.0.0.1")
    loop = Loop()
    got = []
    expected = []
    for batch in range(5):
        senders = [UdpSocket("127.0.0.1") for _ in range(20)]
        for index, sender in enumerate(senders):
            sender.sendto(b"%d.%d" % (batch, index), receiver.local_address)
            expected.append((b"%d.%d" % (batch, index), sender.local_address))
        while len(got) < len(expected):
            assert run_until(loop, receiver.waiting, 2000)
            received = receiver.receive(2048)
            while received is not None:
                got.append(received)
                received = receiver.receive(2048)
        for sender in senders:
            sender.close()
    assert got == expected
    receiver.close()
