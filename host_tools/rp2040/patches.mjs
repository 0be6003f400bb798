// Changes to rp2040js 1.4.1's behaviour that MicroPython v1.28.0 needs, made
// on the instances of one RP2040 and its USB CDC host (nothing in
// node_modules is edited). Each one is written to be proposed upstream as it
// stands; the third (sleep with no alarm pending) lives in runner.mjs's run
// loop.
//
// 1. UART TX interrupt (peripherals/uart.js). rp2040js has no TX FIFO model:
//    checkInterrupts() sets UARTTXINTR every time it runs, also right after
//    the firmware cleared it through UARTICR, so an enabled TX interrupt
//    never goes away and MicroPython's UART handler (machine_uart.c,
//    uart_service_interrupt) is re-entered for ever. On the PL011 the TX
//    interrupt is raised when the TX FIFO level falls to the trigger level
//    (datasheet 4.2.6) and stays until cleared or until data is written; a
//    byte written here leaves at once, so the FIFO "empties" right after each
//    write to UARTDR. Patch: TXINTR is raised by a write to UARTDR, cleared
//    by UARTICR, and checkInterrupts() only re-evaluates the line.
//
// 2. Watchdog (peripherals/watchdog.js). Once the firmware enables the
//    watchdog (machine.WDT), the countdown alarm (Timer32PeriodicAlarm in
//    decrement mode with top 0xffffffff) reschedules itself 0 ns ahead after
//    it fired once, so the emulated clock stops advancing and the emulator
//    spins; there is no reset to emulate either. Patch: the countdown alarm
//    stays off; instead every write to LOAD (a feed) is timed in emulated
//    time, and summary() reports the timeout, the number of feeds and the
//    longest gap between two feeds, so a test sees whether the real
//    watchdog would have reset the door.
//
// 3. WFI/WFE with no alarm pending (simulator.js): Simulator.execute() ticks
//    the clock by nanosToNextAlarm, which is 0 when no alarm is scheduled,
//    and spins a million times without advancing, so input (USB, UART) fed
//    from outside is never seen. Our run loop (runner.mjs) returns to the
//    event loop instead, and lets emulated time follow wall time while the
//    core sleeps.
//
// 4. USB CDC host (usb/cdc.js). Each time the device arms its bulk OUT
//    endpoint, USBCDC.onEndpointRead completes the transfer 10 us later with
//    whatever its TX FIFO holds, zero bytes when it holds none. TinyUSB takes
//    the zero-length packet, re-arms the endpoint, and the next one follows:
//    a USB interrupt every few microseconds for as long as nobody types, so
//    the core never sleeps and every emulated second counts as 125 M busy
//    cycles (measured: no WFE ever slept, about 12 % of the cycles in the USB
//    stack). A real host sends an OUT packet only when it has data; until
//    then the device's armed buffer waits and the device sees nothing.
//    Patch: an OUT read armed while the FIFO is empty is held, and completed
//    by the next sendSerialByte().

const UARTDR = 0x0;
const UARTICR = 0x44;
const UARTTXINTR = 1 << 5;
const WATCHDOG_CTRL = 0x00;
const WATCHDOG_LOAD = 0x04;
const WATCHDOG_ENABLE = 1 << 30;
const WATCHDOG_TICKS_PER_SECOND = 2e6; // 1 MHz tick, counted down twice per tick (RP2040-E1)

function patchUart(uart) {
  uart.checkInterrupts = function checkInterrupts() {
    this.rp2040.setInterrupt(this.irq, !!(this.interruptStatus & this.interruptMask));
  };
  const write = uart.writeUint32.bind(uart);
  uart.writeUint32 = (offset, value) => {
    write(offset, value);
    if (offset === UARTDR) {
      uart.interruptStatus |= UARTTXINTR;
      uart.checkInterrupts();
    } else if (offset === UARTICR) {
      uart.checkInterrupts();
    }
  };
}

class WatchdogMonitor {
  constructor(mcu, watchdog) {
    this.mcu = mcu;
    this.enabled = false;
    this.loadTicks = 0;
    this.feeds = 0;
    this.lastFeedNs = null;
    this.longestGapNs = 0;
    const write = watchdog.writeUint32.bind(watchdog);
    watchdog.writeUint32 = (offset, value) => {
      write(offset, value);
      watchdog.alarm.enable = false;
      if (offset === WATCHDOG_CTRL) {
        this.enabled = !!(value & WATCHDOG_ENABLE);
      } else if (offset === WATCHDOG_LOAD) {
        this.feed(value & 0xffffff);
      }
    };
  }

  feed(ticks) {
    const now = this.mcu.clock.nanos;
    if (this.enabled && this.lastFeedNs !== null) {
      this.longestGapNs = Math.max(this.longestGapNs, now - this.lastFeedNs);
    }
    this.loadTicks = ticks;
    this.lastFeedNs = now;
    this.feeds += 1;
  }

  summary() {
    return {
      enabled: this.enabled,
      timeout_ms: Math.round((this.loadTicks / WATCHDOG_TICKS_PER_SECOND) * 1000),
      feeds: this.feeds,
      longest_gap_ms: Math.round(this.longestGapNs / 1e6),
    };
  }
}

export function patchUsbCdcHost(cdc) {
  let heldRead = null; // the OUT buffer size the device armed while we had nothing
  const complete = (size) => {
    const fifo = cdc.txFIFO;
    const buffer = new Uint8Array(Math.min(size, fifo.itemCount));
    for (let i = 0; i < buffer.length; i++) {
      buffer[i] = fifo.pull();
    }
    cdc.usb.endpointReadDone(cdc.outEndpoint, buffer);
  };
  cdc.usb.onEndpointRead = (endpoint, size) => {
    if (endpoint !== cdc.outEndpoint) {
      return;
    }
    if (cdc.txFIFO.empty) {
      heldRead = size;
    } else {
      complete(size);
    }
  };
  const send = cdc.sendSerialByte.bind(cdc);
  cdc.sendSerialByte = (value) => {
    send(value);
    if (heldRead !== null) {
      const size = heldRead;
      heldRead = null;
      complete(size);
    }
  };
}

export function applyEmulatorPatches(mcu) {
  for (const uart of mcu.uart) {
    patchUart(uart);
  }
  return new WatchdogMonitor(mcu, mcu.peripherals[0x40058]);
}
