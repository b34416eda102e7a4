// The session daemon's userspace side seen from a stand-in app on apps.sock (no tracer): shm
// buffers and their modes, AppState pushes, status bytes after the ack, cleanup.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { killAndWait, sleep, TestEnv } from './harness';

const COMM = path.join(__dirname, '../../libs/comm/dist/src/index.js');

/**
 * A stand-in traced app: registers three events, prints `registered <status page>`, then for
 * each AppState pushed: checks that it can open every stream file, prints `state <json>`, acks it
 * and prints `acked <generation>`.
 */
function appScript(socket: string): string {
  return `
    const fs = require('node:fs');
    const { RpcClient, appLink } = require(${JSON.stringify(COMM)});
    const out = (line) => process.stdout.write(line + '\\n');
    (async () => {
      let rpc;
      const onPush = (reply) => {
        const s = reply.appState;
        const state = { generation: Number(s.generation), channels: s.channels.map((c) => ({ key: c.key, session: c.session, channel: c.channel, streamPaths: c.streamPaths, contexts: c.contexts })),
          routes: s.routes.map((r) => ({ event: r.event, channelKey: r.channelKey, eventId: r.eventId, filters: r.filters })) };
        let error = '';
        for (const c of state.channels) for (const p of c.streamPaths) { try { fs.closeSync(fs.openSync(p, 'r+')); } catch (e) { error = e.message; } }
        out('state ' + JSON.stringify(state));
        rpc.call({ ackState: { generation: state.generation, error } }).then(() => out('acked ' + state.generation), (e) => out('ack-refused ' + e.message));
      };
      rpc = await RpcClient.connect(appLink, { path: ${JSON.stringify(socket)} }, { peerName: 'fake-app', onPush });
      const reply = await rpc.call({ registerApp: { pid: process.pid, uid: process.getuid(), gid: process.getgid(), procname: 'shop', bitsPerLong: 64, tracerVersion: '0.1.0', threadId: 3,
        events: [
          { provider: 'shop', name: 'checkout', loglevel: 6, fields: [{ name: 'amount', type: 'double' }] },
          { provider: 'shop', name: 'debug', loglevel: 14, fields: [] },
          { provider: 'db', name: 'query', loglevel: 6, fields: [{ name: 'sql', type: 'string' }] },
        ] } });
      out('registered ' + reply.registered.statusPage + ' ' + reply.registered.statusPageSize);
      setInterval(() => {}, 1000);
    })().catch((e) => { out('error ' + e.message); process.exit(1); });`;
}

interface AppState {
  generation: number;
  channels: { key: number; session: string; channel: string; streamPaths: string[]; contexts: string[] }[];
  routes: { event: number; channelKey: number; eventId: number; filters: string[] }[];
}

function startApp(socket: string) {
  const child = spawn(process.execPath, ['-e', appScript(socket)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let partial = '';
  child.stdout!.on('data', (d) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  const waitFor = async (pred: (line: string) => boolean, what: string, ms = 10000): Promise<string> => {
    const until = Date.now() + ms;
    for (;;) {
      const hit = lines.find(pred);
      if (hit) return hit;
      if (Date.now() > until) throw new Error(`no ${what} within ${ms} ms; got ${JSON.stringify(lines.slice(-5))}`);
      await sleep(10);
    }
  };
  const state = async (generation: number): Promise<AppState> => {
    const line = await waitFor(
      (l) => l.startsWith('state ') && JSON.parse(l.slice(6)).generation === generation,
      `AppState ${generation}`,
    );
    return JSON.parse(line.slice(6)) as AppState;
  };
  const acked = (generation: number) => waitFor((l) => l === `acked ${generation}`, `ack ${generation}`);
  return { child, lines, waitFor, state, acked };
}

describe("e2e: the session daemon's userspace side, seen from an app on apps.sock", function () {
  this.timeout(60000);
  let t: TestEnv;
  let root: string;
  before(() => {
    t = new TestEnv('ustd');
    root = `/dev/shm/tstrace-${createHash('sha256').update(path.resolve(t.runDir)).digest('hex').slice(0, 12)}`;
    t.ok(['list']); // starts the daemon
  });
  after(async () => {
    await t.cleanup();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('pushes the channels and routes, and sets the status bytes of routed events after the ack only', async () => {
    const app = startApp(path.join(t.runDir, 'apps.sock'));
    t.track(app.child);
    const [, page, size] = (await app.waitFor((l) => l.startsWith('registered '), 'registration')).split(' ');
    expect(size).to.equal('65536');
    expect(path.dirname(page)).to.equal(path.join(root, 'apps'));
    expect(fs.statSync(page).mode & 0o777).to.equal(0o600);
    const bytes = () => [...fs.readFileSync(page).subarray(0, 3)];
    expect(await app.state(1)).to.deep.equal({ generation: 1, channels: [], routes: [] });

    const apps = t.json(['list', '-u']).apps;
    expect(apps.map((a: { pid: number; threadId: number }) => [a.pid, a.threadId])).to.deep.equal([[app.child.pid, 3]]);
    expect(t.ok(['list', '-u'])).to.contain(`PID: ${app.child.pid} - Name: shop - Thread: 3\n`);

    t.ok(['create', 's']);
    t.ok(['enable-event', '-u', 'shop:checkout,shop:debug']);
    t.ok(['add-context', '-u', '-t', 'vpid', '-t', 'vtid']);
    t.ok(['start']);
    const s2 = await app.state(2);
    const info = t.json(['list', 's']);
    const date = /-(\d{8}-\d{6})$/.exec(info.config.output.path)![1];
    const dir = path.join(root, `s-${date}`, 'ust', 'uid', String(process.getuid!()), '64-bit');
    const streams = Array.from({ length: os.availableParallelism() }, (_, n) => path.join(dir, `channel0_${n}`));
    expect(s2.channels).to.deep.equal([
      { key: s2.channels[0].key, session: 's', channel: 'channel0', streamPaths: streams, contexts: ['vpid', 'vtid'] },
    ]);
    expect(s2.routes).to.deep.equal([
      { event: 0, channelKey: s2.channels[0].key, eventId: 0, filters: [] },
      { event: 1, channelKey: s2.channels[0].key, eventId: 1, filters: [] },
    ]);
    for (const p of streams) expect(fs.statSync(p).mode & 0o777).to.equal(0o640);
    expect(fs.statSync(dir).mode & 0o777).to.equal(0o755);
    await app.acked(2);
    expect(bytes()).to.deep.equal([1, 1, 0]);

    // status --json / list SESSION --json carry the buffers and their event ids.
    const buffers = t.json(['list', 's']).buffers;
    // What the consumer wrote so far: nothing, into the session's default output.
    expect(buffers.map((b: any) => [b.traceDir, b.eventsRecorded, b.eventsDiscarded, b.dataPending])).to.deep.equal([
      [
        path.join(t.home, 'tstrace-traces', `s-${date}`, 'ust', 'uid', String(process.getuid!()), '64-bit'),
        0,
        0,
        false,
      ],
    ]);
    expect(
      buffers.map(({ channel, owner, id, procname, directory, streamPaths, contexts, streamId, events }: any) => ({
        channel,
        owner,
        id,
        procname,
        directory,
        streamPaths,
        contexts,
        streamId,
        events,
      })),
    ).to.deep.equal([
      {
        channel: 'channel0',
        owner: 'uid',
        id: process.getuid!(),
        procname: '',
        directory: dir,
        streamPaths: streams,
        contexts: ['vpid', 'vtid'],
        streamId: 0,
        events: [
          { id: 0, name: 'shop:checkout', loglevel: 6, fields: [{ name: 'amount', type: 'double' }] },
          { id: 1, name: 'shop:debug', loglevel: 14, fields: [] },
        ],
      },
    ]);
    expect(t.ok(['list', 's'])).to.contain(
      `    Buffers:\n      uid ${process.getuid!()}: ${dir} (${streams.length} stream${streams.length === 1 ? '' : 's'}, 2 event ids)\n`,
    );

    // disable-event: the byte is 0 when the command returns, and the new state lacks the route.
    t.ok(['disable-event', '-u', 'shop:debug']);
    expect(bytes()).to.deep.equal([1, 0, 0]);
    const s3 = await app.state(3);
    expect(s3.routes.map((r) => r.event)).to.deep.equal([0]);
    await app.acked(3);
    expect(bytes()).to.deep.equal([1, 0, 0]);

    // A filter travels as its checked AST.
    t.ok(['enable-event', '-u', 'db:*', '--filter', 'sql == "SELECT*"']);
    const s4 = await app.state(4);
    expect(s4.routes.map((r) => [r.event, r.eventId, r.filters.length])).to.deep.equal([
      [0, 0, 0],
      [2, 2, 1],
    ]);
    expect(JSON.parse(s4.routes[1].filters[0])).to.be.an('object');
    await app.acked(4);
    expect(bytes()).to.deep.equal([1, 0, 1]);

    t.ok(['stop']);
    expect(bytes()).to.deep.equal([0, 0, 0]);
    expect((await app.state(5)).channels).to.deep.equal([]);
    expect(fs.existsSync(streams[0]), 'stop keeps the buffers').to.equal(true);

    t.ok(['destroy', 's']);
    expect(fs.existsSync(path.join(root, `s-${date}`))).to.equal(false);
    expect(fs.readFileSync(path.join(t.runDir, 'shm-dirs'), 'utf8')).to.equal('');
  });

  it('kill -9 of the daemon and a restart leave nothing in the shm roots', async () => {
    const shm = fs.mkdtempSync('/dev/shm/tstrace-e2e-');
    try {
      t.ok(['create', 'a']);
      t.ok(['enable-event', '-u', 'shop:*']);
      t.ok(['start']);
      t.ok(['create', 'b', '--shm-path', shm]);
      t.ok(['enable-event', '-u', 'shop:*']);
      t.ok(['start']);
      expect(t.json(['list', 'a']).buffers).to.have.length(1);
      expect(t.json(['list', 'b']).buffers).to.have.length(1);
      expect(fs.readdirSync(shm)).to.have.length(1);
      expect(fs.readFileSync(path.join(t.runDir, 'shm-dirs'), 'utf8').trim().split('\n')).to.have.length(2);
      await killAndWait(t.daemonPid()!, 'SIGKILL');
      expect(fs.existsSync(root)).to.equal(true);
      t.ok(['list']); // a new daemon: cleans up before it serves
      expect(fs.readdirSync(shm)).to.deep.equal([]);
      expect(fs.existsSync(root)).to.equal(false);
      expect(fs.readFileSync(path.join(t.runDir, 'shm-dirs'), 'utf8')).to.equal('');
    } finally {
      fs.rmSync(shm, { recursive: true, force: true });
    }
  });
});
