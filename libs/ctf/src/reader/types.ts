// The trace class a TSDL text describes: field types (CTF 1.8 §4), clocks, stream and event classes.

/** `native` is the trace's byte order, known once the `trace` block is read. */
export type ByteOrder = 'le' | 'be' | 'native';

export interface IntegerType {
  readonly kind: 'integer';
  /** Bits, 1..64. */
  readonly size: number;
  /** Bits. */
  readonly align: number;
  readonly signed: boolean;
  readonly byteOrder: ByteOrder;
  /** Display base. */
  readonly base: 2 | 8 | 10 | 16;
  /** `utf8` (or ASCII): arrays and sequences of 8-bit bytes with it are text. */
  readonly encoding: 'none' | 'utf8';
  /** Name of the clock this integer's value updates (`map = clock.NAME.value`). */
  readonly map?: string;
}

export interface FloatType {
  readonly kind: 'float';
  readonly expDig: number;
  readonly mantDig: number;
  readonly align: number;
  readonly byteOrder: ByteOrder;
}

export interface StringType {
  readonly kind: 'string';
}

export interface EnumMapping {
  readonly label: string;
  /** Inclusive ranges. */
  readonly ranges: readonly (readonly [bigint, bigint])[];
}

export interface EnumType {
  readonly kind: 'enum';
  readonly container: IntegerType;
  readonly mappings: readonly EnumMapping[];
}

export interface NamedType {
  /** The name as declared (LTTng's leading `_` included). */
  readonly name: string;
  readonly type: CtfType;
}

export interface StructType {
  readonly kind: 'struct';
  readonly members: readonly NamedType[];
  /** `align(N)` after the body, in bits (1 when absent). */
  readonly minAlign: number;
}

export interface VariantType {
  readonly kind: 'variant';
  /** Path of the tag (an enumeration field), as written; absent in a typedef'd variant. */
  readonly tag?: string;
  readonly options: readonly NamedType[];
}

export interface ArrayType {
  readonly kind: 'array';
  readonly length: number;
  readonly elem: CtfType;
}

export interface SequenceType {
  readonly kind: 'sequence';
  /** Path of the length field, as written. */
  readonly length: string;
  readonly elem: CtfType;
}

export type CtfType =
  IntegerType | FloatType | StringType | EnumType | StructType | VariantType | ArrayType | SequenceType;

export interface ClockClass {
  readonly name: string;
  readonly uuid?: string;
  readonly description?: string;
  /** Hz. */
  readonly freq: bigint;
  readonly precision: bigint;
  readonly offsetS: bigint;
  /** Cycles, added to offsetS. */
  readonly offset: bigint;
  readonly absolute: boolean;
}

export interface EventClass {
  readonly id: number;
  readonly name: string;
  readonly streamId: number;
  readonly loglevel?: number;
  readonly emfUri?: string;
  readonly context?: StructType;
  readonly fields?: StructType;
}

export interface StreamClass {
  readonly id: number;
  readonly packetContext?: StructType;
  readonly eventHeader?: StructType;
  readonly eventContext?: StructType;
  readonly events: Map<number, EventClass>;
}

export interface TraceClass {
  readonly major?: number;
  readonly minor?: number;
  readonly uuid?: string;
  readonly byteOrder: 'le' | 'be';
  readonly packetHeader?: StructType;
  readonly env: Record<string, string | number>;
  readonly clocks: Map<string, ClockClass>;
  readonly streams: Map<number, StreamClass>;
}

/** A member's name as readers show it: LTTng's leading `_` removed (babeltrace2 does the same). */
export function fieldKey(name: string): string {
  return name.startsWith('_') ? name.slice(1) : name;
}

/** Alignment in bits of a value of this type. */
export function alignOf(t: CtfType): number {
  switch (t.kind) {
    case 'integer':
    case 'float':
      return t.align;
    case 'string':
      return 8;
    case 'enum':
      return t.container.align;
    case 'struct':
      return t.members.reduce((a, m) => Math.max(a, alignOf(m.type)), t.minAlign);
    case 'variant':
      return 1;
    case 'array':
    case 'sequence':
      return alignOf(t.elem);
  }
}

/** An array or sequence of byte-aligned 8-bit integers with an encoding: text, as babeltrace2 reads it. */
export function isText(t: ArrayType | SequenceType): boolean {
  const e = t.elem.kind === 'enum' ? t.elem.container : t.elem;
  return e.kind === 'integer' && e.size === 8 && e.align === 8 && e.encoding === 'utf8';
}
