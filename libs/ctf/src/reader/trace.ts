// A CTF trace directory (a `metadata` file and its stream files), finding traces under a
// directory, and reading the events of several traces merged in time order.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cursor } from './decoder';
import { CtfError } from './errors';
import { metadataTextOf } from './metadata-file';
import { parseMetadata } from './parser';
import { clockOffsetNs, StreamGroup, streamClock, TraceDecoder, TraceEvent, TraceInfo } from './stream';
import { TraceClass } from './types';
import { EnumValue } from './values';

/** Discarded events and packets of one stream, from its packet contexts. */
export interface Discarded {
  /** The stream's first file. */
  stream: string;
  /** Sum of the increases of `events_discarded` (the first packet's own count included). */
  events: bigint;
  /** Packets missing from the `packet_seq_num` sequence. */
  packets: bigint;
}

export function natural(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export class CtfTrace {
  readonly env: Record<string, string | number>;
  readonly clockOffsetNs: bigint;
  /** Paths of the stream files. */
  readonly streams: string[];
  readonly info: TraceInfo;
  readonly traceClass: TraceClass;
  private readonly groups: StreamGroup[];

  private constructor(info: TraceInfo, groups: StreamGroup[], files: string[]) {
    this.info = info;
    this.env = info.env;
    this.clockOffsetNs = info.clockOffsetNs;
    this.traceClass = info.traceClass;
    this.groups = groups;
    this.streams = files;
  }

  /** Reads the metadata and the first packet of each stream file; throws a CtfError naming what is wrong. */
  static open(dir: string): CtfTrace {
    const info = traceInfoOf(dir, readMetadataFile(dir));
    const dec = new TraceDecoder(info);
    // Stream files: every regular file but the metadata and hidden files (index/ is a directory).
    const files = fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isFile() && d.name !== 'metadata' && !d.name.startsWith('.'))
      .map((d) => path.join(dir, d.name))
      .sort(natural);
    const groups = new Map<string, { files: { file: string; begin: bigint }[]; sc: number; instance?: bigint }>();
    const c = new Cursor(dir);
    for (const file of files) {
      const fd = fs.openSync(file, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        if (size === 0) continue; // a stream that never got a packet
        const p = dec.readPacket(c, fd, file, size, 0);
        const instance = p.header?.stream_instance_id;
        const id = typeof instance === 'number' || typeof instance === 'bigint' ? BigInt(instance) : undefined;
        const key = id === undefined ? `file:${file}` : `${p.streamClass.id}:${id}`;
        const begin = p.context?.timestamp_begin;
        const g = groups.get(key) ?? { files: [], sc: p.streamClass.id, instance: id };
        g.files.push({ file, begin: typeof begin === 'number' || typeof begin === 'bigint' ? BigInt(begin) : 0n });
        groups.set(key, g);
      } finally {
        fs.closeSync(fd);
      }
    }
    const list = [...groups.values()].map((g) => {
      // Files of one stream (rotated tracefiles) in the order they were written.
      g.files.sort((a, b) => (a.begin < b.begin ? -1 : a.begin > b.begin ? 1 : natural(a.file, b.file)));
      return new StreamGroup(
        dec,
        g.files.map((f) => f.file),
        g.sc,
        g.instance,
      );
    });
    return new CtfTrace(info, list, files);
  }

  /** Events of all streams, in time order. */
  events(): Iterable<TraceEvent> {
    return mergeStreams([this]);
  }

  /** Streams that lost events or packets, as babeltrace2 reports them. */
  discarded(): Discarded[] {
    const out: Discarded[] = [];
    for (const g of this.groups) {
      let events = 0n;
      let packets = 0n;
      let lastDiscarded: bigint | undefined;
      let lastSeq: bigint | undefined;
      for (const p of g.packets()) {
        const d = num(p.context?.events_discarded);
        if (d !== undefined) {
          // A free-running counter: what grew since the previous packet (its first value counts too).
          events += lastDiscarded === undefined ? d : BigInt.asUintN(64, d - lastDiscarded);
          lastDiscarded = d;
        }
        const seq = num(p.context?.packet_seq_num);
        if (seq !== undefined) {
          if (lastSeq !== undefined && seq - lastSeq > 1n) packets += seq - lastSeq - 1n;
          lastSeq = seq;
        }
      }
      if (events > 0n || packets > 0n) out.push({ stream: g.files[0], events, packets });
    }
    return out;
  }

  /** @internal */
  streamGroups(): readonly StreamGroup[] {
    return this.groups;
  }
}

/** The bytes of a trace's `metadata` file; a CtfError when there is none. */
export function readMetadataFile(dir: string): Buffer {
  try {
    return fs.readFileSync(path.join(dir, 'metadata'));
  } catch (e) {
    throw new CtfError(`${dir}: not a CTF trace: ${(e as Error).message}`);
  }
}

/** A trace's classes, env and clock from its metadata file's bytes. */
export function traceInfoOf(dir: string, data: Buffer): TraceInfo {
  const where = path.join(dir, 'metadata');
  const tc = parseMetadata(metadataTextOf(data, where), where);
  let clock;
  try {
    clock = streamClock(tc);
  } catch (e) {
    throw new CtfError(`${where}: ${(e as Error).message}`);
  }
  return { path: dir, traceClass: tc, env: tc.env, uuid: tc.uuid, clock, clockOffsetNs: clockOffsetNs(clock) };
}

function num(v: unknown): bigint | undefined {
  const x = v instanceof EnumValue ? v.value : v;
  return typeof x === 'number' ? BigInt(x) : typeof x === 'bigint' ? x : undefined;
}

/** Every directory under `root` (itself included) that holds a `metadata` file, sorted. Symbolic links are not followed. */
export function findTraces(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      throw new CtfError(`${dir}: ${(e as Error).message}`);
    }
    if (entries.some((d) => d.isFile() && d.name === 'metadata')) out.push(dir);
    for (const d of entries.filter((x) => x.isDirectory()).sort((a, b) => natural(a.name, b.name)))
      visit(path.join(dir, d.name));
  };
  visit(root);
  return out;
}

// ---- merging -----------------------------------------------------------------------------

/** A stream's next event, and what orders it among other streams' events. */
export interface Head {
  event: TraceEvent;
  /** Position of the stream among all, for stable ties. */
  rank: number;
  uuid: string | undefined;
  instance: bigint;
}

interface IterHead extends Head {
  it: Iterator<TraceEvent>;
}

/** Order of events with equal times, after babeltrace2's muxer: trace UUID, stream class, stream, event class. */
export function before(a: Head, b: Head): boolean {
  const x = a.event;
  const y = b.event;
  if (x.timeNs !== y.timeNs) return x.timeNs < y.timeNs;
  if (a.uuid !== b.uuid) {
    if (a.uuid === undefined) return false;
    if (b.uuid === undefined) return true;
    return a.uuid < b.uuid;
  }
  if (x.streamId !== y.streamId) return x.streamId < y.streamId;
  if (a.instance !== b.instance) return a.instance < b.instance;
  if (x.id !== y.id) return x.id < y.id;
  if (x.name !== y.name) return x.name < y.name;
  return a.rank < b.rank;
}

/** A binary min-heap of streams on their next event, in `before` order (the top is items[0]). */
export class Heap<T extends Head> {
  readonly items: T[] = [];

  push(s: T): void {
    const h = this.items;
    h.push(s);
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  /** Removes the top, or puts it back in place after its event changed (`keep`). */
  fixTop(keep: boolean): void {
    const h = this.items;
    if (!keep) {
      const last = h.pop()!;
      if (h.length === 0) return;
      h[0] = last;
    }
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l], h[m])) m = l;
      if (r < h.length && before(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}

function* mergeStreams(traces: CtfTrace[]): Generator<TraceEvent> {
  const heap = new Heap<IterHead>();
  const open: Iterator<TraceEvent>[] = [];
  try {
    let rank = 0;
    for (const t of traces) {
      for (const g of t.streamGroups()) {
        const it = g.events()[Symbol.iterator]();
        open.push(it);
        const r = it.next();
        if (!r.done) heap.push({ event: r.value, it, rank, uuid: t.info.uuid, instance: g.instanceId ?? BigInt(rank) });
        rank++;
      }
    }
    while (heap.items.length > 0) {
      const top = heap.items[0];
      yield top.event;
      const r = top.it.next();
      if (!r.done) top.event = r.value;
      heap.fixTop(!r.done);
    }
  } finally {
    // Closes the stream files of iterators left unfinished (an error, or the caller stopped).
    for (const it of open) it.return?.();
  }
}

/**
 * Events of every trace in `paths`, merged in time order (each trace's clock offset applied).
 * A path that is not itself a trace stands for every trace under it (findTraces).
 */
export function readEvents(paths: string[]): Iterable<TraceEvent> {
  return {
    [Symbol.iterator]: () => {
      const dirs = paths.flatMap((p) => (fs.existsSync(path.join(p, 'metadata')) ? [p] : findTraces(p)));
      return mergeStreams(dirs.map((d) => CtfTrace.open(d)));
    },
  };
}
