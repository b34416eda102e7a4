import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CtfError, CtfTrace, EnumValue, parseMetadata, StructType, VariantValue } from '../src';
import { sameAsBabeltrace, tmpDir } from './helpers';

/** Writes bit fields as CTF lays them out: little-endian from each byte's low bit, big-endian from its high bit. */
class BitWriter {
  buf = Buffer.alloc(4096);
  pos = 0;
  align(bits: number): this {
    this.pos = Math.ceil(this.pos / bits) * bits;
    return this;
  }
  int(size: number, v: number | bigint, le = false, align = 1): this {
    this.align(align);
    const x = BigInt.asUintN(size, BigInt(v));
    for (let i = 0; i < size; i++) {
      const bit = le ? (x >> BigInt(i)) & 1n : (x >> BigInt(size - 1 - i)) & 1n;
      const p = this.pos + i;
      if (bit) this.buf[p >> 3] |= le ? 1 << (p & 7) : 0x80 >> (p & 7);
    }
    this.pos += size;
    return this;
  }
  u8(v: number) {
    return this.int(8, v, false, 8);
  }
  u16(v: number, le = false) {
    return this.int(16, v, le, 8);
  }
  u32(v: number | bigint) {
    return this.int(32, v, false, 8);
  }
  u64(v: number | bigint) {
    return this.int(64, v, false, 8);
  }
  f32(v: number) {
    this.align(8);
    this.buf.writeFloatBE(v, this.pos / 8);
    this.pos += 32;
    return this;
  }
  f64(v: number, align = 8) {
    this.align(align);
    this.buf.writeDoubleBE(v, this.pos / 8);
    this.pos += 64;
    return this;
  }
  str(s: string) {
    this.align(8);
    const b = Buffer.from(`${s}\0`, 'utf8');
    b.copy(this.buf, this.pos / 8);
    this.pos += b.length * 8;
    return this;
  }
}

const UUID = 'c0ffee00-1234-4abc-8def-0123456789ab';

// A big-endian trace with what LTTng-UST does not write but CTF allows: bit fields, compact
// headers with 5-bit ids and 27-bit timestamps, a 1 MHz clock, variants, typedefs, nested
// structures, sequences of structures with relative lengths, absolute paths, display bases.
const METADATA = `/* CTF 1.8 */
// Line comments too.
typealias integer { size = 8; align = 8; signed = false; } := uint8_t;
typealias integer { size = 16; align = 8; signed = false; } := uint16_t;
typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
typealias integer { size = 32; align = 8; signed = false; } := unsigned int;
typealias integer { size = 64; align = 8; signed = false; } := uint64_t;
typealias integer { size = 5; align = 1; signed = false; } := uint5_t;
typealias integer { size = 32; align = 8; signed = true; } := int;

trace {
	major = 1; minor = 8;
	uuid = "${UUID}";
	byte_order = be;
	packet.header := struct { uint32_t magic; uint8_t uuid[16]; uint32_t stream_id; };
};

env { hostname = "bits"; answer = 42; negative = -3; };

clock { name = mono; freq = 1000000; offset_s = 1600000000; offset = 500000; precision = 10; description = "1 MHz"; };

typealias integer { size = 27; align = 1; signed = false; map = clock.mono.value; } := uint27_clock_t;
typealias integer { size = 64; align = 8; signed = false; map = clock.mono.value; } := uint64_clock_t;

struct packet_context {
	uint64_clock_t timestamp_begin;
	uint64_clock_t timestamp_end;
	uint64_t content_size;
	uint64_t packet_size;
	uint8_t flags;
};

struct event_header_compact {
	enum : uint5_t { compact = 0 ... 30, extended = 31 } id;
	variant <id> {
		struct { uint27_clock_t timestamp; } compact;
		struct { uint32_t id; uint64_clock_t timestamp; } extended;
	} v;
} align(8);

stream {
	id = 0;
	event.header := struct event_header_compact;
	packet.context := struct packet_context;
	event.context := struct {
		integer { size = 3; align = 1; signed = false; } prio;
		integer { size = 13; align = 1; signed = true; base = 16; } tag;
	};
};

typedef struct { uint8_t len; integer { size = 16; align = 8; signed = true; byte_order = le; } vals[len]; } sample_t;
enum color : uint8_t { RED, GREEN = 5, BLUE, "light blue" = 10 ... 20, BLUE = 30 };
variant shape { uint8_t circle; unsigned int square; string named; };

event {
	name = "bits:fields";
	id = 0;
	stream_id = 0;
	loglevel = 4;
	model.emf.uri = "http://example.com/bits";
	context := struct { uint16_t seq_no; };
	fields := struct {
		integer { size = 1; align = 1; signed = false; } flag;
		integer { size = 7; align = 1; signed = true; } small;
		integer { size = 12; align = 1; signed = false; base = 2; } bin;
		integer { size = 9; align = 1; signed = true; base = 8; } oct;
		integer { size = 33; align = 1; signed = true; } odd;
		integer { size = 64; align = 1; signed = false; base = x; } unaligned64;
		integer { size = 16; align = 8; signed = false; byte_order = le; } le16;
		floating_point { exp_dig = 8; mant_dig = 24; align = 8; } f;
		floating_point { exp_dig = 11; mant_dig = 53; align = 32; } d;
		enum color c1, c2, c3;
		enum : uint8_t { circle = 1, square, named } which;
		variant shape <which> v;
		uint8_t count;
		sample_t samples[count];
		struct { uint16_t n; int arr[event.fields.nested.n]; } nested;
		integer { size = 8; align = 8; signed = false; encoding = UTF8; } prio_text[stream.event.context.prio];
		int matrix[2][3];
	};
};

event {
	name = "bits:second";
	id = 1;
	stream_id = 0;
	fields := struct { string s; };
};

event {
	name = "bits:nofields";
	id = 40;
	stream_id = 0;
};
`;

const BEGIN = 1_000_000n; // 1 s at 1 MHz

interface Fields {
  flag: number;
  small: number;
  bin: number;
  oct: number;
  odd: number;
  u64: bigint;
  le16: number;
  f: number;
  d: number;
  colors: [number, number, number];
  which: number;
  v: number | string;
  samples: number[][];
  arr: number[];
  prio: number;
  text: string;
  matrix: number[];
}

function writeEvent(
  w: BitWriter,
  id: number,
  ts: bigint,
  prio: number,
  tag: number,
  seqNo: number,
  f?: Fields | string,
): void {
  if (id < 31) w.int(5, id).int(27, ts & 0x7ffffffn);
  else w.int(5, 31).u32(id).u64(ts);
  w.int(3, prio).int(13, tag);
  if (id !== 0) {
    if (typeof f === 'string') w.str(f);
    return;
  }
  const x = f as Fields;
  w.u16(seqNo);
  // The payload structure is aligned on its most aligned member (d, 32 bits).
  w.align(32);
  w.int(1, x.flag)
    .int(7, x.small)
    .int(12, x.bin)
    .int(9, x.oct)
    .int(33, x.odd)
    .int(64, x.u64)
    .u16(x.le16, true)
    .f32(x.f)
    .f64(x.d, 32);
  for (const c of x.colors) w.u8(c);
  w.u8(x.which);
  if (x.which === 1) w.u8(x.v as number);
  else if (x.which === 2) w.u32(x.v as number);
  else w.str(x.v as string);
  w.u8(x.samples.length);
  for (const s of x.samples) {
    w.u8(s.length);
    for (const v of s) w.u16(v & 0xffff, true);
  }
  w.u16(x.arr.length);
  for (const v of x.arr) w.u32(v >>> 0);
  const t = Buffer.from(x.text, 'utf8');
  expect(t.length).to.equal(prio);
  for (const b of t) w.u8(b);
  for (const v of x.matrix) w.u32(v >>> 0);
}

const F1: Fields = {
  flag: 1,
  small: -64,
  bin: 0b101000000001,
  oct: -1,
  odd: -4294967296,
  u64: 0xfedcba9876543210n,
  le16: 0x1234,
  f: -0.5,
  d: 1e-7,
  colors: [0, 7, 15],
  which: 1,
  v: 200,
  samples: [[1, -2], [], [32767]],
  arr: [-1, 2147483647],
  prio: 5,
  text: 'abc\0d',
  matrix: [1, 2, 3, 4, 5, -6],
};
const F2: Fields = {
  flag: 0,
  small: 63,
  bin: 0,
  oct: 255,
  odd: 4294967295,
  u64: 1n,
  le16: 0xffff,
  f: 3.4028234663852886e38,
  d: 123456789012,
  colors: [30, 6, 99],
  which: 3,
  v: 'named "shape"',
  samples: [],
  arr: [],
  prio: 2,
  text: 'hi',
  matrix: [0, 0, 0, 0, 0, 0],
};

function writeBitsTrace(dir: string): void {
  fs.writeFileSync(path.join(dir, 'metadata'), METADATA);
  const w = new BitWriter();
  const packetSize = 1024;
  // Packet header and context, big-endian; content and packet sizes are patched at the end.
  w.u32(0xc1fc1fc1);
  for (const b of Buffer.from(UUID.replace(/-/g, ''), 'hex')) w.u8(b);
  w.u32(0)
    .u64(BEGIN)
    .u64(0n)
    .u64(0n)
    .u64(BigInt(packetSize * 8))
    .u8(0xa5);
  writeEvent(w, 0, BEGIN + 10n, 5, -1, 1, F1);
  writeEvent(w, 1, BEGIN + 20n, 0, 0x0fff, 0, 'second');
  // The 27-bit timestamp wraps: 2^27 µs later, compact again.
  writeEvent(w, 0, BEGIN + 20n + (1n << 27n) - 5n, 2, -4096, 2, F2);
  writeEvent(w, 40, BEGIN + (1n << 28n), 7, 1, 0);
  writeEvent(w, 1, BEGIN + (1n << 28n) + 1n, 1, 2, 0, '');
  const end = BEGIN + (1n << 28n) + 1n;
  w.align(8);
  const content = w.pos;
  const buf = w.buf.subarray(0, packetSize);
  buf.writeBigUInt64BE(end, 32);
  buf.writeBigUInt64BE(BigInt(content), 40);
  fs.writeFileSync(path.join(dir, 'stream_0'), buf);
}

describe('TSDL beyond what tracers write: bit fields, big-endian, variants, typedefs, nested lengths', function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('tsdl');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('decodes every field as babeltrace2 does, values and text', function () {
    writeBitsTrace(dir);
    const t = CtfTrace.open(dir);
    expect(t.env).to.deep.equal({ hostname: 'bits', answer: 42, negative: -3 });
    expect(t.clockOffsetNs).to.equal(1_600_000_000_500_000_000n);
    const events = [...t.events()];
    expect(events.map((e) => e.name)).to.deep.equal([
      'bits:fields',
      'bits:second',
      'bits:fields',
      'bits:nofields',
      'bits:second',
    ]);
    expect(events.map((e) => e.timestamp)).to.deep.equal([
      BEGIN + 10n,
      BEGIN + 20n,
      BEGIN + 20n + (1n << 27n) - 5n,
      BEGIN + (1n << 28n),
      BEGIN + (1n << 28n) + 1n,
    ]);
    expect(events[0].timeNs).to.equal(1_600_000_000_500_000_000n + 1_000_010_000n);
    expect({ ...events[0].context }).to.deep.equal({ prio: 5, tag: -1, seq_no: 1 });
    expect({ ...events[0].packetContext }).to.deep.equal({
      timestamp_begin: 1000000,
      timestamp_end: Number(BEGIN + (1n << 28n) + 1n),
      content_size: events[0].packetContext!.content_size,
      packet_size: 8192,
      flags: 0xa5,
    });
    const f = events[0].fields;
    expect(f.flag).to.equal(1);
    expect(f.small).to.equal(-64);
    expect(f.bin).to.equal(0b101000000001);
    expect(f.oct).to.equal(-1);
    expect(f.odd).to.equal(-4294967296);
    expect(f.unaligned64).to.equal(0xfedcba9876543210n);
    expect(f.le16).to.equal(0x1234);
    expect(f.f).to.equal(-0.5);
    expect(f.d).to.equal(1e-7);
    expect([f.c1, f.c2, f.c3]).to.deep.equal([
      new EnumValue(0, ['RED']),
      new EnumValue(7, []),
      new EnumValue(15, ['light blue']),
    ]);
    expect(f.which).to.deep.equal(new EnumValue(1, ['circle']));
    expect(f.v).to.deep.equal(new VariantValue('circle', 200));
    expect((f.samples as Record<string, unknown>[]).map((s) => ({ ...s }))).to.deep.equal([
      { len: 2, vals: [1, -2] },
      { len: 0, vals: [] },
      { len: 1, vals: [32767] },
    ]);
    expect({ ...(f.nested as object) }).to.deep.equal({ n: 2, arr: [-1, 2147483647] });
    expect(f.prio_text).to.equal('abc');
    expect(f.matrix).to.deep.equal([
      [1, 2, 3],
      [4, 5, -6],
    ]);
    const g = events[2].fields;
    expect([g.c1, g.c2, g.c3]).to.deep.equal([
      new EnumValue(30, ['BLUE']),
      new EnumValue(6, ['BLUE']),
      new EnumValue(99, []),
    ]);
    expect(g.v).to.deep.equal(new VariantValue('named', 'named "shape"'));
    expect(g.f).to.equal(3.4028234663852886e38);
    expect(events[3].fields).to.deep.equal({});
    expect(events[4].fields.s).to.equal('');
    sameAsBabeltrace([dir]);
    sameAsBabeltrace([dir], { args: ['--clock-cycles'], text: { cycles: true } });
  });

  it('prints the domain, log level and trace env fields on request, as babeltrace2 --fields does', function () {
    writeBitsTrace(dir);
    fs.writeFileSync(
      path.join(dir, 'metadata'),
      METADATA.replace('answer = 42;', 'answer = 42; domain = "kernel"; procname = "bits-app"; vpid = 77;'),
    );
    sameAsBabeltrace([dir]);
    sameAsBabeltrace([dir], {
      args: ['--clock-gmt', '--fields=trace:hostname,trace:domain,trace:procname,trace:vpid,loglevel'],
      text: { gmt: true, domain: true, loglevel: true },
    });
    sameAsBabeltrace([dir], {
      args: ['--clock-gmt', '--fields=loglevel'],
      text: { gmt: true, hostname: false, procname: false, vpid: false, loglevel: true },
    });
  });
});

describe('TSDL parser', () => {
  const where = 'test/metadata';
  const parse = (text: string) => parseMetadata(text, where);
  const base =
    'typealias integer { size = 8; align = 8; signed = false; } := uint8_t;\ntrace { major = 1; minor = 8; byte_order = le; };\nstream { id = 0; };\n';
  const fieldsOf = (text: string) =>
    parse(base + text)
      .streams.get(0)!
      .events.get(0)!.fields!;

  it('numbers enumeration labels as C does, with ranges and repeated labels', () => {
    const f = fieldsOf(
      'event { name = "e"; fields := struct { enum : uint8_t { A, B = 0x10, C, "D E" = 010 ... 012, A = 100, F } x; }; };',
    );
    const x = f.members[0].type;
    expect(x.kind).to.equal('enum');
    expect(
      x.kind === 'enum' && x.mappings.map((m) => [m.label, m.ranges.map(([lo, hi]) => `${lo}-${hi}`)]),
    ).to.deep.equal([
      ['A', ['0-0', '100-100']],
      ['B', ['16-16']],
      ['C', ['17-17']],
      ['D E', ['8-10']],
      ['F', ['101-101']],
    ]);
  });

  it('reads integer literals in all C forms, string escapes and a multi-word alias (callsite blocks are skipped)', () => {
    const tc = parse(
      `${base}callsite { name = "e"; func = "main"; file = "x.c"; line = 12; ip = 0x400000; };\ntypealias integer { size = 0x40; align = 010; signed = TRUE; } := long long;\nenv { a = 0x10UL; b = 077; c = "t\\tq\\"\\\\\\101\\x42\\n"; d = -9007199254740993; e = 'x'; };\nevent { name = "e"; fields := struct { long long y; }; };`,
    );
    expect(tc.env).to.deep.equal({ a: 16, b: 63, c: 't\tq"\\AB\n', d: '-9007199254740993', e: 120 });
    expect(tc.streams.get(0)!.events.get(0)!.fields!.members[0].type).to.deep.equal({
      kind: 'integer',
      size: 64,
      align: 8,
      signed: true,
      byteOrder: 'native',
      base: 10,
      encoding: 'none',
      map: undefined,
    });
  });

  it('scopes typedefs and named structs to the block that declares them', () => {
    expect(() =>
      parse(
        `${base}event { name = "e"; typedef uint8_t local_t; fields := struct { local_t a; }; };\nevent { name = "f"; id = 1; fields := struct { local_t b; }; };`,
      ),
    ).to.throw(CtfError, `${where}: unknown type "local_t" at line 5, column 48 (offset 269)`);
    const s = fieldsOf(
      'struct outer { struct inner { uint8_t a; } i; uint8_t b; } align(32);\nevent { name = "e"; fields := struct { struct outer o; }; };',
    );
    const outer = s.members[0].type as StructType;
    expect(outer.minAlign).to.equal(32);
    expect(outer.members[0].type).to.deep.equal({
      kind: 'struct',
      members: [
        {
          name: 'a',
          type: {
            kind: 'integer',
            size: 8,
            align: 8,
            signed: false,
            byteOrder: 'native',
            base: 10,
            encoding: 'none',
            map: undefined,
          },
        },
      ],
      minAlign: 1,
    });
    // A structure declared in another one's body is that body's.
    expect(() =>
      fieldsOf(
        'struct outer { struct inner { uint8_t a; } i; };\nevent { name = "e"; fields := struct { struct inner again; }; };',
      ),
    ).to.throw(CtfError, `${where}: unknown struct inner at line 5, column 40 (offset 229)`);
  });

  it('names what is wrong, where', () => {
    const bad = (text: string) => {
      try {
        parse(text);
        return '';
      } catch (e) {
        expect(e).to.be.instanceOf(CtfError);
        return (e as Error).message.replace(`${where}: `, '');
      }
    };
    expect(bad(`${base}event { name = "e"; fields := struct { uint8_t a; uint8_t a; }; };`)).to.equal(
      'duplicate member "a" in a struct at line 4, column 59 (offset 199)',
    );
    expect(
      bad(`${base}event { name = "e"; fields := struct { floating_point { exp_dig = 5; mant_dig = 11; } h; }; };`),
    ).to.equal(
      'only 32-bit (exp_dig 8, mant_dig 24) and 64-bit (11, 53) floating point numbers are supported, not 5/11 at line 4, column 57 (offset 197)',
    );
    expect(bad(`${base}event { name = "e"; fields := struct { integer { size = 65; } a; }; };`)).to.equal(
      'size must be an integer from 1 to 64 at line 4, column 50 (offset 190)',
    );
    expect(bad(`${base}event { name = "e"; fields := struct { integer { size = 8; align = 3; } a; }; };`)).to.equal(
      'alignment 3 is not a power of two at line 4, column 60 (offset 200)',
    );
    expect(bad(`${base}event { name = "e"; fields := struct { struct nope n; }; };`)).to.equal(
      'unknown struct nope at line 4, column 40 (offset 180)',
    );
    expect(bad(`${base}event { name = "e"; fields := struct { uint8_t a @; }; };`)).to.equal(
      "unexpected '@' at line 4, column 50 (offset 190)",
    );
    expect(bad(`${base}event { name = "e\n"; };`)).to.equal('unterminated literal at line 4, column 16 (offset 156)');
    expect(bad(`${base}/* never closed`)).to.equal('unterminated comment at line 4, column 1 (offset 141)');
    expect(bad(`${base}env { x = 99999999999999999999999; };`)).to.equal(
      'integer literal 99999999999999999999999 does not fit in 64 bits at line 4, column 11 (offset 151)',
    );
    expect(bad('trace { major = 2; minor = 0; byte_order = le; };')).to.equal(
      'CTF 2.0 is not supported (only CTF 1.8)',
    );
    expect(bad(`${base}stream { id = 0; };`)).to.equal(
      'stream class 0 is declared twice at line 4, column 1 (offset 141)',
    );
  });
});
