/**
 * The layout of one stream's shared-memory file (docs/USERSPACE.md "Stream file layout"):
 * a control area of Int32 words, then N sub-buffers of SB bytes, each one a CTF packet.
 * Positions are free-running u32 byte counts that wrap at 2^32 (a multiple of N × SB).
 */
import { PACKET_PREAMBLE_SIZE } from '@tstrace/ctf';

export const MAGIC = 0x42525354; // "TSRB" little-endian
export const LAYOUT_VERSION = 1;

/** Int32 word indexes in the control area; hot words sit alone on a 64-byte line. */
export const W = {
  magic: 0,
  version: 1,
  subbufLog2: 2,
  numSubbufLog2: 3,
  mode: 4,
  streamId: 5,
  cpuId: 6,
  dataOffset: 7,
  uuid: 8, // 4 words
  instanceLo: 12,
  instanceHi: 13,
  write: 16,
  consumed: 32,
  lastTsHi: 48,
  lostFull: 64,
  lostBig: 65,
  overrun: 66,
  skipped: 67,
  readerSeqLo: 80,
  readerSeqHi: 81,
  readerPos: 82,
  commit: 128, // + 16 × slot
} as const;
export const COMMIT_STRIDE = 16;

export const MODE_DISCARD = 0;
export const MODE_OVERWRITE = 1;
export type LossMode = 'discard' | 'overwrite';

export const MIN_SUBBUF_SIZE = 4096;
/** Total ring size is kept ≤ 1 GiB so that wrap-safe differences of positions never overflow. */
export const MAX_RING_BYTES = 1 << 30;

/** Event header sizes: LTTng-UST's event_header_large, packed. */
export const COMPACT_HEADER = 6; // u16 id + u32 timestamp
export const EXTENDED_HEADER = 14; // u16 65535 + u32 id + u64 timestamp
export const EXTENDED_ID = 65535;
export const PREAMBLE = PACKET_PREAMBLE_SIZE;

export function controlAreaSize(numSubbufs: number): number {
  const bytes = (W.commit + COMMIT_STRIDE * numSubbufs) * 4;
  return Math.ceil(bytes / 4096) * 4096;
}

export function streamFileSize(subbufSize: number, numSubbufs: number): number {
  return controlAreaSize(numSubbufs) + subbufSize * numSubbufs;
}

const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** Throws a RangeError naming what is wrong with a ring's geometry. */
export function checkGeometry(subbufSize: number, numSubbufs: number): void {
  if (!isPowerOfTwo(subbufSize) || subbufSize < MIN_SUBBUF_SIZE)
    throw new RangeError(`sub-buffer size ${subbufSize} must be a power of two >= ${MIN_SUBBUF_SIZE}`);
  if (!isPowerOfTwo(numSubbufs) || numSubbufs < 2)
    throw new RangeError(`sub-buffer count ${numSubbufs} must be a power of two >= 2`);
  if (subbufSize * numSubbufs > MAX_RING_BYTES)
    throw new RangeError(`a ring of ${numSubbufs} × ${subbufSize} bytes exceeds ${MAX_RING_BYTES} bytes`);
}

/** The geometry every writer and reader derives from the control area. */
export class Geometry {
  readonly subbufSize: number;
  readonly subbufLog2: number;
  readonly numSubbufs: number;
  readonly numSubbufLog2: number;
  readonly subbufMask: number;
  readonly ringMask: number;
  /** Mask applied to commit counters and to their expected values (LTTng's commit_count_mask). */
  readonly commitMask: number;
  readonly dataOffset: number;

  constructor(ctl: Int32Array) {
    if (ctl[W.magic] !== MAGIC)
      throw new Error(`not a tstrace ring buffer (magic 0x${(ctl[W.magic] >>> 0).toString(16)})`);
    if (ctl[W.version] !== LAYOUT_VERSION)
      throw new Error(`ring buffer layout version ${ctl[W.version]} is not supported (expected ${LAYOUT_VERSION})`);
    this.subbufLog2 = ctl[W.subbufLog2];
    this.numSubbufLog2 = ctl[W.numSubbufLog2];
    this.subbufSize = 2 ** this.subbufLog2;
    this.numSubbufs = 2 ** this.numSubbufLog2;
    checkGeometry(this.subbufSize, this.numSubbufs);
    this.subbufMask = this.subbufSize - 1;
    this.ringMask = this.subbufSize * this.numSubbufs - 1;
    this.commitMask = 0xffffffff >>> this.numSubbufLog2;
    this.dataOffset = ctl[W.dataOffset];
    if (this.dataOffset !== controlAreaSize(this.numSubbufs))
      throw new Error(`ring buffer data offset ${this.dataOffset} does not match its geometry`);
  }

  slotOf(position: number): number {
    return (position >>> this.subbufLog2) & (this.numSubbufs - 1);
  }

  /** Byte offset in the file of the sub-buffer holding `position`. */
  subbufStart(position: number): number {
    return this.dataOffset + (position & this.ringMask & ~this.subbufMask);
  }

  /** Is the packet that starts at `position` fully committed? */
  isComplete(ctl: Int32Array, position: number): boolean {
    return (
      ((Atomics.load(ctl, W.commit + COMMIT_STRIDE * this.slotOf(position)) - this.subbufSize) & this.commitMask) >>>
        0 ===
      this.expectedCommit(position)
    );
  }

  /** The masked commit count of a packet starting at `position`, minus one sub-buffer. */
  expectedCommit(position: number): number {
    return (((position & ~this.ringMask) >>> this.numSubbufLog2) & this.commitMask) >>> 0;
  }
}
