// Event lines as babeltrace2's `sink.text.pretty` prints them by default (babeltrace2 2.0), and
// one JSON object per event.
import { EventMeta, TraceEvent } from './reader/stream';
import { CtfType, fieldKey, isText, StructType } from './reader/types';
import { EnumValue, VariantValue } from './reader/values';

export interface TextOptions {
  /** Times in UTC rather than local time (babeltrace2's --clock-gmt). */
  gmt?: boolean;
  /** Prefix the date (--clock-date). */
  date?: boolean;
  /** Seconds since the epoch instead of a time of day (--clock-seconds). */
  seconds?: boolean;
  /** Raw clock values instead of times (--clock-cycles). */
  cycles?: boolean;
  /** The trace's hostname, procname and vpid (from its env) before the event name: on unless false. */
  hostname?: boolean;
  procname?: boolean;
  vpid?: boolean;
  /** The trace's domain (off unless true). */
  domain?: boolean;
  /** The event's log level, as `TRACE_INFO (6)` (off unless true). */
  loglevel?: boolean;
  /** The event class's `model.emf.uri`, after the log level (off unless true). */
  emf?: boolean;
  /** Printed before the hostname with no separator, as babeltrace2 2.0 prints its `trace` field. */
  traceName?: string;
}

/** What a sequence of lines remembers: the previous event's time, for the delta. */
export interface TextState {
  lastNs?: bigint;
  lastCycles?: bigint;
  /** The last second shown and its text (the time zone is read once per second shown). */
  lastWall?: { s: bigint; key: string; text: string };
}

export function newTextState(): TextState {
  return {};
}

const LOG_LEVELS = [
  'TRACE_EMERG',
  'TRACE_ALERT',
  'TRACE_CRIT',
  'TRACE_ERR',
  'TRACE_WARNING',
  'TRACE_NOTICE',
  'TRACE_INFO',
  'TRACE_DEBUG_SYSTEM',
  'TRACE_DEBUG_PROGRAM',
  'TRACE_DEBUG_PROCESS',
  'TRACE_DEBUG_MODULE',
  'TRACE_DEBUG_UNIT',
  'TRACE_DEBUG_FUNCTION',
  'TRACE_DEBUG_LINE',
  'TRACE_DEBUG',
];

/** Packet context fields the reader consumes, which babeltrace2 does not show. */
const PACKET_MEANINGS = new Set([
  'timestamp_begin',
  'timestamp_end',
  'content_size',
  'packet_size',
  'packet_seq_num',
  'events_discarded',
]);

// ---- what babeltrace2 shows ------------------------------------------------------------------

/**
 * The part of a type babeltrace2 keeps (its "trace IR"): integers mapped to a clock are
 * consumed, so are the packet context's special fields; a structure left with no member goes
 * too, unless it had none to begin with.
 */
function shown(t: CtfType, drop: ReadonlySet<string> | undefined, top: boolean): CtfType | undefined {
  switch (t.kind) {
    case 'integer':
      return t.map ? undefined : t;
    case 'enum':
      return t.container.map ? undefined : t;
    case 'struct': {
      if (t.members.length === 0) return t;
      const members = t.members.flatMap((m) => {
        if (top && drop?.has(fieldKey(m.name)) && (m.type.kind === 'integer' || m.type.kind === 'enum')) return [];
        const s = shown(m.type, undefined, false);
        return s ? [{ name: m.name, type: s }] : [];
      });
      return members.length ? { ...t, members } : undefined;
    }
    case 'variant': {
      const any = t.options.some((o) => shown(o.type, undefined, false));
      return any ? t : undefined;
    }
    case 'array':
    case 'sequence': {
      const e = shown(t.elem, undefined, false);
      return e ? { ...t, elem: e } : undefined;
    }
    default:
      return t;
  }
}

const caches = [new WeakMap<StructType, StructType | null>(), new WeakMap<StructType, StructType | null>()];
function shownStruct(t: StructType | undefined, drop?: ReadonlySet<string>): StructType | undefined {
  if (!t) return undefined;
  const cache = caches[drop ? 1 : 0];
  let s = cache.get(t);
  if (s === undefined) {
    s = (shown(t, drop, true) as StructType | undefined) ?? null;
    cache.set(t, s);
  }
  return s ?? undefined;
}

// ---- values ----------------------------------------------------------------------------------

const f64 = new DataView(new ArrayBuffer(8));

/** The exact decimal value of a positive finite double: digits × 10^exp. */
function exactDecimal(v: number): { digits: string; exp: number } {
  f64.setFloat64(0, v);
  const hi = f64.getUint32(0);
  const lo = f64.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2 = -1074;
  if (biased !== 0) {
    mant |= 1n << 52n;
    e2 = biased - 1075;
  }
  // mant × 2^e2 = mant × 5^-e2 / 10^-e2 when e2 < 0.
  if (e2 >= 0) return { digits: String(mant << BigInt(e2)), exp: 0 };
  return { digits: String(mant * 5n ** BigInt(-e2)), exp: e2 };
}

/**
 * C's printf("%g"): 6 significant digits rounded half to even from the exact binary value (as
 * glibc does), exponent form below 1e-4 and from 1e6, trailing zeros removed.
 */
export function formatG(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v < 0 ? '-inf' : 'inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const sign = v < 0 ? '-' : '';
  const a = Math.abs(v);
  const P = 6;
  // The shortest text that reads back as `a`, when it has at most 6 digits and no exponent, is
  // also what rounding the exact value to 6 digits gives (the common case, and cheap).
  const short = String(a);
  if (a >= 1e-4 && a < 1e6 && /^[0-9.]+$/.test(short) && short.replace('.', '').replace(/^0+/, '').length <= P)
    return sign + short;
  // toExponential rounds the exact value correctly, but half up: only a tie (the digits after
  // the sixth are exactly 5) needs the exact digits, to round half to even as glibc does.
  const e5 = a.toExponential(P - 1);
  let x = Number(e5.slice(e5.indexOf('e') + 1));
  let keep = e5[0] + e5.slice(2, P + 1);
  const scaled = a / 10 ** (x - P + 1);
  if (Math.abs(scaled - Math.floor(scaled) - 0.5) < 1e-6) {
    const { digits, exp } = exactDecimal(a);
    x = digits.length - 1 + exp;
    keep = digits.slice(0, P).padEnd(P, '0');
    const rest = digits.slice(P);
    const up =
      rest.length > 0 &&
      (rest[0] > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || Number(keep[P - 1]) % 2 === 1)));
    if (up) {
      const n = String(BigInt(keep) + 1n);
      if (n.length > P) {
        keep = n.slice(0, P);
        x++;
      } else keep = n;
    }
  }
  const strip = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (x < -4 || x >= P)
    return `${sign}${strip(`${keep[0]}.${keep.slice(1)}`)}e${x < 0 ? '-' : '+'}${String(Math.abs(x)).padStart(2, '0')}`;
  if (x >= 0) return sign + strip(`${keep.slice(0, x + 1)}.${keep.slice(x + 1)}`);
  return sign + strip(`0.${'0'.repeat(-x - 1)}${keep}`);
}

/** babeltrace2's string escapes: C escapes for control characters, `\"`, `\'`, `\\` and `\?`. */
export function escapeString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    switch (ch) {
      case '\\':
        out += '\\\\';
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case '?':
        out += '\\?';
        continue;
      default:
        break;
    }
    if (c >= 0x20 && c !== 0x7f) {
      out += ch;
      continue;
    }
    const named: Record<number, string> = {
      7: '\\a',
      8: '\\b',
      27: '\\e',
      12: '\\f',
      10: '\\n',
      13: '\\r',
      9: '\\t',
      11: '\\v',
    };
    out += named[c] ?? `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

function formatInt(t: CtfType & { kind: 'integer' }, v: unknown): string {
  if (typeof v !== 'number' && typeof v !== 'bigint') return String(v);
  switch (t.base) {
    case 10:
      return String(v);
    case 16: {
      const bits = t.size < 64 ? (t.size + 3) & ~3 : 64;
      return `0x${BigInt.asUintN(bits, BigInt(v)).toString(16).toUpperCase()}`;
    }
    case 8: {
      const bits = t.signed && t.size < 64 ? Math.floor((t.size - 1) / 3 + 1) * 3 : 64;
      return `0${BigInt.asUintN(bits, BigInt(v)).toString(8)}`;
    }
    case 2:
      return `0b${BigInt.asUintN(t.size, BigInt(v)).toString(2).padStart(t.size, '0')}`;
  }
}

function formatValue(t: CtfType, v: unknown): string {
  switch (t.kind) {
    case 'integer':
      return formatInt(t, v);
    case 'enum': {
      const e = v instanceof EnumValue ? v : new EnumValue(v as number, []);
      const labels = e.labels.length ? e.labels.map(escapeString).join(', ') : '<unknown>';
      return `( ${labels} : container = ${formatInt(t.container, e.value)} )`;
    }
    case 'float':
      return typeof v === 'number' ? formatG(v) : String(v);
    case 'string':
      return escapeString(String(v));
    case 'struct':
      return formatStruct(t, v as Record<string, unknown>);
    case 'variant': {
      const x = v as VariantValue;
      const o = t.options.find((opt) => fieldKey(opt.name) === x.tag);
      return `{ ${o ? formatValue(o.type, x.value) : String(x.value)} }`;
    }
    case 'array':
    case 'sequence': {
      if (isText(t)) return escapeString(String(v));
      const a = v as unknown[];
      if (a.length === 0) return '[ ]';
      return `[ ${a.map((x, i) => `[${i}] = ${formatValue(t.elem, x)}`).join(', ')} ]`;
    }
  }
}

function formatStruct(t: StructType, v: Record<string, unknown>): string {
  if (t.members.length === 0) return '{ }';
  return `{ ${t.members.map((m) => `${fieldKey(m.name)} = ${formatValue(m.type, v[fieldKey(m.name)])}`).join(', ')} }`;
}

// ---- time ------------------------------------------------------------------------------------

const two = (n: number) => String(n).padStart(2, '0');

function wallTime(ns: bigint, o: TextOptions, state: TextState): string {
  const s = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  // Events come in bursts: the text up to the fraction is kept for the last second shown.
  const key = `${o.gmt === true}${o.date === true}${o.seconds === true}`;
  const last = state.lastWall;
  if (ns >= 0n && last && s === last.s && key === last.key) return `${last.text}${String(frac).padStart(9, '0')}`;
  if (ns < 0n || o.seconds) {
    // babeltrace2 falls back to seconds for times before the epoch.
    const neg = ns < 0n;
    const abs = neg ? -ns : ns;
    return `${neg ? '-' : ''}${abs / 1_000_000_000n}.${String(abs % 1_000_000_000n).padStart(9, '0')}`;
  }
  const d = new Date(Number(s) * 1000);
  const [Y, M, D, h, m, sec] = o.gmt
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  const date = o.date ? `${String(Y).padStart(4, '0')}-${two(M)}-${two(D)} ` : '';
  const text = `${date}${two(h)}:${two(m)}:${two(sec)}.`;
  state.lastWall = { s, key, text };
  return `${text}${String(frac).padStart(9, '0')}`;
}

/** A time (ns from the epoch) as formatEvent shows it in brackets, without cycles: for babeltrace2's warnings. */
export function formatTime(ns: bigint, opts: TextOptions = {}): string {
  return wallTime(ns, opts, {});
}

function header(e: TraceEvent, state: TextState, o: TextOptions): string {
  const meta: EventMeta = e.meta;
  let out = '';
  if (meta.trace.clock) {
    if (o.cycles) {
      const last = state.lastCycles;
      state.lastCycles = e.timestamp;
      const delta =
        last === undefined ? '+????????????' : `+${String(BigInt.asUintN(64, e.timestamp - last)).padStart(12, '0')}`;
      out += `[${String(e.timestamp).padStart(20, '0')}] (${delta}) `;
    } else {
      const last = state.lastNs;
      state.lastNs = e.timeNs;
      let delta = '+?.?????????';
      if (last !== undefined) {
        const d = BigInt.asUintN(64, e.timeNs - last);
        delta = `+${d / 1_000_000_000n}.${String(d % 1_000_000_000n).padStart(9, '0')}`;
      }
      out += `[${wallTime(e.timeNs, o, state)}] (${delta}) `;
    }
  }
  const env = meta.trace.env;
  const parts: string[] = [];
  const has = (k: string) => Object.prototype.hasOwnProperty.call(env, k);
  if (o.hostname !== false && has('hostname')) parts.push(String(env.hostname));
  if (o.domain === true && has('domain')) parts.push(String(env.domain));
  if (o.procname !== false && has('procname')) parts.push(String(env.procname));
  if (o.vpid !== false && has('vpid')) parts.push(`(${env.vpid})`);
  const level = meta.eventClass.loglevel;
  if (o.loglevel === true && level !== undefined && level >= 0 && level < LOG_LEVELS.length)
    parts.push(`${LOG_LEVELS[level]} (${level})`);
  if (o.emf === true && meta.eventClass.emfUri !== undefined) parts.push(meta.eventClass.emfUri);
  if (o.traceName !== undefined) out += o.traceName;
  if (parts.length) out += `${parts.join(':')} `;
  return `${out}${e.name}: `;
}

/**
 * One line (without the newline) as babeltrace2 prints the event by default:
 * `[time] (+delta) host EVENT: { packet context }, { stream event context }, { event context }, { fields }`.
 * `state` carries the previous event's time between calls (start with `newTextState()`).
 * Strings are shown as JavaScript holds them: invalid UTF-8 in the trace appears as U+FFFD where
 * babeltrace2 writes the raw bytes.
 */
export function formatEvent(e: TraceEvent, state: TextState, opts: TextOptions = {}): string {
  const ec = e.meta.eventClass;
  let shownScopes = scopesShown.get(ec);
  if (!shownScopes) {
    const sc = e.meta.streamClass;
    shownScopes = [
      shownStruct(sc.packetContext, PACKET_MEANINGS),
      shownStruct(sc.eventContext),
      shownStruct(ec.context),
      shownStruct(ec.fields),
    ];
    scopesShown.set(ec, shownScopes);
  }
  const [pc, sec, ectx, fields] = shownScopes;
  let out = header(e, state, opts);
  let sep = '';
  if (pc && e.packetContext) {
    out += formatStruct(pc, e.packetContext);
    sep = ', ';
  }
  if (sec) {
    out += sep + formatStruct(sec, e.context);
    sep = ', ';
  }
  if (ectx) {
    out += sep + formatStruct(ectx, e.context);
    sep = ', ';
  }
  if (fields) out += sep + formatStruct(fields, e.fields);
  return out;
}

/** Per event class (within its stream class), what of each scope is shown. */
const scopesShown = new WeakMap<object, (StructType | undefined)[]>();

// ---- JSON ------------------------------------------------------------------------------------

function jsonReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (v instanceof VariantValue) return { tag: v.tag, value: v.value };
  return v;
}

/**
 * One event as one line of JSON: `{"name","timestamp","time_ns","stream_id","id","cpu_id","trace","context","fields"}`.
 * Integers beyond ±(2^53-1) (always the timestamps) are strings of their decimal digits, other
 * integers numbers; an enumeration is `{"value","label"}` (label null when none matches, and
 * `labels` when several do); a variant `{"tag","value"}`; NaN and infinities are strings.
 */
export function eventToJson(e: TraceEvent): string {
  return JSON.stringify(
    {
      name: e.name,
      timestamp: e.timestamp,
      time_ns: e.timeNs,
      stream_id: e.streamId,
      id: e.id,
      cpu_id: e.cpuId,
      trace: e.tracePath,
      context: e.context,
      fields: e.fields,
    },
    jsonReplacer,
  );
}
