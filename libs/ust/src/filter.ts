/**
 * Evaluates a filter's checked AST (from the session daemon, parsed by libs/filter) against one
 * event's values. An interpreter over plain data: no user text ever reaches eval or Function,
 * and identifiers are looked up in the event's own field list, never on JS objects, so names
 * such as `constructor` or `__proto__` are just fields that do not exist.
 * As in LTTng, a comparison of mismatched types, a missing field or a division by zero makes
 * the whole filter false.
 */
import { filterFromJson, FilterNode } from '@tstrace/filter';

/** Values visible to a filter: the event's arguments by field index, and the contexts. */
export interface FilterScope {
  fieldIndex: ReadonlyMap<string, number>;
  args: ArrayLike<unknown>;
  context(name: string): string | number | undefined;
}

const MISMATCH = Symbol('mismatch');
type Value = number | string | typeof MISMATCH;

export type CompiledFilter = (scope: FilterScope) => boolean;

/** Compiles a filter AST (JSON) into a closure tree. Throws on JSON that is not a filter AST. */
export function compileFilter(json: string): CompiledFilter {
  const root = compile(filterFromJson(json));
  return (scope) => {
    const v = root(scope);
    return typeof v === 'number' && v !== 0;
  };
}

type Node = (scope: FilterScope) => Value;

function toValue(v: unknown): Value {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return MISMATCH;
}

function globToRegExp(pattern: string): RegExp {
  // '*' is any sequence; '\*' a literal star (the parser keeps the backslash).
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) re += pattern[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '*') re += '[^]*';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

function compile(node: FilterNode): Node {
  switch (node.type) {
    case 'int': {
      const v = Number(node.value);
      return () => v;
    }
    case 'float': {
      const v = node.value;
      return () => v;
    }
    case 'string': {
      const v = node.value;
      return () => v;
    }
    case 'field': {
      const name = node.path[0];
      const nested = node.path.length > 1;
      const index = node.index;
      return (scope) => {
        if (nested) return MISMATCH;
        const i = scope.fieldIndex.get(name);
        if (i === undefined) return MISMATCH;
        let v: unknown = scope.args[i];
        for (const k of index) {
          if (v === null || typeof v !== 'object' || !('length' in (v as object))) return MISMATCH;
          const arr = v as ArrayLike<unknown>;
          if (k < 0 || k >= arr.length) return MISMATCH;
          v = arr[k];
        }
        return toValue(v);
      };
    }
    case 'context': {
      const name = node.name;
      const app = node.scope === 'app';
      return (scope) => {
        if (app) return MISMATCH;
        const v = scope.context(name);
        return v === undefined ? MISMATCH : v;
      };
    }
    case 'unary': {
      const operand = compile(node.operand);
      const op = node.op;
      return (scope) => {
        const v = operand(scope);
        if (typeof v !== 'number') return MISMATCH;
        switch (op) {
          case '!':
            return v === 0 ? 1 : 0;
          case '~':
            return ~v;
          case '-':
            return -v;
          default:
            return v;
        }
      };
    }
    case 'binary':
      return compileBinary(node.op, node.left, node.right);
  }
}

function compileBinary(op: string, leftNode: FilterNode, rightNode: FilterNode): Node {
  const left = compile(leftNode);
  const right = compile(rightNode);
  if (op === '&&') return (s) => (truthy(left(s)) ? (truthy(right(s)) ? 1 : 0) : 0);
  if (op === '||') return (s) => (truthy(left(s)) ? 1 : truthy(right(s)) ? 1 : 0);
  if (op === '==' || op === '!=') {
    const negate = op === '!=';
    // A string literal with an unescaped '*' is a glob pattern, on either side.
    const pattern = leftNode.type === 'string' && leftNode.glob ? globToRegExp(leftNode.value) : rightNode.type === 'string' && rightNode.glob ? globToRegExp(rightNode.value) : undefined;
    return (s) => {
      const a = left(s);
      const b = right(s);
      if (a === MISMATCH || b === MISMATCH || typeof a !== typeof b) return MISMATCH;
      const equal = pattern && typeof a === 'string' ? pattern.test(leftNode.type === 'string' ? (b as string) : a) : a === b;
      return equal !== negate ? 1 : 0;
    };
  }
  return (s) => {
    const a = left(s);
    const b = right(s);
    if (typeof a !== 'number' || typeof b !== 'number') return MISMATCH;
    switch (op) {
      case '<':
        return a < b ? 1 : 0;
      case '<=':
        return a <= b ? 1 : 0;
      case '>':
        return a > b ? 1 : 0;
      case '>=':
        return a >= b ? 1 : 0;
      case '+':
        return a + b;
      case '-':
        return a - b;
      case '*':
        return a * b;
      case '/':
        return b === 0 ? MISMATCH : a / b;
      case '%':
        return b === 0 ? MISMATCH : a % b;
      case '&':
        return a & b;
      case '|':
        return a | b;
      case '^':
        return a ^ b;
      case '<<':
        return a << b;
      case '>>':
        return a >> b;
      default:
        return MISMATCH;
    }
  };
}

function truthy(v: Value): boolean {
  return typeof v === 'number' && v !== 0;
}
