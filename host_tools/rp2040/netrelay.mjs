// The runner's side of the network stand-in: UDP datagrams framed over an
// emulated UART, relayed to real UDP sockets on 127.0.0.1. The firmware's
// side is tests/boards/pico_rp2040/image/emu_net.py (test code on the
// test's littlefs image, not part of the shipped firmware).
//
// A frame, both ways: type (1 byte), socket id (1), payload length (2,
// little-endian), payload.
//   firmware -> runner
//     'B' bind      payload: port (2, LE; 0 = any)       answered by 'b'
//     'S' sendto    payload: IPv4 (4), port (2, LE), data
//     'C' close
//     'P' probe     payload: a UTF-8 line for the test driver
//   runner -> firmware
//     'b' bound     payload: errno (2, LE; 0 = bound), port (2, LE)
//     'R' datagram  payload: IPv4 (4), port (2, LE), data
// Sockets are bound on 127.0.0.1 only; a sendto outside 127.0.0.0/8 is
// dropped and counted (the tests never send traffic off this machine).
// The bytes for the firmware enter the UART's RX FIFO as it has room (the
// FIFO is refilled as soon as the firmware reads from it: the link has no
// baud-rate delay).

import dgram from 'node:dgram';

const HEADER = 4;
const LOOPBACK = '127.0.0.1';
const UARTDR = 0x0;

export class NetRelay {
  constructor(uart, hooks) {
    this.uart = uart;
    this.hooks = hooks;
    this.sockets = new Map();
    this.received = Buffer.alloc(0);
    this.toFirmware = [];
    this.toFirmwareOffset = 0;
    this.droppedOffLoopback = 0;
    uart.onByte = (value) => this.fromFirmware(value);
    const read = uart.readUint32.bind(uart);
    uart.readUint32 = (offset) => {
      const value = read(offset);
      if (offset === UARTDR) {
        this.feed();
      }
      return value;
    };
  }

  // -- firmware -> runner --------------------------------------------------

  fromFirmware(value) {
    this.received = Buffer.concat([this.received, Buffer.of(value)]);
    if (this.received.length < HEADER) {
      return;
    }
    const length = this.received.readUInt16LE(2);
    if (this.received.length < HEADER + length) {
      return;
    }
    const type = String.fromCharCode(this.received[0]);
    const id = this.received[1];
    const payload = this.received.subarray(HEADER, HEADER + length);
    this.received = Buffer.alloc(0);
    this.handle(type, id, Buffer.from(payload));
  }

  handle(type, id, payload) {
    switch (type) {
      case 'B':
        this.bind(id, payload.readUInt16LE(0));
        break;
      case 'S':
        this.sendto(id, payload);
        break;
      case 'C':
        this.sockets.get(id)?.close();
        this.sockets.delete(id);
        break;
      case 'P':
        this.hooks.probe(payload.toString('utf8'));
        break;
      default:
        this.hooks.log(`unknown frame type ${type}`);
    }
  }

  bind(id, port) {
    const socket = dgram.createSocket('udp4');
    this.hooks.pause();
    const answer = (errno, boundPort) => {
      const reply = Buffer.alloc(4);
      reply.writeUInt16LE(errno, 0);
      reply.writeUInt16LE(boundPort, 2);
      this.toFirmwareFrame('b', id, reply);
      this.hooks.resume();
    };
    socket.once('error', (error) => {
      socket.close();
      answer(error.code === 'EADDRINUSE' ? 98 : 22, 0);
    });
    socket.bind(port, LOOPBACK, () => {
      socket.removeAllListeners('error');
      socket.on('error', (error) => this.hooks.log(`socket ${id}: ${error.message}`));
      socket.on('message', (data, remote) => {
        const header = Buffer.alloc(6);
        remote.address.split('.').forEach((part, index) => header.writeUInt8(Number(part), index));
        header.writeUInt16LE(remote.port, 4);
        this.toFirmwareFrame('R', id, Buffer.concat([header, data]));
      });
      this.sockets.set(id, socket);
      answer(0, socket.address().port);
    });
  }

  sendto(id, payload) {
    const socket = this.sockets.get(id);
    const address = `${payload[0]}.${payload[1]}.${payload[2]}.${payload[3]}`;
    if (socket === undefined) {
      return;
    }
    if (payload[0] !== 127) {
      this.droppedOffLoopback += 1;
      return;
    }
    socket.send(payload.subarray(6), payload.readUInt16LE(4), address);
  }

  // -- runner -> firmware --------------------------------------------------

  toFirmwareFrame(type, id, payload) {
    const header = Buffer.alloc(HEADER);
    header.writeUInt8(type.charCodeAt(0), 0);
    header.writeUInt8(id, 1);
    header.writeUInt16LE(payload.length, 2);
    this.toFirmware.push(Buffer.concat([header, payload]));
    this.feed();
  }

  feed() {
    const fifo = this.uart.rxFIFO;
    while (this.toFirmware.length && !fifo.full) {
      const frame = this.toFirmware[0];
      this.uart.feedByte(frame[this.toFirmwareOffset]);
      this.toFirmwareOffset += 1;
      if (this.toFirmwareOffset === frame.length) {
        this.toFirmware.shift();
        this.toFirmwareOffset = 0;
      }
    }
  }

  service() {
    this.feed();
  }

  close() {
    for (const socket of this.sockets.values()) {
      socket.close();
    }
    this.sockets.clear();
  }
}
