"""The Pico W board's new inputs and outputs under the MicroPython unix
port (stand-in machine/network): button 2 on its pin, the door contact,
the call-state and chime outputs, and quiet hours from the time a small
NTP server on 127.0.0.1 gives the door's SNTP client, which asks over the
SIP socket (lwIP has no sixth UDP socket on a Pico W)."""

import struct
import threading
import time

from support.datagrams import datagrams_while_running, local_udp_socket
from support.pico import RELAY, control, pin_writes, start_pico_door, write_pico_config
from support.ports import free_port

NTP_TO_UNIX_S = 2208988800
BUTTON_1, BUTTON_2, DOOR_CONTACT = 2, 5, 7
CHIME, CALLING, DOOR_OPEN = 13, 14, 19


class NtpServer:
    """Answers every NTP request with the system time (stratum 2)."""

    def __init__(self):
        self.sock = local_udp_socket(0.2)
        self.port = self.sock.getsockname()[1]
        self.clients = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        for data, client in datagrams_while_running(self, 512):
            self.clients.append(client)
            now = time.time() + NTP_TO_UNIX_S
            seconds, fraction = int(now), int((now % 1) * (1 << 32))
            reply = bytearray(48)
            reply[0], reply[1] = 0x24, 2  # leap 0, version 4, mode 4; stratum 2
            reply[24:32] = data[40:48]
            struct.pack_into(">IIII", reply, 32, seconds, fraction, seconds, fraction)
            self.sock.sendto(bytes(reply), client)

    def stop(self):
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()


def test_buttons_contact_outputs_and_quiet_hours_by_sntp(tmp_path, owned):
    ntp = owned(NtpServer())
    write_pico_config(
        tmp_path,
        free_port(),
        chime={"pulse_ms": 200},
        time={"zone": "UTC0", "ntp_server": "127.0.0.1:%d" % ntp.port},
        gpio={
            "door_contact": DOOR_CONTACT,
            "chime": CHIME,
            "calling": CALLING,
            "door_open": DOOR_OPEN,
        },
        button=[{"id": 1}, {"id": 2, "label": "Flat 2"}],
        schedule=[{"start": "00:00", "end": "24:00", "buttons": [2]}],
    )
    (tmp_path / "mic.raw").write_bytes(bytes(3200))
    door = start_pico_door(owned, tmp_path, "640k")
    quiet = door.wait_for("quiet_hours", timeout=20)
    assert (quiet["active"], quiet["source"]) == (True, "schedule")
    assert ntp.clients[0] == ("127.0.0.1", door.sip_port)  # asked from the SIP socket
    control(tmp_path, "press %d\n" % BUTTON_2)  # one sample every 10 ms: held
    pressed = door.wait_for("button")
    assert (pressed["button"], pressed["quiet"]) == (2, True)
    control(tmp_path, "release %d\n" % BUTTON_2)
    control(tmp_path, "level %d 0\n" % DOOR_CONTACT)  # shut (open at boot: pulled high)
    assert door.wait_for("door_contact")["state"] == "closed"
    control(tmp_path, "press %d\n" % BUTTON_1)
    assert door.wait_for("call_started")["button"] == 1
    control(tmp_path, "level %d 1\n" % DOOR_CONTACT)
    door.wait_for("door_forced")
    assert door.wait_for("call_ended")["reason"] == "door_opened"
    control(tmp_path, "interrupt\n")
    assert door.wait(timeout=15) == 0
    ntp.stop()
    writes = pin_writes(tmp_path)
    for pin in (RELAY, CHIME, CALLING, DOOR_OPEN):
        levels = [level for _, written, level in writes if written == pin]
        assert levels[0] == 0 and levels[-1] == 0, pin
    assert 1 in [level for _, written, level in writes if written == CALLING]
    chime = [level for _, written, level in writes if written == CHIME]
    assert chime.count(1) == 1  # the button 1 press; the quiet one did not chime
