import { encodeFrame, PROTOCOL_MAJOR, tstrace } from '@tstrace/comm';
import { expect } from 'chai';
import * as net from 'node:net';
import * as path from 'node:path';
import { isAlive, TestEnv } from './harness';

/** Deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const clientTemplates: tstrace.client.Request.$Properties[] = [
  { id: 1, createSession: { name: 'fz', output: { path: '/tmp/fz' } } },
  { id: 2, enableChannel: { session: 'fz', domain: 1, name: 'c', subbufSize: 8192, numSubbuf: 4 } },
  {
    id: 3,
    enableEvent: { session: 'fz', domain: 1, names: ['a:*'], filter: 'x > 1 && y == "a*"', exclusions: ['a:b'] },
  },
  { id: 4, addContext: { session: 'fz', domain: 1, types: ['vpid'] } },
  { id: 5, track: { session: 'fz', domain: 1, pids: [12, 34] } },
  { id: 6, startTracing: { session: 'fz' } },
  { id: 7, stopTracing: { session: 'fz' } },
  { id: 8, listSessions: {} },
  { id: 9, getSession: { name: 'fz' } },
  { id: 10, destroySession: { name: 'fz' } },
  { id: 11, disableEvent: { session: 'fz', domain: 1, channel: 'c', names: ['a:*'] } },
];
const appTemplates: tstrace.app.Request.$Properties[] = [
  {
    id: 1,
    registerApp: {
      pid: 1,
      uid: 0,
      gid: 0,
      procname: 'fz',
      events: [{ provider: 'p', name: 'e', loglevel: 6, fields: [{ name: 'x', type: 's64' }] }],
    },
  },
  { id: 2, registerEvents: { events: [{ provider: 'p', name: 'f', loglevel: 3 }] } },
];

/** One fuzzed frame: random bytes, a random length, or a mutated valid message. */
function fuzzFrame(rand: () => number, valid: Uint8Array[]): Buffer {
  const pick = rand();
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  if (pick < 0.2) return randomBytes(Math.floor(rand() * 64)); // unframed garbage
  if (pick < 0.35) return encodeFrame(randomBytes(Math.floor(rand() * 200)));
  if (pick < 0.4) {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(Math.floor(rand() * 0xffffffff));
    return Buffer.concat([header, randomBytes(Math.floor(rand() * 16))]);
  }
  const base = Buffer.from(valid[Math.floor(rand() * valid.length)]);
  const mutations = 1 + Math.floor(rand() * 4);
  let body = base;
  for (let i = 0; i < mutations; i++) {
    const m = rand();
    if (m < 0.5 && body.length) body[Math.floor(rand() * body.length)] = Math.floor(rand() * 256);
    else if (m < 0.7) body = body.subarray(0, Math.floor(rand() * body.length));
    else if (m < 0.85) body = Buffer.concat([body, randomBytes(1 + Math.floor(rand() * 8))]);
    else body = Buffer.concat([randomBytes(1 + Math.floor(rand() * 4)), body]);
  }
  if (rand() < 0.1) return encodeFrame(body).subarray(0, Math.floor(rand() * (body.length + 4))); // truncated
  return encodeFrame(body);
}

function hello(link: string, rand: () => number): Buffer {
  const r = rand();
  const major = r < 0.9 ? PROTOCOL_MAJOR : Math.floor(rand() * 5);
  return encodeFrame(
    tstrace.common.Hello.encode({
      protocolMajor: major,
      protocolMinor: 0,
      link: r < 0.95 ? link : 'other',
      peer: 'fuzz',
    }).finish(),
  );
}

/** Opens a connection, sends its frames, and closes it once answered or after a short wait. */
function fuzzConnection(socketPath: string, frames: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, 100);
    s.on('error', done);
    s.on('close', done);
    s.on('data', () => {});
    s.on('connect', () => {
      for (const f of frames) s.write(f);
    });
  });
}

describe('e2e: fuzzing the session daemon', function () {
  this.timeout(180000);
  let t: TestEnv;
  before(() => {
    t = new TestEnv('fuzz');
  });
  after(async () => {
    await t.cleanup();
  });

  it('survives 10,000 random and mutated frames on client.sock and apps.sock, then serves a normal client', async () => {
    t.ok(['create', 'keep', '-o', path.join(t.root, 'keep')]);
    const pid = t.daemonPid()!;
    const seed = 20261122;
    const rand = prng(seed);
    const sockets = [
      {
        path: path.join(t.runDir, 'client.sock'),
        link: 'client',
        valid: clientTemplates.map((m) => tstrace.client.Request.encode(m).finish()),
      },
      {
        path: path.join(t.runDir, 'apps.sock'),
        link: 'app',
        valid: appTemplates.map((m) => tstrace.app.Request.encode(m).finish()),
      },
    ];
    const perConnection = 20;
    const total = 10000;
    let sent = 0;
    while (sent < total) {
      const batch: Promise<void>[] = [];
      for (let c = 0; c < 8 && sent < total; c++) {
        const target = sockets[(sent / perConnection) % 2 === 0 ? 0 : 1];
        const frames = [rand() < 0.85 ? hello(target.link, rand) : fuzzFrame(rand, target.valid)];
        for (let i = 1; i < perConnection; i++) frames.push(fuzzFrame(rand, target.valid));
        sent += frames.length;
        batch.push(fuzzConnection(target.path, frames));
      }
      await Promise.all(batch);
      expect(isAlive(pid), `daemon alive after ${sent} frames (seed ${seed})`).to.equal(true);
    }
    expect(sent).to.equal(total);
    // The same daemon process still serves a normal client correctly.
    expect(t.daemonPid()).to.equal(pid);
    expect(isAlive(pid)).to.equal(true);
    const keep = t.json(['list', 'keep']).config;
    expect(keep.name).to.equal('keep');
    expect(keep.output.path).to.equal(path.join(t.root, 'keep'));
    t.ok(['enable-event', '-u', 'after:*', '-s', 'keep']);
    expect(t.json(['list', 'keep']).config.channels[0].events.map((e: { name: string }) => e.name)).to.deep.equal([
      'after:*',
    ]);
    t.ok(['destroy', 'keep']);
    expect(t.json(['list']).sessions.map((s: { config: { name: string } }) => s.config.name)).to.not.include('keep');
    expect(t.daemonPid()).to.equal(pid);
  });
});
