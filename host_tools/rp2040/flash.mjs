// Flash writes on the emulated RP2040. rp2040js serves flash reads through
// XIP but does not model the SSI's direct mode, which the bootrom's
// flash_range_erase and flash_range_program drive: without this, every
// littlefs write (the door's state file) is lost and the filesystem
// reports errors. The two ROM functions are looked up in the bootrom's own
// function table (datasheet 2.8.3, codes 'RE' and 'RP'), their first
// instruction in this process's copy of the bootrom becomes a BKPT, and
// the breakpoint does the work on the flash array and returns to the
// caller (PC = LR), with the RP2040's NOR semantics (erase to 0xFF,
// program ANDs). Each costs the W25Q16JV's typical time (datasheet: sector
// erase 45 ms, page program 0.4 ms), charged as busy CPU time: the SDK
// spins with interrupts off while the flash works.

const FUNCTION_TABLE_POINTER = 0x14;
const BREAK_ERASE = 0xe0;
const BREAK_PROGRAM = 0xe1;
const BKPT = 0xbe00;
const SECTOR_ERASE_NS = 45e6;
const PAGE_PROGRAM_NS = 0.4e6;
const SECTOR = 4096;
const PAGE = 256;

function romHalfword(mcu, address) {
  return (mcu.bootrom[address >>> 2] >>> ((address & 2) * 8)) & 0xffff;
}

function setRomHalfword(mcu, address, value) {
  const shift = (address & 2) * 8;
  const word = mcu.bootrom[address >>> 2];
  mcu.bootrom[address >>> 2] = ((word & ~(0xffff << shift)) | (value << shift)) >>> 0;
}

function romFunction(mcu, code) {
  const wanted = code.charCodeAt(0) | (code.charCodeAt(1) << 8);
  for (let entry = romHalfword(mcu, FUNCTION_TABLE_POINTER); ; entry += 4) {
    const found = romHalfword(mcu, entry);
    if (found === 0) {
      throw new Error(`bootrom has no function ${code}`);
    }
    if (found === wanted) {
      return romHalfword(mcu, entry + 2) & ~1;
    }
  }
}

export function emulateFlashWrites(mcu, charge) {
  setRomHalfword(mcu, romFunction(mcu, 'RE'), BKPT | BREAK_ERASE);
  setRomHalfword(mcu, romFunction(mcu, 'RP'), BKPT | BREAK_PROGRAM);
  const counts = { erased: 0, programmed: 0 };
  const previous = mcu.onBreak;
  mcu.onBreak = (code) => {
    const { core } = mcu;
    const [offset, second, count] = core.registers;
    if (code === BREAK_ERASE) {
      // flash_range_erase(offset, count, block_size, block_cmd)
      mcu.flash.fill(0xff, offset, offset + second);
      counts.erased += second;
      charge((second / SECTOR) * SECTOR_ERASE_NS);
    } else if (code === BREAK_PROGRAM) {
      // flash_range_program(offset, data, count)
      for (let index = 0; index < count; index++) {
        mcu.flash[offset + index] &= mcu.readUint8(second + index);
      }
      counts.programmed += count;
      charge(Math.ceil(count / PAGE) * PAGE_PROGRAM_NS);
    } else {
      previous(code);
      return;
    }
    core.PC = core.LR & ~1;
  };
  return counts;
}
