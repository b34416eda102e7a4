import { ArgsError } from '@tstrace/args';
import * as ctf from '@tstrace/ctf';
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { countEvents, discardWarning, renderCounts, textOptions } from '../src/view';

const UUID = '2a6422d0-6cee-4ee0-8f42-11a2b3c4d5e6';
const EVENTS: ctf.MetadataEvent[] = [
  { id: 0, name: 'x:a', loglevel: 6, fields: [{ name: 'n', type: 'u32' }] },
  { id: 1, name: 'x:b', loglevel: 6, fields: [{ name: 'n', type: 'u32' }] },
];

/** One packet of 256 bytes holding events (id, timestamp) with compact headers and a u32 field. */
function packet(seq: bigint, discarded: bigint, events: [number, bigint][]): Buffer {
  const buf = Buffer.alloc(256);
  let at = ctf.EVENTS_OFFSET;
  for (const [id, ts] of events) {
    buf.writeUInt16LE(id, at);
    buf.writeUInt32LE(Number(ts & 0xffffffffn), at + 2);
    buf.writeUInt32LE(7, at + 6);
    at += 10;
  }
  ctf.writePacketPreamble(new DataView(buf.buffer, buf.byteOffset, buf.byteLength), 0, {
    uuid: Buffer.from(UUID.replace(/-/g, ''), 'hex'),
    streamId: 0,
    streamInstanceId: 0n,
    timestampBegin: events[0][1],
    timestampEnd: events[events.length - 1][1],
    contentSizeBits: BigInt(at * 8),
    packetSizeBits: 256n * 8n,
    packetSeqNum: seq,
    eventsDiscarded: discarded,
    cpuId: 0,
  });
  return buf;
}

describe('CLI view and record helpers', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-cli-view-'));
    const trace = path.join(dir, 'ust', 'uid', '0', '64-bit');
    fs.mkdirSync(trace, { recursive: true });
    fs.writeFileSync(
      path.join(trace, 'metadata'),
      ctf.metadataText({
        uuid: UUID,
        env: { hostname: 'h' },
        clock: { name: 'monotonic', offsetNs: 1_700_000_000_000_000_000n },
        streams: [{ id: 0, contexts: [], events: EVENTS }],
      }),
    );
    // Packet 1 is missing (a gap in packet_seq_num) and 5 events were discarded before packet 2.
    fs.writeFileSync(
      path.join(trace, 'chan_0'),
      Buffer.concat([
        packet(0n, 0n, [
          [0, 10n],
          [1, 20n],
        ]),
        packet(2n, 5n, [
          [0, 30n],
          [0, 40n],
        ]),
      ]),
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('counts the events of a trace by name, with the events and packets it lost', () => {
    const counts = countEvents(dir);
    expect([...counts.byName]).to.deep.equal([
      ['x:a', 3],
      ['x:b', 1],
    ]);
    expect(counts).to.include({ total: 4, discardedEvents: 5n, discardedPackets: 1n });
    expect(renderCounts(counts)).to.equal(
      'Events in the trace, by name:\n  x:a           3\n  x:b           1\n  total         4\n  discarded     5\n  packets lost  1\n',
    );
    expect(renderCounts(countEvents(path.join(dir, 'none')))).to.equal(
      'Events in the trace, by name:\n  total      0\n  discarded  0\n',
    );
  });

  it("turns babeltrace2's --clock-* and --fields into text options", () => {
    expect(textOptions({ 'clock-gmt': true, 'clock-cycles': true })).to.deep.equal({
      text: { gmt: true, date: false, seconds: false, cycles: true },
      traceName: false,
    });
    expect(textOptions({ fields: ['trace:vpid,loglevel', 'trace'] })).to.deep.equal({
      text: {
        gmt: false,
        date: false,
        seconds: false,
        cycles: false,
        hostname: false,
        domain: false,
        procname: false,
        vpid: true,
        loglevel: true,
        emf: false,
      },
      traceName: true,
    });
    expect(textOptions({ fields: ['all'] }).text).to.include({
      hostname: true,
      domain: true,
      procname: true,
      vpid: true,
      loglevel: true,
      emf: true,
    });
    expect(() => textOptions({ fields: ['trace:pid'] })).to.throw(ArgsError, 'unknown field "trace:pid" for --fields');
  });

  it('words losses as babeltrace2 does', () => {
    const notices: ctf.DiscardNotice[] = [];
    const f = new ctf.TraceFollower([dir], { onDiscard: (d) => notices.push(d) });
    expect([...f.finish()].length).to.equal(4);
    const stream = path.join(dir, 'ust', 'uid', '0', '64-bit', 'chan_0');
    expect(notices.map((d) => discardWarning(ctf, d, 'h/ust/uid/0/64-bit', { gmt: true }))).to.deep.equal([
      `WARNING: Tracer discarded 5 events between [22:13:20.000000020] and [22:13:20.000000040] in trace "h/ust/uid/0/64-bit" (UUID: ${UUID}) within stream "${stream}" (stream class ID: 0, stream ID: 0).`,
      `WARNING: Tracer discarded 1 packet between [22:13:20.000000020] and [22:13:20.000000030] in trace "h/ust/uid/0/64-bit" (UUID: ${UUID}) within stream "${stream}" (stream class ID: 0, stream ID: 0).`,
    ]);
  });
});
