import { tstrace } from '@tstrace/comm';

const plain = { longs: Number, enums: String, defaults: true, arrays: true, oneofs: false } as const;

/** A session as a plain JSON-ready object: every field present, enums by name, 64-bit values as numbers. */
export function sessionToJson(info: tstrace.client.SessionInfo.$Properties): Record<string, unknown> {
  return tstrace.client.SessionInfo.toObject(info as tstrace.client.SessionInfo, plain);
}

export function appToJson(app: tstrace.client.AppInfo.$Properties): Record<string, unknown> {
  return tstrace.client.AppInfo.toObject(app as tstrace.client.AppInfo, plain);
}

/** A uint64 field as a number (protobufjs decodes 64-bit integers as Long objects). */
export function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}
