import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  escapeString,
  eventToJson,
  formatEvent,
  formatG,
  formatTime,
  MetadataEvent,
  metadataText,
  newTextState,
  readEvents,
  TextOptions,
} from '../src';
import { babeltrace, body, StreamBuilder, tmpDir, UUID } from './helpers';

describe('text output', function () {
  this.timeout(30000);

  it('formats floating point numbers as C printf %g (values checked against glibc)', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '-0'],
      [1, '1'],
      [0.5, '0.5'],
      [-1.5, '-1.5'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [123456, '123456'],
      [1234567, '1.23457e+06'],
      [999999.5, '1e+06'],
      [1e21, '1e+21'],
      [-2.25e-300, '-2.25e-300'],
      [3.4028234663852886e38, '3.40282e+38'],
      [0.1, '0.1'],
      [1 / 3, '0.333333'],
      [2 ** 53, '9.0072e+15'],
      [1234565, '1.23456e+06'],
      [1234575, '1.23458e+06'],
      [0.000123456789, '0.000123457'],
      [5e-324, '4.94066e-324'],
      [1.7976931348623157e308, '1.79769e+308'],
      [NaN, 'nan'],
      [Infinity, 'inf'],
      [-Infinity, '-inf'],
    ];
    for (const [v, s] of cases) expect(formatG(v), String(v)).to.equal(s);
  });

  it('escapes strings as babeltrace2 does', () => {
    expect(escapeString('plain é ☃')).to.equal('"plain é ☃"');
    expect(escapeString('q"\'\\?')).to.equal('"q\\"\\\'\\\\\\?"');
    expect(escapeString('\x07\b\x1b\f\n\r\t\v\x01\x7f')).to.equal('"\\a\\b\\e\\f\\n\\r\\t\\v\\x01\\x7f"');
  });

  it('shows the fields of --fields as babeltrace2 does: the trace name glued to the rest, the EMF URI after the log level', () => {
    const root = tmpDir('fields');
    try {
      const dir = path.join(root, 'ust', 'pid', 'app-7');
      fs.mkdirSync(dir, { recursive: true });
      const e: MetadataEvent = { id: 0, name: 'f:e', loglevel: 4, fields: [{ name: 'n', type: 'u8' }] };
      const text = metadataText({
        uuid: UUID,
        env: { hostname: 'h1', domain: 'ust', procname: 'app', vpid: 7 },
        clock: { name: 'monotonic', offsetNs: 1_700_000_000_000_000_000n },
        streams: [{ id: 0, contexts: [], events: [e] }],
      });
      expect(text).to.include('\tloglevel = 4;\n');
      fs.writeFileSync(
        path.join(dir, 'metadata'),
        text.replace('\tloglevel = 4;\n', '\tloglevel = 4;\n\tmodel.emf.uri = "http://example.com/f";\n'),
      );
      new StreamBuilder({ streamId: 0, instanceId: 0n, cpuId: 0 })
        .event(0, 5n, body(e, [1]))
        .event(0, 7n, body(e, [2]))
        .write(dir, 'chan_0');
      const none = { hostname: false, procname: false, vpid: false };
      const cases: [string, TextOptions][] = [
        [
          'all',
          {
            hostname: true,
            domain: true,
            procname: true,
            vpid: true,
            loglevel: true,
            emf: true,
            traceName: 'h1/ust/pid/app-7',
          },
        ],
        ['trace', { ...none, traceName: 'h1/ust/pid/app-7' }],
        ['emf,trace:vpid', { ...none, vpid: true, emf: true }],
      ];
      const events = [...readEvents([root])];
      expect(formatEvent(events[0], newTextState(), { gmt: true, ...cases[0][1] })).to.equal(
        '[22:13:20.000000005] (+?.?????????) h1/ust/pid/app-7h1:ust:app:(7):TRACE_WARNING (4):http://example.com/f f:e: { cpu_id = 0 }, { n = 1 }',
      );
      expect(formatTime(1_700_000_000_000_000_005n, { gmt: true, date: true })).to.equal(
        '2023-11-14 22:13:20.000000005',
      );
      for (const [fields, o] of cases) {
        const state = newTextState();
        expect(
          babeltrace(['--clock-gmt', `--fields=${fields}`, root])
            .stdout.split('\n')
            .slice(0, -1),
          fields,
        ).to.deep.equal(events.map((x) => formatEvent(x, state, { gmt: true, ...o })));
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  describe('on a trace', () => {
    let dir: string;
    const e: MetadataEvent = {
      id: 0,
      name: 'txt:e',
      loglevel: 6,
      fields: [
        { name: 'n', type: 's64' },
        { name: 'x', type: 'double' },
        { name: 'c', type: 'enum:u8:{"A":1,"B":1}' },
        { name: 's', type: 'seq:u8' },
      ],
    };
    before(() => {
      dir = tmpDir('text');
      fs.writeFileSync(
        path.join(dir, 'metadata'),
        metadataText({
          uuid: UUID,
          env: { hostname: 'h1' },
          clock: { name: 'monotonic', offsetNs: 1_700_000_000_000_000_000n },
          streams: [{ id: 0, contexts: ['vtid'], events: [e] }],
        }),
      );
      const s = new StreamBuilder({ streamId: 0, instanceId: 0n, cpuId: 2 });
      s.event(0, 3_600_000_000_123n, body(e, [-9223372036854775807n, 1.25, 1, [1, 2]], ['vtid'], { vtid: 7 }));
      s.event(
        0,
        3_600_000_000_124n + 86_400_000_000_000n,
        body(e, [9007199254740993n, NaN, 2, []], ['vtid'], { vtid: 8 }),
      );
      s.write(dir, 'chan_0');
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('prints local time by default, as babeltrace2 does under the same TZ', function () {
      const saved = process.env.TZ;
      try {
        for (const tz of ['Asia/Kolkata', 'America/St_Johns', 'UTC']) {
          process.env.TZ = tz;
          const state = newTextState();
          const ours = [...readEvents([dir])].map((x) => formatEvent(x, state));
          if (tz === 'Asia/Kolkata') {
            expect(ours).to.deep.equal([
              '[04:43:20.000000123] (+?.?????????) h1 txt:e: { cpu_id = 2 }, { vtid = 7 }, { n = -9223372036854775807, x = 1.25, c = ( "A", "B" : container = 1 ), _s_length = 2, s = [ [0] = 1, [1] = 2 ] }',
              '[04:43:20.000000124] (+86400.000000001) h1 txt:e: { cpu_id = 2 }, { vtid = 8 }, { n = 9007199254740993, x = nan, c = ( <unknown> : container = 2 ), _s_length = 0, s = [ ] }',
            ]);
          }
          const r = require('node:child_process').spawnSync('babeltrace2', [dir], {
            encoding: 'utf8',
            env: { ...process.env, TZ: tz },
          });
          expect(r.stdout.split('\n').slice(0, -1)).to.deep.equal(ours);
        }
      } finally {
        if (saved === undefined) delete process.env.TZ;
        else process.env.TZ = saved;
      }
    });

    it('prints dates and cycles on request', () => {
      const state = newTextState();
      const [a, b] = [...readEvents([dir])];
      expect(formatEvent(a, state, { gmt: true, date: true, hostname: false })).to.equal(
        '[2023-11-14 23:13:20.000000123] (+?.?????????) txt:e: { cpu_id = 2 }, { vtid = 7 }, { n = -9223372036854775807, x = 1.25, c = ( "A", "B" : container = 1 ), _s_length = 2, s = [ [0] = 1, [1] = 2 ] }',
      );
      expect(formatEvent(b, state, { seconds: true }).slice(0, 48)).to.equal(
        '[1700090000.000000124] (+86400.000000001) h1 txt',
      );
      const cyc = newTextState();
      expect(formatEvent(a, cyc, { cycles: true }).slice(0, 40)).to.equal('[00000003600000000123] (+????????????) h');
      expect(formatEvent(b, cyc, { cycles: true }).slice(0, 44)).to.equal(
        '[00000090000000000124] (+86400000000001) h1 ',
      );
      const bt = babeltrace(['--clock-gmt', '--clock-date', '--fields=loglevel', dir]);
      const s2 = newTextState();
      expect(bt.stdout.split('\n').slice(0, -1)).to.deep.equal(
        [a, b].map((x) => formatEvent(x, s2, { gmt: true, date: true, hostname: false, loglevel: true })),
      );
    });

    it('writes one JSON object per event, big integers as strings', () => {
      const [a, b] = [...readEvents([dir])];
      expect(eventToJson(a)).to.equal(
        `{"name":"txt:e","timestamp":"3600000000123","time_ns":"1700003600000000123","stream_id":0,"id":0,"cpu_id":2,"trace":${JSON.stringify(dir)},"context":{"vtid":7},"fields":{"n":"-9223372036854775807","x":1.25,"c":{"value":1,"label":"A","labels":["A","B"]},"_s_length":2,"s":[1,2]}}`,
      );
      expect(JSON.parse(eventToJson(b)).fields).to.deep.equal({
        n: '9007199254740993',
        x: 'NaN',
        c: { value: 2, label: null },
        _s_length: 0,
        s: [],
      });
    });
  });
});
