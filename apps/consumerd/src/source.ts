/**
 * The input side of the drain: where a stream's packets come from. A userspace ring buffer
 * (libs/ringbuffer's StreamReader) is one; the kernel consumer's ftrace pages, turned into CTF
 * packets, are another. The drain loop and snapshots read every source the same way.
 */
import type { Packet, StreamCounters } from '@tstrace/ringbuffer';

export interface PacketSource {
  /** Bytes per packet (the sub-buffer size). */
  readonly subbufSize: number;
  /** The oldest complete packet not yet consumed, or null if there is none (yet). */
  next(): Packet | null;
  /** Done with the packet (written, or lost and counted): its space goes back to the producers. */
  consume(packet: Packet): void;
  /** Closes the packet being filled, so that it can be read. True if one was open. */
  flush(): boolean;
  /** Copies of the complete packets held now, consuming none (snapshots); flush() first for the open one. */
  snapshot(): Packet[];
  /** True when nothing produced is left to read. */
  readonly drained: boolean;
  /** The producers' loss counters. */
  counters(): StreamCounters;
  close(): void;
}
