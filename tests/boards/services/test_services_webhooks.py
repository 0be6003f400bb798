# Webhooks of a real sim door against a tiny local receiver that is fast,
# then dead (connection refused), then hanging (accepts, never answers),
# then fast again: the queue stays bounded, drops are counted, and the door
# keeps answering and calling throughout.

import json
import socket
import threading
import time

from status_api import http_json, http_request
from support.door import http_listen, start_pair
from support.ports import retry_when_taken
from support.wait import wait_until
from webhook_receiver import FastReceiver

WEBHOOK_PATH = "/api/webhook/secret-hook-id"


class HangingReceiver:
    """Accepts connections and reads, never answers."""

    def __init__(self, port):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(50)
        self.accepted = []
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        self.listener.settimeout(0.1)
        while self.running:
            try:
                self.accepted.append(self.listener.accept()[0])
            except OSError:
                continue

    def stop(self):
        self.running = False
        self.thread.join()
        self.listener.close()
        for sock in self.accepted:
            sock.close()


def webhook_stats(port):
    return http_json(port, "/api/status")["webhooks"][0]


def timed_status(port):
    started = time.monotonic()
    status = http_request(port, "GET", "/api/status")[0]
    return status, time.monotonic() - started


def test_a_dead_or_hanging_endpoint_never_grows_the_queue_or_stops_the_door(tmp_path, owned):
    receiver = owned(FastReceiver())
    hook_port = receiver.port
    webhook = {
        "url": "http://127.0.0.1:%d%s" % (hook_port, WEBHOOK_PATH),
        "events": ["button", "call_ended"],
        "timeout": 1,
    }
    door, flat, flat_target = retry_when_taken(
        lambda: start_pair(owned, tmp_path, webhooks=[webhook], http=http_listen())
    )
    http_port = door.http_port()

    # fast: every listed event arrives as JSON, in order; others are not sent
    door.send("press")
    door.send("release")
    door.wait_for("answered", target=flat_target)
    door.send("hangup")
    door.wait_for("call_ended")
    wait_until(lambda: len(receiver.bodies) == 3, 5, "three webhook posts")
    assert [body["event"] for body in receiver.bodies] == ["button", "button", "call_ended"]
    assert [body.get("state") for body in receiver.bodies[:2]] == ["pressed", "released"]
    assert set(receiver.paths) == {WEBHOOK_PATH}
    assert WEBHOOK_PATH not in json.dumps(http_json(http_port, "/api/config"))
    assert webhook_stats(http_port)["delivered"] == 3

    # dead: connection refused; 300 events while it is down
    receiver.stop()
    for _ in range(150):
        door.send("press")
        door.send("release")
    door.wait_count("button", 302)
    stats = webhook_stats(http_port)
    assert stats["queued"] <= 100
    assert stats["dropped"] >= 300 - 100 - 1
    assert stats["delivered"] == 3
    status, seconds = timed_status(http_port)
    assert status == 200 and seconds < 0.5

    # hanging: accepted, never answered; every attempt times out after 1 s
    # (on the same port: the door's webhook names it)
    hanging = owned(HangingReceiver(hook_port))
    failed_before = webhook_stats(http_port)["failed"]
    wait_until(lambda: webhook_stats(http_port)["failed"] > failed_before, 10, "a timed-out event")
    assert len(hanging.accepted) >= 2  # retried
    assert webhook_stats(http_port)["queued"] <= 100
    status, seconds = timed_status(http_port)
    assert status == 200 and seconds < 0.5
    door.send("press")
    door.wait_for("answered", target=flat_target)  # the second call
    door.send("hangup")
    hanging.stop()

    # fast again: the queued events flow out
    receiver = owned(FastReceiver(hook_port))
    wait_until(lambda: webhook_stats(http_port)["queued"] == 0, 15, "the queue drained")
    assert webhook_stats(http_port)["delivered"] >= 90
    assert receiver.bodies[-1]["event"] == "call_ended"
    door.send("quit")
    assert door.wait() == 0
