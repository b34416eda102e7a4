// Serializers: one pair of closures (size, write) per field type, composed per event.
// Everything is little-endian and packed. A writer never throws and never calls user code: a value
// of the wrong JavaScript type is recorded as 0 (numbers) or empty (strings, sequences), so that
// an event, once its space is reserved, is always written completely and committed.
import { IntInfo, TypeInfo, parseType } from './types';

/** Bytes a value needs beyond the field's fixed size (0 for fixed-size fields). */
export type Sizer = (v: unknown) => number;
/** Writes a value at `o` and returns the offset just after it. */
export type Writer = (view: DataView, bytes: Uint8Array, o: number, v: unknown) => number;

export interface Codec {
  readonly info: TypeInfo;
  /** Fixed part of the size: the whole size of fixed-size types, 0 for strings and sequences. */
  readonly fixed: number;
  readonly size: Sizer;
  readonly write: Writer;
  /** The size depends on the value (strings, sequences): emit calls `size` only for these. */
  readonly variable: boolean;
}

type CodecParts = Omit<Codec, 'variable'>;

const TWO32 = 4294967296;

/** The number a ≤ 32-bit integer field records for a value that is not a number. */
export function int32Of(v: unknown): number {
  if (typeof v === 'bigint') return Number(BigInt.asIntN(32, v));
  if (typeof v === 'boolean') return v ? 1 : 0;
  return 0;
}

/** The number a float field records for a value that is not a number. */
export function floatOf(v: unknown): number {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return 0;
}

const zero: Sizer = () => 0;

function write8(_view: DataView, bytes: Uint8Array, o: number, v: unknown): number {
  bytes[o] = typeof v === 'number' ? v : int32Of(v);
  return o + 1;
}
function write16(view: DataView, _bytes: Uint8Array, o: number, v: unknown): number {
  view.setUint16(o, typeof v === 'number' ? v : int32Of(v), true);
  return o + 2;
}
function write32(view: DataView, _bytes: Uint8Array, o: number, v: unknown): number {
  view.setUint32(o, typeof v === 'number' ? v : int32Of(v), true);
  return o + 4;
}
/**
 * 64-bit integers take a bigint or a number (truncated toward zero, wrapped as a C cast does).
 * Numbers here, the rest out of line: emit's inlining budget is in bytecode bytes.
 */
function write64(view: DataView, _bytes: Uint8Array, o: number, v: unknown): number {
  // An int32 (counters, ids, sizes) needs no division: its high word is its sign. (The typeof
  // comes first: `|` would throw on a bigint and call valueOf on an object.)
  if (typeof v !== 'number' || (v | 0) !== v) return write64Other(view, o, v);
  const i = v | 0;
  view.setInt32(o, i, true);
  view.setInt32(o + 4, i >> 31, true);
  return o + 8;
}
function write64Other(view: DataView, o: number, v: unknown): number {
  if (typeof v === 'number') {
    const t = Math.trunc(v);
    view.setUint32(o, t >>> 0, true);
    view.setUint32(o + 4, Math.floor(t / TWO32) >>> 0, true);
  } else if (typeof v === 'bigint') {
    view.setBigUint64(o, v, true);
  } else {
    view.setUint32(o, typeof v === 'boolean' && v ? 1 : 0, true);
    view.setUint32(o + 4, 0, true);
  }
  return o + 8;
}
function writeFloat(view: DataView, _bytes: Uint8Array, o: number, v: unknown): number {
  view.setFloat32(o, typeof v === 'number' ? v : floatOf(v), true);
  return o + 4;
}
function writeDouble(view: DataView, _bytes: Uint8Array, o: number, v: unknown): number {
  view.setFloat64(o, typeof v === 'number' ? v : floatOf(v), true);
  return o + 8;
}

const INT_WRITERS: Record<number, Writer> = { 1: write8, 2: write16, 4: write32, 8: write64 };

export function intWriter(t: IntInfo): Writer {
  return INT_WRITERS[t.bytes];
}

// ---- strings ------------------------------------------------------------------------------
//
// A string is read twice: once to know its exact size (before the reservation), once to write
// it. To read it only once, the size pass packs an ASCII string (the common case) four
// characters to a 32-bit word into a per-thread scratch, and the write copies those words. The
// scratch holds, per string field of the event being emitted and in field order, a header word
// (the byte count including the NUL, or -1 when the string is written directly: not ASCII, not
// a string, or no room left) followed by the packed words; a long string has NATIVE and its size
// instead (see LONG_STRING). emit resets `top` before sizing and `next` before writing each
// route; emit calls no user code, so nothing else can run in between.

const SCRATCH_WORDS = 16384;
const words = new Int32Array(SCRATCH_WORDS);
/** Where the size pass and the write pass of the event under way are in the scratch. */
export interface Cursor {
  top: number;
  next: number;
}
// Not `export const`: TypeScript would compile every use in this file to `exports.scratch`.
const scratch: Cursor = { top: 0, next: 0 };
export { scratch };

// Long strings (at least LONG_STRING UTF-16 units, no NUL) are left to Node's UTF-8 encoder:
// Buffer.byteLength to size, Buffer#write into the mapping. Two C++ calls cost ~100-120 ns,
// then ~0.1 ns a character, where charCodeAt costs ~2.5 ns a character: from about 60
// characters on, Node's is faster (512 characters: ~190 ns instead of ~1.2 µs). Both count and
// write a lone surrogate as U+FFFD, as encodeString does. Header word NATIVE, then the size.
const LONG_STRING = 64;
const NATIVE = -2;
/** A Buffer over each writer's mapping (Buffer#write needs one), made once per mapping. */
const buffers = new WeakMap<Uint8Array, Buffer>();

/**
 * Bytes of `s` in UTF-8 up to its first U+0000, plus the terminating NUL. Lone surrogates count
 * as U+FFFD (3 bytes), as Buffer and TextEncoder write them.
 */
export function utf8Size(v: unknown): number {
  if (typeof v !== 'string') return 1;
  const n = v.length;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    // c === 0 or c >= 0x80 in one comparison.
    if ((c - 1) >>> 0 >= 0x7f) return c === 0 ? i + 1 : utf8Tail(v, i, i) + 1;
  }
  return n + 1;
}

/**
 * The size pass of a string field (see above): measures, and packs ASCII into the scratch. Kept
 * small, so that V8 inlines it into emit: whole chunks of four ASCII characters and a short
 * ASCII tail here, anything else (NUL, non-ASCII, not a string, no room) out of line.
 */
export function stringSize(v: unknown): number {
  const cur = scratch;
  const ws = words;
  const t = cur.top;
  if (typeof v !== 'string') return notPacked(t, 1);
  const n = v.length;
  if (n >= LONG_STRING) {
    const z = longSize(v, t);
    if (z > 0) return z;
  }
  if (t + 2 + (n >>> 2) > ws.length) return notPacked(t, utf8Size(v));
  let k = t + 1;
  let i = 0;
  // Four characters a turn with one test for the four (each charCodeAt dispatches on the
  // string's representation, so the per-character bookkeeping is what can be saved): the mask
  // is non-zero when a character is 0 (c - 1 is -1) or ≥ 0x80.
  const whole = n & ~3;
  for (; i < whole; i += 4) {
    const c0 = v.charCodeAt(i);
    const c1 = v.charCodeAt(i + 1);
    const c2 = v.charCodeAt(i + 2);
    const c3 = v.charCodeAt(i + 3);
    if ((((c0 - 1) | (c1 - 1) | (c2 - 1) | (c3 - 1) | c0 | c1 | c2 | c3) & ~0x7f) !== 0) return packFrom(v, t, k, i);
    ws[k++] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
  }
  let w = 0;
  for (; i < n; i++) {
    const c = v.charCodeAt(i);
    if ((c - 1) >>> 0 >= 0x7f) return packFrom(v, t, k, whole);
    w |= c << ((i & 3) << 3);
  }
  ws[k] = w; // the last characters and the NUL
  ws[t] = n + 1;
  cur.top = k + 1;
  return n + 1;
}

/** A string field written directly, not from the scratch: its header word says so. */
function notPacked(t: number, size: number): number {
  if (t < SCRATCH_WORDS) words[t] = -1;
  scratch.top = t + 1;
  return size;
}

/** The size of a long string for Node's encoder (see LONG_STRING), or -1 when it holds a NUL (or there is no room) and is packed instead. */
function longSize(v: string, t: number): number {
  if (t + 2 > SCRATCH_WORDS || v.indexOf('\0') >= 0) return -1;
  const size = Buffer.byteLength(v, 'utf8') + 1;
  words[t] = NATIVE;
  words[t + 1] = size;
  scratch.top = t + 2;
  return size;
}

/**
 * stringSize character by character from `i` (a multiple of 4, packed up to word `k`), where it
 * met a NUL or a non-ASCII character: a NUL ends the string, anything else is measured as UTF-8
 * and written directly.
 */
function packFrom(v: string, t: number, k: number, i: number): number {
  const n = v.length;
  let w = 0;
  for (; i < n; i++) {
    const c = v.charCodeAt(i);
    if ((c - 1) >>> 0 >= 0x7f) {
      if (c === 0) break;
      return notPacked(t, utf8Tail(v, i, i) + 1);
    }
    w |= c << ((i & 3) << 3);
    if ((i & 3) === 3) {
      words[k++] = w;
      w = 0;
    }
  }
  words[k++] = w; // the last characters and the NUL
  words[t] = i + 1;
  scratch.top = k;
  return i + 1;
}

/** The write pass of a string field: copies the packed words, or encodes the string directly. */
export function writeString(view: DataView, bytes: Uint8Array, o: number, v: unknown): number {
  const cur = scratch;
  const ws = words;
  const t = cur.next;
  const n = t < ws.length ? ws[t] : -1;
  if (n < 0) return writeUnpacked(bytes, o, v, t);
  const end = t + 1 + (n >>> 2);
  let at = o;
  for (let k = t + 1; k < end; k++, at += 4) view.setInt32(at, ws[k], true);
  // The last 1 to 3 bytes (at least the NUL, unless n is a multiple of 4): never a byte past n,
  // which belongs to the next field or to another event. Through the DataView: V8 checks a
  // Uint8Array's map on each use (Node's Buffers leave that map with a transition), not a DataView's.
  const rest = n & 3;
  for (let j = 0; j < rest; j++) view.setUint8(at + j, ws[end] >>> (j << 3));
  cur.next = rest === 0 ? end : end + 1;
  return o + n;
}

/** writeString for a string the size pass did not pack: Node's encoder (header NATIVE), or encodeString (-1). */
function writeUnpacked(bytes: Uint8Array, o: number, v: unknown, t: number): number {
  if (t < SCRATCH_WORDS && words[t] === NATIVE) {
    const size = words[t + 1];
    scratch.next = t + 2;
    let buffer = buffers.get(bytes);
    if (buffer === undefined) {
      buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      buffers.set(bytes, buffer);
    }
    const end = o + size - 1;
    const written = buffer.write(v as string, o, size - 1, 'utf8');
    // Never short, since the size is Buffer.byteLength's; if it were, the field keeps its size.
    for (let p = o + written; p < end; p++) bytes[p] = 0x3f;
    bytes[end] = 0;
    return end + 1;
  }
  scratch.next = t + 1;
  return encodeString(bytes, o, v);
}

/** UTF-8 bytes of s[i..] up to the first U+0000, plus `bytes` already counted. */
function utf8Tail(s: string, i: number, bytes: number): number {
  const n = s.length;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) break;
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLowSurrogate(s.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Writes a string field without the scratch: ASCII by a charCodeAt loop, then UTF-8; NUL-terminated. */
export function encodeString(bytes: Uint8Array, o: number, v: unknown): number {
  if (typeof v !== 'string') {
    bytes[o] = 0;
    return o + 1;
  }
  const n = v.length;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if ((c - 1) >>> 0 >= 0x7f) {
      if (c === 0) {
        bytes[o + i] = 0;
        return o + i + 1;
      }
      const end = encodeUtf8(bytes, o + i, v, i, bytes.length);
      bytes[end] = 0;
      return end + 1;
    }
    bytes[o + i] = c;
  }
  bytes[o + n] = 0;
  return o + n + 1;
}

/**
 * Encodes s[i..] (up to its first U+0000) at `o`, never writing at or past `limit`: a character
 * that does not fit whole stops the encoding. Returns the offset after the last byte written.
 */
function encodeUtf8(bytes: Uint8Array, o: number, s: string, i: number, limit: number): number {
  const n = s.length;
  for (; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c === 0) break;
    if (c < 0x80) {
      if (o + 1 > limit) break;
      bytes[o++] = c;
    } else if (c < 0x800) {
      if (o + 2 > limit) break;
      bytes[o++] = 0xc0 | (c >> 6);
      bytes[o++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLowSurrogate(s.charCodeAt(i + 1))) {
      if (o + 4 > limit) break;
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      bytes[o++] = 0xf0 | (c >> 18);
      bytes[o++] = 0x80 | ((c >> 12) & 0x3f);
      bytes[o++] = 0x80 | ((c >> 6) & 0x3f);
      bytes[o++] = 0x80 | (c & 0x3f);
    } else {
      if (o + 3 > limit) break;
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate
      bytes[o++] = 0xe0 | (c >> 12);
      bytes[o++] = 0x80 | ((c >> 6) & 0x3f);
      bytes[o++] = 0x80 | (c & 0x3f);
    }
  }
  return o;
}

/** char[N]: the text's UTF-8 bytes up to its first NUL, cut at a character boundary, NUL-padded to N. */
export function textWriter(length: number): Writer {
  return (_view, bytes, o, v) => {
    const end = o + length;
    let p = o;
    if (typeof v === 'string') {
      const n = v.length;
      let i = 0;
      for (; i < n && p < end; i++) {
        const c = v.charCodeAt(i);
        if ((c - 1) >>> 0 >= 0x7f) break;
        bytes[p++] = c;
      }
      if (i < n && p < end) p = encodeUtf8(bytes, p, v, i, end);
    }
    while (p < end) bytes[p++] = 0;
    return end;
  };
}

/** The string a char[N] field records for `v`: cut at the first NUL and to N bytes of UTF-8. */
export function textValue(v: unknown, length: number): string {
  if (typeof v !== 'string') return '';
  const buf = new Uint8Array(length);
  const end = textWriter(length)(new DataView(buf.buffer), buf, 0, v);
  let n = 0;
  while (n < end && buf[n] !== 0) n++;
  return Buffer.from(buf.buffer, 0, n).toString('utf8');
}

/** The string a string field records for `v`: cut at the first NUL. */
export function stringValue(v: unknown): string {
  if (typeof v !== 'string') return '';
  const nul = v.indexOf('\0');
  return nul < 0 ? v : v.slice(0, nul);
}

// ---- sequences and arrays -----------------------------------------------------------------

/** Number of elements of an array-like value: 0 for anything else. */
export function lengthOf(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  const n = (v as { length?: unknown }).length;
  return typeof n === 'number' && n > 0 && n <= 0xffffffff ? Math.floor(n) : 0;
}

function seqCodec(info: TypeInfo & { kind: 'seq' }): CodecParts {
  const elemSize = info.elem.bytes;
  const elem = intWriter(info.elem);
  const u8 = elemSize === 1;
  return {
    info,
    fixed: 4,
    size: (v) => lengthOf(v) * elemSize,
    write: (view, bytes, o, v) => {
      const n = lengthOf(v);
      view.setUint32(o, n, true);
      o += 4;
      if (u8 && v instanceof Uint8Array) {
        bytes.set(v, o);
        return o + n;
      }
      const a = v as ArrayLike<unknown>;
      for (let i = 0; i < n; i++) o = elem(view, bytes, o, a[i]);
      return o;
    },
  };
}

/** bytes: a Uint8Array (or any array of byte values), u32 length first. */
function bytesCodec(info: TypeInfo & { kind: 'bytes' }): CodecParts {
  return {
    info,
    fixed: 4,
    size: lengthOf,
    write: (view, bytes, o, v) => {
      const n = lengthOf(v);
      view.setUint32(o, n, true);
      o += 4;
      if (v instanceof Uint8Array) {
        bytes.set(v, o);
        return o + n;
      }
      const a = v as ArrayLike<unknown>;
      for (let i = 0; i < n; i++) o = write8(view, bytes, o, a[i]);
      return o;
    },
  };
}

function arrayCodec(info: TypeInfo & { kind: 'array' }): CodecParts {
  const elemSize = info.elem.bytes;
  const elem = intWriter(info.elem);
  const length = info.length;
  return {
    info,
    fixed: length * elemSize,
    size: zero,
    write: (view, bytes, o, v) => {
      const n = Math.min(lengthOf(v), length);
      const a = v as ArrayLike<unknown>;
      for (let i = 0; i < n; i++) o = elem(view, bytes, o, a[i]);
      const end = o + (length - n) * elemSize;
      while (o < end) bytes[o++] = 0;
      return o;
    },
  };
}

function enumCodec(info: TypeInfo & { kind: 'enum' }): CodecParts {
  const labels = info.labels;
  const container = intWriter(info.container);
  return {
    info,
    fixed: info.container.bytes,
    size: zero,
    // A label the enumeration does not have is recorded as 0.
    write: (view, bytes, o, v) => container(view, bytes, o, typeof v === 'string' ? (labels.get(v) ?? 0) : v),
  };
}

const codecs = new Map<string, Codec>();

/** The codec of a type string (see types.ts), shared by every field of that type. */
export function codecFor(type: string): Codec {
  const known = codecs.get(type);
  if (known) return known;
  const info = parseType(type);
  let c: CodecParts;
  switch (info.kind) {
    case 'int':
      c = { info, fixed: info.bytes, size: zero, write: intWriter(info) };
      break;
    case 'float':
      c = { info, fixed: info.bytes, size: zero, write: info.bytes === 4 ? writeFloat : writeDouble };
      break;
    case 'string':
      c = { info, fixed: 0, size: stringSize, write: writeString };
      break;
    case 'text':
      c = { info, fixed: info.length, size: zero, write: textWriter(info.length) };
      break;
    case 'array':
      c = arrayCodec(info);
      break;
    case 'seq':
      c = seqCodec(info);
      break;
    case 'bytes':
      c = bytesCodec(info);
      break;
    case 'enum':
      c = enumCodec(info);
      break;
  }
  const codec: Codec = { ...c, variable: c.size !== zero };
  if (codecs.size < 10000) codecs.set(type, codec);
  return codec;
}
