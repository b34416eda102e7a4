// Field descriptors: what an event carries, typed so that `emit` accepts exactly the right values.
import { Codec, codecFor } from './codec';
import { enumMaps, IntTypeName, intInfo, MAX_ARRAY_LENGTH } from './types';

/**
 * One field of an event: its name and wire type (see types.ts), plus the serializer. `T` is what
 * `emit` accepts for it (a phantom type: no value of it is stored).
 */
export interface Field<T> {
  readonly name: string;
  readonly type: string;
  /** @internal */
  readonly codec: Codec;
  /** @internal Never set: carries T for type inference. */
  readonly __value?: T;
}

/** What `emit` accepts for an integer of this type: 64-bit integers take bigints or numbers. */
export type IntValue<I extends IntTypeName> = I extends 'u64' | 's64' ? bigint | number : number;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Field names are C identifiers (CTF needs them), at most 255 characters. */
export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !NAME.test(name) || name.length > 255) {
    throw new TypeError(
      `invalid ${what} name ${JSON.stringify(name)}: expected a C identifier ([A-Za-z_][A-Za-z0-9_]*, at most 255 characters)`,
    );
  }
  return name;
}

function field<T>(name: string, type: string): Field<T> {
  return { name: checkName(name, 'field'), type, codec: codecFor(type) };
}

function checkLength(length: number, what: string): number {
  if (!Number.isInteger(length) || length < 1 || length > MAX_ARRAY_LENGTH)
    throw new RangeError(`${what}: the length must be an integer from 1 to ${MAX_ARRAY_LENGTH}, not ${length}`);
  return length;
}

function checkInt(type: string, what: string): IntTypeName {
  if (!intInfo(type))
    throw new TypeError(`${what}: "${type}" is not an integer type (u8, u16, u32, u64, s8, s16, s32, s64)`);
  return type as IntTypeName;
}

export const s8 = (name: string): Field<number> => field(name, 's8');
export const s16 = (name: string): Field<number> => field(name, 's16');
export const s32 = (name: string): Field<number> => field(name, 's32');
export const s64 = (name: string): Field<bigint | number> => field(name, 's64');
export const u8 = (name: string): Field<number> => field(name, 'u8');
export const u16 = (name: string): Field<number> => field(name, 'u16');
export const u32 = (name: string): Field<number> => field(name, 'u32');
export const u64 = (name: string): Field<bigint | number> => field(name, 'u64');
/** IEEE 754 binary32. */
export const float = (name: string): Field<number> => field(name, 'float');
/** IEEE 754 binary64. */
export const double = (name: string): Field<number> => field(name, 'double');
/** A UTF-8 string, NUL-terminated: a string holding U+0000 is recorded up to it, as in C. */
export const string = (name: string): Field<string> => field(name, 'string');
/** Bytes: a u32 length, then the bytes (CTF: a sequence of u8). */
export const bytes = (name: string): Field<Uint8Array> => field(name, 'bytes');

/** Text in exactly `length` bytes (CTF char[N]): cut to fit at a character boundary, NUL-padded. */
export function chars(name: string, length: number): Field<string> {
  return field(name, `char[${checkLength(length, `field ${name}`)}]`);
}

/** A sequence of integers with a u32 length: takes an array or a typed array. */
export function sequence<const I extends IntTypeName>(name: string, element: I): Field<ArrayLike<IntValue<I>>> {
  return field(name, `seq:${checkInt(element, `sequence ${name}`)}`);
}

/** Exactly `length` integers: a shorter value is padded with zeros, a longer one cut. */
export function array<const I extends IntTypeName>(
  name: string,
  element: I,
  length: number,
): Field<ArrayLike<IntValue<I>>> {
  return field(name, `${checkInt(element, `array ${name}`)}[${checkLength(length, `array ${name}`)}]`);
}

/**
 * An integer of type `container` with labelled values: `emit` takes a label or a number. A label
 * the enumeration does not have is recorded as 0. Values must be safe integers in the container's range.
 */
export function enumeration<const M extends Readonly<Record<string, number>>>(
  name: string,
  container: IntTypeName,
  labels: M,
): Field<(keyof M & string) | number> {
  const int = intInfo(checkInt(container, `enumeration ${name}`))!;
  enumMaps(labels, int, `enumeration ${name}`);
  const json = JSON.stringify(Object.fromEntries(Object.entries(labels)));
  return field(name, `enum:${container}:${json}`);
}

/** A descriptor from a declaration ({name, type}): used for events that are not written in TypeScript. */
export function fieldFromDecl(name: string, type: string): Field<unknown> {
  return field(name, type);
}
