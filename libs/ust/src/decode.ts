// Reads back what the tracer writes: for tests and for tstrace's own readers.
import { IntInfo, parseType, TypeInfo } from './types';

export interface FieldLike {
  readonly name: string;
  readonly type: string;
}

/** Decoded values by field name. 64-bit integers are bigints, other integers numbers. */
export type FieldValues = Record<string, unknown>;

const utf8 = new TextDecoder('utf-8');

function readInt(view: DataView, o: number, t: IntInfo): number | bigint {
  switch (t.bytes) {
    case 1:
      return t.signed ? view.getInt8(o) : view.getUint8(o);
    case 2:
      return t.signed ? view.getInt16(o, true) : view.getUint16(o, true);
    case 4:
      return t.signed ? view.getInt32(o, true) : view.getUint32(o, true);
    default:
      return t.signed ? view.getBigInt64(o, true) : view.getBigUint64(o, true);
  }
}

function need(view: DataView, o: number, size: number, name: string): void {
  if (o + size > view.byteLength)
    throw new RangeError(`field "${name}" at offset ${o} needs ${size} bytes; the data ends at ${view.byteLength}`);
}

function text(view: DataView, o: number, n: number): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + o, n);
  const nul = bytes.indexOf(0);
  return utf8.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

function decodeOne(info: TypeInfo, name: string, view: DataView, o: number): [unknown, number] {
  switch (info.kind) {
    case 'int':
      need(view, o, info.bytes, name);
      return [readInt(view, o, info), o + info.bytes];
    case 'float':
      need(view, o, info.bytes, name);
      return [info.bytes === 4 ? view.getFloat32(o, true) : view.getFloat64(o, true), o + info.bytes];
    case 'string': {
      const bytes = new Uint8Array(view.buffer, view.byteOffset + o, Math.max(0, view.byteLength - o));
      const nul = bytes.indexOf(0);
      if (nul < 0)
        throw new RangeError(`string field "${name}" at offset ${o} has no terminating NUL before the end of the data`);
      return [utf8.decode(bytes.subarray(0, nul)), o + nul + 1];
    }
    case 'text':
      need(view, o, info.length, name);
      return [text(view, o, info.length), o + info.length];
    case 'enum': {
      need(view, o, info.container.bytes, name);
      const v = readInt(view, o, info.container);
      return [info.names.get(Number(v)) ?? v, o + info.container.bytes];
    }
    case 'bytes': {
      need(view, o, 4, name);
      const n = view.getUint32(o, true);
      need(view, o + 4, n, name);
      const start = view.byteOffset + o + 4;
      return [new Uint8Array(view.buffer.slice(start, start + n)), o + 4 + n];
    }
    case 'array':
    case 'seq': {
      let n: number;
      if (info.kind === 'seq') {
        need(view, o, 4, name);
        n = view.getUint32(o, true);
        o += 4;
      } else n = info.length;
      const size = info.elem.bytes;
      need(view, o, n * size, name);
      const values: (number | bigint)[] = new Array(n);
      for (let i = 0; i < n; i++, o += size) values[i] = readInt(view, o, info.elem);
      return [values, o];
    }
  }
}

/**
 * Decodes the fields of one event payload laid out by the tracer (packed, little-endian) from
 * `offset` in `view`; returns the values by name and the offset just after the last field.
 * `fields` are the event's declarations (or the tracer's field descriptors). Throws a RangeError
 * when the data ends before the fields do, a TypeError for an unknown type.
 *
 * Values: integers ≤ 32 bits are numbers, 64-bit integers bigints; float/double numbers; string
 * and char[N] strings; bytes a Uint8Array (a copy); arrays and sequences arrays of numbers (of
 * bigints for 64-bit elements); an enumeration's value is its label, or the integer when no label has it.
 */
export function decodeFields(
  fields: readonly FieldLike[],
  view: DataView,
  offset: number,
): { values: FieldValues; end: number } {
  const values: FieldValues = Object.create(null) as FieldValues;
  let o = offset;
  for (const f of fields) {
    const [value, end] = decodeOne(parseType(f.type), f.name, view, o);
    values[f.name] = value;
    o = end;
  }
  return { values, end: o };
}
