import { ArgsError } from '@tstrace/args';

/** A size with an optional k, M or G suffix (powers of 1024), as LTTng accepts it. */
export function parseSize(option: string, text: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (!m) throw new ArgsError(`invalid size for ${option}: "${text}" (a number, optionally followed by k, M or G)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  const value = Number(m[1]) * mult;
  if (!Number.isSafeInteger(value)) throw new ArgsError(`size for ${option} is too large: "${text}"`);
  return value;
}

/** A duration in microseconds, with an optional us, ms or s suffix. */
export function parseMicros(option: string, text: string): number {
  const m = /^(\d+)(us|ms|s)?$/.exec(text);
  if (!m)
    throw new ArgsError(`invalid time for ${option}: "${text}" (microseconds, or a number followed by us, ms or s)`);
  const value = Number(m[1]) * { us: 1, ms: 1000, s: 1000000 }[(m[2] ?? 'us') as 'us' | 'ms' | 's'];
  if (!Number.isSafeInteger(value)) throw new ArgsError(`time for ${option} is too large: "${text}"`);
  return value;
}

/** A non-negative integer option. */
export function parseCount(option: string, text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new ArgsError(`invalid number for ${option}: "${text}"`);
  return Number(text);
}

/** "a,b,c" → ["a","b","c"]; empty items are refused. */
export function parseList(option: string, text: string): string[] {
  const items = text.split(',');
  if (items.some((i) => i.trim() === ''))
    throw new ArgsError(`invalid list for ${option}: "${text}" has an empty item`);
  return items.map((i) => i.trim());
}
