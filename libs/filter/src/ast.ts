/** Binary operators, by precedence from loosest to tightest (as in C). */
export const BINARY_LEVELS: readonly (readonly string[])[] = [
  ['||'],
  ['&&'],
  ['|'],
  ['^'],
  ['&'],
  ['==', '!='],
  ['<', '<=', '>', '>='],
  ['<<', '>>'],
  ['+', '-'],
  ['*', '/', '%'],
];
export const UNARY_OPS = ['!', '~', '-', '+'] as const;

export type BinaryOp =
  '||' | '&&' | '|' | '^' | '&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '<<' | '>>' | '+' | '-' | '*' | '/' | '%';
export type UnaryOp = (typeof UNARY_OPS)[number];

/**
 * The checked AST of a filter: plain JSON-ready objects. Integers are decimal strings so that
 * 64-bit values survive JSON; a string with an unescaped '*' is a glob pattern.
 */
export type FilterNode =
  | { type: 'binary'; op: BinaryOp; left: FilterNode; right: FilterNode }
  | { type: 'unary'; op: UnaryOp; operand: FilterNode }
  | { type: 'int'; value: string }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string; glob: boolean }
  | { type: 'field'; path: string[]; index: number[] }
  | { type: 'context'; scope: 'ctx' | 'app'; name: string };

export function precedence(op: string): number {
  return BINARY_LEVELS.findIndex((level) => level.includes(op));
}

/** A bad filter: the message names the column (1-based) and what was wrong. */
export class FilterError extends Error {
  constructor(
    readonly column: number,
    message: string,
  ) {
    super(message);
    this.name = 'FilterError';
  }
}
