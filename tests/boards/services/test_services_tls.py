# TLS for the services of a CPython sim door, with a CA and certificates
# the test makes (certificates.Authority, openssl): MQTT to a Mosquitto TLS
# listener on 127.0.0.1 that requires a client certificate, a broker whose
# certificate the door must refuse (unknown CA, wrong address) while the
# door goes on ringing, the status page and API over HTTPS fetched with
# certificate verification, and an https:// webhook verified against
# webhook.tls_ca.

import http.client
import json
import ssl

import pytest
from certificates import Authority
from services_helpers import (
    FastReceiver,
    Mosquitto,
    Subscriber,
    free_tcp_port,
    start_door,
    wait_until,
)

PREFIX = "intercom/door"
TOKEN = "0123456789abcdef-test-token"


@pytest.fixture
def running():
    started = []
    yield started
    for thing in reversed(started):
        if hasattr(thing, "kill"):
            thing.kill()
        elif isinstance(thing, Subscriber):
            thing.close()
        else:
            thing.stop()


def door_sections(**extra):
    sections = {
        "device": {"name": "Door", "board": "sim"},
        "sip": {"user": "doora", "local_port": 0},
        "call": {"targets": ["sip:nobody@127.0.0.1:9"]},
        "audio": {"input": "silence", "output": "null"},
        "door": {"state_file": "door_state.json"},
    }
    sections.update(extra)
    return sections


def tls_broker(tmp_path, authority, require_certificate=False):
    certificate, key = authority.issue("broker", addresses=["127.0.0.1"])
    tls = {"cafile": authority.certificate, "certfile": certificate, "keyfile": key}
    if require_certificate:
        tls["require_certificate"] = "true"
    broker = Mosquitto(tmp_path, tls=tls)
    broker.start()
    return broker


def test_mqtt_over_tls_with_a_client_certificate(tmp_path, running):
    authority = Authority(tmp_path / "ca")
    broker = tls_broker(tmp_path, authority, require_certificate=True)
    running.append(broker)
    ha_cert, ha_key = authority.issue("home-assistant", client=True)
    tls = {"ca_certs": str(authority.certificate), "certfile": str(ha_cert), "keyfile": str(ha_key)}
    subscriber = Subscriber(broker.port, [PREFIX + "/#"], tls=tls)
    running.append(subscriber)
    door_cert, door_key = authority.issue("door", client=True)
    mqtt = {"host": "127.0.0.1", "port": broker.port, "tls": True}
    mqtt.update(tls_ca=str(authority.certificate), tls_cert=str(door_cert))
    mqtt["tls_key"] = str(door_key)
    door = start_door(tmp_path, door_sections(mqtt=mqtt))
    running.append(door)

    subscriber.wait_for(PREFIX + "/availability", "online", timeout=15)
    subscriber.wait_for(PREFIX + "/state/call", "idle")
    subscriber.publish(PREFIX + "/command/test_ring", "PRESS")
    door.wait_for("button", state="pressed")
    assert json.loads(subscriber.wait_for(PREFIX + "/doorbell")) == {"event_type": "press"}
    assert "error" not in door.names()
    door.send("quit")
    assert door.wait() == 0
    subscriber.wait_for(PREFIX + "/availability", "offline")


@pytest.mark.parametrize(
    "case, expected",
    [
        ("unknown CA", "certificate verify failed"),
        ("wrong address", "IP address mismatch"),
        ("no client certificate", "MQTT broker 127.0.0.1"),
    ],
)
def test_mqtt_tls_refuses_a_broker_it_cannot_trust_and_the_door_keeps_ringing(
    tmp_path, running, case, expected
):
    authority = Authority(tmp_path / "ca")
    if case == "wrong address":
        certificate, key = authority.issue("broker", hosts=["broker.example"])
        tls = {"cafile": authority.certificate, "certfile": certificate, "keyfile": key}
        broker = Mosquitto(tmp_path, tls=tls)
        broker.start()
    else:
        broker = tls_broker(tmp_path, authority, require_certificate=True)
    running.append(broker)
    trusted = Authority(tmp_path / "other-ca") if case == "unknown CA" else authority
    mqtt = {"host": "127.0.0.1", "port": broker.port, "tls": True}
    mqtt["tls_ca"] = str(trusted.certificate)
    if case != "no client certificate":
        door_cert, door_key = authority.issue("door", client=True)
        mqtt.update(tls_cert=str(door_cert), tls_key=str(door_key))
    door = start_door(tmp_path, door_sections(mqtt=mqtt))
    running.append(door)
    problem = door.wait_for("error", service="mqtt", timeout=15)
    assert expected in problem["reason"], problem
    door.send("press")
    door.wait_for("call_started")
    door.send("quit")
    assert door.wait() == 0


def https_get(port, path, authority, headers=None, method="GET"):
    context = ssl.create_default_context(cafile=str(authority.certificate))
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=context)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_status_page_and_api_over_https(tmp_path, running):
    authority = Authority(tmp_path / "ca")
    certificate, key = authority.issue("door-page", addresses=["127.0.0.1"])
    port = free_tcp_port()
    page = {"listen": "127.0.0.1:%d" % port, "token": TOKEN}
    page.update(tls_cert=str(certificate), tls_key=str(key))
    door = start_door(tmp_path, door_sections(http=page))
    running.append(door)

    status, body = https_get(port, "/api/status", authority)
    assert status == 200 and json.loads(body)["state"] == "idle"
    status, body = https_get(port, "/", authority)
    assert status == 200 and b"<html" in body.lower()
    authorization = {"Authorization": "Bearer " + TOKEN}
    assert https_get(port, "/api/test-ring", authority, authorization, "POST")[0] == 202
    door.wait_for("button", state="pressed")

    # nothing is served in clear on that port, and a client that does not
    # trust the page's certificate gets no page either
    plain = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        plain.request("GET", "/api/status")
        plain.getresponse()
    plain.close()
    with pytest.raises(ssl.SSLCertVerificationError):
        https_get(port, "/api/status", Authority(tmp_path / "other-ca"))
    status, body = https_get(port, "/api/status", authority)
    assert json.loads(body)["http"]["tls_failures"] >= 1
    door.send("quit")
    assert door.wait() == 0


def test_an_https_webhook_is_delivered_only_to_a_verified_receiver(tmp_path, running):
    authority = Authority(tmp_path / "ca")
    certificate, key = authority.issue("receiver", addresses=["127.0.0.1"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    port = free_tcp_port()
    receiver = FastReceiver(port, context)
    running.append(receiver)
    url = "https://127.0.0.1:%d/api/webhook/secret-hook-id" % port
    webhooks = [
        {"url": url, "events": ["button"], "tls_ca": str(authority.certificate)},
        {"url": url + "-untrusted", "events": ["button"]},  # the system's trust store
    ]
    door = start_door(tmp_path, door_sections(), webhooks=webhooks)
    running.append(door)
    door.send("press")
    door.send("release")
    wait_until(lambda: len(receiver.bodies) == 2, 10, "two webhook posts")
    assert [body["state"] for body in receiver.bodies] == ["pressed", "released"]
    assert set(receiver.paths) == {"/api/webhook/secret-hook-id"}
    problem = door.wait_for("error", service="webhook")
    assert "certificate verify failed" in problem["reason"]
    assert "secret-hook-id" not in json.dumps(problem)
    door.send("quit")
    assert door.wait() == 0
