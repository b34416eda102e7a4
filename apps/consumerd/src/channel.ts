/**
 * One channel's buffers for one owner, drained into one trace: a packet source and a stream
 * output per stream, event counts, loss counters, the switch timer, and the wake-up pipes.
 */
import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { StreamCounters, StreamReader } from '@tstrace/ringbuffer';
import type { TraceSink } from '@tstrace/trace-writer';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { EventTable } from './event-count';
import type { PacketSource } from './source';
import { ChannelCounts, ChannelLog, StreamOutput } from './stream-output';

export type { ChannelLog } from './stream-output';

type AddChannel = tstrace.consumer.AddChannel.$Properties;

/** A protobuf uint64: a number, or a Long when it does not fit one. */
export type U64 = number | { toNumber(): number } | null | undefined;
export function u64(v: U64): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

interface Stream {
  n: number;
  source: PacketSource;
  out: StreamOutput;
  wake?: net.Socket;
  /** Streams that outlived their process (per-PID) are closed once drained. */
  closed: boolean;
  /** The ring's loss counters when it was closed (it is unmapped then). */
  final?: StreamCounters;
}

/** Refuses a channel name that cannot name a stream file. */
export function checkChannelName(name: string | null | undefined): void {
  if (!name || /[/\0]/.test(name))
    throw new StatusError(StatusCode.INVALID_ARGUMENT, `channel name ${JSON.stringify(name ?? '')} cannot name a file`);
}

/** Packets read from one stream per pass, so that one busy stream cannot starve the others. */
const PACKETS_PER_PASS = 64;

export class Channel {
  readonly key: number;
  readonly name: string;
  readonly session: string;
  readonly pid: number;
  readonly events: EventTable;
  /** Poll at least this often (ms; 0: wake-ups and the idle poll only). */
  readonly readTimerMs: number;
  readonly counts = new ChannelCounts();
  private readonly streams: Stream[] = [];
  private switchTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly req: AddChannel,
    /** The trace the channel drains into. */
    readonly sink: TraceSink,
    private readonly log: ChannelLog,
    /** Called when a writer pokes a wake-up pipe: drain soon. */
    private readonly kick: () => void,
  ) {
    this.key = u64(req.channelKey);
    this.readTimerMs = Math.ceil(u64(req.readTimerUs) / 1000);
    this.name = req.name ?? '';
    this.session = req.session ?? '';
    this.pid = req.pid ?? 0;
    this.events = new EventTable(req.contexts ?? []);
    this.events.addAll(req.events ?? []);
    const switchUs = u64(req.switchTimerUs);
    if (switchUs > 0) {
      this.switchTimer = setInterval(
        () => {
          if (this.flush()) kick();
        },
        Math.max(1, Math.round(switchUs / 1000)),
      );
      this.switchTimer.unref();
    }
  }

  /** Maps a stream and opens its output; an output already there (restarted consumer) is resumed. */
  addStream(shmPath: string, n: number, wakePath: string): void {
    if (this.streams.some((s) => s.n === n))
      throw new Error(`stream ${n} of channel "${this.name}" is already attached`);
    const source = StreamReader.open(shmPath);
    const name = `${this.name}_${n}`;
    let out: StreamOutput;
    try {
      const sink = this.sink.openStream(name, {
        tracefileSize: u64(this.req.tracefileSize),
        tracefileCount: u64(this.req.tracefileCount),
      });
      out = new StreamOutput(sink, `${this.sink.description}/${name}`, this.events, this.counts, this.log);
    } catch (err) {
      source.close();
      throw err;
    }
    const stream: Stream = { n, source, out, closed: false };
    if (wakePath) stream.wake = this.openWake(wakePath);
    this.streams.push(stream);
  }

  /** Reads every complete packet now available, up to PACKETS_PER_PASS per stream. Returns how many. */
  drain(limit = PACKETS_PER_PASS): number {
    let total = 0;
    for (const s of this.streams) {
      if (s.closed) continue;
      for (let i = 0; i < limit; i++) {
        const p = s.source.next();
        if (!p) break;
        // A packet the output could not take stays in the ring: the next pass retries it.
        if (!s.out.put(p)) return total;
        s.source.consume(p);
        total++;
      }
    }
    return total;
  }

  /** Closes the open packet of every stream. True if one was open. */
  flush(): boolean {
    let any = false;
    for (const s of this.streams) if (!s.closed && s.source.flush()) any = true;
    return any;
  }

  /** Is anything written to the buffers not in the output yet (on disk, or acknowledged by the relay)? */
  get pending(): boolean {
    return this.sink.pending || this.streams.some((s) => !s.closed && !s.source.drained);
  }

  /** Per-PID buffers of a process that is gone: closed once they are drained. */
  closeIfOrphaned(): void {
    if (this.pid === 0 || processAlive(this.pid)) return;
    this.flush();
    this.drain(Infinity);
    for (const s of this.streams) {
      if (s.closed || !s.source.drained) continue;
      this.closeStream(s);
      this.log.debug(
        `channel "${this.name}" of session "${this.session}": stream ${s.n} of pid ${this.pid} drained and closed`,
      );
    }
  }

  stats(): tstrace.consumer.ChannelStats.$Properties {
    let discarded = 0;
    let overwritten = 0;
    let skipped = 0;
    for (const s of this.streams) {
      const c = s.final ?? s.source.counters();
      discarded += c.lostFull + c.lostBig;
      overwritten += c.overrun;
      skipped += c.skipped;
    }
    return {
      channelKey: this.key,
      packets: this.counts.packets,
      bytes: this.counts.bytes,
      eventsRecorded: this.counts.recorded,
      eventsDiscarded: discarded,
      packetsOverwritten: overwritten,
      packetsSkipped: skipped,
      dataPending: this.pending,
      error: this.counts.error,
    };
  }

  /** Drains what is left and closes everything. */
  destroy(): void {
    if (this.switchTimer) clearInterval(this.switchTimer);
    this.flush();
    this.drain(Infinity);
    for (const s of this.streams) if (!s.closed) this.closeStream(s);
  }

  private closeStream(s: Stream): void {
    s.final = s.source.counters();
    s.closed = true;
    s.wake?.destroy();
    s.out.sink.close();
    s.source.close();
  }

  /** The FIFO writers poke at a sub-buffer switch: opened non-blocking, so no writer ever waits. */
  private openWake(wakePath: string): net.Socket | undefined {
    try {
      const fd = fs.openSync(wakePath, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
      // O_RDWR keeps the pipe open when no writer has it, so reads never see end-of-file.
      const socket = new net.Socket({ fd, readable: true, writable: false });
      socket.on('data', () => this.kick());
      socket.on('error', (err) => this.log.warn(`wake-up pipe ${wakePath}: ${err.message}`));
      return socket;
    } catch (err) {
      this.log.warn(
        `cannot open the wake-up pipe ${wakePath} (the read timer drains instead): ${(err as Error).message}`,
      );
      return undefined;
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
