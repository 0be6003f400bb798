# Thirty calls of a door under the MicroPython unix port, its modules
# imported from .mpy files as a Pico runs them, with MQTT connected to a
# real Mosquitto; prints the live heap after each call. Run by
# test_mqtt_pico_long_run.py (not collected by pytest: CPython has no
# gc.mem_alloc):
#
#   MICROPYPATH=STAND_INS:MPY_LIB:tests/unit micropython -X heapsize=N \
#       mp_long_run_door.py BROKER_PORT STATE_FOLDER
#
# The door and the flat are tests/unit/station_harness.py's Pair (two
# stations on a virtual clock, an in-memory network); the door is in server
# mode behind a registrar that answers REGISTER (expires 60 s: a refresh
# about every call, with the idle time after each) and relays every other
# message between the door and the flat. The door's events and states go to
# boards.services.mqtt_session over boards.services.mqtt_pico on a real
# Loop, drained to the broker after each call.
#
# Output, one line each on stdout:
#   call N KIND EVENTS HEAP   EVENTS: the door's events in the call, comma
#                             separated, call_ended:REASON, incoming_call:ACCEPTED
#   registers N               REGISTER requests the registrar answered
#   mqtt CONNECTED PUBLISHED DROPPED

import gc
import sys

import station_harness
from boards.runtime.loop import Loop
from boards.runtime.service_loop import ServiceLoop
from boards.services.mqtt_pico import PicoTransport
from boards.services.mqtt_session import MqttSession
from intercom.compat import ticks_add, ticks_diff
from intercom.config import validate
from intercom.sip.flow import make_flow
from intercom.sip.message import Request, make_response, parse_message

REGISTRAR = ("127.0.0.1", 5070)
CALLS = 30
# After each call, idle past every timer a call leaves behind: the SIP
# transactions' longest (64*T1 = 32 s, Timer H and J, RFC 3261 sections
# 17.2.1 and 17.2.2) and the doorbell's cooldown; the heap is then what the
# door keeps for good.
SETTLE_MS = 40000
KINDS = (
    "answered",
    "refused",
    "cancelled",
    "no_answer",
    "wrong_code",
    "right_code",
    "reinvite",
    "incoming",
    "refresh",
    "incoming_refused",
)


def door_config():
    return validate(
        {
            "device": {"name": "Front door", "board": "sim"},
            "sip": {
                "user": "door",
                "local_port": station_harness.DOOR_SIP[1],
                "server": "%s:%d" % REGISTRAR,
                "expires": 60,
            },
            "call": {
                "targets": ["sip:flat1@127.0.0.1"],
                "ring_timeout": 10,
                "max_duration": 60,
                "answer_from": ["sip:flat1@127.0.0.1"],
            },
            "door": {"code": "1234", "pulse": 3, "hangup_after_open": 2},
            "audio": {"input": "silence", "output": "null"},
        },
        "door.toml",
    )


class Registrar:
    """sip.server of the door: 200 OK to REGISTER; every other message
    relayed to the other station as if this proxy sent it."""

    def __init__(self, pair):
        self.pair = pair
        self.registers = 0

    def receive_sip(self, data, source, now_ms):
        relayed = make_flow(source[0], REGISTRAR)
        message = parse_message(data)
        door = self.pair.door
        if isinstance(message, Request) and message.method == "REGISTER":
            self.registers += 1
            response = make_response(message, 200, to_tag="registrar")
            response.headers.add("Contact", message.headers.get("Contact") + ";expires=60")
            door.receive_sip(response.to_bytes(), relayed, now_ms)
            return
        target = self.pair.flat if source[2] == station_harness.DOOR_SIP[1] else door
        target.receive_sip(data, relayed, now_ms)


class Discarded:
    """A list that keeps nothing (the harness's per-frame energies)."""

    def append(self, value):
        pass


class LongRunPair(station_harness.Pair):
    """Pair with the registrar on its network; the door's events go to the
    MQTT session as they come (and are kept for the current call only)."""

    def __init__(self):
        self.registrar = None
        self.session = None
        self.names_seen = []
        super().__init__(door_config(), station_harness.flat_config(user="flat1"))
        self.registrar = Registrar(self)
        self.door_heard = self.flat_heard = Discarded()  # the harness keeps each frame's energy
        self.route()

    def station_at(self, port):
        if port == REGISTRAR[1]:
            return self.registrar
        return super().station_at(port)

    def collect(self):
        super().collect()
        if self.session is not None:
            for event in self.events["door"]:
                self.session.on_event(event)
        for event in self.events["door"]:
            name = event["event"]
            detail = event.get("reason", event.get("accepted"))
            self.names_seen.append(name if detail is None else "%s:%s" % (name, detail))
        for side in self.events:
            self.events[side] = []


class Runtime:
    """What MqttSession reads of boards.runtime.runtime.Runtime."""

    def __init__(self, loop, station, broker_port, state_folder):
        self.loop = loop
        self.service_loop = ServiceLoop(loop, print)
        self.station = station
        self.config = {
            "device": {"name": "Front door", "board": "pico_w"},
            "sip": {"register": True},
            "door": {"state_file": state_folder + "/door_state.json"},
            "gpio": {"door_contact": None, "tamper": None},
            "button": [{"id": 1, "label": "Front door"}],
            "mqtt": {
                "host": "127.0.0.1",
                "port": broker_port,
                "user": None,
                "password": None,
                "prefix": "intercom/long-run",
                "allow_open": True,
                "tls": False,
            },
        }

    def now_ms(self):
        return self.loop.clock.now_ms()


def drain(loop, session):
    """Runs the real loop until the session's publishes have left."""
    for _ in range(2000):
        if session.connected and not session._queue and session._transport.idle():
            return
        loop.run_once()
    raise AssertionError("MQTT did not drain")


def flat_call(pair):
    calls = list(pair.flat.agent.calls.values())
    return calls[0] if calls else None


def send_code(pair, digits):
    for digit in digits:
        pair.flat_sends_info(digit, 160)
        pair.run(200)


def reinvite(pair):
    """The flat re-INVITEs with its own SDP (a session refresh) and ACKs."""
    call = flat_call(pair)
    dialog = call.dialog
    request = dialog.create_request("INVITE")
    request.headers.add("Contact", "<sip:flat1@127.0.0.1:%d>" % station_harness.FLAT_SIP[1])
    request.headers.add("Content-Type", "application/sdp")
    request.body = call.local_sdp
    context = pair.flat.agent.context
    flow = context.dialog_flow(dialog, call.transport)
    context.send_request(request, flow, pair.now, None)
    pair.route()
    cseq = int(request.headers.get("CSeq").split()[0])
    context.send_stateless(dialog.create_request("ACK", cseq), flow)
    pair.route()


def until_idle(pair, limit_ms=20000):
    end = ticks_add(pair.now, limit_ms)
    while pair.door.state != "idle" or pair.flat.state != "idle":
        if ticks_diff(end, pair.now) <= 0:
            raise AssertionError("not idle: door %s flat %s" % (pair.door.state, pair.flat.state))
        pair.run(100)


def quiet(pair):
    """On until no SIP transaction is left on either side (the registration
    refresh may have one under way): the measure's fixed point."""
    for _ in range(100):
        if not pair.door.agent.context.transactions and not pair.flat.agent.context.transactions:
            return
        pair.run(1000)
    raise AssertionError("SIP transactions never ended")


def flat_decision(kind):
    """How the flat meets the door's call: None as configured (answers)."""
    if kind == "refused":
        return lambda bell, call_id, now_ms: bell._phone.reject(call_id, 486, now_ms)
    if kind in ("cancelled", "no_answer"):
        return lambda bell, call_id, now_ms: None  # rings
    return None


def incoming_call(pair, kind):
    """The flat calls the door, which answers it or not; the flat hangs up."""
    door_bell = pair.door.doorbell
    may_answer = door_bell._may_answer
    if kind == "incoming_refused":
        door_bell._may_answer = lambda identity: False
    pair.press(pair.flat, 500)
    pair.flat.button(False, pair.now)
    if kind == "incoming":
        pair.flat.hangup(pair.now)
    until_idle(pair)
    door_bell._may_answer = may_answer


def door_call(pair, kind):
    """The visitor's press; the flat answers, refuses or lets it ring."""
    flat_bell = pair.flat.doorbell
    decide = flat_decision(kind)
    if decide is not None:
        flat_bell.on_incoming = lambda call_id, caller, identity, now_ms: decide(
            flat_bell, call_id, now_ms
        )
    pair.press(pair.door, 100)
    pair.door.button(False, pair.now)
    if kind == "cancelled":
        pair.run(1000)
        pair.door.hangup(pair.now)
    elif kind == "no_answer":
        pair.run(11000)  # past call.ring_timeout
    else:
        pair.run(500)
    if kind == "wrong_code":
        send_code(pair, "9999")
    elif kind == "right_code":
        send_code(pair, "1234")  # the door hangs up after opening
    elif kind == "reinvite":
        reinvite(pair)
        pair.run(500)
    elif kind == "refresh":
        pair.run(40000)  # a REGISTER refresh falls in the call
    if kind != "right_code" and pair.flat.state == "talking":
        pair.flat.hangup(pair.now)
    until_idle(pair)
    if decide is not None:
        del flat_bell.on_incoming


def one_call(pair, kind):
    if kind in ("incoming", "incoming_refused"):
        incoming_call(pair, kind)
    else:
        door_call(pair, kind)
    pair.run(SETTLE_MS)
    quiet(pair)


def main():
    broker_port = int(sys.argv[1])
    state_folder = sys.argv[2]
    pair = LongRunPair()
    pair.run(1000)
    loop = Loop()
    runtime = Runtime(loop, pair.door, broker_port, state_folder)
    session = MqttSession(runtime, print, PicoTransport, print)
    session.attach()
    pair.session = session
    drain(loop, session)
    for number in range(1, CALLS + 1):
        kind = KINDS[(number - 1) % len(KINDS)]
        pair.names_seen = []
        one_call(pair, kind)
        drain(loop, session)
        gc.collect()
        heap = gc.mem_alloc()
        print("call", number, kind, ",".join(pair.names_seen), heap)
    stats = session.stats
    print("registers", pair.registrar.registers)
    print("mqtt", session.connected, stats["published"], stats["dropped"])
    session.close()


main()
