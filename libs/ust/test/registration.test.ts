import { createStreamFile } from '@tstrace/ringbuffer';
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { decodeFields } from '../src/decode';
import { u32 } from '../src/fields';
import { identity } from '../src/identity';
import { defaultSockets, Tracer, TRACER_VERSION } from '../src/registration';
import { FakeDaemon, sleep } from './fake-daemon';
import { TestStream } from './helpers';

const ROOT = path.resolve(__dirname, '../../../..');
const INDEX = path.resolve(__dirname, '../src/index.js');

function tempDir(): string {
  return fs.mkdtempSync('/dev/shm/tstrace-ust-reg-');
}

function stream(dir: string, name: string): string {
  const file = path.join(dir, name);
  createStreamFile(file, {
    subbufSize: 4096,
    numSubbufs: 4,
    mode: 'discard',
    streamId: 0,
    cpuId: 0,
    uuid: new Uint8Array(16),
    streamInstanceId: 0n,
  });
  return file;
}

/** Reads back the u32 `n` of every event of a stream file (and each event's id and vpid context when asked). */
function readStream(file: string, contexts: string[] = []): { id: number; n: number; vpid?: number }[] {
  const s = Object.assign(Object.create(TestStream.prototype) as TestStream, { path: file });
  return s
    .read(
      () => [{ name: 'n', type: 'u32' }],
      contexts.map((name) => ({ name, type: 's32' })),
    )
    .map((e) => ({ id: e.id, n: e.values.n as number, ...e.context }));
}

describe('registration with session daemons (fake apps.sock)', function () {
  this.timeout(20000);
  let dir: string;
  const tracers: Tracer[] = [];
  const daemons: FakeDaemon[] = [];
  function track<T extends Tracer | FakeDaemon>(x: T): T {
    if (x instanceof Tracer) tracers.push(x);
    else daemons.push(x as FakeDaemon);
    return x;
  }

  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    for (const t of tracers.splice(0)) t.stop();
    for (const d of daemons.splice(0)) await d.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds the global and the per-user apps.sock, once each', () => {
    expect(defaultSockets({ TSTRACE_RUNDIR: '/r', TSTRACE_HOME: '/h' })).to.deep.equal([
      '/r/apps.sock',
      '/h/.tstrace/apps.sock',
    ]);
    expect(defaultSockets({ TSTRACE_RUNDIR: '/h/.tstrace', TSTRACE_HOME: '/h' })).to.deep.equal([
      '/h/.tstrace/apps.sock',
    ]);
    expect(defaultSockets({ HOME: '/home/u' })).to.deep.equal([
      '/var/run/tstrace/apps.sock',
      '/home/u/.tstrace/apps.sock',
    ]);
  });

  it('without a daemon: ready() resolves at once, events stay disabled, emit does nothing', async () => {
    const t = track(new Tracer({ sockets: () => [path.join(dir, 'none/apps.sock'), path.join(dir, 'apps.sock')] }));
    const ev = t.define<[number]>('app', 'e', [u32('n')], 13);
    const start = Date.now();
    await t.ready(3000);
    expect(Date.now() - start).to.be.lessThan(500);
    expect(ev.enabled).to.equal(false);
    ev.emit(1);
  });

  it('registers when the daemon appears later, retrying at most once a second', async () => {
    const t = track(new Tracer({ sockets: () => [path.join(dir, 'apps.sock')] }));
    const ev = t.define<[number]>('app', 'first', [u32('n')], 6);
    await t.ready(3000);
    await sleep(2500);
    const attempts = t.daemonLinks[0].attempts;
    expect(attempts).to.be.within(2, 3);
    const d = track(await new FakeDaemon(dir).start());
    await d.until(() => d.apps.length === 1, 2000, 'the registration');
    const reg = d.apps[0].register;
    const id = identity();
    const { pid, ppid, uid, gid, procname, bitsPerLong, tracerVersion, threadId, tid } = reg;
    expect({ pid, ppid, uid, gid, procname, bitsPerLong, tracerVersion, threadId, tid }).to.deep.equal({
      pid: process.pid,
      ppid: process.ppid,
      uid: process.getuid!(),
      gid: process.getgid!(),
      procname: id.procname,
      bitsPerLong: 64,
      tracerVersion: TRACER_VERSION,
      threadId: 0,
      tid: id.vtid,
    });
    expect(id.vtid).to.equal(process.pid);
    expect(JSON.parse(JSON.stringify(reg.events))).to.deep.equal([
      { provider: 'app', name: 'first', loglevel: 6, fields: [{ name: 'n', type: 'u32' }] },
    ]);
    await d.until(() => d.apps[0].acks.length === 1, 2000, 'the ack of the first state');
    expect(d.apps[0].acks).to.deep.equal([{ generation: 1, error: '' }]);
    expect(ev.enabled).to.equal(false);
  });

  it('a stale socket file with no listener does not hang the app', async () => {
    const sock = path.join(dir, 'apps.sock');
    const child = spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect(child.signal).to.equal('SIGKILL');
    expect(fs.existsSync(sock)).to.equal(true);
    const t = track(new Tracer({ sockets: () => [sock] }));
    t.define('app', 'e', [], 13);
    const start = Date.now();
    await t.ready(5000);
    expect(Date.now() - start).to.be.lessThan(500);
    expect(t.daemonLinks[0].state).to.equal('idle');
  });

  it('a daemon that accepts but never answers costs at most the connect timeout, never the event loop', async () => {
    const sock = path.join(dir, 'apps.sock');
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(sock, r));
    try {
      const t = track(new Tracer({ sockets: () => [sock], connectTimeoutMs: 300 }));
      t.define('app', 'e', [], 13);
      let ticks = 0;
      const tick = setInterval(() => ticks++, 10);
      const start = Date.now();
      await t.ready(5000);
      clearInterval(tick);
      expect(Date.now() - start).to.be.within(250, 1500);
      expect(ticks).to.be.greaterThan(10);
      expect(t.daemonLinks[0].state).to.equal('idle');
    } finally {
      silent.close();
    }
  });

  it('registers again after the daemon dies, with every event', async () => {
    let d = track(await new FakeDaemon(dir).start());
    const t = track(new Tracer({ sockets: () => [d.socket] }));
    const ev = t.define<[number]>('app', 'e', [u32('n')], 13);
    await t.ready(3000);
    expect(d.apps.length).to.equal(1);
    d.push(d.apps[0], {}, [0]);
    await d.until(() => d.apps[0].acks.length === 2, 2000, 'the ack');
    expect(ev.enabled).to.equal(true);
    await d.kill(); // like kill -9: connections drop, the socket file may stay
    await d.until(() => t.daemonLinks[0].state !== 'registered', 2000, 'the tracer to notice');
    expect(ev.enabled).to.equal(false);
    const later = t.define('app', 'later', [], 13);
    d = track(await new FakeDaemon(dir).start());
    await d.until(() => d.apps.length === 1, 3000, 'the new registration');
    expect(d.apps[0].events.map((e) => e.name)).to.deep.equal(['e', 'later']);
    expect(later.enabled).to.equal(false);
  });

  it('sends events defined after registration in one RegisterEvents', async () => {
    const d = track(await new FakeDaemon(dir).start());
    const t = track(new Tracer({ sockets: () => [d.socket] }));
    t.define('app', 'a', [], 13);
    await t.ready(3000);
    t.define('app', 'b', [u32('x')], 13);
    t.define('app', 'c', [], 2);
    t.define('app', 'd', [], 13);
    expect(t.define('app', 'd', [], 13)).to.equal(t.events[3]);
    expect(() => t.define('app', 'd', [u32('x')], 13)).to.throw(/already defined/);
    await d.until(() => d.apps[0].events.length === 4, 2000, 'the new events');
    expect(d.apps[0].registerEventsCalls).to.equal(1);
    expect(d.apps[0].events.map((e) => `${e.name}/${e.loglevel}`)).to.deep.equal(['a/13', 'b/13', 'c/2', 'd/13']);
  });

  it('applies each AppState: maps the stream, routes, acks; the status byte enables; filters; unmaps', async () => {
    const d = track(await new FakeDaemon(dir).start());
    const t = track(new Tracer({ sockets: () => [d.socket] }));
    t.define('app', 'other', [], 13);
    const ev = t.define<[number]>('app', 'e', [u32('n')], 13);
    await t.ready(3000);
    const app = d.apps[0];
    const paths = [stream(dir, 'c_0'), stream(dir, 'c_1'), stream(dir, 'c_2')];
    const mine = paths[(process.pid + 0) % 3];
    const channel = { key: 7, session: 's', channel: 'c', streamPaths: paths, contexts: ['vpid'] };
    d.push(app, { channels: [channel], routes: [{ event: 1, channelKey: 7, eventId: 3 }] }, [1]);
    await d.until(() => app.acks.length === 2, 2000, 'the ack');
    expect(app.acks[1]).to.deep.equal({ generation: 2, error: '' });
    expect(ev.enabled).to.equal(true);
    ev.emit(42);
    expect(readStream(mine, ['vpid'])).to.deep.equal([{ id: 3, n: 42, vpid: process.pid }]);

    // A filter (JSON AST of libs/filter).
    const filter = JSON.stringify({
      type: 'binary',
      op: '>',
      left: { type: 'field', path: ['n'], index: [] },
      right: { type: 'int', value: '10' },
    });
    d.push(app, { channels: [channel], routes: [{ event: 1, channelKey: 7, eventId: 4, filters: [filter] }] }, [1]);
    await d.until(() => app.acks.length === 3, 2000, 'the ack');
    ev.emit(5);
    ev.emit(50);
    expect(readStream(mine, ['vpid'])).to.deep.equal([{ id: 4, n: 50, vpid: process.pid }]);

    // The channel goes: routes go, the stream is unmapped.
    d.push(app, {}, []);
    await d.until(() => app.acks.length === 4, 2000, 'the ack');
    expect(ev.enabled).to.equal(false);
    expect(ev.routes).to.deep.equal([]);

    // What cannot be applied is reported in the ack.
    d.push(
      app,
      {
        channels: [
          { ...channel, streamPaths: [path.join(dir, 'missing')] },
          { key: 8, session: 's', channel: 'd', streamPaths: paths, contexts: ['cpu_id'] },
        ],
        routes: [
          { event: 1, channelKey: 7, eventId: 3 },
          { event: 9, channelKey: 9, eventId: 1 },
        ],
      },
      [1],
    );
    await d.until(() => app.acks.length === 5, 2000, 'the ack');
    expect(app.acks[4].error).to.match(/channel c of session s: .*missing/);
    expect(app.acks[4].error).to.match(/channel d of session s: unknown context "cpu_id"/);
    expect(app.acks[4].error).to.match(/route to unknown event 9/);
  });

  it('with two daemons: enabled when either enables it; each route writes only if its own daemon enabled it', async () => {
    const dirB = tempDir();
    try {
      const a = track(await new FakeDaemon(dir).start());
      const b = track(await new FakeDaemon(dirB).start());
      const t = track(new Tracer({ sockets: () => [a.socket, b.socket] }));
      const ev = t.define<[number]>('app', 'e', [u32('n')], 13);
      await t.ready(3000);
      expect([a.apps.length, b.apps.length]).to.deep.equal([1, 1]);
      const sa = stream(dir, 'a_0');
      const sb = stream(dirB, 'b_0');
      a.push(
        a.apps[0],
        {
          channels: [{ key: 1, session: 'sa', channel: 'c', streamPaths: [sa] }],
          routes: [{ event: 0, channelKey: 1, eventId: 1 }],
        },
        [0],
      );
      b.push(
        b.apps[0],
        {
          channels: [{ key: 1, session: 'sb', channel: 'c', streamPaths: [sb] }],
          routes: [{ event: 0, channelKey: 1, eventId: 2 }],
        },
        [],
      );
      await a.until(() => a.apps[0].acks.length === 2 && b.apps[0].acks.length === 2, 2000, 'both acks');
      await sleep(20);
      expect(ev.enabled).to.equal(true);
      expect(ev.status).not.to.equal((t.daemonLinks[0] as unknown as { page: Int8Array }).page);
      ev.emit(1);
      b.push(
        b.apps[0],
        {
          channels: [{ key: 1, session: 'sb', channel: 'c', streamPaths: [sb] }],
          routes: [{ event: 0, channelKey: 1, eventId: 2 }],
        },
        [0],
      );
      await b.until(() => b.apps[0].acks.length === 3, 2000, 'the ack');
      await sleep(20);
      ev.emit(2);
      expect(readStream(sa)).to.deep.equal([
        { id: 1, n: 1 },
        { id: 1, n: 2 },
      ]);
      expect(readStream(sb)).to.deep.equal([{ id: 2, n: 2 }]);
      // A clears (before its new state, as the daemon does); B still records.
      a.apps[0].page[0] = 0;
      a.push(a.apps[0], {}, []);
      await a.until(() => a.apps[0].acks.length === 3, 2000, 'the ack');
      await sleep(20);
      expect(ev.enabled).to.equal(true);
      // B dies: one daemon left, whose page is read directly.
      await b.kill();
      await a.until(() => t.daemonLinks[1].state !== 'registered', 2000, 'the tracer to notice');
      expect(ev.status).to.equal((t.daemonLinks[0] as unknown as { page: Int8Array }).page);
      expect(ev.status).to.be.instanceOf(Int8Array); // see StatusBytes: a Uint8Array would cost a map check per read
      expect(ev.enabled).to.equal(false);
    } finally {
      fs.rmSync(dirB, { recursive: true, force: true });
    }
  });

  it('each worker thread registers on its own (same pid, its thread id and tid)', async () => {
    const d = track(await new FakeDaemon(dir).start());
    const worker = new Worker(path.join(__dirname, 'worker-app.js'), {
      env: { ...process.env, TSTRACE_RUNDIR: dir, TSTRACE_HOME: path.join(dir, 'home') },
    });
    const threadId = worker.threadId; // -1 once the worker has exited
    try {
      const msg = await new Promise<{ index: number }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(msg.index).to.equal(0);
      await d.until(() => d.apps.length === 1, 2000, 'the registration');
      const reg = d.apps[0].register;
      expect(reg.pid).to.equal(process.pid);
      expect(reg.threadId).to.equal(threadId).and.not.equal(0);
      expect(reg.tid).to.be.a('number').and.not.equal(process.pid);
      expect(d.apps[0].events.map((e) => `${e.provider}:${e.name}`)).to.deep.equal(['worker:hello']);
    } finally {
      await worker.terminate();
    }
    await d.until(() => d.apps[0].closed, 2000, 'the worker link to close');
  });

  /** Runs a script with node and the given options; resolves with its output and how long it ran. */
  function runNode(
    args: string[],
    env: NodeJS.ProcessEnv,
  ): Promise<{ code: number | null; out: string; err: string; ms: number }> {
    const start = Date.now();
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err, ms: Date.now() - start })));
  }

  it('never keeps the process alive, registered or not', async () => {
    const d = track(await new FakeDaemon(dir).start());
    const app = path.join(dir, 'app.js');
    fs.writeFileSync(
      app,
      `const ust = require(${JSON.stringify(INDEX)}); ust.provider('p').event('e', []); ust.ready().then(() => console.log(ust.tracer.daemonLinks.map((l) => l.state).join(',')));`,
    );
    const env = { TSTRACE_RUNDIR: dir, TSTRACE_HOME: path.join(dir, 'home') };
    const r = await runNode([app], env);
    expect(r.code, r.err).to.equal(0);
    expect(r.out.trim()).to.equal('registered,idle');
    expect(r.ms).to.be.lessThan(1500);
    await d.kill();
    const alone = await runNode([app], env);
    expect(alone.out.trim()).to.equal('idle,idle');
    expect(alone.ms).to.be.lessThan(1500);
  });

  it('a daemon that never answers does not keep an app alive after its work ends', async () => {
    // Accepts and reads, never answers: the handshake (or the registration after it) would wait
    // for its timeout, and must not hold the app that long.
    const sock = path.join(dir, 'apps.sock');
    const silent = net.createServer((c) => c.on('data', () => undefined));
    await new Promise<void>((r) => silent.listen(sock, r));
    try {
      const app = path.join(dir, 'app.js');
      fs.writeFileSync(
        app,
        `const ust = require(${JSON.stringify(INDEX)}); const e = ust.provider('p').event('e', []); if (e.enabled) e.emit(); setTimeout(() => console.log(ust.tracer.daemonLinks[0].state), 200);`,
      );
      const r = await runNode([app], { TSTRACE_RUNDIR: dir, TSTRACE_HOME: path.join(dir, 'home') });
      expect(r.code, r.err).to.equal(0);
      // Its work ends while the handshake waits; the connect timeout is 2 s, the app is gone before.
      expect(r.out.trim()).to.equal('connecting');
      expect(r.ms).to.be.lessThan(1500);
    } finally {
      silent.close();
    }
  });

  for (const flag of ['--require', '--import']) {
    it(`node ${flag} @tstrace/ust/register holds the app until it is registered`, async () => {
      const d = track(await new FakeDaemon(dir).start());
      for (const ext of ['js', 'mjs']) {
        const app = path.join(dir, `app.${ext}`);
        const load =
          ext === 'js'
            ? `const ust = require(${JSON.stringify(INDEX)});`
            : `import { createRequire } from 'node:module'; const ust = createRequire(import.meta.url)(${JSON.stringify(INDEX)});`;
        fs.writeFileSync(app, `${load}\nconsole.log(ust.tracer.daemonLinks.map((l) => l.state).join(','));`);
        const r = await runNode([flag, '@tstrace/ust/register', app], {
          TSTRACE_RUNDIR: dir,
          TSTRACE_HOME: path.join(dir, 'home'),
        });
        expect(r.code, r.err).to.equal(0);
        expect(r.out.trim(), `${flag} with a .${ext} app`).to.equal('registered,idle');
      }
      expect(d.apps.length).to.equal(2);
      // With no daemon at all the app starts at once.
      await d.kill();
      const r = await runNode([flag, '@tstrace/ust/register', path.join(dir, 'app.js')], {
        TSTRACE_RUNDIR: dir,
        TSTRACE_HOME: path.join(dir, 'home'),
      });
      expect(r.out.trim()).to.equal('idle,idle');
      expect(r.ms).to.be.lessThan(1500);
    });
  }

  it('decodes what a registered route writes with the declared fields', () => {
    // decodeFields takes the declarations the daemon recorded ({name, type}).
    const view = new DataView(Uint8Array.of(42, 0, 0, 0).buffer);
    expect(decodeFields([{ name: 'n', type: 'u32' }], view, 0).values).to.deep.equal({ n: 42 });
  });
});
