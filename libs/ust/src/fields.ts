/**
 * Field types of tracepoints: how each value is sized, written in place (little-endian, packed,
 * as LTTng-UST lays out x86 events) and decoded. A field's `type` is its wire name, sent at
 * registration and used by readers: s8..s64, u8..u64, float, double, string, bytes, char[N],
 * <int>[N], enum:<int type>:<JSON labels>, seq:<int type>.
 */

export interface Field<T> {
  readonly name: string;
  readonly type: string;
  /** Bytes the value takes. For strings, also notes whether the fast ASCII path applies. */
  size(value: T): number;
  /** Writes the value at `at`; returns the offset after it. */
  write(view: DataView, bytes: Uint8Array, at: number, value: T): number;
}

export type IntType = 's8' | 's16' | 's32' | 's64' | 'u8' | 'u16' | 'u32' | 'u64';
const INT_SIZES: Record<IntType, number> = { s8: 1, s16: 2, s32: 4, s64: 8, u8: 1, u16: 2, u32: 4, u64: 8 };
const TWO32 = 4294967296;

/** Writes an integer of `type`; 64-bit ones take a bigint or a number. Returns the offset after it. */
function writeInt(view: DataView, at: number, type: IntType, v: number | bigint): number {
  switch (type) {
    case 's8':
      view.setInt8(at, Number(v));
      return at + 1;
    case 'u8':
      view.setUint8(at, Number(v));
      return at + 1;
    case 's16':
      view.setInt16(at, Number(v), true);
      return at + 2;
    case 'u16':
      view.setUint16(at, Number(v), true);
      return at + 2;
    case 's32':
      view.setInt32(at, Number(v), true);
      return at + 4;
    case 'u32':
      view.setUint32(at, Number(v), true);
      return at + 4;
    default:
      if (typeof v === 'bigint') {
        if (type === 's64') view.setBigInt64(at, v, true);
        else view.setBigUint64(at, v, true);
      } else {
        const n = Math.trunc(v) || 0;
        const hi = Math.floor(n / TWO32);
        view.setUint32(at, n - hi * TWO32, true);
        view.setUint32(at + 4, hi >>> 0, true);
      }
      return at + 8;
  }
}

function readInt(view: DataView, at: number, type: IntType): number | bigint {
  switch (type) {
    case 's8':
      return view.getInt8(at);
    case 'u8':
      return view.getUint8(at);
    case 's16':
      return view.getInt16(at, true);
    case 'u16':
      return view.getUint16(at, true);
    case 's32':
      return view.getInt32(at, true);
    case 'u32':
      return view.getUint32(at, true);
    case 's64':
      return view.getBigInt64(at, true);
    default:
      return view.getBigUint64(at, true);
  }
}

type IntValue<K extends IntType> = K extends 's64' | 'u64' ? bigint | number : number;

function intField<K extends IntType>(type: K) {
  const size = INT_SIZES[type];
  return (name: string): Field<IntValue<K>> => ({
    name,
    type,
    size: () => size,
    write: (view, _b, at, v) => writeInt(view, at, type, v),
  });
}

export const s8 = intField('s8');
export const s16 = intField('s16');
export const s32 = intField('s32');
export const s64 = intField('s64');
export const u8 = intField('u8');
export const u16 = intField('u16');
export const u32 = intField('u32');
export const u64 = intField('u64');

export function float(name: string): Field<number> {
  return { name, type: 'float', size: () => 4, write: (view, _b, at, v) => (view.setFloat32(at, v, true), at + 4) };
}

export function double(name: string): Field<number> {
  return { name, type: 'double', size: () => 8, write: (view, _b, at, v) => (view.setFloat64(at, v, true), at + 8) };
}

/** UTF-8 bytes of `s` up to its first NUL (C semantics). */
function utf8Length(s: string): number {
  const cut = s.indexOf('\0');
  return Buffer.byteLength(cut < 0 ? s : s.slice(0, cut));
}

/** Writes `s` as UTF-8 (cut at NUL) into bytes[at..at+max); returns the bytes written. */
function writeText(bytes: Uint8Array, at: number, s: string, ascii: boolean, max: number): number {
  if (ascii) {
    const n = Math.min(s.length, max);
    for (let i = 0; i < n; i++) bytes[at + i] = s.charCodeAt(i);
    return n;
  }
  const cut = s.indexOf('\0');
  const text = cut < 0 ? s : s.slice(0, cut);
  return Buffer.from(bytes.buffer, bytes.byteOffset + at, max).write(text, 'utf8');
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0x7f) return false;
  }
  return true;
}

/** A NUL-terminated string (CTF string, UTF-8), cut at its first NUL. */
export function string(name: string): Field<string> {
  let ascii = true;
  return {
    name,
    type: 'string',
    size(v) {
      const s = typeof v === 'string' ? v : String(v);
      // Fast path: the loop that scans also proves the string is ASCII, for write() that follows.
      const n = s.length;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c === 0 || c > 0x7f) {
          ascii = false;
          return utf8Length(s) + 1;
        }
      }
      ascii = true;
      return n + 1;
    },
    write(_view, bytes, at, v) {
      const s = typeof v === 'string' ? v : String(v);
      const n = writeText(bytes, at, s, ascii, bytes.length - at - 1);
      bytes[at + n] = 0;
      return at + n + 1;
    },
  };
}

/** A fixed-size text field of `length` bytes (user_events `char[N]`): UTF-8, cut to fit, NUL-padded. */
export function chars(name: string, length: number): Field<string> {
  if (!Number.isInteger(length) || length < 1 || length > 65536) throw new RangeError(`char[${length}]: the length must be 1..65536`);
  return {
    name,
    type: `char[${length}]`,
    size: () => length,
    write(_view, bytes, at, v) {
      const s = typeof v === 'string' ? v : String(v);
      const ascii = isAscii(s);
      let n = writeText(bytes, at, s, ascii, length);
      // Never leave half a UTF-8 sequence at the end.
      if (!ascii && n === length) {
        let lead = n - 1;
        while (lead > 0 && (bytes[at + lead] & 0xc0) === 0x80) lead--;
        const need = bytes[at + lead] >= 0xf0 ? 4 : bytes[at + lead] >= 0xe0 ? 3 : bytes[at + lead] >= 0xc0 ? 2 : 1;
        if (lead + need > n) n = lead;
      }
      bytes.fill(0, at + n, at + length);
      return at + length;
    },
  };
}

/** A byte sequence: u32 length, then the bytes. */
export function bytes(name: string): Field<Uint8Array> {
  return {
    name,
    type: 'bytes',
    size: (v) => 4 + v.length,
    write(view, out, at, v) {
      view.setUint32(at, v.length, true);
      out.set(v, at + 4);
      return at + 4 + v.length;
    },
  };
}

/** An enumeration over an integer type: takes a label or a number. */
export function enumeration<L extends string>(name: string, container: Exclude<IntType, 's64' | 'u64'>, labels: Record<L, number>): Field<L | number> {
  const values = new Map<string, number>(Object.entries(labels) as [string, number][]);
  for (const [label, value] of values) if (!Number.isInteger(value)) throw new RangeError(`enum ${name}: label ${label} has a non-integer value ${value}`);
  const size = INT_SIZES[container];
  return {
    name,
    type: `enum:${container}:${JSON.stringify(labels)}`,
    size: () => size,
    write: (view, _b, at, v) => writeInt(view, at, container, typeof v === 'number' ? v : (values.get(v) ?? -1)),
  };
}

/** A sequence of integers: u32 length, then the elements. */
export function sequence(name: string, element: Exclude<IntType, 's64' | 'u64'>): Field<ArrayLike<number>> {
  const size = INT_SIZES[element];
  return {
    name,
    type: `seq:${element}`,
    size: (v) => 4 + size * v.length,
    write(view, _b, at, v) {
      view.setUint32(at, v.length, true);
      let p = at + 4;
      for (let i = 0; i < v.length; i++) p = writeInt(view, p, element, v[i]);
      return p;
    },
  };
}

/** A fixed-length array of integers (user_events `u32 name[N]`); missing elements are 0. */
export function intArray(name: string, element: Exclude<IntType, 's64' | 'u64'>, length: number): Field<ArrayLike<number>> {
  const size = INT_SIZES[element];
  return {
    name,
    type: `${element}[${length}]`,
    size: () => size * length,
    write(view, _b, at, v) {
      let p = at;
      for (let i = 0; i < length; i++) p = writeInt(view, p, element, i < v.length ? v[i] : 0);
      return p;
    },
  };
}

export interface FieldDecl {
  name: string;
  type: string;
}

/** Decodes fields laid out as `fields` say, from `at`: the reader side of `write`. */
export function decodeFields(fields: readonly FieldDecl[], view: DataView, at: number): { values: Record<string, unknown>; end: number } {
  const values: Record<string, unknown> = {};
  let p = at;
  for (const f of fields) {
    const [value, end] = decodeOne(f.type, view, p);
    values[f.name] = value;
    p = end;
  }
  return { values, end: p };
}

function decodeText(view: DataView, at: number, length: number): string {
  const raw = new Uint8Array(view.buffer, view.byteOffset + at, length);
  const nul = raw.indexOf(0);
  return Buffer.from(raw.subarray(0, nul < 0 ? length : nul)).toString('utf8');
}

function decodeInts(view: DataView, at: number, type: IntType, count: number): [number[], number] {
  const out: number[] = [];
  let p = at;
  for (let i = 0; i < count; i++) {
    out.push(Number(readInt(view, p, type)));
    p += INT_SIZES[type];
  }
  return [out, p];
}

function decodeOne(type: string, view: DataView, at: number): [unknown, number] {
  if (type in INT_SIZES) return [readInt(view, at, type as IntType), at + INT_SIZES[type as IntType]];
  if (type === 'float') return [view.getFloat32(at, true), at + 4];
  if (type === 'double') return [view.getFloat64(at, true), at + 8];
  if (type === 'string') {
    let end = at;
    while (view.getUint8(end) !== 0) end++;
    return [decodeText(view, at, end - at), end + 1];
  }
  if (type === 'bytes') {
    const n = view.getUint32(at, true);
    return [new Uint8Array(view.buffer.slice(view.byteOffset + at + 4, view.byteOffset + at + 4 + n)), at + 4 + n];
  }
  let m = /^char\[(\d+)\]$/.exec(type);
  if (m) return [decodeText(view, at, Number(m[1])), at + Number(m[1])];
  m = /^(s8|s16|s32|u8|u16|u32)\[(\d+)\]$/.exec(type);
  if (m) return decodeInts(view, at, m[1] as IntType, Number(m[2]));
  m = /^enum:(s8|s16|s32|u8|u16|u32):(.*)$/.exec(type);
  if (m) {
    const labels = JSON.parse(m[2]) as Record<string, number>;
    const value = Number(readInt(view, at, m[1] as IntType));
    const label = Object.keys(labels).find((k) => labels[k] === value);
    return [label ?? value, at + INT_SIZES[m[1] as IntType]];
  }
  m = /^seq:(s8|s16|s32|u8|u16|u32)$/.exec(type);
  if (m) return decodeInts(view, at + 4, m[1] as IntType, view.getUint32(at, true));
  throw new Error(`unknown field type "${type}"`);
}
