import { PACKET_FIELD } from '@tstrace/ctf';
import { unmapFile } from '@tstrace/native';
import { mapStreamFile } from './create';
import { COMMIT_STRIDE, Geometry, MODE_OVERWRITE, streamFileSize, W } from './layout';
import { closePacket } from './packet-ops';

/** One complete packet, ready to be copied to disk unchanged. */
export interface Packet {
  /** Free-running position of the packet in the ring (what `consume` needs). */
  readonly position: number;
  /** The whole packet (sub-buffer size bytes). In discard mode a view of the shared memory, valid until `consume`; in overwrite mode a private copy. */
  readonly bytes: Uint8Array;
  readonly seq: bigint;
  /** Bytes holding the preamble and events (content_size / 8). */
  readonly contentSize: number;
  readonly timestampBegin: bigint;
  readonly timestampEnd: bigint;
  readonly eventsDiscarded: bigint;
  readonly streamId: number;
  readonly streamInstanceId: bigint;
  readonly cpuId: number;
}

export interface ReaderOptions {
  /** How long a closed packet may stay incomplete, with no commit, before it is skipped as stale. */
  staleMs?: number;
}

export interface StreamCounters {
  /** Events dropped because no sub-buffer was free (discard mode, or overwrite with the oldest packet still being written). */
  lostFull: number;
  /** Events larger than a sub-buffer. */
  lostBig: number;
  /** Packets overwritten before they were read (overwrite mode). */
  overrun: number;
  /** Packets skipped because a writer died before committing them. */
  skipped: number;
}

/**
 * The consumer side of one stream: the next complete packet, consume, flush, counters. One
 * reader per stream. It also numbers packets (packet_seq_num) by counting positions, and skips
 * packets left incomplete by a dead writer so that the ring never stays wedged.
 */
export class StreamReader {
  readonly subbufSize: number;
  readonly numSubbufs: number;
  readonly streamId: number;
  readonly cpuId: number;
  readonly overwrite: boolean;
  private readonly buffer: ArrayBuffer;
  private readonly ctl: Int32Array;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private readonly g: Geometry;
  private readonly staleMs: number;
  private stale: { position: number; commit: number; since: number } | undefined;
  private readonly clock = new BigUint64Array(1);
  private readonly clockWords = new Uint32Array(this.clock.buffer);

  private constructor(buffer: ArrayBuffer, options: ReaderOptions) {
    this.buffer = buffer;
    this.ctl = new Int32Array(buffer, 0, 1024);
    this.g = new Geometry(this.ctl);
    if (buffer.byteLength !== streamFileSize(this.g.subbufSize, this.g.numSubbufs))
      throw new Error(
        `ring buffer file has ${buffer.byteLength} bytes; its geometry needs ${streamFileSize(this.g.subbufSize, this.g.numSubbufs)}`,
      );
    this.view = new DataView(buffer);
    this.bytes = new Uint8Array(buffer);
    this.subbufSize = this.g.subbufSize;
    this.numSubbufs = this.g.numSubbufs;
    this.streamId = this.ctl[W.streamId];
    this.cpuId = this.ctl[W.cpuId];
    this.overwrite = this.ctl[W.mode] === MODE_OVERWRITE;
    this.staleMs = options.staleMs ?? 2000;
  }

  static open(path: string, options: ReaderOptions = {}): StreamReader {
    const buffer = mapStreamFile(path);
    try {
      return new StreamReader(buffer, options);
    } catch (err) {
      unmapFile(buffer);
      throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The oldest complete packet not yet consumed, or null if there is none (yet). */
  next(): Packet | null {
    const ctl = this.ctl;
    for (;;) {
      const position = Atomics.load(ctl, W.consumed);
      const write = Atomics.load(ctl, W.write);
      // The packet at `position` is still open (or not opened yet): nothing to read.
      if ((write - position) >>> 0 < this.subbufSize) return null;
      if (!this.g.isComplete(ctl, position)) {
        if (this.skipIfStale(position)) continue;
        return null;
      }
      this.stale = undefined;
      const start = this.g.subbufStart(position);
      let bytes = this.bytes.subarray(start, start + this.subbufSize);
      if (this.overwrite) {
        bytes = bytes.slice();
        // A writer pushes CONSUMED before it reuses a slot: if it has not moved, the copy is whole.
        if (Atomics.load(ctl, W.consumed) !== position) continue;
      }
      return this.packetAt(position, bytes);
    }
  }

  /**
   * Copies of the complete packets the ring holds, oldest first, consuming none of them (a
   * snapshot: the next one sees them again unless writers have reused their slots). flush()
   * first to include the open packet. A packet still being written is left out, and so is one
   * that a writer started to overwrite while it was copied.
   */
  snapshot(): Packet[] {
    const ctl = this.ctl;
    const write = Atomics.load(ctl, W.write);
    // Packets before the open one (or before the next to open, on a boundary) are closed.
    const end = (write - (write & this.g.subbufMask)) | 0;
    const packets: Packet[] = [];
    for (
      let position = Atomics.load(ctl, W.consumed);
      ((end - position) | 0) > 0;
      position = (position + this.subbufSize) | 0
    ) {
      if (!this.g.isComplete(ctl, position)) continue;
      const start = this.g.subbufStart(position);
      const bytes = this.bytes.slice(start, start + this.subbufSize);
      if (((position - Atomics.load(ctl, W.consumed)) | 0) < 0) continue;
      packets.push(this.packetAt(position, bytes));
    }
    return packets;
  }

  /** The packet at `position` (its bytes a view or a copy), numbered. */
  private packetAt(position: number, bytes: Uint8Array): Packet {
    const seq = this.seqOf(position);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    view.setBigUint64(PACKET_FIELD.packetSeqNum, seq, true);
    return {
      position,
      bytes,
      seq,
      contentSize: Number(view.getBigUint64(PACKET_FIELD.contentSize, true) / 8n),
      timestampBegin: view.getBigUint64(PACKET_FIELD.timestampBegin, true),
      timestampEnd: view.getBigUint64(PACKET_FIELD.timestampEnd, true),
      eventsDiscarded: view.getBigUint64(PACKET_FIELD.eventsDiscarded, true),
      streamId: view.getUint32(PACKET_FIELD.streamId, true),
      streamInstanceId: view.getBigUint64(PACKET_FIELD.streamInstanceId, true),
      cpuId: view.getUint32(PACKET_FIELD.cpuId, true),
    };
  }

  /** Hands the packet's sub-buffer back to the writers. */
  consume(packet: Packet): void {
    this.saveSeq((packet.position + this.subbufSize) | 0, packet.seq + 1n);
    // In overwrite mode a writer may already have pushed past it: then there is nothing to do.
    Atomics.compareExchange(this.ctl, W.consumed, packet.position, (packet.position + this.subbufSize) | 0);
  }

  /**
   * Closes the open packet so that it can be read (stop, switch timer, live). Returns false
   * when no packet was open.
   */
  flush(): boolean {
    const ctl = this.ctl;
    for (;;) {
      const old = Atomics.load(ctl, W.write);
      const pos = old & this.g.subbufMask;
      if (pos === 0) return false;
      if (Atomics.compareExchange(ctl, W.write, old, (old - pos + this.subbufSize) | 0) !== old) continue;
      // The end timestamp is read after the switch, so no event of the packet is later than it.
      this.clock[0] = process.hrtime.bigint();
      closePacket(ctl, this.view, this.g, (old - pos) | 0, pos, this.clockWords[0], this.clockWords[1]);
      return true;
    }
  }

  counters(): StreamCounters {
    const c = this.ctl;
    return {
      lostFull: Atomics.load(c, W.lostFull) >>> 0,
      lostBig: Atomics.load(c, W.lostBig) >>> 0,
      overrun: Atomics.load(c, W.overrun) >>> 0,
      skipped: Atomics.load(c, W.skipped) >>> 0,
    };
  }

  /** True when nothing written is left to read: no closed packet waits and no packet is open. */
  get drained(): boolean {
    return Atomics.load(this.ctl, W.write) === Atomics.load(this.ctl, W.consumed);
  }

  close(): void {
    unmapFile(this.buffer);
  }

  /** A closed packet whose commit count has not moved for staleMs lost a writer: repair, skip, count. */
  private skipIfStale(position: number): boolean {
    const slot = W.commit + COMMIT_STRIDE * this.g.slotOf(position);
    const commit = Atomics.load(this.ctl, slot);
    const now = Date.now();
    if (!this.stale || this.stale.position !== position || this.stale.commit !== commit) {
      this.stale = { position, commit, since: now };
      return false;
    }
    if (now - this.stale.since < this.staleMs) return false;
    const complete = (this.g.expectedCommit(position) + this.subbufSize) | 0;
    if (Atomics.compareExchange(this.ctl, slot, commit, complete) !== commit) return false;
    this.stale = undefined;
    Atomics.add(this.ctl, W.skipped, 1);
    const seq = this.seqOf(position);
    this.saveSeq((position + this.subbufSize) | 0, seq + 1n);
    Atomics.compareExchange(this.ctl, W.consumed, position, (position + this.subbufSize) | 0);
    return true;
  }

  /** packet_seq_num of the packet at `position`, from the last position the reader numbered. */
  private seqOf(position: number): bigint {
    const base = BigInt(this.ctl[W.readerSeqLo] >>> 0) | (BigInt(this.ctl[W.readerSeqHi] >>> 0) << 32n);
    const basePosition = this.ctl[W.readerPos];
    return base + BigInt(((position - basePosition) >>> 0) >>> this.g.subbufLog2);
  }

  private saveSeq(position: number, seq: bigint): void {
    this.ctl[W.readerSeqLo] = Number(seq & 0xffffffffn) | 0;
    this.ctl[W.readerSeqHi] = Number(seq >> 32n) | 0;
    this.ctl[W.readerPos] = position;
  }
}
