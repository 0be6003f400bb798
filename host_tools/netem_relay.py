"""A UDP relay that damages traffic the way a bad network does, on a seed.

Each Pipe owns one listening socket on 127.0.0.x and one fixed `target`
address. A datagram from the target goes to the pipe's `peer` (fixed, or the
last other source seen); a datagram from anyone else goes to the target and
that source becomes the peer (unless the peer is fixed). Both directions leave through the listening
socket, so each side sees the relay's address as the other end (what a
symmetric-RTP latch or an rport reply needs).

On the way every datagram meets the Impairment rules, in this order, each
decided by the random.Random of its pipe and direction (seeded from the
relay's seed, the pipe's index and the direction, so each stream's fate
depends on the seed and its own packet count only, not on how the streams
interleave):

    rule         parameter        effect
    -----------  ---------------  -------------------------------------------
    first loss   drop_first       the first n datagrams of each direction
                                  of a pipe are dropped (a sure loss)
    loss         loss             dropped with this probability
    delay        delay_ms         always added
    jitter       jitter_ms        plus uniform 0 .. jitter_ms (reorders when
                                  it exceeds the packet spacing)
    reorder      reorder          this share is held back reorder_ms more
    duplicate    duplicate        this share is also sent a second time,
                                  dup_gap_ms later

Counters per pipe and direction ("forward": towards the target, "back":
towards the peer): received, dropped, duplicated, reordered, sent.
`pause()` / `resume()` stop and restart relaying (a peer that vanished):
datagrams received while paused are dropped and counted.

Usage:
    relay = Relay(seed=7, impairment=Impairment(loss=0.05, jitter_ms=40))
    sip = relay.add_pipe(("127.0.0.1", 0), flat_sip_address)
    relay.start()  ... relay.stop()
Run from the command line: python -m host_tools.netem_relay --help
"""

import argparse
import heapq
import random
import select
import socket
import threading
import time

RECEIVE_SIZE = 65536
DIRECTIONS = ("forward", "back")


class Impairment:
    def __init__(
        self,
        loss=0.0,
        delay_ms=0,
        jitter_ms=0,
        duplicate=0.0,
        dup_gap_ms=5,
        reorder=0.0,
        reorder_ms=30,
        drop_first=0,
    ):
        for share in (loss, duplicate, reorder):
            if not 0.0 <= share <= 1.0:
                raise ValueError("shares must be between 0 and 1")
        if min(delay_ms, jitter_ms, dup_gap_ms, reorder_ms) < 0:
            raise ValueError("delays must not be negative")
        self.loss = loss
        self.delay_ms = delay_ms
        self.jitter_ms = jitter_ms
        self.duplicate = duplicate
        self.dup_gap_ms = dup_gap_ms
        self.reorder = reorder
        self.reorder_ms = reorder_ms
        self.drop_first = drop_first


class Pipe:
    def __init__(self, listen, target, peer=None, impairment=None):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(listen)
        self.socket.setblocking(False)
        self.address = self.socket.getsockname()
        self.target = target
        self.peer = peer
        self.fixed_peer = peer is not None
        self.impairment = impairment
        self.counters = {
            direction: dict.fromkeys(("received", "dropped", "duplicated", "reordered", "sent"), 0)
            for direction in DIRECTIONS
        }

    def route(self, source):
        """(direction, destination) for a datagram from source; None: nowhere."""
        if source == self.target:
            return ("back", self.peer) if self.peer is not None else None
        if not self.fixed_peer:
            self.peer = source
        return ("forward", self.target)


class Relay:
    def __init__(self, seed, impairment=None):
        self.seed = seed
        self.impairment = impairment or Impairment()
        self.pipes = []
        self.paused = False
        self._queue = []  # (due monotonic s, sequence, pipe, direction, data, destination)
        self._sequence = 0
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = None

    def add_pipe(self, listen, target, peer=None, impairment=None):
        """A new pipe (its own rules, or the relay's); .address is where it listens."""
        pipe = Pipe(listen, target, peer, impairment)
        pipe.randoms = {
            direction: random.Random("%d/%d/%s" % (self.seed, len(self.pipes), direction))
            for direction in DIRECTIONS
        }
        self.pipes.append(pipe)
        return pipe

    def start(self):
        self._thread = threading.Thread(target=self._run, name="netem-relay", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        for pipe in self.pipes:
            pipe.socket.close()

    def pause(self):
        self.paused = True

    def resume(self):
        self.paused = False

    def counters(self):
        """{listen port: {direction: {counter: n}}}"""
        return {pipe.address[1]: pipe.counters for pipe in self.pipes}

    # -- the relay thread -----------------------------------------------------

    def _run(self):
        by_socket = {pipe.socket: pipe for pipe in self.pipes}
        while not self._stopping:
            timeout = 0.05
            if self._queue:
                timeout = max(0.0, min(timeout, self._queue[0][0] - time.monotonic()))
            readable, _, _ = select.select(list(by_socket), [], [], timeout)
            for sock in readable:
                self._receive(by_socket[sock])
            self._send_due()

    def _receive(self, pipe):
        while True:
            try:
                data, source = pipe.socket.recvfrom(RECEIVE_SIZE)
            except OSError:  # nothing left (or an ICMP error from a vanished peer)
                return
            route = pipe.route(source)
            if route is None:
                continue
            direction, destination = route
            counters = pipe.counters[direction]
            counters["received"] += 1
            if self.paused:
                counters["dropped"] += 1
                continue
            self._impair(pipe, direction, data, destination)

    def _impair(self, pipe, direction, data, destination):
        rules = pipe.impairment or self.impairment
        counters = pipe.counters[direction]
        draw = pipe.randoms[direction].random
        if counters["received"] <= rules.drop_first or draw() < rules.loss:
            counters["dropped"] += 1
            return
        delay_ms = rules.delay_ms + draw() * rules.jitter_ms
        if draw() < rules.reorder:
            delay_ms += rules.reorder_ms
            counters["reordered"] += 1
        now = time.monotonic()
        self._schedule(now + delay_ms / 1000.0, pipe, direction, data, destination)
        if draw() < rules.duplicate:
            counters["duplicated"] += 1
            due = now + (delay_ms + rules.dup_gap_ms) / 1000.0
            self._schedule(due, pipe, direction, data, destination)

    def _schedule(self, due, pipe, direction, data, destination):
        self._sequence += 1
        heapq.heappush(self._queue, (due, self._sequence, pipe, direction, data, destination))

    def _send_due(self):
        now = time.monotonic()
        while self._queue and self._queue[0][0] <= now:
            _, _, pipe, direction, data, destination = heapq.heappop(self._queue)
            try:
                pipe.socket.sendto(data, destination)
            except OSError:
                continue
            pipe.counters[direction]["sent"] += 1


def _address(text):
    host, _, port = text.rpartition(":")
    return (host or "127.0.0.1", int(port))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--pipe",
        action="append",
        required=True,
        metavar="LISTEN=TARGET",
        help="e.g. 127.0.0.1:7000=127.0.0.1:5060 (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--loss", type=float, default=0.0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--duplicate", type=float, default=0.0)
    parser.add_argument("--reorder", type=float, default=0.0)
    arguments = parser.parse_args(argv)
    impairment = Impairment(
        loss=arguments.loss,
        delay_ms=arguments.delay_ms,
        jitter_ms=arguments.jitter_ms,
        duplicate=arguments.duplicate,
        reorder=arguments.reorder,
    )
    relay = Relay(arguments.seed, impairment)
    for text in arguments.pipe:
        listen, _, target = text.partition("=")
        pipe = relay.add_pipe(_address(listen), _address(target))
        print("relaying %s:%d -> %s:%d" % (pipe.address + pipe.target), flush=True)
    relay.start()
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    relay.stop()
    print(relay.counters())


if __name__ == "__main__":
    main()
