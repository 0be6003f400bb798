# sipvicious (pinned in the report: sipvicious 0.3.8) scans the door from
# untrusted loopback addresses: no answer (svmap finds nothing), nothing
# rings, nothing is logged. The same svmap from the trusted host does find
# the door, so the tool and the rig can see a SIP device when one answers.
#
# The door lives on 127.0.0.5 and its flat on 127.0.0.9 (the only trusted
# host). Not 127.0.0.1: svwar 0.3.8 sends its first probe from 0.0.0.0:5060
# whatever -b says, which arrives from 127.0.0.1.

import os
import pathlib
import subprocess
import sys

import pytest
from support.config import door_sections
from support.door import start_door
from support.ports import free_port

pytestmark = pytest.mark.integration

BIN = pathlib.Path(sys.executable).parent
DOOR_HOST = "127.0.0.5"
FLAT_HOST = "127.0.0.9"
UNTRUSTED = "127.0.0.2"


def sipvicious(tool, home, *arguments):
    command = [str(BIN / ("sipvicious_" + tool))] + list(arguments)
    environment = dict(os.environ, HOME=str(home))
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def test_sipvicious_from_an_untrusted_host_finds_nothing_and_rings_nothing(tmp_path, owned):
    flat = "sip:flat1@%s:%d" % (FLAT_HOST, free_port(FLAT_HOST))
    audio = {"input": "silence", "output": "file:door_heard.wav"}
    sections = door_sections([flat], "Door F", audio=audio)
    local = ["--local-host", DOOR_HOST]
    door = start_door(owned, tmp_path, sections, args=local)
    port = door.sip_port
    home = tmp_path / "home"
    home.mkdir()
    target = ["-p", str(port), DOOR_HOST]
    options_scan = sipvicious("svmap", home, "-b", UNTRUSTED, *target)
    invite_scan = sipvicious("svmap", home, "-b", UNTRUSTED, "-m", "INVITE", *target)
    war = sipvicious("svwar", home, "-b", UNTRUSTED, "-e100-300", *target)
    war_invite = sipvicious("svwar", home, "-b", UNTRUSTED, "-m", "INVITE", "-e100-300", *target)
    for output in (options_scan, invite_scan):
        assert "found nothing" in output and "%s:%d" % (DOOR_HOST, port) not in output, output
    for output in (war, war_invite):
        assert "| Extension" not in output and "reqauth" not in output.lower(), output
    door.send("quit")
    assert door.wait() == 0
    assert door.names() == ["started", "led"], door.seen  # no incoming_call, no error
    assert len(door.stderr().splitlines()) <= 4, door.stderr()  # start/stop lines only

    trusted_door = start_door(owned, tmp_path, sections, args=local)
    port = trusted_door.sip_port
    target = ["-p", str(port), DOOR_HOST]
    found = sipvicious("svmap", home, "-b", FLAT_HOST, *target)
    assert "%s:%d" % (DOOR_HOST, port) in found, found
    trusted_door.send("quit")
    assert trusted_door.wait() == 0
