# The board-independent glue between the sans-I/O Station and the world:
# sockets, the loop, the clock, DNS, the door state file and event output.
# Runs on CPython and on MicroPython (unix port, Pico W).
#
# Use (a board module):
#
#   board = MyBoard(...)                  # relay OFF in its constructor
#   runtime = Runtime(config, board, local_host=None, exit_after_call=False,
#                     services_factory=None)
#   return runtime.run()                  # exit status: EXIT_OK / EXIT_FAILURE
#
# Board modules (boards.sim.board, boards.rpi.board, boards.pico_w.board) expose
#   run(config, log_mode="json", exit_after_call=False, local_host=None)
# returning the exit status; the CLI and main.py call it. config is the
# effective config (boards.cli.config_file.load_config, with relative paths
# already resolved from the config file's folder).
#
# Board hooks (the board object; BoardBase gives emit and the clock):
#   name                       "sim" | "rpi" | "pico_w" (for messages)
#   set_relay(on)              drive the door relay; the runtime calls it with
#                              False before anything else and after the stop
#   set_led(pattern)           "off" | "on" | "slow" | "fast" | "double"
#                              (the board blinks it)
#   emit(event)                one event dict out (boards.runtime.event_log:
#                              --log json/text)
#   now_wallclock_ms()         Unix-epoch ms (RTCP sender reports)
#   utc_now_ms()               Unix-epoch ms for quiet hours, None while the
#                              board does not know the time (BoardBase: the
#                              system clock; pico_w: its SNTP answer)
#   output_names               the outputs the board has (intercom.app.station
#                              OUTPUTS: chime, calling, talking, door_open);
#                              set_output(name, on) drives one
#   read_mic_frame(buffer)     fill buffer (ptime * 16 bytes, s16le) with mic PCM
#   play_frame(pcm)            play ptime ms of speaker PCM
#   audio_path_delay_ms(ptime) where the echo of a played frame starts in the
#                              mic, counted from the tick that played it
#                              (BoardBase: one frame; asked after attach)
#   drives_audio               False: the runtime calls read_mic_frame/play_frame
#                              every audio.ptime ms from a loop timer. True: the
#                              board paces audio from its device (ALSA poll
#                              descriptors, I2S irq) and calls
#                              runtime.exchange_audio(mic) -> speaker PCM itself
#   messages                   the voicemail's prompt and message files
#                              (boards.audio.messages.MessageStore), or None
#                              (BoardBase: the tone only); its .problem, a
#                              prompt that cannot play, is an `error` event
#                              at start
#   attach(runtime)            once the Station exists, before it starts: add
#                              readers (buttons, stdin, audio device) with
#                              runtime.loop.add_reader, timers with
#                              runtime.loop.call_every
#   close()                    release devices (files, PCMs); after the stop
#
# Services hook: Runtime(..., services_factory=build) where build(runtime,
# log) returns the optional services (MQTT, status page, webhooks, call log;
# boards.services.start.build_services) or None; _open() attaches them
# after board.attach (a service that cannot work reports an `error` event
# and retries: it never stops the door); flush() hands every
# event to services.on_event after board.emit; _stop() calls
# services.close() before board.close(); test_ring() is a press and
# release for the services (MQTT, HTTP); remote_open(source) asks the door
# policy to open (mqtt/http allow_open); set_quiet_mode(mode, source) and
# reset_tamper(source) pass the owner's switch and the tamper reset on.
# The runtime knows no service by name.
# Services schedule through runtime.service_loop (boards.runtime.service_loop),
# which guards their callbacks; attach/on_event/close are guarded the same
# way: an error in service code is an `error` event, never the door's end.
#
# Echo control hook: Runtime(..., echo_factory=open) where open(config,
# path_delay_ms, log) returns the stage audio.echo asks for or None (the
# boards pass boards.audio.echo_control.open_echo_control); built after
# board.attach; exchange_audio passes the mic frame through its process()
# before the Station and hands it the Station's speaker frame (played()),
# the one the board plays; closed before board.close().
#
# What a board calls back:
#   runtime.loop                          the boards.runtime.loop.Loop
#   runtime.button(pressed, number=1)     a [[button]] by its id
#   runtime.input(name, active)           door_contact / exit_button / tamper
#   runtime.hangup()
#   runtime.exchange_audio(mic_pcm) -> speaker PCM (drives_audio boards)
#   runtime.borrow_sip_socket(peer, receive) -> send(data)   talk to peer
#                                         (host, port) over the SIP socket:
#                                         its datagrams go to receive(data,
#                                         now_ms), never to the SIP stack
#                                         (pico_w's SNTP: no socket to spare)
#   runtime.request_exit(reason)          graceful stop (quit, signal)
#   runtime.now_ms()                      the loop clock (compat ticks)
#   runtime.station                       the Station (read .state etc., no calls)
#   log(text)                             a human line on stderr
#
# Start (run()): relay off; sip.server, sip.trusted and, peer-to-peer,
# call.targets are resolved to IPv4 addresses (boards.runtime.addresses; the core
# does no DNS); local_host is the argument, else our address towards the server
# or the first target (find_local_host); SIP binds sip.local_port there, over
# UDP and with a TCP listener on the same port (0: a port free for both;
# boards.runtime.tcp), RTP an even port with RTCP on the next (audio.rtp_port,
# 0 = any); the saved door state is read. A failure of any of these is an
# `error` event, a line on stderr and EXIT_FAILURE, with nothing left open.
# A network stack without TCP (a TCP socket cannot even be made) leaves the
# door on UDP with an `error` event, unless sip.transport is tcp.
# With sip.transport = "tls" (CPython: boards.runtime.sip_tls) the stream
# listener speaks TLS instead of TCP, and only with sip.tls_cert/tls_key
# (without them no listener: peers reach the door over the connections it
# opens); the certificate files are read at start (a bad one is a
# StartError naming the key), and the connections to sip.server check its
# certificate against the name sip.server gives, not the address it
# resolved to.
#
# SIP flows (intercom.sip.flow): a UDP datagram arrives as ("udp", host,
# port, 0); a TCP connection's framed items as ("tcp", host, port, id), a
# TLS one's as ("tls", host, port, id).
# flush() sends each SIP datagram by its flow's transport (UDP socket, or
# boards.runtime.tcp.SipStreams: the connection, any to the address, or a
# new one) and closes the flows the station gives up; the streams report a
# closed, refused or unframeable connection to station.sip_flow_failed (a
# TLS failure with its reason).
#
# The driver contract (aioquic style): after every input (a datagram burst,
# a timer, a command, an audio frame) flush() sends every datagram the
# Station has, drives relay, LED and the board's outputs from .relay_on,
# .led and .output(name), writes the door state when it changed, hands
# every event to board.emit and re-arms ONE loop timer at station.get_timer().
#
# Local time (only with [[schedule]]): every LOCAL_TIME_MS and before each
# press, station.set_local_time((weekday, minute of the day)) from
# board.utc_now_ms(): through time.zone (intercom.tz) when the config names
# one, else the system's zone (time.localtime: CPython and the unix port);
# None while the board does not know the time.
#
# Media: the RTP socket is not polled. Each audio frame (the sim's ptime
# timer, or the board's audio device) first reads the RTP that arrived
# since the last frame, then runs the frame, then sends only the RTP out
# unless station.needs_flush() (Station's media fast path). One wake-up per
# frame instead of two halves the door's CPU in a call; arrival times are
# those of the frame that reads them, the moment the jitter buffer could
# first play them anyway. RTCP (a few packets per call) is polled.
#
# Exit: request_exit() (the `quit` command, SIGINT/SIGTERM on CPython,
# KeyboardInterrupt on MicroPython, or the first call_ended with
# exit_after_call) -> station.stop(now), keep pumping until .stopped or
# STOP_GRACE_MS, relay off, board.close(), sockets closed. On CPython the
# signal handlers only set a flag; the audio timer wakes the loop every
# ptime ms, so the flag is seen within one frame. An exception escaping the
# loop (a bug) still turns the relay off on its way out.

import errno
import gc
import os
import time

from intercom import compat, events
from intercom.app.station import MAX_MESSAGE_SIZE, Station
from intercom.sip.flow import TLS, UDP, flow_address, make_flow
from intercom.sip.grammar import parse_hostport

from boards.runtime import state_file
from boards.runtime.addresses import (
    StartError,
    bind_rtp_pair,
    find_local_host,
    first_peer,
    resolved_config,
)
from boards.runtime.event_log import EventLog, log
from boards.runtime.loop import Loop
from boards.runtime.service_loop import ServiceLoop
from boards.runtime.tcp import SipStreams
from boards.runtime.udp import FOREIGN, UdpSocket

try:
    # CPython only; MicroPython has no signal module (the type check against
    # the Pico stubs knows that): the except branch runs there.
    import signal  # pyright: ignore[reportMissingImports]
except ImportError:  # MicroPython: Ctrl-C arrives as KeyboardInterrupt
    signal = None

EXIT_OK = 0
EXIT_FAILURE = 1
RECEIVE_BURST = 32  # datagrams read per socket per wakeup
# recvfrom allocates its whole size before trimming, and it needs that size
# in one piece: on MicroPython keep it small (UdpSocket.receive spares the
# read that would find nothing). SIP over UDP should stay under the path MTU (RFC 3261
# 18.1.1 sends requests over 1300 bytes by TCP), so 4 KiB leaves room; a
# longer request arrives cut, shorter than its Content-Length, and gets a
# 400 (RFC 3261 18.3). G.711 RTP is 172 bytes per 20 ms; 1 KiB holds frames
# up to 120 ms.
SIP_RECEIVE_BYTES = 65536 if not compat.IS_MICROPYTHON else 4096
MEDIA_RECEIVE_BYTES = 2048 if not compat.IS_MICROPYTHON else 1024
STOP_GRACE_MS = 1000
LOCAL_TIME_MS = 1000  # quiet hours start within a second of their minute
SIP_BIND_ATTEMPTS = 16  # sip.local_port 0: ports tried for UDP and TCP at once


def wallclock_ms():
    """Unix-epoch milliseconds from the interpreter's time module."""
    if hasattr(time, "time_ns"):
        return time.time_ns() // 1000000
    return int(time.time() * 1000)


class BoardBase:
    """Event output and the wall clock shared by every board."""

    name = "board"
    drives_audio = False
    output_names = ()
    messages = None

    def __init__(self, log_mode):
        self.event_log = EventLog(log_mode)

    def emit(self, event):
        self.event_log.emit(event)

    def now_wallclock_ms(self):
        return wallclock_ms()

    def audio_path_delay_ms(self, ptime_ms):
        return ptime_ms

    def utc_now_ms(self):
        return wallclock_ms()

    def set_output(self, name, on):
        """Boards that list output_names drive them here."""

    def attach(self, runtime):
        pass

    def close(self):
        pass


# -- one datagram in or out ---------------------------------------------------------------
#
# The 20 ms path's functions stay small: MicroPython keeps a call's frame on
# the C stack only up to 11 words (arguments, locals, value stack and 3 per
# try block) and allocates a larger one from the heap at every call, some
# 10-25k cycles on a Pico W. Each try therefore sits in a function of its own.


def _send_datagram(sock, datagram):
    """Sends one (data, (host, port)); a failure is logged, not raised.
    (`except ... as` alone takes 6 words of the frame: the reason is read
    by _send_again, only after a send failed.)"""
    try:
        sock.sendto(datagram[0], datagram[1])
        return
    except OSError:  # unreachable peer, full buffer, an ICMP error pending
        pass
    _send_again(sock, datagram)


def _send_again(sock, datagram):
    """A send that failed, tried once more: the log says why it failed
    again, or that it went out on the second try (a pending ICMP error, a
    full buffer that drained); UDP may lose it either way."""
    address = datagram[1]
    try:
        sock.sendto(datagram[0], address)
    except OSError as error:
        log("intercom: send to %s:%d failed: %s" % (address[0], address[1], error))
        return
    log("intercom: send to %s:%d failed once, sent on the second try" % address)


# -- the runtime ----------------------------------------------------------------------


class Runtime:
    def __init__(
        self,
        config,
        board,
        local_host=None,
        exit_after_call=False,
        loop=None,
        services_factory=None,
        echo_factory=None,
    ):
        self.config = config
        self.board = board
        self.local_host = local_host
        self.exit_after_call = exit_after_call
        self.loop = loop if loop is not None else Loop()
        self.station = None
        self.sockets = []
        self.sip_streams = None
        self.exit_reason = None
        self._timer = None
        self._timer_deadline = None
        self._relay = None
        self._led = None
        self._borrowed = {}  # peer address -> receive(data, now_ms): borrow_sip_socket
        self._outputs = {}  # output name -> the level last driven (boards start them off)
        for name in board.output_names:
            self._outputs[name] = False
        self._zone = None
        zone = config["time"]["zone"]
        if zone:  # imported only when used: a Pico W's heap holds every module
            from intercom import tz

            self._zone = tz.parse(zone)
        self.services_factory = services_factory
        self.services = None
        self.service_loop = ServiceLoop(self.loop, self._service_failed)
        self._service_failures_reported = []
        self.echo_factory = echo_factory
        self.echo = None
        self._mic = None  # the microphone frame _audio_tick reads into

    def now_ms(self):
        return self.loop.clock.now_ms()

    def _started(self):
        """The Station, which exists from _open() on (our misuse raises)."""
        station = self.station
        if station is None:
            raise RuntimeError("the runtime has not started")
        return station

    # -- start and stop ---------------------------------------------------------------

    def run(self):
        """Start, run until an exit is requested, stop; returns the exit status."""
        self._set_relay(False)
        try:
            self._open()
        except StartError as error:
            self.board.emit(events.error(self.now_ms(), str(error)))
            log("intercom: %s" % error)
            self._close_sockets()
            self.board.close()
            return EXIT_FAILURE
        self._install_signal_handlers()
        try:
            try:
                self._started().start(self.now_ms())
                self.flush()
                self._report_prompt_problem()
                while self.exit_reason is None:
                    self.loop.run_once()
            except KeyboardInterrupt:
                self.exit_reason = "interrupt"
            log("intercom: stopping (%s)" % self.exit_reason)
            self._stop()
        finally:  # also on a crash: the door must not stay open (principle 5)
            self._set_relay(False)
        return EXIT_OK

    def _open(self):
        config = resolved_config(self.config)
        if self.local_host is None:
            self.local_host = find_local_host(first_peer(config))
        host = self.local_host
        sip = self._bind_sip(host, config["sip"], _tls_names(self.config, config))
        rtp, rtcp = bind_rtp_pair(host, config["audio"]["rtp_port"])
        self.sockets.append(rtp)
        self.sockets.append(rtcp)
        self.sip_socket, self.rtp_socket, self.rtcp_socket = sip, rtp, rtcp
        saved = state_file.read_state(config["door"]["state_file"])
        srtp_factory = None
        if config["audio"]["srtp"] != "off":
            from boards.runtime.srtp import srtp_implementation

            srtp_factory = srtp_implementation()
        self.station = Station(
            config,
            os.urandom,
            self.now_ms(),
            host,
            sip.local_address[1],
            rtp.local_address[1],
            saved_door_state=saved,
            srtp_factory=srtp_factory,
            messages=self.board.messages,
        )
        log(
            "intercom: %s board, SIP %s:%d, RTP %d"
            % (self.board.name, host, sip.local_address[1], rtp.local_address[1])
        )
        self.loop.add_reader(sip, self._on_sip)
        self.loop.add_reader(rtcp, self._on_rtcp)
        if not self.board.drives_audio:
            # Only here: a board that drives its audio has its own buffers
            # (on a Pico W these 16 * ptime bytes would lie idle in the heap).
            self._mic = bytearray(16 * self.config["audio"]["ptime"])
            self.loop.call_every(self.config["audio"]["ptime"], self._audio_tick)
        if self.config["schedule"]:
            self.loop.call_every(LOCAL_TIME_MS, self._tell_local_time)
        self.board.attach(self)
        if self.echo_factory is not None:
            ptime = self.config["audio"]["ptime"]
            delay_ms = self.board.audio_path_delay_ms(ptime)
            self.echo = self.echo_factory(self.config, delay_ms, log)
        if self.services_factory is not None:
            self.services = self.services_factory(self, log)
            if self.services is not None:
                self.service_loop.call(self.services.attach)
        gc.collect()  # start with the import garbage gone: big receives need room

    def _bind_sip(self, host, sip_config, tls_names):
        """The SIP UDP socket, and the TCP (or TLS) listener on its port
        (see the top)."""
        port = sip_config["local_port"]
        tls = _sip_tls(sip_config, tls_names) if sip_config["transport"] == TLS else None
        for _ in range(SIP_BIND_ATTEMPTS if port == 0 else 1):
            try:
                sip = UdpSocket(host, port)
            except OSError as error:
                reason = "cannot bind SIP on %s port %d: %s" % (host, port, error)
                raise StartError(reason) from None
            if tls is not None:
                streams = SipStreams(self.loop, self, MAX_MESSAGE_SIZE, TLS, tls)
                if sip_config["tls_cert"] is None:
                    self.sockets.append(sip)
                    self.sip_streams = streams
                    return sip
            else:
                streams = SipStreams(self.loop, self, MAX_MESSAGE_SIZE)
            try:
                streams.listen(host, sip.local_address[1])
            except OSError as error:
                if error.args[0] == errno.EADDRINUSE and port == 0:
                    sip.close()
                    continue  # that port is free for UDP only: another one
                if error.args[0] == errno.EADDRINUSE or sip_config["transport"] != UDP:
                    sip.close()
                    raise StartError(
                        "cannot listen for SIP over TCP on %s port %d: %s"
                        % (host, sip.local_address[1], error)
                    ) from None
                self.board.emit(events.error(self.now_ms(), "SIP over TCP unavailable: %s" % error))
                log("intercom: SIP over TCP unavailable (%s): UDP only" % error)
                streams = None
            self.sockets.append(sip)
            self.sip_streams = streams
            return sip
        raise StartError("no port on %s is free for SIP over both UDP and TCP" % host)

    def _report_prompt_problem(self):
        messages = self.board.messages
        if messages is not None and messages.problem is not None:
            log("intercom: " + messages.problem)
            self.board.emit(events.error(self.now_ms(), messages.problem))

    def _install_signal_handlers(self):
        if signal is None:
            return
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, self._on_signal)

    def _on_signal(self, number, frame):
        self.request_exit("signal %d" % number)

    def request_exit(self, reason):
        if self.exit_reason is None:
            self.exit_reason = reason

    def _stop(self):
        now = self.now_ms()
        station = self._started()
        station.stop(now)
        self.flush()
        deadline = compat.ticks_add(now, STOP_GRACE_MS)
        guard = self.loop.call_later(STOP_GRACE_MS, self.flush)
        try:
            while not station.stopped and compat.ticks_diff(deadline, self.now_ms()) > 0:
                self.loop.run_once()
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop now
        guard.cancel()
        self._set_relay(False)
        for name in self.board.output_names:
            if self._outputs.get(name):
                self._outputs[name] = False
                self.board.set_output(name, False)
        if self.services is not None:
            self.service_loop.call(self.services.close)
        if self.echo is not None:
            self.echo.close()
        self.board.close()
        self._close_sockets()

    def _close_sockets(self):
        for sock in self.sockets:
            self.loop.remove_reader(sock)
            sock.close()
        self.sockets = []
        if self.sip_streams is not None:
            self.sip_streams.close()
            self.sip_streams = None

    # -- inputs ---------------------------------------------------------------------

    def _receive(self, sock, size, deliver):
        for _ in range(RECEIVE_BURST):
            received = sock.receive(size)
            if received is None:  # drained
                break
            if received is not FOREIGN:
                deliver(received[0], received[1])
        self.flush()

    def _on_sip(self, sock, poll_events):
        station = self._started()
        borrowed = self._borrowed

        def deliver(data, address):
            receive = borrowed.get(address) if borrowed else None
            if receive is None:
                station.receive_sip(data, make_flow(UDP, address), self.now_ms())
            else:
                receive(data, self.now_ms())

        self._receive(sock, SIP_RECEIVE_BYTES, deliver)

    def borrow_sip_socket(self, peer, receive):
        """See the top; peer is an (IPv4 address, port) pair."""
        self._borrowed[peer] = receive
        return lambda data: self._send(self.sip_socket, [(data, peer)])

    # the SIP streams' sink (boards.runtime.tcp.SipStreams)

    def deliver(self, data, flow):
        self._started().receive_sip(data, flow, self.now_ms())
        self.flush()

    def failed(self, flow, framing, reason=None):
        self._started().sip_flow_failed(flow, self.now_ms(), framing, reason)
        self.flush()

    def accepts(self, flow):
        return self._started().accepts_sip_connection(flow, self.now_ms())

    def _on_rtcp(self, sock, poll_events):
        station = self._started()
        wallclock = self.board.now_wallclock_ms

        def deliver(data, address):
            station.receive_rtcp(data, address, self.now_ms(), wallclock())

        self._receive(sock, MEDIA_RECEIVE_BYTES, deliver)

    def button(self, pressed, number=1):
        if pressed and self.config["schedule"]:
            self._tell_local_time(False)
        self._started().button(pressed, self.now_ms(), number)
        self.flush()

    def input(self, name, active):
        self._started().input(name, active, self.now_ms())
        self.flush()

    def local_time(self):
        """(weekday 0 = Monday, minute of the day) now, or None (see the top)."""
        utc_ms = self.board.utc_now_ms()
        if utc_ms is None:
            return None
        if self._zone is not None:
            fields = self._zone.local(utc_ms // 1000)
            return (fields[6], fields[3] * 60 + fields[4])
        fields = time.localtime(utc_ms // 1000)
        return (fields[6], fields[3] * 60 + fields[4])

    def _tell_local_time(self, flush=True):
        self._started().set_local_time(self.local_time(), self.now_ms())
        if flush:
            self.flush()

    def set_quiet_mode(self, mode, source):
        changed = self._started().set_quiet_mode(mode, source, self.now_ms())
        self.flush()
        return changed

    def reset_tamper(self, source):
        reset = self._started().reset_tamper(source, self.now_ms())
        self.flush()
        return reset

    def hangup(self):
        self._started().hangup(self.now_ms())
        self.flush()

    def test_ring(self):
        self.button(True)
        self.button(False)

    def remote_open(self, source):
        opened = self._started().remote_open(source, self.now_ms())
        self.flush()
        return opened

    def _audio_tick(self):
        mic = self._mic
        self.board.read_mic_frame(mic)
        self.board.play_frame(self.exchange_audio(mic))

    def exchange_audio(self, mic_pcm):
        """One ptime frame: the RTP that arrived since the last frame and the
        mic PCM in, speaker PCM out (valid until the next call)."""
        station = self._started()
        now = self.now_ms()
        self._read_rtp(station, now)
        echo = self.echo
        if echo is not None:
            mic_pcm = echo.process(mic_pcm)
        speaker = station.audio_frame(mic_pcm, now)
        if echo is not None:
            echo.played(speaker)
        self._flush_media(station)
        return speaker

    def _read_rtp(self, station, now):
        """The RTP that arrived since the last frame, up to RECEIVE_BURST
        datagrams, into the station."""
        rtp = self.rtp_socket
        left = RECEIVE_BURST
        while left:
            left -= 1
            received = rtp.receive(MEDIA_RECEIVE_BYTES)
            if received is None:  # nothing more arrived
                return
            if received is not FOREIGN:
                station.receive_rtp(received[0], received[1], now)

    def _on_timer(self):
        self._timer = None
        self._timer_deadline = None
        self._started().handle_timer(self.now_ms(), self.board.now_wallclock_ms())
        self.flush()

    # -- outputs ----------------------------------------------------------------------

    def _send(self, sock, datagrams):
        """datagrams: a list or tuple of (data, (host, port))."""
        count = len(datagrams)
        index = 0
        while index < count:
            _send_datagram(sock, datagrams[index])
            index += 1

    def _flush_media(self, station):
        if station.needs_flush():
            self.flush()
        else:
            self._send(self.rtp_socket, station.rtp_datagrams())

    def _send_sip(self, datagrams):
        streams = self.sip_streams
        for data, flow in datagrams:
            if flow[0] == UDP:
                self._send(self.sip_socket, ((data, flow_address(flow)),))
            elif streams is not None and flow[0] == streams.transport:
                streams.send(data, flow)
            else:  # no TCP (or TLS) here: a failed flow, reported from the loop
                self.loop.call_later(0, lambda flow=flow: self.failed(flow, False))

    def flush(self):
        station = self._started()
        now = self.now_ms()
        for flow in station.sip_flows_to_close():  # first: what follows needs a new one
            if self.sip_streams is not None:
                self.sip_streams.close_flow(flow)
        self._send_sip(station.sip_datagrams(now))
        self._send(self.rtp_socket, station.rtp_datagrams())
        self._send(self.rtcp_socket, station.rtcp_datagrams(now, self.board.now_wallclock_ms()))
        self._set_relay(station.relay_on)
        state = station.door_state_to_save(now)
        if state is not None:
            try:
                state_file.save_state(self.config["door"]["state_file"], state)
            except OSError as error:
                log("intercom: cannot save the door state: %s" % error)
        event = station.next_event()
        while event is not None:
            self.board.emit(event)
            if self.services is not None:
                self.service_loop.call(self.services.on_event, event)
            if self.exit_after_call and event["event"] == events.CALL_ENDED:
                self.request_exit("call ended")
            event = station.next_event()
        if station.led != self._led:
            self._led = station.led
            self.board.set_led(self._led)
        for name in self.board.output_names:
            level = station.output(name)
            if self._outputs.get(name) != level:
                self._outputs[name] = level
                self.board.set_output(name, level)
        self._arm_timer(now, station.get_timer())
        station.flushed()

    def _service_failed(self, callback, error):
        """An error in service code: logged; the first of each callback is an
        `error` event (a broken periodic callback must not flood the log)."""
        where = getattr(callback, "__name__", "service callback")
        log("intercom: service code failed in %s: %r" % (where, error))
        key = "%s %s" % (where, type(error).__name__)
        if key in self._service_failures_reported:
            return
        self._service_failures_reported.append(key)
        event = events.error(self.now_ms(), "service code failed in %s: %r" % (where, error))
        event["service"] = "internal"
        self.board.emit(event)

    def _set_relay(self, on):
        if on != self._relay:
            self._relay = on
            self.board.set_relay(on)

    def _arm_timer(self, now, deadline):
        if deadline == self._timer_deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_deadline = deadline
        if deadline is not None:
            self._timer = self.loop.call_later(compat.ticks_diff(deadline, now), self._on_timer)


def _tls_names(config, resolved):
    """{address: name} for TLS: sip.server's resolved address -> the name
    its certificate must carry (the configured host)."""
    server = config["sip"]["server"]
    if not server:
        return {}
    return {parse_hostport(resolved["sip"]["server"])[0]: parse_hostport(server)[0]}


def _sip_tls(sip_config, names):
    """The TLS of sip.transport = "tls" (CPython), or StartError."""
    try:
        from boards.runtime.sip_tls import SipTls
    except ImportError:
        raise StartError('sip.transport = "tls" needs CPython (its ssl module)') from None
    for key in ("tls_ca", "tls_cert", "tls_key"):
        path = sip_config[key]
        if path is not None:
            try:
                open(path, "rb").close()
            except OSError as error:
                raise StartError("sip.%s: cannot read %s: %s" % (key, path, error)) from None
    try:
        return SipTls(
            sip_config["tls_ca"],
            sip_config["tls_fingerprint"],
            sip_config["tls_cert"],
            sip_config["tls_key"],
            names,
        )
    except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
        raise StartError("sip.tls_ca, tls_cert or tls_key: not usable: %s" % error) from None
