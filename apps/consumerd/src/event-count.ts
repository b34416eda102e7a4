/**
 * Counting the events of a packet without decoding them. Each event id has a layout: a short
 * program of steps over its payload (skip N bytes, skip a NUL-terminated string, skip a
 * length-prefixed sequence), built once from the channel's contexts and the event's field types
 * (libs/ust's grammar, docs/USERSPACE.md "Packets and events"). The walk interprets it inline,
 * with no call per field: the consumer counts every event it drains, so this is its hot loop.
 */
import { EVENTS_OFFSET } from '@tstrace/ctf';

const CONTEXT_SIZES: Record<string, number> = { vpid: 4, vtid: 4, vuid: 4, vgid: 4, procname: 17 };
const INT_SIZES: Record<string, number> = { u8: 1, s8: 1, u16: 2, s16: 2, u32: 4, s32: 4, u64: 8, s64: 8 };
const EXTENDED_ID = 65535;

/** Step kinds of a layout, each followed by its argument. */
const SKIP = 0; // argument: bytes
const STRING = 1; // argument unused
const SEQUENCE = 2; // argument: bytes per element, after a u32 length

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

/** The layout of an event's payload (contexts, then fields, packed). Throws on an unknown type or context. */
function payloadLayout(contexts: readonly string[], types: readonly string[]): Int32Array {
  let run = 0;
  for (const c of contexts) {
    const size = CONTEXT_SIZES[c];
    if (size === undefined) throw new TypeError(`unknown context ${JSON.stringify(c)}`);
    run += size;
  }
  // Runs of fixed-size fields collapse into one skip.
  const steps: number[] = [];
  for (const t of types) {
    const p = partOf(t);
    if ('fixed' in p) {
      run += p.fixed;
      continue;
    }
    if (run > 0) steps.push(SKIP, run);
    run = 0;
    if (p.kind === 'string') steps.push(STRING, 0);
    else steps.push(SEQUENCE, p.elem);
  }
  if (run > 0) steps.push(SKIP, run);
  return Int32Array.from(steps);
}

/** Payload layouts of a channel's events, by CTF event id. */
export class EventTable {
  private readonly layouts: (Int32Array | undefined)[] = [];

  constructor(private readonly contexts: readonly string[]) {}

  /** Adds (or replaces) the layout of an event; throws a TypeError on an unknown type. */
  add(id: number, types: readonly string[]): void {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new TypeError(`bad event id ${id}`);
    this.layouts[id] = payloadLayout(this.contexts, types);
  }

  /** Adds the layouts of a command's event list (AddChannel, AddEvents, Snapshot). */
  addAll(events: readonly { id?: number | null; types?: string[] | null }[]): void {
    for (const e of events) this.add(e.id ?? 0, e.types ?? []);
  }

  has(id: number): boolean {
    return this.layouts[id] !== undefined;
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
      const layout = this.layouts[id];
      if (layout === undefined) throw new RangeError(`unknown event id ${id} at offset ${o} (after ${n} events)`);
      const at = o;
      for (let i = 0; i < layout.length && o <= contentSize; i += 2) {
        const step = layout[i];
        if (step === SKIP) o += layout[i + 1];
        else if (step === STRING) {
          // Four bytes at a time until a word holds a zero byte (the classic has-zero-byte test), then byte by byte.
          while (o + 4 <= contentSize) {
            const v = view.getUint32(o, true);
            if (((v - 0x01010101) & ~v & 0x80808080) !== 0) break;
            o += 4;
          }
          while (o < contentSize && bytes[o] !== 0) o++;
          // The NUL itself must be inside the content.
          o = o < contentSize ? o + 1 : contentSize + 1;
        } else o = o + 4 > contentSize ? contentSize + 1 : o + 4 + view.getUint32(o, true) * layout[i + 1];
      }
      if (o > contentSize)
        throw new RangeError(
          `event ${n} (id ${id}) at offset ${at} runs past the packet's content (${contentSize} bytes)`,
        );
      n++;
    }
    return n;
  }
}
