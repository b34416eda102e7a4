// Field types as they travel on the app link (FieldDecl.type) and as the session daemon turns
// them into CTF metadata. One grammar, parsed here for the writer, the decoder and the filter.
//
//   u8 u16 u32 u64 s8 s16 s32 s64   integers, little-endian, two's complement
//   float double                      IEEE 754 binary32 / binary64
//   string                            UTF-8, NUL-terminated
//   char[N]                           text in exactly N bytes, NUL-padded (CTF: array of N u8, UTF-8)
//   T[N]                              N integers of type T (T one of the integer types)
//   seq:T                             u32 length, then that many integers of type T
//   bytes                             u32 length, then that many bytes (CTF: a sequence of u8)
//   enum:T:{"LABEL":value,...}        an integer of type T whose values have labels (JSON object)

export type IntTypeName = 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64';
export const INT_TYPES: readonly IntTypeName[] = ['u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64'];

export interface IntInfo {
  readonly kind: 'int';
  readonly name: IntTypeName;
  readonly bytes: 1 | 2 | 4 | 8;
  readonly signed: boolean;
}
export type TypeInfo =
  | IntInfo
  | { readonly kind: 'float'; readonly bytes: 4 | 8 }
  | { readonly kind: 'string' }
  | { readonly kind: 'text'; readonly length: number }
  | { readonly kind: 'array'; readonly elem: IntInfo; readonly length: number }
  | { readonly kind: 'seq'; readonly elem: IntInfo }
  | { readonly kind: 'bytes' }
  | {
      readonly kind: 'enum';
      readonly container: IntInfo;
      readonly labels: ReadonlyMap<string, number>;
      readonly names: ReadonlyMap<number, string>;
    };

/** Largest N of char[N] and T[N]: an event must fit in one sub-buffer anyway. */
export const MAX_ARRAY_LENGTH = 65535;

const INTS = new Map<string, IntInfo>(
  INT_TYPES.map((name) => [
    name,
    { kind: 'int', name, bytes: (Number(name.slice(1)) / 8) as 1 | 2 | 4 | 8, signed: name[0] === 's' },
  ]),
);

export function intInfo(name: string): IntInfo | undefined {
  return INTS.get(name);
}

/** Smallest and largest value of an integer type, as bigints. */
export function intRange(t: IntInfo): [bigint, bigint] {
  const bits = BigInt(t.bytes * 8);
  return t.signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
}

const cache = new Map<string, TypeInfo>();

/** Parses a type string of the grammar above; throws a TypeError naming what is wrong. */
export function parseType(type: string): TypeInfo {
  let info = cache.get(type);
  if (!info) {
    info = parseUncached(type);
    if (cache.size < 10000) cache.set(type, info);
  }
  return info;
}

function parseLength(text: string, type: string): number {
  if (!/^[1-9][0-9]*$/.test(text) || Number(text) > MAX_ARRAY_LENGTH)
    throw new TypeError(`field type "${type}": the length must be an integer from 1 to ${MAX_ARRAY_LENGTH}`);
  return Number(text);
}

function parseUncached(type: string): TypeInfo {
  if (typeof type !== 'string') throw new TypeError(`a field type must be a string, not ${typeof type}`);
  const int = INTS.get(type);
  if (int) return int;
  if (type === 'float') return { kind: 'float', bytes: 4 };
  if (type === 'double') return { kind: 'float', bytes: 8 };
  if (type === 'string') return { kind: 'string' };
  if (type === 'bytes') return { kind: 'bytes' };
  let m = /^char\[([0-9]+)\]$/.exec(type);
  if (m) return { kind: 'text', length: parseLength(m[1], type) };
  m = /^([us](?:8|16|32|64))\[([0-9]+)\]$/.exec(type);
  if (m && INTS.has(m[1])) return { kind: 'array', elem: INTS.get(m[1])!, length: parseLength(m[2], type) };
  m = /^seq:([us](?:8|16|32|64))$/.exec(type);
  if (m && INTS.has(m[1])) return { kind: 'seq', elem: INTS.get(m[1])! };
  m = /^enum:([us](?:8|16|32|64)):(\{.*\})$/s.exec(type);
  if (m && INTS.has(m[1])) {
    const container = INTS.get(m[1])!;
    let raw: unknown;
    try {
      raw = JSON.parse(m[2]);
    } catch {
      throw new TypeError(`field type "${type}": the labels are not a JSON object`);
    }
    return { kind: 'enum', container, ...enumMaps(raw, container, type) };
  }
  throw new TypeError(
    `unknown field type "${type}": expected an integer type (u8..u64, s8..s64), float, double, string, bytes, char[N], T[N], seq:T or enum:T:{labels}`,
  );
}

/** Checks an enumeration's labels: non-empty strings, safe integer values in the container's range. */
export function enumMaps(
  raw: unknown,
  container: IntInfo,
  where: string,
): { labels: Map<string, number>; names: Map<number, string> } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new TypeError(`${where}: the labels must be an object {LABEL: value}`);
  const labels = new Map<string, number>();
  const names = new Map<number, string>();
  const [min, max] = intRange(container);
  for (const [label, value] of Object.entries(raw as Record<string, unknown>)) {
    if (label === '') throw new TypeError(`${where}: an enumeration label cannot be empty`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || BigInt(value) < min || BigInt(value) > max) {
      throw new TypeError(
        `${where}: the value of label "${label}" must be an integer from ${min} to ${max} (and a safe JavaScript integer)`,
      );
    }
    labels.set(label, value);
    if (!names.has(value)) names.set(value, label);
  }
  if (labels.size === 0) throw new TypeError(`${where}: an enumeration needs at least one label`);
  return { labels, names };
}

/** Fixed size in bytes of a value of this type, or -1 if the size depends on the value. */
export function fixedSize(t: TypeInfo): number {
  switch (t.kind) {
    case 'int':
    case 'float':
      return t.bytes;
    case 'text':
      return t.length;
    case 'array':
      return t.length * t.elem.bytes;
    case 'enum':
      return t.container.bytes;
    default:
      return -1;
  }
}
