// TSDL parser: tokens → trace class. A recursive descent over the subset of CTF 1.8 that tracers
// write (LTTng-UST, LTTng-modules, tstrace): typealias/typedef, named and anonymous
// struct/variant/enum, integer/floating_point/string, arrays and sequences, and the trace, env,
// clock, stream, event and callsite blocks. Type names are scoped like C declarations.
import { CtfError } from './errors';
import { Lexer, Token } from './lexer';
import {
  ByteOrder,
  ClockClass,
  CtfType,
  EnumMapping,
  EventClass,
  IntegerType,
  NamedType,
  StreamClass,
  StructType,
  TraceClass,
} from './types';

class DeclScope {
  readonly aliases = new Map<string, CtfType>();
  readonly structs = new Map<string, StructType>();
  readonly variants = new Map<string, CtfType>();
  readonly enums = new Map<string, CtfType>();
  constructor(readonly parent?: DeclScope) {}

  lookup(kind: 'aliases' | 'structs' | 'variants' | 'enums', name: string): CtfType | undefined {
    return this[kind].get(name) ?? this.parent?.lookup(kind, name);
  }
}

/** C type keywords that may make up an alias name (`unsigned long`). */
const TYPE_WORDS = new Set([
  'const',
  'char',
  'double',
  'float',
  'int',
  'long',
  'short',
  'signed',
  'unsigned',
  'void',
  '_Bool',
  '_Complex',
  '_Imaginary',
]);

type Value = { kind: 'int'; value: bigint } | { kind: 'string'; value: string } | { kind: 'path'; value: string };

interface Attribute {
  name: string;
  value: Value;
  token: Token;
}

interface MutableStream {
  id: number;
  packetContext?: StructType;
  eventHeader?: StructType;
  eventContext?: StructType;
  events: Map<number, EventClass>;
}

export class Parser {
  private readonly lexer: Lexer;
  private readonly toks: Token[];
  private i = 0;
  private readonly root = new DeclScope();
  private byteOrder: 'le' | 'be' | undefined;
  private uuid: string | undefined;
  private major: number | undefined;
  private minor: number | undefined;
  private packetHeader: StructType | undefined;
  private readonly env: Record<string, string | number> = Object.create(null) as Record<string, string | number>;
  private readonly clocks = new Map<string, ClockClass>();
  private readonly streams = new Map<number, MutableStream>();
  private readonly pendingEvents: { e: EventClass; tok: Token }[] = [];

  /** `text` as latin1 (a character per byte); `where` names the metadata in errors. */
  constructor(
    text: string,
    private readonly where: string,
  ) {
    this.lexer = new Lexer(text, where);
    this.toks = this.lexer.tokenize();
  }

  // ---- tokens ------------------------------------------------------------------------------

  private peek(k = 0): Token {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)];
  }
  private take(): Token {
    const t = this.toks[this.i];
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  private fail(message: string, t: Token = this.peek()): CtfError {
    return this.lexer.error(message, t.offset, t.line, t.column);
  }
  private describe(t: Token): string {
    if (t.kind === 'eof') return 'the end of the metadata';
    if (t.kind === 'string') return `string "${t.text}"`;
    return `'${t.text}'`;
  }
  private isPunct(p: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'punct' && t.text === p;
  }
  private isWord(w: string, k = 0): boolean {
    const t = this.peek(k);
    return (t.kind === 'keyword' || t.kind === 'id') && t.text === w;
  }
  private expect(p: string): Token {
    const t = this.peek();
    if (t.kind !== 'punct' || t.text !== p) throw this.fail(`expected '${p}', found ${this.describe(t)}`);
    return this.take();
  }
  private expectName(what: string): Token {
    const t = this.peek();
    if (t.kind !== 'id' && t.kind !== 'keyword') throw this.fail(`expected ${what}, found ${this.describe(t)}`);
    return this.take();
  }

  // ---- top level ---------------------------------------------------------------------------

  parse(): TraceClass {
    while (this.peek().kind !== 'eof') this.topLevel();
    for (const { e, tok } of this.pendingEvents) {
      const s = this.streams.get(e.streamId);
      if (!s) throw this.fail(`event "${e.name}" belongs to stream class ${e.streamId}, which is not declared`, tok);
      if (s.events.has(e.id)) throw this.fail(`event id ${e.id} is declared twice in stream class ${e.streamId}`, tok);
      s.events.set(e.id, e);
    }
    if (
      this.streams.size === 0 &&
      this.pendingEvents.length === 0 &&
      !this.packetHeader &&
      this.byteOrder === undefined
    ) {
      throw new CtfError(`${this.where}: no trace, stream or event declaration: this is not CTF metadata`);
    }
    const byteOrder = this.byteOrder ?? 'le';
    return {
      major: this.major,
      minor: this.minor,
      uuid: this.uuid,
      byteOrder,
      packetHeader: this.packetHeader,
      env: this.env,
      clocks: this.clocks,
      streams: this.streams as Map<number, StreamClass>,
    };
  }

  private topLevel(): void {
    const t = this.peek();
    if (t.kind === 'keyword') {
      switch (t.text) {
        case 'trace':
        case 'env':
        case 'clock':
        case 'stream':
        case 'event':
        case 'callsite':
          if (this.isPunct('{', 1)) {
            this.take();
            this.block(t);
            return;
          }
          break;
        case 'typealias':
          this.typealias(this.root);
          return;
        case 'typedef':
          this.typedef(this.root);
          return;
        default:
          break;
      }
    }
    if (t.kind === 'punct' && t.text === ';') {
      this.take();
      return;
    }
    if (this.startsType()) {
      this.typeSpecifier(this.root);
      if (!this.isPunct(';'))
        throw this.fail(`expected ';' after a type declaration, found ${this.describe(this.peek())}`);
      this.take();
      return;
    }
    throw this.fail(
      `unexpected ${this.describe(t)}: expected trace, env, clock, stream, event, typealias, typedef or a type declaration`,
    );
  }

  private startsType(): boolean {
    const t = this.peek();
    if (t.kind === 'keyword')
      return (
        ['integer', 'floating_point', 'string', 'struct', 'variant', 'enum'].includes(t.text) || TYPE_WORDS.has(t.text)
      );
    return t.kind === 'id' && this.root.lookup('aliases', t.text) !== undefined;
  }

  /** A trace/env/clock/stream/event/callsite block; the keyword has been taken. */
  private block(kw: Token): void {
    this.expect('{');
    const scope = new DeclScope(this.root);
    const attrs: Attribute[] = [];
    const types = new Map<string, { type: CtfType; token: Token }>();
    while (!this.isPunct('}')) {
      if (this.peek().kind === 'eof') throw this.fail(`unterminated ${kw.text} block (opened at line ${kw.line})`);
      if (this.isWord('typealias')) {
        this.typealias(scope);
        continue;
      }
      if (this.isWord('typedef')) {
        this.typedef(scope);
        continue;
      }
      if (this.isPunct(';')) {
        this.take();
        continue;
      }
      const start = this.peek();
      if (
        start.kind === 'keyword' &&
        ['struct', 'variant', 'enum', 'integer', 'floating_point'].includes(start.text) &&
        !this.isPunct('.', 1)
      ) {
        this.typeSpecifier(scope);
        this.expect(';');
        continue;
      }
      const name = this.dottedName('an attribute name');
      if (this.isPunct(':=')) {
        this.take();
        const type = this.typeSpecifier(scope);
        types.set(name, { type, token: start });
      } else if (this.isPunct('=')) {
        this.take();
        attrs.push({ name, value: this.value(), token: start });
      } else {
        throw this.fail(`expected '=' or ':=' after ${name}, found ${this.describe(this.peek())}`);
      }
      this.expect(';');
    }
    this.take();
    this.expect(';');
    switch (kw.text) {
      case 'trace':
        return this.traceBlock(attrs, types);
      case 'env':
        return this.envBlock(attrs);
      case 'clock':
        return this.clockBlock(kw, attrs);
      case 'stream':
        return this.streamBlock(kw, attrs, types);
      case 'event':
        return this.eventBlock(kw, attrs, types);
      default:
        return; // callsite: informational
    }
  }

  private dottedName(what: string): string {
    let name = this.expectName(what).text;
    while (this.isPunct('.') && (this.peek(1).kind === 'id' || this.peek(1).kind === 'keyword')) {
      this.take();
      name += `.${this.take().text}`;
    }
    return name;
  }

  private value(): Value {
    const t = this.peek();
    if (t.kind === 'punct' && (t.text === '-' || t.text === '+')) {
      this.take();
      const n = this.peek();
      if (n.kind !== 'int') throw this.fail(`expected a number after '${t.text}', found ${this.describe(n)}`);
      this.take();
      return { kind: 'int', value: t.text === '-' ? -n.value! : n.value! };
    }
    if (t.kind === 'int') {
      this.take();
      return { kind: 'int', value: t.value! };
    }
    if (t.kind === 'string') {
      this.take();
      return { kind: 'string', value: t.text };
    }
    if (t.kind === 'id' || t.kind === 'keyword') return { kind: 'path', value: this.dottedName('a value') };
    throw this.fail(`expected a value, found ${this.describe(t)}`);
  }

  private intValue(a: Attribute, min: bigint, max: bigint): bigint {
    if (a.value.kind !== 'int' || a.value.value < min || a.value.value > max)
      throw this.fail(`${a.name} must be an integer from ${min} to ${max}`, a.token);
    return a.value.value;
  }

  private textValue(a: Attribute): string {
    if (a.value.kind === 'int') throw this.fail(`${a.name} must be a string or a name`, a.token);
    return a.value.value;
  }

  private boolValue(a: Attribute): boolean {
    const v = a.value;
    if (v.kind === 'int' && (v.value === 0n || v.value === 1n)) return v.value === 1n;
    if (v.kind === 'path' && ['true', 'TRUE'].includes(v.value)) return true;
    if (v.kind === 'path' && ['false', 'FALSE'].includes(v.value)) return false;
    throw this.fail(`${a.name} must be true, false, TRUE, FALSE, 1 or 0`, a.token);
  }

  private scopeStruct(name: string, entry: { type: CtfType; token: Token }): StructType {
    if (entry.type.kind !== 'struct') throw this.fail(`${name} must be a structure`, entry.token);
    return entry.type;
  }

  private traceBlock(attrs: Attribute[], types: Map<string, { type: CtfType; token: Token }>): void {
    for (const a of attrs) {
      switch (a.name) {
        case 'major':
          this.major = Number(this.intValue(a, 0n, 255n));
          break;
        case 'minor':
          this.minor = Number(this.intValue(a, 0n, 255n));
          break;
        case 'uuid': {
          const u = this.textValue(a);
          if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(u))
            throw this.fail(`trace uuid "${u}" is not 8-4-4-4-12 hexadecimal`, a.token);
          this.uuid = u.toLowerCase();
          break;
        }
        case 'byte_order': {
          const bo = this.byteOrderOf(a);
          if (bo === 'native') throw this.fail('the trace byte order must be le or be', a.token);
          this.byteOrder = bo;
          break;
        }
        default:
          break;
      }
    }
    if (this.major !== undefined && this.major !== 1)
      throw new CtfError(`${this.where}: CTF ${this.major}.${this.minor ?? 0} is not supported (only CTF 1.8)`);
    for (const [name, entry] of types) {
      if (name === 'packet.header') this.packetHeader = this.scopeStruct(name, entry);
    }
  }

  private envBlock(attrs: Attribute[]): void {
    for (const a of attrs) {
      const v = a.value;
      this.env[a.name] =
        v.kind === 'int'
          ? v.value >= BigInt(Number.MIN_SAFE_INTEGER) && v.value <= BigInt(Number.MAX_SAFE_INTEGER)
            ? Number(v.value)
            : String(v.value)
          : v.value;
    }
  }

  private clockBlock(kw: Token, attrs: Attribute[]): void {
    const c: { -readonly [K in keyof ClockClass]?: ClockClass[K] } = {
      freq: 1_000_000_000n,
      precision: 0n,
      offsetS: 0n,
      offset: 0n,
      absolute: false,
    };
    for (const a of attrs) {
      switch (a.name) {
        case 'name':
          c.name = this.textValue(a);
          break;
        case 'uuid':
          c.uuid = this.textValue(a);
          break;
        case 'description':
          c.description = this.textValue(a);
          break;
        case 'freq':
          c.freq = this.intValue(a, 1n, 0xffffffffffffffffn);
          break;
        case 'precision':
          c.precision = this.intValue(a, 0n, 0xffffffffffffffffn);
          break;
        case 'offset_s':
          c.offsetS = this.intValue(a, -(1n << 63n), (1n << 63n) - 1n);
          break;
        case 'offset':
          c.offset = this.intValue(a, -(1n << 63n), 0xffffffffffffffffn);
          break;
        case 'absolute':
          c.absolute = this.boolValue(a);
          break;
        default:
          break;
      }
    }
    if (c.name === undefined) throw this.fail('a clock needs a name', kw);
    this.clocks.set(c.name, c as ClockClass);
  }

  private streamBlock(kw: Token, attrs: Attribute[], types: Map<string, { type: CtfType; token: Token }>): void {
    let id = 0;
    for (const a of attrs) if (a.name === 'id') id = Number(this.intValue(a, 0n, BigInt(Number.MAX_SAFE_INTEGER)));
    if (this.streams.has(id)) throw this.fail(`stream class ${id} is declared twice`, kw);
    const s: MutableStream = { id, events: new Map() };
    for (const [name, entry] of types) {
      if (name === 'packet.context') s.packetContext = this.scopeStruct(name, entry);
      else if (name === 'event.header') s.eventHeader = this.scopeStruct(name, entry);
      else if (name === 'event.context') s.eventContext = this.scopeStruct(name, entry);
    }
    this.streams.set(id, s);
  }

  private eventBlock(kw: Token, attrs: Attribute[], types: Map<string, { type: CtfType; token: Token }>): void {
    const e: { -readonly [K in keyof EventClass]?: EventClass[K] } = { id: 0, streamId: 0 };
    for (const a of attrs) {
      switch (a.name) {
        case 'name':
          e.name = this.textValue(a);
          break;
        case 'id':
          e.id = Number(this.intValue(a, 0n, BigInt(Number.MAX_SAFE_INTEGER)));
          break;
        case 'stream_id':
          e.streamId = Number(this.intValue(a, 0n, BigInt(Number.MAX_SAFE_INTEGER)));
          break;
        case 'loglevel':
          e.loglevel = Number(this.intValue(a, -(1n << 31n), (1n << 31n) - 1n));
          break;
        case 'model.emf.uri':
          e.emfUri = this.textValue(a);
          break;
        default:
          break;
      }
    }
    for (const [name, entry] of types) {
      if (name === 'context') e.context = this.scopeStruct(name, entry);
      else if (name === 'fields') e.fields = this.scopeStruct(name, entry);
    }
    if (e.name === undefined) throw this.fail('an event needs a name', kw);
    this.pendingEvents.push({ e: e as EventClass, tok: kw });
  }

  // ---- declarations ------------------------------------------------------------------------

  private typealias(scope: DeclScope): void {
    this.take();
    const type = this.declaratorSuffix(this.typeSpecifier(scope));
    this.expect(':=');
    const words: string[] = [];
    while (this.peek().kind === 'id' || this.peek().kind === 'keyword') words.push(this.take().text);
    if (words.length === 0) throw this.fail(`expected the alias name after ':=', found ${this.describe(this.peek())}`);
    const aliased = this.declaratorSuffix(type);
    scope.aliases.set(words.filter((w) => w !== 'const').join(' '), aliased);
    this.expect(';');
  }

  private typedef(scope: DeclScope): void {
    this.take();
    const base = this.typeSpecifier(scope);
    for (;;) {
      const { name, type } = this.declarator(base);
      scope.aliases.set(name, type);
      if (!this.isPunct(',')) break;
      this.take();
    }
    this.expect(';');
  }

  /** `[N]` or `[path]` after a name, innermost last: `a[2][3]` is 2 arrays of 3. */
  private declaratorSuffix(base: CtfType): CtfType {
    const dims: ({ n: number } | { path: string })[] = [];
    while (this.isPunct('[')) {
      const open = this.take();
      const t = this.peek();
      if (t.kind === 'int') {
        this.take();
        if (t.value! > 0xffffffffn) throw this.fail('array length too large', t);
        dims.push({ n: Number(t.value) });
      } else if (t.kind === 'id' || t.kind === 'keyword') {
        dims.push({ path: this.dottedName('a length field') });
      } else {
        throw this.fail(`expected an array length or a length field after '['`, open);
      }
      this.expect(']');
    }
    let type = base;
    for (let k = dims.length - 1; k >= 0; k--) {
      const d = dims[k];
      type = 'n' in d ? { kind: 'array', length: d.n, elem: type } : { kind: 'sequence', length: d.path, elem: type };
    }
    return type;
  }

  private declarator(base: CtfType): { name: string; type: CtfType; token: Token } {
    if (this.isPunct('*')) throw this.fail('pointer declarators are not supported');
    const token = this.expectName('a field name');
    if (token.kind === 'keyword') throw this.fail(`'${token.text}' is a reserved word, not a field name`, token);
    return { name: token.text, type: this.declaratorSuffix(base), token };
  }

  /** Members of a struct or options of a variant, up to the closing brace (taken). */
  private fieldList(scope: DeclScope, what: string): NamedType[] {
    const open = this.expect('{');
    const inner = new DeclScope(scope);
    const out: NamedType[] = [];
    const seen = new Set<string>();
    while (!this.isPunct('}')) {
      if (this.peek().kind === 'eof') throw this.fail(`unterminated ${what} (opened at line ${open.line})`);
      if (this.isWord('typealias')) {
        this.typealias(inner);
        continue;
      }
      if (this.isWord('typedef')) {
        this.typedef(inner);
        continue;
      }
      if (this.isPunct(';')) {
        this.take();
        continue;
      }
      const base = this.typeSpecifier(inner);
      if (this.isPunct(';')) {
        // A type declared inside the body (`struct s { ... };`), no member.
        this.take();
        continue;
      }
      for (;;) {
        const { name, type, token } = this.declarator(base);
        if (seen.has(name)) throw this.fail(`duplicate member "${name}" in ${what}`, token);
        seen.add(name);
        out.push({ name, type });
        if (!this.isPunct(',')) break;
        this.take();
      }
      this.expect(';');
    }
    this.take();
    return out;
  }

  private typeSpecifier(scope: DeclScope): CtfType {
    const t = this.peek();
    if (t.kind === 'keyword') {
      switch (t.text) {
        case 'integer':
          this.take();
          return this.integer(this.attributes());
        case 'floating_point':
          this.take();
          return this.floatingPoint(this.attributes());
        case 'string':
          this.take();
          if (this.isPunct('{')) {
            for (const a of this.attributes())
              if (a.name !== 'encoding') throw this.fail(`unknown string attribute ${a.name}`, a.token);
          }
          return { kind: 'string' };
        case 'struct':
          return this.struct(scope);
        case 'variant':
          return this.variant(scope);
        case 'enum':
          return this.enumeration(scope);
        default:
          break;
      }
    }
    // An alias: C type words (`unsigned long`), or one declared name.
    const words: string[] = [];
    const first = this.peek();
    for (;;) {
      const w = this.peek();
      if (w.kind === 'keyword' && TYPE_WORDS.has(w.text)) {
        this.take();
        if (w.text !== 'const') words.push(w.text);
      } else if (w.kind === 'id' && words.length === 0 && scope.lookup('aliases', w.text)) {
        this.take();
        words.push(w.text);
        break;
      } else {
        break;
      }
    }
    if (words.length === 0)
      throw this.fail(
        first.kind === 'id' ? `unknown type "${first.text}"` : `expected a type, found ${this.describe(first)}`,
        first,
      );
    const type = scope.lookup('aliases', words.join(' '));
    if (!type) throw this.fail(`unknown type "${words.join(' ')}"`, first);
    return type;
  }

  private attributes(): Attribute[] {
    this.expect('{');
    const out: Attribute[] = [];
    while (!this.isPunct('}')) {
      if (this.isPunct(';')) {
        this.take();
        continue;
      }
      const token = this.peek();
      const name = this.dottedName('an attribute name');
      this.expect('=');
      out.push({ name, value: this.value(), token });
      if (!this.isPunct('}')) this.expect(';');
    }
    this.take();
    return out;
  }

  private byteOrderOf(a: Attribute): ByteOrder {
    const v = a.value.kind === 'int' ? '' : a.value.value;
    if (v === 'le' || v === 'little') return 'le';
    if (v === 'be' || v === 'big' || v === 'network') return 'be';
    if (v === 'native') return 'native';
    throw this.fail(`byte_order must be le, be, network or native, not ${v || String(a.value.value)}`, a.token);
  }

  private integer(attrs: Attribute[]): IntegerType {
    let size: number | undefined;
    let align: number | undefined;
    let signed = false;
    let byteOrder: ByteOrder = 'native';
    let base: IntegerType['base'] = 10;
    let encoding: IntegerType['encoding'] = 'none';
    let map: string | undefined;
    for (const a of attrs) {
      switch (a.name) {
        case 'size':
          size = Number(this.intValue(a, 1n, 64n));
          break;
        case 'align':
          align = this.alignValue(a);
          break;
        case 'signed':
          signed = this.boolValue(a);
          break;
        case 'byte_order':
          byteOrder = this.byteOrderOf(a);
          break;
        case 'base': {
          const v = a.value;
          const text = v.kind === 'int' ? String(v.value) : v.value;
          const b = (
            {
              2: 2,
              b: 2,
              binary: 2,
              8: 8,
              o: 8,
              oct: 8,
              octal: 8,
              10: 10,
              d: 10,
              i: 10,
              u: 10,
              dec: 10,
              decimal: 10,
              16: 16,
              x: 16,
              X: 16,
              p: 16,
              hex: 16,
              hexadecimal: 16,
            } as Record<string, 2 | 8 | 10 | 16>
          )[text];
          if (!b) throw this.fail(`unknown integer base ${text}`, a.token);
          base = b;
          break;
        }
        case 'encoding': {
          const v = a.value.kind === 'int' ? '' : a.value.value;
          if (['UTF8', 'utf8', 'utf-8', 'UTF-8', 'ASCII', 'ascii'].includes(v)) encoding = 'utf8';
          else if (v === 'none') encoding = 'none';
          else throw this.fail(`unknown encoding ${v}`, a.token);
          break;
        }
        case 'map': {
          const v = a.value.kind === 'path' ? /^clock\.([A-Za-z_][A-Za-z0-9_]*)\.value$/.exec(a.value.value) : null;
          if (!v) throw this.fail('map must be clock.NAME.value', a.token);
          map = v[1];
          break;
        }
        default:
          throw this.fail(`unknown integer attribute ${a.name}`, a.token);
      }
    }
    if (size === undefined) throw this.fail('an integer needs a size', attrs[0]?.token ?? this.peek());
    return { kind: 'integer', size, align: align ?? (size % 8 === 0 ? 8 : 1), signed, byteOrder, base, encoding, map };
  }

  private alignValue(a: Attribute): number {
    const v = this.intValue(a, 1n, 1n << 20n);
    if ((v & (v - 1n)) !== 0n) throw this.fail(`alignment ${v} is not a power of two`, a.token);
    return Number(v);
  }

  private floatingPoint(attrs: Attribute[]): CtfType {
    let expDig: number | undefined;
    let mantDig: number | undefined;
    let align: number | undefined;
    let byteOrder: ByteOrder = 'native';
    for (const a of attrs) {
      if (a.name === 'exp_dig') expDig = Number(this.intValue(a, 1n, 64n));
      else if (a.name === 'mant_dig') mantDig = Number(this.intValue(a, 1n, 64n));
      else if (a.name === 'align') align = this.alignValue(a);
      else if (a.name === 'byte_order') byteOrder = this.byteOrderOf(a);
      else throw this.fail(`unknown floating_point attribute ${a.name}`, a.token);
    }
    const where = attrs[0]?.token ?? this.peek();
    if (!((expDig === 8 && mantDig === 24) || (expDig === 11 && mantDig === 53))) {
      throw this.fail(
        `only 32-bit (exp_dig 8, mant_dig 24) and 64-bit (11, 53) floating point numbers are supported, not ${expDig}/${mantDig}`,
        where,
      );
    }
    return { kind: 'float', expDig, mantDig, align: align ?? ((expDig + mantDig) % 8 === 0 ? 8 : 1), byteOrder };
  }

  private struct(scope: DeclScope): CtfType {
    const kw = this.take();
    const name = this.peek().kind === 'id' ? this.take().text : undefined;
    let type: StructType;
    if (this.isPunct('{')) {
      const members = this.fieldList(scope, name ? `struct ${name}` : 'a struct');
      let minAlign = 1;
      if (this.isWord('align')) {
        this.take();
        this.expect('(');
        const t = this.peek();
        if (t.kind !== 'int' || t.value! < 1n || (t.value! & (t.value! - 1n)) !== 0n || t.value! > 1n << 20n)
          throw this.fail('align(N) needs a power of two', t);
        this.take();
        minAlign = Number(t.value);
        this.expect(')');
      }
      type = { kind: 'struct', members, minAlign };
      if (name) scope.structs.set(name, type);
    } else {
      if (!name) throw this.fail('a struct needs a name or a body', kw);
      const found = scope.lookup('structs', name) as StructType | undefined;
      if (!found) throw this.fail(`unknown struct ${name}`, kw);
      type = found;
      if (this.isWord('align')) throw this.fail('align() goes with a struct body', this.peek());
    }
    return type;
  }

  private variant(scope: DeclScope): CtfType {
    const kw = this.take();
    const name = this.peek().kind === 'id' ? this.take().text : undefined;
    let tag: string | undefined;
    if (this.isPunct('<')) {
      this.take();
      tag = this.dottedName('the tag of a variant');
      this.expect('>');
    }
    if (this.isPunct('{')) {
      const options = this.fieldList(scope, name ? `variant ${name}` : 'a variant');
      const type: CtfType = { kind: 'variant', tag, options };
      if (name) scope.variants.set(name, { kind: 'variant', options });
      return type;
    }
    if (!name) throw this.fail('a variant needs a name or a body', kw);
    const found = scope.lookup('variants', name);
    if (!found || found.kind !== 'variant') throw this.fail(`unknown variant ${name}`, kw);
    return { kind: 'variant', tag: tag ?? found.tag, options: found.options };
  }

  private enumeration(scope: DeclScope): CtfType {
    const kw = this.take();
    const name = this.peek().kind === 'id' ? this.take().text : undefined;
    let container: CtfType | undefined;
    if (this.isPunct(':')) {
      this.take();
      container = this.typeSpecifier(scope);
    }
    if (!this.isPunct('{')) {
      if (!name || container)
        throw this.fail(`expected '{' (the enumeration's labels), found ${this.describe(this.peek())}`);
      const found = scope.lookup('enums', name);
      if (!found) throw this.fail(`unknown enum ${name}`, kw);
      return found;
    }
    if (!container) {
      container = scope.lookup('aliases', 'int');
      if (!container) throw this.fail('an enumeration without a container type needs an "int" type alias', kw);
    }
    if (container.kind !== 'integer') throw this.fail("an enumeration's container must be an integer type", kw);
    const open = this.expect('{');
    const byLabel = new Map<string, [bigint, bigint][]>();
    let next = 0n;
    while (!this.isPunct('}')) {
      if (this.peek().kind === 'eof') throw this.fail(`unterminated enumeration (opened at line ${open.line})`);
      const lt = this.peek();
      if (lt.kind !== 'string' && lt.kind !== 'id' && lt.kind !== 'keyword')
        throw this.fail(`expected an enumeration label, found ${this.describe(lt)}`);
      this.take();
      let lo = next;
      let hi = next;
      if (this.isPunct('=')) {
        this.take();
        lo = this.enumValue();
        hi = lo;
        if (this.isPunct('...')) {
          this.take();
          hi = this.enumValue();
          if (hi < lo) throw this.fail(`range ${lo} ... ${hi} of label "${lt.text}" is empty`, lt);
        }
      }
      next = hi + 1n;
      const ranges = byLabel.get(lt.text) ?? [];
      ranges.push([lo, hi]);
      byLabel.set(lt.text, ranges);
      if (!this.isPunct(',')) break;
      this.take();
    }
    this.expect('}');
    const mappings: EnumMapping[] = [...byLabel].map(([label, ranges]) => ({ label, ranges }));
    const type: CtfType = { kind: 'enum', container, mappings };
    if (name) scope.enums.set(name, type);
    return type;
  }

  private enumValue(): bigint {
    const t = this.peek();
    let neg = false;
    if (t.kind === 'punct' && (t.text === '-' || t.text === '+')) {
      neg = t.text === '-';
      this.take();
    }
    const n = this.peek();
    if (n.kind !== 'int') throw this.fail(`expected an enumeration value, found ${this.describe(n)}`);
    this.take();
    return neg ? -n.value! : n.value!;
  }
}

/** Parses a whole TSDL text (latin1: one character per byte); `where` names it in errors. */
export function parseMetadata(text: string, where: string): TraceClass {
  return new Parser(text, where).parse();
}
