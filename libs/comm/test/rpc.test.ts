import { expect } from 'chai';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  clientLink,
  encodeFrame,
  PROTOCOL_MAJOR,
  RpcClient,
  RpcServer,
  StatusCode,
  StatusError,
  tstrace,
} from '../src';

type Peer = { n: number };

/** Sends raw frames on a fresh connection and collects the decoded frames it gets back until close. */
function raw(socketPath: string, bytes: Buffer[], waitMs = 300): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    const chunks: Buffer[] = [];
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {});
    s.on('connect', () => bytes.forEach((b) => s.write(b)));
    const done = () => resolve(Buffer.concat(chunks));
    s.on('close', done);
    setTimeout(() => {
      s.destroy();
    }, waitMs);
  });
}

function frames(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + 4 <= buf.length;) {
    const len = buf.readUInt32BE(i);
    out.push(buf.subarray(i + 4, i + 4 + len));
    i += 4 + len;
  }
  return out;
}

const hello = (major = PROTOCOL_MAJOR, link = 'client') =>
  encodeFrame(tstrace.common.Hello.encode({ protocolMajor: major, protocolMinor: 0, link, peer: 'test' }).finish());

describe('RpcServer and RpcClient', () => {
  let dir: string;
  let socketPath: string;
  let server: RpcServer<tstrace.client.Request.$Properties, tstrace.client.Reply.$Properties, Peer>;
  let calls = 0;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-rpc-'));
    socketPath = path.join(dir, 's.sock');
    calls = 0;
    server = new RpcServer({
      link: clientLink,
      serverName: 'test-server 1',
      maxFrameSize: 1024,
      handshakeTimeoutMs: 500,
      frameTimeoutMs: 300,
      identify: () => ({ n: 1 }),
      handler: async (req) => {
        calls++;
        if (req.command === 'getSession')
          throw new StatusError(StatusCode.SESSION_NOT_FOUND, `session "${req.getSession!.name}" not found`);
        if (req.command === 'listSessions') throw new Error('boom');
        return { version: { version: 'v', pid: 42 } };
      },
    });
    await server.listenUnix(socketPath, 0o600);
  });

  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers a typed call after the handshake, with status OK', async () => {
    const client = await RpcClient.connect(clientLink, { path: socketPath }, { peerName: 't' });
    expect(client.server).to.equal('test-server 1');
    const reply = await client.call({ getVersion: {} });
    expect(reply.status?.code).to.equal(StatusCode.OK);
    expect(reply.version?.pid).to.equal(42);
    client.close();
  });

  it('turns a StatusError into an error reply, and any other exception into INTERNAL_ERROR', async () => {
    const client = await RpcClient.connect(clientLink, { path: socketPath }, { peerName: 't' });
    const e1 = await client.call({ getSession: { name: 'x' } }).catch((e) => e);
    expect(e1).to.be.instanceOf(StatusError);
    expect(e1.code).to.equal(StatusCode.SESSION_NOT_FOUND);
    expect(e1.message).to.equal('session "x" not found');
    const e2 = await client.call({ listSessions: {} }).catch((e) => e);
    expect(e2.code).to.equal(StatusCode.INTERNAL_ERROR);
    expect(e2.message).to.equal('internal error: boom');
    // The connection still works afterwards.
    expect((await client.call({ getVersion: {} })).version?.version).to.equal('v');
    client.close();
  });

  it('refuses a wrong protocol major with a clear reply', async () => {
    const [reply] = frames(await raw(socketPath, [hello(PROTOCOL_MAJOR + 1)]));
    const decoded = tstrace.common.HelloReply.decode(reply);
    expect(decoded.status?.code).to.equal(StatusCode.PROTOCOL_VERSION_MISMATCH);
    expect(decoded.status?.message).to.match(/protocol version 2\.0 is not supported: this server speaks 1\.0/);
  });

  it('refuses a peer that connected to the wrong link', async () => {
    const [reply] = frames(await raw(socketPath, [hello(PROTOCOL_MAJOR, 'app')]));
    expect(tstrace.common.HelloReply.decode(reply).status?.code).to.equal(StatusCode.WRONG_LINK);
  });

  it('answers an unknown command and a malformed message, and keeps serving', async () => {
    const unknown = encodeFrame(Buffer.from([0x08, 0x07, 0xfa, 0x0f, 0x00])); // id 7, field 255 (unknown)
    const garbage = encodeFrame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    const ok = encodeFrame(tstrace.client.Request.encode({ id: 9, getVersion: {} }).finish());
    const replies = frames(await raw(socketPath, [hello(), unknown, garbage, ok]))
      .slice(1)
      .map((f) => tstrace.client.Reply.decode(f));
    expect(replies.map((r) => [r.id, r.status?.code])).to.deep.equal([
      [7, StatusCode.UNKNOWN_COMMAND],
      [0, StatusCode.MALFORMED_MESSAGE],
      [9, StatusCode.OK],
    ]);
  });

  it('closes after an oversized frame, saying why', async () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1 << 30);
    const replies = frames(await raw(socketPath, [hello(), header]));
    const last = tstrace.client.Reply.decode(replies[replies.length - 1]);
    expect(last.status?.code).to.equal(StatusCode.FRAME_TOO_LARGE);
    expect(calls).to.equal(0);
  });

  it('closes a connection whose frame stays truncated, saying so', async () => {
    const whole = encodeFrame(tstrace.client.Request.encode({ id: 5, getVersion: {} }).finish());
    const start = Date.now();
    const replies = frames(await raw(socketPath, [hello(), whole.subarray(0, whole.length - 1)], 2000)).map((f, i) =>
      i === 0 ? null : tstrace.client.Reply.decode(f),
    );
    expect(Date.now() - start).to.be.lessThan(1500);
    expect(replies[1]?.status?.code).to.equal(StatusCode.MALFORMED_MESSAGE);
    expect(replies[1]?.status?.message).to.equal(
      `truncated frame: ${whole.length - 1} bytes received, then nothing for 300 ms`,
    );
    expect(calls).to.equal(0);
  });

  it('drops a connection that never shakes hands', async () => {
    const start = Date.now();
    await raw(socketPath, [], 3000);
    expect(Date.now() - start).to.be.lessThan(2000);
  });

  it('a command before the handshake is taken as a bad handshake', async () => {
    const cmd = encodeFrame(tstrace.client.Request.encode({ id: 1, getVersion: {} }).finish());
    const [reply] = frames(await raw(socketPath, [cmd]));
    const decoded = tstrace.common.HelloReply.decode(reply);
    expect(decoded.status?.code).to.not.equal(StatusCode.OK);
    expect(calls).to.equal(0);
  });

  it('a client times out on a server that accepts but never answers', async () => {
    const silent = net.createServer(() => {});
    const silentPath = path.join(dir, 'silent.sock');
    await new Promise<void>((r) => silent.listen(silentPath, r));
    const err = await RpcClient.connect(
      clientLink,
      { path: silentPath },
      { peerName: 't', connectTimeoutMs: 200 },
    ).catch((e) => e);
    expect(err).to.be.instanceOf(StatusError);
    expect(err.code).to.equal(StatusCode.TIMEOUT);
    expect(err.message).to.equal(`no answer from ${silentPath} within 200 ms`);
    silent.close();
  });
});
