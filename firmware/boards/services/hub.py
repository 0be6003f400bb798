# The optional services of the CPython boards (sim, rpi), started from the
# config and fed the station's events by boards.runtime.runtime:
#
#   call log   always: the last 200 events in call_log.json next to
#              door.state_file (boards.services.call_log)
#   [mqtt]     state, events, availability and Home Assistant discovery
#              (boards.services.mqtt_session over boards.services.mqtt_paho)
#   [http]     status page and JSON API, HTTPS with http.tls_cert/tls_key
#              (boards.services.http_status)
#   [[webhook]] HTTP(S) POST of chosen events (boards.services.webhooks)
#
# Use (boards.runtime.runtime, CPython only):
#   services = Services(runtime)  # opens nothing yet
#   services.attach()             # once the Station exists: sockets, timers
#   services.on_event(event)      # every event the station emits
#   services.close()              # at the stop: goodbyes, last log save
# It needs of the runtime: .config, .service_loop (the guarded loop,
# boards.runtime.service_loop), .station (.state,
# .doorbell.registered, .policy.is_locked(), .policy.tamper_alarm,
# .quiet_hours, .door_contact, .voicemail.state, .listen_in, .stats()),
# .board (.name, .emit(), .now_wallclock_ms(), .messages: the visitors'
# messages, boards.audio.messages), .now_ms(), test_ring(), remote_open(),
# set_quiet_mode() and reset_tamper().
#
# Everything runs in the runtime's one poll loop on non-blocking sockets
# with bounded queues; a dead broker, endpoint or browser never delays
# SIP or audio. The services never keep the door from starting or working:
# host names (mqtt.host, webhook urls) are looked up at each connection
# attempt (boards.services.resolver), and a service that cannot start or
# connect is an `error` event with a "service" field (service_event: on
# stdout/journal like a station event, in the call log, over MQTT and to
# the webhooks), retried while the door runs (the status page every
# HTTP_RETRY_MS).
#
# Events arrive as the station made them: DTMF digits already masked and
# peer text already cut (intercom.events), so the log, MQTT and webhooks
# pass them on unchanged.
#
# Opening the door over MQTT or HTTP is off unless mqtt.allow_open or
# http.allow_open is true (the config then insists on broker credentials or
# an http token). Each request goes to the door policy
# (intercom.app.door.remote_open), which rate-limits it (a DTMF lockout does
# not block it) and reports every outcome as an event; it is logged here too.

from intercom import config as intercom_config
from intercom import events

from boards.services.call_log import CallLog, path_next_to

SAVE_DELAY_MS = 1000  # call log writes are coalesced
HTTP_RETRY_MS = 10000  # a status page that could not start (port taken, bad certificate)
CALL_EVENTS = (events.CALL_STARTED, events.RINGING, events.ANSWERED, events.INCOMING_CALL)


class Services:
    def __init__(self, runtime, log):
        self.runtime = runtime
        self._log = log
        config = runtime.config
        self.call_log = CallLog(path_next_to(config["door"]["state_file"]))
        if self.call_log.problem is not None:
            log("intercom: " + self.call_log.problem)
        self.call = {"target": None, "caller": None, "button": None}
        self._buttons = {}  # id -> {"id", "label"}, what the page and API show
        for button in config["button"]:
            self._buttons[button["id"]] = {"id": button["id"], "label": button["label"]}
        self.mqtt = None
        self.http = None
        self.webhooks = []
        self._http_timer = None
        self._http_reported = False
        self._save_timer = None

    def attach(self):
        """Start what the config asks for (what cannot start is reported and retried)."""
        # imported here: a door without [mqtt], [http] or [[webhook]] needs
        # neither paho-mqtt nor h11
        config = self.runtime.config
        loop = self.runtime.service_loop
        if config["mqtt"] is not None:
            from boards.services.mqtt_paho import PahoTransport
            from boards.services.mqtt_session import MqttSession

            self.mqtt = MqttSession(self.runtime, self._log, PahoTransport, self.service_event)
            self.mqtt.attach()
        if config["http"] is not None:
            self._start_http()
        if config["webhook"]:
            from boards.services.webhooks import Webhook

            self.webhooks = [
                Webhook(loop, entry, self._log, self.service_event, _masked_url(entry["url"]))
                for entry in config["webhook"]
            ]

    def _start_http(self):
        from boards.services.http_status import HttpStatus

        self._http_timer = None
        http = HttpStatus(self.runtime.service_loop, self.runtime.config["http"], self, self._log)
        try:
            http.start()
        except (OSError, ValueError) as error:
            http.close()
            self._log("intercom: status page: %s; retry in %d ms" % (error, HTTP_RETRY_MS))
            if not self._http_reported:  # reported once, retried quietly
                self._http_reported = True
                self.service_event(self._problem("http", "cannot start: %s" % error))
            self._http_timer = self.runtime.service_loop.call_later(HTTP_RETRY_MS, self._start_http)
            return
        self.http = http
        self._log("intercom: status page on %s://%s:%d/" % ((http.scheme,) + http.address))

    def close(self):
        for timer in (self._http_timer, self._save_timer):
            if timer is not None:
                timer.cancel()
        for service in [self.mqtt, self.http] + self.webhooks:
            if service is not None:
                service.close()
        self._save_log()

    def service_event(self, event):
        """An event of a service (its problems): out like a station event."""
        self.runtime.board.emit(event)
        self.on_event(event)

    def _problem(self, service, reason):
        fields = {"service": service, "reason": reason}
        return events.make_event(self.runtime.now_ms(), events.ERROR, fields)

    # -- events in -------------------------------------------------------------------

    def on_event(self, event):
        name = event["event"]
        if name == events.CALL_STARTED:
            button = self._buttons.get(event.get("button"))
            self.call = {"target": event["target"], "caller": None, "button": button}
        elif name in (events.RINGING, events.ANSWERED):
            self.call["target"] = event["target"]
        elif name == events.INCOMING_CALL:
            self.call = {"target": None, "caller": event["from"], "button": None}
        self.call_log.add(event, self.runtime.board.now_wallclock_ms())
        if self._save_timer is None:
            self._save_timer = self.runtime.service_loop.call_later(SAVE_DELAY_MS, self._save_log)
        if self.mqtt is not None:
            self.mqtt.on_event(event)
        for webhook in self.webhooks:
            webhook.offer(event)

    def test_ring(self, source):
        self._log("intercom: test ring from %s" % source)
        self.runtime.test_ring()

    def open_door(self, source):
        """A remote open request; only reachable when <source>.allow_open."""
        if not self.runtime.config[source]["allow_open"]:
            raise ValueError("%s.allow_open is off" % source)
        opened = self.runtime.remote_open(source)
        self._log(
            "intercom: door open requested over %s: %s"
            % (source, "opened" if opened else "refused")
        )
        return opened

    def set_quiet_mode(self, mode, source):
        changed = self.runtime.set_quiet_mode(mode, source)
        self._log("intercom: quiet hours mode %s over %s: %s" % (mode[:8], source, changed))
        return changed

    def reset_tamper(self, source):
        reset = self.runtime.reset_tamper(source)
        self._log("intercom: tamper reset over %s: %s" % (source, "done" if reset else "no alarm"))
        return reset

    def _save_log(self):
        self._save_timer = None
        try:
            self.call_log.save()
        except OSError as error:
            self._log("intercom: cannot save the call log: %s" % error)

    # -- what the status page and API show ---------------------------------------------------

    def status(self):
        runtime = self.runtime
        station = runtime.station
        config = runtime.config
        if not config["sip"]["register"]:
            registration = "peer-to-peer"
        elif station.doorbell.registered:
            registration = "registered"
        else:
            registration = "not registered"
        state = station.state
        idle = {"target": None, "caller": None, "button": None}
        call = dict(self.call) if state != "idle" else idle
        contact = station.door_contact.state
        result = {
            "device": config["device"]["name"],
            "board": runtime.board.name,
            "registration": registration,
            "state": state,
            "call": call,
            "lockout": station.policy.is_locked(),
            "buttons": [self._buttons[number] for number in sorted(self._buttons)],
            "quiet": {"active": station.quiet_hours.active, "mode": station.quiet_hours.mode},
            "door": {
                "contact": None if contact == "unknown" else contact,
                "tamper_alarm": station.policy.tamper_alarm,
            },
            "voicemail": station.voicemail.state,
            "listen_in": station.listen_in,
            "messages": self.messages(),
            "stats": station.stats(runtime.now_ms()),
        }
        if self.mqtt is not None:
            result["mqtt"] = dict(self.mqtt.stats, connected=self.mqtt.connected)
        if self.http is not None:
            result["http"] = dict(self.http.stats)
        result["webhooks"] = [
            dict(webhook.stats, url=webhook.label, queued=webhook.queued)
            for webhook in self.webhooks
        ]
        return result

    def log_entries(self):
        return self.call_log.entries()

    def messages(self):
        """The visitors' messages on the door, newest first."""
        store = self.runtime.board.messages
        return store.messages() if store is not None else []

    def config_summary(self):
        summary = intercom_config.masked(self.runtime.config)
        for entry in summary["webhook"]:
            entry["url"] = _masked_url(entry["url"])
        return summary


def _masked_url(url):
    """scheme://authority/**** : a webhook path often is the secret."""
    scheme, separator, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    return scheme + separator + authority + slash + (intercom_config.SECRET_TEXT if path else "")
