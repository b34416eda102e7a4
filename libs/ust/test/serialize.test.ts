import { expect } from 'chai';
import * as fs from 'node:fs';
import { decodeFields } from '../src/decode';
import {
  array,
  bytes,
  chars,
  double,
  enumeration,
  Field,
  float,
  s16,
  s32,
  s64,
  s8,
  sequence,
  string,
  u16,
  u32,
  u64,
  u8,
} from '../src/fields';
import { CONTEXT_FIELD_TYPES, contextBytes, identity } from '../src/identity';
import { Route } from '../src/tracepoint';
import { decls, enable, offlineTracer, TestStream } from './helpers';

/** Emits each row through a real stream and returns the decoded values of each event. */
function roundTrip(fields: readonly Field<unknown>[], rows: unknown[][]): Record<string, unknown>[] {
  const stream = new TestStream();
  try {
    const tp = offlineTracer().define<unknown[]>('t', 'e', fields, 13);
    enable(tp, stream);
    for (const row of rows) tp.emit(...row);
    return stream.read(() => decls(fields)).map((e) => e.values);
  } finally {
    stream.dispose();
  }
}

const one = (field: Field<unknown>, values: unknown[]) =>
  roundTrip(
    [field],
    values.map((v) => [v]),
  ).map((r) => r[field.name]);

describe('serializer round trip (emit → ring buffer → decodeFields)', () => {
  it('8-, 16- and 32-bit integers, wrapped like a C cast', () => {
    expect(one(u8('x'), [0, 255, 256, -1, 3.9])).to.deep.equal([0, 255, 0, 255, 3]);
    expect(one(s8('x'), [-128, 127, 128, -1])).to.deep.equal([-128, 127, -128, -1]);
    expect(one(u16('x'), [0, 65535, 65536, -1])).to.deep.equal([0, 65535, 0, 65535]);
    expect(one(s16('x'), [-32768, 32767, 32768])).to.deep.equal([-32768, 32767, -32768]);
    expect(one(u32('x'), [0, 0xffffffff, 2 ** 32, -1, 1e10])).to.deep.equal([
      0,
      0xffffffff,
      0,
      0xffffffff,
      1e10 % 2 ** 32,
    ]);
    expect(one(s32('x'), [-(2 ** 31), 2 ** 31 - 1, 2 ** 31])).to.deep.equal([-(2 ** 31), 2 ** 31 - 1, -(2 ** 31)]);
  });

  it('64-bit integers from bigints and numbers, edge values', () => {
    const max = 2n ** 64n - 1n;
    expect(
      one(u64('x'), [0n, max, 1n << 63n, -1n, 2 ** 53 - 1, 2 ** 53, 2 ** 64 - 2048, -1, 1.9, -1.9, 0x1_0000_0000]),
    ).to.deep.equal([
      0n,
      max,
      1n << 63n,
      max,
      2n ** 53n - 1n,
      2n ** 53n,
      2n ** 64n - 2048n,
      max,
      1n,
      max,
      0x1_0000_0000n,
    ]);
    expect(
      one(s64('x'), [-(2n ** 63n), 2n ** 63n - 1n, 2n ** 63n, -1, -(2 ** 53), -(2 ** 32) - 1, -0.5, 2 ** 63]),
    ).to.deep.equal([
      -(2n ** 63n),
      2n ** 63n - 1n,
      -(2n ** 63n),
      -1n,
      -(2n ** 53n),
      -(2n ** 32n) - 1n,
      0n,
      -(2n ** 63n),
    ]);
  });

  it('float and double', () => {
    expect(one(float('x'), [1.5, 0.1, -0, Infinity])).to.deep.equal([1.5, Math.fround(0.1), -0, Infinity]);
    const d = one(double('x'), [Math.PI, -0, -Infinity, Number.MIN_VALUE, NaN]);
    expect(d.slice(0, 4)).to.deep.equal([Math.PI, -0, -Infinity, Number.MIN_VALUE]);
    expect(Number.isNaN(d[4])).to.equal(true);
  });

  it('strings: ASCII, UTF-8, astral, lone surrogates, cut at NUL', () => {
    const long = 'x'.repeat(1000) + 'é'.repeat(500);
    expect(
      one(string('s'), [
        '',
        'hello',
        'héllo',
        '日本語',
        'a😀b',
        'x\ud800y',
        '\udc00',
        'ab\0cd',
        'é\0x',
        '\0',
        long,
        'abcdefghijklmnop'.slice(3) + 'abcdefghijklmnop',
      ]),
    ).to.deep.equal([
      '',
      'hello',
      'héllo',
      '日本語',
      'a😀b',
      'x\ufffdy',
      '\ufffd',
      'ab',
      'é',
      '',
      long,
      'defghijklmnopabcdefghijklmnop',
    ]);
  });

  it('several strings in one event, packed or written directly, keep their order and sizes', () => {
    const fields = Array.from({ length: 10 }, (_, i) => string(`s${i}`));
    const rows = [
      ['a', 'héllo', '', 'abcd', 'ab\0cd', 42, 'abc', '😀', 'x'.repeat(33), '\0'],
      ['é', 'b', 'cc', 'ddd', 'eeee', 'fffff', null, 'gg\u0000', 'h', 'i'],
    ];
    expect(roundTrip(fields, rows)).to.deep.equal([
      { s0: 'a', s1: 'héllo', s2: '', s3: 'abcd', s4: 'ab', s5: '', s6: 'abc', s7: '😀', s8: 'x'.repeat(33), s9: '' },
      { s0: 'é', s1: 'b', s2: 'cc', s3: 'ddd', s4: 'eeee', s5: 'fffff', s6: '', s7: 'gg', s8: 'h', s9: 'i' },
    ]);
  });

  it('strings beyond the 64 KiB scratch are written directly', () => {
    const stream = new TestStream(262144, 2);
    try {
      const fields = [string('a'), string('b'), string('c'), u8('d')];
      const tp = offlineTracer().define<[string, string, string, number]>('t', 'e', fields, 13);
      enable(tp, stream);
      const big = (ch: string) => ch.repeat(30000);
      tp.emit(big('a'), big('b'), big('c'), 7);
      tp.emit('small', 'é', big('z'), 8);
      expect(stream.read(() => decls(fields)).map((e) => e.values)).to.deep.equal([
        { a: big('a'), b: big('b'), c: big('c'), d: 7 },
        { a: 'small', b: 'é', c: big('z'), d: 8 },
      ]);
    } finally {
      stream.dispose();
    }
  });

  it('char[N]: cut at a character boundary, at NUL, NUL-padded', () => {
    expect(one(chars('c', 5), ['hi', 'hello world', 'aé€', 'ab\0cd', '', 42])).to.deep.equal([
      'hi',
      'hello',
      'aé',
      'ab',
      '',
      '',
    ]);
    expect(one(chars('c', 2), ['aé', '€'])).to.deep.equal(['a', '']);
    // The padding is zeros, whatever was in the buffer before.
    const stream = new TestStream();
    try {
      const tp = offlineTracer().define<[string, number]>('t', 'e', [chars('c', 6), u8('end')], 13);
      enable(tp, stream);
      tp.emit('ab', 0xee);
      stream
        .read(() => [{ name: 'raw', type: 'u8[7]' }])
        .forEach((e) => expect(e.values.raw).to.deep.equal([0x61, 0x62, 0, 0, 0, 0, 0xee]));
    } finally {
      stream.dispose();
    }
  });

  it('bytes, sequences and fixed arrays', () => {
    const b = one(bytes('b'), [Uint8Array.of(1, 2, 255), new Uint8Array(0), [1, 2, 300], 'nope']) as Uint8Array[];
    expect(b.map((x) => [...x])).to.deep.equal([[1, 2, 255], [], [1, 2, 44], []]);
    expect(b[0]).to.be.instanceOf(Uint8Array);
    expect(one(sequence('q', 'u16'), [[1, 65535, 65536], Uint16Array.of(7), [], null])).to.deep.equal([
      [1, 65535, 0],
      [7],
      [],
      [],
    ]);
    expect(one(sequence('q', 's64'), [[-1n, 5, 2 ** 40], BigInt64Array.of(-3n)])).to.deep.equal([
      [-1n, 5n, 2n ** 40n],
      [-3n],
    ]);
    expect(one(sequence('q', 'u8'), [[1, 2], Uint8Array.of(9)])).to.deep.equal([[1, 2], [9]]);
    expect(one(array('a', 's32', 3), [[1, -2], [1, 2, 3, 4], Int32Array.of(-1, -1, -1), undefined])).to.deep.equal([
      [1, -2, 0],
      [1, 2, 3],
      [-1, -1, -1],
      [0, 0, 0],
    ]);
  });

  it('enumerations: a label or a number; an unknown label records 0', () => {
    const color = enumeration('c', 'u8', { RED: 0, GREEN: 1, BLUE: 200 });
    expect(color.type).to.equal('enum:u8:{"RED":0,"GREEN":1,"BLUE":200}');
    expect(one(color, ['GREEN', 200, 7, 'NOPE', 256 + 1])).to.deep.equal(['GREEN', 'BLUE', 7, 'RED', 'GREEN']);
    const big = enumeration('c', 's64', { NEG: -5, HUGE: Number.MAX_SAFE_INTEGER });
    expect(one(big, ['NEG', 'HUGE', 3])).to.deep.equal(['NEG', 'HUGE', 3n]);
    expect(() => enumeration('c', 'u8', { X: 256 })).to.throw(TypeError, /from 0 to 255/);
    expect(() => enumeration('c', 'u8', {})).to.throw(TypeError, /at least one label/);
    expect(() => enumeration('c', 'u8', { X: 1.5 })).to.throw(TypeError);
  });

  it('values of the wrong type are recorded as 0 or empty, never thrown', () => {
    const fields = [u32('a'), u64('b'), double('c'), string('d'), s8('e'), float('f')];
    const rows = [
      ['x', 'y', 'z', 42, {}, null],
      [5n, true, 5n, undefined, true, false],
      [Symbol('s'), Symbol('t'), Symbol('u'), Symbol('v'), Symbol('w'), Symbol('x')],
    ];
    expect(roundTrip(fields, rows)).to.deep.equal([
      { a: 0, b: 0n, c: 0, d: '', e: 0, f: 0 },
      { a: 5, b: 1n, c: 5, d: '', e: 1, f: 0 },
      { a: 0, b: 0n, c: 0, d: '', e: 0, f: 0 },
    ]);
  });

  it('every arity from 0 to 11 fields (fixed-arity closures, then a rest parameter)', () => {
    for (let n = 0; n <= 11; n++) {
      const fields = Array.from({ length: n }, (_, i) => (i % 2 ? u32(`f${i}`) : string(`f${i}`)));
      const row = fields.map((_, i) => (i % 2 ? i * 1000 + n : `v${i}-${n}`));
      const [got] = roundTrip(fields, [row]);
      expect(got, `arity ${n}`).to.deep.equal(Object.fromEntries(fields.map((f, i) => [f.name, row[i]])));
    }
  });

  it('writes the channel context first: vpid, vtid, vuid, vgid, procname char[17]', () => {
    const stream = new TestStream();
    try {
      const tp = offlineTracer().define<[number]>('t', 'e', [u32('x')], 13);
      const names = ['vpid', 'vtid', 'vuid', 'vgid', 'procname'];
      enable(tp, stream, 5, { context: contextBytes(names) });
      tp.emit(77);
      const [e] = stream.read(
        () => [{ name: 'x', type: 'u32' }],
        names.map((name) => ({ name, type: CONTEXT_FIELD_TYPES[name] })),
      );
      const id = identity();
      expect(e.id).to.equal(5);
      expect(e.context).to.deep.equal({
        vpid: process.pid,
        vtid: id.vtid,
        vuid: process.getuid!(),
        vgid: process.getgid!(),
        procname: id.procname,
      });
      expect(id.procname).to.equal(fs.readFileSync('/proc/self/comm', 'utf8').trim());
      expect(e.values).to.deep.equal({ x: 77 });
      expect(() => contextBytes(['vpid', 'cpu_id'])).to.throw(/unknown context "cpu_id"/);
    } finally {
      stream.dispose();
    }
  });

  it('writes into every route whose daemon byte is set and whose filter passes', () => {
    const a = new TestStream();
    const b = new TestStream();
    try {
      const tp = offlineTracer().define<[number]>('t', 'e', [u32('x')], 13);
      const page = enable(tp, a, 1);
      const off = new Int8Array(1);
      tp.setRoutes([
        new Route(page, 0, a.writer, 1, new Uint8Array(0), 0, null),
        new Route(page, 0, b.writer, 2, new Uint8Array(0), 0, (args) => (args[0] as number) > 10),
        new Route(off, 0, b.writer, 3, new Uint8Array(0), 0, null),
      ]);
      tp.emit(5);
      tp.emit(50);
      expect(tp.args).to.deep.equal([undefined], 'arguments are not kept after emit');
      page[0] = 0;
      expect(tp.enabled).to.equal(false);
      tp.emit(500);
      const f = () => [{ name: 'x', type: 'u32' }];
      expect(a.read(f).map((e) => [e.id, e.values.x])).to.deep.equal([
        [1, 5],
        [1, 50],
      ]);
      expect(b.read(f).map((e) => [e.id, e.values.x])).to.deep.equal([[2, 50]]);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('a full buffer or an event bigger than a sub-buffer drops the event and counts it, without throwing', () => {
    const stream = new TestStream(4096, 2);
    try {
      const tp = offlineTracer().define<[string]>('t', 'e', [string('s')], 13);
      enable(tp, stream);
      tp.emit('x'.repeat(5000));
      for (let i = 0; i < 1000; i++) tp.emit('y'.repeat(100));
      const c = stream.counters();
      expect(c.lostBig).to.equal(1);
      expect(c.lostFull).to.be.greaterThan(900);
      const read = stream.read(() => [{ name: 's', type: 'string' }]);
      expect(read.length + c.lostFull).to.equal(1000);
    } finally {
      stream.dispose();
    }
  });

  it('decodeFields refuses truncated data and unknown types', () => {
    const view = new DataView(new Uint8Array([1, 2, 3]).buffer);
    expect(() => decodeFields([{ name: 'x', type: 'u32' }], view, 0)).to.throw(RangeError, /needs 4 bytes/);
    expect(() => decodeFields([{ name: 's', type: 'string' }], view, 0)).to.throw(RangeError, /no terminating NUL/);
    expect(() => decodeFields([{ name: 'x', type: 'u128' }], view, 0)).to.throw(TypeError, /unknown field type/);
    expect(
      decodeFields(
        [
          { name: 'a', type: 'u8' },
          { name: 'b', type: 'u16' },
        ],
        view,
        0,
      ),
    ).to.deep.equal({ values: { a: 1, b: 0x302 }, end: 3 });
    // Field names are data: a field named __proto__ is a value, not a prototype.
    const r = decodeFields([{ name: '__proto__', type: 'u8' }], view, 0);
    expect(Object.keys(r.values)).to.deep.equal(['__proto__']);
  });
});
