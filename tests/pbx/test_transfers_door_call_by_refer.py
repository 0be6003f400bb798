# A resident transfers the door's call to another phone (RFC 3515 REFER),
# through the building proxy (deploy/kamailio): baresip flat1 answers the
# door and uses its `transfer` command. To a phone outside
# call.transfer_to the door says 403 and calls nobody (baresip 1.0 then
# hangs up by itself). In the next call, to flat2 the door says 202,
# calls flat2 itself, leaves flat1 and talks with flat2: the visitor is
# heard at flat2, flat2 at the door, and flat2's keypad code opens the
# door (flat2 is in door.open_from: the policy judges the new party).

import time

import numpy
import pytest
from support.audio import block_matches, noise_syllables, read_wav, ulaw_round_trip, write_wav
from support.baresip import Baresip
from support.door import DOOR_CODE, start_door1_with_visitor
from support.kamailio import BuildingProxy

pytestmark = pytest.mark.integration

PASSWORD = "pw-%d" % 5151
USERS = {"door1": (PASSWORD, "door"), "flat1": (PASSWORD, "flat"), "flat2": (PASSWORD, "flat")}


def heard_from(name, heard, source):
    """Most loud 100 ms blocks of `heard` are `source` after u-law, at one
    steady delay (the call moved mid-file, so the delay itself is free)."""
    blocks = block_matches(heard, ulaw_round_trip(source))
    peaks = numpy.array([peak for peak, _ in blocks])
    delays = [delay for peak, delay in blocks if peak > 0.9]
    print(
        "%s: %d blocks, median %.4f, %d above 0.9"
        % (name, len(blocks), numpy.median(peaks), len(delays))
    )
    assert len(blocks) >= 10, blocks
    assert len(delays) >= 0.7 * len(blocks), blocks
    assert numpy.median(peaks) > 0.99, blocks
    assert max(delays) - min(delays) <= 4000, blocks


def test_baresip_transfers_the_door_to_another_flat_whose_code_opens(tmp_path, owned):
    proxy = owned(BuildingProxy(tmp_path, USERS)).start()
    sources = {}
    flats = {}
    for seed, user in enumerate(("flat1", "flat2"), 1):
        sources[user] = write_wav(tmp_path / ("%s.wav" % user), noise_syllables(60, seed=seed))
        flats[user] = owned(
            Baresip(tmp_path / user, user, PASSWORD, proxy.port, sources[user])
        ).start()
    door_folder = tmp_path / "door"
    door = start_door1_with_visitor(
        owned,
        door_folder,
        noise_syllables(40, seed=9),
        PASSWORD,
        proxy.port,
        call={"transfer_to": ["flat2"]},
        door={"open_from": ["flat1", "flat2"], "hangup_after_open": 0},
        device={"show_dtmf_digits": True},
    )
    proxy.wait_registered(["door1", "flat1", "flat2"])
    flat1, flat2 = flats["flat1"], flats["flat2"]
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=10, target="flat1")
    flat1.wait_event("CALL_ESTABLISHED")
    time.sleep(1.0)
    flat1.command("transfer", "sip:flat9@127.0.0.1")  # not in call.transfer_to
    refused = door.wait_for("transfer_requested", timeout=10)
    assert refused["accepted"] is False and refused["reason"] == "target_not_allowed", refused
    # baresip 1.0 hangs up itself when its transfer fails; nobody else rang
    ended = door.wait_for("call_ended", timeout=10)
    assert ended["reason"] == "remote_hangup", ended
    assert [e["event"] for e in door.seen].count("call_started") == 1, door.seen
    assert "door1 to flat9" not in " ".join(proxy.log_lines())

    after = len(door.seen)
    flat1.events.clear()
    door.send("press")
    door.send("release")
    door.wait_for("answered", timeout=10, after=after, target="flat1")
    flat1.wait_event("CALL_ESTABLISHED")
    time.sleep(1.0)
    flat1.command("transfer", "sip:flat2@127.0.0.1")
    accepted = door.wait_for("transfer_requested", timeout=10, after=after)
    assert accepted["accepted"] is True and accepted["target"] == "sip:flat2@127.0.0.1"
    transferred = door.wait_for("transferred", timeout=15)
    assert transferred["target"] == "sip:flat2@127.0.0.1", transferred
    flat2.wait_event("CALL_ESTABLISHED")
    flat1.wait_event("CALL_CLOSED")
    time.sleep(3.0)
    for digit in DOOR_CODE:
        flat2.command("sndcode", digit)
        time.sleep(0.25)
    opened = door.wait_for("door_opened", timeout=5)
    assert opened["caller"] == "flat2@127.0.0.1", opened
    door.send("hangup")
    ended = door.wait_for("call_ended", timeout=5, after=after)
    assert ended["reason"] == "local_hangup", ended
    assert [e["event"] for e in door.seen[after:]].count("call_ended") == 1, door.seen
    flat2.wait_event("CALL_CLOSED")
    door.send("quit")
    assert door.wait() == 0, door.stderr()
    visitor = read_wav(door_folder / "visitor.wav")
    heard_from("door->flat2", flat2.recording("dec")[: 3 * 8000], visitor)
    door_heard = read_wav(door_folder / "heard.wav")
    heard_from(
        "flat2->door", door_heard[-3 * 8000 : -8000], read_wav(sources["flat2"])[: 20 * 8000]
    )
    log = " ".join(proxy.log_lines())
    assert "door1 to flat1" in log and "door1 to flat2" in log, log[-2000:]
