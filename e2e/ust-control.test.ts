import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { killAndWait, sleep, TestEnv } from './harness';
import { bufferSets, readAll, ReadEvent } from './trace-read';
import type { AppJob } from './ust-app';

const APP = path.join(__dirname, 'ust-app.js');

function runApp(env: NodeJS.ProcessEnv, job: AppJob): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [APP, JSON.stringify(job)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Starts a long-running app; its output lines are collected in `lines`. */
function startApp(
  env: NodeJS.ProcessEnv,
  job: AppJob,
): { child: ChildProcess; lines: string[]; waitFor: (re: RegExp, ms?: number) => Promise<string> } {
  const child = spawn(process.execPath, [APP, JSON.stringify(job)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let partial = '';
  child.stdout!.on('data', (d) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  const waitFor = async (re: RegExp, ms = 15000) => {
    const until = Date.now() + ms;
    for (;;) {
      const hit = lines.find((l) => re.test(l));
      if (hit) return hit;
      if (Date.now() > until)
        throw new Error(`no line matching ${re} within ${ms} ms; got ${JSON.stringify(lines.slice(-5))}`);
      await sleep(20);
    }
  };
  return { child, lines, waitFor };
}

function read(t: TestEnv, session: string): ReadEvent[] {
  return readAll(bufferSets(t.json(['list', session]))).events;
}

const byChannel = (events: ReadEvent[], channel: string) => events.filter((e) => e.channel === channel);

describe('e2e: userspace tracing under control of the session daemon', function () {
  this.timeout(60000);
  let t: TestEnv;
  let shm: string;
  beforeEach(() => {
    t = new TestEnv('ustctl');
    shm = fs.mkdtempSync('/dev/shm/tstrace-e2e-');
  });
  afterEach(async () => {
    await t.cleanup();
    fs.rmSync(shm, { recursive: true, force: true });
  });

  it('records an event only while it is enabled: enable, disable, re-enable while the app runs', async () => {
    t.ok(['create', 's', '--shm-path', shm, '--no-output']);
    t.ok(['enable-event', '-u', 'e2e:tick']);
    t.ok(['start']);
    const app = startApp(t.env, { app: 7, threads: 0, events: 0, tick: true });
    t.track(app.child);
    await app.waitFor(/^ticking$/);
    await sleep(400);
    const beforeDisable = process.hrtime.bigint();
    t.ok(['disable-event', '-u', 'e2e:tick']);
    const disabled = process.hrtime.bigint();
    await sleep(400);
    const reenabling = process.hrtime.bigint();
    t.ok(['enable-event', '-u', 'e2e:tick']);
    await sleep(400);
    t.ok(['stop']);
    const events = read(t, 's');
    const ticks = events.filter((e) => e.name === 'e2e:tick');
    expect(ticks.length).to.equal(events.length);
    const first = ticks.filter((e) => e.timestamp < beforeDisable);
    const gap = ticks.filter((e) => e.timestamp > disabled + 5_000_000n && e.timestamp < reenabling);
    const second = ticks.filter((e) => e.timestamp > reenabling);
    expect(first.length, 'ticks while first enabled').to.be.greaterThan(50);
    expect(gap.length, 'ticks while disabled').to.equal(0);
    expect(second.length, 'ticks after re-enabling').to.be.greaterThan(50);
    // The counter field shows the app kept ticking (unrecorded) while the event was disabled.
    const n = (e: ReadEvent) => Number(e.fields.n);
    expect(n(second[0]) - n(first[first.length - 1])).to.be.greaterThan(100);
  });

  it('filters, log levels, exclusions and the PID tracker each select exactly the right events', async () => {
    const jobs = [1, 2].map((app) => ({ app, threads: 0, events: 1000, waitEnabledMs: 15000, startDelayMs: 1500 }));
    const apps = jobs.map((job) => {
      const a = startApp(t.env, job);
      t.track(a.child);
      return a;
    });
    const pid2 = apps[1].child.pid!;
    t.ok(['create', 's1', '--shm-path', shm, '--no-output']);
    for (const c of ['all', 'filt', 'only', 'severe', 'excl']) t.ok(['enable-channel', '-u', c]);
    t.ok(['enable-event', '-u', '-c', 'all', 'e2e:load']);
    t.ok(['enable-event', '-u', '-c', 'filt', 'e2e:load', '--filter', 'seq >= 500 && text == "a1t0*"']);
    t.ok(['enable-event', '-u', '-c', 'only', 'e2e:*', '--loglevel-only', 'TRACE_INFO']);
    t.ok(['enable-event', '-u', '-c', 'severe', 'e2e:*', '--loglevel', 'TRACE_WARNING']);
    t.ok(['enable-event', '-u', '-c', 'excl', 'e2e:*', '--exclude', 'e2e:load']);
    t.ok(['create', 's2', '--shm-path', shm, '--no-output']);
    t.ok(['enable-event', '-u', '-s', 's2', 'e2e:load']);
    t.ok(['track', '-u', '-s', 's2', '--pid', String(pid2)]);
    t.ok(['start', 's1']);
    t.ok(['start', 's2']);
    for (const a of apps) await a.waitFor(/^written$/);
    const s1 = read(t, 's1');
    const count = (events: ReadEvent[], app: number) => events.filter((e) => e.fields.app === app).length;
    expect([count(byChannel(s1, 'all'), 1), count(byChannel(s1, 'all'), 2)]).to.deep.equal([1000, 1000]);
    const filt = byChannel(s1, 'filt');
    expect(filt.length).to.equal(500);
    expect(filt.every((e) => e.fields.app === 1 && Number(e.fields.seq) >= 500)).to.equal(true);
    expect(byChannel(s1, 'only').length).to.equal(2000);
    expect(byChannel(s1, 'severe').length).to.equal(0);
    expect(byChannel(s1, 'excl').length).to.equal(0);
    const s2 = read(t, 's2');
    expect([count(s2, 1), count(s2, 2)]).to.deep.equal([0, 1000]);
  });

  it('evaluates filters that look like JS code as data and never runs them', async () => {
    t.ok(['create', 's', '--shm-path', shm, '--no-output']);
    for (const c of ['control', 'exit', 'proto', 'bt']) t.ok(['enable-channel', '-u', c]);
    t.ok(['enable-event', '-u', '-c', 'control', 'e2e:load']);
    t.ok(['enable-event', '-u', '-c', 'exit', 'e2e:load', '--filter', 'text == "process.exit()"']);
    t.ok([
      'enable-event',
      '-u',
      '-c',
      'proto',
      'e2e:load',
      '--filter',
      'constructor == 1 || __proto__ == 1 || $ctx.constructor == 1',
    ]);
    const backticks = t.cli(['enable-event', '-u', '-c', 'bt', 'e2e:load', '--filter', '`process.exit()`']);
    expect(backticks.code).to.equal(1);
    expect(backticks.stderr).to.match(/^Error: filter syntax error at column \d+/);
    t.ok(['start']);
    const r = await runApp(t.env, { app: 3, threads: 0, events: 1000, waitEnabledMs: 15000 });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('written\n');
    const events = read(t, 's');
    expect(byChannel(events, 'control').length).to.equal(1000);
    expect(byChannel(events, 'exit').length).to.equal(0);
    expect(byChannel(events, 'proto').length).to.equal(0);
  });

  it('an app started before any daemon registers by itself; kill -9 of the daemon leaves it at full speed; it registers again', async () => {
    const app = startApp(t.env, { app: 9, threads: 0, events: 0, spin: true });
    t.track(app.child);
    await app.waitFor(/^spinning$/);
    await sleep(3000);
    const t0 = Date.now();
    t.ok(['list']); // starts the daemon
    let seen = false;
    while (!seen && Date.now() - t0 < 4000) {
      seen = t.json(['list', '-u']).apps.some((a: { pid: number }) => a.pid === app.child.pid);
      if (!seen) await sleep(100);
    }
    expect(seen, 'registered within 4 s of the daemon starting').to.equal(true);
    const rates = () => app.lines.filter((l) => l.startsWith('rate ')).map((l) => Number(l.slice(5)));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const before = rates().length;
    await sleep(1500);
    const rateRegistered = median(rates().slice(before));
    const pid = t.daemonPid()!;
    await killAndWait(pid, 'SIGKILL');
    const after = rates().length;
    await sleep(1500);
    const rateOrphan = median(rates().slice(after));
    expect(app.child.exitCode).to.equal(null);
    expect(rateOrphan, `${rateOrphan} vs ${rateRegistered} emits/ms`).to.be.greaterThan(rateRegistered * 0.5);
    t.ok(['list']); // a new daemon
    const t1 = Date.now();
    seen = false;
    while (!seen && Date.now() - t1 < 4000) {
      seen = t.json(['list', '-u']).apps.some((a: { pid: number }) => a.pid === app.child.pid);
      if (!seen) await sleep(100);
    }
    expect(seen, 'registered again with the new daemon').to.equal(true);
  });

  it('leaves no shared-memory file after destroy, nor after kill -9 of the daemon and a restart', async () => {
    const app = startApp(t.env, { app: 5, threads: 0, events: 0, tick: true });
    t.track(app.child);
    await app.waitFor(/^ticking$/);
    const files = (dir: string): string[] =>
      fs.existsSync(dir)
        ? fs
            .readdirSync(dir, { recursive: true, withFileTypes: true })
            .filter((d) => d.isFile())
            .map((d) => path.join(d.parentPath ?? d.path, d.name))
        : [];
    // Default shm root (no --shm-path): /dev/shm/tstrace-<tag of the run dir>.
    t.ok(['create', 'a']);
    t.ok(['enable-event', '-u', 'e2e:tick']);
    t.ok(['start']);
    // The app was started before any daemon: it registers within a second of the first one.
    let sets = bufferSets(t.json(['list', 'a']));
    for (let i = 0; i < 100 && sets.length === 0; i++) {
      await sleep(50);
      sets = bufferSets(t.json(['list', 'a']));
    }
    expect(sets).to.have.length(1);
    const root = path.dirname(path.dirname(path.dirname(path.dirname(path.dirname(sets[0].directory)))));
    expect(root).to.match(/^\/dev\/shm\/tstrace-[0-9a-f]{12}$/);
    expect(files(sets[0].directory).length).to.be.greaterThan(0);
    t.ok(['destroy', 'a']);
    expect(fs.existsSync(path.dirname(path.dirname(path.dirname(path.dirname(sets[0].directory)))))).to.equal(false);
    // Now a session with buffers under both roots, and the daemon killed.
    t.ok(['create', 'b']);
    t.ok(['enable-event', '-u', 'e2e:tick']);
    t.ok(['start']);
    t.ok(['create', 'c', '--shm-path', shm, '--no-output']);
    t.ok(['enable-event', '-u', 'e2e:tick']);
    t.ok(['start']);
    for (let i = 0; i < 100 && files(shm).length === 0; i++) await sleep(50);
    expect(files(shm).length).to.be.greaterThan(0);
    await killAndWait(t.daemonPid()!, 'SIGKILL');
    expect(files(root).length).to.be.greaterThan(0);
    t.ok(['list']); // the next daemon cleans up
    expect(files(shm)).to.deep.equal([]);
    // Only the new daemon's own status page for the still-running app may be there.
    for (let i = 0; i < 50 && files(root).filter((f) => !f.includes('/apps/status-')).length > 0; i++) await sleep(20);
    expect(files(root).filter((f) => !f.includes('/apps/status-'))).to.deep.equal([]);
  });
});
