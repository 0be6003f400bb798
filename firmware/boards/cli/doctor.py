# `intercom doctor -c CONFIG [--timeout S]` (CPython): checks a door's setup
# on the device or a desktop and prints, per check, "ok" or "FAIL" with what
# to fix. Exit 0 when every check passes, 1 otherwise.
#
#   config   boards.cli.config_file.load_config: every problem (this includes
#            GPIO pins used twice or on an I2S pin, see intercom.config's
#            _check_gpio); a bad config stops here
#   sip      each SIP peer we talk to (sip.server, else every call target):
#            resolved, then an OPTIONS request (RFC 3261 section 11) over UDP
#            from an ephemeral port, retransmitted on timer E (T1 = 500 ms,
#            doubling, section 17.1.2.2) until --timeout; the round trip and
#            the response status, or "no answer". A 5xx/6xx is a problem,
#            any other response shows a live SIP server. With sip.transport
#            = "tls" the OPTIONS goes over TLS (port 5061 unless given),
#            with the door's own certificate checks (boards.runtime.sip_tls):
#            a failed check is reported by its registration_failed reason
#            (tls_expired, ...) with what to fix
#   audio    rpi/sim: audio.input and audio.output opened as the boards open
#            them (file:, tone, silence, null, else an ALSA PCM at 8000 Hz
#            mono), then closed; no pyalsaaudio is reported as "no ALSA".
#            pico_w: the I2S pins (nothing to open from here)
#   echo     audio.echo = "aec" (rpi, sim): libspeexdsp.so.1 loads through
#            ctypes; without it the door runs half-duplex (a FAIL: install
#            libspeexdsp1); half_duplex and off are reported as chosen
#   gpio     the pins in use, with the I2S pins they stay clear of
#   prompt   voicemail.prompt plays: the file exists and is 8000 Hz mono
#            16-bit PCM (the default one is made by `make prompts`)
#   last call  the last call_ended in the call log (call_log.json next to
#            door.state_file, written by the running door): how it ended
#            and its audio, explained (boards.cli.last_call): a refusal
#            and its SIP code, NAT (the phone's audio from another address
#            than its SDP named), one-way audio, the media timeout, how
#            the phone sends DTMF. A failed call is a FAIL with what to fix

import json
import os
import random
import socket
import time

from intercom.app.identity import sip_uri
from intercom.errors import ConfigError
from intercom.pins import I2S_PINS, INPUTS, OUTPUTS
from intercom.sip.flow import TLS, default_port
from intercom.sip.grammar import parse_hostport

from boards.audio import alsa_audio, audio_files, echo_speex
from boards.audio.messages import MessageStore, default_prompt_folder
from boards.cli import config_file, last_call
from boards.runtime.addresses import StartError, resolve_host
from boards.services.call_log import path_next_to

EXIT_OK = 0
EXIT_PROBLEMS = 1
T1_S = 0.5
SIP_FIX = (
    "check that the SIP server runs and listens on UDP at this host:port, and that no "
    "firewall drops it (sip.server, or the host of each call.targets entry)"
)
TLS_FIXES = {
    "tls_untrusted": "give sip.tls_ca the CA that signed the server's certificate, or pin "
    "that certificate with sip.tls_fingerprint",
    "tls_hostname": "write in sip.server the name the server's certificate carries",
    "tls_expired": "renew the server's certificate (or set the door's clock right)",
    "tls_fingerprint": "sip.tls_fingerprint must be the SHA-256 fingerprint of the server's "
    "certificate (openssl x509 -noout -fingerprint -sha256)",
}
TLS_FIX = (
    "check the server's TLS settings and its log (a client certificate it wants: "
    "sip.tls_cert and sip.tls_key)"
)


class Report:
    def __init__(self, write):
        self.write = write
        self.problems = 0

    def ok(self, topic, text):
        self.write("  ok    %s: %s" % (topic, text))

    def note(self, topic, text):
        self.write("  note  %s: %s" % (topic, text))

    def fail(self, topic, text, fix):
        self.problems += 1
        self.write("  FAIL  %s: %s" % (topic, text))
        self.write("        fix: %s" % fix)


# -- SIP ----------------------------------------------------------------------


def sip_peers(config):
    """[(what, host, port)] the door talks to: the server, else each target."""
    server = config["sip"]["server"]
    port_default = default_port(config["sip"]["transport"])
    if server:
        host, port = parse_hostport(server)  # the config check accepted it
        return [("sip.server", host, port or port_default)]
    peers = []
    for index, target in enumerate(config["call"]["targets"]):
        parsed = sip_uri(target)
        if parsed is not None:  # a bare user is reached through the server only
            peers.append(("call.targets[%d]" % index, parsed.host, parsed.port or port_default))
    return peers


def options_request(config, address, local, transport="UDP"):
    """An OPTIONS request to address from local, and its Call-ID."""
    tag = "%08x" % random.getrandbits(32)
    call_id = "%016x@doctor" % random.getrandbits(64)
    user = config["sip"]["user"]
    domain = config["sip"]["domain"] or address[0]
    lines = [
        "OPTIONS sip:%s:%d SIP/2.0" % address,
        "Via: SIP/2.0/%s %s:%d;branch=z9hG4bK%s;rport" % (transport, local[0], local[1], tag),
        "Max-Forwards: 70",
        "From: <sip:%s@%s>;tag=%s" % (user, domain, tag),
        "To: <sip:%s:%d>" % address,
        "Call-ID: %s" % call_id,
        "CSeq: 1 OPTIONS",
        "Contact: <sip:%s@%s:%d>" % (user, local[0], local[1]),
        "Accept: application/sdp",
        "User-Agent: intercom-doctor",
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode(), call_id


def _status_of(data, call_id):
    """(code, reason) of a response to our request, else None."""
    text = data.decode("utf-8", "replace")
    first, _, rest = text.partition("\r\n")
    parts = first.split(" ", 2)
    if len(parts) < 2 or parts[0] != "SIP/2.0" or not parts[1].isdigit():
        return None
    if call_id not in rest:
        return None
    return int(parts[1]), parts[2] if len(parts) > 2 else ""


def options_ping(config, host, port, timeout_s):
    """(code, reason, round_trip_ms) of the first final response, or None."""
    address = (host, port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.connect(address)
        request, call_id = options_request(config, address, sock.getsockname())
        started = time.monotonic()
        deadline = started + timeout_s
        interval = T1_S
        next_send = started
        while True:
            now = time.monotonic()
            if now >= deadline:
                return None
            if now >= next_send:
                sock.send(request)
                next_send = now + interval
                interval *= 2
            sock.settimeout(max(0.001, min(deadline, next_send) - now))
            try:
                data = sock.recv(65535)
            except TimeoutError:
                continue
            except ConnectionRefusedError:  # ICMP port unreachable: keep trying
                continue
            status = _status_of(data, call_id)
            if status is not None and status[0] >= 200:
                return status[0], status[1], (time.monotonic() - started) * 1000
    finally:
        sock.close()


def tls_options(config, host, name, port, timeout_s):
    """OPTIONS over TLS to host:port, the certificate checked for name as
    the door checks it: ("ok", code, reason, round_trip_ms, TLS version)
    or ("fail", what, fix)."""
    from boards.runtime.sip_tls import SipTls

    sip = config["sip"]
    try:
        tls = SipTls(sip["tls_ca"], sip["tls_fingerprint"], sip["tls_cert"], sip["tls_key"])
    except (OSError, ValueError) as error:
        return "fail", "sip.tls_ca, tls_cert or tls_key: %s" % error, "check those files"
    tls.names[host] = name
    started = time.monotonic()
    deadline = started + timeout_s
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except OSError as error:
        return "fail", "cannot connect over TCP: %s" % error, SIP_FIX.replace("UDP", "TLS")
    try:
        session = tls.client(host)
        request, call_id = options_request(config, (host, port), sock.getsockname(), "TLS")
        session.write(request)  # sent once the handshake is done
        received = b""
        while True:
            output = session.take_output()
            if output:
                sock.sendall(output)
            left = deadline - time.monotonic()
            if left <= 0:
                return "fail", "no answer in %g s" % timeout_s, SIP_FIX.replace("UDP", "TLS")
            sock.settimeout(left)
            try:
                data = sock.recv(65535)
            except TimeoutError:
                continue
            except OSError as error:
                return "fail", "connection lost: %s" % error, TLS_FIX
            plain = session.feed(data) if data else None
            if plain is None:
                reason = session.failure or "closed"
                if not session.established and reason == "closed":
                    reason = "tls_handshake"
                detail = "%s (%s)" % (reason, session.detail) if session.detail else reason
                return "fail", detail, TLS_FIXES.get(reason, TLS_FIX)
            received += plain
            status = _status_of(received, call_id)
            if status is not None and status[0] >= 200:
                elapsed = (time.monotonic() - started) * 1000
                return "ok", status[0], status[1], elapsed, session.version()
    finally:
        sock.close()


def check_sip(report, config, timeout_s):
    peers = sip_peers(config)
    if not peers:
        report.fail(
            "sip", "no server and no call target to reach", "set sip.server or call.targets"
        )
    for what, name, port in peers:
        topic = "sip %s" % what
        try:
            host = resolve_host(name.strip("[]"), what)
        except StartError as error:
            report.fail(topic, str(error), "check the name, DNS and the network")
            continue
        shown = "OPTIONS sip:%s:%d" % (name, port) + ("" if host == name else " (%s)" % host)
        if config["sip"]["transport"] == TLS:
            answer = tls_options(config, host, name, port, timeout_s)
            if answer[0] == "fail":
                report.fail(topic, "%s over TLS: %s" % (shown, answer[1]), answer[2])
                continue
            _, code, reason, elapsed, version = answer
            shown = "%s over %s, certificate checked" % (shown, version)
            answer = (code, reason, elapsed)
        else:
            answer = options_ping(config, host, port, timeout_s)
        if answer is None:
            report.fail(topic, "%s: no answer in %g s" % (shown, timeout_s), SIP_FIX)
        elif answer[0] >= 500:
            report.fail(
                topic,
                "%s -> %d %s in %.1f ms" % (shown, answer[0], answer[1], answer[2]),
                "the server is there but refuses service: check its logs",
            )
        else:
            report.ok(topic, "%s -> %d %s in %.1f ms" % (shown, answer[0], answer[1], answer[2]))


# -- audio --------------------------------------------------------------------


def _check_input(report, spec, frame_samples):
    if spec in ("tone", "silence"):
        report.ok("audio.input", "'%s' (no device)" % spec)
        return
    try:
        source = audio_files.open_source(spec)
        if source is None:
            if not alsa_audio.available():
                report.fail(
                    "audio.input",
                    "no ALSA: pyalsaaudio is not installed, cannot open '%s'" % spec,
                    "install pyalsaaudio (apt python3-alsaaudio, or pip) or use a file: input",
                )
                return
            source = alsa_audio.AlsaSource(spec, frame_samples)
            report.ok("audio.input", "ALSA PCM '%s' opens for capture (8000 Hz mono)" % spec)
        else:
            report.ok("audio.input", "'%s' opens" % spec)
        source.close()
    except audio_files.AudioError as error:
        report.fail("audio.input", str(error), "check the device name (arecord -L) or the file")


def _check_output(report, spec, frame_samples):
    path = audio_files.file_path(spec)
    if spec == "null":
        report.ok("audio.output", "'null' (no device)")
    elif path is not None:
        folder = os.path.dirname(os.path.abspath(path))
        if os.access(folder, os.W_OK):
            report.ok("audio.output", "'%s' can be written" % spec)
        else:
            report.fail("audio.output", "cannot write in %s" % folder, "choose a writable path")
    elif not alsa_audio.available():
        report.fail(
            "audio.output",
            "no ALSA: pyalsaaudio is not installed, cannot open '%s'" % spec,
            "install pyalsaaudio (apt python3-alsaaudio, or pip) or use null / a file: output",
        )
    else:
        try:
            alsa_audio.AlsaSink(spec, frame_samples).close()
            report.ok("audio.output", "ALSA PCM '%s' opens for playback (8000 Hz mono)" % spec)
        except audio_files.AudioError as error:
            report.fail("audio.output", str(error), "check the device name (aplay -L)")


def check_audio(report, config):
    board = config["device"]["board"]
    if board == "pico_w":
        pins = I2S_PINS["pico_w"]
        report.ok(
            "audio",
            "I2S mic %s, amp %s (checked on the board)" % (_pins(pins["mic"]), _pins(pins["amp"])),
        )
        return
    frame_samples = 8000 * config["audio"]["ptime"] // 1000
    _check_input(report, config["audio"]["input"], frame_samples)
    _check_output(report, config["audio"]["output"], frame_samples)
    check_echo(report, config["audio"])


def check_echo(report, audio):
    mode = audio["echo"]
    if mode != "aec":
        report.ok("audio.echo", "%s (chosen in the config)" % mode)
    elif echo_speex.load() is None:
        report.fail(
            "audio.echo",
            "aec, but libspeexdsp.so.1 is not installed: the door runs half-duplex instead",
            "install libspeexdsp1 (apt-get install libspeexdsp1)",
        )
    else:
        report.ok(
            "audio.echo",
            "aec: libspeexdsp loads (tail %d ms, delay %s)"
            % (
                audio["echo_tail_ms"],
                "measured" if audio["echo_delay_ms"] is None else "%d ms" % audio["echo_delay_ms"],
            ),
        )


# -- GPIO ---------------------------------------------------------------------


def _pins(signals):
    return " ".join("%s %d" % (name, signals[name]) for name in ("sck", "ws", "sd"))


def check_gpio(report, config):
    gpio = config["gpio"]
    used = ", ".join("button %d on %d" % (b["id"], b["pin"]) for b in config["button"])
    used += ", relay %d, led %d" % (gpio["relay"], gpio["led"])
    for name in INPUTS + OUTPUTS:
        if gpio[name] is not None:
            used += ", %s %d" % (name, gpio[name])
    i2s = I2S_PINS.get(config["device"]["board"])
    if i2s:
        reserved = sorted({pin for signals in i2s.values() for pin in signals.values()})
        used += "; clear of the I2S pins %s" % ", ".join(str(pin) for pin in reserved)
    report.ok("gpio", "%s; no pin used twice" % used)


# -- voicemail and the last call ---------------------------------------------


def check_prompt(report, config):
    voicemail = config["voicemail"]
    if config["device"]["board"] == "pico_w":
        where = "on the Pico W's flash, put there by make flash"
        report.ok("voicemail.prompt", "%s (%s)" % (voicemail["prompt"], where))
        return
    store = MessageStore(voicemail, default_prompt_folder())
    if store.prompt_path is None:
        report.ok("voicemail.prompt", 'the special information tone (prompt = "tone")')
    elif store.problem is not None:
        if voicemail["prompt"] == "default":
            fix = "run make prompts (host_tools/prompts: espeak-ng and sox)"
        else:
            fix = "give an 8000 Hz mono 16-bit PCM WAV (sox IN.wav -r 8000 -c 1 -b 16 OUT.wav)"
        report.fail("voicemail.prompt", store.problem, fix)
    else:
        report.ok("voicemail.prompt", "%s plays" % store.prompt_path)


def last_call_entry(config):
    """(the last call_ended entry of the call log or None, its path)."""
    path = path_next_to(config["door"]["state_file"])
    try:
        with open(path) as source:
            entries = json.load(source)["entries"]
    except (OSError, ValueError, KeyError, TypeError):
        return None, path
    for entry in reversed(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict) and entry.get("event") == "call_ended":
            return entry, path
    return None, path


def check_last_call(report, config):
    if config["device"]["board"] == "pico_w":
        report.ok("last call", "a Pico W keeps no call log: its call_ended events go to MQTT")
        return
    entry, path = last_call_entry(config)
    if entry is None:
        report.ok("last call", "none in %s yet" % path)
        return
    when = entry.get("time_ms")
    topic = "last call"
    if isinstance(when, int):
        topic += " " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when / 1000))
    for kind, text, fix in last_call.explain(entry):
        if kind == "fail":
            report.fail(topic, text, fix)
        elif kind == "note":
            report.note(topic, text)
        else:
            report.ok(topic, text)


def run(path, timeout_s=2.0, write=print):
    write("intercom doctor: %s" % path)
    report = Report(write)
    try:
        config = config_file.load_config(path, warn=lambda text: write("  warn  " + text))
    except ConfigError as error:
        for problem in error.problems:
            report.fail("config", problem, "edit the key named above (intercom config check)")
        write("%d problem(s); the other checks need a valid config" % report.problems)
        return EXIT_PROBLEMS
    report.ok("config", "valid, board %s" % config["device"]["board"])
    check_sip(report, config, timeout_s)
    check_audio(report, config)
    check_gpio(report, config)
    check_prompt(report, config)
    check_last_call(report, config)
    if report.problems:
        write("%d problem(s)" % report.problems)
        return EXIT_PROBLEMS
    write("all good")
    return EXIT_OK
