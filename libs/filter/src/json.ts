import { BINARY_LEVELS, FilterError, FilterNode, UNARY_OPS } from './ast';
import { MAX_DEPTH } from './parser';

export function filterToJson(node: FilterNode): string {
  return JSON.stringify(node);
}

const BINARY_OPS = new Set(BINARY_LEVELS.flat());
const KEYS: Record<string, string[]> = {
  binary: ['type', 'op', 'left', 'right'],
  unary: ['type', 'op', 'operand'],
  int: ['type', 'value'],
  float: ['type', 'value'],
  string: ['type', 'value', 'glob'],
  field: ['type', 'path', 'index'],
  context: ['type', 'scope', 'name'],
};
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Reads an AST that crossed a process boundary. Nothing in it is trusted: every node is
 * rebuilt from checked values, so no unexpected key (such as __proto__) survives.
 */
export function filterFromJson(json: string): FilterNode {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new FilterError(1, `invalid filter AST: ${(err as Error).message}`);
  }
  return rebuild(raw, 0);
}

function rebuild(raw: unknown, depth: number): FilterNode {
  const bad = (why: string): never => {
    throw new FilterError(1, `invalid filter AST: ${why}`);
  };
  if (depth > MAX_DEPTH * 2) bad('nested too deeply');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('a node must be an object');
  const o = raw as Record<string, unknown>;
  const type = o.type;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(KEYS, type))
    bad(`unknown node type ${JSON.stringify(type)}`);
  const keys = Object.keys(o).sort();
  const expected = [...KEYS[type as string]].sort();
  if (keys.length !== expected.length || keys.some((k, i) => k !== expected[i]))
    bad(`a ${String(type)} node has the keys ${expected.join(', ')}, not ${keys.join(', ')}`);
  switch (type) {
    case 'binary':
      if (typeof o.op !== 'string' || !BINARY_OPS.has(o.op)) bad(`unknown binary operator ${JSON.stringify(o.op)}`);
      return { type, op: o.op as never, left: rebuild(o.left, depth + 1), right: rebuild(o.right, depth + 1) };
    case 'unary':
      if (!(UNARY_OPS as readonly unknown[]).includes(o.op)) bad(`unknown unary operator ${JSON.stringify(o.op)}`);
      return { type, op: o.op as never, operand: rebuild(o.operand, depth + 1) };
    case 'int':
      if (typeof o.value !== 'string' || !/^(0|[1-9][0-9]*)$/.test(o.value) || BigInt(o.value) > 0xffffffffffffffffn)
        bad('an int node holds a decimal string of at most 64 bits');
      return { type, value: o.value as string };
    case 'float':
      if (typeof o.value !== 'number' || !Number.isFinite(o.value)) bad('a float node holds a finite number');
      return { type, value: o.value as number };
    case 'string':
      if (typeof o.value !== 'string' || typeof o.glob !== 'boolean')
        bad('a string node holds a string value and a boolean glob');
      return { type, value: o.value as string, glob: o.glob as boolean };
    case 'field': {
      const path = o.path;
      const index = o.index;
      if (!Array.isArray(path) || path.length === 0 || !path.every((p) => typeof p === 'string' && NAME.test(p)))
        bad('a field path is a list of names');
      if (!Array.isArray(index) || !index.every((i) => Number.isSafeInteger(i) && i >= 0))
        bad('a field index is a list of integers');
      return { type, path: [...(path as string[])], index: [...(index as number[])] };
    }
    default: {
      if (o.scope !== 'ctx' && o.scope !== 'app') bad('a context scope is "ctx" or "app"');
      if (typeof o.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*(:[A-Za-z_][A-Za-z0-9_]*)?$/.test(o.name))
        bad('invalid context name');
      return { type: 'context', scope: o.scope as 'ctx' | 'app', name: o.name as string };
    }
  }
}
