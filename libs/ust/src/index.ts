/**
 * @tstrace/ust — typed tracepoints for Node.js apps, recorded into tstrace's shared-memory
 * buffers (docs/USERSPACE.md, "Tracer").
 *
 *   const app = provider('myapp');
 *   const request = app.event('request', [u64('id'), double('latency'), string('path')], LogLevel.INFO);
 *   if (request.enabled) request.emit(id, latency, path);
 *
 * The first event defined (or ready()) starts the registration with the session daemons, in
 * the background: importing the package for decodeFields alone registers nothing.
 */
import type { Field } from './fields';
import { DEFAULT_LOGLEVEL, LogLevel } from './loglevel';
import { Tracer } from './registration';
import type { EmitArgs, Tracepoint } from './tracepoint';
import { parseFormat } from './user-events';

export {
  array,
  bytes,
  chars,
  double,
  enumeration,
  float,
  s16,
  s32,
  s64,
  s8,
  sequence,
  string,
  u16,
  u32,
  u64,
  u8,
} from './fields';
export type { Field, IntValue } from './fields';
export type { IntTypeName } from './types';
export { decodeFields } from './decode';
export type { FieldLike, FieldValues } from './decode';
export { LogLevel } from './loglevel';
export type { EmitArgs, Tracepoint } from './tracepoint';
export { FormatError, parseFormat } from './user-events';

/** This thread's tracer (each worker thread that loads the package has its own). */
export const tracer = new Tracer();

export interface Provider {
  readonly name: string;
  /**
   * Defines an event `provider:name` with its fields, in order, and its log level (default
   * TRACE_DEBUG_LINE). `emit` takes one value per field, typed from the list. Defining the same
   * event again with the same fields returns the same tracepoint.
   */
  event<const F extends readonly Field<any>[]>(
    name: string,
    fields: F,
    loglevel?: LogLevel | number,
  ): Tracepoint<EmitArgs<F>>;
}

/** A provider: the first half of its events' names (`provider:event`), a C identifier. */
export function provider(name: string): Provider {
  return {
    name,
    event<const F extends readonly Field<any>[]>(
      event: string,
      fields: F,
      loglevel: number = DEFAULT_LOGLEVEL,
    ): Tracepoint<EmitArgs<F>> {
      return tracer.define<EmitArgs<F>>(name, event, fields as readonly Field<unknown>[], loglevel);
    },
  };
}

/**
 * Defines an event at run time from a Linux user_events format string, e.g.
 * `detailed char[20] msg;u32 count` (see user-events.ts for the types). The event is
 * `user_events:NAME` unless `providerName` is given. Throws a FormatError naming the column of a
 * bad format. Registered like any event (RegisterEvents when already registered).
 */
export function defineEventFromFormat(
  format: string,
  loglevel: LogLevel | number = DEFAULT_LOGLEVEL,
  providerName = 'user_events',
): Tracepoint<unknown[]> {
  const { name, fields } = parseFormat(format);
  return tracer.define<unknown[]>(providerName, name, fields, loglevel);
}

/** TSTRACE_UST_REGISTER_TIMEOUT (ms; -1 = no limit), else 3000, as LTTNG_UST_REGISTER_TIMEOUT. */
export function registerTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.TSTRACE_UST_REGISTER_TIMEOUT;
  if (text !== undefined && /^\s*-?[0-9]+\s*$/.test(text)) return Number(text) < 0 ? -1 : Number(text);
  return 3000;
}

/**
 * Resolves when this thread has registered with every session daemon that answers (and applied
 * the state each one pushed first), at once when none runs, and at the latest after `timeoutMs`
 * (default TSTRACE_UST_REGISTER_TIMEOUT, else 3000 ms; -1: no limit). Never rejects.
 */
export function ready(timeoutMs: number = registerTimeoutMs()): Promise<void> {
  return tracer.ready(timeoutMs);
}
