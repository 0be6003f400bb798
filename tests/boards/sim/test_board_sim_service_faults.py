# The runtime with a service whose code raises (in on_event, in a timer, in
# a reader): the door keeps ringing and the error is an `error` event, once
# per failing callback (boards/runtime/service_loop.py). In-process, on a
# real loop and real UDP sockets on 127.0.0.1.

from boards.runtime.runtime import BoardBase, Runtime
from boards.runtime.udp import UdpSocket
from intercom import config as schema


class RecordingBoard(BoardBase):
    name = "test"

    def __init__(self):
        BoardBase.__init__(self, "json")
        self.events = []

    def emit(self, event):
        self.events.append(event)

    def set_relay(self, on):
        pass

    def set_led(self, pattern):
        pass

    def read_mic_frame(self, buffer):
        pass

    def play_frame(self, pcm):
        pass


class BrokenService:
    """Fails in on_event, in a periodic timer and in a socket reader."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.socket = UdpSocket("127.0.0.1")

    def attach(self):
        loop = self.runtime.service_loop
        loop.call_every(20, self.publish_states)
        loop.add_reader(self.socket, self.on_readable)

    def publish_states(self):
        raise KeyError("state")

    def on_readable(self, source, poll_events):
        source.recvfrom(64)
        raise ValueError("malformed packet")

    def on_event(self, event):
        if event["event"] == "button":
            raise TypeError("cannot publish")

    def close(self):
        self.socket.close()


def make_runtime(tmp_path):
    flat = UdpSocket("127.0.0.1")
    config = schema.validate(
        {
            "sip": {"local_port": 0},
            "call": {"targets": ["sip:flat1@127.0.0.1:%d" % flat.local_address[1]]},
            "door": {"state_file": str(tmp_path / "door_state.json")},
            "audio": {"input": "silence", "output": "null"},
        }
    )
    services = []

    def factory(runtime, log):
        services.append(BrokenService(runtime))
        return services[0]

    board = RecordingBoard()
    runtime = Runtime(config, board, "127.0.0.1", services_factory=factory)
    return runtime, board, services, flat


def test_errors_in_service_code_are_events_and_the_door_still_calls(tmp_path):
    runtime, board, services, flat = make_runtime(tmp_path)
    runtime.loop.call_later(50, lambda: runtime.button(True))
    runtime.loop.call_later(60, lambda: runtime.button(False))

    def poke_the_service():
        service_socket = services[0].socket
        service_socket.sendto(b"x", service_socket.local_address)

    runtime.loop.call_later(70, poke_the_service)
    runtime.loop.call_later(400, lambda: runtime.request_exit("test over"))
    assert runtime.run() == 0
    names = [event["event"] for event in board.events]
    assert "call_started" in names  # the press still rang the flat
    assert flat.receive(4096)[0].startswith(b"INVITE ")
    failures = [e["reason"] for e in board.events if e["event"] == "error"]
    assert len(failures) == 3, failures  # one per failing callback, not one per run
    assert any("on_event" in reason and "cannot publish" in reason for reason in failures)
    assert any("publish_states" in reason for reason in failures)
    assert any("on_readable" in reason and "malformed packet" in reason for reason in failures)
    assert runtime.service_loop.failures >= 4  # the periodic timer failed more than once
    flat.close()
