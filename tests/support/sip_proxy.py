# What the tests ask of a SIP proxy they run (support.kamailio,
# support.opensips), whichever it is: its address, its registrations, the
# decisions its config logs, its log for a failure's message, and its stop.
# A proxy class sets LOG_PREFIX (the lines its config logs for the tests)
# and provides port, log_path, peer (a support.processes.PeerProcess once
# started) and bindings() ({user: [contact URI, ...]}).

import time


class SipProxy:
    @property
    def address(self):
        return ("127.0.0.1", self.port)

    def stop(self):
        if self.peer is not None:
            self.peer.stop()

    def wait_registered(self, users, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            bound = self.bindings()
            if all(bound.get(user) for user in users):
                return bound
            time.sleep(0.1)
        raise AssertionError("not all of %r registered: %r\n%s" % (users, bound, self.log()))

    def log(self):
        return self.log_path.read_text("utf-8", "replace")[-6000:]

    def log_mark(self):
        return self.log_path.stat().st_size

    def log_lines(self, since=0):
        """The config's own LOG_PREFIX lines logged after `since` (a log_mark)."""
        with open(self.log_path, "rb") as log:
            log.seek(since)
            text = log.read().decode("utf-8", "replace")
        prefix = self.LOG_PREFIX
        return [line.split(prefix, 1)[1] for line in text.splitlines() if prefix in line]
