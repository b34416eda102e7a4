/**
 * The one path from a packet to an output, for the drain loop and for snapshots alike: count the
 * packet's events, hand the packet to its stream's sink unchanged, and keep the counts.
 */
import type { Packet } from '@tstrace/ringbuffer';
import type { StreamSink } from '@tstrace/trace-writer';
import type { EventTable } from './event-count';

export interface ChannelLog {
  debug(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What a channel (or one snapshot of it) has written, and its last error. */
export class ChannelCounts {
  packets = 0;
  bytes = 0;
  recorded = 0;
  /** Why the last packet could not be counted or written, if it could not. */
  error = '';
}

export class StreamOutput {
  constructor(
    readonly sink: StreamSink,
    /** For messages: the stream's name in its trace. */
    readonly name: string,
    private readonly events: EventTable,
    private readonly counts: ChannelCounts,
    private readonly log: ChannelLog,
  ) {}

  /**
   * Writes a packet unless the output already holds it (written by a consumer that died before
   * consuming it). Returns false when the output could not take it: the packet is still the
   * caller's (the drain leaves it in the ring and tries again).
   */
  put(p: Packet): boolean {
    if (p.seq <= this.sink.lastSeq) return true;
    let events = 0;
    let countError = '';
    try {
      events = this.events.count(p.bytes, p.contentSize);
    } catch (err) {
      countError = `packet ${p.seq} of ${this.name}: ${(err as Error).message}`;
    }
    try {
      this.sink.write({ ...p, events });
    } catch (err) {
      this.counts.error = (err as Error).message;
      this.log.error(this.counts.error);
      return false;
    }
    this.counts.packets++;
    this.counts.bytes += p.bytes.byteLength;
    this.counts.recorded += events;
    if (countError) {
      this.counts.error = countError;
      this.log.warn(countError);
    }
    return true;
  }
}
