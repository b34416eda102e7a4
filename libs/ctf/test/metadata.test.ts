import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  fieldDeclarations,
  metadataEventsText,
  metadataText,
  parseMetadata,
  TraceDescription,
  tsdlIdentifier,
  tsdlString,
} from '../src';
import { body, sameAsBabeltrace, StreamBuilder, tmpDir } from './helpers';

const INT = (size: number, signed: boolean, extra = 'encoding = none; base = 10;') =>
  `integer { size = ${size}; align = 8; signed = ${signed ? 1 : 0}; ${extra} }`;

function small(): TraceDescription {
  return {
    uuid: '2A6422D0-6cee-4ee0-8f42-11a2b3c4d5e6',
    env: { hostname: 'h', vpid: 42 },
    clock: {
      name: 'monotonic',
      offsetNs: -1n,
      uuid: '11111111-2222-3333-4444-555555555555',
      description: 'Monotonic Clock',
    },
    streams: [
      {
        id: 0,
        contexts: ['vpid', 'procname'],
        events: [
          {
            id: 0,
            name: 'app:req',
            loglevel: 6,
            fields: [
              { name: 'id', type: 'u64' },
              { name: 'path', type: 'string' },
            ],
          },
        ],
      },
    ],
  };
}

describe('TSDL metadata writer', () => {
  it('writes the whole file: types, trace, env, clock, packet context, event header, streams, events', () => {
    expect(metadataText(small())).to.equal(`/* CTF 1.8 */

typealias integer { size = 8; align = 8; signed = false; } := uint8_t;
typealias integer { size = 16; align = 8; signed = false; } := uint16_t;
typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
typealias integer { size = 64; align = 8; signed = false; } := uint64_t;
typealias integer { size = 64; align = 8; signed = false; } := unsigned long;

trace {
	major = 1;
	minor = 8;
	uuid = "2a6422d0-6cee-4ee0-8f42-11a2b3c4d5e6";
	byte_order = le;
	packet.header := struct {
		uint32_t magic;
		uint8_t  uuid[16];
		uint32_t stream_id;
		uint64_t stream_instance_id;
	};
};

env {
	hostname = "h";
	vpid = 42;
};

clock {
	name = "monotonic";
	uuid = "11111111-2222-3333-4444-555555555555";
	description = "Monotonic Clock";
	freq = 1000000000;
	precision = 1;
	offset_s = -1;
	offset = 999999999;
	absolute = FALSE;
};

typealias integer { size = 32; align = 8; signed = false; map = clock.monotonic.value; } := uint32_clock_monotonic_t;
typealias integer { size = 64; align = 8; signed = false; map = clock.monotonic.value; } := uint64_clock_monotonic_t;

struct packet_context {
	uint64_clock_monotonic_t timestamp_begin;
	uint64_clock_monotonic_t timestamp_end;
	uint64_t content_size;
	uint64_t packet_size;
	uint64_t packet_seq_num;
	unsigned long events_discarded;
	uint32_t cpu_id;
} align(8);

struct event_header_large {
	enum : uint16_t { compact = 0 ... 65534, extended = 65535 } id;
	variant <id> {
		struct {
			uint32_clock_monotonic_t timestamp;
		} align(8) compact;
		struct {
			uint32_t id;
			uint64_clock_monotonic_t timestamp;
		} align(8) extended;
	} v;
} align(8);

stream {
	id = 0;
	event.header := struct event_header_large;
	packet.context := struct packet_context;
	event.context := struct {
		${INT(32, true)} _vpid;
		${INT(8, false, 'encoding = UTF8; base = 10;')} _procname[17];
	};
};

event {
	name = "app:req";
	id = 0;
	stream_id = 0;
	loglevel = 6;
	fields := struct {
		${INT(64, false)} _id;
		string { encoding = UTF8; } _path;
	};
};

`);
  });

  it('declares each type of the grammar as LTTng-UST does', () => {
    const d = (type: string, name = 'f') => fieldDeclarations(name, type);
    expect(d('u8')).to.deep.equal([`${INT(8, false)} _f;`]);
    expect(d('s16')).to.deep.equal([`${INT(16, true)} _f;`]);
    expect(d('u32')).to.deep.equal([`${INT(32, false)} _f;`]);
    expect(d('s64')).to.deep.equal([`${INT(64, true)} _f;`]);
    expect(d('float')).to.deep.equal(['floating_point { exp_dig = 8; mant_dig = 24; align = 8; } _f;']);
    expect(d('double')).to.deep.equal(['floating_point { exp_dig = 11; mant_dig = 53; align = 8; } _f;']);
    expect(d('string')).to.deep.equal(['string { encoding = UTF8; } _f;']);
    expect(d('char[16]')).to.deep.equal([`${INT(8, false, 'encoding = UTF8; base = 10;')} _f[16];`]);
    expect(d('s32[4]')).to.deep.equal([`${INT(32, true)} _f[4];`]);
    expect(d('seq:s16')).to.deep.equal([`${INT(32, false)} __f_length;`, `${INT(16, true)} _f[ __f_length ];`]);
    expect(d('bytes')).to.deep.equal([
      `${INT(32, false)} __f_length;`,
      `${INT(8, false, 'encoding = none; base = 16;')} _f[ __f_length ];`,
    ]);
    expect(d('enum:s8:{"A":-1,"B \\"b\\"":2,"A2":-1}')).to.deep.equal([
      `enum : ${INT(8, true)} { "A" = -1, "B \\"b\\"" = 2, "A2" = -1 } _f;`,
    ]);
    expect(() => d('u128')).to.throw(TypeError, 'field "f": unknown field type "u128"');
    expect(() => d('enum:u8:{"A":1.5}')).to.throw(
      TypeError,
      'field "f": the value of label "A" must be a safe integer',
    );
    expect(() => d('enum:u8:{}')).to.throw(TypeError, 'field "f": an enumeration needs at least one label');
    expect(() => d('enum:u8:{nope}')).to.throw(TypeError, 'field "f": the enumeration labels are not JSON');
  });

  it('makes names valid identifiers, unique within an event', () => {
    expect(tsdlIdentifier('latency')).to.equal('_latency');
    expect(tsdlIdentifier('a-b.c')).to.equal('_a_b_c');
    expect(tsdlIdentifier('Bool')).to.equal('__Bool');
    expect(tsdlIdentifier('')).to.equal('_');
    const text = metadataEventsText(3, [
      {
        id: 9,
        name: 'p:e',
        loglevel: 13,
        fields: [
          { name: 'a-b', type: 'u8' },
          { name: 'a_b', type: 'u8' },
          { name: 's', type: 'seq:u8' },
          { name: '_s_length', type: 'u8' },
        ],
      },
    ]);
    expect(text).to.equal(`event {
	name = "p:e";
	id = 9;
	stream_id = 3;
	loglevel = 13;
	fields := struct {
		${INT(8, false)} _a_b;
		${INT(8, false)} _a_b_1;
		${INT(32, false)} __s_length;
		${INT(8, false)} _s[ __s_length ];
		${INT(8, false)} __s_length_1;
	};
};

`);
    expect(metadataEventsText(0, [{ id: 1, name: 'p:none', loglevel: 0, fields: [] }])).to.equal(
      'event {\n\tname = "p:none";\n\tid = 1;\n\tstream_id = 0;\n\tloglevel = 0;\n\tfields := struct {\n\t};\n};\n\n',
    );
  });

  it('escapes string literals so that readers get the same text back', () => {
    const tricky = 'q"\\ \n\t\r\x01\x1bc\x7f é ☃';
    expect(tsdlString(tricky)).to.equal('"q\\"\\\\ \\n\\t\\r\\001\\033c\\177 é ☃"');
    const d = small();
    d.env = { text: tricky, n: -7, f: 2.5, 'bad key': 1 };
    const tc = parseMetadata(Buffer.from(metadataText(d), 'utf8').toString('latin1'), 'm');
    expect(tc.env).to.deep.equal({ text: tricky, n: -7, f: '2.5', bad_key: 1 });
  });

  it('refuses what cannot be described', () => {
    const bad = (patch: (d: TraceDescription) => void) => {
      const d = small();
      patch(d);
      return () => metadataText(d);
    };
    expect(bad((d) => (d.uuid = 'nope'))).to.throw(TypeError, 'trace uuid "nope" is not 8-4-4-4-12 hexadecimal');
    expect(bad((d) => (d.clock.name = 'my clock'))).to.throw(TypeError, 'clock name "my clock" is not an identifier');
    expect(bad((d) => (d.streams[0].contexts = ['pid']))).to.throw(
      TypeError,
      'stream 0: unknown context "pid" (allowed: vpid, vtid, vuid, vgid, procname)',
    );
    expect(bad((d) => d.streams.push({ ...d.streams[0] }))).to.throw(TypeError, 'stream id 0 is described twice');
    expect(bad((d) => (d.streams[0].events[0].id = -1))).to.throw(
      RangeError,
      'the id of event "app:req" must be an integer from 0 to 4294967295, not -1',
    );
  });
});

describe('TSDL metadata writer, read by babeltrace2', function () {
  this.timeout(30000);
  it('names that need care: quotes in event names and labels, keywords, duplicates after cleaning', function () {
    const dir = tmpDir('names');
    try {
      const e = {
        id: 0,
        name: 'we"ird\\ev?',
        loglevel: 13,
        fields: [
          { name: 'Bool', type: 'u8' },
          { name: 'a-b', type: 's8' },
          { name: 'a_b', type: 's8' },
          { name: 'en', type: 'enum:u16:{"\\"quoted\\"":1,"back\\\\slash":2,"tab\\tand ?":3}' },
        ],
      };
      const d = small();
      d.streams[0] = { id: 0, contexts: [], events: [e] };
      d.env = { hostname: 'host "q"', note: 'line\nbreak' };
      fs.writeFileSync(path.join(dir, 'metadata'), metadataText(d));
      const s = new StreamBuilder({ uuid: d.uuid, streamId: 0, instanceId: 0n, cpuId: 0 });
      for (let i = 1; i <= 3; i++) s.event(0, 1000n + BigInt(i), body(e, [i, -i, i * 2, i]));
      s.write(dir, 'chan_0');
      const events = sameAsBabeltrace([dir]);
      expect(events.map((x) => x.name)).to.deep.equal(['we"ird\\ev?', 'we"ird\\ev?', 'we"ird\\ev?']);
      expect(events.map((x) => ({ ...x.fields, en: (x.fields.en as { label: string }).label }))).to.deep.equal([
        { _Bool: 1, a_b: -1, a_b_1: 2, en: '"quoted"' },
        { _Bool: 2, a_b: -2, a_b_1: 4, en: 'back\\slash' },
        { _Bool: 3, a_b: -3, a_b_1: 6, en: 'tab\tand ?' },
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
