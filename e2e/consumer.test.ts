import { expect } from 'chai';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive, killAndWait, pidsMatching, ROOT, runApp, TestEnv, waitFor } from './harness';
import type { AppJob } from './ust-app';

const APP = path.join(__dirname, 'ust-app.js');

interface Babeltrace {
  /** Event lines printed. */
  events: number;
  /** Sum of the "discarded N events" warnings. */
  discarded: number;
  stderr: string;
  code: number;
}

/** Runs babeltrace2 on a trace directory; counts lines without holding them (a trace can be big). */
function babeltrace(dir: string, grep?: string): Babeltrace {
  const errFile = `${dir}.bt-stderr`;
  const filter = grep ? `grep -c -- "$3"` : 'wc -l';
  const r = spawnSync(
    'bash',
    ['-c', `babeltrace2 "$1" 2>"$2" | ${filter}; exit \${PIPESTATUS[0]}`, 'bash', dir, errFile, grep ?? ''],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  const stderr = fs.existsSync(errFile) ? fs.readFileSync(errFile, 'utf8') : '';
  fs.rmSync(errFile, { force: true });
  const discarded = [...stderr.matchAll(/discarded (\d+) events?/gi)].reduce((n, m) => n + Number(m[1]), 0);
  return { events: Number(r.stdout.trim()), discarded, stderr, code: r.status ?? -1 };
}

/** The "Channel NAME (user space): N events recorded, M discarded" line of stop's summary. */
function summary(stdout: string, channel: string): { recorded: number; discarded: number } {
  const m = new RegExp(`Channel ${channel} \\(user space\\): ([0-9,]+) events recorded, ([0-9,]+) discarded`).exec(
    stdout,
  );
  if (!m) throw new Error(`no summary of channel ${channel} in: ${stdout}`);
  return { recorded: Number(m[1].replace(/,/g, '')), discarded: Number(m[2].replace(/,/g, '')) };
}

function startApp(env: NodeJS.ProcessEnv, job: AppJob): { child: ChildProcess; lines: string[] } {
  const child = spawn(process.execPath, [APP, JSON.stringify(job)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let partial = '';
  child.stdout!.on('data', (d) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  return { child, lines };
}

function consumerPid(t: TestEnv): number | undefined {
  const socket = path.join(t.runDir, 'consumerd-ust.sock');
  return pidsMatching((c) => c.includes('consumerd') && c.includes(`--socket ${socket}`))[0];
}

describe('e2e: the consumer daemon writes CTF traces that babeltrace2 reads', function () {
  this.timeout(300000);
  let t: TestEnv;
  beforeEach(() => {
    t = new TestEnv('consumer');
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('4 apps × 2 threads × 125,000 events with large buffers: 1,000,000 on disk, 0 discarded, by stop and by babeltrace2', async () => {
    const out = path.join(t.root, 'big');
    t.ok(['create', 'big', '-o', out]);
    t.ok(['enable-channel', '-u', 'big', '--subbuf-size', '4M', '--num-subbuf', '8']);
    t.ok(['enable-event', '-u', '-c', 'big', 'e2e:load']);
    t.ok(['add-context', '-u', '-c', 'big', '-t', 'vpid', '-t', 'procname']);
    t.ok(['start']);
    const apps = await Promise.all(
      [1, 2, 3, 4].map((app) => runApp(t.env, { app, threads: 2, events: 125000, waitEnabledMs: 15000 })),
    );
    for (const a of apps) expect(a.code, a.stderr).to.equal(0);
    const stopped = t.ok(['stop']);
    expect(summary(stopped, 'big')).to.deep.equal({ recorded: 1_000_000, discarded: 0 });
    expect(stopped).to.include(`Trace written to ${out}`);
    const trace = path.join(out, 'ust', 'uid', String(process.getuid!()), '64-bit');
    expect(fs.existsSync(path.join(trace, 'metadata'))).to.equal(true);
    const bt = babeltrace(out);
    expect(bt.code, bt.stderr).to.equal(0);
    expect(bt.stderr).to.equal('');
    expect(bt.events).to.equal(1_000_000);
    // The last event of every writer, with its fields as babeltrace2 prints them.
    for (const app of [1, 2, 3, 4])
      for (const thread of [1, 2])
        expect(babeltrace(out, `seq = 124999, half = 62499.5, text = "a${app}t${thread}#124999"`).events).to.equal(1);
    t.ok(['destroy', 'big']);
  });

  it('small buffers in discard mode: recorded + discarded = emitted exactly, by stop and by babeltrace2', async () => {
    const out = path.join(t.root, 'small');
    t.ok(['create', 'small', '-o', out]);
    t.ok(['enable-channel', '-u', 'tiny', '--subbuf-size', '4096', '--num-subbuf', '2', '--buffers-pid']);
    t.ok(['enable-event', '-u', '-c', 'tiny', 'e2e:load']);
    t.ok(['start']);
    const apps = await Promise.all(
      [1, 2, 3, 4].map((app) => runApp(t.env, { app, threads: 2, events: 125000, waitEnabledMs: 15000 })),
    );
    for (const a of apps) expect(a.code, a.stderr).to.equal(0);
    const s = summary(t.ok(['stop']), 'tiny');
    expect(s.discarded).to.be.greaterThan(0);
    expect(s.recorded + s.discarded).to.equal(1_000_000);
    const bt = babeltrace(out);
    expect(bt.code, bt.stderr).to.equal(0);
    expect(bt.events).to.equal(s.recorded);
    expect(bt.discarded).to.equal(s.discarded);
    t.ok(['destroy', 'small']);
  });

  it('overwrite mode keeps the newest events', async () => {
    const out = path.join(t.root, 'ring');
    t.ok(['create', 'ring', '-o', out]);
    t.ok([
      'enable-channel',
      '-u',
      'ring',
      '--overwrite',
      '--subbuf-size',
      '4096',
      '--num-subbuf',
      '4',
      '--buffers-pid',
    ]);
    t.ok(['enable-event', '-u', '-c', 'ring', 'e2e:load']);
    t.ok(['start']);
    // While the consumer drains, an overwrite ring loses only what the writer laps; the last event is always kept.
    const a = await runApp(t.env, { app: 1, threads: 0, events: 100000, waitEnabledMs: 15000 });
    expect(a.code, a.stderr).to.equal(0);
    const s = summary(t.ok(['stop']), 'ring');
    expect(s.recorded).to.be.greaterThan(0);
    expect(babeltrace(out, 'seq = 99999,').events).to.equal(1);
    const bt = babeltrace(out);
    expect(bt.code, bt.stderr).to.equal(0);
    expect(bt.events).to.equal(s.recorded);
    t.ok(['destroy', 'ring']);
  });

  it('an app killed -9 mid-trace loses nothing it committed', async () => {
    const out = path.join(t.root, 'kill');
    t.ok(['create', 'kill', '-o', out]);
    t.ok(['enable-channel', '-u', 'k', '--buffers-pid']);
    t.ok(['enable-event', '-u', '-c', 'k', 'e2e:tick']);
    t.ok(['start']);
    const app = startApp(t.env, { app: 3, threads: 0, events: 0, tick: true, progress: true });
    t.track(app.child);
    await waitFor('ticks', () => app.lines.some((l) => /^emitted ([1-9][0-9]{2,})$/.test(l)));
    app.child.kill('SIGKILL');
    await new Promise((r) => app.child.once('exit', r));
    const last = Math.max(...app.lines.filter((l) => l.startsWith('emitted ')).map((l) => Number(l.slice(8))));
    const s = summary(t.ok(['stop']), 'k');
    // Every tick from the first one recorded up to (at least) the last one the app reported is on disk, once.
    const r = spawnSync('babeltrace2', [out], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status, r.stderr).to.equal(0);
    const ticks = [...r.stdout.matchAll(/ n = (\d+) \}/g)].map((m) => Number(m[1]));
    expect(ticks.length).to.equal(s.recorded);
    expect(ticks).to.deep.equal(Array.from({ length: ticks.length }, (_, i) => ticks[0] + i));
    expect(ticks[ticks.length - 1]).to.be.at.least(last);
    t.ok(['destroy', 'kill']);
  });

  it('kill -9 of the consumer: tracing goes on after the restart, and the gap is reported', async () => {
    const out = path.join(t.root, 'cons');
    t.ok(['create', 'cons', '-o', out]);
    t.ok(['enable-event', '-u', 'e2e:tick']);
    t.ok(['start']);
    const app = startApp(t.env, { app: 4, threads: 0, events: 0, tick: true, progress: true });
    t.track(app.child);
    await waitFor('a consumer', () => consumerPid(t) !== undefined);
    await waitFor('ticks', () => app.lines.some((l) => /^emitted [1-9][0-9]{2,}$/.test(l)));
    const old = consumerPid(t)!;
    await killAndWait(old, 'SIGKILL');
    await waitFor('a new consumer', () => consumerPid(t) !== undefined && consumerPid(t) !== old);
    const killedAt = Math.max(...app.lines.filter((l) => l.startsWith('emitted ')).map((l) => Number(l.slice(8))));
    await waitFor('ticks after the restart', () => Number(app.lines[app.lines.length - 1]?.slice(8)) > killedAt + 300);
    const status = t.ok(['list', 'cons']);
    expect(status).to.match(/Consumer daemon restarted 1 time: buffers not drained for \d+ ms/);
    const stopped = t.ok(['stop']);
    expect(stopped).to.match(/Warning: the consumer daemon was restarted 1 time; buffers were not drained for \d+ ms/);
    const s = summary(stopped, 'channel0');
    const bt = babeltrace(out);
    expect(bt.code, bt.stderr).to.equal(0);
    expect(bt.events).to.equal(s.recorded);
    // Ticks from after the restart are there.
    expect(babeltrace(out, `n = ${killedAt + 300} }`).events).to.equal(1);
    expect(isAlive(old)).to.equal(false);
    t.ok(['destroy', 'cons']);
  });

  it('the switch timer puts the events of a quiet stream on disk while the session runs', async () => {
    const out = path.join(t.root, 'switch');
    t.ok(['create', 'switch', '-o', out]);
    t.ok(['enable-channel', '-u', 'sw', '--switch-timer', '100000']);
    t.ok(['enable-event', '-u', '-c', 'sw', 'e2e:load']);
    t.ok(['start']);
    const a = await runApp(t.env, { app: 1, threads: 0, events: 10, waitEnabledMs: 15000 });
    expect(a.code, a.stderr).to.equal(0);
    // Ten small events never fill a 512 KiB packet: only the timer can close it.
    await waitFor('the timer', () => babeltrace(out).events === 10, 5000);
    expect(t.json(['list', 'switch']).buffers[0].eventsRecorded).to.equal(10);
    t.ok(['destroy', 'switch']);
  });

  it('--tracefile-size and --tracefile-count rotate and cap the stream files; babeltrace2 still reads the trace', async () => {
    const out = path.join(t.root, 'rot');
    t.ok(['create', 'rot', '-o', out]);
    // The ring holds the whole run (no loss whatever the consumer's pace); the files hold less.
    t.ok([
      'enable-channel',
      '-u',
      'r',
      '--subbuf-size',
      '65536',
      '--num-subbuf',
      '16',
      '--tracefile-size',
      '262144',
      '--tracefile-count',
      '3',
    ]);
    t.ok(['enable-event', '-u', '-c', 'r', 'e2e:load']);
    t.ok(['start']);
    const a = await runApp(t.env, { app: 1, threads: 0, events: 20000, waitEnabledMs: 15000 });
    expect(a.code, a.stderr).to.equal(0);
    const s = summary(t.ok(['stop']), 'r');
    expect(s.discarded).to.equal(0);
    const trace = path.join(out, 'ust', 'uid', String(process.getuid!()), '64-bit');
    const files = fs.readdirSync(trace).filter((f) => f.startsWith('r_'));
    const byStream = new Map<string, string[]>();
    for (const f of files) {
      const [, stream] = /^r_(\d+)_\d+$/.exec(f)!;
      byStream.set(stream, [...(byStream.get(stream) ?? []), f]);
    }
    for (const [, list] of byStream) expect(list.length).to.be.at.most(3);
    expect([...byStream.values()].some((l) => l.length === 3)).to.equal(true);
    for (const f of files) {
      expect(fs.statSync(path.join(trace, f)).size).to.be.at.most(262144);
      expect(fs.existsSync(path.join(trace, 'index', `${f}.idx`))).to.equal(true);
    }
    const bt = babeltrace(out);
    expect(bt.code, bt.stderr).to.equal(0);
    // The oldest files are gone: fewer events than recorded, and the newest is there.
    expect(bt.events).to.be.greaterThan(0).and.lessThan(s.recorded);
    expect(babeltrace(out, 'seq = 19999,').events).to.equal(1);
    t.ok(['destroy', 'rot']);
  });

  it('record traces a command from start to end, prints the summary, and exits with its code', () => {
    const out = path.join(t.root, 'rec');
    const r = t.cli(['record', '-o', out, '--', process.execPath, path.join(ROOT, 'examples', 'shop.js')]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('shop: served 12 requests');
    // 12 requests, 12 queries, 3 cache misses: every one, the first included.
    expect(summary(r.stdout, 'channel0')).to.deep.equal({ recorded: 27, discarded: 0 });
    expect(r.stdout).to.include(`Trace written to ${out}`);
    const bt = babeltrace(out);
    expect(bt.code, bt.stderr).to.equal(0);
    expect(bt.events).to.equal(27);
    expect(
      babeltrace(
        out,
        'shop_http:request: .* method = "GET", path = "/nope", status = ( "NOT_FOUND" : container = 404 )',
      ).events,
    ).to.equal(2);
    // The session is gone; the command's exit code is record's.
    expect(t.json(['list'])).to.deep.equal({ sessions: [] });
    expect(
      t.cli(['record', '-o', path.join(t.root, 'rec2'), '--', process.execPath, '-e', 'process.exit(3)']).code,
    ).to.equal(3);
    const none = t.cli(['record']);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.include('give the command to trace after --');
    const missing = t.cli(['record', '-o', path.join(t.root, 'rec3'), '--', path.join(t.root, 'no-such-program')]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('cannot run');
    expect(t.json(['list'])).to.deep.equal({ sessions: [] });
  });

  for (const scheme of ['uid', 'pid'] as const) {
    it(`every field type, enums, log levels, contexts, run-time events (one defined mid-trace), per-${scheme.toUpperCase()}: babeltrace2 reads exactly what was emitted`, () => {
      const out = path.join(t.root, `types-${scheme}`);
      t.ok(['create', 'types', '-o', out]);
      t.ok(['enable-channel', '-u', 'ty', `--buffers-${scheme}`]);
      t.ok(['enable-event', '-u', '-c', 'ty', 'types:*,user_events:*']);
      t.ok(['add-context', '-u', '-c', 'ty', '-t', 'vpid', '-t', 'vtid', '-t', 'vuid', '-t', 'vgid', '-t', 'procname']);
      t.ok(['start']);
      const app = spawnSync(process.execPath, [path.join(__dirname, 'types-app.js'), '3'], {
        env: t.env,
        encoding: 'utf8',
      });
      expect(app.status, app.stderr).to.equal(0);
      expect(summary(t.ok(['stop']), 'ty')).to.deep.equal({ recorded: 19, discarded: 0 });
      const bt = spawnSync('babeltrace2', ['--fields=all', '--names=all', out], { encoding: 'utf8' });
      expect(bt.status, bt.stderr).to.equal(0);
      expect(bt.stderr).to.equal('');
      const ctx = `vpid = ${app.pid}, vtid = ${app.pid}, vuid = ${process.getuid!()}, vgid = ${process.getgid!()}, procname = "node"`;
      const expected: string[] = [];
      for (let i = 0; i < 3; i++) {
        expected.push(
          'TRACE_EMERG (0) types:ints { a = 255, b = 65535, c = 4294967295, d = 18446744073709551615, e = -128, f = -32768, g = -2147483648, h = -9223372036854775808 }',
          'TRACE_WARNING (4) types:floats { f = 1.5, d = -2.25e-300 }',
          `TRACE_INFO (6) types:texts { s = "hello ${i}", c = "abc", utf8 = "héllo wörld ☃" }`,
          'TRACE_DEBUG (14) types:arrays { _raw_length = 3, raw = [ [0] = 0x1, [1] = 0x2, [2] = 0xFF ], _seq_length = 3, seq = [ [0] = -1, [1] = 0, [2] = 32767 ], arr = [ [0] = 7, [1] = 8, [2] = 9 ] }',
          `TRACE_NOTICE (5) types:enums { color = ( "${['RED', 'GREEN', 'BLUE'][i]}" : container = ${i} ), n = ${i} }`,
          `TRACE_INFO (6) user_events:detailed { msg = "msg ${i}", count = ${i * 10} }`,
        );
      }
      // Defined after the trace began (its metadata grew mid-session): babeltrace2 still reads it.
      expected.push('TRACE_ERR (3) user_events:late { n = 3, tag = "last" }');
      const got = bt.stdout
        .trim()
        .split('\n')
        .map((line) => {
          const m =
            /loglevel = ([A-Z_]+ \(\d+\)), name = ([^,]+), stream\.packet\.context = \{ cpu_id = \d+ \}, stream\.event\.context = \{ (.*) \}, event\.fields = (\{.*\})$/.exec(
              line,
            );
          if (!m) throw new Error(`unexpected babeltrace2 line: ${line}`);
          expect(m[3]).to.equal(ctx);
          return `${m[1]} ${m[2]} ${m[4]}`;
        });
      expect(got).to.deep.equal(expected);
      // The trace's environment says who wrote it and how.
      expect(bt.stdout).to.include('trace:domain = ust');
      if (scheme === 'pid') expect(bt.stdout).to.include(`trace:vpid = (${app.pid})`);
      t.ok(['destroy', 'types']);
    });
  }
});
