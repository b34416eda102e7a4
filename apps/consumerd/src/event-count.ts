/**
 * Counting the events of a packet without decoding them: per event id, a function that returns
 * where its payload ends. Built once per event from the channel's contexts and the event's field
 * types (libs/ust's grammar, docs/USERSPACE.md "Packets and events"), from closures, never eval.
 */
import { EVENTS_OFFSET } from '@tstrace/ctf';

/** Returns the offset just after a payload that starts at `o`, or -1 if it runs past `end`. */
export type PayloadEnd = (bytes: Uint8Array, view: DataView, o: number, end: number) => number;

const CONTEXT_SIZES: Record<string, number> = { vpid: 4, vtid: 4, vuid: 4, vgid: 4, procname: 17 };
const INT_SIZES: Record<string, number> = { u8: 1, s8: 1, u16: 2, s16: 2, u32: 4, s32: 4, u64: 8, s64: 8 };
const EXTENDED_ID = 65535;

type Part = { fixed: number } | { kind: 'string' } | { kind: 'seq'; elem: number };

function partOf(type: string): Part {
  const int = INT_SIZES[type];
  if (int) return { fixed: int };
  if (type === 'float') return { fixed: 4 };
  if (type === 'double') return { fixed: 8 };
  if (type === 'string') return { kind: 'string' };
  if (type === 'bytes') return { kind: 'seq', elem: 1 };
  let m = /^char\[([1-9][0-9]*)\]$/.exec(type);
  if (m) return { fixed: Number(m[1]) };
  m = /^([us](?:8|16|32|64))\[([1-9][0-9]*)\]$/.exec(type);
  if (m) return { fixed: INT_SIZES[m[1]] * Number(m[2]) };
  m = /^seq:([us](?:8|16|32|64))$/.exec(type);
  if (m) return { kind: 'seq', elem: INT_SIZES[m[1]] };
  m = /^enum:([us](?:8|16|32|64)):\{/.exec(type);
  if (m) return { fixed: INT_SIZES[m[1]] };
  throw new TypeError(`unknown field type ${JSON.stringify(type)}`);
}

/** The payload-end function of an event: contexts then fields, packed. Throws on an unknown type or context. */
export function payloadEnd(contexts: readonly string[], types: readonly string[]): PayloadEnd {
  let fixed = 0;
  for (const c of contexts) {
    const size = CONTEXT_SIZES[c];
    if (size === undefined) throw new TypeError(`unknown context ${JSON.stringify(c)}`);
    fixed += size;
  }
  // Runs of fixed-size fields collapse into one addition; variable parts get a step each.
  const steps: ((bytes: Uint8Array, view: DataView, o: number, end: number) => number)[] = [];
  let run = fixed;
  const flush = () => {
    if (run === 0) return;
    const n = run;
    steps.push((_b, _v, o) => o + n);
    run = 0;
  };
  for (const t of types) {
    const p = partOf(t);
    if ('fixed' in p) {
      run += p.fixed;
      continue;
    }
    flush();
    if (p.kind === 'string') {
      steps.push((bytes, _v, o, end) => {
        const nul = bytes.indexOf(0, o);
        return nul < 0 || nul >= end ? -1 : nul + 1;
      });
    } else {
      const elem = p.elem;
      steps.push((_b, view, o, end) => (o + 4 > end ? -1 : o + 4 + view.getUint32(o, true) * elem));
    }
  }
  flush();
  if (steps.length === 1) {
    const only = steps[0];
    return (bytes, view, o, end) => {
      const next = only(bytes, view, o, end);
      return next > end ? -1 : next;
    };
  }
  return (bytes, view, o, end) => {
    for (let i = 0; i < steps.length && o >= 0 && o <= end; i++) o = steps[i](bytes, view, o, end);
    return o > end ? -1 : o;
  };
}

/** Payload-end functions of a channel's events, by CTF event id. */
export class EventTable {
  private readonly ends: (PayloadEnd | undefined)[] = [];

  constructor(private readonly contexts: readonly string[]) {}

  /** Adds (or replaces) the layout of an event; throws a TypeError on an unknown type. */
  add(id: number, types: readonly string[]): void {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new TypeError(`bad event id ${id}`);
    this.ends[id] = payloadEnd(this.contexts, types);
  }

  has(id: number): boolean {
    return this.ends[id] !== undefined;
  }

  /**
   * The events of a packet (`bytes` is the whole packet, `contentSize` its content bytes).
   * Throws when an event id is unknown or an event runs past the content: the packet is still
   * written, the count is then a lower bound and the caller reports it.
   */
  count(bytes: Uint8Array, contentSize: number): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let o = EVENTS_OFFSET;
    let n = 0;
    while (o < contentSize) {
      let id = view.getUint16(o, true);
      if (id === EXTENDED_ID) {
        id = view.getUint32(o + 2, true);
        o += 14;
      } else o += 6;
      const end = this.ends[id];
      if (end === undefined) throw new RangeError(`unknown event id ${id} at offset ${o} (after ${n} events)`);
      const next = end(bytes, view, o, contentSize);
      if (next < o || next > contentSize) throw new RangeError(`event ${n} (id ${id}) at offset ${o} runs past the packet's content (${contentSize} bytes)`);
      o = next;
      n++;
    }
    return n;
  }
}
