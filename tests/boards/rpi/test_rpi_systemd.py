"""boards.rpi.systemd.SystemdNotifier against a real AF_UNIX datagram socket."""

import os
import socket
import time

from boards.rpi.systemd import SystemdNotifier
from boards.runtime.loop import Loop


def listener(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(1.0)
    return sock


def received(sock):
    messages = []
    sock.setblocking(False)
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


def test_ready_watchdog_and_stopping_reach_the_notify_socket(tmp_path):
    path = str(tmp_path / "notify")
    sock = listener(path)
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
    assert notifier.watchdog_interval_ms == 50
    loop = Loop()
    notifier.start_watchdog(loop)
    notifier.ready()
    deadline = time.monotonic() + 0.28
    while time.monotonic() < deadline:
        loop.run_once()
    notifier.stopping()
    notifier.close()
    messages = received(sock)
    assert messages[0].startswith("READY=1\n")
    assert 4 <= messages.count("WATCHDOG=1") <= 6  # every 50 ms for 280 ms
    assert messages[-1] == "STOPPING=1"
    sock.close()


def test_a_stuck_loop_sends_no_watchdog_ping(tmp_path):
    path = str(tmp_path / "notify")
    sock = listener(path)
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "40000"})
    loop = Loop()
    notifier.start_watchdog(loop)
    time.sleep(0.2)  # the loop does not run: systemd must see silence
    assert received(sock) == []
    loop.run_once()
    assert received(sock) == ["WATCHDOG=1"]
    sock.close()


def test_abstract_namespace_socket(tmp_path):
    name = "intercom-test-%d" % os.getpid()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).ready()
    sock.settimeout(1.0)
    assert sock.recv(4096).startswith(b"READY=1")
    sock.close()


def test_without_systemd_nothing_is_sent_and_no_timer_runs():
    notifier = SystemdNotifier({})
    assert not notifier.enabled
    loop = Loop()
    notifier.start_watchdog(loop)
    assert loop.next_timeout_ms(loop.clock.now_ms()) == -1
    notifier.ready()
    notifier.stopping()


def test_a_watchdog_meant_for_another_process_is_ignored(tmp_path):
    path = str(tmp_path / "notify")
    notifier = SystemdNotifier(
        {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    )
    assert notifier.enabled and notifier.watchdog_interval_ms is None
