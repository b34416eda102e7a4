/**
 * @tstrace/ust — typed tracepoints for Node.js apps, written into tstrace's shared-memory
 * buffers. Loading it starts the registration with the session daemons in the background.
 *
 *   const app = provider('myapp');
 *   const request = app.event('request', [u64('id'), double('latency'), string('path')], LogLevel.INFO);
 *   if (request.enabled) request.emit(id, latency, path);
 */
import { Field } from './fields';
import { tracer } from './registration';
import { LogLevel, Tracepoint } from './tracepoint';
import { parseFormat } from './user-events';

export { bytes, chars, decodeFields, double, enumeration, float, intArray, s16, s32, s64, s8, sequence, string, u16, u32, u64, u8 } from './fields';
export type { Field, FieldDecl, IntType } from './fields';
export { compileFilter } from './filter';
export { LogLevel, Tracepoint } from './tracepoint';
export type { FieldValues } from './tracepoint';
export { FormatError, parseFormat } from './user-events';

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** LTTng's default log level for a tracepoint without one. */
const DEFAULT_LOGLEVEL = LogLevel.DEBUG_LINE;

export interface Provider {
  readonly name: string;
  event<const F extends readonly Field<any>[]>(name: string, fields: F, loglevel?: LogLevel): Tracepoint<F>;
}

/** A provider: the first half of its events' names (`provider:event`). */
export function provider(name: string): Provider {
  if (!NAME.test(name)) throw new TypeError(`bad provider name ${JSON.stringify(name)}: letters, digits, _ . -`);
  return {
    name,
    event<const F extends readonly Field<any>[]>(event: string, fields: F, loglevel: LogLevel = DEFAULT_LOGLEVEL): Tracepoint<F> {
      if (!NAME.test(event)) throw new TypeError(`bad event name ${JSON.stringify(event)}: letters, digits, _ . -`);
      if (!Number.isInteger(loglevel) || loglevel < 0 || loglevel > 14) throw new RangeError(`log level ${loglevel} is not one of LTTng's 0..14`);
      const names = new Set<string>();
      for (const f of fields) {
        if (names.has(f.name)) throw new TypeError(`event ${name}:${event}: field "${f.name}" is defined twice`);
        names.add(f.name);
      }
      const tp = new Tracepoint(name, event, fields, loglevel);
      tracer.add(tp);
      return tp;
    },
  };
}

/** Defines an event at run time from a user_events format string, e.g. `detailed char[20] msg;u32 count`. */
export function defineEventFromFormat(format: string, loglevel: LogLevel = DEFAULT_LOGLEVEL): Tracepoint<Field<any>[]> {
  const parsed = parseFormat(format);
  return provider(parsed.provider).event(parsed.name, parsed.fields, loglevel) as Tracepoint<Field<any>[]>;
}

/**
 * Resolves once the tracer has tried every session daemon (registered, or found none), or after
 * `timeoutMs` (default $TSTRACE_UST_REGISTER_TIMEOUT, else 3000). Never rejects.
 */
export function ready(timeoutMs?: number): Promise<void> {
  const env = Number(process.env.TSTRACE_UST_REGISTER_TIMEOUT);
  return tracer.ready(timeoutMs ?? (Number.isFinite(env) && env >= 0 ? env : 3000));
}

tracer.start();
