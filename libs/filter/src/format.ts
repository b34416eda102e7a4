import { FilterNode, precedence } from './ast';

function quote(value: string, glob: boolean): string {
  let out = '';
  for (const c of value) {
    if (c === '"' || (c === '\\' && !glob)) out += `\\${c}`;
    else if (c === '\n') out += '\\n';
    else if (c === '\t') out += '\\t';
    else if (c === '\r') out += '\\r';
    else out += c;
  }
  return `"${out}"`;
}

const UNARY_LEVEL = 100;

function level(node: FilterNode): number {
  if (node.type === 'binary') return precedence(node.op);
  if (node.type === 'unary') return UNARY_LEVEL;
  return UNARY_LEVEL + 1;
}

/** Canonical text of an AST, with parentheses only where precedence needs them. */
export function formatFilter(node: FilterNode): string {
  switch (node.type) {
    case 'int':
      return node.value;
    case 'float':
      return Number.isInteger(node.value) ? node.value.toFixed(1) : String(node.value);
    case 'string':
      return quote(node.value, node.glob);
    case 'context':
      return `$${node.scope}.${node.name}`;
    case 'field':
      return node.path.join('.') + node.index.map((i) => `[${i}]`).join('');
    case 'unary': {
      const inner = formatFilter(node.operand);
      return level(node.operand) < UNARY_LEVEL || node.operand.type === 'unary'
        ? `${node.op}(${inner})`
        : `${node.op}${inner}`;
    }
    case 'binary': {
      const p = precedence(node.op);
      const left = formatFilter(node.left);
      const right = formatFilter(node.right);
      // Left-associative: the right side needs parentheses at equal precedence.
      return `${level(node.left) < p ? `(${left})` : left} ${node.op} ${level(node.right) <= p ? `(${right})` : right}`;
    }
  }
}
