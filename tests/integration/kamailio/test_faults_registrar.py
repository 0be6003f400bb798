# The registrar restarts: a sim door registered with Kamailio (expires 60 s)
# loses it for 30 s. Kamailio keeps bindings in memory only, so after the
# restart nobody is registered until the door (and the flat) register again.
#
# With the shipped timing (register.py) the door refreshes at
# max(E/2, E - 32 s) = 30 s after its 200 and retransmits that REGISTER
# (RFC 3261 17.1.2.2: Timer E doubling from T1 = 0.5 s, capped at T2 = 4 s)
# until Timer F (32 s). A registrar back within that window is found at the
# next retransmission: re-registration within T2 + one challenge round trip
# of the restart. Only when the registrar stays away past Timer F does the
# RFC 5626 4.5 back-off start (30-60 s after the first failure, 60-120 s
# after the second): see the report for that slower case.

import time

import pytest
from support.audio import voice_like, write_wav
from support.config import door_sections
from support.door import start_door
from support.kamailio import DOOR_PASSWORD, FLAT_PASSWORD, Kamailio
from support.sipp import Sipp

pytestmark = pytest.mark.integration
AUDIO = {"input": "file:visitor.wav", "output": "file:door_heard.wav"}

DOWN_S = 30.0
REREGISTER_BOUND_S = 6.0  # T2 (4 s) + 401/REGISTER round trip, with margin


def test_the_door_re_registers_after_a_registrar_restart_and_rings_again(tmp_path, owned):
    kamailio = owned(Kamailio(tmp_path))
    kamailio.start()
    write_wav(tmp_path / "visitor.wav", voice_like(1.0))
    server = {
        "server": "127.0.0.1:%d" % kamailio.port,
        "password": DOOR_PASSWORD,
        "realm": "127.0.0.1",
        "expires": 60,
    }
    sections = door_sections(["flat1"], "Door F", sip=server, audio=AUDIO)
    door = start_door(owned, tmp_path, sections)
    door.wait_for("registered", timeout=10)
    assert "door" in kamailio.bindings()

    kamailio.stop()
    stopped = time.monotonic()
    time.sleep(1.0)
    mark = len(door.seen)
    door.send("press")
    door.send("release")
    pressed = time.monotonic()
    failed = door.wait_for("call_ended", after=mark, timeout=20)
    failed_after = time.monotonic() - pressed
    print("press while the registrar is down: %r after %.1f s" % (failed, failed_after))
    gave_up = (failed["reason"], failed["detail"])
    assert gave_up in (("error", "not_registered"), ("no_answer", None))
    assert failed["duration_ms"] == 0
    assert "answered" not in door.names()[mark:]

    time.sleep(max(0.0, DOWN_S - (time.monotonic() - stopped)))
    mark = len(door.seen)
    kamailio.start()  # on the same port: the door knows that one
    restarted = time.monotonic()
    door.wait_for("registered", after=mark, timeout=REREGISTER_BOUND_S + 60)
    took = time.monotonic() - restarted
    print("re-registered %.2f s after the registrar came back (down %.0f s)" % (took, DOWN_S))
    assert took <= REREGISTER_BOUND_S
    assert "door" in kamailio.bindings()

    register = owned(
        Sipp(
            tmp_path,
            "register_flat1",
            "flat_register.xml",
            remote=kamailio.address,
            options=["-s", "flat1", "-au", "flat1", "-ap", FLAT_PASSWORD],
        )
    )
    register.start()
    assert register.wait() == 0, register.report()
    flat = owned(Sipp(tmp_path, "flat1", "flat_answers.xml", port=register.port))
    flat.start()
    mark = len(door.seen)
    door.send("press")
    door.send("release")
    door.wait_for("answered", after=mark, timeout=15)
    door.send("hangup")
    assert door.wait_for("call_ended", after=mark, timeout=10)["reason"] == "local_hangup"
    assert flat.wait() == 0, flat.report()
    door.send("quit")
    assert door.wait() == 0
