// TSDL tokens (CTF 1.8 §7.2: C-like lexical rules). The text is handled as latin1 so that
// positions are byte offsets and escapes produce bytes; string literals are turned back into
// UTF-8 text once unescaped.
import { CtfError } from './errors';

export type TokenKind = 'id' | 'keyword' | 'int' | 'string' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Source text (identifiers, keywords, punctuation); the unescaped text of a string literal. */
  text: string;
  /** Value of an integer literal (a character literal is an integer too). */
  value?: bigint;
  offset: number;
  line: number;
  column: number;
}

export const KEYWORDS: ReadonlySet<string> = new Set([
  'align',
  'callsite',
  'const',
  'char',
  'clock',
  'double',
  'enum',
  'env',
  'event',
  'floating_point',
  'float',
  'integer',
  'int',
  'long',
  'short',
  'signed',
  'stream',
  'string',
  'struct',
  'trace',
  'typealias',
  'typedef',
  'unsigned',
  'variant',
  'void',
  '_Bool',
  '_Complex',
  '_Imaginary',
]);

// Longest first, so that `:=` and `...` win over `:` and `.`.
const PUNCTUATION = [':=', '...', '->', '[', ']', '(', ')', '{', '}', '*', '+', '-', '<', '>', ':', ';', '.', '=', ','];

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 92,
  "'": 39,
  '"': 34,
  '?': 63,
};

function isIdStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
function isIdPart(c: number): boolean {
  return isIdStart(c) || (c >= 48 && c <= 57);
}

export class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;

  /** `src` is the metadata as latin1 (one character per byte); `where` names it in errors. */
  constructor(
    private readonly src: string,
    private readonly where: string,
  ) {}

  error(message: string, offset = this.pos, line = this.line, column = offset - this.lineStart + 1): CtfError {
    return new CtfError(`${this.where}: ${message} at line ${line}, column ${column} (offset ${offset})`);
  }

  /** All tokens, ending with one `eof`. */
  tokenize(): Token[] {
    const out: Token[] = [];
    for (;;) {
      const t = this.next();
      out.push(t);
      if (t.kind === 'eof') return out;
    }
  }

  private skipBlank(): void {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 10) {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === 32 || c === 9 || c === 13 || c === 11 || c === 12) {
        this.pos++;
      } else if (c === 47 && s.charCodeAt(this.pos + 1) === 42) {
        const start = this.pos;
        const [line, col] = [this.line, this.pos - this.lineStart + 1];
        const end = s.indexOf('*/', this.pos + 2);
        if (end < 0) throw this.error('unterminated comment', start, line, col);
        for (let i = this.pos; i < end; i++) {
          if (s.charCodeAt(i) === 10) {
            this.line++;
            this.lineStart = i + 1;
          }
        }
        this.pos = end + 2;
      } else if (c === 47 && s.charCodeAt(this.pos + 1) === 47) {
        const end = s.indexOf('\n', this.pos);
        this.pos = end < 0 ? s.length : end;
      } else {
        return;
      }
    }
  }

  private next(): Token {
    this.skipBlank();
    const s = this.src;
    const start = this.pos;
    const line = this.line;
    const column = start - this.lineStart + 1;
    const tok = (kind: TokenKind, text: string, value?: bigint): Token => ({
      kind,
      text,
      value,
      offset: start,
      line,
      column,
    });
    if (start >= s.length) return tok('eof', '');
    const c = s.charCodeAt(start);
    if (isIdStart(c)) {
      let end = start + 1;
      while (end < s.length && isIdPart(s.charCodeAt(end))) end++;
      this.pos = end;
      const text = s.slice(start, end);
      return tok(KEYWORDS.has(text) ? 'keyword' : 'id', text);
    }
    if (c >= 48 && c <= 57) return this.integer(start, tok);
    if (c === 34 || c === 39) {
      const bytes = this.quoted(c);
      const text = Buffer.from(bytes, 'latin1').toString('utf8');
      if (c === 39) {
        if (bytes.length !== 1) throw this.error('a character literal holds one character', start, line, column);
        return tok('int', text, BigInt(bytes.charCodeAt(0)));
      }
      return tok('string', text);
    }
    for (const p of PUNCTUATION) {
      if (s.startsWith(p, start)) {
        this.pos = start + p.length;
        return tok('punct', p);
      }
    }
    const shown = c >= 0x20 && c < 0x7f ? `'${s[start]}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
    throw this.error(`unexpected ${shown}`, start, line, column);
  }

  private integer(start: number, tok: (kind: TokenKind, text: string, value?: bigint) => Token): Token {
    const s = this.src;
    const m = /^(0[xX][0-9a-fA-F]+|[1-9][0-9]*|0[0-7]*)([uUlL]*)/.exec(s.slice(start, start + 80));
    if (!m) throw this.error('malformed integer literal', start);
    const end = start + m[0].length;
    if (end < s.length && isIdPart(s.charCodeAt(end)))
      throw this.error(`malformed integer literal "${s.slice(start, end + 1)}"`, start);
    const digits = m[1];
    const value = /^0[xX]/.test(digits)
      ? BigInt(digits)
      : digits.length > 1 && digits[0] === '0'
        ? BigInt(`0o${digits.slice(1)}`)
        : BigInt(digits);
    if (value > 0xffffffffffffffffn) throw this.error(`integer literal ${digits} does not fit in 64 bits`, start);
    this.pos = end;
    return tok('int', digits, value);
  }

  /** The bytes of a quoted literal, escapes resolved (C's, as babeltrace reads them). */
  private quoted(delim: number): string {
    const s = this.src;
    const start = this.pos;
    let i = start + 1;
    let out = '';
    for (;;) {
      if (i >= s.length || s.charCodeAt(i) === 10) throw this.error('unterminated literal', start);
      const c = s.charCodeAt(i);
      if (c === delim) break;
      if (c !== 92) {
        out += s[i++];
        continue;
      }
      const e = s[i + 1];
      if (e === undefined) throw this.error('unterminated literal', start);
      if (SIMPLE_ESCAPES[e] !== undefined) {
        out += String.fromCharCode(SIMPLE_ESCAPES[e]);
        i += 2;
      } else if (e >= '0' && e <= '7') {
        const m = /^[0-7]{1,3}/.exec(s.slice(i + 1, i + 4))![0];
        out += String.fromCharCode(parseInt(m, 8) & 0xff);
        i += 1 + m.length;
      } else if (e === 'x') {
        const m = /^[0-9a-fA-F]{1,3}/.exec(s.slice(i + 2, i + 5));
        if (!m) throw this.error('\\x without hexadecimal digits', i);
        out += String.fromCharCode(parseInt(m[0], 16) & 0xff);
        i += 2 + m[0].length;
      } else {
        throw this.error(`unknown escape \\${e}`, i);
      }
    }
    this.pos = i + 1;
    return out;
  }
}
