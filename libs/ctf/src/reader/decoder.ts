// Bit-level decoding of CTF fields. Each scope's type tree is compiled once into closures with
// its length and tag references resolved; a Cursor carries the position (in bits), the limit,
// the stream's clock and the values decoded so far (for those references).
import { CtfError } from './errors';
import { alignOf, CtfType, EnumType, fieldKey, FloatType, IntegerType, isText, StructType } from './types';
import { EnumValue, intValue, VariantValue } from './values';

/** The dynamic scopes of CTF 1.8 §7.3.2, in the order they are decoded. */
export const enum Scope {
  PacketHeader = 0,
  PacketContext = 1,
  EventHeader = 2,
  StreamEventContext = 3,
  EventContext = 4,
  EventFields = 5,
}

const SCOPE_PREFIXES: readonly [string, Scope][] = [
  ['trace.packet.header.', Scope.PacketHeader],
  ['stream.packet.context.', Scope.PacketContext],
  ['stream.event.header.', Scope.EventHeader],
  ['stream.event.context.', Scope.StreamEventContext],
  ['event.context.', Scope.EventContext],
  ['event.fields.', Scope.EventFields],
];

export const SCOPE_NAMES = [
  'trace.packet.header',
  'stream.packet.context',
  'stream.event.header',
  'stream.event.context',
  'event.context',
  'event.fields',
];

export type Struct = Record<string, unknown>;

/** Thrown when a read goes past the cursor's limit: the caller may have more bytes to offer. */
export class OutOfDataError extends CtfError {
  constructor(message: string) {
    super(message);
    this.name = 'OutOfDataError';
  }
}

const MASKS = Array.from({ length: 65 }, (_, i) => (1n << BigInt(i)) - 1n);

export class Cursor {
  buf: Buffer = Buffer.alloc(0);
  view: DataView = new DataView(new ArrayBuffer(0)) as DataView;
  /** Bits from the start of `buf`. */
  pos = 0;
  /** Bits: nothing is read at or past it. */
  limit = 0;
  /** Offset of `buf[0]` in the file, for messages. */
  fileOffset = 0;
  /** The stream's clock value, updated by the integers mapped to it (CTF 1.8 §8). */
  clock = 0n;
  /** Set by the event header's `id` fields; -1 when none was read. */
  eventId = -1;
  readonly scopes: (Struct | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined];
  /** Structures being decoded in the current scope, outermost first (relative references). */
  readonly stack: Struct[] = [];

  constructor(readonly file: string) {}

  setBuffer(buf: Buffer, fileOffset: number, limitBits = buf.length * 8): void {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = 0;
    this.limit = limitBits;
    this.fileOffset = fileOffset;
  }

  /** Byte offset in the file of the current position. */
  offset(): number {
    return this.fileOffset + Math.floor(this.pos / 8);
  }

  need(bits: number, what: string): void {
    if (this.pos + bits > this.limit) {
      throw new OutOfDataError(
        `${this.file}: ${what} at offset ${this.offset()} needs ${bits} bits, ${this.limit - this.pos} are left in the packet`,
      );
    }
  }

  align(bits: number): void {
    if (bits > 1) {
      const r = this.pos % bits;
      if (r !== 0) this.pos += bits - r;
    }
  }

  /** CTF 1.8 §8: an N-bit clock field sets the low N bits, assuming at most one wrap since the last value. */
  updateClock(raw: bigint, size: number): void {
    if (size >= 64) {
      this.clock = raw;
      return;
    }
    const mask = MASKS[size];
    let v = this.clock;
    if (raw < (v & mask)) v += mask + 1n;
    this.clock = (v & ~mask) | raw;
  }
}

export type Decode = (c: Cursor) => unknown;

/** Where a scope's integers have a meaning for the reader. */
interface Hooks {
  /** The stream's clock (integers mapped to another clock do not move it). */
  clock?: string;
  /** Integers named `id` set the event id (the event header). */
  eventId?: boolean;
  /** Integers named `timestamp` (event header) map to the clock when they do not say. */
  autoMap?: readonly string[];
  /** Integers that never move the clock (`timestamp_end` of the packet context, as babeltrace2). */
  noClock?: readonly string[];
}

export interface CompileEnv {
  byteOrder: 'le' | 'be';
  where: string;
  /** Root types of the scopes before this one, for absolute references. */
  roots: readonly (StructType | undefined)[];
}

interface Frame {
  type: StructType;
  index: number;
}

type Getter = (c: Cursor) => unknown;

function follow(v: unknown, keys: readonly string[]): unknown {
  for (const k of keys) {
    if (v instanceof VariantValue) v = v.value;
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Struct)[k];
  }
  return v instanceof VariantValue ? v.value : v;
}

const TWO32 = 4294967296;
const POW2 = Array.from({ length: 65 }, (_, i) => 2 ** i);
const utf8 = new TextDecoder('utf-8');
const scratch = new DataView(new ArrayBuffer(8));

/** Unsigned bits (size ≤ 32) at any position, as a number. */
function bitsSmall(c: Cursor, size: number, le: boolean): number {
  const first = Math.floor(c.pos / 8);
  const shift = c.pos % 8;
  const n = Math.ceil((shift + size) / 8);
  const b = c.buf;
  let acc = 0;
  if (le) {
    for (let k = n - 1; k >= 0; k--) acc = acc * 256 + b[first + k];
    acc = Math.floor(acc / POW2[shift]) % POW2[size];
  } else {
    for (let k = 0; k < n; k++) acc = acc * 256 + b[first + k];
    acc = Math.floor(acc / POW2[n * 8 - shift - size]) % POW2[size];
  }
  c.pos += size;
  return acc;
}

/** Unsigned bits (any size ≤ 64) at any position, as a bigint. */
function bitsBig(c: Cursor, size: number, le: boolean): bigint {
  const first = Math.floor(c.pos / 8);
  const shift = c.pos % 8;
  const n = Math.ceil((shift + size) / 8);
  const b = c.buf;
  let acc = 0n;
  if (le) {
    for (let k = n - 1; k >= 0; k--) acc = (acc << 8n) | BigInt(b[first + k]);
    acc = (acc >> BigInt(shift)) & ((1n << BigInt(size)) - 1n);
  } else {
    for (let k = 0; k < n; k++) acc = (acc << 8n) | BigInt(b[first + k]);
    acc = (acc >> BigInt(n * 8 - shift - size)) & ((1n << BigInt(size)) - 1n);
  }
  c.pos += size;
  return acc;
}

/** Reads an integer: number when safe, else bigint. Also returns nothing else: the raw bits go through `raw`. */
function intReader(t: IntegerType, byteOrder: 'le' | 'be'): (c: Cursor) => number | bigint {
  const le = (t.byteOrder === 'native' ? byteOrder : t.byteOrder) === 'le';
  const { size, signed } = t;
  const what = `a ${size}-bit integer`;
  const half = POW2[size - 1];
  const full = POW2[size];
  const small = (c: Cursor): number => {
    let v: number;
    if (c.pos % 8 === 0 && (size === 8 || size === 16 || size === 32)) {
      const o = c.pos / 8;
      v = size === 8 ? c.buf[o] : size === 16 ? c.view.getUint16(o, le) : c.view.getUint32(o, le);
      c.pos += size;
    } else {
      v = bitsSmall(c, size, le);
    }
    return signed && v >= half ? v - full : v;
  };
  if (size <= 32) {
    return (c) => {
      c.need(size, what);
      return small(c);
    };
  }
  return (c) => {
    c.need(size, what);
    if (size === 64 && c.pos % 8 === 0) {
      const o = c.pos / 8;
      const lo = c.view.getUint32(le ? o : o + 4, le);
      const hi = signed ? c.view.getInt32(le ? o + 4 : o, le) : c.view.getUint32(le ? o + 4 : o, le);
      const n = hi * TWO32 + lo;
      if (Number.isSafeInteger(n)) {
        c.pos += 64;
        return n;
      }
      const v = signed ? c.view.getBigInt64(o, le) : c.view.getBigUint64(o, le);
      c.pos += 64;
      return v;
    }
    const raw = bitsBig(c, size, le);
    return intValue(signed && raw >= 1n << BigInt(size - 1) ? raw - (1n << BigInt(size)) : raw);
  };
}

function toBigRaw(v: number | bigint, size: number): bigint {
  // A non-negative number is already the raw value.
  if (typeof v === 'number') return v >= 0 ? BigInt(v) : BigInt.asUintN(size, BigInt(v));
  return BigInt.asUintN(size, v);
}

function floatReader(t: FloatType, byteOrder: 'le' | 'be'): Decode {
  const le = (t.byteOrder === 'native' ? byteOrder : t.byteOrder) === 'le';
  const size = t.expDig + t.mantDig;
  const what = `a ${size}-bit floating point number`;
  return (c) => {
    c.align(t.align);
    c.need(size, what);
    if (c.pos % 8 === 0) {
      const o = c.pos / 8;
      c.pos += size;
      return size === 32 ? c.view.getFloat32(o, le) : c.view.getFloat64(o, le);
    }
    const raw = bitsBig(c, size, le);
    if (size === 32) {
      scratch.setUint32(0, Number(raw));
      return scratch.getFloat32(0);
    }
    scratch.setBigUint64(0, raw);
    return scratch.getFloat64(0);
  };
}

function stringReader(): Decode {
  return (c) => {
    c.align(8);
    const start = c.pos / 8;
    const end = Math.floor(c.limit / 8);
    const nul = c.buf.indexOf(0, start);
    if (nul < 0 || nul >= end)
      throw new OutOfDataError(
        `${c.file}: the string at offset ${c.offset()} has no terminating NUL before the end of the packet`,
      );
    c.pos = (nul + 1) * 8;
    return c.buf.toString('utf8', start, nul);
  };
}

/** The labels of an enumeration value, per mapping in declaration order. */
function labelsOf(t: EnumType): (v: number | bigint) => string[] {
  const ranges = t.mappings.map((m) => ({
    label: m.label,
    ranges: m.ranges.map(([lo, hi]) => [Number(lo), Number(hi), lo, hi] as const),
  }));
  return (v) => {
    const out: string[] = [];
    for (const m of ranges) {
      for (const [lo, hi, blo, bhi] of m.ranges) {
        const hit =
          typeof v === 'number' && Number.isSafeInteger(lo) && Number.isSafeInteger(hi)
            ? v >= lo && v <= hi
            : BigInt(v) >= blo && BigInt(v) <= bhi;
        if (hit) {
          out.push(m.label);
          break;
        }
      }
    }
    return out;
  };
}

export class Compiler {
  private readonly frames: Frame[] = [];

  constructor(
    private readonly env: CompileEnv,
    private readonly scope: Scope,
    private readonly hooks: Hooks = {},
  ) {}

  /** Compiles the root structure of this scope. */
  root(type: StructType): (c: Cursor) => Struct {
    const scope = this.scope;
    const dec = this.struct(type, (c, obj) => {
      c.scopes[scope] = obj;
    });
    return (c) => {
      // Left over only when a previous decode threw.
      if (c.stack.length !== 0) c.stack.length = 0;
      return dec(c) as Struct;
    };
  }

  private fail(message: string): CtfError {
    return new CtfError(`${this.env.where}: ${SCOPE_NAMES[this.scope]}: ${message}`);
  }

  private compile(t: CtfType, name: string | undefined, depth: number): Decode {
    switch (t.kind) {
      case 'integer':
        return this.integer(t, name, depth);
      case 'enum': {
        const read = this.integer(t.container, name, depth) as (c: Cursor) => number | bigint;
        const labels = labelsOf(t);
        return (c) => {
          const v = read(c);
          return new EnumValue(v, labels(v));
        };
      }
      case 'float':
        return floatReader(t, this.env.byteOrder);
      case 'string':
        return stringReader();
      case 'struct':
        return this.struct(t);
      case 'variant':
        return this.variant(t, depth);
      case 'array':
      case 'sequence':
        return this.array(t, depth);
    }
  }

  private integer(t: IntegerType, name: string | undefined, depth: number): Decode {
    const read = intReader(t, this.env.byteOrder);
    const h = this.hooks;
    const clock = t.map ?? (name !== undefined && h.autoMap?.includes(name) ? h.clock : undefined);
    const moves =
      clock !== undefined && clock === h.clock && !(name !== undefined && depth === 0 && h.noClock?.includes(name));
    const isId = h.eventId === true && name === 'id';
    const align = t.align;
    const size = t.size;
    if (!moves && !isId) {
      return (c) => {
        c.align(align);
        return read(c);
      };
    }
    return (c) => {
      c.align(align);
      const v = read(c);
      if (moves) c.updateClock(toBigRaw(v, size), size);
      if (isId) c.eventId = Number(v);
      return v;
    };
  }

  private struct(t: StructType, onStart?: (c: Cursor, obj: Struct) => void): Decode {
    const align = alignOf(t);
    const frame: Frame = { type: t, index: 0 };
    const depth = this.frames.length;
    this.frames.push(frame);
    const members: { key: string; dec: Decode }[] = [];
    t.members.forEach((m, i) => {
      frame.index = i;
      members.push({ key: fieldKey(m.name), dec: this.compile(m.type, fieldKey(m.name), depth) });
    });
    this.frames.pop();
    return (c) => {
      c.align(align);
      const obj: Struct = Object.create(null) as Struct;
      if (onStart) onStart(c, obj);
      c.stack.push(obj);
      for (let i = 0; i < members.length; i++) obj[members[i].key] = members[i].dec(c);
      c.stack.pop();
      return obj;
    };
  }

  /** Finds the field a length or tag path names: relative (in the enclosing structures) or absolute. */
  private resolve(path: string, what: string): { get: Getter; type: CtfType } {
    const last = this.frames.length - 1;
    for (const [prefix, scope] of SCOPE_PREFIXES) {
      if (!path.startsWith(prefix)) continue;
      const parts = path.slice(prefix.length).split('.');
      if (scope === this.scope) {
        const found = this.locate(0, parts);
        if (!found) throw this.fail(`${what} ${path}: no such field before it`);
        return found;
      }
      const root = this.env.roots[scope];
      if (!root || scope > this.scope)
        throw this.fail(`${what} ${path}: scope ${SCOPE_NAMES[scope]} is not available here`);
      const found = this.walk(root, parts, root.members.length);
      if (!found) throw this.fail(`${what} ${path}: no such field`);
      return { get: (c) => follow(c.scopes[scope], found.keys), type: found.type };
    }
    const parts = path.split('.');
    for (let d = last; d >= 0; d--) {
      const found = this.locate(d, parts);
      if (found) return found;
    }
    throw this.fail(`${what} ${path}: no such field before it`);
  }

  /**
   * A path from the structure being compiled at depth `d`: while it names the member that holds
   * what is being compiled, it goes down the stack (that structure is not in its parent yet when
   * its members are decoded); the rest names members decoded before.
   */
  private locate(d: number, parts: string[]): { get: Getter; type: CtfType } | undefined {
    const last = this.frames.length - 1;
    let i = 0;
    while (i < parts.length - 1 && d < last) {
      const f = this.frames[d];
      const holder = f.type.members[f.index];
      if (holder.name !== parts[i] || holder.type !== this.frames[d + 1].type) break;
      d++;
      i++;
    }
    const found = this.walk(this.frames[d].type, parts.slice(i), this.frames[d].index);
    if (!found) return undefined;
    const depth = d;
    return { get: (c) => follow(c.stack[depth], found.keys), type: found.type };
  }

  private walk(root: StructType, parts: string[], before: number): { keys: string[]; type: CtfType } | undefined {
    let t: CtfType = root;
    const keys: string[] = [];
    for (let p = 0; p < parts.length; p++) {
      let members: readonly { name: string; type: CtfType }[];
      if (t.kind === 'struct') members = p === 0 ? t.members.slice(0, before) : t.members;
      else if (t.kind === 'variant') members = t.options;
      else return undefined;
      const m = members.find((x) => x.name === parts[p]);
      if (!m) return undefined;
      keys.push(fieldKey(m.name));
      t = m.type;
    }
    return { keys, type: t };
  }

  private variant(t: CtfType & { kind: 'variant' }, depth: number): Decode {
    if (!t.tag) throw this.fail('a variant without a tag');
    const tag = this.resolve(t.tag, 'the tag');
    if (tag.type.kind !== 'enum') throw this.fail(`the tag ${t.tag} of a variant is not an enumeration`);
    const options = t.options.map((o) => ({
      key: fieldKey(o.name),
      dec: this.compile(o.type, fieldKey(o.name), depth + 1),
    }));
    // Each option is selected by the ranges of the tag's label of the same name.
    const choices: { lo: bigint; hi: bigint; option: number }[] = [];
    t.options.forEach((o, i) => {
      const m = (tag.type as EnumType).mappings.find((x) => x.label === o.name);
      if (m) for (const [lo, hi] of m.ranges) choices.push({ lo, hi, option: i });
    });
    const where = t.tag;
    return (c) => {
      const tv = tag.get(c);
      const v = tv instanceof EnumValue ? tv.value : tv;
      if (typeof v !== 'number' && typeof v !== 'bigint')
        throw new CtfError(`${c.file}: the tag ${where} of a variant at offset ${c.offset()} has no value`);
      const b = BigInt(v);
      const ch = choices.find((x) => b >= x.lo && b <= x.hi);
      if (!ch)
        throw new CtfError(`${c.file}: the tag ${where} = ${b} of a variant at offset ${c.offset()} selects no option`);
      const o = options[ch.option];
      return new VariantValue(o.key, o.dec(c));
    };
  }

  private array(t: CtfType & { kind: 'array' | 'sequence' }, depth: number): Decode {
    const elemAlign = alignOf(t.elem);
    let length: Getter;
    if (t.kind === 'array') {
      const n = t.length;
      length = () => n;
    } else {
      const ref = this.resolve(t.length, 'the length');
      const lt = ref.type.kind === 'enum' ? ref.type.container : ref.type;
      if (lt.kind !== 'integer' || lt.signed)
        throw this.fail(`the length ${t.length} of a sequence is not an unsigned integer`);
      length = ref.get;
    }
    const where = t.kind === 'sequence' ? `sequence (length ${t.length})` : `array of ${t.length}`;
    const lengthOf = (c: Cursor): number => {
      const raw = length(c);
      const v = raw instanceof EnumValue ? raw.value : raw;
      const n = typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : NaN;
      // Each element takes at least one bit: a length beyond what is left is garbage.
      if (!Number.isSafeInteger(n) || n < 0 || n > c.limit - c.pos) {
        throw new OutOfDataError(
          `${c.file}: ${where} at offset ${c.offset()} has ${String(v)} elements; only ${c.limit - c.pos} bits are left in the packet`,
        );
      }
      return n;
    };
    if (isText(t)) {
      return (c) => {
        const n = lengthOf(c);
        c.align(8);
        c.need(n * 8, `text of ${n} bytes`);
        const start = c.pos / 8;
        let end = c.buf.indexOf(0, start);
        if (end < 0 || end > start + n) end = start + n;
        c.pos += n * 8;
        return utf8.decode(c.buf.subarray(start, end));
      };
    }
    const elem = this.compile(t.elem, undefined, depth);
    return (c) => {
      const n = lengthOf(c);
      c.align(elemAlign);
      const out: unknown[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = elem(c);
      return out;
    };
  }
}

/** Compiles a scope's root structure. */
export function compileScope(type: StructType, scope: Scope, env: CompileEnv, hooks?: Hooks): (c: Cursor) => Struct {
  return new Compiler(env, scope, hooks).root(type);
}
