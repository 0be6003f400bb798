// Boots a Pico W firmware image on an emulated RP2040 (rp2040js, npm) and
// exposes it to a Python driver (host_tools/rp2040/emulator.py) over this
// process's stdin/stdout, one JSON object per line.
//
//   node runner.mjs --bootrom B1.bin --firmware firmware.bin [--filesystem lfs.img]
//                   [--watch 3,4] [--network-uart 1] [--attribute JSON]
//
// --attribute {"funBcCall": addr, "executeBytecode": addr, "iobaseIoctl": addr,
//              "testIrqs": [21], "profile": false} counts, from reset, which
// busy cycles are test code's (attribution.mjs says how): "test_busy".
//
// In (stdin):  {"cmd": "usb", "data": "bytes"}     type on the USB CDC REPL
//              {"cmd": "pin", "gpio": 2, "level": 0} drive an input pin
//              {"cmd": "paint_stack"}                restart the C-stack high-water mark
//              {"cmd": "probe_heap", "period_ms": 200} start (0: stop) the image's heap probe
//              {"cmd": "mark", "name": "..."}         answered by a "mark" event
//              {"cmd": "profile"}                    answered by a "profile" event
//              {"cmd": "quit"}
// Out (stdout): every event carries "ns" (emulated nanoseconds since reset),
// "busy" (CPU cycles executed, WFI/WFE sleep excluded), "sleeps" (how many
// times a WFI/WFE put the core to sleep: each one ends in a wake-up) and,
// with --attribute, "test_busy" (the busy cycles that were test code's):
//              {"ev": "ready"}                        the USB CDC port is open
//              {"ev": "time"}                         the clock, every 2 emulated ms or so
//              {"ev": "usb", "data": "bytes"}         REPL / program output
//              {"ev": "gpio", "gpio": 3, "level": 1}  a watched output changed
//              {"ev": "probe", "text": "..."}         a test probe's line (network UART)
//              {"ev": "mark", "name": "...", "stack_peak": bytes, "watchdog": {...}}
//              {"ev": "profile", "frames": {key: {pc: cycles}}}  since the last one
//              {"ev": "fault", "reason": "..."}       the emulator stopped
//
// USB bytes travel as JSON strings of the code points 0-255, one per byte
// (latin-1): binary-safe for mpremote's raw-paste flow control; the driver
// decodes the program's text as UTF-8.
//
// Time: the emulated clock advances by the cycles executed (at clk_sys);
// while the core sleeps (WFI/WFE) it advances to the next timer alarm, but
// never faster than wall time, so a peer that answers in wall time (Kamailio)
// finds the door waiting, as a real one would. Busy code runs 4-10x slower
// than a real RP2040: the door's emulated time then lags wall time.
//
// The network stand-in (host_tools/rp2040/netrelay.mjs) carries the
// firmware's UDP datagrams framed over UART1 to sockets on 127.0.0.1.

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { GPIOPinState, RP2040, USBCDC } from 'rp2040js';
import { CycleAttribution } from './attribution.mjs';
import { emulateFlashWrites } from './flash.mjs';
import { NetRelay } from './netrelay.mjs';
import { applyEmulatorPatches, patchUsbCdcHost } from './patches.mjs';

const FLASH_FILESYSTEM_OFFSET = 0x12c000; // RPI_PICO_W: 2 MiB flash, 848 KiB littlefs at its end
const STACK_BOTTOM = 0x20040000; // __StackBottom: the C stack is SCRATCH_X + SCRATCH_Y
const STACK_TOP = 0x20042000; // __StackTop
const STACK_PAINT = 0xa5;
const SLICE_INSTRUCTIONS = 20000; // between looks at stdin, sockets and wall time
const MAX_IDLE_STEP_NS = 5e6; // sleep in steps of at most 5 ms when nothing is due
const TIME_EVENT_NS = 2e6; // a "time" event at least every 2 emulated ms while running

const { values: options } = parseArgs({
  options: {
    bootrom: { type: 'string' },
    firmware: { type: 'string' },
    filesystem: { type: 'string' },
    watch: { type: 'string', default: '' },
    'network-uart': { type: 'string' },
    attribute: { type: 'string' },
  },
});

function emit(event) {
  event.ns = Math.round(mcu.clock.nanos);
  event.busy = busyCycles;
  event.sleeps = sleeps;
  if (attribution !== null) {
    event.test_busy = attribution.testCycles;
  }
  process.stdout.write(JSON.stringify(event) + '\n');
}

// rp2040js warns about every access to a register it does not model (the
// QSPI pads, ROSC...): each distinct warning is written once.
class StderrLogger {
  constructor() {
    this.warned = new Set();
  }
  debug() {}
  info() {}
  warn(component, message) {
    const text = `rp2040js warn [${component}] ${message}`;
    if (!this.warned.has(text)) {
      this.warned.add(text);
      process.stderr.write(text + '\n');
    }
  }
  error(component, message) {
    process.stderr.write(`rp2040js error [${component}] ${message}\n`);
  }
}

const mcu = new RP2040();
mcu.logger = new StderrLogger();
const bootrom = readFileSync(options.bootrom);
mcu.loadBootrom(new Uint32Array(bootrom.buffer, bootrom.byteOffset, bootrom.length / 4));
mcu.flash.set(readFileSync(options.firmware), 0);
if (options.filesystem) {
  mcu.flash.set(readFileSync(options.filesystem), FLASH_FILESYSTEM_OFFSET);
}
const watchdog = applyEmulatorPatches(mcu);
// Boot as the bootrom would after its flash checks: enter the second-stage
// boot loader at the start of flash (the bootrom's own path reads the flash
// through the SSI, which rp2040js does not model); the bootrom's function
// and data tables stay in place for the SDK's ROM lookups.
mcu.core.PC = 0x10000000;

let busyCycles = 0;
let sleeps = 0;
const attribution = options.attribute
  ? new CycleAttribution(mcu, JSON.parse(options.attribute))
  : null;
let stopped = false;
let lastTimeEventNs = 0;
const flashWrites = emulateFlashWrites(mcu, (nanos) => {
  mcu.clock.tick(nanos);
  busyCycles += Math.round((nanos * mcu.clkSys) / 1e9);
});

// -- C stack high-water mark ---------------------------------------------------

function paintStack() {
  const sp = mcu.core.SP >>> 0;
  const end = Math.min(sp, STACK_TOP) - 0x20000000;
  mcu.sram.fill(STACK_PAINT, STACK_BOTTOM - 0x20000000, end);
}

function stackPeak() {
  // The lowest byte that is no longer the paint: how deep the stack went.
  const start = STACK_BOTTOM - 0x20000000;
  const end = STACK_TOP - 0x20000000;
  for (let offset = start; offset < end; offset++) {
    if (mcu.sram[offset] !== STACK_PAINT) {
      return end - offset;
    }
  }
  return 0;
}

// -- USB CDC (the REPL and the program's stdout) -------------------------------

const cdc = new USBCDC(mcu.usbCtrl);
patchUsbCdcHost(cdc);
let usbText = ''; // bytes as latin-1 code points
let usbReady = false;
const usbInput = [];
cdc.onDeviceConnected = () => {
  usbReady = true;
  emit({ ev: 'ready' });
};
cdc.onSerialData = (buffer) => {
  usbText += Buffer.from(buffer).toString('latin1');
};

function flushUsb() {
  if (usbText) {
    emit({ ev: 'usb', data: usbText });
    usbText = '';
  }
  while (usbReady && usbInput.length && !cdc.txFIFO.full) {
    cdc.sendSerialByte(usbInput.shift());
  }
}

// -- GPIO ----------------------------------------------------------------------

for (const gpio of options.watch.split(',').filter(Boolean).map(Number)) {
  mcu.gpio[gpio].addListener((state) => {
    if (state === GPIOPinState.High || state === GPIOPinState.Low) {
      flushUsb(); // output printed before the change comes before it
      emit({ ev: 'gpio', gpio, level: state === GPIOPinState.High ? 1 : 0 });
    }
  });
}

// -- network stand-in ------------------------------------------------------------

const relay =
  options['network-uart'] === undefined
    ? null
    : new NetRelay(mcu.uart[Number(options['network-uart'])], {
        pause: () => (paused += 1),
        resume: () => {
          paused -= 1;
          schedule();
        },
        probe: (text) => {
          flushUsb();
          emit({ ev: 'probe', text });
        },
        log: (text) => process.stderr.write(`netrelay: ${text}\n`),
      });

// -- commands ----------------------------------------------------------------------

const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  const command = JSON.parse(line);
  switch (command.cmd) {
    case 'usb':
      usbInput.push(...Buffer.from(command.data, 'latin1'));
      break;
    case 'pin':
      mcu.gpio[command.gpio].setInputValue(Boolean(command.level));
      break;
    case 'paint_stack':
      paintStack();
      break;
    case 'probe_heap':
      relay.toFirmwareFrame('H', 0, Buffer.from([command.period_ms & 0xff, command.period_ms >> 8]));
      break;
    case 'mark':
      flushUsb();
      emit({
        ev: 'mark',
        name: command.name,
        stack_peak: stackPeak(),
        clk_sys: mcu.clkSys,
        watchdog: watchdog.summary(),
        flash: flashWrites,
      });
      break;
    case 'profile':
      flushUsb();
      emit({ ev: 'profile', frames: attribution ? attribution.takeProfile() : {} });
      break;
    case 'quit':
      stop('quit');
      return;
    default:
      throw new Error(`unknown command ${line}`);
  }
  schedule();
});
commands.on('close', () => stop('stdin closed'));

// -- running ---------------------------------------------------------------------

let paused = 0;
let timer = null;
let wallAnchor = null; // [wall ns, emulated ns] when the core went to sleep

function wallNanos() {
  return Number(process.hrtime.bigint());
}

function schedule(delayMs = 0) {
  if (stopped || paused || timer !== null) {
    return;
  }
  timer = delayMs > 0 ? setTimeout(run, delayMs) : setImmediate(run);
  timer.delayed = delayMs > 0;
}

function cancelTimer() {
  if (timer !== null) {
    if (timer.delayed) {
      clearTimeout(timer);
    } else {
      clearImmediate(timer);
    }
    timer = null;
  }
}

function run() {
  timer = null;
  if (stopped || paused) {
    return;
  }
  const { core, clock } = mcu;
  const nanosPerCycle = () => 1e9 / mcu.clkSys;
  try {
    for (let i = 0; i < SLICE_INSTRUCTIONS && !paused; i++) {
      if (core.waiting) {
        // Asleep: advance to the next alarm, no faster than wall time.
        const wall = wallNanos();
        if (wallAnchor === null) {
          wallAnchor = [wall, clock.nanos];
        }
        const allowed = wallAnchor[1] + (wall - wallAnchor[0]);
        const alarm = clock.nextAlarm ? clock.nanos + clock.nanosToNextAlarm : Infinity;
        const target = Math.min(alarm, allowed);
        if (target > clock.nanos) {
          clock.tick(target - clock.nanos);
        }
        if (core.waiting) {
          const wait = Math.min(alarm - clock.nanos, MAX_IDLE_STEP_NS);
          flushUsb();
          relay?.service();
          reportTime();
          schedule(Math.max(1, Math.floor(wait / 1e6)));
          return;
        }
      } else {
        wallAnchor = null;
        const pc = core.PC;
        attribution?.enter(pc);
        const cycles = core.executeInstruction();
        busyCycles += cycles;
        attribution?.account(pc, cycles);
        if (core.waiting) {
          sleeps += 1;
        }
        clock.tick(cycles * nanosPerCycle());
      }
    }
  } catch (error) {
    flushUsb();
    emit({ ev: 'fault', reason: String(error && error.stack ? error.stack : error) });
    stop('fault');
    return;
  }
  flushUsb();
  relay?.service();
  reportTime();
  schedule();
}

function reportTime() {
  if (mcu.clock.nanos - lastTimeEventNs >= TIME_EVENT_NS) {
    lastTimeEventNs = mcu.clock.nanos;
    emit({ ev: 'time' });
  }
}

function stop(reason) {
  if (stopped) {
    return;
  }
  stopped = true;
  cancelTimer();
  flushUsb();
  relay?.close();
  emit({ ev: 'stopped', reason });
  commands.close();
}

paintStack();
schedule();
