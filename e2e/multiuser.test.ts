import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, killAndWait, SESSIOND, TestEnv } from './harness';

const sh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const groupExists = (name: string) => spawnSync('getent', ['group', name]).status === 0;

// A second Unix user, made by the test, against root's global daemon and their own.
describe('e2e: a second user and the tracing group', function () {
  this.timeout(90000);
  const user = `tstre2e${process.pid % 10000}`;
  let t: TestEnv;
  let userHome: string;
  let createdGroup = false;
  let createdUser = false;
  let uid = -1;

  /** Runs tstrace as the test user, with their own home and the global run dir of this test. */
  const asUser = (args: string[]) => {
    const env = [
      `HOME=${userHome}`,
      `TSTRACE_HOME=${userHome}`,
      `TSTRACE_RUNDIR=${t.runDir}`,
      `PATH=${process.env.PATH}`,
    ];
    const r = spawnSync('runuser', ['-u', user, '--', 'env', '-i', ...env, process.execPath, ...args], {
      encoding: 'utf8',
      timeout: 20000,
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const userCli = (args: string[]) => asUser([CLI, ...args]);
  const names = (doc: { sessions: { config: { name: string } }[] }) => doc.sessions.map((s) => s.config.name).sort();

  before(function () {
    if (process.getuid?.() !== 0) {
      console.log('    (skipped: needs root to create a user and a group)');
      this.skip();
    }
    t = new TestEnv('multiuser');
    userHome = path.join(t.root, 'userhome');
    if (!groupExists('tracing')) {
      sh('groupadd', ['tracing']);
      createdGroup = true;
    }
    sh('useradd', ['-M', '-s', '/usr/sbin/nologin', '-d', userHome, user]);
    createdUser = true;
    uid = Number(sh('id', ['-u', user]).trim());
    fs.mkdirSync(userHome, { mode: 0o755 });
    fs.chownSync(userHome, uid, uid);
    if (
      asUser(['-e', `require(${JSON.stringify(CLI)})`]).code !== 0 &&
      spawnSync('runuser', ['-u', user, '--', 'test', '-r', CLI]).status !== 0
    ) {
      console.log(`    (skipped: user ${user} cannot read ${CLI}; the checkout must be readable by other users)`);
      this.skip();
    }
    const started = spawnSync(process.execPath, [SESSIOND, '--daemonize'], { env: t.env, encoding: 'utf8' });
    if (started.status !== 0) throw new Error(started.stderr);
    t.ok(['create', 'rootsess', '-o', path.join(t.root, 'rootsess')]);
  });

  after(async () => {
    try {
      const pidFile = path.join(userHome ?? '/nonexistent', '.tstrace/sessiond.pid');
      if (fs.existsSync(pidFile)) await killAndWait(Number(fs.readFileSync(pidFile, 'utf8')));
      await t?.cleanup();
    } finally {
      if (createdUser) spawnSync('userdel', [user]);
      if (createdGroup) spawnSync('groupdel', ['tracing']);
    }
  });

  it('outside the tracing group, cannot connect to the global daemon', () => {
    const socket = path.join(t.runDir, 'client.sock');
    expect(fs.statSync(socket).mode & 0o777).to.equal(0o660);
    expect(fs.statSync(socket).gid).to.equal(Number(sh('getent', ['group', 'tracing']).split(':')[2]));
    const probe = asUser([
      '-e',
      `require('net').connect(${JSON.stringify(socket)}).on('error', (e) => { console.log(e.code); process.exit(0); }).on('connect', () => { console.log('CONNECTED'); process.exit(0); })`,
    ]);
    expect(probe.stdout.trim()).to.equal('EACCES');
    // The CLI talks to the user's own daemon, of which none runs yet.
    const r = userCli(['list', '--no-sessiond']);
    expect(r.code).to.equal(3);
    expect(r.stderr).to.equal(
      `Error: no session daemon is running for ${userHome}/.tstrace (ENOENT on ${userHome}/.tstrace/client.sock), and --no-sessiond forbids starting one\n`,
    );
    expect(r.stdout).to.not.include('rootsess');
  });

  it("the user's own per-user daemon works", () => {
    const created = userCli(['create', 'usersess', '-o', path.join(userHome, 'traces')]);
    expect(created.stderr).to.equal('');
    expect(created.code).to.equal(0);
    const runDir = path.join(userHome, '.tstrace');
    const sock = fs.statSync(path.join(runDir, 'client.sock'));
    expect([sock.uid, sock.mode & 0o777]).to.deep.equal([uid, 0o600]);
    expect(fs.statSync(runDir).mode & 0o777).to.equal(0o700);
    const pid = Number(fs.readFileSync(path.join(runDir, 'sessiond.pid'), 'utf8'));
    expect(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]).to.equal(String(uid));
    expect(names(JSON.parse(userCli(['list', '--json']).stdout))).to.deep.equal(['usersess']);
    expect(names(t.json(['list']))).to.deep.equal(['rootsess']);
    // Kernel tracing needs the root daemon.
    const k = userCli(['enable-channel', '-k', 'k0']);
    expect(k.code).to.equal(1);
    expect(k.stderr).to.equal(
      'Error: kernel tracing needs the root session daemon (run tstrace as root or as a member of the tracing group)\n',
    );
  });

  it("in the tracing group, uses the global daemon but sees and touches none of root's sessions", () => {
    const before = t.json(['list', 'rootsess']).config;
    sh('gpasswd', ['-a', user, 'tracing']);
    const listed = userCli(['list', '--json']);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(JSON.parse(listed.stdout)).to.deep.equal({ sessions: [] });
    for (const args of [
      ['destroy', 'rootsess'],
      ['start', 'rootsess'],
      ['enable-event', '-u', 'x', '-s', 'rootsess'],
      ['list', 'rootsess'],
      ['track', '-u', '--pid', '1', '-s', 'rootsess'],
    ]) {
      const r = userCli(args);
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr, args.join(' ')).to.equal('Error: session "rootsess" not found\n');
    }
    const g1 = userCli(['create', 'g1', '-o', path.join(userHome, 'g1')]);
    expect(g1.code, g1.stderr).to.equal(0);
    expect(names(JSON.parse(userCli(['list', '--json']).stdout))).to.deep.equal(['g1']);
    const all = t.json(['list']).sessions;
    expect(all.map((s: { config: { name: string }; ownerUid: number }) => [s.config.name, s.ownerUid])).to.deep.equal([
      ['rootsess', 0],
      ['g1', uid],
    ]);
    expect(t.json(['list', 'rootsess']).config).to.deep.equal(before);
  });

  it("makes the root daemon save and load the user's files as the user, and nowhere else", () => {
    const saved = userCli(['save', 'g1']);
    expect(saved.code, saved.stderr).to.equal(0);
    const file = path.join(userHome, '.tstrace/sessions/g1.json');
    expect(saved.stdout).to.equal(`Session g1 saved to ${file}\n`);
    expect(fs.statSync(file).uid).to.equal(uid);
    expect(fs.statSync(path.join(userHome, '.tstrace/sessions')).uid).to.equal(uid);
    // A directory the user does not own: refused, nothing written.
    const outside = path.join(t.root, 'not-yours');
    const refused = userCli(['save', 'g1', '-o', outside]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.equal(`Error: permission denied: ${t.root} does not belong to uid ${uid}\n`);
    expect(fs.existsSync(outside)).to.equal(false);
    // A root-owned file is not read on the user's behalf.
    const rootFile = path.join(t.root, 'root-session.json');
    fs.writeFileSync(rootFile, fs.readFileSync(file));
    const load = userCli(['load', '-i', rootFile]);
    expect(load.code).to.equal(1);
    expect(load.stderr).to.equal(`Error: permission denied: ${rootFile} does not belong to uid ${uid}\n`);
    // Their own file loads (replacing g1 with --force).
    const own = userCli(['load', 'g1', '--force']);
    expect(own.code, own.stderr).to.equal(0);
    expect(own.stdout).to.equal('Session g1 loaded\n');
  });
});
