# The voicemail, the listen notice and the call diagnosis on the status page
# and API of real sim doors, read by plain HTTP and by headless Chromium:
# the states while a prompt plays, a message records and a resident
# listens in; the last calls with how they ended and their media summary;
# the visitors' messages.

import json
import time

import numpy
import pytest
from status_api import http_json
from support.audio import write_wav
from support.config import sim_sections
from support.door import http_listen, start_door
from support.ports import retry_when_taken
from support.wait import wait_until
from test_services_http import CHROMIUM, chromium

# headless Chromium as the page's client
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed"),
]


def start_http_door(owned, folder, targets, **extra):
    """A sim door (user doora) calling targets, with a status page."""
    sections = sim_sections("Door", "doora", targets, **extra)
    door = retry_when_taken(
        lambda: start_door(owned, folder, dict(sections, http=http_listen()), status_page=True)
    )
    return door, door.http_port()


def status_when(port, check, what):
    return wait_until(
        lambda: (lambda status: status if check(status) else None)(http_json(port, "/api/status")),
        15,
        what,
    )


def test_a_resident_listening_in_then_the_call_in_the_last_calls(tmp_path, owned):
    door, port = start_http_door(
        owned, tmp_path, ["sip:flatx@127.0.0.1"], answer_from=["sip:flatx@127.0.0.1"]
    )
    flat_sections = sim_sections(
        "Flat X",
        "flatx",
        ["sip:doora@127.0.0.1:%d" % door.sip_port],
        answer_from=["sip:doora@127.0.0.1"],
    )
    flat = start_door(owned, tmp_path, flat_sections, name="flat")
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
    write_wav(path, (9000 * numpy.sin(2 * numpy.pi * 700 * times)).astype("<i2"))


def test_the_voicemail_states_the_refused_call_and_the_message(tmp_path, owned):
    write_prompt(tmp_path / "prompt.wav")
    # answer_from empty: the flat refuses with 403
    flat_sections = sim_sections("Flat X", "flatx", ["sip:doora@127.0.0.1"])
    flat = start_door(owned, tmp_path, flat_sections, name="flat")
    door, port = start_http_door(
        owned,
        tmp_path,
        ["sip:flatx@127.0.0.1:%d" % flat.sip_port],
        audio_input="tone",
        voicemail={"prompt": "prompt.wav", "record": True, "max_seconds": 5},
    )
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
