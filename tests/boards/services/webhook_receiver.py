# A webhook receiver for the door's [[webhook]] posts (boards/services).

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FastReceiver:
    """Answers every POST 204 at once and records its JSON body and path;
    on port (0: any free port, .port); HTTPS with an ssl context."""

    def __init__(self, port=0, context=None):
        bodies = self.bodies = []
        paths = self.paths = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                bodies.append(json.loads(self.rfile.read(length)))
                paths.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        if context is not None:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
