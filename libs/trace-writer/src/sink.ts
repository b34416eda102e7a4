/**
 * The output seam: where a consumer puts the packets it drains. A trace (one metadata file, one
 * stream per channel and CPU) goes to a TraceSink; each of its streams to a StreamSink. A local
 * directory (LocalTrace) is one kind of sink; a connection to a relay daemon is another. Both get
 * the same packets, unchanged, with the fields of their index entries.
 */

/** One packet for an output: its bytes as the tracer wrote them, and the fields of its index entry. */
export interface OutPacket {
  /** The whole packet (packet_size / 8 bytes, padding included). */
  readonly bytes: Uint8Array;
  /** Bytes of preamble and events (content_size / 8). */
  readonly contentSize: number;
  readonly timestampBegin: bigint;
  readonly timestampEnd: bigint;
  /** Free-running count of the stream's discarded events, as in the packet context. */
  readonly eventsDiscarded: bigint;
  readonly streamId: number;
  readonly streamInstanceId: bigint;
  /** packet_seq_num. */
  readonly seq: bigint;
  /** Events in the packet, as the consumer counted them: what is lost if the packet is. */
  readonly events: number;
}

/** LTTng's --tracefile-size / --tracefile-count. */
export interface StreamOptions {
  /** Bytes per file before a new one starts; 0 for one file. */
  tracefileSize: number;
  /** Files kept; the oldest is removed when a new one would exceed it. 0 for no limit. */
  tracefileCount: number;
}

/** The output of one stream. */
export interface StreamSink {
  /**
   * packet_seq_num of the newest packet the output already holds (-1n: none). A restarted
   * consumer finds packets in the ring that its predecessor wrote but did not consume: those
   * are not written again.
   */
  readonly lastSeq: bigint;
  /**
   * Takes one packet. All or nothing: when it throws (a SinkError), the output is as it was
   * before the call, and the caller counts the packet as lost.
   */
  write(packet: OutPacket): void;
  close(): void;
}

/** What an output has lost after it took it (a relay link that dropped queued packets). */
export interface SinkLosses {
  packets: number;
  events: number;
}

/** The output of one trace: its metadata and its streams. */
export interface TraceSink {
  /** What and where the trace is, for messages: a directory, or a relay and a path. */
  readonly description: string;
  /** Opens the output of a stream (`<channel>_<n>`); an output already there is resumed. */
  openStream(name: string, options: StreamOptions): StreamSink;
  /**
   * The trace's whole TSDL text as it is now. What is new is stored: appended when the text only
   * grew, else the whole of it replaced at once. Throws a SinkError.
   */
  metadata(text: string): void;
  /** Pushes out what is buffered (a network link); writes that are synchronous have nothing to push. */
  flush(): void;
  /** True while something taken is not yet stored for good (not yet acknowledged by a relay). */
  readonly pending: boolean;
  /** Packets and events taken but lost later; a sink that fails synchronously (local files) loses none this way. */
  losses(): SinkLosses;
  /** The last error of the output, '' if none: it reaches `status` and `stop`. */
  readonly error: string;
  close(): void;
}

/** An output that cannot take a packet or the metadata; `code` is the errno name when there is one. */
export class SinkError extends Error {
  constructor(
    message: string,
    readonly code = '',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SinkError';
  }
}
