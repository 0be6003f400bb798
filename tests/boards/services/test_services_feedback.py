# The voicemail, the listen notice and the call diagnosis on the status page
# and API of real sim doors, read by plain HTTP and by headless Chromium:
# the states while a prompt plays, a message records and a resident
# listens in; the last calls with how they ended and their media summary;
# the visitors' messages.

import json
import time
import wave

import numpy
import pytest
from services_helpers import (
    Door,
    door_config,
    free_port,
    free_tcp_port,
    http_json,
    start_door,
    wait_until,
    write_toml,
)
from test_services_http import CHROMIUM, chromium


@pytest.fixture
def running():
    started = []
    yield started
    for door in started:
        door.kill()


def start_flat(folder, running, flat_port, door_port, answers):
    sections = door_config(
        "Flat X",
        "flatx",
        flat_port,
        ["sip:doora@127.0.0.1:%d" % door_port],
        answer_from=["sip:doora@127.0.0.1"] if answers else [],
    )
    write_toml(folder / "flat.toml", sections)
    flat = Door(folder, "flat.toml")
    running.append(flat)
    flat.wait_for("started")
    return flat


def start_http_door(folder, running, door_port, flat_port, **extra):
    http_port = free_tcp_port()
    sections = door_config(
        "Door", "doora", door_port, ["sip:flatx@127.0.0.1:%d" % flat_port], **extra
    )
    sections["http"] = {"listen": "127.0.0.1:%d" % http_port}
    door = start_door(folder, sections)
    running.append(door)
    return door, http_port


def status_when(port, check, what):
    return wait_until(
        lambda: (lambda status: status if check(status) else None)(http_json(port, "/api/status")),
        15,
        what,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")
def test_a_resident_listening_in_then_the_call_in_the_last_calls(tmp_path, running):
    door_port, flat_port = free_port(), free_port()
    door, port = start_http_door(
        tmp_path, running, door_port, flat_port, call={"answer_from": ["sip:flatx@127.0.0.1"]}
    )
    flat = start_flat(tmp_path, running, flat_port, door_port, answers=True)
    assert http_json(port, "/api/status")["listen_in"] is False
    flat.send("press")
    assert door.wait_for("incoming_call")["accepted"] is True
    status = status_when(port, lambda s: s["listen_in"], "listen_in")
    assert status["state"] == "talking"
    dom = chromium("http://127.0.0.1:%d/" % port, tmp_path, "--dump-dom")
    assert '<td id="listen_in">yes: the notice tone plays</td>' in dom
    status_when(port, lambda s: s["stats"]["media"]["played"] > 100, "two seconds of audio")
    flat.send("hangup")
    ended = door.wait_for("call_ended")
    assert ended["reason"] == "remote_hangup" and ended["media"]["audio"] == "ok"
    status = status_when(port, lambda s: not s["listen_in"], "the notice gone")
    logged = [e for e in http_json(port, "/api/log")["entries"] if e["event"] == "call_ended"]
    assert logged[-1]["media"] == ended["media"]
    dom = chromium("http://127.0.0.1:%d/" % port, tmp_path, "--dump-dom")
    row = dom.split('<table id="calls">', 1)[1].split("</table>", 1)[0]
    cells = row.split('<tr class="call">')[1].split("</tr>")[0]
    assert "from sip:flatx@127.0.0.1" in cells and "remote_hangup" in cells
    assert "<td>ok</td>" in cells and "<td>PCMU 20 ms</td>" in cells
    assert "sdp (127.0.0.1:" in cells  # the phone's audio came from its SDP's address
    assert '<td id="listen_in">no</td>' in dom
    log = dom.split("Last calls and door events", 1)[1]
    assert "media=ok" in log and "'codec'" not in log  # the summary is in Last calls
    door.send("quit")
    assert door.wait() == 0


def write_prompt(path):
    times = numpy.arange(4000) / 8000
    samples = (9000 * numpy.sin(2 * numpy.pi * 700 * times)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples.tobytes())


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")
def test_the_voicemail_states_the_refused_call_and_the_message(tmp_path, running):
    door_port, flat_port = free_port(), free_port()
    write_prompt(tmp_path / "prompt.wav")
    voicemail = {"prompt": "prompt.wav", "record": True, "max_seconds": 5}
    door, port = start_http_door(
        tmp_path, running, door_port, flat_port, voicemail=voicemail, audio={"input": "tone"}
    )
    start_flat(tmp_path, running, flat_port, door_port, answers=False)
    assert http_json(port, "/api/messages") == {"messages": []}
    door.send("press")
    ended = door.wait_for("call_ended")
    assert (ended["reason"], ended["sip_code"]) == ("refused", 403)
    status_when(port, lambda s: s["voicemail"] == "recording", "recording")
    dom = chromium("http://127.0.0.1:%d/" % port, tmp_path, "--dump-dom")
    assert '<td id="voicemail">recording a message</td>' in dom
    assert '<td id="state">idle</td>' in dom
    recorded = door.wait_for("message_recorded", timeout=20)
    messages = http_json(port, "/api/messages")["messages"]
    assert len(messages) == 1
    assert messages[0]["path"] == recorded["path"] and messages[0]["duration_ms"] == 5000
    assert time.strftime("%Y-%m-%d") in messages[0]["time"]
    assert http_json(port, "/api/status")["messages"] == messages
    dom = chromium("http://127.0.0.1:%d/" % port, tmp_path, "--dump-dom")
    assert '<td id="voicemail">-</td>' in dom
    table = dom.split('<table id="messages">', 1)[1].split("</table>", 1)[0]
    assert "<td>5.0 s</td>" in table and "<td>%s</td>" % recorded["path"] in table
    calls = dom.split('<table id="calls">', 1)[1].split("</table>", 1)[0]
    assert "refused (403 declined)" in calls and "no media" in calls
    assert json.dumps(recorded["path"])[1:-1] in json.dumps(http_json(port, "/api/log"))
    door.send("quit")
    assert door.wait() == 0
