# Which optional services a door runs, chosen once at start by the board
# (boards.runtime.runtime, services_factory):
#
#   CPython       boards.services.hub.Services: MQTT (paho), status page and
#                 API, webhooks, call log, each when configured
#   MicroPython   boards.services.mqtt_pico.PicoServices when [mqtt] is set
#                 (no HTTP, webhooks or call log there), else none

from intercom import compat


def build_services(runtime, log):
    if not compat.IS_MICROPYTHON:
        from boards.services.hub import Services

        return Services(runtime, log)
    if runtime.config["mqtt"] is None:
        return None
    from boards.services.mqtt_pico import PicoServices

    return PicoServices(runtime, log)
