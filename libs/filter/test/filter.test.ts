import { expect } from 'chai';
import { FilterError, filterFromJson, filterToJson, formatFilter, parseFilter } from '../src';

const f = (name: string) => ({ type: 'field', path: [name], index: [] });
const int = (value: string) => ({ type: 'int', value });

function errorOf(text: string): FilterError {
  try {
    parseFilter(text);
  } catch (err) {
    expect(err).to.be.instanceOf(FilterError);
    return err as FilterError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe('parseFilter', () => {
  it('follows C precedence', () => {
    expect(parseFilter('a + b * c')).to.deep.equal({
      type: 'binary',
      op: '+',
      left: f('a'),
      right: { type: 'binary', op: '*', left: f('b'), right: f('c') },
    });
    expect(parseFilter('a || b && c')).to.deep.equal({
      type: 'binary',
      op: '||',
      left: f('a'),
      right: { type: 'binary', op: '&&', left: f('b'), right: f('c') },
    });
    expect(parseFilter('a - b - c')).to.deep.equal({
      type: 'binary',
      op: '-',
      left: { type: 'binary', op: '-', left: f('a'), right: f('b') },
      right: f('c'),
    });
    expect(parseFilter('a & 1 == 1')).to.deep.equal({
      type: 'binary',
      op: '&',
      left: f('a'),
      right: { type: 'binary', op: '==', left: int('1'), right: int('1') },
    });
    expect(parseFilter('x << 2 < y')).to.deep.equal({
      type: 'binary',
      op: '<',
      left: { type: 'binary', op: '<<', left: f('x'), right: int('2') },
      right: f('y'),
    });
  });

  it('parses unary operators, parentheses, fields, indexes and contexts', () => {
    expect(parseFilter('!(x == 1)')).to.deep.equal({
      type: 'unary',
      op: '!',
      operand: { type: 'binary', op: '==', left: f('x'), right: int('1') },
    });
    expect(parseFilter('-x > ~3')).to.deep.equal({
      type: 'binary',
      op: '>',
      left: { type: 'unary', op: '-', operand: f('x') },
      right: { type: 'unary', op: '~', operand: int('3') },
    });
    expect(parseFilter('req.hdr[2][0] != 0')).to.deep.equal({
      type: 'binary',
      op: '!=',
      left: { type: 'field', path: ['req', 'hdr'], index: [2, 0] },
      right: int('0'),
    });
    expect(parseFilter('$ctx.vpid == 42 && $app.myprov:ctx == "x"')).to.deep.equal({
      type: 'binary',
      op: '&&',
      left: { type: 'binary', op: '==', left: { type: 'context', scope: 'ctx', name: 'vpid' }, right: int('42') },
      right: {
        type: 'binary',
        op: '==',
        left: { type: 'context', scope: 'app', name: 'myprov:ctx' },
        right: { type: 'string', value: 'x', glob: false },
      },
    });
  });

  it('reads numbers in decimal, hex and octal, 64-bit exact, and floats', () => {
    expect(parseFilter('x == 0x1F')).to.deep.include({ right: int('31') });
    expect(parseFilter('x == 017')).to.deep.include({ right: int('15') });
    expect(parseFilter('x == 18446744073709551615')).to.deep.include({ right: int('18446744073709551615') });
    expect(parseFilter('x > 1.5e3')).to.deep.include({ right: { type: 'float', value: 1500 } });
  });

  it('reads strings with escapes, and marks glob patterns', () => {
    expect(parseFilter('msg == "a\\"b\\n\\\\"')).to.deep.include({
      right: { type: 'string', value: 'a"b\n\\', glob: false },
    });
    expect(parseFilter('msg == "req*"')).to.deep.include({ right: { type: 'string', value: 'req*', glob: true } });
    expect(parseFilter('msg == "2\\*3"')).to.deep.include({ right: { type: 'string', value: '2*3', glob: false } });
    expect(parseFilter('msg == "a\\*b*"')).to.deep.include({ right: { type: 'string', value: 'a\\*b*', glob: true } });
  });

  const refused: [string, number, string][] = [
    ['', 1, 'filter syntax error at column 1: the filter is empty'],
    ['x <', 4, 'filter syntax error at column 4: unexpected end of filter: an operand is missing'],
    ['(x == 1', 8, "filter syntax error at column 8: expected ')' but found the end of the filter"],
    ['x == 1)', 7, "filter syntax error at column 7: unexpected ')'"],
    ['x == "abc', 6, 'filter syntax error at column 6: unterminated string'],
    ['x == 08', 6, 'filter syntax error at column 6: invalid octal number "08"'],
    ['x == 12ab', 6, 'filter syntax error at column 6: invalid number "12a"'],
    [
      'x == 18446744073709551616',
      6,
      'filter syntax error at column 6: integer "18446744073709551616" does not fit in 64 bits',
    ],
    ['process.exit()', 13, 'filter syntax error at column 13: unexpected \'(\' after field "process.exit"'],
    ['`rm -rf /`', 1, 'filter syntax error at column 1: unexpected character "`"'],
    ["constructor.constructor('x')()", 25, 'filter syntax error at column 25: unexpected character "\'"'],
    [
      'constructor.constructor("x")()',
      24,
      'filter syntax error at column 24: unexpected \'(\' after field "constructor.constructor"',
    ],
    ['a; b', 2, 'filter syntax error at column 2: unexpected character ";"'],
    ['x == {}', 6, 'filter syntax error at column 6: unexpected character "{"'],
    ['"a" < 3', 5, "filter error at column 5: operator '<' cannot compare a string: strings support only == and !="],
    [
      'name == 3 + "a"',
      11,
      "filter error at column 11: operator '+' cannot compare a string: strings support only == and !=",
    ],
    [
      '"a" == 3',
      5,
      'filter error at column 5: a string can only be compared with a field, a context or another string',
    ],
    ['1.5 % 2', 1, "filter error at column 1: operator '%' needs integers, not a float"],
    ['x & 2.0', 5, "filter error at column 5: operator '&' needs integers, not a float"],
    ['!"abc"', 2, "filter error at column 2: operator '!' cannot apply to a string"],
    ['x == "\\q"', 7, 'filter syntax error at column 7: unknown escape sequence "\\q"'],
    ['$env.HOME == "x"', 1, 'filter syntax error at column 1: expected $ctx.NAME or $app.PROVIDER:NAME'],
    ['x[a] == 1', 3, 'filter syntax error at column 3: expected an integer index but found "a"'],
    ['x y', 3, 'filter syntax error at column 3: unexpected "y" after field "x"'],
  ];
  for (const [text, column, message] of refused) {
    it(`refuses ${JSON.stringify(text)} at column ${column}`, () => {
      const err = errorOf(text);
      expect(err.message).to.equal(message);
      expect(err.column).to.equal(column);
    });
  }

  it('gives a FilterError, not a stack overflow, for absurd nesting', () => {
    expect(errorOf('('.repeat(10000) + 'x' + ')'.repeat(10000)).message).to.match(/nested deeper than 256 levels/);
    expect(errorOf('!'.repeat(60000) + 'x').message).to.match(/nested deeper than 256 levels/);
    expect(errorOf('('.repeat(100000) + 'x' + ')'.repeat(100000)).message).to.match(/longer than 65536 bytes/);
    expect(errorOf('x' + ' + x'.repeat(20000)).message).to.match(/longer than 65536 bytes/);
  });

  it('never throws anything but FilterError on random input (fixed seed)', () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const alphabet = 'ab01x_.$"\\*()[]!~-+/%<>=&|^ \t\'`;{}:,ctxapp9e';
    let parsed = 0;
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(rand() * 20);
      let text = '';
      for (let j = 0; j < len; j++) text += alphabet[Math.floor(rand() * alphabet.length)];
      try {
        const ast = parseFilter(text);
        expect(parseFilter(formatFilter(ast))).to.deep.equal(ast);
        parsed++;
      } catch (err) {
        expect(err, text).to.be.instanceOf(FilterError);
      }
    }
    expect(parsed).to.be.greaterThan(10);
  });
});

describe('formatFilter', () => {
  for (const text of [
    'x > 10 && msg == "a*"',
    '(a + b) * c',
    'a - (b - c)',
    '!(x == 1) || -(y + 1) > 2',
    'msg == "q\\"uote\\n"',
    '$ctx.procname == "node" && a.b[1] <= 2.5',
    'x == "a\\*b*"',
  ]) {
    it(`round-trips ${text}`, () => {
      const ast = parseFilter(text);
      expect(parseFilter(formatFilter(ast))).to.deep.equal(ast);
    });
  }
  it('drops parentheses that precedence makes useless', () => {
    expect(formatFilter(parseFilter('((a)) + (b * c)'))).to.equal('a + b * c');
  });
});

describe('filterFromJson', () => {
  it('reads back what filterToJson wrote', () => {
    const ast = parseFilter('x > 10 && msg == "a*" || $ctx.vpid != 3');
    expect(filterFromJson(filterToJson(ast))).to.deep.equal(ast);
  });
  const bad: [string, RegExp][] = [
    ['not json', /invalid filter AST/],
    ['[]', /a node must be an object/],
    ['{"type":"eval","value":"x"}', /unknown node type "eval"/],
    [
      '{"type":"binary","op":"=>","left":{"type":"int","value":"1"},"right":{"type":"int","value":"1"}}',
      /unknown binary operator/,
    ],
    ['{"type":"int"}', /has the keys type, value/],
    ['{"type":"int","value":1}', /decimal string/],
    ['{"type":"int","value":"1","__proto__":{"polluted":1}}', /has the keys/],
    ['{"type":"field","path":["constructor()"],"index":[]}', /list of names/],
    ['{"type":"context","scope":"env","name":"HOME"}', /scope/],
  ];
  for (const [json, message] of bad) {
    it(`refuses ${json}`, () => {
      expect(() => filterFromJson(json)).to.throw(FilterError, message);
    });
  }
  it('leaves no polluted prototype behind', () => {
    expect(() => filterFromJson('{"type":"int","value":"1","__proto__":{"polluted":1}}')).to.throw(FilterError);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });
});
