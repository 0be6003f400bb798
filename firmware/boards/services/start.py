# Which optional services a door runs, chosen once at start by the board
# (boards.runtime.runtime, services_factory):
#
#   CPython       boards.services.hub.Services: MQTT (paho), status page and
#                 API, webhooks, call log, each when configured
#   MicroPython   boards.services.mqtt_session.MqttSession over
#                 boards.services.mqtt_pico.PicoTransport when [mqtt] is set
#                 (no HTTP, webhooks or call log there), else none
#
# Services never keep the door from starting or working: what cannot start
# or connect (a name that does not resolve, a broker that is down) is an
# `error` event with a "service" field, and is retried while the door runs.

from intercom import compat, events


def build_services(runtime, log):
    if not compat.IS_MICROPYTHON:
        from boards.services.hub import Services

        return Services(runtime, log)
    config = runtime.config
    for section in ("http", "webhook"):
        if config[section]:
            log("intercom: [%s] needs CPython; not started" % section)
    if config["mqtt"] is None:
        return None
    if config["mqtt"]["tls"]:  # the pico_w config refuses it; the unix port's sim board
        reason = "MQTT over TLS needs CPython; not started"
        runtime.board.emit(
            events.make_event(runtime.now_ms(), events.ERROR, {"service": "mqtt", "reason": reason})
        )
        return None
    from boards.services.mqtt_pico import PicoTransport
    from boards.services.mqtt_session import MqttSession

    def emit(event):  # the session's own events, out like the station's
        runtime.board.emit(event)
        session.on_event(event)

    session = MqttSession(runtime, log, PicoTransport, emit)
    return session
