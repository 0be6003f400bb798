# `python -m host_tools.flash pico --port PORT --config door.toml`
#
#   1. validate the config (every problem printed, exit 2, nothing copied)
#      and convert it to config.json as `intercom config to-json` does
#   2. probe the board in one exec: MicroPython 1.27+ with hashlib.md5 (SIP
#      digest needs it), the same .mpy format and arch, free space, sha256
#      of every firmware file already there
#   3. compile the Pico's modules with mpy-cross for --arch (firmware_build)
#   4. copy only files whose sha256 differs (progress per file), delete
#      stale modules under intercom/ and boards/ (a stale .py would shadow
#      its new .mpy: MicroPython imports .py first) and stale prompts,
#      verify every sha256
#   5. soft reset (main.py runs) and print the serial output for --watch s
#
# The voicemail's prompt goes along as a file in prompts/ (the pico_w
# board's PROMPT_FOLDER; the board cannot be imported here: machine), in
# every way of flashing below: the default one (`make prompts` made it;
# missing: exit 1) as prompts/no_answer.wav, an owner's WAV
# (voicemail.prompt) as prompts/<its name>, which config.json then names;
# "tone": no file. Each is read here (8000 Hz mono 16-bit PCM, else exit
# 1) and written again with the plain 44-byte header the board's
# FlashPrompt skips without parsing.
#
# A board whose MicroPython has a ROMFS partition (1.25+ built with
# MICROPY_HW_ROMFS_BYTES; the stock RPI_PICO_W build has none) gets the
# compiled modules as one ROMFS image in it instead of files (step 4):
# mounted at /rom at boot, imports run the bytecode in place in flash, so
# the door's RAM holds no bytecode (tests/boards/pico/test_pico_call.py
# measures it). `mpremote romfs deploy` writes the image when its sha256
# differs from the one in the partition; only main.py and config.json stay
# on the filesystem, and intercom/ and boards/ there are removed (the
# current folder comes before /rom on sys.path: a copy there, even an
# empty folder, would shadow the image). An image larger than the
# partition: files, as without one.
#
# A board running our own firmware (make firmware: the door frozen in, the
# probe imports intercom from ".frozen" alone) gets only config.json and
# the prompt: the modules and main.py are in its flash already. Copies of intercom/, boards/
# and main.py on its filesystem are removed (the current folder comes
# before .frozen on sys.path, so they would shadow the frozen modules).
#
# Exit: 0 flashed (or unchanged), 1 board/build problem, 2 bad config.

import hashlib
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

from boards.audio.messages import DEFAULT_PROMPT, default_prompt_folder
from boards.cli import config_file
from intercom.errors import ConfigError
from intercom.media.wav import WavError, WavReader, WavWriter

from host_tools.flash.firmware_build import (
    ARCHES,
    BuildError,
    BuildFile,
    compile_firmware,
    mpy_version,
)
from host_tools.flash.pico_board import BoardError, MpremoteBoard

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2
MINIMUM_VERSION = (1, 27)
FIRMWARE_FOLDERS = ("intercom/", "boards/")
PICO_PROMPT_FOLDER = "prompts"  # boards.pico_w.board.PROMPT_FOLDER
MANAGED_FOLDERS = FIRMWARE_FOLDERS + (PICO_PROMPT_FOLDER + "/",)  # stale files there go


def board_config(path, build_folder):
    """(config.json text, [BuildFile] of the prompt written into
    build_folder; None: no prompt files made). BuildError when the prompt
    file is missing or not 8000 Hz mono 16-bit PCM WAV."""
    effective = config_file.load_config(path, resolve_paths=False)
    effective["sip"]["password_file"] = None
    prompt = effective["voicemail"]["prompt"]
    files = []
    if prompt != "tone":
        if prompt == "default":
            local = pathlib.Path(default_prompt_folder()) / DEFAULT_PROMPT
            if not local.exists():
                raise BuildError("the default prompt %s is missing: run make prompts" % local)
        else:
            local = pathlib.Path(config_file.resolve_path(path, prompt))
        on_board = "%s/%s" % (PICO_PROMPT_FOLDER, local.name)
        if prompt != "default":
            effective["voicemail"]["prompt"] = on_board
        if build_folder is not None:
            plain = pathlib.Path(build_folder) / PICO_PROMPT_FOLDER / local.name
            plain_wav(local, plain)
            files.append(BuildFile(on_board, plain))
    return json.dumps(effective, indent=2) + "\n", files


def plain_wav(source, target):
    """source's PCM in a WAV with the plain 44-byte header, at target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(source, "rb") as stream:
            reader = WavReader(stream, "voicemail.prompt %s" % source)
            with open(target, "wb") as out:
                writer = WavWriter(out, str(target))
                chunk = bytearray(4096)
                count = reader.read_into(chunk)
                while count:
                    writer.write(memoryview(chunk)[:count])
                    count = reader.read_into(chunk)
                writer.close()
    except OSError as error:
        raise BuildError("voicemail.prompt: cannot read %s: %s" % (source, error)) from None
    except WavError as error:
        raise BuildError(str(error)) from None


class Flasher:
    def __init__(self, port, arch, out):
        self.board = MpremoteBoard(port)
        self.arch = arch
        self.out = out

    def check_board(self, found):
        version = tuple(found["version"])
        shown = ".".join(str(part) for part in version)
        if version[:2] < MINIMUM_VERSION or not found["md5"]:
            raise BoardError(
                "MicroPython %s on the board is too old: 1.27 or newer is needed "
                "(hashlib.md5 for SIP digest auth); update the board's firmware" % shown
            )
        mpy = found["mpy"]
        major, minor = mpy_version()
        if mpy and (mpy & 0xFF, (mpy >> 8) & 3) != (major, minor):
            raise BoardError(
                "the board loads .mpy v%d.%d, mpy-cross writes v%d.%d: use a matching "
                "MicroPython or mpy-cross" % (mpy & 0xFF, (mpy >> 8) & 3, major, minor)
            )
        board_arch = mpy >> 10
        if board_arch and board_arch != ARCHES[self.arch]:
            names = {number: name for name, number in ARCHES.items()}
            raise BoardError(
                "the board runs %s code, not %s: pass --arch %s"
                % (names.get(board_arch, board_arch), self.arch, names.get(board_arch))
            )

    def check_space(self, found, changed):
        on_board = found["files"]
        needed = sum(file.size - on_board.get(file.board_path, ("", 0))[1] for file in changed)
        if needed > found["free"]:
            raise BoardError(
                "not enough space on the board: %d bytes needed, %d free" % (needed, found["free"])
            )

    def flash(self, files, found):
        """Copies what differs from `found` (a probe checked by check_board)."""
        on_board = found["files"]
        changed = [file for file in files if on_board.get(file.board_path, ("",))[0] != file.sha256]
        planned = {file.board_path for file in files}
        stale = sorted(
            path for path in on_board if path.startswith(MANAGED_FOLDERS) and path not in planned
        )
        self.check_space(found, changed)
        if not changed and not stale:
            self.out("unchanged: all %d files on the board match" % len(files))
            return
        folders = sorted({str(pathlib.PurePosixPath(f.board_path).parent) for f in changed})
        self.board.make_folders(self._with_parents(folders))
        copied = []

        def progress(file):
            copied.append(file)
            self.out(
                "  [%d/%d] %s (%d bytes)" % (len(copied), len(changed), file.board_path, file.size)
            )

        if changed:
            self.out("copying %d files (%d unchanged)" % (len(changed), len(files) - len(changed)))
            self.board.copy(changed, progress)
        if stale:
            self.out("removing %d stale files: %s" % (len(stale), " ".join(stale)))
            self.board.remove(stale)
        self.verify(files, stale)
        self.out("verified: %d copied, %d unchanged" % (len(changed), len(files) - len(changed)))

    def verify(self, files, stale):
        on_board = self.board.probe()["files"]
        wrong = [f.board_path for f in files if on_board.get(f.board_path, ("",))[0] != f.sha256]
        left = [path for path in stale if path in on_board]
        if wrong:
            raise BoardError("verify failed, sha256 differs on the board: %s" % " ".join(wrong))
        if left:
            raise BoardError("verify failed, stale files still there: %s" % " ".join(left))

    def flash_romfs(self, files, found, build_folder):
        """The modules as a ROMFS image in partition 0, main.py and
        config.json as files; False (nothing done) when the image does not
        fit the partition."""
        modules = [file for file in files if file.board_path.startswith(FIRMWARE_FOLDERS)]
        image = build_romfs_image(build_folder, modules)
        data = image.read_bytes()
        partition_size, deployed_sha256 = found["romfs"]
        if len(data) > partition_size:
            self.out(
                "the ROMFS image (%d bytes) does not fit the board's %d-byte ROMFS "
                "partition: copying files" % (len(data), partition_size)
            )
            return False
        digest = hashlib.sha256(data).hexdigest()
        if digest == deployed_sha256:
            self.out("ROMFS unchanged: the partition holds these %d modules" % len(modules))
        else:
            self.out(
                "deploying a ROMFS image of %d modules (%d bytes, partition %d bytes)"
                % (len(modules), len(data), partition_size)
            )
            self.board.deploy_romfs(image, lambda line: None)
        self.flash([file for file in files if file not in modules], found)
        # An empty intercom/ or boards/ left on the filesystem would still
        # be imported (as a namespace package) before the one in /rom.
        self.board.remove_trees([folder.rstrip("/") for folder in FIRMWARE_FOLDERS])
        if self.board.probe()["romfs"][1] != digest:
            raise BoardError("verify failed, the ROMFS partition does not hold the image")
        self.out("verified: the ROMFS image is in the partition")
        return True

    def flash_config_only(self, text, found, build_folder, prompts=()):
        """config.json and the prompt alone, for a board with the door frozen in."""
        path = pathlib.Path(build_folder) / "config.json"
        path.write_text(text)
        wanted = [BuildFile("config.json", path)] + list(prompts)
        on_board = found["files"]
        changed = [f for f in wanted if on_board.get(f.board_path, ("",))[0] != f.sha256]
        kept = {f.board_path for f in wanted}
        shadowing = sorted(p for p in on_board if p.startswith(FIRMWARE_FOLDERS) or p == "main.py")
        stale = sorted(
            p for p in on_board if p.startswith(PICO_PROMPT_FOLDER + "/") and p not in kept
        )
        if not changed and not shadowing and not stale:
            self.out("unchanged: the door is frozen into the firmware and config.json matches")
            return
        self.out(
            "the door is frozen into the board's firmware: copying %s only"
            % " and ".join(f.board_path for f in wanted)
        )
        if changed:
            if [file for file in changed if file in prompts]:
                self.board.make_folders([PICO_PROMPT_FOLDER])
            copied = []

            def progress(file):
                copied.append(file)
                self.out(
                    "  [%d/%d] %s (%d bytes)"
                    % (len(copied), len(changed), file.board_path, file.size)
                )

            self.board.copy(changed, progress)
        if shadowing:
            self.out("removing %d files that would shadow the frozen modules" % len(shadowing))
        self.board.remove_trees([folder.rstrip("/") for folder in FIRMWARE_FOLDERS])
        self.board.remove([p for p in shadowing if p == "main.py"] + stale)
        left = self.board.probe()["files"]
        for file in wanted:
            if left.get(file.board_path, ("",))[0] != file.sha256:
                raise BoardError(
                    "verify failed, sha256 of %s differs on the board" % file.board_path
                )
        if [p for p in left if p not in kept]:
            raise BoardError("verify failed, still on the board: %s" % " ".join(sorted(left)))
        self.out("verified: %s" % " and ".join(f.board_path for f in wanted))

    @staticmethod
    def _with_parents(folders):
        every = set()
        for folder in folders:
            path = pathlib.PurePosixPath(folder)
            every.update(str(p) for p in [path, *path.parents] if str(p) != ".")
        return sorted(every, key=lambda p: (p.count("/"), p))


def build_romfs_image(build_folder, modules):
    """`mpremote romfs build` of the compiled modules (already .mpy, so
    --no-mpy), laid out as on the board; returns the image's path."""
    staging = pathlib.Path(build_folder) / "romfs"
    for file in modules:
        target = staging / file.board_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file.local_path, target)
    image = pathlib.Path(build_folder) / "firmware.romfs"
    command = [sys.executable, "-m", "mpremote", "romfs", "--no-mpy", "-o", str(image)]
    result = subprocess.run(command + ["build", str(staging)], capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError("mpremote romfs build: %s" % (result.stderr or result.stdout).strip())
    return image


def run(arguments, out=print, err=print):
    with tempfile.TemporaryDirectory(prefix="intercom-flash-") as build:
        return flash_from(arguments, build, out, err)


def flash_from(arguments, build, out, err):
    try:
        text, prompts = board_config(arguments.config, build)
    except ConfigError as error:
        for problem in error.problems:
            err(problem)
        err("flash: %d problem(s) in the config, nothing copied" % len(error.problems))
        return EXIT_CONFIG
    except BuildError as error:
        err("flash: %s; nothing copied" % error)
        return EXIT_FAILURE
    board_name = json.loads(text)["device"]["board"]
    if board_name != "pico_w":
        err(
            "%s: device.board: '%s' is not a Pico W, nothing copied"
            % (arguments.config, board_name)
        )
        return EXIT_CONFIG
    flasher = Flasher(arguments.port, arguments.arch, out)
    try:
        found = flasher.board.probe()
        if found.get("frozen"):
            flasher.flash_config_only(text, found, build, prompts)
        else:
            flasher.check_board(found)
            files = compile_firmware(build, arguments.arch, text) + prompts
            out(
                "built %d files for %s (%d bytes)"
                % (len(files), arguments.arch, sum(f.size for f in files))
            )
            if not (found["romfs"][0] and flasher.flash_romfs(files, found, build)):
                flasher.flash(files, found)
        if not arguments.no_reset:
            out("soft reset; serial output for %g s:" % arguments.watch)
            flasher.board.soft_reset_and_watch(arguments.watch, lambda line: out("  | " + line))
    except (BuildError, BoardError) as error:
        err("flash: %s" % error)
        return EXIT_FAILURE
    return EXIT_OK
