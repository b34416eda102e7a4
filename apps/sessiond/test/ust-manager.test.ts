import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { filterToJson, parseFilter } from '@tstrace/filter';
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppRegistry, RegisteredApp } from '../src/apps';
import { BufferScheme, Caller, Domain, LoglevelType } from '../src/model';
import { dateStamp, SessionRegistry } from '../src/registry';
import { ClientService } from '../src/service';
import { streamFileOwner } from '../src/ust/buffers';
import { ConsumerDaemon } from '../src/consumer/daemon';
import { ConsumerSync } from '../src/consumer/sync';
import { UstManager, UstManagerOptions } from '../src/ust/manager';
import { defaultShmRoot, ShmDirs, shmTag } from '../src/ust/shm';
import { STATUS_PAGE_SIZE } from '../src/ust/status-page';

const U = Domain.USERSPACE;
const isRoot = process.getuid?.() === 0;
const quietLog = () => {
  const lines: string[] = [];
  const add = (level: string) => (m: string) => void lines.push(`${level}: ${m}`);
  return { lines, debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
};
const mode = (p: string) => fs.statSync(p).mode & 0o7777;

function codeOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(StatusError);
    return (err as StatusError).code;
  }
  throw new Error('expected a StatusError');
}

describe('shm directories', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-shm-')));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('names the default root after the run directory', () => {
    expect(shmTag('/var/run/tstrace')).to.match(/^[0-9a-f]{12}$/);
    expect(shmTag('/var/run/tstrace')).to.equal(shmTag('/var/run/tstrace/'));
    expect(shmTag('/var/run/tstrace')).to.not.equal(shmTag('/root/.tstrace'));
    expect(defaultShmRoot('/var/run/tstrace')).to.equal(`/dev/shm/tstrace-${shmTag('/var/run/tstrace')}`);
  });

  it("records each directory once, removes it with its line, and cleans up a dead daemon's leftovers at start-up", () => {
    const log = quietLog();
    const file = path.join(tmp, 'shm-dirs');
    const root = path.join(tmp, 'root');
    const dirs = new ShmDirs(file, log);
    dirs.cleanupAtStartup(root);
    expect(fs.readFileSync(file, 'utf8')).to.equal('');
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    for (const d of [a, b]) fs.mkdirSync(path.join(d, 'ust'), { recursive: true });
    fs.writeFileSync(path.join(b, 'ust', 'chan_0'), 'x');
    dirs.add(a);
    dirs.add(b);
    dirs.add(a);
    expect(fs.readFileSync(file, 'utf8')).to.equal(`${a}\n${b}\n`);
    dirs.remove(a);
    expect(fs.existsSync(a)).to.equal(false);
    expect(fs.readFileSync(file, 'utf8')).to.equal(`${b}\n`);

    // A daemon killed now leaves b, and its default root; the next one removes both.
    fs.mkdirSync(path.join(root, 'apps'), { recursive: true });
    fs.writeFileSync(path.join(root, 'apps', 'status-1-00'), '');
    const next = new ShmDirs(file, log);
    expect(next.cleanupAtStartup(root)).to.deep.equal([b, root]);
    expect(fs.existsSync(b)).to.equal(false);
    expect(fs.existsSync(root)).to.equal(false);
    expect(fs.readFileSync(file, 'utf8')).to.equal('');
    expect(next.list()).to.deep.equal([]);
  });

  it('does not follow a recorded directory whose parent became a symlink', () => {
    const log = quietLog();
    const file = path.join(tmp, 'shm-dirs');
    const parent = path.join(tmp, 'user');
    const victim = path.join(tmp, 'victim');
    fs.mkdirSync(path.join(parent, 'web-20260101-000000'), { recursive: true });
    fs.mkdirSync(path.join(victim, 'web-20260101-000000'), { recursive: true });
    fs.writeFileSync(file, `${path.join(parent, 'web-20260101-000000')}\n`);
    fs.rmSync(parent, { recursive: true });
    fs.symlinkSync(victim, parent);
    new ShmDirs(file, log).cleanupAtStartup(path.join(tmp, 'root'));
    expect(fs.existsSync(path.join(victim, 'web-20260101-000000'))).to.equal(true);
    expect(log.lines.some((l) => l.startsWith('warn: not removing'))).to.equal(true);
  });
});

describe('stream file owners', () => {
  const app = { uid: 1000, gid: 100 };
  it('per-PID 0600 to the app; per-UID 0640 to the app and the tracing group (global daemon)', () => {
    expect(streamFileOwner('pid', app, { uid: 0, gid: 0, tracingGid: 555 })).to.deep.equal({
      uid: 1000,
      gid: 100,
      mode: 0o600,
    });
    expect(streamFileOwner('uid', app, { uid: 0, gid: 0, tracingGid: 555 })).to.deep.equal({
      uid: 1000,
      gid: 555,
      mode: 0o640,
    });
    expect(streamFileOwner('uid', app, { uid: 0, gid: 0 })).to.deep.equal({ uid: 1000, gid: 100, mode: 0o640 });
    // A per-user daemon keeps its files (it cannot give them away).
    expect(streamFileOwner('uid', app, { uid: 1000, gid: 1000 })).to.deep.equal({ uid: 1000, gid: 1000, mode: 0o640 });
    expect(streamFileOwner('pid', { uid: 0, gid: 0 }, { uid: 1000, gid: 1000 })).to.deep.equal({
      uid: 1000,
      gid: 1000,
      mode: 0o600,
    });
  });
});

/** A fake apps.sock side: registered apps and what they were pushed. */
class Harness {
  readonly tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-ust-')));
  readonly runDir = path.join(this.tmp, 'run');
  readonly shmBase = path.join(this.tmp, 'shm');
  readonly log = quietLog();
  readonly sessions = new SessionRegistry({
    kernelAvailable: true,
    defaultHome: '/h',
    now: () => new Date(2026, 10, 22, 9, 5, 7),
  });
  /** Process start times by pid: change one to play a recycled pid. */
  readonly starts = new Map<number, string>();
  readonly apps = new AppRegistry({
    now: () => new Date(2026, 10, 22, 10, 0, 0).getTime(),
    processStart: (pid) => this.starts.get(pid) ?? `start-of-${pid}`,
  });
  readonly ust: UstManager;
  readonly service: ClientService;
  readonly pushed = new Map<number, tstrace.app.AppState.$Properties[]>();
  private nextConn = 1;

  constructor(
    readonly tracingGid: number | undefined = 555,
    extra: Pick<UstManagerOptions, 'onChange' | 'setReady'> = {},
  ) {
    fs.mkdirSync(this.runDir);
    fs.mkdirSync(this.shmBase);
    const uid = process.getuid!();
    this.ust = new UstManager(this.sessions, {
      runDir: this.runDir,
      shmBase: this.shmBase,
      daemon: { uid, gid: process.getgid!(), tracingGid: uid === 0 ? tracingGid : undefined },
      log: this.log,
      streamCount: 2,
      ...extra,
    });
    this.ust.startup();
    this.service = new ClientService(
      this.sessions,
      this.apps,
      { version: 't', protocolMajor: 1, protocolMinor: 0, daemonUid: uid, defaultHome: '/h' },
      this.ust,
    );
  }

  get root(): string {
    return defaultShmRoot(this.runDir, this.shmBase);
  }

  cmd(caller: Caller, req: tstrace.client.Request.$Properties): tstrace.client.Reply.$Properties {
    return this.service.handleSync(tstrace.client.Request.create(req), caller);
  }

  register(
    who: Caller,
    events: tstrace.app.EventDecl.$Properties[],
    extra: Partial<tstrace.app.RegisterApp.$Properties> = {},
  ): { app: RegisteredApp; registered: tstrace.app.Registered.$Properties; conn: number } {
    const conn = this.nextConn++;
    const app = this.apps.register(conn, who, {
      pid: who.pid,
      uid: who.uid,
      gid: who.gid,
      procname: 'shop',
      events,
      ...extra,
    });
    this.pushed.set(conn, []);
    const registered = this.ust.appRegistered(app, (reply) => this.pushed.get(conn)!.push(reply.appState!));
    this.ust.sync();
    return { app, registered, conn };
  }

  close(conn: number): void {
    this.apps.unregister(conn);
    this.ust.appClosed(conn);
    this.ust.sync();
  }

  last(conn: number): tstrace.app.AppState.$Properties {
    const list = this.pushed.get(conn)!;
    return list[list.length - 1];
  }

  ackLatest(conn: number): void {
    this.ust.ack(conn, Number(this.last(conn).generation), '');
  }

  bytes(conn: number, n: number): number[] {
    const page = this.ust.statusPage(conn)!;
    return Array.from({ length: n }, (_, i) => page.get(i));
  }

  dispose(): void {
    this.ust.shutdown();
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

const ev = (
  full: string,
  loglevel = 13,
  fields: { name: string; type: string }[] = [],
): tstrace.app.EventDecl.$Properties => {
  const [provider, name] = full.split(':');
  return { provider, name, loglevel, fields };
};
const me: Caller = { pid: 4242, uid: process.getuid!(), gid: process.getgid!() };
const date = dateStamp(new Date(2026, 10, 22, 9, 5, 7));
const regDate = dateStamp(new Date(2026, 10, 22, 10, 0, 0));

describe('UstManager: buffers, status pages, AppState and acks', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });
  afterEach(() => h.dispose());

  it('gives each registration a 64 KiB status page of its own, mode 0600, removed when the app goes', () => {
    const { registered, conn } = h.register(me, [ev('shop:checkout')]);
    expect(registered.appId).to.equal(1);
    expect(registered.statusPageSize).to.equal(STATUS_PAGE_SIZE);
    const page = registered.statusPage!;
    expect(path.dirname(page)).to.equal(path.join(h.root, 'apps'));
    expect(path.basename(page)).to.match(/^status-1-[0-9a-f]{16}$/);
    expect(fs.statSync(page).size).to.equal(65536);
    expect(mode(page)).to.equal(0o600);
    expect(mode(h.root)).to.equal(0o755);
    expect(mode(path.join(h.root, 'apps'))).to.equal(0o755);
    // The first AppState follows registration, even with nothing enabled.
    expect(h.pushed.get(conn)).to.deep.equal([{ generation: 1, channels: [], routes: [], knownEvents: 1 }]);
    h.close(conn);
    expect(fs.existsSync(page)).to.equal(false);
  });

  it('makes per-UID buffers at start, pushes the state, and lights the status bytes only after the ack', () => {
    const { conn } = h.register(me, [
      ev('shop:checkout', 6, [{ name: 'amount', type: 'double' }]),
      ev('shop:debug', 14),
      ev('db:query'),
    ]);
    h.cmd(me, { createSession: { name: 'web' } });
    h.cmd(me, { enableEvent: { session: 'web', domain: U, names: ['shop:*'], exclusions: ['shop:debug'] } });
    h.cmd(me, { addContext: { session: 'web', domain: U, types: ['vpid', 'procname'] } });
    expect(h.pushed.get(conn)).to.have.length(1); // not started: nothing changes for the app
    const reply = h.cmd(me, { startTracing: { session: 'web' } });
    const sessionDir = path.join(h.root, `web-${date}`);
    const dir = path.join(sessionDir, 'ust', 'uid', String(me.uid), '64-bit');
    const streams = [0, 1].map((n) => path.join(dir, `channel0_${n}`));
    expect(reply.session!.buffers).to.deep.equal([
      {
        channel: 'channel0',
        owner: 'uid',
        id: me.uid,
        procname: '',
        directory: dir,
        streamPaths: streams,
        contexts: ['vpid', 'procname'],
        streamId: 0,
        events: [{ id: 0, name: 'shop:checkout', loglevel: 6, fields: [{ name: 'amount', type: 'double' }] }],
      },
    ]);
    expect(fs.readFileSync(path.join(h.runDir, 'shm-dirs'), 'utf8')).to.equal(`${sessionDir}\n`);
    for (const d of [sessionDir, path.join(sessionDir, 'ust'), path.join(sessionDir, 'ust', 'uid'), dir])
      expect(mode(d), d).to.equal(0o755);
    for (const s of streams) {
      expect(mode(s)).to.equal(0o640);
      const st = fs.statSync(s);
      expect([st.uid, st.gid]).to.deep.equal([me.uid, isRoot ? 555 : process.getgid!()]);
    }
    // The stream files carry the stream class, the stream index and their trace's uuid.
    const head = fs.readFileSync(streams[1]).subarray(0, 64);
    expect(head.readUInt32LE(0)).to.equal(0x42525354);
    expect(head.readInt32LE(5 * 4)).to.equal(0);
    expect(head.readInt32LE(6 * 4)).to.equal(1);
    expect(head.subarray(32, 48).toString('hex')).to.equal(
      h.ust.setsOf(h.sessions.get(me, 'web'))[0].traceUuid.replace(/-/g, ''),
    );
    expect([head.readUInt32LE(48), head.readUInt32LE(52)]).to.deep.equal([1, 0]); // stream_instance_id: 0, 1 in this session

    const state = h.last(conn);
    expect(state).to.deep.equal({
      generation: 2,
      knownEvents: 3,
      channels: [
        {
          key: 1,
          session: 'web',
          channel: 'channel0',
          streamPaths: streams,
          contexts: ['vpid', 'procname'],
          wakePaths: streams.map((s) => `${s}.wake`),
        },
      ],
      routes: [{ event: 0, channelKey: 1, eventId: 0, filters: [] }],
    });
    expect(h.bytes(conn, 3)).to.deep.equal([0, 0, 0]);
    h.ackLatest(conn);
    expect(h.bytes(conn, 3)).to.deep.equal([1, 0, 0]);
    // Nothing changed: no new state.
    h.cmd(me, { getSession: { name: 'web' } });
    expect(h.pushed.get(conn)).to.have.length(2);
  });

  it('clears a status byte before pushing the state without its route (disable-event, stop, destroy)', () => {
    const { conn } = h.register(me, [ev('a:x'), ev('a:y')]);
    h.cmd(me, { createSession: { name: 's' } });
    h.cmd(me, { enableEvent: { session: 's', domain: U, names: ['a:*'] } });
    h.cmd(me, { startTracing: { session: 's' } });
    h.ackLatest(conn);
    expect(h.bytes(conn, 2)).to.deep.equal([1, 1]);
    // The byte is 0 when the push is made (the app may still be mapping the new state).
    let seenAtPush: number[] = [];
    const list = h.pushed.get(conn)!;
    const push = list.push.bind(list);
    list.push = (...items) => {
      seenAtPush = h.bytes(conn, 2);
      return push(...items);
    };
    h.cmd(me, { enableEvent: { session: 's', domain: U, names: ['a:x'], filter: 'v > 1' } });
    h.cmd(me, { disableEvent: { session: 's', domain: U, names: ['a:*'] } });
    expect(seenAtPush).to.deep.equal([1, 0]);
    expect(h.last(conn).routes).to.deep.equal([
      { event: 0, channelKey: 1, eventId: 0, filters: [filterToJson(parseFilter('v > 1'))] },
    ]);
    expect(h.bytes(conn, 2)).to.deep.equal([1, 0]); // a:x keeps its byte across the change of filter
    h.ackLatest(conn);
    expect(h.bytes(conn, 2)).to.deep.equal([1, 0]);
    h.cmd(me, { stopTracing: { session: 's' } });
    expect(seenAtPush).to.deep.equal([0, 0]);
    expect(h.last(conn)).to.deep.include({ channels: [], routes: [] });
    const dir = h.ust.sessionDir(h.sessions.get(me, 's'))!;
    expect(fs.existsSync(dir)).to.equal(true); // stop keeps the buffers
    h.cmd(me, { startTracing: { session: 's' } });
    h.ackLatest(conn);
    expect(h.bytes(conn, 2)).to.deep.equal([1, 0]);
    h.cmd(me, { destroySession: { name: 's' } });
    expect(seenAtPush).to.deep.equal([0, 0]);
    expect(fs.existsSync(dir)).to.equal(false);
    expect(fs.readFileSync(path.join(h.runDir, 'shm-dirs'), 'utf8')).to.equal('');
  });

  it('an older ack lights only what the latest state keeps; refuses an unknown generation; clears every byte on an error ack', () => {
    const { conn } = h.register(me, [ev('a:x'), ev('a:y')]);
    h.cmd(me, { createSession: { name: 's' } });
    h.cmd(me, { enableEvent: { session: 's', domain: U, names: ['a:x'] } });
    h.cmd(me, { startTracing: { session: 's' } });
    const g2 = Number(h.last(conn).generation);
    h.cmd(me, { enableEvent: { session: 's', domain: U, names: ['a:y'] } });
    const g3 = Number(h.last(conn).generation);
    expect([g2, g3]).to.deep.equal([2, 3]);
    // g2 routed a:x, which g3 keeps: the app writes it from g2's ack on. a:y waits for g3's.
    h.ust.ack(conn, g2, '');
    expect(h.bytes(conn, 2)).to.deep.equal([1, 0]);
    expect(codeOf(() => h.ust.ack(conn, 4, ''))).to.equal(StatusCode.INVALID_ARGUMENT);
    expect(codeOf(() => h.ust.ack(conn, 0, ''))).to.equal(StatusCode.INVALID_ARGUMENT);
    expect(codeOf(() => h.ust.ack(99, 1, ''))).to.equal(StatusCode.HANDSHAKE_REQUIRED);
    h.ust.ack(conn, g3, '');
    expect(h.bytes(conn, 2)).to.deep.equal([1, 1]);
    h.ust.ack(conn, g3, 'cannot map /dev/shm/x: ENOMEM');
    expect(h.bytes(conn, 2)).to.deep.equal([0, 0]);
    expect(h.log.lines.some((l) => l.startsWith('warn:') && l.includes('ENOMEM'))).to.equal(true);
  });

  it('per-PID: one buffer set per process, shared by its threads, 0600 and owned by the app', () => {
    const main = h.register(me, [ev('a:x')]);
    h.cmd(me, { createSession: { name: 'p' } });
    h.cmd(me, { enableChannel: { session: 'p', domain: U, name: 'c', buffers: BufferScheme.PER_PID } });
    h.cmd(me, { enableEvent: { session: 'p', domain: U, channel: 'c', names: ['a:*'] } });
    h.cmd(me, { startTracing: { session: 'p' } });
    const worker = h.register(me, [ev('a:y'), ev('a:x')], { threadId: 1 });
    const other = h.register({ ...me, pid: 5151 }, [ev('a:x')]);
    const buffers = h.cmd(me, { getSession: { name: 'p' } }).session!.buffers!;
    const dirOf = (pid: number) => path.join(h.root, `p-${date}`, 'ust', 'pid', `shop-${pid}-${regDate}`);
    expect(
      buffers.map((b) => [b.owner, b.id, b.procname, b.directory, b.events!.map((e) => `${e.id}=${e.name}`)]),
    ).to.deep.equal([
      ['pid', 4242, 'shop', dirOf(4242), ['0=a:x', '1=a:y']],
      ['pid', 5151, 'shop', dirOf(5151), ['0=a:x']],
    ]);
    const mainState = h.last(main.conn);
    const workerState = h.last(worker.conn);
    expect(workerState.channels).to.deep.equal(mainState.channels);
    expect(workerState.routes).to.deep.equal([
      { event: 0, channelKey: mainState.channels![0].key, eventId: 1, filters: [] },
      { event: 1, channelKey: mainState.channels![0].key, eventId: 0, filters: [] },
    ]);
    expect(h.last(other.conn).channels![0].streamPaths).to.deep.equal(
      [0, 1].map((n) => path.join(dirOf(5151), `c_${n}`)),
    );
    for (const b of buffers) {
      for (const s of b.streamPaths!) {
        expect(mode(s)).to.equal(0o600);
        expect(fs.statSync(s).uid).to.equal(me.uid);
      }
    }
    // The buffers of a process stay after it exits, until the session is destroyed.
    h.close(other.conn);
    expect(h.cmd(me, { getSession: { name: 'p' } }).session!.buffers).to.have.length(2);
  });

  it("per-PID: a recycled pid gets buffers of its own, next to the dead process's", () => {
    const first = h.register(me, [ev('a:x')]);
    h.cmd(me, { createSession: { name: 'p' } });
    h.cmd(me, { enableChannel: { session: 'p', domain: U, name: 'c', buffers: BufferScheme.PER_PID } });
    h.cmd(me, { enableEvent: { session: 'p', domain: U, channel: 'c', names: ['a:*'] } });
    h.cmd(me, { startTracing: { session: 'p' } });
    h.close(first.conn);
    h.starts.set(me.pid, 'later');
    const second = h.register(me, [ev('a:x')]);
    const dirs = h.cmd(me, { getSession: { name: 'p' } }).session!.buffers!.map((b) => path.basename(b.directory!));
    expect(dirs).to.deep.equal([`shop-4242-${regDate}`, `shop-4242-${regDate}-1`]);
    expect(h.last(second.conn).channels![0].streamPaths![0]).to.contain(`shop-4242-${regDate}-1/`);
  });

  it('per-UID: apps of one user share the buffers and the ids of identical events; each user has their own', function () {
    if (!isRoot) this.skip();
    const alice: Caller = { pid: 3001, uid: 1000, gid: 1000 };
    const bob: Caller = { pid: 3002, uid: 1001, gid: 1001 };
    const root: Caller = { pid: 1, uid: 0, gid: 0 };
    h.register(alice, [ev('a:x'), ev('a:y')]);
    h.register({ ...alice, pid: 3003 }, [ev('a:y'), ev('a:z'), ev('a:x', 3)]);
    const b = h.register(bob, [ev('a:x')]);
    h.cmd(root, { createSession: { name: 'all' } });
    h.cmd(root, { enableEvent: { session: 'all', domain: U, names: ['a:*'] } });
    h.cmd(alice, { createSession: { name: 'mine' } });
    h.cmd(alice, { enableEvent: { session: 'mine', domain: U, names: ['a:y'] } });
    h.cmd(root, { startTracing: { session: 'all' } });
    h.cmd(alice, { startTracing: { session: 'mine' } });
    const all = h.cmd(root, { getSession: { name: 'all' } }).session!.buffers!;
    expect(all.map((s) => [s.id, s.events!.map((e) => `${e.id}=${e.name}/${e.loglevel}`)])).to.deep.equal([
      [1000, ['0=a:x/13', '1=a:y/13', '2=a:z/13', '3=a:x/3']],
      [1001, ['0=a:x/13']],
    ]);
    const mine = h.cmd(alice, { getSession: { name: 'mine' } }).session!.buffers!;
    expect(mine.map((s) => [s.id, s.events!.map((e) => e.name)])).to.deep.equal([[1000, ['a:y']]]);
    for (const s of all[1].streamPaths!)
      expect([fs.statSync(s).uid, fs.statSync(s).gid, mode(s)]).to.deep.equal([1001, 555, 0o640]);
    // Bob's app gets root's session only.
    expect(h.last(b.conn).channels!.map((c) => c.session)).to.deep.equal(['all']);
    // Status pages belong to their apps.
    expect(fs.statSync(h.ust.statusPage(b.conn)!.path).uid).to.equal(1001);
  });

  it('makes the buffers of an app that registers while the session runs, and of a channel enabled again', () => {
    h.cmd(me, { createSession: { name: 's' } });
    h.cmd(me, { enableEvent: { session: 's', domain: U, names: ['a:*'] } });
    h.cmd(me, { enableChannel: { session: 's', domain: U, name: 'off' } });
    h.cmd(me, {
      enableEvent: {
        session: 's',
        domain: U,
        channel: 'off',
        names: ['a:*'],
        loglevelType: LoglevelType.LOGLEVEL_RANGE,
        loglevel: 4,
      },
    });
    h.cmd(me, { disableChannel: { session: 's', domain: U, names: ['off'] } });
    h.cmd(me, { startTracing: { session: 's' } });
    expect(h.cmd(me, { getSession: { name: 's' } }).session!.buffers).to.deep.equal([]);
    const { conn } = h.register(me, [ev('a:x', 2)]);
    expect(h.cmd(me, { getSession: { name: 's' } }).session!.buffers!.map((b) => b.channel)).to.deep.equal([
      'channel0',
    ]);
    expect(h.last(conn).routes).to.have.length(1);
    h.cmd(me, { enableChannel: { session: 's', domain: U, name: 'off' } });
    const buffers = h.cmd(me, { getSession: { name: 's' } }).session!.buffers!;
    expect(buffers.map((b) => [b.channel, b.streamId, b.streamPaths!.map((p) => path.basename(p))])).to.deep.equal([
      ['channel0', 0, ['channel0_0', 'channel0_1']],
      ['off', 1, ['off_0', 'off_1']],
    ]);
    expect(h.last(conn).routes!.map((r) => r.channelKey)).to.deep.equal(h.last(conn).channels!.map((c) => c.key));
  });

  it('puts a session with --shm-path under it, and refuses to start when the buffers cannot be made', () => {
    h.register(me, [ev('a:x')]);
    const shm = path.join(h.tmp, 'custom', 'deeper');
    h.cmd(me, { createSession: { name: 's', shmPath: shm } });
    h.cmd(me, { enableEvent: { session: 's', domain: U, names: ['a:*'] } });
    h.cmd(me, { startTracing: { session: 's' } });
    const dir = path.join(shm, `s-${date}`);
    expect(h.ust.sessionDir(h.sessions.get(me, 's'))).to.equal(dir);
    expect(fs.readdirSync(path.join(dir, 'ust', 'uid', String(me.uid), '64-bit'))).to.deep.equal([
      'channel0_0',
      'channel0_0.wake',
      'channel0_1',
      'channel0_1.wake',
    ]);

    const file = path.join(h.tmp, 'a-file');
    fs.writeFileSync(file, '');
    h.cmd(me, { createSession: { name: 'bad', shmPath: path.join(file, 'x') } });
    h.cmd(me, { enableEvent: { session: 'bad', domain: U, names: ['a:*'] } });
    expect(codeOf(() => h.cmd(me, { startTracing: { session: 'bad' } }))).to.equal(StatusCode.INVALID_OUTPUT);
    const bad = h.sessions.get(me, 'bad');
    expect([bad.active, bad.everStarted]).to.deep.equal([false, false]);
  });

  it('gives two sessions of one name and second their own directories', function () {
    if (!isRoot) this.skip();
    const alice: Caller = { pid: 3001, uid: 1000, gid: 1000 };
    h.register(me, [ev('a:x')]);
    h.register(alice, [ev('a:x')]);
    for (const who of [me, alice]) {
      h.cmd(who, { createSession: { name: 'web' } });
      h.cmd(who, { enableEvent: { session: 'web', domain: U, names: ['a:*'] } });
      h.cmd(who, { startTracing: { session: 'web' } });
    }
    expect([me, alice].map((who) => path.basename(h.ust.sessionDir(h.sessions.get(who, 'web'))!))).to.deep.equal([
      `web-${date}`,
      `web-${date}-1`,
    ]);
  });

  it('removes everything at shutdown; a daemon killed instead is cleaned up by the next one', () => {
    h.register(me, [ev('a:x')]);
    const shm = path.join(h.tmp, 'custom');
    h.cmd(me, { createSession: { name: 's', shmPath: shm } });
    h.cmd(me, { createSession: { name: 't' } });
    for (const s of ['s', 't']) {
      h.cmd(me, { enableEvent: { session: s, domain: U, names: ['a:*'] } });
      h.cmd(me, { startTracing: { session: s } });
    }
    expect(fs.readdirSync(shm)).to.have.length(1);
    expect(fs.readdirSync(h.root).sort()).to.deep.equal(['apps', `t-${date}`]);
    // "Killed": a new manager on the same run directory, without shutdown of the first.
    const next = new UstManager(new SessionRegistry({ kernelAvailable: false, defaultHome: '/h' }), {
      runDir: h.runDir,
      shmBase: h.shmBase,
      daemon: { uid: process.getuid!(), gid: process.getgid!() },
      log: quietLog(),
    });
    next.startup();
    expect(fs.readdirSync(shm)).to.deep.equal([]);
    expect(fs.existsSync(h.root)).to.equal(false);
    expect(fs.readFileSync(path.join(h.runDir, 'shm-dirs'), 'utf8')).to.equal('');
  });

  it('shutdown removes the default root, every session directory and the status pages', () => {
    const { registered } = h.register(me, [ev('a:x')]);
    const shm = path.join(h.tmp, 'custom');
    h.cmd(me, { createSession: { name: 's', shmPath: shm } });
    h.cmd(me, { enableEvent: { session: 's', domain: U, names: ['a:*'] } });
    h.cmd(me, { startTracing: { session: 's' } });
    h.ust.shutdown();
    expect(fs.existsSync(registered.statusPage!)).to.equal(false);
    expect(fs.readdirSync(shm)).to.deep.equal([]);
    expect(fs.existsSync(h.root)).to.equal(false);
    expect(fs.existsSync(path.join(h.runDir, 'shm-dirs'))).to.equal(false);
    h.ust.sync(); // after shutdown: makes nothing again
    expect(fs.readdirSync(shm)).to.deep.equal([]);
  });
});

describe('UstManager and ConsumerSync: an app writes an event only once the consumer can count it', () => {
  /** A consumer daemon that answers only when the test says so. */
  class HeldConsumer {
    readonly running = true;
    readonly held: { req: tstrace.consumer.Request.$Properties; answer: () => void }[] = [];
    call(req: tstrace.consumer.Request.$Properties): Promise<tstrace.consumer.Reply.$Properties> {
      return new Promise((resolve) => this.held.push({ req, answer: () => resolve({}) }));
    }
    /** The command of each request held, in order. */
    commands(): string[] {
      return this.held.map((h) => Object.keys(h.req)[0]);
    }
    answerAll(): void {
      for (const h of this.held.splice(0)) h.answer();
    }
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  let h: Harness;
  afterEach(() => h.dispose());

  it("pushes a route only after the consumer has answered for the channel, its streams and the event's layout", async () => {
    const consumer = new HeldConsumer();
    let sync: ConsumerSync | undefined;
    h = new Harness(555, { onChange: () => sync?.schedule(), setReady: (set, eventId) => sync!.isReady(set, eventId) });
    sync = new ConsumerSync(consumer as unknown as ConsumerDaemon, h.sessions, h.ust, h.log, () => h.ust.sync());
    const { conn } = h.register(me, [
      ev('a:x', 13, [{ name: 'n', type: 'u32' }]),
      ev('a:y', 13, [{ name: 's', type: 'string' }]),
    ]);
    h.cmd(me, { createSession: { name: 's', output: { path: path.join(h.tmp, 'out') } } });
    h.cmd(me, { enableEvent: { session: 's', domain: U, names: ['a:x'] } });
    h.cmd(me, { startTracing: { session: 's' } });
    await settle();
    // The channel is being attached: the app has no route yet.
    expect(h.last(conn).routes).to.deep.equal([]);
    expect(consumer.commands()).to.deep.equal(['addChannel', 'addStream', 'addStream', 'metadata']);
    expect(consumer.held[0].req.addChannel!.events).to.deep.equal([{ id: 0, types: ['u32'] }]);
    consumer.answerAll();
    await settle();
    expect(h.last(conn).routes).to.deep.equal([{ event: 0, channelKey: 1, eventId: 0, filters: [] }]);

    // A second event in the same set: its layout reaches the consumer before its route reaches the app.
    const before = h.pushed.get(conn)!.length;
    h.cmd(me, { enableEvent: { session: 's', domain: U, names: ['a:y'] } });
    await settle();
    expect(h.pushed.get(conn)).to.have.length(before);
    expect(consumer.commands()).to.include('addEvents');
    expect(consumer.held.find((c) => c.req.addEvents)!.req.addEvents!.events).to.deep.equal([
      { id: 1, types: ['string'] },
    ]);
    consumer.answerAll();
    await settle();
    expect(h.last(conn).routes!.map((r) => [r.event, r.eventId])).to.deep.equal([
      [0, 0],
      [1, 1],
    ]);
  });
});
