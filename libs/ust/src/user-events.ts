/**
 * Events defined at run time from a Linux user_events format string: `name field1;field2;...`,
 * e.g. `detailed char[20] msg;u32 count`. Each field is `TYPE NAME`, where TYPE is u8..u64,
 * s8..s64 or a C integer type (char, short, int, long, long long, each optionally unsigned);
 * `char[N] NAME` is text in N bytes; `TYPE NAME[N]` or `TYPE[N] NAME` N integers;
 * `__data_loc char[] NAME` a string; `__data_loc u8[] NAME` bytes; `__data_loc TYPE[] NAME` a
 * sequence of integers (`__rel_loc` is read the same way). `long` is 64-bit, as on 64-bit Linux.
 * user_events names are flat: the events go under the provider `user_events` (the kernel's
 * ftrace system for them) unless the caller names another.
 */
import { array, bytes, chars, Field, fieldFromDecl, sequence, string } from './fields';
import { IntTypeName, MAX_ARRAY_LENGTH } from './types';

/** A bad format string: `column` is 1-based. */
export class FormatError extends Error {
  constructor(
    readonly column: number,
    message: string,
  ) {
    super(`user_events format error at column ${column}: ${message}`);
    this.name = 'FormatError';
  }
}

export interface ParsedFormat {
  name: string;
  fields: Field<unknown>[];
}

const C_TYPES: Record<string, IntTypeName> = {
  u8: 'u8',
  s8: 's8',
  u16: 'u16',
  s16: 's16',
  u32: 'u32',
  s32: 's32',
  u64: 'u64',
  s64: 's64',
  char: 's8',
  'signed char': 's8',
  'unsigned char': 'u8',
  short: 's16',
  'signed short': 's16',
  'unsigned short': 'u16',
  int: 's32',
  'signed int': 's32',
  'unsigned int': 'u32',
  unsigned: 'u32',
  long: 's64',
  'signed long': 's64',
  'unsigned long': 'u64',
  'long long': 's64',
  'signed long long': 's64',
  'unsigned long long': 'u64',
};
const TYPE_LIST = 'u8, s8, u16, s16, u32, s32, u64, s64, char, short, int, long, long long (optionally unsigned)';
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface Word {
  text: string;
  col: number;
}

/** Splits on blanks, keeping each word's 1-based column in the whole format. */
function words(text: string, col: number): Word[] {
  const out: Word[] = [];
  const re = /\S+/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ text: m[0], col: col + m.index });
  return out;
}

/** Splits `word` into a base and an optional `[N]`/`[]` suffix; length '' for `[]`. */
function splitSuffix(word: Word): { base: string; length?: string; lengthCol: number } {
  const open = word.text.indexOf('[');
  if (open < 0) return { base: word.text, lengthCol: word.col };
  const m = /^([^[\]]*)\[([^[\]]*)\]$/.exec(word.text);
  if (!m) throw new FormatError(word.col + open, `"${word.text}": expected NAME[N] or TYPE[N]`);
  return { base: m[1], length: m[2], lengthCol: word.col + open + 1 };
}

function parseLength(text: string, col: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > MAX_ARRAY_LENGTH) {
    throw new FormatError(col, `array length "${text}" must be an integer from 1 to ${MAX_ARRAY_LENGTH}`);
  }
  return Number(text);
}

function parseField(text: string, col: number): Field<unknown> {
  let ws = words(text, col);
  let loc = false;
  if (ws[0].text === '__data_loc' || ws[0].text === '__rel_loc') {
    loc = true;
    ws = ws.slice(1);
    if (ws.length === 0) throw new FormatError(col, `${text.trim()}: a type and a name must follow`);
  }
  if (ws[0].text === 'struct') throw new FormatError(ws[0].col, 'struct fields are not supported');
  if (ws.length < 2) throw new FormatError(ws[0].col, `"${text.trim()}": expected TYPE NAME`);
  const nameWord = splitSuffix(ws[ws.length - 1]);
  const typeWords = ws.slice(0, -1);
  const lastType = splitSuffix(typeWords[typeWords.length - 1]);
  const typeText = [...typeWords.slice(0, -1).map((w) => w.text), lastType.base].join(' ');
  const name = nameWord.base;
  const nameCol = ws[ws.length - 1].col;
  if (!NAME.test(name)) throw new FormatError(nameCol, `invalid field name "${name}": expected a C identifier`);
  if (lastType.length !== undefined && nameWord.length !== undefined)
    throw new FormatError(
      nameWord.lengthCol - 1,
      `field "${name}": give the array length once, on the type or on the name`,
    );
  const length = lastType.length ?? nameWord.length;
  const lengthCol = lastType.length !== undefined ? lastType.lengthCol : nameWord.lengthCol;
  const int = Object.prototype.hasOwnProperty.call(C_TYPES, typeText) ? C_TYPES[typeText] : undefined;
  if (!int)
    throw new FormatError(typeWords[0].col, `unknown type "${typeText}" for field "${name}": expected ${TYPE_LIST}`);
  const isChar = typeText === 'char' || typeText === 'signed char';
  if (loc) {
    if (length !== '')
      throw new FormatError(
        length === undefined ? nameCol : lengthCol,
        `__data_loc field "${name}" is declared with [] (e.g. __data_loc char[] ${name})`,
      );
    if (isChar) return string(name);
    if (int === 'u8') return bytes(name);
    return sequence(name, int);
  }
  if (length === undefined) return fieldFromDecl(name, int);
  if (length === '')
    throw new FormatError(
      lengthCol,
      `field "${name}": a variable-length array needs __data_loc (e.g. __data_loc ${typeText}[] ${name})`,
    );
  const n = parseLength(length, lengthCol);
  return isChar ? chars(name, n) : array(name, int, n);
}

/** Reads a user_events format string; throws a FormatError naming the column of the problem. */
export function parseFormat(format: string): ParsedFormat {
  if (typeof format !== 'string') throw new FormatError(1, 'the format must be a string');
  const lead = /^\s*/.exec(format)![0].length;
  const nameMatch = /^\S*/.exec(format.slice(lead))![0];
  if (nameMatch === '') throw new FormatError(lead + 1, 'the format starts with the event name');
  const colon = nameMatch.indexOf(':');
  if (colon >= 0)
    throw new FormatError(
      lead + colon + 1,
      `event name "${nameMatch}": flags (NAME:FLAGS) are not supported, and the provider is given apart`,
    );
  if (!NAME.test(nameMatch) || nameMatch.length > 255)
    throw new FormatError(
      lead + 1,
      `invalid event name "${nameMatch}": expected a C identifier of at most 255 characters`,
    );
  const fields: Field<unknown>[] = [];
  const seen = new Map<string, number>();
  let at = lead + nameMatch.length;
  const rest = format.slice(at);
  const parts = rest.split(';');
  parts.forEach((part, i) => {
    const col = at + 1;
    at += part.length + 1;
    if (part.trim() === '') {
      // Blank after the name (no fields), or a trailing ';'.
      if ((i === 0 && parts.length === 1) || (i === parts.length - 1 && i > 0)) return;
      throw new FormatError(col, 'empty field');
    }
    const field = parseField(part, col);
    if (seen.has(field.name)) throw new FormatError(col + part.search(/\S/), `field "${field.name}" is defined twice`);
    seen.set(field.name, col);
    fields.push(field);
  });
  return { name: nameMatch, fields };
}
