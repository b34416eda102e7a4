// The data streams of a trace: packets (header, context, sizes) one after the other in each
// stream file, and the events of each packet.
import * as fs from 'node:fs';
import { compileScope, Cursor, OutOfDataError, Scope, Struct } from './decoder';
import { CtfError, TruncatedPacketError } from './errors';
import { ClockClass, CtfType, EventClass, StreamClass, StructType, TraceClass } from './types';
import { EnumValue } from './values';

export interface TraceInfo {
  /** The trace directory. */
  readonly path: string;
  readonly traceClass: TraceClass;
  readonly env: Record<string, string | number>;
  readonly uuid?: string;
  /** The clock of the trace's streams, if any. */
  readonly clock?: ClockClass;
  /** Nanoseconds from the epoch at the clock's zero. */
  readonly clockOffsetNs: bigint;
}

/** What an event is, beyond its values: its classes, trace and stream (for formatting and sorting). */
export interface EventMeta {
  readonly trace: TraceInfo;
  readonly streamClass: StreamClass;
  readonly eventClass: EventClass;
  /** The stream's first file. */
  readonly stream: string;
  /** From the packet header, when there is one. */
  readonly streamInstanceId?: bigint;
}

export interface TraceEvent {
  name: string;
  /** Clock value (cycles; nanoseconds for LTTng's and tstrace's 1 GHz clocks). */
  timestamp: bigint;
  /** Nanoseconds from the epoch: the timestamp with the clock's offset (what readEvents orders by). */
  timeNs: bigint;
  /** Event class id. */
  id: number;
  /** Stream class id. */
  streamId: number;
  cpuId?: number;
  tracePath: string;
  fields: Record<string, unknown>;
  /** The stream event context, then the event context. */
  context: Record<string, unknown>;
  packetContext?: Record<string, unknown>;
  meta: EventMeta;
}

/** Decoders of one stream class, compiled once. */
interface StreamDecoders {
  packetContext?: (c: Cursor) => Struct;
  eventHeader?: (c: Cursor) => Struct;
  eventContext?: (c: Cursor) => Struct;
  events: Map<number, { context?: (c: Cursor) => Struct; fields?: (c: Cursor) => Struct }>;
}

function mapsClock(
  t: CtfType | undefined,
  names: readonly string[],
  found: Set<string>,
  auto: { seen: boolean },
  name?: string,
): void {
  if (!t) return;
  switch (t.kind) {
    case 'integer':
      if (t.map) found.add(t.map);
      else if (name !== undefined && names.includes(name)) auto.seen = true;
      return;
    case 'enum':
      return mapsClock(t.container, names, found, auto, name);
    case 'struct':
      for (const m of t.members) mapsClock(m.type, names, found, auto, m.name.replace(/^_/, ''));
      return;
    case 'variant':
      for (const m of t.options) mapsClock(m.type, names, found, auto, m.name.replace(/^_/, ''));
      return;
    case 'array':
    case 'sequence':
      return mapsClock(t.elem, names, found, auto);
    default:
      return;
  }
}

/**
 * The clock of a trace's streams: the one their packet contexts and event headers map, or the
 * only clock when `timestamp*` fields map none (babeltrace2's rule); an implicit 1 GHz clock when
 * there is none at all.
 */
export function streamClock(tc: TraceClass): ClockClass | undefined {
  const found = new Set<string>();
  const auto = { seen: false };
  for (const s of tc.streams.values()) {
    mapsClock(s.packetContext, ['timestamp_begin', 'timestamp_end'], found, auto);
    mapsClock(s.eventHeader, ['timestamp'], found, auto);
  }
  if (found.size > 1)
    throw new CtfError(`the streams map ${found.size} clocks (${[...found].join(', ')}); one is supported`);
  const [name] = [...found];
  if (name !== undefined) {
    const c = tc.clocks.get(name);
    if (!c) throw new CtfError(`fields map clock "${name}", which is not declared`);
    return c;
  }
  if (!auto.seen) return undefined;
  if (tc.clocks.size > 1) throw new CtfError('timestamp fields map no clock and there are several');
  return (
    tc.clocks.values().next().value ?? {
      name: 'default',
      freq: 1_000_000_000n,
      precision: 0n,
      offsetS: 0n,
      offset: 0n,
      absolute: false,
    }
  );
}

/** Cycles of a clock in nanoseconds (rounded down), as babeltrace2 converts them. */
export function cyclesToNs(c: ClockClass, cycles: bigint): bigint {
  return c.freq === 1_000_000_000n ? cycles : (cycles * 1_000_000_000n) / c.freq;
}

/** Nanoseconds from the epoch at the clock's zero: offset_s and offset (cycles). */
export function clockOffsetNs(c: ClockClass | undefined): bigint {
  if (!c) return 0n;
  return c.offsetS * 1_000_000_000n + cyclesToNs(c, c.offset);
}

/** Converts a clock value to nanoseconds from the epoch. */
export function nsOf(c: ClockClass | undefined, cycles: bigint): bigint {
  if (!c) return cycles;
  return clockOffsetNs(c) + cyclesToNs(c, cycles);
}

/** A packet's header and context as decoded, and where its parts lie. */
export interface PacketInfo {
  file: string;
  /** Bytes from the start of the file. */
  offset: number;
  packetBytes: number;
  contentBits: number;
  /** Bits of header + context. */
  eventsStart: number;
  header?: Struct;
  context?: Struct;
  streamClass: StreamClass;
  /** The packet's bytes as far as they were read (the whole packet once `readWhole`). */
  buf: Buffer;
}

const WINDOW = 4096;

export function u64Of(v: unknown): bigint | undefined {
  const x = v instanceof EnumValue ? v.value : v;
  return typeof x === 'number' ? BigInt(x) : typeof x === 'bigint' ? x : undefined;
}

export class TraceDecoder {
  private readonly packetHeader?: (c: Cursor) => Struct;
  private readonly streams = new Map<number, StreamDecoders>();
  private readonly uuidBytes?: string;

  constructor(readonly info: TraceInfo) {
    const tc = info.traceClass;
    if (tc.packetHeader) this.packetHeader = compileScope(tc.packetHeader, Scope.PacketHeader, this.env([]));
    this.uuidBytes = tc.uuid?.replace(/-/g, '');
  }

  private env(roots: (StructType | undefined)[]) {
    return { byteOrder: this.info.traceClass.byteOrder, where: `${this.info.path}/metadata`, roots };
  }

  private stream(sc: StreamClass): StreamDecoders {
    let d = this.streams.get(sc.id);
    if (d) return d;
    const clock = this.info.clock?.name;
    const tc = this.info.traceClass;
    const roots = [tc.packetHeader, sc.packetContext, sc.eventHeader, sc.eventContext];
    d = {
      packetContext: sc.packetContext
        ? compileScope(sc.packetContext, Scope.PacketContext, this.env(roots), {
            clock,
            autoMap: ['timestamp_begin', 'timestamp_end'],
            noClock: ['timestamp_end'],
          })
        : undefined,
      eventHeader: sc.eventHeader
        ? compileScope(sc.eventHeader, Scope.EventHeader, this.env(roots), {
            clock,
            autoMap: ['timestamp'],
            eventId: true,
          })
        : undefined,
      eventContext: sc.eventContext
        ? compileScope(sc.eventContext, Scope.StreamEventContext, this.env(roots), { clock })
        : undefined,
      events: new Map(),
    };
    this.streams.set(sc.id, d);
    return d;
  }

  private event(sc: StreamClass, ec: EventClass): { context?: (c: Cursor) => Struct; fields?: (c: Cursor) => Struct } {
    const d = this.stream(sc);
    let e = d.events.get(ec.id);
    if (e) return e;
    const tc = this.info.traceClass;
    const roots = [tc.packetHeader, sc.packetContext, sc.eventHeader, sc.eventContext, ec.context];
    const clock = this.info.clock?.name;
    e = {
      context: ec.context ? compileScope(ec.context, Scope.EventContext, this.env(roots), { clock }) : undefined,
      fields: ec.fields ? compileScope(ec.fields, Scope.EventFields, this.env(roots), { clock }) : undefined,
    };
    d.events.set(ec.id, e);
    return e;
  }

  /**
   * Reads the header and context of the packet at `offset` of `fd` (a file of `size` bytes).
   * Sizes are checked against the packet itself, not against the file: see `readWhole`.
   */
  readPacket(c: Cursor, fd: number, file: string, size: number, offset: number): PacketInfo {
    const left = size - offset;
    const savedClock = c.clock;
    for (let window = Math.min(WINDOW, left); ; window = Math.min(window * 4, left)) {
      const buf = Buffer.alloc(window);
      const got = fs.readSync(fd, buf, 0, window, offset);
      c.setBuffer(buf.subarray(0, got), offset);
      c.clock = savedClock;
      try {
        return this.decodePreamble(c, file, left, offset);
      } catch (e) {
        if (!(e instanceof OutOfDataError) || window >= left) {
          if (e instanceof OutOfDataError)
            throw new TruncatedPacketError(
              `${file}: truncated packet at offset ${offset}: ${e.message.replace(`${file}: `, '')}`,
            );
          throw e;
        }
      }
    }
  }

  private decodePreamble(c: Cursor, file: string, left: number, offset: number): PacketInfo {
    const tc = this.info.traceClass;
    const header = this.packetHeader?.(c);
    if (header) {
      const magic = u64Of(header.magic);
      if (magic !== undefined && magic !== 0xc1fc1fc1n) {
        throw new CtfError(
          `${file}: bad packet magic 0x${magic.toString(16)} at offset ${offset} (expected 0xc1fc1fc1)`,
        );
      }
      const uuid = header.uuid;
      if (this.uuidBytes && Array.isArray(uuid) && uuid.length === 16) {
        const hex = Buffer.from(uuid as number[]).toString('hex');
        if (hex !== this.uuidBytes)
          throw new CtfError(
            `${file}: the packet at offset ${offset} belongs to trace ${hex}, not to this trace (${this.uuidBytes})`,
          );
      }
    }
    let sid = header ? u64Of(header.stream_id) : undefined;
    if (sid === undefined) {
      if (tc.streams.size !== 1)
        throw new CtfError(
          `${file}: the packet at offset ${offset} names no stream class and the metadata declares ${tc.streams.size}`,
        );
      sid = BigInt(tc.streams.keys().next().value!);
    }
    const sc = tc.streams.get(Number(sid));
    if (!sc)
      throw new CtfError(
        `${file}: the packet at offset ${offset} is of stream class ${sid}, which the metadata does not declare`,
      );
    const context = this.stream(sc).packetContext?.(c);
    const eventsStart = c.pos;
    const packetBits = u64Of(context?.packet_size) ?? BigInt(left) * 8n;
    const contentBits = u64Of(context?.content_size) ?? packetBits;
    if (packetBits % 8n !== 0n || packetBits === 0n || contentBits > packetBits || BigInt(eventsStart) > contentBits) {
      throw new CtfError(
        `${file}: the packet at offset ${offset} has packet_size ${packetBits} and content_size ${contentBits} bits, and its header and context take ${eventsStart}: inconsistent`,
      );
    }
    if (packetBits > 8n * 1024n * 1024n * 1024n * 8n)
      throw new CtfError(`${file}: the packet at offset ${offset} claims ${packetBits / 8n} bytes: too large`);
    return {
      file,
      offset,
      packetBytes: Number(packetBits / 8n),
      contentBits: Number(contentBits),
      eventsStart,
      header,
      context,
      streamClass: sc,
      buf: c.buf,
    };
  }

  /** Reads the rest of a packet; a packet that the file cuts short is an error. */
  readWhole(fd: number, size: number, p: PacketInfo): Buffer {
    const left = size - p.offset;
    if (p.packetBytes > left) {
      throw new TruncatedPacketError(
        `${p.file}: truncated packet at offset ${p.offset}: packet_size says ${p.packetBytes} bytes, the file has ${left} left`,
      );
    }
    if (p.buf.length >= Math.ceil(p.contentBits / 8)) return p.buf;
    const need = Math.ceil(p.contentBits / 8);
    const buf = Buffer.alloc(need);
    fs.readSync(fd, buf, 0, need, p.offset);
    return buf;
  }

  /** The events of a packet whose header and context `c` just decoded. */
  *events(c: Cursor, p: PacketInfo, buf: Buffer, stream: string): Generator<TraceEvent> {
    const sc = p.streamClass;
    const d = this.stream(sc);
    const info = this.info;
    c.setBuffer(buf, p.offset, p.contentBits);
    c.pos = p.eventsStart;
    const cpu = p.context?.cpu_id;
    const cpuId = typeof cpu === 'number' ? cpu : undefined;
    const instance = p.header ? u64Of(p.header.stream_instance_id) : undefined;
    const single = sc.events.size === 1 ? sc.events.values().next().value : undefined;
    // One meta object per event class (events share it).
    const metas = new Map<EventClass, EventMeta>();
    while (c.pos < p.contentBits) {
      const start = c.pos;
      const at = c.offset();
      try {
        c.eventId = -1;
        if (d.eventHeader) d.eventHeader(c);
        let ec: EventClass | undefined;
        if (c.eventId >= 0) ec = sc.events.get(c.eventId);
        else ec = single;
        if (!ec) {
          throw new CtfError(
            c.eventId >= 0
              ? `${p.file}: the event at offset ${at} has id ${c.eventId}, which stream class ${sc.id} does not declare`
              : `${p.file}: the event at offset ${at} has no id and stream class ${sc.id} has ${sc.events.size} event classes`,
          );
        }
        const e = this.event(sc, ec);
        const streamCtx = d.eventContext ? d.eventContext(c) : undefined;
        const eventCtx = e.context ? e.context(c) : undefined;
        const fields = e.fields ? e.fields(c) : (Object.create(null) as Struct);
        if (c.pos === start) throw new CtfError(`${p.file}: the event at offset ${at} takes no space`);
        const context =
          streamCtx && eventCtx
            ? Object.assign(Object.create(null) as Struct, streamCtx, eventCtx)
            : (streamCtx ?? eventCtx ?? (Object.create(null) as Struct));
        const timestamp = c.clock;
        yield {
          name: ec.name,
          timestamp,
          timeNs: info.clock ? info.clockOffsetNs + cyclesToNs(info.clock, timestamp) : timestamp,
          id: ec.id,
          streamId: sc.id,
          cpuId,
          tracePath: info.path,
          fields,
          context,
          packetContext: p.context,
          meta:
            metas.get(ec) ??
            metas
              .set(ec, { trace: info, streamClass: sc, eventClass: ec, stream, streamInstanceId: instance })
              .get(ec)!,
        };
      } catch (err) {
        if (err instanceof OutOfDataError) {
          throw new CtfError(
            `${p.file}: the event at offset ${at} runs past the content of its packet (offset ${p.offset}, ${p.contentBits / 8} bytes): ${err.message.replace(`${p.file}: `, '')}`,
          );
        }
        throw err;
      }
    }
  }
}

/** One data stream: its files (several when the tracer rotated them), read in order. */
export class StreamGroup {
  constructor(
    readonly dec: TraceDecoder,
    /** Paths, in reading order. */
    readonly files: string[],
    readonly streamClassId: number,
    readonly instanceId: bigint | undefined,
  ) {}

  /** Header and context of every packet, without the events. */
  *packets(): Generator<PacketInfo> {
    const c = new Cursor(this.files[0]);
    for (const file of this.files) {
      c.stack.length = 0;
      const fd = fs.openSync(file, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        for (let offset = 0; offset < size;) {
          const p = this.dec.readPacket(c, fd, file, size, offset);
          if (p.packetBytes > size - offset)
            throw new TruncatedPacketError(
              `${file}: truncated packet at offset ${offset}: packet_size says ${p.packetBytes} bytes, the file has ${size - offset} left`,
            );
          yield p;
          offset += p.packetBytes;
        }
      } finally {
        fs.closeSync(fd);
      }
    }
  }

  *events(): Generator<TraceEvent> {
    const c = new Cursor(this.files[0]);
    for (const file of this.files) {
      const fd = fs.openSync(file, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        for (let offset = 0; offset < size;) {
          const p = this.dec.readPacket(c, fd, file, size, offset);
          const buf = this.dec.readWhole(fd, size, p);
          yield* this.dec.events(c, p, buf, this.files[0]);
          // At a packet's end the clock is its timestamp_end (babeltrace2 does the same).
          const end = u64Of(p.context?.timestamp_end);
          if (end !== undefined && end > c.clock) c.clock = end;
          offset += p.packetBytes;
        }
      } finally {
        fs.closeSync(fd);
      }
    }
  }
}
