// Reading traces while they are written (`tstrace view --follow`), and whole traces with their
// losses reported packet by packet: only whole packets are read, stream files and traces are
// picked up as they appear, the metadata is read again when it changes, and events are merged
// in time order as far as the packets on disk tell.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cursor } from './decoder';
import { CtfError, TruncatedPacketError } from './errors';
import { nsOf, PacketInfo, TraceDecoder, TraceEvent, TraceInfo, u64Of } from './stream';
import { Discarded, findTraces, Head, Heap, natural, readMetadataFile, traceInfoOf } from './trace';

/** Events or packets lost, as a packet context tells it (babeltrace2 prints a warning for each). */
export interface DiscardNotice {
  what: 'events' | 'packets';
  /** undefined: the stream's first packet counts losses from before it (babeltrace2: "may have discarded"). */
  count?: bigint;
  /** ns from the epoch: the previous packet's end, or this packet's beginning when it is the stream's first. */
  beginNs: bigint;
  /** ns from the epoch: this packet's end (events) or beginning (packets). */
  endNs: bigint;
  trace: TraceInfo;
  /** The stream's first file. */
  stream: string;
  streamClassId: number;
  streamInstanceId?: bigint;
}

export interface FollowOptions {
  /** Called when a packet that reports losses is read, before its events are given. */
  onDiscard?: (d: DiscardNotice) => void;
  /** Polls during which a packet that does not decode is retried (the metadata of its events may come later) before its error is thrown. Default 20. */
  patience?: number;
}

/** A stream's files, read packet by packet up to the last whole one. */
class TailStream implements Head {
  event!: TraceEvent;
  /** `event` is the stream's next event, not given out yet. */
  has = false;
  /** Time of the last event given out: the stream has nothing earlier to come. */
  lastNs?: bigint;
  readonly uuid: string | undefined;
  readonly instance: bigint;
  readonly name: string;
  discardedEvents = 0n;
  discardedPackets = 0n;
  private readonly files: { file: string; begin: bigint }[] = [];
  private idx = 0;
  /** Offset of the current packet (or of the next one) in files[idx]. */
  private offset = 0;
  private readonly c: Cursor;
  private p?: PacketInfo;
  private it?: Iterator<TraceEvent>;
  /** The clock before the current packet, for a packet read again. */
  private startClock = 0n;
  /** Events of the current packet given out (skipped when the packet is read again). */
  private taken = 0;
  private skip = 0;
  /** The current packet failed part-way and is to be read again (its losses were told). */
  private again = false;
  private failures = 0;
  private lastDiscarded?: bigint;
  private lastSeq?: bigint;
  private lastEndNs?: bigint;

  constructor(
    private readonly trace: TailTrace,
    readonly streamClassId: number,
    readonly instanceId: bigint | undefined,
    first: { file: string; begin: bigint },
    readonly rank: number,
    private readonly opts: FollowOptions,
  ) {
    this.files.push(first);
    this.name = first.file;
    this.c = new Cursor(first.file);
    this.uuid = trace.info.uuid;
    this.instance = instanceId ?? BigInt(rank);
  }

  /** A rotated file of this stream (--tracefile-size), placed by its first timestamp among those not read yet. */
  addFile(file: string, begin: bigint): void {
    let at = this.files.length;
    while (at > this.idx + 1 && this.files[at - 1].begin > begin) at--;
    this.files.splice(at, 0, { file, begin });
  }

  take(): TraceEvent {
    this.has = false;
    this.lastNs = this.event.timeNs;
    return this.event;
  }

  /** Makes `event` the next event when a whole packet on disk has one; false when none has yet. */
  fill(final: boolean): boolean {
    if (this.has) return true;
    for (;;) {
      if (this.it) {
        let r: IteratorResult<TraceEvent>;
        try {
          r = this.it.next();
        } catch (e) {
          this.it = undefined;
          this.again = true;
          this.c.clock = this.startClock;
          if (!final && e instanceof CtfError) {
            if (this.trace.reload()) continue;
            if (this.wait()) return false;
          }
          throw e;
        }
        if (r.done) {
          this.endPacket();
          continue;
        }
        if (this.skip > 0) {
          this.skip--;
          continue;
        }
        this.taken++;
        this.event = r.value;
        this.has = true;
        return true;
      }
      if (!this.load(final)) return false;
    }
  }

  private endPacket(): void {
    const p = this.p!;
    // At a packet's end the clock is its timestamp_end (as CtfTrace reads it).
    const end = u64Of(p.context?.timestamp_end);
    if (end !== undefined && end > this.c.clock) this.c.clock = end;
    this.offset += p.packetBytes;
    this.it = undefined;
    this.taken = 0;
    this.again = false;
    this.failures = 0;
  }

  /** Opens the next whole packet; false when there is none yet. */
  private load(final: boolean): boolean {
    for (;;) {
      const f = this.files[this.idx];
      if (!f) return false;
      let fd: number;
      try {
        fd = fs.openSync(f.file, 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new CtfError(`${f.file}: ${(e as Error).message}`);
        // Removed by tracefile rotation (--tracefile-count): its packets are gone.
        this.files.splice(this.idx, 1);
        this.offset = 0;
        this.taken = 0;
        this.again = false;
        continue;
      }
      try {
        const size = fs.fstatSync(fd).size;
        if (this.offset >= size) {
          if (this.idx + 1 >= this.files.length) return false;
          this.idx++;
          this.offset = 0;
          continue;
        }
        const dec = this.trace.dec;
        this.startClock = this.c.clock;
        let p: PacketInfo;
        let buf: Buffer;
        try {
          p = dec.readPacket(this.c, fd, f.file, size, this.offset);
          buf = dec.readWhole(fd, size, p);
        } catch (e) {
          this.c.clock = this.startClock;
          // The consumer is still writing it: only whole packets are read.
          if (!final && e instanceof TruncatedPacketError && this.idx + 1 >= this.files.length) return false;
          if (!final && e instanceof CtfError && !(e instanceof TruncatedPacketError)) {
            if (this.trace.reload()) continue;
            if (this.wait()) return false;
          }
          throw e;
        }
        if (!this.again) this.losses(p);
        this.p = p;
        this.skip = this.taken;
        this.it = dec.events(this.c, p, buf, this.name);
        return true;
      } finally {
        fs.closeSync(fd);
      }
    }
  }

  /** A packet that does not decode may use events the metadata does not have yet: true to try again at a later poll. */
  private wait(): boolean {
    return ++this.failures < (this.opts.patience ?? 20);
  }

  private losses(p: PacketInfo): void {
    const info = this.trace.info;
    const beginNs = nsOf(info.clock, this.c.clock);
    const endNs = nsOf(info.clock, u64Of(p.context?.timestamp_end) ?? this.c.clock);
    const notify = (what: 'events' | 'packets', count: bigint | undefined, from: bigint, to: bigint) =>
      this.opts.onDiscard?.({
        what,
        count,
        beginNs: from,
        endNs: to,
        trace: info,
        stream: this.name,
        streamClassId: this.streamClassId,
        streamInstanceId: this.instanceId,
      });
    const d = u64Of(p.context?.events_discarded);
    if (d !== undefined) {
      if (this.lastDiscarded === undefined) {
        if (d > 0n) {
          this.discardedEvents += d;
          notify('events', undefined, beginNs, endNs);
        }
      } else if (d !== this.lastDiscarded) {
        // A free-running counter: what it grew by since the previous packet.
        const n = BigInt.asUintN(64, d - this.lastDiscarded);
        this.discardedEvents += n;
        notify('events', n, this.lastEndNs ?? beginNs, endNs);
      }
      this.lastDiscarded = d;
    }
    const seq = u64Of(p.context?.packet_seq_num);
    if (seq !== undefined) {
      if (this.lastSeq !== undefined && seq - this.lastSeq > 1n) {
        const n = seq - this.lastSeq - 1n;
        this.discardedPackets += n;
        notify('packets', n, this.lastEndNs ?? beginNs, beginNs);
      }
      this.lastSeq = seq;
    }
    this.lastEndNs = endNs;
  }
}

/** The metadata file's bytes and what tells a changed file (size, time, inode: LTTng appends; tstrace also renames). */
function readMeta(dir: string): { data: Buffer; stamp: string } {
  const data = readMetadataFile(dir);
  const st = fs.statSync(path.join(dir, 'metadata'), { bigint: true });
  return { data, stamp: `${data.length}:${st.mtimeNs}:${st.ino}` };
}

class TailTrace {
  /** Stream files identified (their first packet read), and the streams by class and instance. */
  private readonly known = new Set<string>();
  private readonly streams = new Map<string, TailStream>();
  private readonly c: Cursor;

  private constructor(
    readonly dir: string,
    public info: TraceInfo,
    public dec: TraceDecoder,
    private stamp: string,
  ) {
    this.c = new Cursor(dir);
  }

  /** undefined while the metadata is missing or does not parse yet (unless final: then it throws). */
  static open(dir: string, final: boolean): TailTrace | undefined {
    try {
      const m = readMeta(dir);
      const info = traceInfoOf(dir, m.data);
      return new TailTrace(dir, info, new TraceDecoder(info), m.stamp);
    } catch (e) {
      if (final) throw e;
      return undefined;
    }
  }

  /** Reads the metadata again when it changed and parses (a half-written one is left for later). */
  reload(): boolean {
    try {
      const m = readMeta(this.dir);
      if (m.stamp === this.stamp) return false;
      const info = traceInfoOf(this.dir, m.data);
      this.info = info;
      this.dec = new TraceDecoder(info);
      this.stamp = m.stamp;
      return true;
    } catch {
      return false;
    }
  }

  /** Identifies new stream files; returns how many files are still unknown (empty, or their first packet not whole). */
  scan(
    final: boolean,
    create: (
      t: TailTrace,
      sc: number,
      instance: bigint | undefined,
      first: { file: string; begin: bigint },
    ) => TailStream,
  ): number {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(this.dir, { withFileTypes: true });
    } catch (e) {
      if (final) throw new CtfError(`${this.dir}: ${(e as Error).message}`);
      return 0;
    }
    const files = entries
      .filter((d) => d.isFile() && d.name !== 'metadata' && !d.name.startsWith('.'))
      .map((d) => path.join(this.dir, d.name))
      .sort(natural);
    let unknown = 0;
    for (const file of files) {
      if (this.known.has(file)) continue;
      const id = this.identify(file, final);
      if (!id) {
        if (id === undefined) unknown++;
        continue;
      }
      this.known.add(file);
      const key = id.instance === undefined ? `file:${file}` : `${id.sc}:${id.instance}`;
      const s = this.streams.get(key);
      if (s) s.addFile(file, id.begin);
      else this.streams.set(key, create(this, id.sc, id.instance, { file, begin: id.begin }));
    }
    return unknown;
  }

  /** The stream of a file, from its first packet; undefined: not yet; null: an empty file of a finished trace. */
  private identify(file: string, final: boolean): { sc: number; instance?: bigint; begin: bigint } | undefined | null {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new CtfError(`${file}: ${(e as Error).message}`);
    }
    try {
      const size = fs.fstatSync(fd).size;
      // A stream that never got a packet.
      if (size === 0) return final ? null : undefined;
      try {
        const p = this.dec.readPacket(this.c, fd, file, size, 0);
        return {
          sc: p.streamClass.id,
          instance: u64Of(p.header?.stream_instance_id),
          begin: u64Of(p.context?.timestamp_begin) ?? 0n,
        };
      } catch (e) {
        if (final || !(e instanceof CtfError)) throw e;
        // Not whole yet, or of a stream class the metadata does not have yet.
        if (!(e instanceof TruncatedPacketError)) this.reload();
        return undefined;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

/**
 * The traces under some directories, read as they grow. `poll()` gives the events that are
 * known to come before anything still to be written; `finish()` gives everything left.
 */
export class TraceFollower {
  private readonly traces = new Map<string, TailTrace>();
  private readonly streams: TailStream[] = [];
  private rank = 0;
  /** Traces and stream files seen but not readable yet: they may hold events earlier than any read. */
  private unknown = 0;

  /** `roots`: trace directories, or directories with traces under them (as readEvents takes them). */
  constructor(
    readonly roots: string[],
    private readonly opts: FollowOptions = {},
  ) {}

  /** The trace directories found so far. */
  get traceDirs(): string[] {
    return [...this.traces.keys()];
  }

  /**
   * Events of the whole packets on disk, in time order, as long as no stream can still write an
   * earlier one: each stream's next event is read, and one that is not (no whole packet yet)
   * holds back everything after its last event. Events at or before `limitNs` (ns from the
   * epoch) are given anyway: the caller knows that packets close within some time (a switch
   * timer) and passes now minus that time.
   */
  *poll(limitNs?: bigint): Generator<TraceEvent> {
    yield* this.merge(false, limitNs);
  }

  /** Every event left, in time order, for traces that are complete: a packet cut short is an error. */
  *finish(): Generator<TraceEvent> {
    yield* this.merge(true);
  }

  /** Streams that lost events or packets so far (as CtfTrace.discarded). */
  discarded(): Discarded[] {
    return this.streams
      .filter((s) => s.discardedEvents > 0n || s.discardedPackets > 0n)
      .map((s) => ({ stream: s.name, events: s.discardedEvents, packets: s.discardedPackets }));
  }

  private scan(final: boolean): void {
    const dirs = this.roots.flatMap((root) => {
      if (fs.existsSync(path.join(root, 'metadata'))) return [root];
      try {
        return findTraces(root);
      } catch (e) {
        // Not there yet, or a directory removed while it was walked.
        if (final) throw e;
        return [];
      }
    });
    this.unknown = 0;
    const create = (t: TailTrace, sc: number, instance: bigint | undefined, first: { file: string; begin: bigint }) => {
      const s = new TailStream(t, sc, instance, first, this.rank++, this.opts);
      this.streams.push(s);
      return s;
    };
    for (const dir of dirs) {
      let t = this.traces.get(dir);
      if (!t) {
        t = TailTrace.open(dir, final);
        if (!t) {
          this.unknown++;
          continue;
        }
        this.traces.set(dir, t);
      }
      this.unknown += t.scan(final, create);
    }
  }

  private *merge(final: boolean, limitNs?: bigint): Generator<TraceEvent> {
    this.scan(final);
    const heap = new Heap<TailStream>();
    let blocked = this.unknown > 0;
    let mark: bigint | undefined;
    const idle = (s: TailStream) => {
      if (s.lastNs === undefined) blocked = true;
      else if (mark === undefined || s.lastNs < mark) mark = s.lastNs;
    };
    for (const s of this.streams) {
      if (s.fill(final)) heap.push(s);
      else idle(s);
    }
    while (heap.items.length > 0) {
      const s = heap.items[0];
      const t = s.event.timeNs;
      if (!final && (blocked || (mark !== undefined && t >= mark)) && (limitNs === undefined || t > limitNs)) return;
      const e = s.take();
      const more = s.fill(final);
      heap.fixTop(more);
      if (!more) idle(s);
      yield e;
    }
  }
}
