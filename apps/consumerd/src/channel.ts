/**
 * One channel's buffers for one owner, drained into one trace directory: a StreamReader and a
 * StreamFile per stream, event counts, loss counters, the switch timer, and the wake-up pipes.
 */
import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { StreamCounters, StreamReader } from '@tstrace/ringbuffer';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { EventTable } from './event-count';
import { fileOwner } from './metadata-file';
import { FileOwner, StreamFile } from './stream-file';

type AddChannel = tstrace.consumer.AddChannel.$Properties;

/** A protobuf uint64: a number, or a Long when it does not fit one. */
export type U64 = number | { toNumber(): number } | null | undefined;
export function u64(v: U64): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export interface ChannelLog {
  debug(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

interface Stream {
  n: number;
  reader: StreamReader;
  file: StreamFile;
  wake?: net.Socket;
  /** Streams that outlived their process (per-PID) are closed once drained. */
  closed: boolean;
  /** The ring's loss counters when it was closed (it is unmapped then). */
  final?: StreamCounters;
}

/** Refuses a trace directory that is not absolute, or a channel name that cannot name a stream file. */
export function checkChannelTarget(traceDir: string | null | undefined, name: string | null | undefined): void {
  if (!traceDir || !path.isAbsolute(traceDir))
    throw new StatusError(
      StatusCode.INVALID_ARGUMENT,
      `trace directory ${JSON.stringify(traceDir ?? '')} must be an absolute path`,
    );
  if (!name || /[/\0]/.test(name))
    throw new StatusError(StatusCode.INVALID_ARGUMENT, `channel name ${JSON.stringify(name ?? '')} cannot name a file`);
}

/** Packets read from one stream per pass, so that one busy stream cannot starve the others. */
const PACKETS_PER_PASS = 64;

export class Channel {
  readonly key: number;
  readonly name: string;
  readonly session: string;
  readonly traceDir: string;
  readonly pid: number;
  readonly events: EventTable;
  /** Poll at least this often (ms; 0: wake-ups and the idle poll only). */
  readonly readTimerMs: number;
  packets = 0;
  bytes = 0;
  recorded = 0;
  /** Why the last packet could not be counted or written, if it could not. */
  error = '';
  private readonly streams: Stream[] = [];
  private switchTimer: NodeJS.Timeout | undefined;
  private readonly owner: FileOwner | undefined;

  constructor(
    private readonly req: AddChannel,
    private readonly log: ChannelLog,
    /** Called when a writer pokes a wake-up pipe: drain soon. */
    private readonly kick: () => void,
  ) {
    this.key = u64(req.channelKey);
    this.readTimerMs = Math.ceil(u64(req.readTimerUs) / 1000);
    this.name = req.name ?? '';
    this.session = req.session ?? '';
    this.traceDir = req.traceDir ?? '';
    this.pid = req.pid ?? 0;
    this.owner = fileOwner(req.ownerUid ?? 0, req.ownerGid ?? 0);
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

  /** Maps a stream and opens its file; a file already on disk (restarted consumer) is resumed. */
  addStream(shmPath: string, n: number, wakePath: string): void {
    if (this.streams.some((s) => s.n === n))
      throw new Error(`stream ${n} of channel "${this.name}" is already attached`);
    const reader = StreamReader.open(shmPath);
    const file = new StreamFile({
      dir: this.traceDir,
      name: `${this.name}_${n}`,
      tracefileSize: u64(this.req.tracefileSize),
      tracefileCount: u64(this.req.tracefileCount),
      owner: this.owner,
    });
    try {
      file.open();
    } catch (err) {
      reader.close();
      throw err;
    }
    const stream: Stream = { n, reader, file, closed: false };
    if (wakePath) stream.wake = this.openWake(wakePath);
    this.streams.push(stream);
  }

  /** Reads every complete packet now available, up to PACKETS_PER_PASS per stream. Returns how many. */
  drain(limit = PACKETS_PER_PASS): number {
    let total = 0;
    for (const s of this.streams) {
      if (s.closed) continue;
      for (let i = 0; i < limit; i++) {
        const p = s.reader.next();
        if (!p) break;
        // A packet already on disk (written by a consumer that died before consuming it) is not written twice.
        if (p.seq > s.file.lastSeq) {
          try {
            s.file.write(p);
          } catch (err) {
            // The packet stays in the ring: the next pass retries it; the stats say why.
            this.error = `cannot write ${s.file.paths.data}: ${(err as Error).message}`;
            this.log.error(this.error);
            return total;
          }
          this.packets++;
          this.bytes += p.bytes.byteLength;
          try {
            this.recorded += this.events.count(p.bytes, p.contentSize);
          } catch (err) {
            this.error = `packet ${p.seq} of ${s.file.paths.data}: ${(err as Error).message}`;
            this.log.warn(this.error);
          }
        }
        s.reader.consume(p);
        total++;
      }
    }
    return total;
  }

  /** Closes the open packet of every stream. True if one was open. */
  flush(): boolean {
    let any = false;
    for (const s of this.streams) if (!s.closed && s.reader.flush()) any = true;
    return any;
  }

  /** Is anything written to the buffers not on disk yet? */
  get pending(): boolean {
    return this.streams.some((s) => !s.closed && !s.reader.drained);
  }

  /** Per-PID buffers of a process that is gone: closed once they are drained. */
  closeIfOrphaned(): void {
    if (this.pid === 0 || processAlive(this.pid)) return;
    this.flush();
    this.drain(Infinity);
    for (const s of this.streams) {
      if (s.closed || !s.reader.drained) continue;
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
      const c = s.final ?? s.reader.counters();
      discarded += c.lostFull + c.lostBig;
      overwritten += c.overrun;
      skipped += c.skipped;
    }
    return {
      channelKey: this.key,
      packets: this.packets,
      bytes: this.bytes,
      eventsRecorded: this.recorded,
      eventsDiscarded: discarded,
      packetsOverwritten: overwritten,
      packetsSkipped: skipped,
      dataPending: this.pending,
      error: this.error,
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
    s.final = s.reader.counters();
    s.closed = true;
    s.wake?.destroy();
    s.file.close();
    s.reader.close();
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
