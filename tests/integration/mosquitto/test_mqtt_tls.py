# MQTT over TLS for a CPython sim door, with a CA and certificates the test
# makes (support.certificates.Authority, openssl): a Mosquitto TLS listener
# on 127.0.0.1 that requires a client certificate, and brokers whose
# certificate the door must refuse (unknown CA, wrong address) while the
# door goes on ringing.

import json

import pytest
from support.certificates import Authority
from support.config import service_door_sections
from support.door import start_door
from support.mosquitto import Mosquitto, Subscriber

pytestmark = pytest.mark.integration
PREFIX = "intercom/door"


def tls_broker(tmp_path, authority, require_certificate=False):
    certificate, key = authority.issue("broker", addresses=["127.0.0.1"])
    tls = {"cafile": authority.certificate, "certfile": certificate, "keyfile": key}
    if require_certificate:
        tls["require_certificate"] = "true"
    return Mosquitto(tmp_path, tls=tls)


def test_mqtt_over_tls_with_a_client_certificate(tmp_path, owned):
    authority = Authority(tmp_path / "ca")
    broker = owned(tls_broker(tmp_path, authority, require_certificate=True)).start()
    ha_cert, ha_key = authority.issue("home-assistant", client=True)
    tls = {"ca_certs": str(authority.certificate), "certfile": str(ha_cert), "keyfile": str(ha_key)}
    subscriber = owned(Subscriber(broker.port, [PREFIX + "/#"], tls=tls))
    door_cert, door_key = authority.issue("door", client=True)
    mqtt = {"host": "127.0.0.1", "port": broker.port, "tls": True}
    mqtt.update(tls_ca=str(authority.certificate), tls_cert=str(door_cert))
    mqtt["tls_key"] = str(door_key)
    door = start_door(owned, tmp_path, service_door_sections(mqtt=mqtt))

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
    tmp_path, owned, case, expected
):
    authority = Authority(tmp_path / "ca")
    if case == "wrong address":
        certificate, key = authority.issue("broker", hosts=["broker.example"])
        tls = {"cafile": authority.certificate, "certfile": certificate, "keyfile": key}
        broker = owned(Mosquitto(tmp_path, tls=tls)).start()
    else:
        broker = owned(tls_broker(tmp_path, authority, require_certificate=True)).start()
    trusted = Authority(tmp_path / "other-ca") if case == "unknown CA" else authority
    mqtt = {"host": "127.0.0.1", "port": broker.port, "tls": True}
    mqtt["tls_ca"] = str(trusted.certificate)
    if case != "no client certificate":
        door_cert, door_key = authority.issue("door", client=True)
        mqtt.update(tls_cert=str(door_cert), tls_key=str(door_key))
    door = start_door(owned, tmp_path, service_door_sections(mqtt=mqtt))
    problem = door.wait_for("error", service="mqtt", timeout=15)
    assert expected in problem["reason"], problem
    door.send("press")
    door.wait_for("call_started")
    door.send("quit")
    assert door.wait() == 0
