import { unmapFile } from '@tstrace/native';
import * as fs from 'node:fs';
import { mapStreamFile } from './create';
import {
  COMMIT_STRIDE,
  COMPACT_HEADER,
  EXTENDED_HEADER,
  EXTENDED_ID,
  Geometry,
  MODE_OVERWRITE,
  PREAMBLE,
  streamFileSize,
  W,
} from './layout';
import { closePacket, openPacket } from './packet-ops';

const RETRY = -2;
const WAKE_BYTE = new Uint8Array([1]);

// Looked up once: `process` is an accessor on globalThis, and reading it on every event costs
// more than the rest of the reservation (a global IC miss and a getter call).
const hrtimeBigint = process.hrtime.bigint;

// What reserve's fast path and commit use, as literals: TypeScript compiles `W.write` to two
// property loads of the layout module per use, which V8 executes and counts against the bytecode
// budget within which it inlines reserve into the tracer's emit. Checked against layout.ts below.
const enum Hot {
  write = 16,
  lastTsHi = 48,
  commit = 128,
  // eslint-disable-next-line @typescript-eslint/no-duplicate-enum-values -- literals that happen to be equal
  commitStride = 16,
  compactHeader = 6,
  extendedId = 65535,
}
if (
  Hot.write !== W.write ||
  Hot.lastTsHi !== W.lastTsHi ||
  Hot.commit !== W.commit ||
  Hot.commitStride !== COMMIT_STRIDE ||
  Hot.compactHeader !== COMPACT_HEADER ||
  Hot.extendedId !== EXTENDED_ID
) {
  throw new Error('ringbuffer/writer: the Hot constants disagree with layout.ts');
}

/**
 * The producer side of one stream: reserve an event, write it in place, commit it. Lock-free
 * (compare-and-swap on the write position), safe for any number of processes and threads that
 * map the same file, with no allocation and no system call per event. One StreamWriter belongs
 * to one thread; `reserve` and `commit` are not reentrant across the two calls.
 */
export class StreamWriter {
  /** The whole mapping: events are written through these at the offset `reserve` returns. */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Bytes of the last reservation (header, payload, and a packet preamble if it opened one). */
  lastSize = 0;
  /** The consumer's wake-up FIFO, poked when this writer closes a packet (-1: none). */
  private wakeFd = -1;

  private readonly buffer: ArrayBuffer;
  private readonly ctl: Int32Array;
  private readonly g: Geometry;
  private readonly subbufSize: number;
  private readonly subbufMask: number;
  private readonly ringMask: number;
  private readonly ringSize: number;
  private readonly dataOffset: number;
  private readonly subbufLog2: number;
  private readonly slotMask: number;
  private readonly overwrite: boolean;
  // The clock is read as a BigInt and split into u32 halves through this scratch, without allocating.
  private readonly clock = new BigUint64Array(1);
  private readonly clockWords = new Uint32Array(this.clock.buffer);

  private constructor(buffer: ArrayBuffer) {
    this.buffer = buffer;
    this.ctl = new Int32Array(buffer, 0, 1024);
    this.g = new Geometry(this.ctl);
    if (buffer.byteLength !== streamFileSize(this.g.subbufSize, this.g.numSubbufs))
      throw new Error(
        `ring buffer file has ${buffer.byteLength} bytes; its geometry needs ${streamFileSize(this.g.subbufSize, this.g.numSubbufs)}`,
      );
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
    this.subbufSize = this.g.subbufSize;
    this.subbufMask = this.g.subbufMask;
    this.ringMask = this.g.ringMask;
    this.ringSize = this.g.ringMask + 1;
    this.dataOffset = this.g.dataOffset;
    this.subbufLog2 = this.g.subbufLog2;
    this.slotMask = this.g.numSubbufs - 1;
    this.overwrite = this.ctl[W.mode] === MODE_OVERWRITE;
  }

  /** Maps a stream file created by createStreamFile. */
  static open(path: string): StreamWriter {
    const buffer = mapStreamFile(path);
    try {
      return new StreamWriter(buffer);
    } catch (err) {
      unmapFile(buffer);
      throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Reserves an event with CTF event id `id` and `payloadSize` bytes after its header (contexts
   * and fields), and writes the header. Returns the payload's offset in `bytes`/`view`, or -1
   * when the event is dropped (buffer full in discard mode, or too big), which is counted.
   */
  reserve(id: number, payloadSize: number): number {
    const ctl = this.ctl;
    // Plain reads where the CAS below validates them: Atomics.load is a ~20 ns call in V8 here.
    const old = ctl[Hot.write];
    this.clock[0] = hrtimeBigint();
    const size = Hot.compactHeader + payloadSize;
    const pos = old & this.subbufMask;
    // The common case in one try, small enough for V8 to inline into the tracer's emit: a
    // compact header, strictly inside the open packet, no other writer in between. Everything
    // else (a packet switch, an extended header, a lost race) takes the general loop.
    if (
      pos === 0 ||
      pos + size >= this.subbufSize ||
      id >= Hot.extendedId ||
      this.clockWords[1] !== ctl[Hot.lastTsHi] ||
      Atomics.compareExchange(ctl, Hot.write, old, (old + size) | 0) !== old
    ) {
      return this.reserveSlow(id, payloadSize);
    }
    const at = this.dataOffset + (old & this.ringMask);
    const view = this.view;
    view.setUint16(at, id, true);
    view.setUint32(at + 2, this.clockWords[0], true);
    this.lastSize = size;
    return at + Hot.compactHeader;
  }

  /** reserve's general loop: every case, retried with a fresh position and clock until it holds. */
  private reserveSlow(id: number, payloadSize: number): number {
    const ctl = this.ctl;
    const clockWords = this.clockWords;
    for (;;) {
      const old = ctl[W.write];
      this.clock[0] = hrtimeBigint();
      const lo = clockWords[0];
      const hi = clockWords[1];
      const pos = old & this.subbufMask;
      const extended = id >= EXTENDED_ID || hi !== ctl[W.lastTsHi];
      const size = (extended ? EXTENDED_HEADER : COMPACT_HEADER) + payloadSize;
      // An event that would end exactly on the sub-buffer's end also switches: a write position
      // on a boundary means "the previous packet is closed", and only the closer may say that.
      if (pos === 0 || pos + size >= this.subbufSize) {
        const r = this.switchAndReserve(old, pos, id, payloadSize, lo, hi);
        if (r === RETRY) continue;
        return r;
      }
      if (Atomics.compareExchange(ctl, W.write, old, (old + size) | 0) !== old) continue;
      const at = this.dataOffset + (old & this.ringMask);
      const view = this.view;
      if (extended) {
        view.setUint16(at, EXTENDED_ID, true);
        view.setUint32(at + 2, id, true);
        view.setUint32(at + 6, lo, true);
        view.setUint32(at + 10, hi, true);
        Atomics.store(ctl, W.lastTsHi, hi);
      } else {
        view.setUint16(at, id, true);
        view.setUint32(at + 2, lo, true);
      }
      this.lastSize = size;
      return at + size - payloadSize;
    }
  }

  /** Publishes a reserved event: `size` is `lastSize` right after the matching reserve. */
  commit(payloadOffset: number, size: number): void {
    Atomics.add(
      this.ctl,
      Hot.commit + Hot.commitStride * (((payloadOffset - this.dataOffset) >>> this.subbufLog2) & this.slotMask),
      size,
    );
  }

  /** Events this stream dropped so far: buffer full, and too big for a sub-buffer. */
  get discarded(): number {
    return (Atomics.load(this.ctl, W.lostFull) >>> 0) + (Atomics.load(this.ctl, W.lostBig) >>> 0);
  }

  /**
   * Pokes `path` (a FIFO the session daemon holds open) with one byte each time this writer
   * closes a packet: the consumer drains at once instead of at its next poll. Non-blocking: a
   * full pipe already holds a wake-up. Returns false if the FIFO cannot be opened.
   */
  setWakePipe(path: string): boolean {
    try {
      this.wakeFd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.wakeFd >= 0) fs.closeSync(this.wakeFd);
    this.wakeFd = -1;
    unmapFile(this.buffer);
  }

  private wake(): void {
    try {
      fs.writeSync(this.wakeFd, WAKE_BYTE);
    } catch {
      // EAGAIN: the pipe is full of wake-ups already; EPIPE: nobody drains. Either way, go on.
    }
  }

  /** The slow path: open the next packet (closing the current one), or drop and count. */
  private switchAndReserve(old: number, pos: number, id: number, payloadSize: number, lo: number, hi: number): number {
    const ctl = this.ctl;
    // The first event of a packet is compact: its clock base is the packet's timestamp_begin.
    const headerSize = id >= EXTENDED_ID ? EXTENDED_HEADER : COMPACT_HEADER;
    const size = headerSize + payloadSize;
    if (size > this.subbufSize - PREAMBLE) {
      Atomics.add(ctl, W.lostBig, 1);
      return -1;
    }
    const next = pos === 0 ? old : (old - pos + this.subbufSize) | 0;
    const consumed = Atomics.load(ctl, W.consumed);
    if ((next - consumed) >>> 0 >= this.ringSize) {
      // The slot still holds the oldest unconsumed packet.
      if (!this.overwrite || !this.g.isComplete(ctl, consumed)) {
        Atomics.add(ctl, W.lostFull, 1);
        return -1;
      }
      if (Atomics.compareExchange(ctl, W.consumed, consumed, (consumed + this.subbufSize) | 0) === consumed)
        Atomics.add(ctl, W.overrun, 1);
      return RETRY;
    }
    if (Atomics.compareExchange(ctl, W.write, old, (next + PREAMBLE + size) | 0) !== old) return RETRY;
    if (pos !== 0) {
      closePacket(ctl, this.view, this.g, (old - pos) | 0, pos, lo, hi);
      if (this.wakeFd >= 0) this.wake();
    }
    openPacket(ctl, this.view, this.g, next, lo, hi);
    if (Atomics.load(ctl, W.lastTsHi) !== hi) Atomics.store(ctl, W.lastTsHi, hi);
    const at = this.g.subbufStart(next) + PREAMBLE;
    const view = this.view;
    if (headerSize === EXTENDED_HEADER) {
      view.setUint16(at, EXTENDED_ID, true);
      view.setUint32(at + 2, id, true);
      view.setUint32(at + 6, lo, true);
      view.setUint32(at + 10, hi, true);
    } else {
      view.setUint16(at, id, true);
      view.setUint32(at + 2, lo, true);
    }
    // The preamble is committed together with the event.
    this.lastSize = PREAMBLE + size;
    return at + headerSize;
  }
}
