// Whose are the busy cycles: the door's, or the test code's on the image?
//
// The door's modules are frozen: their bytecode stays in flash
// (0x10000000...). The test code on the littlefs image (boot.py, the
// network and I2S stand-ins, the heap probe) is compiled when imported: its
// bytecode lies in the MicroPython heap, in RAM (0x20000000...). So the
// cycles of an instruction belong to the Python function running at that
// moment (the innermost bytecode frame, C it calls included), and that
// function is test code when its bytecode is in RAM. Also test code:
//   - the C glue that calls a Python stream's ioctl() (iobase_ioctl: only the
//     stand-ins subclass io.IOBase; lwIP's sockets and the I2S driver answer
//     poll in C), and what it calls;
//   - the interrupts named in testIrqs (the UART carrying the network link:
//     on a Pico W the CYW43 driver moves packets by PIO and DMA instead).
// Everything else is the door: its frames, the C outside any frame, the
// other interrupts (timers, USB, GPIO).
//
// Frames: entering fun_bc_call (r0: the function object, its bytecode
// pointer at +12) or mp_execute_bytecode (r0: the code state, whose first
// word is the function object) pushes a frame with the caller's SP and
// return address; the frame ends when the core is back at that address with
// that SP, or above that SP (an exception unwound it through nlr_jump).
// Handler mode (IPSR != 0) never enters frames.
//
// With profile: true, cycles are also kept per (frame, PC): which Python
// function, and which C function under it, spent them
// (host_tools/rp2040/profile.py names both from the ELF).

const RAM_START = 0x20000000;
const FUNCTION_BYTECODE_OFFSET = 12; // mp_obj_fun_bc_t: base, context, child_table, bytecode
const GLUE_FRAME = 0xfffffff0; // the key of an iobase_ioctl frame (above RAM_START: test code)

export class CycleAttribution {
  constructor(mcu, { funBcCall, executeBytecode, iobaseIoctl, testIrqs = [], profile = false }) {
    this.mcu = mcu;
    this.funBcCall = funBcCall;
    this.executeBytecode = executeBytecode;
    this.iobaseIoctl = iobaseIoctl;
    this.testExceptions = new Set(testIrqs.map((irq) => 16 + irq));
    this.frames = [];
    this.testCycles = 0;
    this.profile = profile ? new Map() : null;
  }

  // Before the instruction at pc runs.
  enter(pc) {
    const core = this.mcu.core;
    if (core.IPSR) {
      return;
    }
    let key;
    if (pc === this.funBcCall) {
      key = this.mcu.readUint32((core.registers[0] + FUNCTION_BYTECODE_OFFSET) >>> 0);
    } else if (pc === this.executeBytecode) {
      const fun = this.mcu.readUint32(core.registers[0] >>> 0);
      key = this.mcu.readUint32((fun + FUNCTION_BYTECODE_OFFSET) >>> 0);
    } else if (pc === this.iobaseIoctl) {
      key = GLUE_FRAME;
    } else {
      return;
    }
    this.frames.push({ sp: core.SP >>> 0, lr: core.LR & ~1, key: key >>> 0 });
  }

  // After the instruction at pc ran for cycles.
  account(pc, cycles) {
    const core = this.mcu.core;
    const sp = core.SP >>> 0;
    const frames = this.frames;
    while (frames.length) {
      const top = frames[frames.length - 1];
      if (sp > top.sp || (sp === top.sp && core.PC === top.lr)) {
        frames.pop();
      } else {
        break;
      }
    }
    let key;
    let test;
    if (core.IPSR) {
      key = `irq${core.IPSR - 16}`;
      test = this.testExceptions.has(core.IPSR);
    } else if (frames.length) {
      key = frames[frames.length - 1].key;
      test = key >= RAM_START;
    } else {
      key = 'none';
      test = false;
    }
    if (test) {
      this.testCycles += cycles;
    }
    if (this.profile !== null) {
      let byPc = this.profile.get(key);
      if (byPc === undefined) {
        byPc = new Map();
        this.profile.set(key, byPc);
      }
      byPc.set(pc, (byPc.get(pc) || 0) + cycles);
    }
  }

  // The profile so far ({frame key: {pc: cycles}}), then a fresh one.
  takeProfile() {
    const taken = this.profile ?? new Map();
    this.profile = new Map();
    return Object.fromEntries([...taken].map(([key, byPc]) => [key, Object.fromEntries(byPc)]));
  }
}
