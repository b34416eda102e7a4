// emit's two paths (one plain route, and the general one) and the codecs' fast paths, checked
// byte for byte through a real stream.
import { expect } from 'chai';
import { double, Field, s32, s64, string, u64 } from '../src/fields';
import { contextBytes } from '../src/identity';
import { Route, Tracepoint } from '../src/tracepoint';
import { decls, enable, offlineTracer, TestStream } from './helpers';

const NO_CONTEXT = new Uint8Array(0);

/** Emits each row into a fresh stream through `route` (the fast path unless told otherwise) and returns the decoded values. */
function roundTrip(
  fields: readonly Field<unknown>[],
  rows: unknown[][],
  options: { filter?: Route['filter']; subbufSize?: number } = {},
): Record<string, unknown>[] {
  const stream = new TestStream(options.subbufSize);
  try {
    const tp = offlineTracer().define<unknown[]>('t', 'e', fields, 13);
    enable(tp, stream, 1, options);
    expect(tp.only !== null).to.equal(options.filter === undefined);
    for (const row of rows) tp.emit(...row);
    return stream.read(() => decls(fields)).map((e) => e.values);
  } finally {
    stream.dispose();
  }
}

/** Every ASCII length from 0 to 21 (whole chunks of four, and each tail), and each of them with a NUL or a non-ASCII character at every position. */
function stringCases(): string[] {
  const out: string[] = [];
  for (let n = 0; n <= 21; n++) {
    const ascii = Array.from({ length: n }, (_, i) => String.fromCharCode(0x21 + ((i * 7) % 90))).join('');
    out.push(ascii);
    for (let at = 0; at < n; at++) {
      out.push(`${ascii.slice(0, at)}\0${ascii.slice(at + 1)}`);
      out.push(`${ascii.slice(0, at)}é${ascii.slice(at + 1)}`);
      out.push(`${ascii.slice(0, at)}\u007f${ascii.slice(at + 1)}`);
      out.push(`${ascii.slice(0, at)}\u0080${ascii.slice(at + 1)}`);
    }
  }
  return out;
}

const cutAtNul = (s: string) => (s.includes('\0') ? s.slice(0, s.indexOf('\0')) : s);

/** `s` with each lone surrogate replaced by U+FFFD, as UTF-8 records it. */
function wellFormed(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (
      c >= 0xd800 &&
      c <= 0xdbff &&
      i + 1 < s.length &&
      s.charCodeAt(i + 1) >= 0xdc00 &&
      s.charCodeAt(i + 1) <= 0xdfff
    ) {
      out += s[i] + s[i + 1];
      i++;
    } else out += c >= 0xd800 && c <= 0xdfff ? '\ufffd' : s[i];
  }
  return out;
}

describe('emit paths', () => {
  it('takes the fast path only for one route with no filter and no context', () => {
    const stream = new TestStream();
    try {
      const tp = offlineTracer().define<[number]>('t', 'e', [s32('x')], 13);
      const page = enable(tp, stream);
      const plain = tp.routes[0];
      expect(tp.only).to.equal(plain);
      tp.setRoutes([new Route(page, 0, stream.writer, 1, NO_CONTEXT, 0, () => true)]);
      expect(tp.only).to.equal(null);
      const ctx = contextBytes(['vpid']);
      tp.setRoutes([new Route(page, 0, stream.writer, 1, ctx, ctx.length, null)]);
      expect(tp.only).to.equal(null);
      tp.setRoutes([plain, plain]);
      expect(tp.only).to.equal(null);
      tp.setRoutes([]);
      expect(tp.only).to.equal(null);
      tp.setRoutes([plain]);
      expect(tp.only).to.equal(plain);
    } finally {
      stream.dispose();
    }
  });

  it("the fast path checks its own route's daemon byte, not only the event's", () => {
    const stream = new TestStream();
    try {
      const tp = offlineTracer().define<[number]>('t', 'e', [s32('x')], 13);
      const page = enable(tp, stream);
      const daemon = new Int8Array(8); // the route's daemon has not enabled the event
      tp.setRoutes([new Route(daemon, 3, stream.writer, 1, NO_CONTEXT, 0, null)]);
      expect(tp.enabled).to.equal(true);
      tp.emit(1);
      daemon[3] = 1;
      tp.emit(2);
      page[0] = 0; // the event's own byte: emit called anyway still follows the route's byte
      tp.emit(3);
      expect(stream.read(() => [{ name: 'x', type: 's32' }]).map((e) => e.values.x)).to.deep.equal([2, 3]);
    } finally {
      stream.dispose();
    }
  });

  it('both paths write the same bytes, for strings of every length, cut at NUL, ASCII or not', () => {
    const fields = [string('s'), s32('n')];
    const rows = stringCases().map((s, i) => [s, i]);
    const fast = roundTrip(fields, rows);
    const general = roundTrip(fields, rows, { filter: () => true });
    const expected = rows.map(([s, n]) => ({ s: cutAtNul(s as string), n }));
    expect(fast).to.deep.equal(expected);
    expect(general).to.deep.equal(expected);
  });

  it('several strings of one event stay in order whatever their lengths (the scratch cursors)', () => {
    const fields = [string('a'), string('b'), string('c')];
    const words = ['', 'x', 'xy', 'xyz', 'wxyz', 'vwxyz', 'é', 'a\0b', 'abcdefgh'];
    const rows: string[][] = [];
    for (const a of words) for (const b of words) rows.push([a, b, `${a}|${b}`]);
    expect(roundTrip(fields, rows)).to.deep.equal(
      rows.map(([a, b, c]) => ({ a: cutAtNul(a), b: cutAtNul(b), c: cutAtNul(c) })),
    );
  });

  it("long strings go through Node's encoder: every length around the threshold, any text, the same bytes on both paths", () => {
    const texts = ['a', 'é', '日本', '😀', 'x\ud800', '\udc00y', 'Zz'];
    const rows: unknown[][] = [];
    for (const n of [62, 63, 64, 65, 100, 1000, 70000]) {
      for (const t of texts) rows.push([t.repeat(Math.ceil(n / t.length)).slice(0, n), 'after', n]);
    }
    rows.push(['b'.repeat(100) + '\0' + 'c'.repeat(100), 'nul', 1]); // a NUL: packed, cut there
    rows.push(['é'.repeat(80) + '\0tail', 'nul', 2]);
    const fields = [string('s'), string('t'), s32('n')];
    const expected = rows.map(([s, t, n]) => ({ s: wellFormed(cutAtNul(s as string)), t, n }));
    const fast = roundTrip(fields, rows, { subbufSize: 1 << 20 });
    expect(fast.length).to.equal(rows.length);
    for (let i = 0; i < rows.length; i++) expect(fast[i], `row ${i}`).to.deep.equal(expected[i]);
    expect(roundTrip(fields, rows, { filter: () => true, subbufSize: 1 << 20 })).to.deep.equal(fast);
  });

  it('64-bit integers: int32 values on the fast path, every other value exactly as before', () => {
    const values = [
      0,
      1,
      -1,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 32,
      -0,
      0.5,
      -0.5,
      1.5,
      NaN,
      Infinity,
      -Infinity,
      2 ** 53,
      true,
      false,
      null,
      undefined,
      'x',
      7n,
      -7n,
    ];
    const got = roundTrip(
      [s64('x'), u64('y')],
      values.map((v) => [v, v]),
    );
    const s = [
      0n,
      1n,
      -1n,
      2n ** 31n - 1n,
      -(2n ** 31n),
      2n ** 31n,
      -(2n ** 31n) - 1n,
      2n ** 32n,
      0n,
      0n,
      0n,
      1n,
      0n,
      0n,
      0n,
      2n ** 53n,
      1n,
      0n,
      0n,
      0n,
      0n,
      7n,
      -7n,
    ];
    expect(got.map((r) => r.x)).to.deep.equal(s);
    expect(got.map((r) => r.y)).to.deep.equal(s.map((v) => BigInt.asUintN(64, v)));
  });

  it('never calls user code: valueOf and toString are not run, nothing throws', () => {
    let called = 0;
    const hostile = {
      valueOf: () => {
        called++;
        throw new Error('valueOf');
      },
      toString: () => {
        called++;
        throw new Error('toString');
      },
    };
    const fields = [s64('a'), double('b'), string('c'), s32('d')];
    expect(roundTrip(fields, [[hostile, hostile, hostile, hostile]])).to.deep.equal([{ a: 0n, b: 0, c: '', d: 0 }]);
    expect(called).to.equal(0);
  });

  it('the general path leaves no argument behind, the fast path keeps none', () => {
    const stream = new TestStream();
    try {
      const tp = offlineTracer().define<[string, number]>('t', 'e', [string('s'), s32('n')], 13) as Tracepoint<
        [string, number]
      >;
      const page = enable(tp, stream);
      const big = 'y'.repeat(100);
      tp.emit(big, 1);
      expect(tp.args).to.deep.equal([undefined, undefined]);
      tp.setRoutes([new Route(page, 0, stream.writer, 1, NO_CONTEXT, 0, (a) => a[1] === 2)]);
      tp.emit(big, 2);
      tp.emit(big, 3);
      expect(tp.args).to.deep.equal([undefined, undefined]);
      expect(
        stream
          .read(() => [
            { name: 's', type: 'string' },
            { name: 'n', type: 's32' },
          ])
          .map((e) => e.values.n),
      ).to.deep.equal([1, 2]);
    } finally {
      stream.dispose();
    }
  });
});
