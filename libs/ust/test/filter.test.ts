import { filterToJson, parseFilter } from '@tstrace/filter';
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { array, bytes, chars, double, enumeration, Field, float, s32, sequence, string, u32, u64 } from '../src/fields';
import { compileFilters, FilterContext, globMatcher } from '../src/filter';

const FIELDS: Field<unknown>[] = [
  u64('id'),
  s32('n'),
  u32('u'),
  double('lat'),
  float('f32'),
  string('path'),
  chars('name', 8),
  enumeration('color', 'u8', { RED: 0, GREEN: 1 }),
  bytes('data'),
  sequence('seq', 'u16'),
  array('arr', 'u8', 3),
];
const CTX: FilterContext = { vpid: 100, vtid: 101, vuid: 1000, vgid: 1001, procname: 'myproc' };
const BASE: Record<string, unknown> = {
  id: 1n,
  n: 0,
  u: 0,
  lat: 0,
  f32: 0,
  path: '',
  name: '',
  color: 'RED',
  data: new Uint8Array(0),
  seq: [],
  arr: [],
};

function evaluate(filters: string | string[], values: Record<string, unknown> = {}, fields = FIELDS): boolean {
  const asts = (Array.isArray(filters) ? filters : [filters]).map((f) => filterToJson(parseFilter(f)));
  const compiled = compileFilters(
    asts,
    fields.map((f) => ({ name: f.name, info: f.codec.info })),
    CTX,
  );
  const all = { ...BASE, ...values };
  return compiled(fields.map((f) => all[f.name]));
}

/** [filter, field values, expected] */
const CASES: [string, Record<string, unknown>, boolean][] = [
  ['n > 10', { n: 11 }, true],
  ['n > 10', { n: 10 }, false],
  ['n == -5', { n: -5 }, true],
  ['n >= 10 && n <= 20', { n: 20 }, true],
  ['u == 4294967295', { u: -1 }, true],
  ['u == 0xffffffff', { u: 0xffffffff }, true],
  ['id == 18446744073709551615', { id: 2n ** 64n - 1n }, true],
  // As in LTTng, 64-bit integers compare as signed: 2^63 is negative.
  ['id > 0', { id: 2n ** 63n }, false],
  ['id == 5', { id: 5 }, true],
  ['id == 9007199254740993', { id: 9007199254740993n }, true],
  ['id == 9007199254740992', { id: 9007199254740993n }, false],
  ['lat > 2.5', { lat: 3 }, true],
  ['lat == 2', { lat: 2 }, true],
  ['n < 2.5', { n: 2 }, true],
  ['n == 2.0', { n: 2 }, true],
  ['f32 == 0.1', { f32: 0.1 }, false],
  ['f32 > 0.09 && f32 < 0.11', { f32: 0.1 }, true],
  ['lat != lat', { lat: NaN }, true],
  ['lat < 1 || lat >= 1', { lat: NaN }, false],
  ['path == "/x"', { path: '/x' }, true],
  ['path == "/x"', { path: '/x\0y' }, true],
  ['path == "/api/*"', { path: '/api/users' }, true],
  ['path == "/api/*"', { path: '/ap' }, false],
  ['"/api/*" == path', { path: '/api/' }, true],
  ['path == "*.js"', { path: 'a.js' }, true],
  ['path == "*.js"', { path: 'a.jsx' }, false],
  ['path == "a*b*c"', { path: 'aXbYc' }, true],
  ['path == "a*b*c"', { path: 'abc' }, true],
  ['path == "a*b*c"', { path: 'acb' }, false],
  ['path == "a*a"', { path: 'a' }, false],
  ['path == "*"', { path: '' }, true],
  ['path == "\\*x"', { path: '*x' }, true],
  ['path == "a\\**"', { path: 'a*bc' }, true],
  ['path == "a\\**"', { path: 'abc' }, false],
  ['path != "x"', { path: 'y' }, true],
  ['path != "x*"', { path: 'xy' }, false],
  ['path == "héllo"', { path: 'héllo' }, true],
  ['name == "abcdefgh"', { name: 'abcdefghijk' }, true],
  ['name == "a"', { name: 'a\0b' }, true],
  ['color == 1', { color: 'GREEN' }, true],
  ['color == 0', { color: 'NOPE' }, true],
  ['color == 1', { color: 257 }, true],
  ['seq[1] == 7', { seq: [1, 7] }, true],
  ['seq[5] == 0', { seq: [1] }, false],
  ['arr[2] == 0', { arr: [1] }, true],
  ['arr[3] == 0', { arr: [1, 2, 3] }, false],
  ['data[0] == 255', { data: Uint8Array.of(255) }, true],
  ['data[1] == 0', { data: Uint8Array.of(255) }, false],
  ['seq == 1', { seq: [1] }, false],
  ['n[0] == 1', { n: 1 }, false],
  ['$ctx.vpid == 100', {}, true],
  ['$ctx.vtid == 101 && $ctx.vuid == 1000 && $ctx.vgid == 1001', {}, true],
  ['$ctx.procname == "my*"', {}, true],
  ['$ctx.procname == "other"', {}, false],
  ['$ctx.cpu_id == 0', {}, false],
  ['$app.a:b == 1', {}, false],
  ['missing == 1', {}, false],
  ['missing != 1', {}, false],
  ['path.sub == 1', {}, false],
  ['path > 1', { path: 'x' }, false],
  ['path == 1', { path: '1' }, false],
  ['path == path', { path: 'same' }, true],
  ['path < name', { path: 'abc', name: 'abd' }, true],
  ['path', { path: 'x' }, false],
  ['lat', { lat: 0.5 }, true],
  ['lat', { lat: 0 }, false],
  ['n / 0 == 0', { n: 1 }, false],
  ['n % 0 == 0', { n: 1 }, false],
  ['1 << 64', {}, false],
  ['1 << -1', {}, false],
  ['1 << 63 < 0', {}, true],
  ['-1 >> 1 == 9223372036854775807', {}, true],
  ['9223372036854775807 + 1 < 0', {}, true],
  ['-9223372036854775807 - 2 == 9223372036854775807', {}, true],
  ['3 / 2 == 1', {}, true],
  ['-7 / 2 == -3', {}, true],
  ['-7 % 3 == -1', {}, true],
  ['3.0 / 2 == 1.5', {}, true],
  ['(n + 2) * 3 == 15', { n: 3 }, true],
  ['n - 10 < 0', { n: 3 }, true],
  ['(n & 6) == 2 && (n | 8) == 11 && (n ^ 1) == 2', { n: 3 }, true],
  ['!n', { n: 0 }, true],
  ['!n', { n: 7 }, false],
  ['~0 == -1', {}, true],
  ['-n == 5', { n: -5 }, true],
  ['+n == -5', { n: -5 }, true],
  ['-lat == -1.5', { lat: 1.5 }, true],
  ['!lat', { lat: 0 }, true],
  ['n > 1 || path == "x"', { n: 0, path: 'x' }, true],
  ['n > 1 && path == "x"', { n: 0, path: 'x' }, false],
  // Short-circuit: the division by zero on the right is not evaluated.
  ['n > 1 || 1 / 0', { n: 5 }, true],
  ['n > 1 || 1 / 0', { n: 0 }, false],
  ['n < 1 && 1 / 0', { n: 5 }, false],
  ['0', {}, false],
  ['1', {}, true],
  ['0.0', {}, false],
  ['lat % 2 == 0', { lat: 4 }, false],
  ['lat & 1', { lat: 3 }, false],
  ['path && 1', { path: 'x' }, false],
  ['-path == 1', { path: 'x' }, false],
];

describe('filter interpreter', () => {
  for (const [filter, values, expected] of CASES) {
    it(`${filter}  with ${JSON.stringify(values, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}  → ${expected}`, () => {
      expect(evaluate(filter, values)).to.equal(expected);
    });
  }

  it('ORs the filters of a route', () => {
    expect(evaluate(['n == 1', 'n == 2'], { n: 2 })).to.equal(true);
    expect(evaluate(['n == 1', 'n == 2'], { n: 3 })).to.equal(false);
    expect(evaluate(['missing == 1', 'n == 3'], { n: 3 })).to.equal(true);
  });

  it('matches globs: * is any run, \\* a star', () => {
    const m = globMatcher('a*b\\*c*');
    expect(['ab*c', 'aXXb*cYY', 'ab*c*'].map(m)).to.deep.equal([true, true, true]);
    expect(['abc', 'ab*', 'b*c'].map(m)).to.deep.equal([false, false, false]);
    expect(globMatcher('**')('')).to.equal(true);
    expect(globMatcher('x')('x')).to.equal(true);
  });

  it('treats code-looking input as data: the parser refuses calls and backticks, names are just fields', () => {
    expect(() => parseFilter('process.exit()')).to.throw(/column/);
    expect(() => parseFilter('`rm -rf /`')).to.throw(/column 1/);
    expect(() => parseFilter('require("child_process")')).to.throw(/column/);
    expect(() => parseFilter('this.constructor.constructor("return process")()')).to.throw(/column/);
    expect(evaluate('path == "process.exit(1)"', { path: 'process.exit(1)' })).to.equal(true);
    expect(evaluate('process.exit == 1', {})).to.equal(false);
    expect(evaluate('constructor == 1', {})).to.equal(false);
    expect(evaluate('__proto__ == 0', {})).to.equal(false);
    expect(evaluate('toString == 0 || valueOf == 0 || hasOwnProperty == 0', {})).to.equal(false);
    // Fields with such names are ordinary fields.
    const odd = [u32('constructor'), u32('__proto__')];
    expect(evaluate('constructor == 3 && __proto__ == 4', { constructor: 3, __proto__: 4 }, odd)).to.equal(false); // values object has no own __proto__
    const compiled = compileFilters(
      [filterToJson(parseFilter('constructor == 3 && __proto__ == 4'))],
      odd.map((f) => ({ name: f.name, info: f.codec.info })),
      CTX,
    );
    expect(compiled([3, 4])).to.equal(true);
  });

  it('refuses hostile JSON ASTs and never pollutes prototypes', () => {
    const fields = FIELDS.map((f) => ({ name: f.name, info: f.codec.info }));
    const hostile = [
      '{"type":"int","value":"1","__proto__":{"polluted":true}}',
      '{"type":"field","path":["a"],"index":[],"extra":1}',
      '{"type":"call","name":"eval"}',
      '{"type":"binary","op":"=>","left":{"type":"int","value":"1"},"right":{"type":"int","value":"1"}}',
      '{"type":"int","value":"1e3"}',
      '{"type":"int","value":"18446744073709551616"}',
      '{"type":"field","path":["process","exit"],"index":[-1]}',
      'not json',
      '[]',
      'null',
    ];
    for (const json of hostile) expect(() => compileFilters([json], fields, CTX), json).to.throw(/invalid filter AST/);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    // A deep but valid AST: evaluated as data.
    let deep = '{"type":"int","value":"1"}';
    for (let i = 0; i < 200; i++) deep = `{"type":"unary","op":"!","operand":${deep}}`;
    expect(compileFilters([deep], fields, CTX)([])).to.equal(true);
    const protoField = '{"type":"field","path":["__proto__"],"index":[]}';
    expect(compileFilters([protoField], fields, CTX)([])).to.equal(false);
  });

  it('never throws and always answers a boolean for random filters and values', () => {
    let seed = 12345;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const atoms = [
      'id',
      'n',
      'u',
      'lat',
      'f32',
      'path',
      'name',
      'color',
      'data[0]',
      'seq[1]',
      'arr[2]',
      'missing',
      '$ctx.vpid',
      '$ctx.procname',
      '0',
      '1',
      '-1',
      '63',
      '64',
      '2.5',
      '"x*"',
      '"x"',
      '18446744073709551615',
      '0x7fffffffffffffff',
    ];
    const ops = ['+', '-', '*', '/', '%', '<<', '>>', '&', '|', '^', '<', '<=', '>', '>=', '==', '!=', '&&', '||'];
    const gen = (d: number): string =>
      d === 0 || rnd(3) === 0
        ? atoms[rnd(atoms.length)]
        : rnd(5) === 0
          ? `${['!', '~', '-'][rnd(3)]}(${gen(d - 1)})`
          : `(${gen(d - 1)} ${ops[rnd(ops.length)]} ${gen(d - 1)})`;
    const values = [0, 1, -1, 2 ** 31, NaN, 'x', '', 'xyz', 2n ** 63n, undefined, null, [1, 2], Uint8Array.of(9)];
    const fields = FIELDS.map((f) => ({ name: f.name, info: f.codec.info }));
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const text = gen(4);
      let json: string;
      try {
        json = filterToJson(parseFilter(text));
      } catch {
        continue;
      }
      parsed++;
      const f = compileFilters([json], fields, CTX);
      for (let k = 0; k < 3; k++) {
        const args = FIELDS.map(() => values[rnd(values.length)]);
        expect(typeof f(args), text).to.equal('boolean');
      }
    }
    expect(parsed).to.be.greaterThan(500);
  });

  it('the tracer never uses eval, Function or vm', () => {
    const dir = path.join(__dirname, '../../src');
    for (const file of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      expect(text, file).not.to.match(/\beval\s*\(|new\s+Function\b|\bFunction\s*\(|node:vm|require\(['"]vm['"]\)/);
    }
  });
});
