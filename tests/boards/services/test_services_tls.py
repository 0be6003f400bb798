# HTTPS for the services of a CPython sim door, with a CA and certificates
# the test makes (support.certificates.Authority, openssl): the status page
# and API fetched with certificate verification, and an https:// webhook
# verified against webhook.tls_ca.

import http.client
import json
import ssl

import pytest
from support.certificates import Authority
from support.config import service_door_sections
from support.door import http_listen, start_door
from support.ports import retry_when_taken
from support.wait import wait_until
from webhook_receiver import FastReceiver

TOKEN = "0123456789abcdef-test-token"


def https_get(port, path, authority, headers=None, method="GET"):
    context = ssl.create_default_context(cafile=str(authority.certificate))
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=context)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_status_page_and_api_over_https(tmp_path, owned):
    authority = Authority(tmp_path / "ca")
    certificate, key = authority.issue("door-page", addresses=["127.0.0.1"])
    page = {"token": TOKEN, "tls_cert": str(certificate), "tls_key": str(key)}
    door = retry_when_taken(
        lambda: start_door(
            owned, tmp_path, service_door_sections(http=http_listen(**page)), status_page=True
        )
    )
    port = door.http_port()

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


def test_an_https_webhook_is_delivered_only_to_a_verified_receiver(tmp_path, owned):
    authority = Authority(tmp_path / "ca")
    certificate, key = authority.issue("receiver", addresses=["127.0.0.1"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    receiver = owned(FastReceiver(0, context))
    port = receiver.port
    url = "https://127.0.0.1:%d/api/webhook/secret-hook-id" % port
    webhooks = [
        {"url": url, "events": ["button"], "tls_ca": str(authority.certificate)},
        {"url": url + "-untrusted", "events": ["button"]},  # the system's trust store
    ]
    door = start_door(owned, tmp_path, service_door_sections(), webhooks=webhooks)
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
