import { BINARY_LEVELS, BinaryOp, FilterError, FilterNode, UnaryOp } from './ast';
import { Token, tokenize } from './lexer';

export const MAX_FILTER_BYTES = 65536;
export const MAX_DEPTH = 256;

/** Where each node came from, for error columns; kept beside the AST, not in it. */
type Located = { node: FilterNode; col: number };

const syntax = (col: number, what: string) => new FilterError(col, `filter syntax error at column ${col}: ${what}`);
const semantic = (col: number, what: string) => new FilterError(col, `filter error at column ${col}: ${what}`);

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  private get token(): Token {
    return this.tokens[this.pos];
  }

  private isOp(...ops: string[]): boolean {
    return this.token.kind === 'op' && ops.includes(this.token.value);
  }

  private atEnd(): boolean {
    return this.token.kind === 'end';
  }

  private expectOp(op: string): void {
    if (!this.isOp(op)) throw syntax(this.token.col, `expected '${op}' but found ${describe(this.token)}`);
    this.pos++;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw syntax(this.token.col, `expression nested deeper than ${MAX_DEPTH} levels`);
  }

  parse(): Located {
    if (this.atEnd()) throw syntax(1, 'the filter is empty');
    const result = this.binary(0);
    if (!this.atEnd()) throw syntax(this.token.col, `unexpected ${describe(this.token)}`);
    return result;
  }

  private binary(level: number): Located {
    if (level === BINARY_LEVELS.length) return this.unary();
    this.enter();
    let left = this.binary(level + 1);
    while (this.token.kind === 'op' && BINARY_LEVELS[level].includes(this.token.value)) {
      const { value: op, col } = this.token;
      this.pos++;
      const right = this.binary(level + 1);
      left = { node: check(op as BinaryOp, left, right, col), col: left.col };
    }
    this.depth--;
    return left;
  }

  private unary(): Located {
    if (this.isOp('!', '~', '-', '+')) {
      const { value: op, col } = this.token as { value: string; col: number };
      this.pos++;
      this.enter();
      const operand = this.unary();
      this.depth--;
      const t = operand.node.type;
      if (t === 'string') throw semantic(operand.col, `operator '${op}' cannot apply to a string`);
      if (op === '~' && t === 'float') throw semantic(operand.col, "operator '~' needs an integer, not a float");
      return { node: { type: 'unary', op: op as UnaryOp, operand: operand.node }, col };
    }
    return this.primary();
  }

  private primary(): Located {
    const t = this.token;
    switch (t.kind) {
      case 'int':
        this.pos++;
        return { node: { type: 'int', value: t.value }, col: t.col };
      case 'float':
        this.pos++;
        return { node: { type: 'float', value: t.value }, col: t.col };
      case 'string':
        this.pos++;
        return { node: { type: 'string', value: t.value, glob: t.glob }, col: t.col };
      case 'context':
        this.pos++;
        return { node: { type: 'context', scope: t.scope, name: t.value }, col: t.col };
      case 'ident':
        return this.field();
      case 'op':
        if (t.value === '(') {
          this.pos++;
          this.enter();
          const inner = this.binary(0);
          this.depth--;
          this.expectOp(')');
          return { node: inner.node, col: t.col };
        }
        throw syntax(t.col, `unexpected ${describe(t)}`);
      case 'end':
        throw syntax(t.col, 'unexpected end of filter: an operand is missing');
    }
  }

  /** name, name.sub, name[3], name.sub[1][2] */
  private field(): Located {
    const col = this.token.col;
    const path = [(this.token as { value: string }).value];
    this.pos++;
    while (this.isOp('.')) {
      this.pos++;
      if (this.token.kind !== 'ident')
        throw syntax(this.token.col, `expected a field name after '.' but found ${describe(this.token)}`);
      path.push(this.token.value);
      this.pos++;
    }
    const index: number[] = [];
    while (this.isOp('[')) {
      this.pos++;
      const t = this.token;
      if (t.kind !== 'int' || BigInt(t.value) > BigInt(Number.MAX_SAFE_INTEGER))
        throw syntax(t.col, `expected an integer index but found ${describe(t)}`);
      index.push(Number(t.value));
      this.pos++;
      this.expectOp(']');
    }
    if (this.token.kind === 'ident' || this.isOp('('))
      throw syntax(this.token.col, `unexpected ${describe(this.token)} after field "${path.join('.')}"`);
    return { node: { type: 'field', path, index }, col };
  }
}

function describe(t: Token): string {
  if (t.kind === 'end') return 'the end of the filter';
  if (t.kind === 'op') return `'${t.value}'`;
  return JSON.stringify(t.text);
}

const INTEGER_ONLY = new Set(['|', '^', '&', '<<', '>>', '%']);

/** The semantic rules of LTTng's filter checker, applied to one binary node. */
function check(op: BinaryOp, left: Located, right: Located, col: number): FilterNode {
  for (const side of [left, right]) {
    const other = side === left ? right : left;
    const t = side.node.type;
    if (t === 'string') {
      if (op !== '==' && op !== '!=')
        throw semantic(col, `operator '${op}' cannot compare a string: strings support only == and !=`);
      const o = other.node.type;
      if (o === 'int' || o === 'float' || o === 'unary' || o === 'binary')
        throw semantic(col, `a string can only be compared with a field, a context or another string`);
    }
    if (t === 'float' && INTEGER_ONLY.has(op)) throw semantic(side.col, `operator '${op}' needs integers, not a float`);
  }
  if (left.node.type === 'string' && right.node.type === 'string' && left.node.glob && right.node.glob) {
    throw semantic(col, 'cannot compare two glob patterns');
  }
  return { type: 'binary', op, left: left.node, right: right.node };
}

/** Parses and checks a filter expression; returns its AST or throws a FilterError. */
export function parseFilter(text: string): FilterNode {
  if (typeof text !== 'string')
    throw new FilterError(1, 'filter syntax error at column 1: the filter must be a string');
  if (Buffer.byteLength(text) > MAX_FILTER_BYTES)
    throw new FilterError(1, `filter error at column 1: the filter is longer than ${MAX_FILTER_BYTES} bytes`);
  return new Parser(tokenize(text)).parse().node;
}
