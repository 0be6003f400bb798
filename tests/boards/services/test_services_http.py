# The status page and JSON API of a real sim door (h11 in the door's loop),
# read by plain HTTP clients and by headless Chromium during a call.

import json
import shutil
import socket
import subprocess
import time

import pytest
from status_api import http_json, http_request
from support.door import http_listen, start_pair
from support.ports import retry_when_taken
from support.wait import wait_until

TOKEN = "0123456789abcdef-test-token"
CHROMIUM = shutil.which("chromium")


def start_with_http(tmp_path, owned, **http):
    door, flat, flat_target = retry_when_taken(
        lambda: start_pair(owned, tmp_path, http=http_listen(token=TOKEN, **http))
    )
    return door, flat, flat_target, door.http_port()


def chromium(url, folder, *mode):
    profile = folder / "chromium-profile"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--user-data-dir=%s" % profile,
        "--window-size=1000,900",
    ]
    done = subprocess.run(command + list(mode) + [url], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode()


def test_the_api_shows_a_call_started_by_an_authorized_test_ring(tmp_path, owned):
    door, flat, flat_target, port = start_with_http(tmp_path, owned)
    status = http_json(port, "/api/status")
    assert status["state"] == "idle"
    assert status["registration"] == "peer-to-peer"
    assert status["call"] == {"target": None, "caller": None, "button": None}

    assert http_request(port, "POST", "/api/test-ring")[0] == 401
    wrong = {"Authorization": "Bearer " + TOKEN[:-1] + "X"}
    assert http_request(port, "POST", "/api/test-ring", wrong)[0] == 401
    assert http_request(port, "GET", "/api/test-ring")[0] == 405
    assert "call_started" not in door.names()

    right = {"Authorization": "Bearer " + TOKEN}
    assert http_request(port, "POST", "/api/test-ring", right)[0] == 202
    door.wait_for("answered", target=flat_target)
    status = wait_until(
        lambda: (lambda s: s if s["state"] == "talking" else None)(http_json(port, "/api/status")),
        5,
        "talking",
    )
    assert status["call"]["target"] == flat_target
    wait_until(  # the flat's audio reaches the door
        lambda: http_json(port, "/api/status")["stats"]["media"]["played"] > 0, 5, "audio played"
    )

    names = [entry["event"] for entry in http_json(port, "/api/log")["entries"]]
    assert names.index("button") < names.index("call_started") < names.index("answered")

    config = http_json(port, "/api/config")
    assert config["http"]["token"] == "****"
    assert config["door"]["code"] == "****"
    assert TOKEN not in json.dumps(config) and "1234" not in json.dumps(config)
    assert config["call"]["targets"] == [flat_target]

    door.send("hangup")
    door.wait_for("call_ended")
    assert http_json(port, "/api/status")["state"] in ("ending", "idle")
    door.send("quit")
    assert door.wait() == 0


def test_bad_requests_and_too_many_connections_leave_the_door_working(tmp_path, owned):
    door, flat, flat_target, port = start_with_http(tmp_path, owned)
    assert http_request(port, "GET", "/nothing-here")[0] == 404

    garbage = socket.create_connection(("127.0.0.1", port))
    garbage.sendall(b"NOT HTTP AT ALL\r\n\r\n")
    assert garbage.recv(100).startswith(b"HTTP/1.1 400")
    garbage.close()

    huge = socket.create_connection(("127.0.0.1", port))
    huge.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20000 + b"\r\n\r\n")
    assert huge.recv(100).split(b" ")[1] in (b"400", b"431")
    huge.close()

    body = socket.create_connection(("127.0.0.1", port))
    body.sendall(b"POST /api/test-ring HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
    body.sendall(b"x" * 5000)
    assert body.recv(100).startswith(b"HTTP/1.1 413")
    body.close()

    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
    time.sleep(0.3)
    extra = socket.create_connection(("127.0.0.1", port))
    extra.settimeout(3)
    assert extra.recv(100) == b""  # closed at once: the cap is 8
    extra.close()
    for sock in idle:
        sock.close()
    time.sleep(0.3)
    assert http_json(port, "/api/status")["http"]["refused_connections"] >= 1
    # the door still rings through all of it
    door.send("press")
    door.wait_for("answered", target=flat_target)
    door.send("quit")
    assert door.wait() == 0


@pytest.mark.integration  # headless Chromium as the page's client
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")
def test_chromium_shows_the_talking_call_on_the_status_page(tmp_path, owned):
    door, flat, flat_target, port = start_with_http(tmp_path, owned)
    door.send("press")
    door.wait_for("answered", target=flat_target)
    url = "http://127.0.0.1:%d/" % port
    dom = chromium(url, tmp_path, "--dump-dom")
    assert '<td id="state">talking</td>' in dom
    assert '<td id="target">%s</td>' % flat_target in dom
    assert '<td id="registration">peer-to-peer</td>' in dom
    assert "call_started" in dom and "answered" in dom
    assert TOKEN not in dom and "1234" not in dom
    screenshot = tmp_path / "status-page.png"
    chromium(url, tmp_path, "--screenshot=%s" % screenshot)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 5000
    door.send("quit")
    assert door.wait() == 0


def test_http_open_needs_allow_open_and_the_token_and_is_rate_limited(tmp_path, owned):
    right = {"Authorization": "Bearer " + TOKEN}
    # allow_open off (the default): even the right token cannot open.
    (tmp_path / "off").mkdir()
    door, flat, flat_target, port = start_with_http(tmp_path / "off", owned)
    assert http_request(port, "POST", "/api/open", right)[0] == 403
    assert http_request(port, "POST", "/api/test-ring", right)[0] == 202
    door.wait_for("call_started")  # events up to here are read: no open among them
    assert "door_opened" not in door.names()
    door.stop()
    flat.stop()

    (tmp_path / "on").mkdir()
    door, flat, flat_target, port = start_with_http(tmp_path / "on", owned, allow_open=True)
    assert http_request(port, "POST", "/api/open")[0] == 401
    assert http_request(port, "POST", "/api/open", {"Authorization": "Bearer nope"})[0] == 401
    assert http_request(port, "GET", "/api/open", right)[0] == 405
    statuses = [http_request(port, "POST", "/api/open", right)[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = door.wait_for("code_rejected")
    assert refused["reason"] == "rate_limited" and refused["source"] == "http"
    opened = [event for event in door.seen if event["event"] == "door_opened"]
    assert len(opened) == 3  # the refused requests opened nothing
    assert all(event["caller"] == "remote" and event["source"] == "http" for event in opened)
