import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive, killAndWait, SESSIOND, sleep, TestEnv } from './harness';

describe('e2e: session daemon lifecycle', function () {
  this.timeout(60000);
  let t: TestEnv;
  beforeEach(() => {
    t = new TestEnv('lifecycle');
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const startDaemon = (...args: string[]) =>
    spawnSync(process.execPath, [SESSIOND, ...args], { env: t.env, encoding: 'utf8', timeout: 10000 });

  it('after kill -9, `tstrace list` works with no manual clean-up', async () => {
    t.ok(['create', 'before']);
    const first = t.daemonPid()!;
    expect(fs.existsSync(path.join(t.runDir, 'client.sock'))).to.equal(true);
    await killAndWait(first, 'SIGKILL');
    // The socket and pid file of the dead daemon are still there.
    expect(fs.existsSync(path.join(t.runDir, 'client.sock'))).to.equal(true);
    const r = t.cli(['list']);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal('Currently no available tracing session\n');
    const second = t.daemonPid()!;
    expect(second).to.not.equal(first);
    expect(isAlive(second)).to.equal(true);
    expect(t.json(['create', 'after']).config.name).to.equal('after');
  });

  it('refuses a second daemon on the same run directory, naming the first', () => {
    expect(startDaemon('--daemonize').status).to.equal(0);
    const pid = t.daemonPid();
    const second = startDaemon();
    expect(second.status).to.equal(1);
    expect(second.stderr).to.equal(
      `tstrace-sessiond: a session daemon is already running in ${t.runDir} (pid ${pid})\n`,
    );
    const daemonized = startDaemon('-d');
    expect(daemonized.status).to.equal(1);
    expect(daemonized.stderr).to.equal(
      `tstrace-sessiond: a session daemon is already running in ${t.runDir} (pid ${pid})\n`,
    );
    expect(t.daemonPid()).to.equal(pid);
    expect(t.cli(['list']).code).to.equal(0);
  });

  it('shuts down cleanly on SIGTERM and SIGINT, leaving files on disk alone', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      // -b keeps the daemon's standard streams: give it none of ours to hold open.
      const started = spawnSync(process.execPath, [SESSIOND, '-b', '--pidfile', path.join(t.root, 'custom.pid')], {
        env: t.env,
        stdio: 'ignore',
        timeout: 10000,
      });
      expect(started.status).to.equal(0);
      const pid = Number(fs.readFileSync(path.join(t.root, 'custom.pid'), 'utf8'));
      const kept = path.join(t.home, 'tstrace-traces', 'kept');
      fs.mkdirSync(kept, { recursive: true });
      fs.writeFileSync(path.join(kept, 'data'), 'trace');
      await killAndWait(pid, signal);
      expect(fs.readdirSync(t.runDir).sort()).to.deep.equal(['sessiond.lock']);
      expect(fs.existsSync(path.join(t.root, 'custom.pid'))).to.equal(false);
      expect(fs.readFileSync(path.join(kept, 'data'), 'utf8')).to.equal('trace');
    }
  });

  it('a daemon that accepts but never answers makes the client time out with a clear error, not hang', async () => {
    expect(startDaemon('--daemonize').status).to.equal(0);
    const pid = t.daemonPid()!;
    process.kill(pid, 'SIGSTOP');
    try {
      const start = Date.now();
      const r = t.cli(['list', '--no-sessiond']);
      expect(Date.now() - start).to.be.lessThan(5000);
      expect(r.code).to.equal(3);
      expect(r.stderr).to.equal(
        `Error: the session daemon at ${path.join(t.runDir, 'client.sock')} does not answer: no answer from ${path.join(t.runDir, 'client.sock')} within 2000 ms\n`,
      );
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await sleep(50);
    expect(t.cli(['list']).code).to.equal(0);
  });

  it('creates a missing TSTRACE_HOME for the current-session file, and only warns when it cannot', () => {
    const home = `${t.root}/new/home`;
    const r = t.cli(['create', 'h1'], { TSTRACE_HOME: home });
    expect(r.code, r.stderr).to.equal(0);
    expect(fs.readFileSync(`${home}/.tstracerc`, 'utf8')).to.equal('session=h1\n');
    fs.writeFileSync(`${t.root}/a-file`, '');
    const blocked = t.cli(['create', 'h2', '-o', `${t.root}/h2`], { TSTRACE_HOME: `${t.root}/a-file/home` });
    expect(blocked.code).to.equal(0);
    expect(blocked.stderr).to.match(
      /^Warning: cannot record the current session in .*a-file\/home\/\.tstracerc: ENOTDIR/,
    );
    expect(t.json(['list']).sessions.map((s: { config: { name: string } }) => s.config.name)).to.deep.equal([
      'h1',
      'h2',
    ]);
  });

  it('--no-sessiond does not start a daemon', () => {
    const r = t.cli(['list', '--no-sessiond']);
    expect(r.code).to.equal(3);
    expect(r.stderr).to.match(
      /^Error: no session daemon is running for .* \(ENOENT on .*client\.sock\), and --no-sessiond forbids starting one\n$/,
    );
    expect(t.daemonPid()).to.equal(undefined);
  });

  it('sets up the run directory and sockets with the documented modes', () => {
    fs.mkdirSync(t.runDir, { mode: 0o777 });
    fs.chmodSync(t.runDir, 0o777);
    expect(startDaemon('--daemonize').status).to.equal(0);
    expect(fs.statSync(t.runDir).mode & 0o777).to.equal(0o755);
    const mode = (f: string) => fs.statSync(path.join(t.runDir, f)).mode & 0o777;
    expect(mode('client.sock')).to.equal(0o660);
    expect(mode('apps.sock')).to.equal(0o666);
    expect(mode('sessiond.lock')).to.equal(0o600);
  });

  it('refuses bad daemon options with a clear error', () => {
    const r = startDaemon('--bogus');
    expect(r.status).to.equal(1);
    expect(r.stderr).to.equal('tstrace-sessiond: unknown option --bogus (see --help)\n');
    expect(startDaemon('--max-frame-size', '12').stderr).to.equal(
      'tstrace-sessiond: --max-frame-size must be an integer of at least 1024\n',
    );
    expect(startDaemon('--help').stdout).to.match(/^Usage: tstrace-sessiond \[OPTIONS\]/);
  });
});
