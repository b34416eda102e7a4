/**
 * Tracepoints: what an app defines, and the emit path. `enabled` is one byte read from the
 * status page. `emit` serializes its arguments straight into each routed channel's stream
 * (size computed exactly first, then reserve, write in place, commit): no allocation, no
 * system call, no rest parameter up to 8 fields.
 */
import type { StreamWriter } from '@tstrace/ringbuffer';
import { Codec, Cursor, scratch, Sizer, Writer } from './codec';
import type { Field } from './fields';

/**
 * A status page as the tracer reads it: one byte per event, non-zero = enabled. An Int8Array,
 * not a Uint8Array: Node makes a Buffer by changing a Uint8Array's prototype (from C++ too;
 * making one of libs/native's mappings is enough), which leaves V8's Uint8Array map with a
 * transition, and V8 then checks the map of a Uint8Array field on every read: +0.3 ns on each
 * `enabled` (1.56 → 1.87 ns per loop iteration, measured). Int8Array's map stays stable.
 */
export type StatusBytes = Int8Array;

/** A compiled filter (or the OR of several): true = record. Never throws. */
export type CompiledFilter = (args: readonly unknown[]) => boolean;

/**
 * Where one event goes for one daemon: a channel's stream, the CTF event id, the channel's event
 * context (constant for a thread, so kept as bytes), the filters. All routes have this one shape.
 */
export class Route {
  constructor(
    /** The status page of the daemon that asked for this route, and the event's byte in it. */
    public status: StatusBytes,
    public slot: number,
    readonly writer: StreamWriter,
    readonly id: number,
    readonly context: Uint8Array,
    readonly contextSize: number,
    readonly filter: CompiledFilter | null,
  ) {}
}

/** Status of an event no daemon knows: a private page of zeros (never written). */
export const NO_STATUS: StatusBytes = new Int8Array(new ArrayBuffer(4096));
const NO_ROUTES: Route[] = [];
const NO_ARGS: unknown[] = [];

/** The emit arguments of a field list: one value per field, of that field's type. */
export type EmitArgs<F extends readonly Field<any>[]> = {
  -readonly [K in keyof F]: F[K] extends Field<infer T> ? T : never;
};

/**
 * One event of the app (LTTng's tracepoint). The hot-path idiom is
 * `if (tp.enabled) tp.emit(...)`: when the event is disabled that costs one byte read and a
 * branch, and the arguments are not even computed.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-unused-vars -- A types emit, below
export class Tracepoint<A extends unknown[] = unknown[]> {
  /** @internal The status page this event reads (the daemon's, or a private one) and its byte. */
  status: StatusBytes = NO_STATUS;
  /** @internal */
  slot = 0;
  /** @internal Where to write, one route per (daemon, channel) that records the event (see setRoutes). */
  routes: Route[] = NO_ROUTES;
  /** @internal emit's fast path: the only route, when it has no filter and no context; else null. */
  only: Route | null = null;
  /** @internal Position of the event in this thread's registration order (its status byte). */
  index = -1;
  /** @internal The arguments of the emit under way, for filters and the routes loop (cleared after). */
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

  /** @internal Points the event at its routes, and picks emit's fast path when one route alone needs no filter and no context. */
  setRoutes(routes: Route[]): void {
    this.routes = routes;
    this.only = routes.length === 1 && routes[0].filter === null && routes[0].contextSize === 0 ? routes[0] : null;
  }
}

// emit is installed on each instance by the factory of its arity; this interface gives it its type.
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
 * The general case of emit, shared by all arities: several routes, filters, contexts (or no
 * route). Each route whose daemon byte is set and whose filter passes gets the event, context
 * first; the fields are sized once, for the first such route (filters read the arguments, not
 * the sizes). `args` holds the arguments (the tracepoint's `args` scratch, or a rest array); it
 * is cleared before returning, so that emit keeps nothing alive.
 */
function emitArgs(tp: Tracepoint<any>, args: unknown[]): void {
  const codecs = tp.codecs;
  const n = codecs.length;
  const routes = tp.routes;
  let size = -1;
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    if (r.status[r.slot] === 0 || (r.filter !== null && !r.filter(args))) continue;
    if (size < 0) {
      scratch.top = 0;
      size = tp.fixedSize;
      for (let j = 0; j < n; j++) {
        const c = codecs[j];
        if (c.variable) size += c.size(args[j]);
      }
    }
    const w = r.writer;
    const p = w.reserve(r.id, r.contextSize + size);
    if (p < 0) continue;
    scratch.next = 0;
    const view = w.view;
    const bytes = w.bytes;
    let o = r.contextSize === 0 ? p : copyContext(bytes, p, r.context);
    for (let j = 0; j < n; j++) o = codecs[j].write(view, bytes, o, args[j]);
    w.commit(p, w.lastSize);
  }
  for (let j = 0; j < n; j++) args[j] = undefined;
}

/** An emit function: one argument per field. */
type Emit = (...args: any[]) => void;

/**
 * Builds the emit function of a tracepoint: one fixed-arity closure per field count up to 8
 * (emit0..emit8 below are the same code, unrolled; keep them identical), a rest parameter
 * beyond. The fast path is an event with one plain route (`only`: no filter, no context): check
 * that route's daemon byte, size the fields once (fixed-size fields are not called at all),
 * reserve, write the fields in order, commit. Anything else goes to emitArgs. The pieces reach
 * emit as parameters of its factory rather than as constants of a scope: V8 checks a `const`
 * read from an inner function for its temporal dead zone on every use, and both the checks and
 * the bytecode they take count, since V8 inlines the reservation and the field codecs into emit
 * only within a budget of bytecode bytes.
 */
function makeEmit(tp: Tracepoint<any>): Emit {
  const c = tp.codecs;
  // null for fixed-size fields: their size is in `fixed` already.
  const z: (Sizer | null)[] = c.map((x) => (x.variable ? x.size : null));
  const w: Writer[] = c.map((x) => x.write);
  const f = tp.fixedSize;
  switch (c.length) {
    case 0:
      return emit0(tp, scratch, f);
    case 1:
      return emit1(tp, scratch, f, z[0], w[0]);
    case 2:
      return emit2(tp, scratch, f, z[0], w[0], z[1], w[1]);
    case 3:
      return emit3(tp, scratch, f, z[0], w[0], z[1], w[1], z[2], w[2]);
    case 4:
      return emit4(tp, scratch, f, z[0], w[0], z[1], w[1], z[2], w[2], z[3], w[3]);
    case 5:
      return emit5(tp, scratch, f, z[0], w[0], z[1], w[1], z[2], w[2], z[3], w[3], z[4], w[4]);
    case 6:
      return emit6(tp, scratch, f, z[0], w[0], z[1], w[1], z[2], w[2], z[3], w[3], z[4], w[4], z[5], w[5]);
    case 7:
      return emit7(tp, scratch, f, z[0], w[0], z[1], w[1], z[2], w[2], z[3], w[3], z[4], w[4], z[5], w[5], z[6], w[6]);
    case 8:
      return emit8(
        tp,
        scratch,
        f,
        z[0],
        w[0],
        z[1],
        w[1],
        z[2],
        w[2],
        z[3],
        w[3],
        z[4],
        w[4],
        z[5],
        w[5],
        z[6],
        w[6],
        z[7],
        w[7],
      );
    default:
      return function emit(...a: unknown[]): void {
        emitArgs(tp, a);
      };
  }
}

function emit0(tp: Tracepoint<any>, _cursor: Cursor, fixed: number): Emit {
  return function emit(): void {
    const r = tp.only;
    if (r === null) {
      emitArgs(tp, NO_ARGS);
      return;
    }
    if (r.status[r.slot] === 0) return;
    const size = fixed;
    const w = r.writer;
    const p = w.reserve(r.id, size);
    if (p < 0) return;
    w.commit(p, w.lastSize);
  };
}

function emit1(tp: Tracepoint<any>, cursor: Cursor, fixed: number, z0: Sizer | null, w0: Writer): Emit {
  return function emit(a0: unknown): void {
    const r = tp.only;
    if (r === null) {
      const args = tp.args;
      args[0] = a0;
      emitArgs(tp, args);
      return;
    }
    if (r.status[r.slot] === 0) return;
    cursor.top = 0;
    const size = fixed + (z0 === null ? 0 : z0(a0));
    const w = r.writer;
    const p = w.reserve(r.id, size);
    if (p < 0) return;
    cursor.next = 0;
    const view = w.view;
    const bytes = w.bytes;
    w0(view, bytes, p, a0);
    w.commit(p, w.lastSize);
  };
}

function emit2(
  tp: Tracepoint<any>,
  cursor: Cursor,
  fixed: number,
  z0: Sizer | null,
  w0: Writer,
  z1: Sizer | null,
  w1: Writer,
): Emit {
  return function emit(a0: unknown, a1: unknown): void {
    const r = tp.only;
    if (r === null) {
      const args = tp.args;
      args[0] = a0;
      args[1] = a1;
      emitArgs(tp, args);
      return;
    }
    if (r.status[r.slot] === 0) return;
    cursor.top = 0;
    const size = fixed + (z0 === null ? 0 : z0(a0)) + (z1 === null ? 0 : z1(a1));
    const w = r.writer;
    const p = w.reserve(r.id, size);
    if (p < 0) return;
    cursor.next = 0;
    const view = w.view;
    const bytes = w.bytes;
    const o = w0(view, bytes, p, a0);
    w1(view, bytes, o, a1);
    w.commit(p, w.lastSize);
  };
}

function emit3(
  tp: Tracepoint<any>,
  cursor: Cursor,
  fixed: number,
  z0: Sizer | null,
  w0: Writer,
  z1: Sizer | null,
  w1: Writer,
  z2: Sizer | null,
  w2: Writer,
): Emit {
  return function emit(a0: unknown, a1: unknown, a2: unknown): void {
    const r = tp.only;
    if (r === null) {
      const args = tp.args;
      args[0] = a0;
      args[1] = a1;
      args[2] = a2;
      emitArgs(tp, args);
      return;
    }
    if (r.status[r.slot] === 0) return;
    cursor.top = 0;
    const size = fixed + (z0 === null ? 0 : z0(a0)) + (z1 === null ? 0 : z1(a1)) + (z2 === null ? 0 : z2(a2));
    const w = r.writer;
    const p = w.reserve(r.id, size);
    if (p < 0) return;
    cursor.next = 0;
    const view = w.view;
    const bytes = w.bytes;
    let o = w0(view, bytes, p, a0);
    o = w1(view, bytes, o, a1);
    w2(view, bytes, o, a2);
    w.commit(p, w.lastSize);
  };
}

function emit4(
  tp: Tracepoint<any>,
  cursor: Cursor,
  fixed: number,
  z0: Sizer | null,
  w0: Writer,
  z1: Sizer | null,
  w1: Writer,
  z2: Sizer | null,
  w2: Writer,
  z3: Sizer | null,
  w3: Writer,
): Emit {
  return function emit(a0: unknown, a1: unknown, a2: unknown, a3: unknown): void {
    const r = tp.only;
    if (r === null) {
      const args = tp.args;
      args[0] = a0;
      args[1] = a1;
      args[2] = a2;
      args[3] = a3;
      emitArgs(tp, args);
      return;
    }
    if (r.status[r.slot] === 0) return;
    cursor.top = 0;
    const size =
      fixed +
      (z0 === null ? 0 : z0(a0)) +
      (z1 === null ? 0 : z1(a1)) +
      (z2 === null ? 0 : z2(a2)) +
      (z3 === null ? 0 : z3(a3));
    const w = r.writer;
    const p = w.reserve(r.id, size);
    if (p < 0) return;
    cursor.next = 0;
    const view = w.view;
    const bytes = w.bytes;
    let o = w0(view, bytes, p, a0);
    o = w1(view, bytes, o, a1);
    o = w2(view, bytes, o, a2);
    w3(view, bytes, o, a3);
    w.commit(p, w.lastSize);
  };
}

function emit5(
  tp: Tracepoint<any>,
  cursor: Cursor,
  fixed: number,
  z0: Sizer | null,
  w0: Writer,
  z1: Sizer | null,
  w1: Writer,
  z2: Sizer | null,
  w2: Writer,
  z3: Sizer | null,
  w3: Writer,
  z4: Sizer | null,
  w4: Writer,
): Emit {
  return function emit(a0: unknown, a1: unknown, a2: unknown, a3: unknown, a4: unknown): void {
    const r = tp.only;
    if (r === null) {
      const args = tp.args;
      args[0] = a0;
      args[1] = a1;
      args[2] = a2;
      args[3] = a3;
      args[4] = a4;
      emitArgs(tp, args);
      return;
    }
    if (r.status[r.slot] === 0) return;
    cursor.top = 0;
    const size =
      fixed +
      (z0 === null ? 0 : z0(a0)) +
      (z1 === null ? 0 : z1(a1)) +
      (z2 === null ? 0 : z2(a2)) +
      (z3 === null ? 0 : z3(a3)) +
      (z4 === null ? 0 : z4(a4));
    const w = r.writer;
    const p = w.reserve(r.id, size);
    if (p < 0) return;
    cursor.next = 0;
    const view = w.view;
    const bytes = w.bytes;
    let o = w0(view, bytes, p, a0);
    o = w1(view, bytes, o, a1);
    o = w2(view, bytes, o, a2);
    o = w3(view, bytes, o, a3);
    w4(view, bytes, o, a4);
    w.commit(p, w.lastSize);
  };
}

function emit6(
  tp: Tracepoint<any>,
  cursor: Cursor,
  fixed: number,
  z0: Sizer | null,
  w0: Writer,
  z1: Sizer | null,
  w1: Writer,
  z2: Sizer | null,
  w2: Writer,
  z3: Sizer | null,
  w3: Writer,
  z4: Sizer | null,
  w4: Writer,
  z5: Sizer | null,
  w5: Writer,
): Emit {
  return function emit(a0: unknown, a1: unknown, a2: unknown, a3: unknown, a4: unknown, a5: unknown): void {
    const r = tp.only;
    if (r === null) {
      const args = tp.args;
      args[0] = a0;
      args[1] = a1;
      args[2] = a2;
      args[3] = a3;
      args[4] = a4;
      args[5] = a5;
      emitArgs(tp, args);
      return;
    }
    if (r.status[r.slot] === 0) return;
    cursor.top = 0;
    const size =
      fixed +
      (z0 === null ? 0 : z0(a0)) +
      (z1 === null ? 0 : z1(a1)) +
      (z2 === null ? 0 : z2(a2)) +
      (z3 === null ? 0 : z3(a3)) +
      (z4 === null ? 0 : z4(a4)) +
      (z5 === null ? 0 : z5(a5));
    const w = r.writer;
    const p = w.reserve(r.id, size);
    if (p < 0) return;
    cursor.next = 0;
    const view = w.view;
    const bytes = w.bytes;
    let o = w0(view, bytes, p, a0);
    o = w1(view, bytes, o, a1);
    o = w2(view, bytes, o, a2);
    o = w3(view, bytes, o, a3);
    o = w4(view, bytes, o, a4);
    w5(view, bytes, o, a5);
    w.commit(p, w.lastSize);
  };
}

function emit7(
  tp: Tracepoint<any>,
  cursor: Cursor,
  fixed: number,
  z0: Sizer | null,
  w0: Writer,
  z1: Sizer | null,
  w1: Writer,
  z2: Sizer | null,
  w2: Writer,
  z3: Sizer | null,
  w3: Writer,
  z4: Sizer | null,
  w4: Writer,
  z5: Sizer | null,
  w5: Writer,
  z6: Sizer | null,
  w6: Writer,
): Emit {
  return function emit(
    a0: unknown,
    a1: unknown,
    a2: unknown,
    a3: unknown,
    a4: unknown,
    a5: unknown,
    a6: unknown,
  ): void {
    const r = tp.only;
    if (r === null) {
      const args = tp.args;
      args[0] = a0;
      args[1] = a1;
      args[2] = a2;
      args[3] = a3;
      args[4] = a4;
      args[5] = a5;
      args[6] = a6;
      emitArgs(tp, args);
      return;
    }
    if (r.status[r.slot] === 0) return;
    cursor.top = 0;
    const size =
      fixed +
      (z0 === null ? 0 : z0(a0)) +
      (z1 === null ? 0 : z1(a1)) +
      (z2 === null ? 0 : z2(a2)) +
      (z3 === null ? 0 : z3(a3)) +
      (z4 === null ? 0 : z4(a4)) +
      (z5 === null ? 0 : z5(a5)) +
      (z6 === null ? 0 : z6(a6));
    const w = r.writer;
    const p = w.reserve(r.id, size);
    if (p < 0) return;
    cursor.next = 0;
    const view = w.view;
    const bytes = w.bytes;
    let o = w0(view, bytes, p, a0);
    o = w1(view, bytes, o, a1);
    o = w2(view, bytes, o, a2);
    o = w3(view, bytes, o, a3);
    o = w4(view, bytes, o, a4);
    o = w5(view, bytes, o, a5);
    w6(view, bytes, o, a6);
    w.commit(p, w.lastSize);
  };
}

function emit8(
  tp: Tracepoint<any>,
  cursor: Cursor,
  fixed: number,
  z0: Sizer | null,
  w0: Writer,
  z1: Sizer | null,
  w1: Writer,
  z2: Sizer | null,
  w2: Writer,
  z3: Sizer | null,
  w3: Writer,
  z4: Sizer | null,
  w4: Writer,
  z5: Sizer | null,
  w5: Writer,
  z6: Sizer | null,
  w6: Writer,
  z7: Sizer | null,
  w7: Writer,
): Emit {
  return function emit(
    a0: unknown,
    a1: unknown,
    a2: unknown,
    a3: unknown,
    a4: unknown,
    a5: unknown,
    a6: unknown,
    a7: unknown,
  ): void {
    const r = tp.only;
    if (r === null) {
      const args = tp.args;
      args[0] = a0;
      args[1] = a1;
      args[2] = a2;
      args[3] = a3;
      args[4] = a4;
      args[5] = a5;
      args[6] = a6;
      args[7] = a7;
      emitArgs(tp, args);
      return;
    }
    if (r.status[r.slot] === 0) return;
    cursor.top = 0;
    const size =
      fixed +
      (z0 === null ? 0 : z0(a0)) +
      (z1 === null ? 0 : z1(a1)) +
      (z2 === null ? 0 : z2(a2)) +
      (z3 === null ? 0 : z3(a3)) +
      (z4 === null ? 0 : z4(a4)) +
      (z5 === null ? 0 : z5(a5)) +
      (z6 === null ? 0 : z6(a6)) +
      (z7 === null ? 0 : z7(a7));
    const w = r.writer;
    const p = w.reserve(r.id, size);
    if (p < 0) return;
    cursor.next = 0;
    const view = w.view;
    const bytes = w.bytes;
    let o = w0(view, bytes, p, a0);
    o = w1(view, bytes, o, a1);
    o = w2(view, bytes, o, a2);
    o = w3(view, bytes, o, a3);
    o = w4(view, bytes, o, a4);
    o = w5(view, bytes, o, a5);
    o = w6(view, bytes, o, a6);
    w7(view, bytes, o, a7);
    w.commit(p, w.lastSize);
  };
}
