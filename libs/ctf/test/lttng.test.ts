// A real LTTng-UST 2.13 trace (packetized metadata, per-UID and per-PID buffers, contexts, every
// kind of LTTng-UST field), read by our reader and printed as babeltrace2 prints it.
import { expect } from 'chai';
import { spawnSync, SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CtfTrace, EnumValue, findTraces, readEvents } from '../src';
import { sameAsBabeltrace, tmpDir } from './helpers';

const PROVIDER = `#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER ctftest
#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./tp.h"
#if !defined(CTFTEST_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define CTFTEST_TP_H
#include <lttng/tracepoint.h>
#include <stdint.h>
LTTNG_UST_TRACEPOINT_ENUM(ctftest, color, LTTNG_UST_TP_ENUM_VALUES(
  lttng_ust_field_enum_value("RED", 0)
  lttng_ust_field_enum_range("MID", 1, 5)
  lttng_ust_field_enum_auto("AUTO")
))
LTTNG_UST_TRACEPOINT_EVENT(ctftest, ev,
  LTTNG_UST_TP_ARGS(int64_t, a, double, b, const char *, s, const int16_t *, arr, unsigned int, n, int, c),
  LTTNG_UST_TP_FIELDS(
    lttng_ust_field_integer(int64_t, a, a)
    lttng_ust_field_integer(uint64_t, big, (uint64_t)a * 3000000000000000000ULL)
    lttng_ust_field_integer(int8_t, small, (int8_t)a)
    lttng_ust_field_integer_hex(uint32_t, h, (uint32_t)a)
    lttng_ust_field_integer_network(uint16_t, net, (uint16_t)a)
    lttng_ust_field_float(double, b, b)
    lttng_ust_field_float(float, f, (float)b)
    lttng_ust_field_string(s, s)
    lttng_ust_field_array(int16_t, arr, arr, 3)
    lttng_ust_field_array_text(char, txt, "hello", 5)
    lttng_ust_field_sequence(int16_t, seq, arr, unsigned int, n)
    lttng_ust_field_sequence_text(char, seqtxt, "hello", unsigned int, n)
    lttng_ust_field_enum(ctftest, color, int, col, c)
  )
)
LTTNG_UST_TRACEPOINT_EVENT(ctftest, empty, LTTNG_UST_TP_ARGS(), LTTNG_UST_TP_FIELDS())
#endif
#include <lttng/tracepoint-event.h>
`;

const PROGRAM = `#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "tp.h"
#include <stdlib.h>
int main(int argc, char **argv) {
  int count = argc > 1 ? atoi(argv[1]) : 10;
  int16_t arr[3] = { -1, 2, 300 };
  for (int i = 0; i < count; i++) {
    lttng_ust_tracepoint(ctftest, ev, (int64_t)i - 3, i * 0.25, "h\\xc3\\xa9llo \\"q\\" ?", arr, (unsigned)(i % 4), i % 8);
    lttng_ust_tracepoint(ctftest, empty);
  }
  return 0;
}
`;

const COUNT = 300;

const intOf = (v: bigint) => (v <= 9007199254740991n ? Number(v) : v);

describe('a real LTTng-UST trace', function () {
  this.timeout(120000);
  let tmp = '';
  let out = '';
  let startedDaemon = false;
  const session = `tstrace-ctf-${process.pid}`;
  let env: NodeJS.ProcessEnv = {};
  const run = (cmd: string, args: string[], opts: SpawnSyncOptions = {}) => {
    const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 60000, ...opts });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return r;
  };

  before(function () {
    tmp = tmpDir('lttng');
    env = { ...process.env, LTTNG_HOME: path.join(tmp, 'home') };
    fs.mkdirSync(env.LTTNG_HOME!, { recursive: true });
    fs.writeFileSync(path.join(tmp, 'tp.h'), PROVIDER);
    fs.writeFileSync(path.join(tmp, 'prog.c'), PROGRAM);
    const cc = spawnSync('gcc', ['-O1', '-I.', 'prog.c', '-o', 'prog', '-llttng-ust', '-ldl'], {
      cwd: tmp,
      encoding: 'utf8',
    });
    if (cc.status !== 0) throw new Error(`gcc cannot build the LTTng-UST program: ${cc.stderr}`);
    // Our own session daemon unless one already answers (a root daemon is the global one).
    if (spawnSync('lttng', ['list'], { env }).status !== 0) {
      run('lttng-sessiond', ['--daemonize', '--pidfile', path.join(tmp, 'sessiond.pid')]);
      startedDaemon = true;
    }
    // One session per buffering scheme (LTTng wants one scheme per session), both tracing the program.
    out = path.join(tmp, 'out');
    const sessions = [`${session}-uid`, `${session}-pid`];
    try {
      run('lttng', ['create', sessions[0], `--output=${path.join(out, 'uid-session')}`]);
      run('lttng', [
        'enable-channel',
        '-u',
        '-s',
        sessions[0],
        '--buffers-uid',
        '--subbuf-size=8192',
        '--num-subbuf=64',
        'uidch',
      ]);
      run('lttng', [
        'add-context',
        '-u',
        '-s',
        sessions[0],
        '-c',
        'uidch',
        '-t',
        'vpid',
        '-t',
        'vtid',
        '-t',
        'procname',
      ]);
      run('lttng', ['enable-event', '-u', '-s', sessions[0], '-c', 'uidch', 'ctftest:*']);
      run('lttng', ['create', sessions[1], `--output=${path.join(out, 'pid-session')}`]);
      run('lttng', [
        'enable-channel',
        '-u',
        '-s',
        sessions[1],
        '--buffers-pid',
        '--subbuf-size=8192',
        '--num-subbuf=64',
        'pidch',
      ]);
      run('lttng', ['enable-event', '-u', '-s', sessions[1], '-c', 'pidch', 'ctftest:ev']);
      for (const s of sessions) run('lttng', ['start', s]);
      // The program waits for its registration (10 s at most) so that no event is lost.
      run(path.join(tmp, 'prog'), [String(COUNT)], { cwd: tmp, env: { ...env, LTTNG_UST_REGISTER_TIMEOUT: '10000' } });
      for (const s of sessions) run('lttng', ['stop', s]);
    } finally {
      for (const s of sessions) spawnSync('lttng', ['destroy', s], { env });
    }
  });

  after(() => {
    if (startedDaemon) {
      const pid = Number(fs.readFileSync(path.join(tmp, 'sessiond.pid'), 'utf8'));
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        spawnSync('sleep', ['0.1']);
      }
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('finds the per-UID and per-PID traces and reads their packetized metadata', () => {
    const traces = findTraces(out);
    expect(traces.length).to.equal(2);
    expect(traces[0]).to.match(/\/pid-session\/ust\/pid\/prog-\d+-\d{8}-\d{6}$/);
    expect(traces[1]).to.equal(path.join(out, `uid-session/ust/uid/${process.getuid!()}/64-bit`));
    expect(fs.readFileSync(path.join(traces[1], 'metadata')).readUInt32LE(0)).to.equal(0x75d11d57);
    const uid = CtfTrace.open(traces[1]);
    expect(uid.env).to.include({
      domain: 'ust',
      tracer_name: 'lttng-ust',
      tracer_major: 2,
      tracer_buffering_scheme: 'uid',
    });
    expect(uid.clockOffsetNs > 1_500_000_000_000_000_000n).to.equal(true);
    const pid = CtfTrace.open(traces[0]);
    expect(pid.env).to.include({ procname: 'prog', tracer_buffering_scheme: 'pid' });
    expect(uid.discarded()).to.deep.equal([]);
  });

  it('decodes every field of every event', () => {
    const uidDir = findTraces(out)[1];
    const events = [...CtfTrace.open(uidDir).events()];
    expect(events.length).to.equal(2 * COUNT);
    const evs = events.filter((e) => e.name === 'ctftest:ev');
    expect(evs.length).to.equal(COUNT);
    expect(events.filter((e) => e.name === 'ctftest:empty').every((e) => Object.keys(e.fields).length === 0)).to.equal(
      true,
    );
    for (let i = 0; i < COUNT; i++) {
      const e = evs[i];
      const a = i - 3;
      const n = i % 4;
      expect({ ...e.context }).to.deep.equal({
        vpid: evs[0].context.vpid,
        vtid: evs[0].context.vpid,
        procname: 'prog',
      });
      expect({ ...e.fields, col: undefined }).to.deep.equal({
        a,
        big: intOf(BigInt.asUintN(64, BigInt.asUintN(64, BigInt(a)) * 3000000000000000000n)),
        small: (a << 24) >> 24,
        h: a >>> 0,
        net: e.fields.net,
        b: i * 0.25,
        f: i * 0.25,
        s: 'héllo "q" ?',
        arr: [-1, 2, 300],
        txt: 'hello',
        _seq_length: n,
        seq: [-1, 2, 300].slice(0, n),
        _seqtxt_length: n,
        seqtxt: 'hello'.slice(0, n),
        col: undefined,
      });
      const c = i % 8;
      expect(e.fields.col).to.deep.equal(
        new EnumValue(c, c === 0 ? ['RED'] : c <= 5 ? ['MID'] : c === 6 ? ['AUTO'] : []),
      );
      if (i > 0) expect(e.timestamp >= evs[i - 1].timestamp).to.equal(true);
    }
  });

  it('prints both traces, merged, exactly as babeltrace2 does', () => {
    const events = sameAsBabeltrace([out]);
    expect(events.length).to.equal(3 * COUNT);
    expect([...readEvents([out])].length).to.equal(3 * COUNT);
  });
});
