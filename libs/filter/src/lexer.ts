import { FilterError } from './ast';

export type Token =
  | { kind: 'int'; value: string; col: number; text: string }
  | { kind: 'float'; value: number; col: number; text: string }
  | { kind: 'string'; value: string; glob: boolean; col: number; text: string }
  | { kind: 'ident'; value: string; col: number; text: string }
  | { kind: 'context'; scope: 'ctx' | 'app'; value: string; col: number; text: string }
  | { kind: 'op'; value: string; col: number; text: string }
  | { kind: 'end'; col: number; text: string };

const OPERATORS = [
  '<<',
  '>>',
  '<=',
  '>=',
  '==',
  '!=',
  '&&',
  '||',
  '!',
  '~',
  '-',
  '+',
  '*',
  '/',
  '%',
  '<',
  '>',
  '&',
  '^',
  '|',
  '(',
  ')',
  '[',
  ']',
  '.',
];
const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  '"': '"',
  "'": "'",
  '0': '\0',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

const syntax = (col: number, what: string) => new FilterError(col, `filter syntax error at column ${col}: ${what}`);

/** Splits filter text into tokens; the columns are 1-based. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const col = i + 1;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m =
        /^(0[xX][0-9a-fA-F]+|[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+\.(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|[0-9]+)[uUlL]*/.exec(
          text.slice(i),
        ) as RegExpExecArray;
      const lit = m[1];
      const after = text[i + m[0].length];
      if (after !== undefined && /[A-Za-z0-9_.]/.test(after))
        throw syntax(col, `invalid number "${text.slice(i, i + m[0].length + 1)}"`);
      if (/^0[xX]/.test(lit) || !/[.eE]/.test(lit)) {
        if (/^0[0-9]/.test(lit) && !/^0[0-7]+$/.test(lit)) throw syntax(col, `invalid octal number "${lit}"`);
        const value = /^0[0-7]/.test(lit) ? BigInt(`0o${lit.slice(1)}`) : BigInt(lit);
        if (value > 0xffffffffffffffffn) throw syntax(col, `integer "${lit}" does not fit in 64 bits`);
        tokens.push({ kind: 'int', value: value.toString(), col, text: m[0] });
      } else {
        tokens.push({ kind: 'float', value: Number(lit), col, text: m[0] });
      }
      i += m[0].length;
    } else if (c === '"') {
      let value = '';
      let glob = false;
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw syntax(col, 'unterminated string');
        const d = text[j];
        if (d === '"') break;
        if (d === '\\') {
          const e = text[j + 1];
          if (e === undefined) throw syntax(col, 'unterminated string');
          if (e === '*') value += '\\*';
          else if (e in ESCAPES) value += ESCAPES[e];
          else throw syntax(j + 1, `unknown escape sequence "\\${e}"`);
          j += 2;
          continue;
        }
        if (d === '*') glob = true;
        value += d;
        j++;
      }
      // An escaped star stays "\*" only in glob patterns, where it means a literal star.
      if (!glob) value = value.replace(/\\\*/g, '*');
      tokens.push({ kind: 'string', value, glob, col, text: text.slice(i, j + 1) });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'ident', value: m[0], col, text: m[0] });
      i += m[0].length;
    } else if (c === '$') {
      const m = /^\$(ctx|app)\.([A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*)?)/.exec(text.slice(i));
      if (!m) throw syntax(col, 'expected $ctx.NAME or $app.PROVIDER:NAME');
      if (m[1] === 'app' && !m[2].includes(':')) throw syntax(col, 'an app context is written $app.PROVIDER:NAME');
      if (m[1] === 'ctx' && m[2].includes(':')) throw syntax(col, 'a context is written $ctx.NAME');
      tokens.push({ kind: 'context', scope: m[1] as 'ctx' | 'app', value: m[2], col, text: m[0] });
      i += m[0].length;
    } else {
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (!op) throw syntax(col, `unexpected character ${JSON.stringify(c)}`);
      tokens.push({ kind: 'op', value: op, col, text: op });
      i += op.length;
    }
  }
  tokens.push({ kind: 'end', col: text.length + 1, text: 'end of filter' });
  return tokens;
}
