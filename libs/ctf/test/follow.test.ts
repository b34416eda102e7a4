import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CtfError,
  CtfTrace,
  DiscardNotice,
  formatEvent,
  formatTime,
  MetadataEvent,
  metadataEventsText,
  metadataText,
  newTextState,
  readEvents,
  TraceDescription,
  TraceEvent,
  TraceFollower,
  TruncatedPacketError,
} from '../src';
import { babeltrace, body, StreamBuilder, tmpDir, UUID } from './helpers';

const OFFSET = 1_700_000_000_123_456_789n;
const T0 = 5_000_000_000_000n;
const E: MetadataEvent = { id: 0, name: 'f:e', loglevel: 6, fields: [{ name: 'n', type: 'u32' }] };
const LATER: MetadataEvent = { id: 1, name: 'f:later', loglevel: 4, fields: [{ name: 's', type: 'string' }] };

function description(events: MetadataEvent[], env: Record<string, string | number> = {}): TraceDescription {
  return {
    uuid: UUID,
    env: { hostname: 'testhost', domain: 'ust', ...env },
    clock: { name: 'monotonic', offsetNs: OFFSET },
    streams: [{ id: 0, contexts: [], events }],
  };
}

/** A stream file written packet by packet, as the consumer appends them. */
class Appender {
  private written = 0;
  constructor(
    readonly b: StreamBuilder,
    readonly file: string,
  ) {
    fs.writeFileSync(file, '');
  }

  /** Appends the packets closed since the last call; `cut` bytes of the last one are held back. */
  flush(cut = 0): void {
    const all = this.b.bytes();
    fs.appendFileSync(this.file, all.subarray(this.written, all.length - cut));
    this.written = all.length - cut;
  }
}

const ns = (e: TraceEvent) => e.timeNs - OFFSET - T0;
const times = (events: Iterable<TraceEvent>) => [...events].map(ns);

describe('CTF follower: traces read while they are written', function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('follow');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finish() on a finished trace gives what readEvents gives, and the losses as babeltrace2 warns of them', function () {
    const trace = path.join(dir, 'ust/uid/0/64-bit');
    fs.mkdirSync(trace, { recursive: true });
    fs.writeFileSync(path.join(trace, 'metadata'), metadataText(description([E])));
    const a = new StreamBuilder({ streamId: 0, instanceId: 1n, cpuId: 0 });
    const b = new StreamBuilder({ streamId: 0, instanceId: 2n, cpuId: 1 });
    a.discarded = 2n;
    a.event(0, T0, body(E, [1])).close(T0 + 10n);
    a.discarded = 5n;
    a.skipPacket();
    a.event(0, T0 + 100n, body(E, [2])).close(T0 + 110n);
    b.event(0, T0 + 50n, body(E, [3]))
      .event(0, T0 + 100n, body(E, [4]))
      .close(T0 + 120n);
    a.write(trace, 'chan_0');
    b.write(trace, 'chan_1');
    const notices: DiscardNotice[] = [];
    const f = new TraceFollower([dir], { onDiscard: (d) => notices.push(d) });
    const state = newTextState();
    const ours = [...f.finish()].map((e) => formatEvent(e, state, { gmt: true }));
    const ref = newTextState();
    expect(ours).to.deep.equal([...readEvents([dir])].map((e) => formatEvent(e, ref, { gmt: true })));
    expect(ours.length).to.equal(4);
    expect(f.traceDirs).to.deep.equal([trace]);
    expect(f.discarded()).to.deep.equal(CtfTrace.open(trace).discarded());
    const at = (n: bigint) => formatTime(OFFSET + T0 + n, { gmt: true });
    expect(
      notices.map(
        (d) =>
          `${d.what} ${d.count} [${formatTime(d.beginNs, { gmt: true })}] [${formatTime(d.endNs, { gmt: true })}] ${path.basename(d.stream)} ${d.streamClassId}/${d.streamInstanceId}`,
      ),
    ).to.deep.equal([
      `events undefined [${at(0n)}] [${at(10n)}] chan_0 0/1`,
      `events 3 [${at(10n)}] [${at(110n)}] chan_0 0/1`,
      `packets 1 [${at(10n)}] [${at(100n)}] chan_0 0/1`,
    ]);
    // babeltrace2's warnings: the same kinds, counts and times (ties on equal times aside, it orders them as we do).
    const bt = babeltrace([trace]);
    const warned = bt.stderr.split('\n').filter((l) => l.startsWith('WARNING'));
    expect(
      warned.map((l) =>
        /Tracer (may have discarded|discarded (\d+)) (event|packet)s? between \[(.*?)\] and \[(.*?)\]/
          .exec(l)!
          .slice(2, 6)
          .join(' '),
      ),
    ).to.deep.equal([
      ` event ${at(0n)} ${at(10n)}`,
      `3 event ${at(10n)} ${at(110n)}`,
      `1 packet ${at(10n)} ${at(100n)}`,
    ]);
  });

  it('reads whole packets only, holds events back while a stream may still write an earlier one, and finishes in time order', () => {
    fs.writeFileSync(path.join(dir, 'metadata'), metadataText(description([E])));
    const a = new Appender(
      new StreamBuilder({ streamId: 0, instanceId: 1n, cpuId: 0, packetSize: 256 }),
      path.join(dir, 'chan_0'),
    );
    const b = new Appender(
      new StreamBuilder({ streamId: 0, instanceId: 2n, cpuId: 1, packetSize: 256 }),
      path.join(dir, 'chan_1'),
    );
    const f = new TraceFollower([dir]);
    expect(times(f.poll())).to.deep.equal([]);
    a.b
      .event(0, T0, body(E, [1]))
      .event(0, T0 + 100n, body(E, [2]))
      .close(T0 + 110n);
    // Half a packet: nothing yet, even with any limit.
    a.flush(100);
    expect(times(f.poll(OFFSET + T0 + 1_000_000n))).to.deep.equal([]);
    a.flush();
    // chan_1 has no packet yet: it could still hold anything, so only the limit lets events out.
    expect(times(f.poll())).to.deep.equal([]);
    expect(times(f.poll(OFFSET + T0 + 50n))).to.deep.equal([0n]);
    b.b.event(0, T0 + 150n, body(E, [3])).close(T0 + 160n);
    b.flush();
    // chan_0 has given everything up to 100: chan_1's event at 150 waits for more of chan_0.
    expect(times(f.poll())).to.deep.equal([100n]);
    a.b.event(0, T0 + 200n, body(E, [4])).close(T0 + 210n);
    a.flush();
    expect(times(f.poll())).to.deep.equal([150n]);
    expect(times(f.poll())).to.deep.equal([]);
    expect(times(f.finish())).to.deep.equal([200n]);
    expect(times(f.finish())).to.deep.equal([]);
  });

  it('reads events that the metadata declares after their packet is written, rotated files and traces that appear later', () => {
    const uid = path.join(dir, 'ust/uid/0/64-bit');
    fs.mkdirSync(uid, { recursive: true });
    const meta = path.join(uid, 'metadata');
    fs.writeFileSync(meta, metadataText(description([E])));
    const s = new Appender(
      new StreamBuilder({ streamId: 0, instanceId: 1n, cpuId: 0, packetSize: 256 }),
      path.join(uid, 'chan_0_0'),
    );
    s.b.event(0, T0, body(E, [1])).close();
    s.flush();
    const f = new TraceFollower([dir]);
    expect(times(f.poll(OFFSET + T0))).to.deep.equal([0n]);
    // An event class the metadata does not have yet: the stream waits for it.
    s.b
      .event(1, T0 + 10n, body(LATER, ['late']))
      .event(0, T0 + 20n, body(E, [2]))
      .close();
    s.flush();
    expect(times(f.poll(OFFSET + T0 + 1000n))).to.deep.equal([]);
    fs.appendFileSync(meta, metadataEventsText(0, [LATER]));
    const got = [...f.poll(OFFSET + T0 + 1000n)];
    expect(got.map((e) => `${e.name} ${JSON.stringify({ ...e.fields })}`)).to.deep.equal([
      'f:later {"s":"late"}',
      'f:e {"n":2}',
    ]);
    // Rotation: the stream goes on in a new file; a per-PID trace appears beside.
    const r = new StreamBuilder({ streamId: 0, instanceId: 1n, cpuId: 0, packetSize: 256 });
    r.event(0, T0 + 30n, body(E, [3])).close();
    r.write(uid, 'chan_0_1');
    const pid = path.join(dir, 'ust/pid/app-7-20240101-000000');
    fs.mkdirSync(pid, { recursive: true });
    fs.writeFileSync(
      path.join(pid, 'metadata'),
      metadataText({ ...description([E], { vpid: 7, procname: 'app' }), uuid: '9a6422d0-6cee-4ee0-8f42-11a2b3c4d5e6' }),
    );
    new StreamBuilder({ uuid: '9a6422d0-6cee-4ee0-8f42-11a2b3c4d5e6', streamId: 0, instanceId: 0n, cpuId: 0 })
      .event(0, T0 + 25n, body(E, [9]))
      .write(pid, 'chan_0');
    expect([...f.finish()].map((e) => e.fields.n)).to.deep.equal([9, 3]);
    expect(f.traceDirs.sort()).to.deep.equal([pid, uid].sort());
  });

  it('a packet that never decodes is an error after `patience` polls; a packet cut short is one at finish()', () => {
    fs.writeFileSync(path.join(dir, 'metadata'), metadataText(description([E])));
    const s = new Appender(
      new StreamBuilder({ streamId: 0, instanceId: 1n, cpuId: 0, packetSize: 256 }),
      path.join(dir, 'chan_0'),
    );
    s.b
      .event(0, T0, body(E, [1]))
      .event(7, T0 + 1n, body(E, [2]))
      .close();
    s.flush();
    const f = new TraceFollower([dir], { patience: 3 });
    // The event before the bad one is given once, not again when the packet is read again.
    expect(times(f.poll(OFFSET + T0 + 10n))).to.deep.equal([0n]);
    expect(times(f.poll(OFFSET + T0 + 10n))).to.deep.equal([]);
    expect(() => [...f.poll(OFFSET + T0 + 10n)]).to.throw(CtfError, 'has id 7, which stream class 0 does not declare');

    fs.writeFileSync(path.join(dir, 'chan_0'), '');
    const t = new Appender(
      new StreamBuilder({ streamId: 0, instanceId: 1n, cpuId: 0, packetSize: 256 }),
      path.join(dir, 'chan_0'),
    );
    t.b
      .event(0, T0, body(E, [1]))
      .close()
      .event(0, T0 + 5n, body(E, [2]))
      .close();
    t.flush(10);
    const g = new TraceFollower([dir]);
    expect(times(g.poll(OFFSET + T0 + 10n))).to.deep.equal([0n]);
    expect(() => [...g.finish()]).to.throw(TruncatedPacketError, 'truncated packet at offset 256');
  });
});
