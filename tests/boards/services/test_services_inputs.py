# The door's new inputs on its status page and API: the quiet hours switch
# and the tamper reset with the token, the call's button, read by plain HTTP
# and by headless Chromium.

import json

import pytest
from status_api import http_json, http_request
from support.door import http_listen, start_door, two_button_door
from support.ports import retry_when_taken
from support.wait import wait_until
from test_services_http import CHROMIUM, chromium

TOKEN = "0123456789abcdef-test-token"


def start_door_with_page(owned, tmp_path):
    """(door, flat A's target, the status page's port): the two-button door
    (support.door.two_button_door) with its status page and API (TOKEN)."""
    _, sections, flat_a = two_button_door(owned, tmp_path)
    door = retry_when_taken(
        lambda: start_door(
            owned, tmp_path, dict(sections, http=http_listen(token=TOKEN)), status_page=True
        )
    )
    return door, flat_a, door.http_port()


def test_the_api_switches_quiet_hours_and_resets_the_tamper_alarm_with_the_token(tmp_path, owned):
    door, flat_a, port = start_door_with_page(owned, tmp_path)
    right = {"Authorization": "Bearer " + TOKEN}
    wrong = {"Authorization": "Bearer " + TOKEN[:-1] + "X"}
    status = http_json(port, "/api/status")
    assert status["quiet"] == {"active": False, "mode": "auto"}
    assert status["door"] == {"contact": "closed", "tamper_alarm": False}
    assert status["buttons"] == [{"id": 1, "label": "Flat A"}, {"id": 2, "label": "Flat B"}]
    assert http_request(port, "POST", "/api/quiet-mode", wrong, body=b"on")[0] == 401
    assert http_request(port, "POST", "/api/quiet-mode", body=b"on")[0] == 401
    assert http_request(port, "GET", "/api/quiet-mode", right)[0] == 405
    assert http_request(port, "POST", "/api/quiet-mode", right, body=b"loud")[0] == 400
    assert http_json(port, "/api/status")["quiet"]["mode"] == "auto"
    answer = http_request(port, "POST", "/api/quiet-mode", right, body=b"on\n")
    assert answer[0] == 200 and json.loads(answer[2]) == {"mode": "on"}
    door.wait_for("quiet_hours", mode="on", source="http")
    door.send("tamper")
    door.wait_for("tamper", state="triggered")
    assert http_request(port, "POST", "/api/tamper-reset", wrong)[0] == 401
    assert http_json(port, "/api/status")["door"]["tamper_alarm"] is True
    assert json.loads(http_request(port, "POST", "/api/tamper-reset", right)[2]) == {"reset": True}
    assert json.loads(http_request(port, "POST", "/api/tamper-reset", right)[2]) == {"reset": False}
    assert door.wait_for("tamper_reset")["source"] == "http"
    assert http_request(port, "POST", "/api/quiet-mode", right, body=b"off")[0] == 200
    door.send("press 1")
    door.wait_for("answered", target=flat_a)
    call = wait_until(
        lambda: (lambda s: s if s["state"] == "talking" else None)(http_json(port, "/api/status")),
        5,
        "talking",
    )["call"]
    assert call["button"] == {"id": 1, "label": "Flat A"}
    entries = http_json(port, "/api/log")["entries"]
    started = [entry for entry in entries if entry["event"] == "call_started"]
    assert started[-1]["button"] == 1
    door.send("quit")
    assert door.wait() == 0


@pytest.mark.integration  # headless Chromium as the page's client
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")
def test_chromium_shows_the_button_quiet_hours_door_and_tamper_states(tmp_path, owned):
    door, flat_a, port = start_door_with_page(owned, tmp_path)
    url = "http://127.0.0.1:%d/" % port
    dom = chromium(url, tmp_path, "--dump-dom")
    assert '<td id="quiet">off (schedule)</td>' in dom
    assert '<td id="door">closed</td>' in dom
    assert '<td id="tamper">no</td>' in dom
    right = {"Authorization": "Bearer " + TOKEN}
    assert http_request(port, "POST", "/api/quiet-mode", right, body=b"off")[0] == 200
    door.send("sensor open")
    door.send("tamper")
    door.wait_for("tamper", state="triggered")
    door.send("press 1")
    door.wait_for("answered", target=flat_a)
    dom = chromium(url, tmp_path, "--dump-dom")
    assert '<td id="button">1: Flat A</td>' in dom
    assert '<td id="quiet">off (switched off)</td>' in dom
    assert '<td id="door">open</td>' in dom
    assert '<td id="tamper">yes</td>' in dom
    assert "door_forced" in dom and "button=1" in dom
    screenshot = tmp_path / "status-page.png"
    chromium(url, tmp_path, "--screenshot=%s" % screenshot)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    door.send("quit")
    assert door.wait() == 0
