// Decoded values that plain JavaScript values cannot tell apart from others.

/** The value of an enumeration field: its integer and the labels whose ranges hold it. */
export class EnumValue {
  constructor(
    readonly value: number | bigint,
    /** Every matching label, in declaration order; empty when none matches. */
    readonly labels: readonly string[],
  ) {}

  /** The first matching label, or undefined. */
  get label(): string | undefined {
    return this.labels[0];
  }

  toJSON(): { value: number | string; label: string | null; labels?: readonly string[] } {
    const value = typeof this.value === 'bigint' ? String(this.value) : this.value;
    return this.labels.length > 1
      ? { value, label: this.labels[0], labels: this.labels }
      : { value, label: this.labels[0] ?? null };
  }
}

/** The value of a variant field: the option the tag selected and that option's value. */
export class VariantValue {
  constructor(
    /** The option's name, as readers show it (leading `_` removed). */
    readonly tag: string,
    readonly value: unknown,
  ) {}
}

/** An integer as the reader returns it: a number when it is a safe integer, else a bigint. */
export function intValue(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}
