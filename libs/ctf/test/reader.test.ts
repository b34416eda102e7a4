import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CtfError,
  CtfTrace,
  EnumValue,
  findTraces,
  MetadataEvent,
  metadataEventsText,
  metadataText,
  readEvents,
  TraceDescription,
  TraceEvent,
} from '../src';
import { body, sameAsBabeltrace, StreamBuilder, tmpDir, UUID } from './helpers';

const OFFSET = 1_700_000_000_123_456_789n;
const T0 = 5_000_000_000_000n; // monotonic ns: ~83 minutes after boot

const enumLabels = '{"RED":0,"GREEN":1,"BLUE":2,"ALSO_BLUE":2,"WITH \\"QUOTES\\" \\\\ ?":7}';

/** One event class per field type of the grammar, then a few with several fields. */
const EVENTS: MetadataEvent[] = [
  { id: 0, name: 'types:u8', loglevel: 0, fields: [{ name: 'v', type: 'u8' }] },
  { id: 1, name: 'types:u16', loglevel: 1, fields: [{ name: 'v', type: 'u16' }] },
  { id: 2, name: 'types:u32', loglevel: 2, fields: [{ name: 'v', type: 'u32' }] },
  { id: 3, name: 'types:u64', loglevel: 3, fields: [{ name: 'v', type: 'u64' }] },
  { id: 4, name: 'types:s8', loglevel: 4, fields: [{ name: 'v', type: 's8' }] },
  { id: 5, name: 'types:s16', loglevel: 5, fields: [{ name: 'v', type: 's16' }] },
  { id: 6, name: 'types:s32', loglevel: 6, fields: [{ name: 'v', type: 's32' }] },
  { id: 7, name: 'types:s64', loglevel: 7, fields: [{ name: 'v', type: 's64' }] },
  { id: 8, name: 'types:float', loglevel: 8, fields: [{ name: 'v', type: 'float' }] },
  { id: 9, name: 'types:double', loglevel: 9, fields: [{ name: 'v', type: 'double' }] },
  { id: 10, name: 'types:string', loglevel: 10, fields: [{ name: 'v', type: 'string' }] },
  { id: 11, name: 'types:chars', loglevel: 11, fields: [{ name: 'v', type: 'char[8]' }] },
  {
    id: 12,
    name: 'types:array',
    loglevel: 12,
    fields: [
      { name: 'v', type: 'u16[3]' },
      { name: 'w', type: 's64[2]' },
    ],
  },
  { id: 13, name: 'types:seq', loglevel: 13, fields: [{ name: 'v', type: 'seq:s16' }] },
  { id: 14, name: 'types:bytes', loglevel: 14, fields: [{ name: 'v', type: 'bytes' }] },
  {
    id: 15,
    name: 'types:enum',
    loglevel: 13,
    fields: [
      { name: 'v', type: `enum:u8:${enumLabels}` },
      { name: 'w', type: 'enum:s32:{"NEG":-5,"ZERO":0}' },
    ],
  },
  {
    id: 16,
    name: 'types:mixed',
    loglevel: 6,
    fields: [
      { name: 'id', type: 'u64' },
      { name: 'latency', type: 'double' },
      { name: 'path', type: 'string' },
      { name: 'seq', type: 'seq:u8' },
      { name: 'tail', type: 's8' },
    ],
  },
  { id: 70000, name: 'types:far_id', loglevel: 13, fields: [{ name: 'v', type: 'u32' }] },
  { id: 17, name: 'types:empty', loglevel: 13, fields: [] },
];

function description(
  streams: TraceDescription['streams'],
  extraEnv: Record<string, string | number> = {},
): TraceDescription {
  return {
    uuid: UUID,
    env: { hostname: 'testhost', domain: 'ust', tracer_name: 'tstrace', tracer_major: 0, tracer_minor: 1, ...extraEnv },
    clock: {
      name: 'monotonic',
      description: 'Monotonic Clock',
      offsetNs: OFFSET,
      uuid: '11111111-2222-3333-4444-555555555555',
    },
    streams,
  };
}

/** Values written for each event class (by id), and the values the reader must give back. */
const CASES: { id: number; values: unknown[]; expect: Record<string, unknown> }[] = [
  { id: 0, values: [255], expect: { v: 255 } },
  { id: 1, values: [65535], expect: { v: 65535 } },
  { id: 2, values: [4294967295], expect: { v: 4294967295 } },
  { id: 3, values: [18446744073709551615n], expect: { v: 18446744073709551615n } },
  { id: 3, values: [9007199254740993n], expect: { v: 9007199254740993n } },
  { id: 3, values: [9007199254740991n], expect: { v: 9007199254740991 } },
  { id: 4, values: [-128], expect: { v: -128 } },
  { id: 5, values: [-32768], expect: { v: -32768 } },
  { id: 6, values: [-2147483648], expect: { v: -2147483648 } },
  { id: 7, values: [-9223372036854775808n], expect: { v: -9223372036854775808n } },
  { id: 7, values: [-5n], expect: { v: -5 } },
  { id: 8, values: [1.5], expect: { v: 1.5 } },
  { id: 8, values: [0.1], expect: { v: Math.fround(0.1) } },
  { id: 9, values: [-2.25e-300], expect: { v: -2.25e-300 } },
  { id: 9, values: [123456789.25], expect: { v: 123456789.25 } },
  { id: 9, values: [-0], expect: { v: -0 } },
  { id: 10, values: ['héllo wörld ☃'], expect: { v: 'héllo wörld ☃' } },
  { id: 10, values: [''], expect: { v: '' } },
  { id: 10, values: ['q"\\?\'\n\t\x1b\x01 end'], expect: { v: 'q"\\?\'\n\t\x1b\x01 end' } },
  { id: 11, values: ['abc'], expect: { v: 'abc' } },
  { id: 11, values: ['ünïcödé'], expect: { v: 'ünïcö' } },
  {
    id: 12,
    values: [
      [1, 2, 65535],
      [-1n, 18446744073709551615n],
    ],
    expect: { v: [1, 2, 65535], w: [-1, -1] },
  },
  { id: 13, values: [[-1, 0, 32767, -32768]], expect: { _v_length: 4, v: [-1, 0, 32767, -32768] } },
  { id: 13, values: [[]], expect: { _v_length: 0, v: [] } },
  { id: 14, values: [Uint8Array.from([1, 2, 255])], expect: { _v_length: 3, v: [1, 2, 255] } },
  { id: 14, values: [new Uint8Array(0)], expect: { _v_length: 0, v: [] } },
  { id: 15, values: ['GREEN', 'NEG'], expect: { v: new EnumValue(1, ['GREEN']), w: new EnumValue(-5, ['NEG']) } },
  {
    id: 15,
    values: ['BLUE', 'ZERO'],
    expect: { v: new EnumValue(2, ['BLUE', 'ALSO_BLUE']), w: new EnumValue(0, ['ZERO']) },
  },
  { id: 15, values: [7, 9], expect: { v: new EnumValue(7, ['WITH "QUOTES" \\ ?']), w: new EnumValue(9, []) } },
  {
    id: 16,
    values: [42n, 0.25, '/api/orders?id=1', [104, 105], -7],
    expect: { id: 42, latency: 0.25, path: '/api/orders?id=1', _seq_length: 2, seq: [104, 105], tail: -7 },
  },
  { id: 70000, values: [123], expect: { v: 123 } },
  { id: 17, values: [], expect: {} },
];

const plain = (o: Record<string, unknown>) => ({ ...o });

describe('CTF reader: traces as tstrace writes them', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('reader');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Stream class 0 (vpid vtid procname) on two CPUs, stream class 1 (vuid vgid) on one. */
  function writeTypesTrace(cases = CASES): {
    written: {
      id: number;
      ts: bigint;
      cpu: number;
      sc: number;
      ctx: Record<string, unknown>;
      expect: Record<string, unknown>;
    }[];
  } {
    const s0: MetadataEvent[] = EVENTS;
    const s1: MetadataEvent[] = [
      {
        id: 0,
        name: 'other:tick',
        loglevel: 6,
        fields: [
          { name: 'n', type: 'u32' },
          { name: 'label', type: 'string' },
        ],
      },
    ];
    fs.writeFileSync(
      path.join(dir, 'metadata'),
      metadataText(
        description([
          { id: 0, contexts: ['vpid', 'vtid', 'procname'], events: s0 },
          { id: 1, contexts: ['vuid', 'vgid'], events: s1 },
        ]),
      ),
    );
    const cpu0 = new StreamBuilder({ streamId: 0, instanceId: 10n, cpuId: 0 });
    const cpu1 = new StreamBuilder({ streamId: 0, instanceId: 11n, cpuId: 1 });
    const other = new StreamBuilder({ streamId: 1, instanceId: 20n, cpuId: 0, packetSize: 8192 });
    const written: {
      id: number;
      ts: bigint;
      cpu: number;
      sc: number;
      ctx: Record<string, unknown>;
      expect: Record<string, unknown>;
    }[] = [];
    let ts = T0;
    cases.forEach((c, i) => {
      const e = EVENTS.find((x) => x.id === c.id)!;
      // Several rounds, so that packets fill and switch.
      for (let round = 0; round < 12; round++) {
        const cpu = (i + round) % 2;
        ts += BigInt(1000 + i * 7 + round);
        const ctx = {
          vpid: 4000 + cpu,
          vtid: 4100 + round,
          procname: round % 3 === 0 ? 'node' : 'a-very-long-process-name',
        };
        (cpu === 0 ? cpu0 : cpu1).event(c.id, ts, body(e, c.values, ['vpid', 'vtid', 'procname'], ctx));
        written.push({
          id: c.id,
          ts,
          cpu,
          sc: 0,
          ctx: { ...ctx, procname: ctx.procname.slice(0, 17) },
          expect: c.expect,
        });
        if (round % 4 === 0) {
          ts += 3n;
          const ctx1 = { vuid: 1000, vgid: 100 + round };
          other.event(0, ts, body(s1[0], [i * 100 + round, `tick ${i}/${round}`], ['vuid', 'vgid'], ctx1));
          written.push({
            id: 0,
            ts,
            cpu: 0,
            sc: 1,
            ctx: ctx1,
            expect: { n: i * 100 + round, label: `tick ${i}/${round}` },
          });
        }
      }
    });
    cpu0.write(dir, 'chan_0');
    cpu1.write(dir, 'chan_1');
    other.write(dir, 'other_0');
    return { written };
  }

  it('reads back every field type, with the contexts of two stream classes, in time order', () => {
    const { written } = writeTypesTrace();
    const trace = CtfTrace.open(dir);
    expect(trace.env).to.deep.equal({
      hostname: 'testhost',
      domain: 'ust',
      tracer_name: 'tstrace',
      tracer_major: 0,
      tracer_minor: 1,
    });
    expect(trace.clockOffsetNs).to.equal(OFFSET);
    expect(trace.streams).to.deep.equal(['chan_0', 'chan_1', 'other_0'].map((f) => path.join(dir, f)));
    const events = [...trace.events()];
    expect(events.length).to.equal(written.length);
    events.forEach((e, i) => {
      const w = written[i];
      expect(e.timestamp, `event ${i}`).to.equal(w.ts);
      expect(e.timeNs).to.equal(w.ts + OFFSET);
      expect(e.streamId).to.equal(w.sc);
      expect(e.cpuId).to.equal(w.cpu);
      expect(e.tracePath).to.equal(dir);
      expect(plain(e.context)).to.deep.equal(w.ctx);
      expect(plain(e.fields), `${e.name} #${i}`).to.deep.equal(w.expect);
      const ec = w.sc === 0 ? EVENTS.find((x) => x.id === w.id)! : { name: 'other:tick' };
      expect(e.name).to.equal(ec.name);
    });
    expect(events[0].packetContext).to.include({
      cpu_id: 0,
      packet_seq_num: 0,
      events_discarded: 0,
      packet_size: 32768,
    });
    expect(trace.discarded()).to.deep.equal([]);
  });

  it('prints every event exactly as babeltrace2 does', function () {
    writeTypesTrace();
    const events = sameAsBabeltrace([dir]);
    expect(events.length).to.equal(CASES.length * 12 + CASES.length * 3);
    // The same with --clock-cycles and --clock-date.
    sameAsBabeltrace([dir], { args: ['--clock-cycles'], text: { cycles: true } });
    sameAsBabeltrace([dir], { args: ['--clock-date', '--clock-gmt'], text: { gmt: true, date: true } });
    sameAsBabeltrace([dir], { args: ['--clock-seconds'], text: { seconds: true } });
  });

  it('extends 32-bit timestamps across 2^32 boundaries: by the wrap rule and by extended headers', function () {
    const e: MetadataEvent = { id: 3, name: 'ts:tick', loglevel: 13, fields: [{ name: 'n', type: 'u32' }] };
    const far: MetadataEvent = { id: 65535, name: 'ts:far', loglevel: 13, fields: [{ name: 'n', type: 'u32' }] };
    fs.writeFileSync(
      path.join(dir, 'metadata'),
      metadataText(description([{ id: 0, contexts: [], events: [e, far] }])),
    );
    const s = new StreamBuilder({ streamId: 0, instanceId: 1n, cpuId: 0 });
    const stamps = [
      0xfffffff0n,
      0x1_0000_0010n,
      0x1_ffff_ff00n,
      0x2_0000_0005n,
      0x2_0000_0100n,
      0x5_0000_0000n,
      0x5_0000_0001n,
    ];
    // Compact across the first boundary (the reader adds 2^32 because the low bits went down),
    // extended where the high bits change otherwise; the id 65535 needs an extended header.
    s.event(3, stamps[0], body(e, [0]));
    s.event(3, stamps[1], body(e, [1]), true);
    s.event(65535, stamps[2], body(far, [2]));
    s.event(3, stamps[3], body(e, [3]), true);
    s.event(3, stamps[4], body(e, [4]));
    s.event(3, stamps[5], body(e, [5]));
    s.event(65535, stamps[6], body(far, [6]));
    s.write(dir, 'chan_0');
    const events = [...CtfTrace.open(dir).events()];
    expect(events.map((x) => x.timestamp)).to.deep.equal(stamps);
    expect(events.map((x) => `${x.name}=${x.fields.n}`)).to.deep.equal([
      'ts:tick=0',
      'ts:tick=1',
      'ts:far=2',
      'ts:tick=3',
      'ts:tick=4',
      'ts:tick=5',
      'ts:far=6',
    ]);
    expect(events.map((x) => x.id)).to.deep.equal([3, 3, 65535, 3, 3, 3, 65535]);
    sameAsBabeltrace([dir], { args: ['--clock-cycles'], text: { cycles: true } });
  });

  it('reports discarded events and packets per stream, as babeltrace2 warns of them', function () {
    const e: MetadataEvent = { id: 0, name: 'd:e', loglevel: 13, fields: [{ name: 'n', type: 'u64' }] };
    fs.writeFileSync(path.join(dir, 'metadata'), metadataText(description([{ id: 0, contexts: [], events: [e] }])));
    const a = new StreamBuilder({ streamId: 0, instanceId: 1n, cpuId: 0 });
    const b = new StreamBuilder({ streamId: 0, instanceId: 2n, cpuId: 1 });
    a.event(0, T0, body(e, [1])).close(T0 + 10n);
    a.discarded = 3n;
    a.event(0, T0 + 100n, body(e, [2])).close(T0 + 110n);
    a.discarded = 7n;
    a.event(0, T0 + 200n, body(e, [3])).close(T0 + 210n);
    b.event(0, T0 + 50n, body(e, [4])).close(T0 + 60n);
    b.skipPacket();
    b.event(0, T0 + 150n, body(e, [5])).close(T0 + 160n);
    a.write(dir, 'chan_0');
    b.write(dir, 'chan_1');
    const trace = CtfTrace.open(dir);
    expect(trace.discarded()).to.deep.equal([
      { stream: path.join(dir, 'chan_0'), events: 7n, packets: 0n },
      { stream: path.join(dir, 'chan_1'), events: 0n, packets: 1n },
    ]);
    expect([...trace.events()].map((x) => x.fields.n)).to.deep.equal([1, 4, 2, 5, 3]);
    const at = (ns: bigint) =>
      new Date(Number((OFFSET + ns) / 1_000_000n)).toISOString().slice(11, 19) +
      '.' +
      String((OFFSET + ns) % 1_000_000_000n).padStart(9, '0');
    const warnings = [
      `WARNING: Tracer discarded 3 events between [${at(T0 + 10n)}] and [${at(T0 + 110n)}] in trace "testhost" (UUID: ${UUID}) within stream "${path.join(dir, 'chan_0')}" (stream class ID: 0, stream ID: 1).`,
      `WARNING: Tracer discarded 4 events between [${at(T0 + 110n)}] and [${at(T0 + 210n)}] in trace "testhost" (UUID: ${UUID}) within stream "${path.join(dir, 'chan_0')}" (stream class ID: 0, stream ID: 1).`,
      `WARNING: Tracer discarded 1 packet between [${at(T0 + 60n)}] and [${at(T0 + 150n)}] in trace "testhost" (UUID: ${UUID}) within stream "${path.join(dir, 'chan_1')}" (stream class ID: 0, stream ID: 2).`,
    ];
    const r = sameAsBabeltrace([dir], { stderr: /WARNING/ });
    expect(r.length).to.equal(5);
    const stderr = require('node:child_process')
      .spawnSync('babeltrace2', ['--clock-gmt', dir], { encoding: 'utf8' })
      // eslint-disable-next-line no-control-regex -- babeltrace2's colour codes
      .stderr.replace(/\x1b\[[0-9;]*m/g, '');
    for (const w of warnings) expect(stderr).to.include(w);
  });

  it('reads metadata that grew while the session ran (event blocks appended)', function () {
    const first: MetadataEvent[] = [
      { id: 0, name: 'grow:first', loglevel: 13, fields: [{ name: 's', type: 'string' }] },
    ];
    const later: MetadataEvent[] = [
      { id: 1, name: 'grow:second', loglevel: 6, fields: [{ name: 'x', type: 's32' }] },
      {
        id: 2,
        name: 'grow:third',
        loglevel: 4,
        fields: [
          { name: 'c', type: 'char[4]' },
          { name: 'e', type: 'enum:u16:{"ON":1,"OFF":0}' },
        ],
      },
    ];
    const file = path.join(dir, 'metadata');
    fs.writeFileSync(
      file,
      metadataText(
        description([
          { id: 0, contexts: ['vtid'], events: first },
          { id: 1, contexts: [], events: [] },
        ]),
      ),
    );
    fs.appendFileSync(file, metadataEventsText(0, later));
    fs.appendFileSync(
      file,
      metadataEventsText(1, [{ id: 0, name: 'grow:other', loglevel: 13, fields: [{ name: 'n', type: 'u8' }] }]),
    );
    const s = new StreamBuilder({ streamId: 0, instanceId: 0n, cpuId: 0 });
    s.event(0, T0, body(first[0], ['before'], ['vtid'], { vtid: 9 }));
    s.event(1, T0 + 1n, body(later[0], [-12], ['vtid'], { vtid: 9 }));
    s.event(2, T0 + 2n, body(later[1], ['abcd', 'ON'], ['vtid'], { vtid: 10 }));
    s.write(dir, 'chan_0');
    new StreamBuilder({ streamId: 1, instanceId: 5n, cpuId: 0 })
      .event(0, T0 + 1n, body({ id: 0, name: '', loglevel: 0, fields: [{ name: 'n', type: 'u8' }] }, [200]))
      .write(dir, 'second_0');
    const events = [...readEvents([dir])];
    expect(events.map((e) => [e.name, plain(e.fields)])).to.deep.equal([
      ['grow:first', { s: 'before' }],
      ['grow:second', { x: -12 }],
      ['grow:other', { n: 200 }],
      ['grow:third', { c: 'abcd', e: new EnumValue(1, ['ON']) }],
    ]);
    sameAsBabeltrace([dir]);
  });

  it('finds every trace of a session and merges them on one time line (clock offsets applied)', function () {
    // A session holds several traces: per-UID, per-PID (another clock offset: another boot of the clock base).
    const session = dir;
    const uidDir = path.join(session, 'ust/uid/1000/64-bit');
    const pidDir = path.join(session, 'ust/pid/app-42-20240101-000000');
    fs.mkdirSync(uidDir, { recursive: true });
    fs.mkdirSync(pidDir, { recursive: true });
    const e: MetadataEvent = { id: 0, name: 'm:e', loglevel: 13, fields: [{ name: 'n', type: 'u16' }] };
    fs.writeFileSync(path.join(uidDir, 'metadata'), metadataText(description([{ id: 0, contexts: [], events: [e] }])));
    const pidDesc = description([{ id: 0, contexts: ['vpid'], events: [e] }], { procname: 'app', vpid: 42 });
    pidDesc.uuid = '9a6422d0-6cee-4ee0-8f42-11a2b3c4d5e6';
    pidDesc.clock.offsetNs = OFFSET - 1000n;
    fs.writeFileSync(path.join(pidDir, 'metadata'), metadataText(pidDesc));
    const u = new StreamBuilder({ streamId: 0, instanceId: 0n, cpuId: 0 });
    for (let i = 0; i < 5; i++) u.event(0, T0 + BigInt(i * 100), body(e, [i]));
    u.write(uidDir, 'chan_0');
    const p = new StreamBuilder({ uuid: pidDesc.uuid, streamId: 0, instanceId: 0n, cpuId: 0 });
    // Same clock values, 1000 ns earlier on the common time line: 1050 ns later values come between.
    for (let i = 0; i < 5; i++) p.event(0, T0 + 1050n + BigInt(i * 100), body(e, [100 + i], ['vpid'], { vpid: 42 }));
    p.write(pidDir, 'chan_0');
    expect(findTraces(session)).to.deep.equal([pidDir, uidDir]);
    const events = [...readEvents([session])];
    expect(events.map((x) => x.fields.n)).to.deep.equal([0, 100, 1, 101, 2, 102, 3, 103, 4, 104]);
    expect(events.map((x) => x.timeNs - OFFSET)).to.deep.equal(
      [0, 50, 100, 150, 200, 250, 300, 350, 400, 450].map((n) => T0 + BigInt(n)),
    );
    sameAsBabeltrace([session]);
  });

  it('orders simultaneous events of different streams as babeltrace2 does', function () {
    const e: MetadataEvent = { id: 0, name: 'tie:a', loglevel: 13, fields: [{ name: 'n', type: 'u8' }] };
    const f: MetadataEvent = { id: 1, name: 'tie:b', loglevel: 13, fields: [{ name: 'n', type: 'u8' }] };
    fs.writeFileSync(
      path.join(dir, 'metadata'),
      metadataText(
        description([
          { id: 0, contexts: [], events: [e, f] },
          { id: 1, contexts: [], events: [e] },
        ]),
      ),
    );
    const streams = [
      { name: 'z_0', sc: 0, inst: 3n },
      { name: 'a_0', sc: 0, inst: 7n },
      { name: 'm_0', sc: 1, inst: 1n },
    ];
    for (const s of streams) {
      const b = new StreamBuilder({ streamId: s.sc, instanceId: s.inst, cpuId: 0 });
      for (let i = 0; i < 3; i++) {
        b.event(s.sc === 0 ? 1 : 0, T0 + BigInt(i), body(e, [Number(s.inst) * 10 + i]));
        b.event(0, T0 + BigInt(i), body(e, [Number(s.inst) * 10 + i]));
      }
      b.write(dir, s.name);
    }
    const got = [...CtfTrace.open(dir).events()].map((x) => `${x.name}/${x.fields.n}`);
    expect(got.length).to.equal(18);
    sameAsBabeltrace([dir]);
  });

  it('reads a stream rotated into several files as one stream', function () {
    const e: MetadataEvent = { id: 0, name: 'rot:e', loglevel: 13, fields: [{ name: 'n', type: 'u32' }] };
    fs.writeFileSync(path.join(dir, 'metadata'), metadataText(description([{ id: 0, contexts: [], events: [e] }])));
    // Tracefile rotation: chan_0_0 holds the older packets, chan_0_1 the newer; names sort the other way on purpose.
    const older = new StreamBuilder({ streamId: 0, instanceId: 4n, cpuId: 0 });
    older.event(0, T0, body(e, [1])).close();
    older.discarded = 2n;
    older.event(0, T0 + 10n, body(e, [2]));
    const newer = new StreamBuilder({ streamId: 0, instanceId: 4n, cpuId: 0 });
    newer.discarded = 5n;
    newer.event(0, T0 + 20n, body(e, [3]));
    older.write(dir, 'chan_0_10');
    newer.write(dir, 'chan_0_9');
    const t = CtfTrace.open(dir);
    expect([...t.events()].map((x) => x.fields.n)).to.deep.equal([1, 2, 3]);
    expect(t.discarded()).to.deep.equal([{ stream: path.join(dir, 'chan_0_10'), events: 5n, packets: 0n }]);
  });
});

describe('CTF reader: bad input', function () {
  this.timeout(20000);
  let dir: string;
  const e: MetadataEvent = {
    id: 0,
    name: 'bad:e',
    loglevel: 13,
    fields: [
      { name: 'n', type: 'u32' },
      { name: 's', type: 'seq:u8' },
    ],
  };
  beforeEach(() => {
    dir = tmpDir('bad');
    fs.writeFileSync(path.join(dir, 'metadata'), metadataText(description([{ id: 0, contexts: [], events: [e] }])));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function twoPackets(): Buffer {
    const s = new StreamBuilder({ streamId: 0, instanceId: 0n, cpuId: 0 });
    s.event(0, T0, body(e, [1, [1, 2]])).close();
    s.event(0, T0 + 10n, body(e, [2, [3]])).event(0, T0 + 20n, body(e, [3, []]));
    return s.bytes();
  }

  /** Reads all events; returns those read before the error and the error. */
  function readAll(): { events: TraceEvent[]; error?: Error } {
    const events: TraceEvent[] = [];
    try {
      for (const x of readEvents([dir])) events.push(x);
      return { events };
    } catch (err) {
      return { events, error: err as Error };
    }
  }

  it('stops at a truncated last packet with an error naming the file and the offset, after the events before it', () => {
    const data = twoPackets();
    fs.writeFileSync(path.join(dir, 'chan_0'), data.subarray(0, 4096 + 1000));
    const r = readAll();
    expect(r.events.map((x) => x.fields.n)).to.deep.equal([1]);
    expect(r.error).to.be.instanceOf(CtfError);
    expect(r.error!.message).to.equal(
      `${path.join(dir, 'chan_0')}: truncated packet at offset 4096: packet_size says 4096 bytes, the file has 1000 left`,
    );
    fs.writeFileSync(path.join(dir, 'chan_0'), data.subarray(0, 4096 + 50));
    expect(readAll().error!.message).to.match(
      new RegExp(
        `^${path.join(dir, 'chan_0')}: truncated packet at offset 4096: a 64-bit integer at offset 4144 needs 64 bits, 16 are left in the packet$`,
      ),
    );
  });

  it('refuses a packet with a wrong magic, another trace UUID, or an unknown stream class', () => {
    const data = twoPackets();
    data.writeUInt32LE(0xdeadbeef, 4096);
    fs.writeFileSync(path.join(dir, 'chan_0'), data);
    expect(readAll().error!.message).to.equal(
      `${path.join(dir, 'chan_0')}: bad packet magic 0xdeadbeef at offset 4096 (expected 0xc1fc1fc1)`,
    );
    data.writeUInt32LE(0xc1fc1fc1, 4096);
    data[4096 + 4] ^= 0xff;
    fs.writeFileSync(path.join(dir, 'chan_0'), data);
    expect(readAll().error!.message).to.match(/chan_0: the packet at offset 4096 belongs to trace d56422d0/);
    data[4096 + 4] ^= 0xff;
    data.writeUInt32LE(9, 4096 + 20);
    fs.writeFileSync(path.join(dir, 'chan_0'), data);
    expect(readAll().error!.message).to.equal(
      `${path.join(dir, 'chan_0')}: the packet at offset 4096 is of stream class 9, which the metadata does not declare`,
    );
  });

  it('refuses inconsistent sizes, unknown event ids and lengths past the packet, never looping', () => {
    const data = twoPackets();
    const file = path.join(dir, 'chan_0');
    const bad = (patch: (b: Buffer) => void) => {
      const b = Buffer.from(data);
      patch(b);
      fs.writeFileSync(file, b);
      return readAll().error?.message;
    };
    expect(bad((b) => b.writeBigUInt64LE(0n, 4096 + 56))).to.equal(
      `${file}: the packet at offset 4096 has packet_size 0 and content_size 904 bits, and its header and context take 672: inconsistent`,
    );
    expect(bad((b) => b.writeBigUInt64LE(600n, 4096 + 48))).to.equal(
      `${file}: the packet at offset 4096 has packet_size 32768 and content_size 600 bits, and its header and context take 672: inconsistent`,
    );
    expect(bad((b) => b.writeUInt16LE(77, 4096 + 84))).to.equal(
      `${file}: the event at offset 4180 has id 77, which stream class 0 does not declare`,
    );
    // The sequence length of the second packet's first event: 1 becomes 2^31.
    expect(bad((b) => b.writeUInt32LE(0x80000000, 4096 + 84 + 6 + 4))).to.equal(
      `${file}: the event at offset 4180 runs past the content of its packet (offset 4096, 113 bytes): sequence (length __s_length) at offset 4194 has 2147483648 elements; only 120 bits are left in the packet`,
    );
    // Content cut inside the second event's header.
    expect(bad((b) => b.writeBigUInt64LE(BigInt((84 + 6 + 4 + 4 + 1 + 3) * 8), 4096 + 48))).to.equal(
      `${file}: the event at offset 4195 runs past the content of its packet (offset 4096, 102 bytes): a 32-bit integer at offset 4197 needs 32 bits, 8 are left in the packet`,
    );
  });

  it('refuses garbage metadata with the file, line, column and offset', () => {
    const file = path.join(dir, 'metadata');
    const open = () => {
      try {
        CtfTrace.open(dir);
        return '';
      } catch (err) {
        expect(err).to.be.instanceOf(CtfError);
        return (err as Error).message;
      }
    };
    fs.writeFileSync(file, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]));
    expect(open()).to.equal(
      `${file}: not TSDL text (byte 0x02 at offset 4) nor packetized metadata (magic 0x75d11d57)`,
    );
    fs.writeFileSync(
      file,
      '/* CTF 1.8 */\ntrace {\n\tmajor = 1;\n\tbyte_order = le;\n\tpacket.header := struct { uint32_t magic; };\n};\n',
    );
    expect(open()).to.equal(`${file}: unknown type "uint32_t" at line 5, column 28 (offset 79)`);
    fs.writeFileSync(file, 'hello world');
    expect(open()).to.equal(
      `${file}: unexpected 'hello': expected trace, env, clock, stream, event, typealias, typedef or a type declaration at line 1, column 1 (offset 0)`,
    );
    fs.writeFileSync(
      file,
      '/* CTF 1.8 */\nstream { id = 0; };\nevent { name = "x"; fields := struct { integer { size = 8; } a; } ; };\nevent { name = "y"; id = 1; stream_id = 0; fields := struct { integer { size = 8 } b; };',
    );
    expect(open()).to.equal(`${file}: unterminated event block (opened at line 4) at line 4, column 89 (offset 193)`);
    fs.writeFileSync(file, '/* CTF 1.8 */\nstream { id = 0; };\nevent { name = "x"; stream_id = 3; };\n');
    expect(open()).to.equal(
      `${file}: event "x" belongs to stream class 3, which is not declared at line 3, column 1 (offset 34)`,
    );
    fs.writeFileSync(
      file,
      '/* CTF 1.8 */\ntypealias integer { size = 8; } := u8;\nstream { event.header := struct { u8 id; }; };\nevent { name = "x"; fields := struct { u8 len; u8 s[nope]; }; };\n',
    );
    fs.writeFileSync(path.join(dir, 'chan_0'), Buffer.from([0, 1, 1, 1]));
    expect(() => [...readEvents([dir])]).to.throw(
      CtfError,
      `${file}: event.fields: the length nope: no such field before it`,
    );
    fs.writeFileSync(file, '');
    expect(open()).to.equal(`${file}: no trace, stream or event declaration: this is not CTF metadata`);
    fs.rmSync(file);
    expect(open()).to.match(new RegExp(`^${dir}: not a CTF trace: ENOENT`));
  });

  it('refuses broken packetized metadata', () => {
    const file = path.join(dir, 'metadata');
    const text = fs.readFileSync(file);
    const header = Buffer.alloc(37);
    header.writeUInt32LE(0x75d11d57, 0);
    header.writeUInt32LE((37 + text.length) * 8, 24);
    header.writeUInt32LE((37 + text.length + 100) * 8, 28);
    header[35] = 1;
    header[36] = 8;
    const packet = Buffer.concat([header, text, Buffer.alloc(100)]);
    fs.writeFileSync(file, Buffer.concat([packet, packet.subarray(0, 20)]));
    expect(() => CtfTrace.open(dir)).to.throw(
      CtfError,
      `${file}: truncated metadata packet at offset ${packet.length}: 20 bytes, the header needs 37`,
    );
    const second = Buffer.from(packet);
    second.writeUInt32LE(0x12345678, 0);
    fs.writeFileSync(file, Buffer.concat([packet, second]));
    expect(() => CtfTrace.open(dir)).to.throw(
      CtfError,
      `${file}: bad metadata packet magic 0x12345678 at offset ${packet.length} (expected 0x75d11d57)`,
    );
    const big = Buffer.from(packet);
    big.writeUInt32LE(10 * 8, 24);
    fs.writeFileSync(file, big);
    expect(() => CtfTrace.open(dir)).to.throw(
      CtfError,
      `${file}: the metadata packet at offset 0 has content_size 80 and packet_size`,
    );
    fs.writeFileSync(file, packet);
    fs.writeFileSync(path.join(dir, 'chan_0'), twoPackets());
    expect([...readEvents([dir])].map((x) => x.fields.n)).to.deep.equal([1, 2, 3]);
  });
});
