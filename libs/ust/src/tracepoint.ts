/**
 * Providers and tracepoints: what an app defines, and the emit path. The emit path reads the
 * event's status byte, and only when it is set serializes the arguments into each routed
 * channel's stream: no allocation per event when no filter applies, no system call ever.
 */
import { StreamWriter } from '@tstrace/ringbuffer';
import { Field } from './fields';
import { CompiledFilter, FilterScope } from './filter';

export const LogLevel = {
  EMERG: 0,
  ALERT: 1,
  CRIT: 2,
  ERR: 3,
  WARNING: 4,
  NOTICE: 5,
  INFO: 6,
  DEBUG_SYSTEM: 7,
  DEBUG_PROGRAM: 8,
  DEBUG_PROCESS: 9,
  DEBUG_MODULE: 10,
  DEBUG_UNIT: 11,
  DEBUG_FUNCTION: 12,
  DEBUG_LINE: 13,
  DEBUG: 14,
} as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** The emit arguments of a field list: one value per field, each of its field's type. */
export type FieldValues<F extends readonly Field<any>[]> = { [K in keyof F]: F[K] extends Field<infer T> ? T : never };

/** Where one enabled event goes: a channel's stream, its CTF id, its contexts and filters. */
export interface Route {
  writer: StreamWriter;
  eventId: number;
  /** Bytes of the channel's event context, and the function writing it. */
  contextSize: number;
  writeContext: (view: DataView, bytes: Uint8Array, at: number) => number;
  /** OR of the filters; empty = always. */
  filters: CompiledFilter[];
}

/** Each tracepoint keeps its status page and index, so the disabled check is one byte read. */
export class Tracepoint<F extends readonly Field<any>[]> {
  /** Status page (or a private array) and this event's byte in it. Set by the registration. */
  status: Uint8Array = new Uint8Array(1);
  index = 0;
  routes: Route[] = [];
  readonly fullName: string;
  readonly fieldIndex: ReadonlyMap<string, number>;
  /** Writes the event; typed by the field list, e.g. emit(id: bigint | number, latency: number, path: string). */
  readonly emit: (...args: FieldValues<F>) => void;

  constructor(
    readonly provider: string,
    readonly name: string,
    readonly fields: F,
    readonly loglevel: LogLevel,
  ) {
    this.fullName = `${provider}:${name}`;
    this.fieldIndex = new Map(fields.map((f, i) => [f.name, i]));
    this.emit = makeEmit(this) as (...args: FieldValues<F>) => void;
  }

  /** True when a session records this event for this app: one byte read. Guard hot calls with it. */
  get enabled(): boolean {
    return this.status[this.index] !== 0;
  }
}

/** Scope handed to filters; built only when a route has filters. */
class Scope implements FilterScope {
  constructor(
    readonly fieldIndex: ReadonlyMap<string, number>,
    readonly args: ArrayLike<unknown>,
    readonly context: (name: string) => string | number | undefined,
  ) {}
}

let contextValue: (name: string) => string | number | undefined = () => undefined;
/** Set by the registration: the values of $ctx.vpid, $ctx.vtid, $ctx.procname, ... */
export function setContextSource(source: (name: string) => string | number | undefined): void {
  contextValue = source;
}

function passes(route: Route, tp: Tracepoint<any>, args: ArrayLike<unknown>): boolean {
  const scope = new Scope(tp.fieldIndex, args, contextValue);
  for (const f of route.filters) if (f(scope)) return true;
  return false;
}

/** Writes one event into one route; sizes are computed before reserving, exactly. */
function writeRoute(route: Route, fields: readonly Field<any>[], args: ArrayLike<unknown>): void {
  let size = route.contextSize;
  for (let i = 0; i < fields.length; i++) size += fields[i].size(args[i]);
  const w = route.writer;
  const at = w.reserve(route.eventId, size);
  if (at < 0) return;
  const total = w.lastSize;
  const view = w.view;
  const bytes = w.bytes;
  let p = route.contextSize === 0 ? at : route.writeContext(view, bytes, at);
  for (let i = 0; i < fields.length; i++) p = fields[i].write(view, bytes, p, args[i]);
  w.commit(at, total);
}

/**
 * Builds the emit function of a tracepoint. Arities 0–4 get fixed-parameter closures whose
 * common case (one route, no filter) writes with no array and no allocation; larger arities
 * use a rest parameter.
 */
function makeEmit(tp: Tracepoint<any>): (...args: any[]) => void {
  const f = tp.fields as readonly Field<any>[];
  switch (f.length) {
    case 0:
      return () => {
        if (tp.status[tp.index] === 0) return;
        for (const r of tp.routes) if (r.filters.length === 0 || passes(r, tp, [])) writeRoute(r, f, []);
      };
    case 1: {
      const [f0] = f;
      return (a: unknown) => {
        if (tp.status[tp.index] === 0) return;
        const routes = tp.routes;
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.filters.length !== 0 && !passes(r, tp, [a])) continue;
          const w = r.writer;
          const at = w.reserve(r.eventId, r.contextSize + f0.size(a));
          if (at < 0) continue;
          const total = w.lastSize;
          const p = r.contextSize === 0 ? at : r.writeContext(w.view, w.bytes, at);
          f0.write(w.view, w.bytes, p, a);
          w.commit(at, total);
        }
      };
    }
    case 2: {
      const [f0, f1] = f;
      return (a: unknown, b: unknown) => {
        if (tp.status[tp.index] === 0) return;
        const routes = tp.routes;
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.filters.length !== 0 && !passes(r, tp, [a, b])) continue;
          const w = r.writer;
          const at = w.reserve(r.eventId, r.contextSize + f0.size(a) + f1.size(b));
          if (at < 0) continue;
          const total = w.lastSize;
          const view = w.view;
          const bytes = w.bytes;
          let p = r.contextSize === 0 ? at : r.writeContext(view, bytes, at);
          p = f0.write(view, bytes, p, a);
          f1.write(view, bytes, p, b);
          w.commit(at, total);
        }
      };
    }
    case 3: {
      const [f0, f1, f2] = f;
      return (a: unknown, b: unknown, c: unknown) => {
        if (tp.status[tp.index] === 0) return;
        const routes = tp.routes;
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.filters.length !== 0 && !passes(r, tp, [a, b, c])) continue;
          const w = r.writer;
          const at = w.reserve(r.eventId, r.contextSize + f0.size(a) + f1.size(b) + f2.size(c));
          if (at < 0) continue;
          const total = w.lastSize;
          const view = w.view;
          const bytes = w.bytes;
          let p = r.contextSize === 0 ? at : r.writeContext(view, bytes, at);
          p = f0.write(view, bytes, p, a);
          p = f1.write(view, bytes, p, b);
          f2.write(view, bytes, p, c);
          w.commit(at, total);
        }
      };
    }
    case 4: {
      const [f0, f1, f2, f3] = f;
      return (a: unknown, b: unknown, c: unknown, d: unknown) => {
        if (tp.status[tp.index] === 0) return;
        const routes = tp.routes;
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.filters.length !== 0 && !passes(r, tp, [a, b, c, d])) continue;
          const w = r.writer;
          const at = w.reserve(r.eventId, r.contextSize + f0.size(a) + f1.size(b) + f2.size(c) + f3.size(d));
          if (at < 0) continue;
          const total = w.lastSize;
          const view = w.view;
          const bytes = w.bytes;
          let p = r.contextSize === 0 ? at : r.writeContext(view, bytes, at);
          p = f0.write(view, bytes, p, a);
          p = f1.write(view, bytes, p, b);
          p = f2.write(view, bytes, p, c);
          f3.write(view, bytes, p, d);
          w.commit(at, total);
        }
      };
    }
    default:
      return (...args: unknown[]) => {
        if (tp.status[tp.index] === 0) return;
        for (const r of tp.routes) if (r.filters.length === 0 || passes(r, tp, args)) writeRoute(r, f, args);
      };
  }
}
