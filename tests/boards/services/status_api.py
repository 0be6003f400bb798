# Plain HTTP requests to a door's status page and JSON API (boards/services).

import http.client
import json


def http_request(port, method, path, headers=None, timeout=5.0, body=None):
    """(status, headers dict, body bytes) over a fresh connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def http_json(port, path):
    status, _, body = http_request(port, "GET", path)
    assert status == 200, (status, body)
    return json.loads(body)
