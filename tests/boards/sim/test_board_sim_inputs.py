# The sim board's new inputs end to end, on CPython and under the
# MicroPython unix port: `press N` calls button N's flat with the button's
# label and Alert-Info in the INVITE (read off the wire by a bare UDP
# socket that never answers), presses while it rings are repeats, the door
# contact opening ends the ringing call and was forced, the exit button
# opens locally, the tamper switch, the chime and call-state outputs, the
# help text; quiet hours ring nobody.

import time

import pytest
from intercom.sip.message import parse_message
from support.config import sim_sections
from support.datagrams import local_udp_socket
from support.door import start_door
from support.paths import MICROPYTHON

RING = "<http://127.0.0.1/Bellcore-dr2>"


class SilentFlat:
    """A UDP socket on 127.0.0.1 that keeps the SIP requests sent to it."""

    def __init__(self):
        self.sock = local_udp_socket()
        self.port = self.sock.getsockname()[1]

    def requests(self, method, timeout=10.0):
        """The distinct requests (by Call-ID) of that method that arrive
        within timeout; the wait ends 0.5 s after the last new one."""
        deadline = time.monotonic() + timeout
        found = {}
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data, _ = self.sock.recvfrom(65536)
            except TimeoutError:
                break
            message = parse_message(data)
            if getattr(message, "method", None) == method:
                found[message.headers.get("Call-ID")] = message
                deadline = min(deadline, time.monotonic() + 0.5)
        return list(found.values())

    def stop(self):
        self.sock.close()


def sections(flat_port, **extra):
    flat1 = "sip:flat1@127.0.0.1:%d" % flat_port
    flat2 = "sip:flat2@127.0.0.1:%d" % flat_port
    result = sim_sections("Front door", "door", [flat1, flat2], **extra)
    result["button"] = [
        {"id": 1, "label": "Flat 1", "targets": [flat1]},
        {"id": 2, "label": "Flat 2", "targets": [flat2], "alert_info": RING},
    ]
    result["chime"] = {"pulse_ms": 300}
    return result


INTERPRETERS = [
    pytest.param(False, id="cpython"),
    pytest.param(
        True,
        id="micropython",
        marks=pytest.mark.skipif(not MICROPYTHON.exists(), reason="no MicroPython unix port"),
    ),
]


@pytest.mark.parametrize("micropython", INTERPRETERS)
def test_buttons_contact_exit_and_tamper_from_stdin(tmp_path, owned, micropython):
    flat = owned(SilentFlat())
    door = start_door(owned, tmp_path, sections(flat.port), micropython=micropython)
    door.send("press 2")
    door.wait_for("button", state="pressed", button=2, repeat=0, quiet=False)
    door.wait_for("call_started", button=2)
    (invite,) = flat.requests("INVITE")
    assert invite.uri.startswith("sip:flat2@")
    assert invite.headers.get("From").startswith('"Flat 2" <sip:door@')
    assert invite.headers.get("Alert-Info") == RING
    door.wait_for("output", output="calling", on=True)
    door.wait_for("output", output="chime", on=True)
    door.wait_for("output", output="chime", on=False)
    door.send("press")
    door.wait_for("button", state="pressed", button=1, repeat=1)
    door.send("sensor open")
    door.wait_for("door_contact", state="open")
    door.wait_for("door_forced")
    assert door.wait_for("call_ended")["reason"] == "door_opened"
    door.wait_for("output", output="calling", on=False)
    door.send("sensor close")
    door.wait_for("door_contact", state="closed")
    door.send("exit")
    door.wait_for("exit_button")
    door.wait_for("door_opened", caller="inside", source="exit_button")
    door.wait_for("output", output="door_open", on=True)
    door.send("tamper")
    door.wait_for("tamper", state="triggered")
    door.send("tamper off")
    door.wait_for("tamper", state="restored")
    door.send("press 3")
    door.send("help")
    door.wait_for("door_closed", timeout=10)
    door.send("quit")
    assert door.wait() == 0, door.stderr()
    assert door.garbage == []
    stderr = door.stderr()
    assert "sim: no button 'press 3' (the config has 1, 2)" in stderr
    assert "sim: commands: press [N], release [N], hangup, sensor open, sensor close" in stderr
    # retransmissions of the one INVITE at most: the repeat placed no call
    call_id = invite.headers.get("Call-ID")
    assert [m.headers.get("Call-ID") for m in flat.requests("INVITE", 1.0)] in ([], [call_id])


@pytest.mark.parametrize("micropython", INTERPRETERS)
def test_quiet_hours_all_day_ring_nobody_and_say_so(tmp_path, owned, micropython):
    flat = owned(SilentFlat())
    door_sections = sections(flat.port)
    door_sections["schedule"] = [{"start": "00:00", "end": "24:00", "buttons": [2]}]
    door = start_door(owned, tmp_path, door_sections, micropython=micropython)
    door.wait_for("quiet_hours", active=True, mode="auto", source="schedule")
    door.send("press 2")
    door.wait_for("button", button=2, quiet=True, repeat=0)
    door.send("press 1")  # button 1 is not in the schedule: it rings
    door.wait_for("call_started", button=1)
    (invite,) = flat.requests("INVITE")
    assert invite.uri.startswith("sip:flat1@")
    door.wait_for("output", output="chime", on=True)
    door.send("quit")
    assert door.wait() == 0, door.stderr()
    chimes = [e for e in door.seen if e["event"] == "output" and e["output"] == "chime" and e["on"]]
    assert len(chimes) == 1  # the quiet press did not chime
