/**
 * Events defined at run time from a user_events format string: `name field1;field2`, e.g.
 * `detailed char[20] msg;u32 count`. A name `provider:event` keeps its provider; a plain name
 * (user_events names are flat) goes under the provider `user_events`, as the kernel lists them.
 */
import { chars, Field, intArray, IntType, s16, s32, s64, s8, sequence, string, u16, u32, u64, u8 } from './fields';

export class FormatError extends Error {
  constructor(
    readonly column: number,
    message: string,
  ) {
    super(`column ${column}: ${message}`);
    this.name = 'FormatError';
  }
}

const INTS: Record<string, IntType> = {
  u8: 'u8', s8: 's8', u16: 'u16', s16: 's16', u32: 'u32', s32: 's32', u64: 'u64', s64: 's64',
  char: 's8', 'unsigned char': 'u8', short: 's16', 'unsigned short': 'u16', int: 's32', 'unsigned int': 'u32',
  long: 's64', 'unsigned long': 'u64', 'long long': 's64', 'unsigned long long': 'u64',
};
const MAKERS: Record<IntType, (name: string) => Field<any>> = { u8, s8, u16, s16, u32, s32, u64, s64 };
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ParsedFormat {
  provider: string;
  name: string;
  fields: Field<any>[];
}

export function parseFormat(format: string): ParsedFormat {
  if (typeof format !== 'string') throw new FormatError(1, 'the format must be a string');
  const m = /^\s*(\S+)(\s+(.*))?$/s.exec(format);
  if (!m) throw new FormatError(1, 'expected an event name');
  const full = m[1];
  const [provider, name] = full.includes(':') ? full.split(':', 2) : ['user_events', full];
  if (!NAME.test(provider) || !NAME.test(name) || full.split(':').length > 2) throw new FormatError(1, `bad event name "${full}": letters, digits and _, optionally provider:event`);
  const fields: Field<any>[] = [];
  const rest = m[3] ?? '';
  let column = format.length - rest.length + 1;
  for (const part of rest.split(';')) {
    const text = part.trim();
    if (text !== '') fields.push(parseField(text, column + part.indexOf(text)));
    column += part.length + 1;
  }
  const names = new Set<string>();
  for (const f of fields) {
    if (names.has(f.name)) throw new FormatError(1, `field "${f.name}" is defined twice`);
    names.add(f.name);
  }
  return { provider, name, fields };
}

function parseField(text: string, column: number): Field<any> {
  let spec = text;
  let dataLoc = false;
  if (spec.startsWith('__data_loc ')) {
    dataLoc = true;
    spec = spec.slice('__data_loc '.length).trim();
  }
  const m = /^(.*?)\s+([A-Za-z_][A-Za-z0-9_]*)\s*(\[(\d*)\])?$/.exec(spec) ?? /^(.*?\S)(\[(\d*)\])\s+([A-Za-z_][A-Za-z0-9_]*)$/.exec(spec);
  if (!m) throw new FormatError(column, `cannot read field "${text}": expected "TYPE NAME"`);
  let type: string;
  let name: string;
  let len: string | undefined;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(m[2] ?? '')) {
    type = m[1].trim();
    name = m[2];
    len = m[4];
  } else {
    type = m[1].trim();
    len = m[3];
    name = m[4];
  }
  const arr = /^(.*?)\s*\[(\d*)\]$/.exec(type);
  if (arr) {
    type = arr[1];
    len = arr[2];
  }
  if (dataLoc) {
    if (len !== '') throw new FormatError(column, `__data_loc field "${name}" must be declared with []`);
    if (type === 'char') return string(name);
    if (type === 'u8' || type === 'unsigned char') return sequence(name, 'u8');
    throw new FormatError(column, `__data_loc supports char[] and u8[], not ${type}[]`);
  }
  const int = INTS[type];
  if (!int) throw new FormatError(column, `unknown type "${type}" for field "${name}": use u8..u64, s8..s64, char, int, long, ...`);
  if (len === undefined) return MAKERS[int](name);
  if (len === '' || Number(len) < 1 || Number(len) > 65536) throw new FormatError(column, `field "${name}": an array needs a length 1..65536`);
  if (type === 'char') return chars(name, Number(len));
  if (int === 'u64' || int === 's64') throw new FormatError(column, `field "${name}": arrays of 64-bit integers are not supported`);
  return intArray(name, int, Number(len));
}
