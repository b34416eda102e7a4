/**
 * Tracepoints: what an app defines, and the emit path. `enabled` is one byte read from the
 * status page. `emit` serializes its arguments straight into each routed channel's stream
 * (size computed exactly first, then reserve, write in place, commit): no allocation, no
 * system call, no rest parameter up to 8 fields.
 */
import type { StreamWriter } from '@tstrace/ringbuffer';
import { Codec, scratch } from './codec';
import type { Field } from './fields';

/** A compiled filter (or the OR of several): true = record. Never throws. */
export type CompiledFilter = (args: readonly unknown[]) => boolean;

/**
 * Where one event goes for one daemon: a channel's stream, the CTF event id, the channel's event
 * context (constant for a thread, so kept as bytes), the filters. All routes have this one shape.
 */
export class Route {
  constructor(
    /** The status page of the daemon that asked for this route, and the event's byte in it. */
    public status: Uint8Array,
    public slot: number,
    readonly writer: StreamWriter,
    readonly id: number,
    readonly context: Uint8Array,
    readonly contextSize: number,
    readonly filter: CompiledFilter | null,
  ) {}
}

/** Status of an event no daemon knows: a private page of zeros (never written). */
export const NO_STATUS = new Uint8Array(new ArrayBuffer(4096));
const NO_ROUTES: Route[] = [];
const NO_ARGS: readonly unknown[] = [];

/** The emit arguments of a field list: one value per field, of that field's type. */
export type EmitArgs<F extends readonly Field<any>[]> = { -readonly [K in keyof F]: F[K] extends Field<infer T> ? T : never };

/**
 * One event of the app (LTTng's tracepoint). The hot-path idiom is
 * `if (tp.enabled) tp.emit(...)`: when the event is disabled that costs one byte read and a
 * branch, and the arguments are not even computed.
 */
export class Tracepoint<A extends unknown[] = unknown[]> {
  /** @internal The status page this event reads (the daemon's, or a private one) and its byte. */
  status: Uint8Array = NO_STATUS;
  /** @internal */
  slot = 0;
  /** @internal Where to write, one route per (daemon, channel) that records the event. */
  routes: Route[] = NO_ROUTES;
  /** @internal Some route has a filter: emit keeps its arguments in `args` for it. */
  filtered = false;
  /** @internal Position of the event in this thread's registration order (its status byte). */
  index = -1;
  /** @internal Scratch for filters: the arguments of the emit under way. */
  readonly args: unknown[];
  /** @internal */
  readonly codecs: readonly Codec[];
  /** @internal Bytes of the fixed-size fields together. */
  readonly fixedSize: number;

  constructor(
    readonly provider: string,
    readonly name: string,
    readonly fields: readonly Field<unknown>[],
    readonly loglevel: number,
  ) {
    this.codecs = fields.map((f) => f.codec);
    this.fixedSize = this.codecs.reduce((s, c) => s + c.fixed, 0);
    this.args = new Array<unknown>(fields.length).fill(undefined);
    (this as { emit: unknown }).emit = makeEmit(this);
  }

  /** `provider:name`, as sessions select it. */
  get fullName(): string {
    return `${this.provider}:${this.name}`;
  }

  /** True when some session records this event for this thread. One byte read: test it before computing arguments. */
  get enabled(): boolean {
    return this.status[this.slot] !== 0;
  }
}

export interface Tracepoint<A extends unknown[]> {
  /**
   * Records the event with one value per field, in order (typed by the field list). Does
   * nothing when disabled; never throws; an event that finds its buffer full is dropped and
   * counted in the buffer.
   */
  emit(...args: A): void;
}

function copyContext(bytes: Uint8Array, o: number, context: Uint8Array): number {
  const n = context.length;
  for (let i = 0; i < n; i++) bytes[o + i] = context[i];
  return o + n;
}

/**
 * Builds the emit function of a tracepoint: one fixed-arity closure per field count up to 8
 * (the eight cases are the same code, unrolled; keep them identical), a rest parameter beyond.
 */
function makeEmit(tp: Tracepoint<any>): (...args: any[]) => void {
  const c = tp.codecs;
  const fixed = tp.fixedSize;
  switch (c.length) {
    case 0: {
      return function emit(): void {
        if (tp.status[tp.slot] === 0) return;
        const routes = tp.routes;
        scratch.top = 0;
        const size = fixed;
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.status[r.slot] === 0 || (r.filter !== null && !r.filter(NO_ARGS))) continue;
          const w = r.writer;
          const p = w.reserve(r.id, r.contextSize + size);
          if (p < 0) continue;
          w.commit(p, w.lastSize);
        }
      };
    }
    case 1: {
      const z0 = c[0].size, w0 = c[0].write;
      return function emit(a0: unknown): void {
        if (tp.status[tp.slot] === 0) return;
        const routes = tp.routes;
        const args = tp.args;
        if (tp.filtered) {
          args[0] = a0;
        }
        scratch.top = 0;
        const size = fixed + z0(a0);
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.status[r.slot] === 0 || (r.filter !== null && !r.filter(args))) continue;
          const w = r.writer;
          const p = w.reserve(r.id, r.contextSize + size);
          if (p < 0) continue;
          scratch.next = 0;
          const view = w.view;
          const bytes = w.bytes;
          const o = r.contextSize === 0 ? p : copyContext(bytes, p, r.context);
          w0(view, bytes, o, a0);
          w.commit(p, w.lastSize);
        }
        if (tp.filtered) {
          args[0] = undefined;
        }
      };
    }
    case 2: {
      const z0 = c[0].size, w0 = c[0].write;
      const z1 = c[1].size, w1 = c[1].write;
      return function emit(a0: unknown, a1: unknown): void {
        if (tp.status[tp.slot] === 0) return;
        const routes = tp.routes;
        const args = tp.args;
        if (tp.filtered) {
          args[0] = a0; args[1] = a1;
        }
        scratch.top = 0;
        const size = fixed + z0(a0) + z1(a1);
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.status[r.slot] === 0 || (r.filter !== null && !r.filter(args))) continue;
          const w = r.writer;
          const p = w.reserve(r.id, r.contextSize + size);
          if (p < 0) continue;
          scratch.next = 0;
          const view = w.view;
          const bytes = w.bytes;
          let o = r.contextSize === 0 ? p : copyContext(bytes, p, r.context);
          o = w0(view, bytes, o, a0);
          w1(view, bytes, o, a1);
          w.commit(p, w.lastSize);
        }
        if (tp.filtered) {
          args[0] = undefined; args[1] = undefined;
        }
      };
    }
    case 3: {
      const z0 = c[0].size, w0 = c[0].write;
      const z1 = c[1].size, w1 = c[1].write;
      const z2 = c[2].size, w2 = c[2].write;
      return function emit(a0: unknown, a1: unknown, a2: unknown): void {
        if (tp.status[tp.slot] === 0) return;
        const routes = tp.routes;
        const args = tp.args;
        if (tp.filtered) {
          args[0] = a0; args[1] = a1; args[2] = a2;
        }
        scratch.top = 0;
        const size = fixed + z0(a0) + z1(a1) + z2(a2);
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.status[r.slot] === 0 || (r.filter !== null && !r.filter(args))) continue;
          const w = r.writer;
          const p = w.reserve(r.id, r.contextSize + size);
          if (p < 0) continue;
          scratch.next = 0;
          const view = w.view;
          const bytes = w.bytes;
          let o = r.contextSize === 0 ? p : copyContext(bytes, p, r.context);
          o = w0(view, bytes, o, a0);
          o = w1(view, bytes, o, a1);
          w2(view, bytes, o, a2);
          w.commit(p, w.lastSize);
        }
        if (tp.filtered) {
          args[0] = undefined; args[1] = undefined; args[2] = undefined;
        }
      };
    }
    case 4: {
      const z0 = c[0].size, w0 = c[0].write;
      const z1 = c[1].size, w1 = c[1].write;
      const z2 = c[2].size, w2 = c[2].write;
      const z3 = c[3].size, w3 = c[3].write;
      return function emit(a0: unknown, a1: unknown, a2: unknown, a3: unknown): void {
        if (tp.status[tp.slot] === 0) return;
        const routes = tp.routes;
        const args = tp.args;
        if (tp.filtered) {
          args[0] = a0; args[1] = a1; args[2] = a2; args[3] = a3;
        }
        scratch.top = 0;
        const size = fixed + z0(a0) + z1(a1) + z2(a2) + z3(a3);
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.status[r.slot] === 0 || (r.filter !== null && !r.filter(args))) continue;
          const w = r.writer;
          const p = w.reserve(r.id, r.contextSize + size);
          if (p < 0) continue;
          scratch.next = 0;
          const view = w.view;
          const bytes = w.bytes;
          let o = r.contextSize === 0 ? p : copyContext(bytes, p, r.context);
          o = w0(view, bytes, o, a0);
          o = w1(view, bytes, o, a1);
          o = w2(view, bytes, o, a2);
          w3(view, bytes, o, a3);
          w.commit(p, w.lastSize);
        }
        if (tp.filtered) {
          args[0] = undefined; args[1] = undefined; args[2] = undefined; args[3] = undefined;
        }
      };
    }
    case 5: {
      const z0 = c[0].size, w0 = c[0].write;
      const z1 = c[1].size, w1 = c[1].write;
      const z2 = c[2].size, w2 = c[2].write;
      const z3 = c[3].size, w3 = c[3].write;
      const z4 = c[4].size, w4 = c[4].write;
      return function emit(a0: unknown, a1: unknown, a2: unknown, a3: unknown, a4: unknown): void {
        if (tp.status[tp.slot] === 0) return;
        const routes = tp.routes;
        const args = tp.args;
        if (tp.filtered) {
          args[0] = a0; args[1] = a1; args[2] = a2; args[3] = a3; args[4] = a4;
        }
        scratch.top = 0;
        const size = fixed + z0(a0) + z1(a1) + z2(a2) + z3(a3) + z4(a4);
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.status[r.slot] === 0 || (r.filter !== null && !r.filter(args))) continue;
          const w = r.writer;
          const p = w.reserve(r.id, r.contextSize + size);
          if (p < 0) continue;
          scratch.next = 0;
          const view = w.view;
          const bytes = w.bytes;
          let o = r.contextSize === 0 ? p : copyContext(bytes, p, r.context);
          o = w0(view, bytes, o, a0);
          o = w1(view, bytes, o, a1);
          o = w2(view, bytes, o, a2);
          o = w3(view, bytes, o, a3);
          w4(view, bytes, o, a4);
          w.commit(p, w.lastSize);
        }
        if (tp.filtered) {
          args[0] = undefined; args[1] = undefined; args[2] = undefined; args[3] = undefined; args[4] = undefined;
        }
      };
    }
    case 6: {
      const z0 = c[0].size, w0 = c[0].write;
      const z1 = c[1].size, w1 = c[1].write;
      const z2 = c[2].size, w2 = c[2].write;
      const z3 = c[3].size, w3 = c[3].write;
      const z4 = c[4].size, w4 = c[4].write;
      const z5 = c[5].size, w5 = c[5].write;
      return function emit(a0: unknown, a1: unknown, a2: unknown, a3: unknown, a4: unknown, a5: unknown): void {
        if (tp.status[tp.slot] === 0) return;
        const routes = tp.routes;
        const args = tp.args;
        if (tp.filtered) {
          args[0] = a0; args[1] = a1; args[2] = a2; args[3] = a3; args[4] = a4; args[5] = a5;
        }
        scratch.top = 0;
        const size = fixed + z0(a0) + z1(a1) + z2(a2) + z3(a3) + z4(a4) + z5(a5);
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.status[r.slot] === 0 || (r.filter !== null && !r.filter(args))) continue;
          const w = r.writer;
          const p = w.reserve(r.id, r.contextSize + size);
          if (p < 0) continue;
          scratch.next = 0;
          const view = w.view;
          const bytes = w.bytes;
          let o = r.contextSize === 0 ? p : copyContext(bytes, p, r.context);
          o = w0(view, bytes, o, a0);
          o = w1(view, bytes, o, a1);
          o = w2(view, bytes, o, a2);
          o = w3(view, bytes, o, a3);
          o = w4(view, bytes, o, a4);
          w5(view, bytes, o, a5);
          w.commit(p, w.lastSize);
        }
        if (tp.filtered) {
          args[0] = undefined; args[1] = undefined; args[2] = undefined; args[3] = undefined; args[4] = undefined; args[5] = undefined;
        }
      };
    }
    case 7: {
      const z0 = c[0].size, w0 = c[0].write;
      const z1 = c[1].size, w1 = c[1].write;
      const z2 = c[2].size, w2 = c[2].write;
      const z3 = c[3].size, w3 = c[3].write;
      const z4 = c[4].size, w4 = c[4].write;
      const z5 = c[5].size, w5 = c[5].write;
      const z6 = c[6].size, w6 = c[6].write;
      return function emit(a0: unknown, a1: unknown, a2: unknown, a3: unknown, a4: unknown, a5: unknown, a6: unknown): void {
        if (tp.status[tp.slot] === 0) return;
        const routes = tp.routes;
        const args = tp.args;
        if (tp.filtered) {
          args[0] = a0; args[1] = a1; args[2] = a2; args[3] = a3; args[4] = a4; args[5] = a5; args[6] = a6;
        }
        scratch.top = 0;
        const size = fixed + z0(a0) + z1(a1) + z2(a2) + z3(a3) + z4(a4) + z5(a5) + z6(a6);
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.status[r.slot] === 0 || (r.filter !== null && !r.filter(args))) continue;
          const w = r.writer;
          const p = w.reserve(r.id, r.contextSize + size);
          if (p < 0) continue;
          scratch.next = 0;
          const view = w.view;
          const bytes = w.bytes;
          let o = r.contextSize === 0 ? p : copyContext(bytes, p, r.context);
          o = w0(view, bytes, o, a0);
          o = w1(view, bytes, o, a1);
          o = w2(view, bytes, o, a2);
          o = w3(view, bytes, o, a3);
          o = w4(view, bytes, o, a4);
          o = w5(view, bytes, o, a5);
          w6(view, bytes, o, a6);
          w.commit(p, w.lastSize);
        }
        if (tp.filtered) {
          args[0] = undefined; args[1] = undefined; args[2] = undefined; args[3] = undefined; args[4] = undefined; args[5] = undefined; args[6] = undefined;
        }
      };
    }
    case 8: {
      const z0 = c[0].size, w0 = c[0].write;
      const z1 = c[1].size, w1 = c[1].write;
      const z2 = c[2].size, w2 = c[2].write;
      const z3 = c[3].size, w3 = c[3].write;
      const z4 = c[4].size, w4 = c[4].write;
      const z5 = c[5].size, w5 = c[5].write;
      const z6 = c[6].size, w6 = c[6].write;
      const z7 = c[7].size, w7 = c[7].write;
      return function emit(a0: unknown, a1: unknown, a2: unknown, a3: unknown, a4: unknown, a5: unknown, a6: unknown, a7: unknown): void {
        if (tp.status[tp.slot] === 0) return;
        const routes = tp.routes;
        const args = tp.args;
        if (tp.filtered) {
          args[0] = a0; args[1] = a1; args[2] = a2; args[3] = a3; args[4] = a4; args[5] = a5; args[6] = a6; args[7] = a7;
        }
        scratch.top = 0;
        const size = fixed + z0(a0) + z1(a1) + z2(a2) + z3(a3) + z4(a4) + z5(a5) + z6(a6) + z7(a7);
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.status[r.slot] === 0 || (r.filter !== null && !r.filter(args))) continue;
          const w = r.writer;
          const p = w.reserve(r.id, r.contextSize + size);
          if (p < 0) continue;
          scratch.next = 0;
          const view = w.view;
          const bytes = w.bytes;
          let o = r.contextSize === 0 ? p : copyContext(bytes, p, r.context);
          o = w0(view, bytes, o, a0);
          o = w1(view, bytes, o, a1);
          o = w2(view, bytes, o, a2);
          o = w3(view, bytes, o, a3);
          o = w4(view, bytes, o, a4);
          o = w5(view, bytes, o, a5);
          o = w6(view, bytes, o, a6);
          w7(view, bytes, o, a7);
          w.commit(p, w.lastSize);
        }
        if (tp.filtered) {
          args[0] = undefined; args[1] = undefined; args[2] = undefined; args[3] = undefined; args[4] = undefined; args[5] = undefined; args[6] = undefined; args[7] = undefined;
        }
      };
    }
    default:
      return function emit(...a: unknown[]): void {
        if (tp.status[tp.slot] === 0) return;
        const routes = tp.routes;
        scratch.top = 0;
        let size = fixed;
        for (let j = 0; j < c.length; j++) size += c[j].size(a[j]);
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i];
          if (r.status[r.slot] === 0 || (r.filter !== null && !r.filter(a))) continue;
          const w = r.writer;
          const p = w.reserve(r.id, r.contextSize + size);
          if (p < 0) continue;
          scratch.next = 0;
          const view = w.view;
          const bytes = w.bytes;
          let o = r.contextSize === 0 ? p : copyContext(bytes, p, r.context);
          for (let j = 0; j < c.length; j++) o = c[j].write(view, bytes, o, a[j]);
          w.commit(p, w.lastSize);
        }
      };
  }
}
