import { expect } from 'chai';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, sleep, TestEnv, waitFor } from './harness';
import type { AppJob } from './ust-app';

const TYPES_APP = path.join(__dirname, 'types-app.js');
const UST_APP = path.join(__dirname, 'ust-app.js');

function babeltrace(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('babeltrace2', args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A process whose output is collected as it comes. */
function start(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

const lines = (text: string) => text.split('\n').slice(0, -1);

describe('e2e: tstrace view', function () {
  this.timeout(120000);
  let t: TestEnv;
  beforeEach(() => {
    t = new TestEnv('view');
  });
  afterEach(async () => {
    await t.cleanup();
  });

  for (const scheme of ['uid', 'pid'] as const) {
    it(`prints every field type, per-${scheme.toUpperCase()}, exactly as babeltrace2 does: by path, by session name, for the current session, and as JSON`, () => {
      const out = path.join(t.root, `types-${scheme}`);
      t.ok(['create', 'types', '-o', out]);
      t.ok(['enable-channel', '-u', 'ty', `--buffers-${scheme}`]);
      t.ok(['enable-event', '-u', '-c', 'ty', 'types:*,user_events:*']);
      t.ok(['add-context', '-u', '-c', 'ty', '-t', 'vpid', '-t', 'vtid', '-t', 'vuid', '-t', 'vgid', '-t', 'procname']);
      t.ok(['start']);
      const app = spawnSync(process.execPath, [TYPES_APP, '3'], { env: t.env, encoding: 'utf8' });
      expect(app.status, app.stderr).to.equal(0);
      t.ok(['stop']);
      const bt = babeltrace([out]);
      expect(bt.code, bt.stderr).to.equal(0);
      expect(bt.stderr).to.equal('');
      // babeltrace2 <= 2.0.4 shows an empty string as the field's previous one (libs/ctf/README.md): the app writes none.
      expect(bt.stdout).to.not.include('""');
      expect(lines(bt.stdout).length).to.equal(19);
      const byPath = t.cli(['view', out]);
      expect(byPath.code, byPath.stderr).to.equal(0);
      expect(byPath.stderr).to.equal('');
      expect(lines(byPath.stdout)).to.deep.equal(lines(bt.stdout));
      expect(t.cli(['view', '--trace-path', out]).stdout).to.equal(bt.stdout);
      // A trace directory itself, and the options babeltrace2 shares with us.
      const traceDir = fs.readdirSync(path.join(out, 'ust', scheme)).map((d) => path.join(out, 'ust', scheme, d));
      const one = scheme === 'uid' ? path.join(traceDir[0], '64-bit') : traceDir[0];
      expect(t.ok(['view', one])).to.equal(babeltrace([one]).stdout);
      for (const args of [
        ['--clock-gmt'],
        ['--clock-cycles'],
        ['--clock-date', '--clock-seconds'],
        ['--fields=all'],
        ['-f', 'trace', '-f', 'loglevel'],
        ['--fields=trace:domain,trace:vpid,emf'],
      ]) {
        const theirs = babeltrace([...args, out]);
        expect(theirs.code, theirs.stderr).to.equal(0);
        const ours = t.cli(['view', ...args, out]);
        expect(ours.code, `${args.join(' ')}: ${ours.stderr}`).to.equal(0);
        expect(lines(ours.stdout), args.join(' ')).to.deep.equal(lines(theirs.stdout));
      }
      // By session name, and the current session with no argument (the session is still there, stopped).
      expect(t.ok(['view', 'types'])).to.equal(bt.stdout);
      expect(t.ok(['view'])).to.equal(bt.stdout);

      // JSON: one object per line, in the same order, with the exact values.
      const json = lines(t.ok(['view', out, '--json'])).map((l) => JSON.parse(l));
      expect(json.map((e) => e.name)).to.deep.equal(lines(bt.stdout).map((l) => / ([a-z_]+:[a-z]+): /.exec(l)![1]));
      const ctx = { vpid: app.pid, vtid: app.pid, vuid: process.getuid!(), vgid: process.getgid!(), procname: 'node' };
      for (const e of json) expect(e.context, e.name).to.deep.equal(ctx);
      const of = (name: string) => json.filter((e) => e.name === name).map((e) => e.fields);
      expect(of('types:ints')).to.deep.equal(
        Array(3).fill({
          a: 255,
          b: 65535,
          c: 4294967295,
          d: '18446744073709551615',
          e: -128,
          f: -32768,
          g: -2147483648,
          h: '-9223372036854775808',
        }),
      );
      expect(of('types:floats')).to.deep.equal(Array(3).fill({ f: 1.5, d: -2.25e-300 }));
      expect(of('types:texts')).to.deep.equal(
        [0, 1, 2].map((i) => ({ s: `hello ${i}`, c: 'abc', utf8: 'héllo wörld ☃' })),
      );
      expect(of('types:arrays')).to.deep.equal(
        Array(3).fill({ _raw_length: 3, raw: [1, 2, 255], _seq_length: 3, seq: [-1, 0, 32767], arr: [7, 8, 9] }),
      );
      expect(of('types:enums')).to.deep.equal(
        [0, 1, 2].map((i) => ({ color: { value: i, label: ['RED', 'GREEN', 'BLUE'][i] }, n: i })),
      );
      expect(of('user_events:detailed')).to.deep.equal([0, 1, 2].map((i) => ({ msg: `msg ${i}`, count: i * 10 })));
      expect(of('user_events:late')).to.deep.equal([{ n: 3, tag: 'last' }]);
      // Timestamps are strings (64-bit); the clock's offset to the epoch is the session's, one for all.
      const offsets = new Set(json.map((e) => BigInt(e.time_ns) - BigInt(e.timestamp)));
      expect(offsets.size).to.equal(1);
      expect([...offsets][0] > 1_600_000_000n * 1_000_000_000n).to.equal(true);
      for (const e of json) expect(e.trace.startsWith(`${out}/ust/${scheme}/`), e.trace).to.equal(true);
      t.ok(['destroy', 'types']);
    });
  }

  it('--follow prints the events of a recording session as their packets close, and ends after stop with every event once', async () => {
    const out = path.join(t.root, 'follow');
    t.ok(['create', 'follow', '-o', out]);
    t.ok(['enable-channel', '-u', 'live', '--switch-timer', '100000']);
    t.ok(['enable-event', '-u', '-c', 'live', 'e2e:tick']);
    // The follower starts before the session: it waits for it.
    const view = start(process.execPath, [CLI, 'view', '--follow'], t.env);
    t.track(view.child);
    await sleep(300);
    t.ok(['start']);
    const job: AppJob = { app: 7, threads: 0, events: 0, tick: true };
    const app = start(process.execPath, [UST_APP, JSON.stringify(job)], t.env);
    t.track(app.child);
    // Events show up while the app still runs and the session records.
    await waitFor('events printed while recording', () => lines(view.out()).length >= 100);
    expect(app.child.exitCode).to.equal(null);
    expect(view.child.exitCode).to.equal(null);
    const whileRecording = lines(view.out());
    expect(whileRecording[0]).to.match(
      /^\[\d\d:\d\d:\d\d\.\d{9}\] \(\+\?\.\?{9}\) \S+ e2e:tick: \{ cpu_id = \d+ \}, \{ app = 7, n = \d+ \}$/,
    );
    // Without --follow, the whole packets on disk now (the session still records).
    const snapshot = t.cli(['view', 'follow']);
    expect(snapshot.code, snapshot.stderr).to.equal(0);
    const onDisk = lines(snapshot.stdout);
    expect(onDisk.length).to.be.greaterThan(0);
    app.child.kill('SIGKILL');
    await app.exit;
    t.ok(['stop']);
    expect(await Promise.race([view.exit, sleep(15000).then(() => 'timeout')])).to.equal(0);
    expect(view.err()).to.equal('');
    const bt = babeltrace([out]);
    expect(bt.code, bt.stderr).to.equal(0);
    expect(lines(bt.stdout).length).to.be.greaterThan(whileRecording.length);
    expect(view.out()).to.equal(bt.stdout);
    expect(onDisk).to.deep.equal(lines(bt.stdout).slice(0, onDisk.length));
    t.ok(['destroy', 'follow']);
  });

  it('--follow ends when the session is destroyed, with the events of two apps (per-PID) each printed once', async () => {
    const out = path.join(t.root, 'follow2');
    t.ok(['create', 'follow2', '-o', out]);
    t.ok(['enable-channel', '-u', 'live', '--switch-timer', '100000', '--buffers-pid']);
    t.ok(['enable-event', '-u', '-c', 'live', 'e2e:tick']);
    t.ok(['start']);
    const view = start(process.execPath, [CLI, 'view', 'follow2', '--follow', '--json'], t.env);
    t.track(view.child);
    const apps = [1, 2].map((n) =>
      start(
        process.execPath,
        [UST_APP, JSON.stringify({ app: n, threads: 0, events: 0, tick: true } satisfies AppJob)],
        t.env,
      ),
    );
    for (const a of apps) t.track(a.child);
    await waitFor('both apps in the output', () => [1, 2].every((n) => view.out().includes(`"app":${n},`)));
    for (const a of apps) {
      a.child.kill('SIGKILL');
      await a.exit;
    }
    t.ok(['destroy', 'follow2']);
    expect(await Promise.race([view.exit, sleep(15000).then(() => 'timeout')])).to.equal(0);
    const ours = lines(view.out()).map((l) => JSON.parse(l));
    const bt = babeltrace([out]);
    expect(bt.code, bt.stderr).to.equal(0);
    // Every event once: the same (app, n) pairs as babeltrace2, each app's ticks in order with no gap.
    const theirs = lines(bt.stdout).map((l) => /\{ app = (\d+), n = (\d+) \}$/.exec(l)!.slice(1).join(':'));
    expect(ours.map((e) => `${e.fields.app}:${e.fields.n}`).sort()).to.deep.equal(theirs.sort());
    for (const n of [1, 2]) {
      const ticks = ours.filter((e) => e.fields.app === n).map((e) => e.fields.n);
      expect(ticks.length).to.be.greaterThan(0);
      expect(ticks).to.deep.equal(Array.from({ length: ticks.length }, (_, i) => ticks[0] + i));
    }
    // Each line is what `view --json` prints of the finished trace.
    expect(new Set(lines(view.out()))).to.deep.equal(new Set(lines(t.ok(['view', out, '--json']))));
  });

  it('--follow on a path runs until Ctrl-C, then exits 0', async () => {
    const out = path.join(t.root, 'ctrlc');
    const r = t.cli([
      'record',
      '-u',
      'shop_*',
      '-o',
      out,
      '--',
      process.execPath,
      path.join(__dirname, '..', '..', 'examples', 'shop.js'),
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const view = start(process.execPath, [CLI, 'view', '--follow', out], t.env);
    t.track(view.child);
    await waitFor('the trace', () => lines(view.out()).length === 27);
    await sleep(300);
    expect(view.child.exitCode).to.equal(null);
    view.child.kill('SIGINT');
    expect(await view.exit).to.equal(0);
    expect(view.out()).to.equal(babeltrace([out]).stdout);
    expect(view.err()).to.equal('');
  });

  it('reports lost events on stderr as babeltrace2 does', async () => {
    const out = path.join(t.root, 'lossy');
    t.ok(['create', 'lossy', '-o', out]);
    t.ok(['enable-channel', '-u', 'tiny', '--subbuf-size', '4096', '--num-subbuf', '2', '--buffers-pid']);
    t.ok(['enable-event', '-u', '-c', 'tiny', 'e2e:load']);
    t.ok(['start']);
    const app = spawnSync(
      process.execPath,
      [UST_APP, JSON.stringify({ app: 1, threads: 2, events: 50000, waitEnabledMs: 15000 } satisfies AppJob)],
      { env: t.env, encoding: 'utf8' },
    );
    expect(app.status, app.stderr).to.equal(0);
    t.ok(['stop']);
    const bt = babeltrace([out]);
    expect(bt.code, bt.stderr).to.equal(0);
    expect(bt.stderr).to.match(/^WARNING: Tracer discarded \d+ events between/m);
    const r = spawnSync(process.execPath, [CLI, 'view', out], { env: t.env, encoding: 'utf8', maxBuffer: 256 << 20 });
    const ours = { code: r.status, stdout: r.stdout, stderr: r.stderr };
    expect(ours.code, ours.stderr).to.equal(0);
    expect(ours.stdout).to.equal(bt.stdout);
    // The same warnings (babeltrace2 prints them as its muxer meets them: compare them as a set).
    expect(lines(ours.stderr).sort()).to.deep.equal(lines(bt.stderr).sort());
    t.ok(['destroy', 'lossy']);
  });

  it('gives one clear line and a non-zero exit code for what it cannot show', () => {
    const check = (args: string[], code: number, message: string) => {
      const r = t.cli(args);
      expect(r.code, args.join(' ')).to.equal(code);
      expect(r.stderr, args.join(' ')).to.equal(`Error: ${message}\n`);
      expect(r.stdout, args.join(' ')).to.equal('');
    };
    const missing = path.join(t.root, 'no-such-dir');
    check(['view', missing], 1, `no such file or directory: ${missing}`);
    const empty = path.join(t.root, 'empty');
    fs.mkdirSync(path.join(empty, 'sub'), { recursive: true });
    check(['view', empty], 1, `no CTF trace in ${empty} (no metadata file under it)`);
    check(['view', CLI], 1, `${CLI} is not a directory: give a trace directory or one that contains traces`);
    check(
      ['view', '--fields', 'bogus', empty],
      2,
      'unknown field "bogus" for --fields: use all or trace, trace:hostname, trace:domain, trace:procname, trace:vpid, loglevel, emf',
    );
    check(['view', 'a', '-t', empty], 2, 'give a session name or --trace-path, not both');
    // Paths need no daemon; sessions do.
    expect(t.daemonPid()).to.equal(undefined);
    check(['view'], 1, 'no session given and no current session: give a session name or a trace path');
    check(['view', 'nosuch'], 1, 'session "nosuch" not found');
    t.ok(['create', 'quiet', '--no-output']);
    check(['view'], 1, 'session "quiet" records no trace (created with --no-output)');
    t.ok(['create', 'snap', '--snapshot', '-o', path.join(t.root, 'snap')]);
    check(
      ['view', 'snap'],
      1,
      'session "snap" is in snapshot mode: its traces are the snapshots it records (tstrace snapshot record); view one with tstrace view PATH',
    );
    const idle = path.join(t.root, 'idle');
    t.ok(['create', 'idle', '-o', idle]);
    check(['view', 'idle'], 1, `session "idle" has no trace in ${idle} yet: start it, and run the apps to trace`);
    // --json: the error as JSON on stdout too.
    const r = t.cli(['view', missing, '--json']);
    expect(r.code).to.equal(1);
    expect(JSON.parse(r.stdout)).to.deep.equal({
      error: { code: 'INVALID_ARGUMENT', message: `no such file or directory: ${missing}` },
    });
    // A damaged trace: the events before the damage, then the error.
    const out = path.join(t.root, 'cut');
    expect(
      t.cli([
        'record',
        '-u',
        'shop_*',
        '-o',
        out,
        '--',
        process.execPath,
        path.join(__dirname, '..', '..', 'examples', 'shop.js'),
      ]).code,
    ).to.equal(0);
    const [stream] = fs
      .readdirSync(path.join(out, 'ust', 'uid', String(process.getuid!()), '64-bit'))
      .filter(
        (f) =>
          f.startsWith('channel0_') &&
          fs.statSync(path.join(out, 'ust', 'uid', String(process.getuid!()), '64-bit', f)).size > 0,
      );
    const file = path.join(out, 'ust', 'uid', String(process.getuid!()), '64-bit', stream);
    fs.truncateSync(file, fs.statSync(file).size - 1);
    const cut = t.cli(['view', out]);
    expect(cut.code).to.equal(1);
    expect(cut.stderr).to.match(
      new RegExp(
        `^Error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: truncated packet at offset 0: packet_size says \\d+ bytes, the file has \\d+ left\\n$`,
      ),
    );
  });

  it('--help explains view and --follow', () => {
    const help = t.ok(['view', '--help']);
    expect(help).to.match(/^Usage: tstrace view \[SESSION \| PATH \| -t PATH\]/);
    expect(help).to.include('An event appears once its packet is on disk');
    for (const o of [
      '--follow',
      '--clock-gmt',
      '--clock-seconds',
      '--clock-date',
      '--clock-cycles',
      '--fields',
      '--trace-path',
    ])
      expect(help).to.include(o);
    expect(t.ok(['help'])).to.include('  view ');
  });
});

describe('e2e: record prints what the trace holds, per event name', function () {
  this.timeout(60000);
  let t: TestEnv;
  beforeEach(() => {
    t = new TestEnv('record');
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('counts the events of the trace it wrote by name, with the losses', () => {
    const out = path.join(t.root, 'rec');
    const r = t.cli([
      'record',
      '-o',
      out,
      '--',
      process.execPath,
      path.join(__dirname, '..', '..', 'examples', 'shop.js'),
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.include(
      [
        'Events in the trace, by name:',
        '  shop_db:query      12',
        '  shop_http:request  12',
        '  shop_cache:miss     3',
        '  total              27',
        '  discarded           0',
        '',
      ].join('\n'),
    );
    expect(r.stdout.endsWith('  discarded           0\n')).to.equal(true);
    const json = t.cli([
      'record',
      '-u',
      'shop_http:*,shop_cache:*',
      '-o',
      path.join(t.root, 'rec2'),
      '--json',
      '--',
      process.execPath,
      path.join(__dirname, '..', '..', 'examples', 'shop.js'),
    ]);
    expect(json.code, json.stderr).to.equal(0);
    const doc = JSON.parse(json.stdout.slice(json.stdout.indexOf('{\n')));
    expect(doc.trace).to.deep.equal({
      events: { 'shop_http:request': 12, 'shop_cache:miss': 3 },
      total: 15,
      discarded: 0,
      packetsLost: 0,
    });
    expect(doc.exitCode).to.equal(0);
  });

  it('counts what the consumer counted, for a run of 200,000 events from two threads (discarded ones included)', () => {
    const out = path.join(t.root, 'many');
    const job: AppJob = { app: 1, threads: 2, events: 100000, waitEnabledMs: 15000 };
    const r = t.cli(['record', '-u', 'e2e:load', '-o', out, '--', process.execPath, UST_APP, JSON.stringify(job)]);
    expect(r.code, r.stderr).to.equal(0);
    const m = /Channel channel0 \(user space\): ([0-9,]+) events recorded, ([0-9,]+) discarded/.exec(r.stdout)!;
    const recorded = Number(m[1].replace(/,/g, ''));
    const discarded = Number(m[2].replace(/,/g, ''));
    expect(recorded + discarded).to.equal(200000);
    const n = (v: number) => v.toLocaleString('en-US');
    const width = Math.max(n(recorded).length, n(discarded).length);
    const left = 'discarded'.length + 2;
    expect(r.stdout).to.include(
      `Events in the trace, by name:\n  ${'e2e:load'.padEnd(left)}${n(recorded).padStart(width)}\n  ${'total'.padEnd(left)}${n(recorded).padStart(width)}\n  ${'discarded'.padEnd(left)}${n(discarded).padStart(width)}\n`,
    );
  });

  it('-k enables kernel events and says that they are not recorded', () => {
    const out = path.join(t.root, 'kern');
    const r = t.cli([
      'record',
      '-k',
      'sched_switch',
      '-u',
      'shop_db:*',
      '-o',
      out,
      '--',
      process.execPath,
      path.join(__dirname, '..', '..', 'examples', 'shop.js'),
    ]);
    if (process.getuid!() !== 0) {
      // Kernel events need the root session daemon.
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^Error: kernel tracing needs the root session daemon/);
      return;
    }
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal(
      'Warning: kernel events (sched_switch) are enabled but not recorded: this version of tstrace has no kernel data path yet\n',
    );
    expect(r.stdout).to.include('Recording shop_db:*, sched_switch (kernel) into');
    expect(r.stdout).to.include(
      'Events in the trace, by name:\n  shop_db:query  12\n  total          12\n  discarded       0\n',
    );
    const bad = t.cli(['record', '-k', '', '--', process.execPath, '-e', '0']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.equal('Error: invalid list for -k: "" has an empty item\n');
  });
});
