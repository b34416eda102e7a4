/**
 * Filters, evaluated in the app: an interpreter over libs/filter's checked AST (JSON from the
 * session daemon). The AST is compiled once per (event, filter) into a tree of closures, with
 * the type of every node known from the event's field types; no text is ever given to eval or
 * Function, and names are looked up in the event's field list (a Map), never on JS objects, so
 * `constructor` or `__proto__` are just fields that do not exist.
 *
 * Semantics (LTTng-UST's interpreter):
 *  - integers are signed 64-bit (unsigned 64-bit values compare as their s64 bits, as in LTTng);
 *    arithmetic wraps; `>>` is a logical shift; a shift count outside 0..63, a division or a
 *    modulo by zero, or an index past the end of an array makes the whole filter false;
 *  - an integer meets a float as a double;
 *  - strings compare with == != (and < <= > >= between two strings); a literal with an
 *    unescaped '*' is a glob pattern ('*' = any run of characters, '\*' a star);
 *  - a type mismatch (a string against a number, a field the event does not have, `a.b`,
 *    `$app.` contexts, an array without an index) makes the whole filter false;
 *  - the filter records the event when its value is a non-zero number.
 * Values are what the tracer records: a string is cut at its first NUL, a char[N] to N bytes,
 * integers wrapped to their width, an enumeration's label is its value.
 */
import { FilterNode, filterFromJson } from '@tstrace/filter';
import { floatOf, int32Of, lengthOf, stringValue, textValue } from './codec';
import type { CompiledFilter } from './tracepoint';
import { IntInfo, TypeInfo } from './types';

/** What a filter can see of an event: its fields in order. */
export interface FilterField {
  readonly name: string;
  readonly info: TypeInfo;
}

/** The values of `$ctx.NAME` for this thread. */
export interface FilterContext {
  readonly vpid: number;
  readonly vtid: number;
  readonly vuid: number;
  readonly vgid: number;
  readonly procname: string;
}

type Kind = 'int' | 'float' | 'string' | 'glob';
type Value = bigint | number | string;
type Eval = (args: readonly unknown[]) => Value;
interface Node {
  readonly kind: Kind;
  readonly eval: Eval;
  /** For a glob literal: its matcher. */
  readonly match?: (s: string) => boolean;
}

/** A filter that cannot apply to this event (type mismatch, unknown field): it is always false. */
class Mismatch extends Error {}
/** A run-time error of one evaluation (division by zero, bad shift, index out of range). */
const RUNTIME_ERROR = { runtime: true };

const NEVER: CompiledFilter = () => false;

/**
 * Compiles the filters of a route (JSON ASTs, OR-ed) for an event. Throws a FilterError for
 * JSON that is not a checked AST; a filter whose types do not fit the event compiles to false.
 */
export function compileFilters(
  jsons: readonly string[],
  fields: readonly FilterField[],
  ctx: FilterContext,
): CompiledFilter {
  const compiled = jsons.map((j) => compileFilter(filterFromJson(j), fields, ctx)).filter((f) => f !== NEVER);
  if (compiled.length === 0) return NEVER;
  if (compiled.length === 1) return compiled[0];
  return (args) => {
    for (let i = 0; i < compiled.length; i++) if (compiled[i](args)) return true;
    return false;
  };
}

/** Compiles one checked AST against an event's fields. */
export function compileFilter(ast: FilterNode, fields: readonly FilterField[], ctx: FilterContext): CompiledFilter {
  let root: Node;
  try {
    root = compile(ast, new Map(fields.map((f, i) => [f.name, { index: i, info: f.info }])), ctx);
    if (root.kind !== 'int' && root.kind !== 'float') throw new Mismatch('the filter is not a number');
  } catch (err) {
    if (err instanceof Mismatch) return NEVER;
    throw err;
  }
  const evaluate = root.eval;
  return (args) => {
    try {
      const v = evaluate(args);
      return v !== 0n && v !== 0;
    } catch {
      return false;
    }
  };
}

type FieldMap = ReadonlyMap<string, { index: number; info: TypeInfo }>;

const numeric = (n: Node) => n.kind === 'int' || n.kind === 'float';
const toInt = (v: bigint): bigint => BigInt.asIntN(64, v);

/** The value an integer field records, as a signed 64-bit bigint (see the header). */
function intValue(t: IntInfo): (v: unknown) => bigint {
  const n = (v: unknown): number => (typeof v === 'number' ? v : int32Of(v));
  switch (t.name) {
    case 'u8':
      return (v) => BigInt(n(v) & 0xff);
    case 's8':
      return (v) => BigInt((n(v) << 24) >> 24);
    case 'u16':
      return (v) => BigInt(n(v) & 0xffff);
    case 's16':
      return (v) => BigInt((n(v) << 16) >> 16);
    case 'u32':
      return (v) => BigInt(n(v) >>> 0);
    case 's32':
      return (v) => BigInt(n(v) | 0);
    default:
      return (v) => {
        if (typeof v === 'bigint') return toInt(v);
        if (typeof v === 'number') return Number.isFinite(v) ? toInt(BigInt(Math.trunc(v))) : 0n;
        return typeof v === 'boolean' && v ? 1n : 0n;
      };
  }
}

function compileField(node: FilterNode & { type: 'field' }, fields: FieldMap): Node {
  if (node.path.length !== 1) throw new Mismatch(`no structure field ${node.path.join('.')}`);
  const f = fields.get(node.path[0]);
  if (!f) throw new Mismatch(`no field ${node.path[0]}`);
  const i = f.index;
  const t = f.info;
  if (node.index.length > 1) throw new Mismatch('multi-dimensional index');
  if (node.index.length === 1) {
    const k = node.index[0];
    if (t.kind === 'bytes') {
      return {
        kind: 'int',
        eval: (a) => {
          const v = a[i];
          if (k >= lengthOf(v)) throw RUNTIME_ERROR;
          return BigInt(((v as ArrayLike<unknown>)[k] as number) & 0xff);
        },
      };
    }
    if (t.kind === 'seq') {
      const elem = intValue(t.elem);
      return {
        kind: 'int',
        eval: (a) => {
          const v = a[i];
          if (k >= lengthOf(v)) throw RUNTIME_ERROR;
          return elem((v as ArrayLike<unknown>)[k]);
        },
      };
    }
    if (t.kind === 'array') {
      const elem = intValue(t.elem);
      if (k >= t.length)
        return {
          kind: 'int',
          eval: () => {
            throw RUNTIME_ERROR;
          },
        };
      // Elements past the value's end are recorded as zeros.
      return {
        kind: 'int',
        eval: (a) => {
          const v = a[i];
          return k < lengthOf(v) ? elem((v as ArrayLike<unknown>)[k]) : 0n;
        },
      };
    }
    throw new Mismatch(`field ${node.path[0]} is not an array`);
  }
  switch (t.kind) {
    case 'int': {
      const value = intValue(t);
      return { kind: 'int', eval: (a) => value(a[i]) };
    }
    case 'enum': {
      const value = intValue(t.container);
      const labels = t.labels;
      return {
        kind: 'int',
        eval: (a) => {
          const v = a[i];
          return value(typeof v === 'string' ? (labels.get(v) ?? 0) : v);
        },
      };
    }
    case 'float':
      if (t.bytes === 4)
        return {
          kind: 'float',
          eval: (a) => {
            const v = a[i];
            return Math.fround(typeof v === 'number' ? v : floatOf(v));
          },
        };
      return {
        kind: 'float',
        eval: (a) => {
          const v = a[i];
          return typeof v === 'number' ? v : floatOf(v);
        },
      };
    case 'string':
      return { kind: 'string', eval: (a) => stringValue(a[i]) };
    case 'text': {
      const n = t.length;
      return { kind: 'string', eval: (a) => textValue(a[i], n) };
    }
    default:
      throw new Mismatch('an array or sequence needs an index');
  }
}

function compileContext(node: FilterNode & { type: 'context' }, ctx: FilterContext): Node {
  if (node.scope !== 'ctx') throw new Mismatch('application contexts are not supported');
  switch (node.name) {
    case 'vpid':
    case 'vtid':
    case 'vuid':
    case 'vgid': {
      const v = BigInt(ctx[node.name]);
      return { kind: 'int', eval: () => v };
    }
    case 'procname': {
      const v = ctx.procname;
      return { kind: 'string', eval: () => v };
    }
    default:
      throw new Mismatch(`unknown context ${node.name}`);
  }
}

/** A glob pattern's matcher: '*' is any run of characters, '\*' a literal star. */
export function globMatcher(pattern: string): (s: string) => boolean {
  const parts: string[] = [''];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && pattern[i + 1] === '*') {
      parts[parts.length - 1] += '*';
      i++;
    } else if (c === '*') parts.push('');
    else parts[parts.length - 1] += c;
  }
  if (parts.length === 1) {
    const only = parts[0];
    return (s) => s === only;
  }
  const first = parts[0];
  const last = parts[parts.length - 1];
  const middle = parts.slice(1, -1).filter((p) => p !== '');
  const minLength = first.length + last.length;
  return (s) => {
    if (s.length < minLength || !s.startsWith(first) || !s.endsWith(last)) return false;
    let at = first.length;
    const end = s.length - last.length;
    for (const m of middle) {
      const found = s.indexOf(m, at);
      if (found < 0 || found + m.length > end) return false;
      at = found + m.length;
    }
    return true;
  };
}

function compile(node: FilterNode, fields: FieldMap, ctx: FilterContext): Node {
  switch (node.type) {
    case 'int': {
      const v = toInt(BigInt(node.value));
      return { kind: 'int', eval: () => v };
    }
    case 'float': {
      const v = node.value;
      return { kind: 'float', eval: () => v };
    }
    case 'string': {
      const v = node.value;
      if (node.glob) return { kind: 'glob', eval: () => v, match: globMatcher(v) };
      return { kind: 'string', eval: () => v };
    }
    case 'field':
      return compileField(node, fields);
    case 'context':
      return compileContext(node, ctx);
    case 'unary':
      return compileUnary(node.op, compile(node.operand, fields, ctx));
    case 'binary':
      return compileBinary(node.op, compile(node.left, fields, ctx), compile(node.right, fields, ctx));
    default:
      throw new Mismatch('unknown node');
  }
}

function compileUnary(op: string, x: Node): Node {
  if (!numeric(x)) throw new Mismatch(`operator ${op} on a string`);
  const e = x.eval;
  const int = x.kind === 'int';
  switch (op) {
    case '!':
      return {
        kind: 'int',
        eval: (a) => {
          const v = e(a);
          return v === 0n || v === 0 ? 1n : 0n;
        },
      };
    case '~':
      if (!int) throw new Mismatch('operator ~ on a float');
      return { kind: 'int', eval: (a) => toInt(~(e(a) as bigint)) };
    case '-':
      return int
        ? { kind: 'int', eval: (a) => toInt(-(e(a) as bigint)) }
        : { kind: 'float', eval: (a) => -(e(a) as number) };
    default:
      return x;
  }
}

function compileBinary(op: string, l: Node, r: Node): Node {
  const le = l.eval;
  const re = r.eval;
  const ints = l.kind === 'int' && r.kind === 'int';
  const nums = numeric(l) && numeric(r);
  const truth = (v: Value) => v !== 0n && v !== 0;
  switch (op) {
    case '&&':
      if (!nums) throw new Mismatch('&& needs numbers');
      return { kind: 'int', eval: (a) => (truth(le(a)) && truth(re(a)) ? 1n : 0n) };
    case '||':
      if (!nums) throw new Mismatch('|| needs numbers');
      return { kind: 'int', eval: (a) => (truth(le(a)) || truth(re(a)) ? 1n : 0n) };
    case '==':
    case '!=': {
      const eq = equality(l, r);
      return op === '=='
        ? { kind: 'int', eval: (a) => (eq(a) ? 1n : 0n) }
        : { kind: 'int', eval: (a) => (eq(a) ? 0n : 1n) };
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const cmp = ordering(l, r);
      if (op === '<') return { kind: 'int', eval: (a) => (cmp(a) < 0 ? 1n : 0n) };
      if (op === '<=') return { kind: 'int', eval: (a) => (cmp(a) <= 0 ? 1n : 0n) };
      if (op === '>') return { kind: 'int', eval: (a) => (cmp(a) > 0 ? 1n : 0n) };
      return { kind: 'int', eval: (a) => (cmp(a) >= 0 ? 1n : 0n) };
    }
    case '+':
    case '-':
    case '*':
    case '/':
      if (!nums) throw new Mismatch(`${op} needs numbers`);
      if (ints) return { kind: 'int', eval: intArithmetic(op, le, re) };
      return { kind: 'float', eval: floatArithmetic(op, le, re) };
    case '%':
    case '&':
    case '|':
    case '^':
    case '<<':
    case '>>':
      if (!ints) throw new Mismatch(`${op} needs integers`);
      return { kind: 'int', eval: intArithmetic(op, le, re) };
    default:
      throw new Mismatch(`unknown operator ${op}`);
  }
}

function intArithmetic(op: string, le: Eval, re: Eval): Eval {
  const l = le as (a: readonly unknown[]) => bigint;
  const r = re as (a: readonly unknown[]) => bigint;
  switch (op) {
    case '+':
      return (a) => toInt(l(a) + r(a));
    case '-':
      return (a) => toInt(l(a) - r(a));
    case '*':
      return (a) => toInt(l(a) * r(a));
    case '/':
      return (a) => {
        const x = l(a);
        const y = r(a);
        if (y === 0n) throw RUNTIME_ERROR;
        return toInt(x / y);
      };
    case '%':
      return (a) => {
        const x = l(a);
        const y = r(a);
        if (y === 0n) throw RUNTIME_ERROR;
        return x % y;
      };
    case '&':
      return (a) => toInt(l(a) & r(a));
    case '|':
      return (a) => toInt(l(a) | r(a));
    case '^':
      return (a) => toInt(l(a) ^ r(a));
    case '<<':
      return (a) => {
        const x = l(a);
        const y = r(a);
        if (y < 0n || y > 63n) throw RUNTIME_ERROR;
        return toInt(x << y);
      };
    default: // '>>', logical as in LTTng
      return (a) => {
        const x = l(a);
        const y = r(a);
        if (y < 0n || y > 63n) throw RUNTIME_ERROR;
        return toInt(BigInt.asUintN(64, x) >> y);
      };
  }
}

function floatArithmetic(op: string, le: Eval, re: Eval): Eval {
  const l = (a: readonly unknown[]) => Number(le(a));
  const r = (a: readonly unknown[]) => Number(re(a));
  switch (op) {
    case '+':
      return (a) => l(a) + r(a);
    case '-':
      return (a) => l(a) - r(a);
    case '*':
      return (a) => l(a) * r(a);
    default:
      return (a) => l(a) / r(a);
  }
}

function equality(l: Node, r: Node): (a: readonly unknown[]) => boolean {
  const le = l.eval;
  const re = r.eval;
  if (l.kind === 'int' && r.kind === 'int') return (a) => le(a) === re(a);
  if (numeric(l) && numeric(r)) return (a) => Number(le(a)) === Number(re(a));
  if (l.kind === 'string' && r.kind === 'string') return (a) => le(a) === re(a);
  if (l.kind === 'string' && r.kind === 'glob') {
    const m = r.match!;
    return (a) => m(le(a) as string);
  }
  if (l.kind === 'glob' && r.kind === 'string') {
    const m = l.match!;
    return (a) => m(re(a) as string);
  }
  throw new Mismatch('== between a string and a number');
}

function ordering(l: Node, r: Node): (a: readonly unknown[]) => number {
  const le = l.eval;
  const re = r.eval;
  const sign = (x: Value, y: Value) => (x < y ? -1 : x > y ? 1 : 0);
  if (l.kind === 'int' && r.kind === 'int') return (a) => sign(le(a), re(a));
  if (numeric(l) && numeric(r))
    return (a) => {
      const x = Number(le(a));
      const y = Number(re(a));
      return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
    };
  if (l.kind === 'string' && r.kind === 'string') return (a) => sign(le(a), re(a));
  throw new Mismatch('ordering of mismatched types');
}
