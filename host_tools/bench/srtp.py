# SRTP's cost per packet (audio.srtp): libsrtp through pylibsrtp on CPython
# (what the rpi and sim boards run), the portable intercom.media.srtp under
# the MicroPython unix port and on the emulated Pico W (viper and plain
# loops, cryptolib's AES, hashlib's SHA-1), each beside the G.711 encoding
# of the same packet's audio, timed in the same run. A call protects one
# packet and unprotects one per packet time each way: 50 of each per second
# at 20 ms. The heap bytes one packet allocates come from the MicroPython
# runs (gc.mem_alloc with the collector off). On the emulated Pico W the
# same run measures the heap one TLS client session takes (SRTP's keys
# need SIP over TLS; tls_heap_micropython.py).

import json
import os
import pathlib
import subprocess
import tempfile
import time

from boards.runtime.srtp_libsrtp import LibsrtpContext
from intercom.media import g711

from host_tools.bench.timing import markdown_table, time_side_by_side

SECTION = "SRTP per packet"

ROOT = pathlib.Path(__file__).resolve().parents[2]
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
MICROPYTHON_SCRIPT = pathlib.Path(__file__).with_name("srtp_micropython.py")
PICO_BOOT = pathlib.Path(__file__).with_name("srtp_pico_boot.py")
TLS_SCRIPT = pathlib.Path(__file__).with_name("tls_heap_micropython.py")
SUITE = "AES_CM_128_HMAC_SHA1_80"
MASTER = bytes(range(30))
PTIMES = (20, 60)


class _Stream:
    """One packet protected and unprotected per call, the sequence moving on
    (libsrtp refuses an index twice, and the receiver drops a replay)."""

    def __init__(self, ptime):
        self.sender = LibsrtpContext(SUITE, MASTER, True)
        self.receiver = LibsrtpContext(SUITE, MASTER, False)
        self.packet = bytearray(12 + 8 * ptime)
        self.packet[0] = 0x80
        self.sequence = 0

    def _next(self):
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.packet[2] = self.sequence >> 8
        self.packet[3] = self.sequence & 0xFF
        return self.packet

    def protect(self):
        self.sender.protect(self._next())

    def both(self):
        if self.receiver.unprotect(self.sender.protect(self._next())) is None:
            raise RuntimeError("libsrtp could not unprotect its own packet")


def cpython_rows(options):
    rows = []
    rounds = max(3, options.rounds // 4)
    for ptime in PTIMES:
        pcm = bytes(16 * ptime)
        encoded = bytearray(8 * ptime)
        protecting = _Stream(ptime)
        both = _Stream(ptime)
        timings = time_side_by_side(
            {
                "reference": lambda pcm=pcm, encoded=encoded: g711.ulaw_encode_into(pcm, encoded),
                "protect": protecting.protect,
                "both": both.both,
            },
            1,
            rounds,
            options.run_s,
        )
        reference = timings["reference"][0]
        protect = timings["protect"][0]
        unprotect = timings["both"][0] - protect
        rows.append(
            _row(
                "CPython, libsrtp",
                ptime,
                protect / 1000,
                unprotect / 1000,
                reference / 1000,
                "(CPython objects)",
            )
        )
    return rows


def _row(where, ptime, protect_us, unprotect_us, reference_us, heap):
    both = protect_us + unprotect_us
    return [
        where,
        "%d ms" % ptime,
        "%.1f" % protect_us,
        "%.1f" % unprotect_us,
        "%.2f" % (both / max(reference_us, 0.001)),
        "%.2f %%" % (100.0 * both / (1000 * ptime)),
        heap,
    ]


def _micropython_rows(where, lines):
    rows = []
    for line in lines:
        entry = json.loads(line)
        rows.append(
            _row(
                "%s, %s" % (where, entry["path"]),
                entry["ptime"],
                entry["protect_us"],
                entry["unprotect_us"],
                entry["reference_us"],
                "%d + %d B" % (entry["protect_bytes"], entry["unprotect_bytes"]),
            )
        )
    return rows


def unix_port_rows():
    path = "%s:%s" % (ROOT / "firmware", MICROPYTHON_SCRIPT.parent)
    lines = []
    for arguments in ([], ["plain"]):
        result = subprocess.run(
            [str(MICROPYTHON), str(MICROPYTHON_SCRIPT), "500"] + arguments,
            env=dict(os.environ, MICROPYPATH=path),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise RuntimeError("MicroPython bench failed: " + result.stderr.strip()[-500:])
        lines.extend(result.stdout.splitlines())
    return _micropython_rows("MicroPython unix port", lines)


def _pico_certificate(folder):
    """pico_cert.der and pico_key.der: a self-signed P-256 certificate for
    127.0.0.1 (its own CA) for the TLS heap measurement."""
    folder = pathlib.Path(folder)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "x509", "-in", "cert.pem", "-outform", "DER", "-out", "pico_cert.der"],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "ec", "-in", "key.pem", "-outform", "DER", "-out", "pico_key.der"],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip
    return {name: (folder / name).read_bytes() for name in ("pico_cert.der", "pico_key.der")}


def pico_rows():
    """(rows, TLS heap dict): the frozen firmware of make firmware on
    rp2040js (host_tools/rp2040)."""
    from host_tools.flash.firmware_build import mpy_cross_command
    from host_tools.pico_firmware.build import build_firmware
    from host_tools.rp2040.emulator import EmulatedPico
    from host_tools.rp2040.littlefs_image import build_image

    archive = os.environ.get("MICROPYTHON_ARCHIVE") or None
    with open(ROOT / "build" / "pico-build.log", "w") as log:
        firmware = build_firmware(
            ROOT / "build" / "pico", ROOT / "build" / "firmware", archive, log=log
        )
    with tempfile.TemporaryDirectory() as folder:
        files = {"boot.py": PICO_BOOT.read_bytes()}
        for script in (MICROPYTHON_SCRIPT, TLS_SCRIPT):
            compiled = pathlib.Path(folder) / (script.stem + ".mpy")
            subprocess.run(
                [mpy_cross_command(), "-march=armv6m", "-o", str(compiled), str(script)],
                check=True,
            )
            files[compiled.name] = compiled.read_bytes()
        files.update(_pico_certificate(folder))
        today = time.gmtime()
        rtc = list(today[:3]) + [0] + list(today[3:6]) + [0]
        files["rtc_date.json"] = json.dumps(rtc).encode()
        image = build_image(files, pathlib.Path(folder) / "littlefs.img")
        pico = EmulatedPico(firmware.bin, image, folder)
        pico.start()
        try:
            while not any("srtp bench done" in line for line in pico.usb_lines):
                pico.wait_for(lambda event: event["ev"] == "usb", 3600)
        finally:
            pico.stop()
        lines = [line for line in pico.usb_lines if line.startswith("{")]
    tls = [json.loads(line)["tls"] for line in lines if line.startswith('{"tls"')]
    rows = [line for line in lines if not line.startswith('{"tls"')]
    if not tls:
        raise RuntimeError("no TLS heap figures: %s" % pico.usb_lines[-5:])
    return _micropython_rows("Pico W (emulated RP2040)", rows), tls[0]


def run(options):
    header = [
        "where",
        "packet",
        "protect us",
        "unprotect us",
        "both / G.711 encode",
        "of the packet time",
        "heap per packet",
    ]
    rows = cpython_rows(options) + unix_port_rows()
    notes = []
    try:
        pico, tls = pico_rows()
    except Exception as error:  # the section still reports the host figures
        notes.append("Emulated Pico W: not measured (%s)." % error)
    else:
        rows += pico
        notes.append(
            "Pico W (emulated RP2040), one TLS client session (MicroPython's ssl, mbedTLS, "
            "an ECDSA P-256 certificate): %d B of MicroPython heap held after the handshake "
            "(its context with the CA %d B, the session %d B before the handshake); "
            "the handshake's peak with the server side in the same heap %d B."
            % (tls["client_held"], tls["client_context"], tls["client_wrap"], tls["both_peak"])
        )
    return "\n".join(
        [
            "One PCMU packet (AES_CM_128_HMAC_SHA1_80): `protect` what the door sends, "
            "`unprotect` what it receives; `both / G.711 encode` = protect + unprotect "
            "over encoding the packet's audio in the same run; `of the packet time` = "
            "protect + unprotect over the packet time: the share of one core SRTP takes "
            "in a call, both ways. CPython: minimum of %d rounds; MicroPython: median of "
            "500 packets (50 on the Pico), 1 us clock resolution. Heap: bytes one protect "
            "and one unprotect leave on the heap (MicroPython's hashlib SHA-1 objects "
            "and digests)." % max(3, options.rounds // 4),
            "",
            markdown_table(header, rows),
        ]
        + ([""] + notes if notes else [])
    )
