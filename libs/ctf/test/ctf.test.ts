import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  decodeIndex,
  encodeIndexEntry,
  encodeIndexHeader,
  EVENTS_OFFSET,
  IndexEntry,
  IndexError,
  PACKET_FIELD,
  PacketError,
  PacketPreamble,
  readPacketPreamble,
  writePacketPreamble,
} from '../src';

const UUID = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
const uuidText = (u: Uint8Array) =>
  Buffer.from(u)
    .toString('hex')
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

function preamble(over: Partial<PacketPreamble> = {}): PacketPreamble {
  return {
    uuid: UUID,
    streamId: 0,
    streamInstanceId: 7n,
    timestampBegin: 1000n,
    timestampEnd: 2000n,
    contentSizeBits: BigInt(EVENTS_OFFSET * 8),
    packetSizeBits: 4096n * 8n,
    packetSeqNum: 0n,
    eventsDiscarded: 0n,
    cpuId: 1,
    ...over,
  };
}

describe('CTF packet preamble', () => {
  it('lays out the header and context as LTTng-UST does, and reads them back', () => {
    const buf = new ArrayBuffer(4096);
    const view = new DataView(buf);
    const p = preamble({ timestampEnd: 0x0102030405060708n, eventsDiscarded: 9n });
    writePacketPreamble(view, 0, p);
    const bytes = Buffer.from(buf);
    expect(bytes.subarray(0, 4).toString('hex')).to.equal('c11ffcc1'); // magic, little-endian
    expect(bytes.subarray(4, 20)).to.deep.equal(Buffer.from(UUID));
    expect(bytes.readBigUInt64LE(PACKET_FIELD.timestampEnd)).to.equal(0x0102030405060708n);
    expect(bytes.readBigUInt64LE(72)).to.equal(9n);
    expect(bytes.readUInt32LE(80)).to.equal(1);
    expect(readPacketPreamble(view, 0)).to.deep.equal(p);
  });

  it('refuses packets that lie about themselves', () => {
    const view = new DataView(new ArrayBuffer(4096));
    writePacketPreamble(view, 0, preamble());
    view.setUint32(0, 0xdeadbeef, true);
    expect(() => readPacketPreamble(view, 0)).to.throw(
      PacketError,
      'bad packet magic 0xdeadbeef at offset 0 (expected 0xc1fc1fc1)',
    );
    writePacketPreamble(view, 0, preamble({ packetSizeBits: 8192n * 8n }));
    expect(() => readPacketPreamble(view, 0)).to.throw(PacketError, 'claims 65536 bits; 32768 are available');
    writePacketPreamble(view, 0, preamble({ contentSizeBits: 40000n }));
    expect(() => readPacketPreamble(view, 0)).to.throw(PacketError, /content_size 40000 bits outside 672\.\.32768/);
    writePacketPreamble(view, 0, preamble({ timestampBegin: 5n, timestampEnd: 4n }));
    expect(() => readPacketPreamble(view, 0)).to.throw(PacketError, 'ends (4) before it begins (5)');
    expect(() => readPacketPreamble(new DataView(new ArrayBuffer(50)), 0)).to.throw(PacketError, /truncated packet/);
    expect(() => writePacketPreamble(view, 0, preamble({ uuid: new Uint8Array(4) }))).to.throw(
      PacketError,
      'a trace UUID has 16 bytes, not 4',
    );
  });
});

describe('CTF index files', () => {
  const entry = (i: number): IndexEntry => ({
    offset: BigInt(i * 4096),
    packetSizeBits: 32768n,
    contentSizeBits: 896n,
    timestampBegin: BigInt(1000 + i),
    timestampEnd: BigInt(2000 + i),
    eventsDiscarded: BigInt(i),
    streamId: 0n,
    streamInstanceId: 7n,
    packetSeqNum: BigInt(i),
  });

  it('writes the v1.1 header and 72-byte big-endian entries, and reads them back', () => {
    const file = Buffer.concat([encodeIndexHeader(), encodeIndexEntry(entry(0)), encodeIndexEntry(entry(1))]);
    expect(file.subarray(0, 16).toString('hex')).to.equal('c1f1dcc1' + '00000001' + '00000001' + '00000048');
    expect(file.length).to.equal(16 + 2 * 72);
    expect(file.readBigUInt64BE(16 + 72)).to.equal(4096n);
    expect(decodeIndex(file)).to.deep.equal([entry(0), entry(1)]);
  });

  it('refuses broken index files', () => {
    const good = Buffer.concat([encodeIndexHeader(), encodeIndexEntry(entry(0))]);
    expect(() => decodeIndex(good.subarray(0, 10))).to.throw(IndexError, 'index file of 10 bytes has no header');
    expect(() => decodeIndex(good.subarray(0, 50))).to.throw(
      IndexError,
      'index body of 34 bytes is not a whole number of 72-byte entries',
    );
    const bad = Buffer.from(good);
    bad.writeUInt32BE(0x12345678, 0);
    expect(() => decodeIndex(bad)).to.throw(IndexError, 'bad index magic 0x12345678 (expected 0xc1f1dcc1)');
    bad.writeUInt32BE(0xc1f1dcc1, 0);
    bad.writeUInt32BE(2, 4);
    expect(() => decodeIndex(bad)).to.throw(IndexError, 'unsupported index version 2.1');
  });
});

describe('CTF packets read by babeltrace2', function () {
  this.timeout(20000);
  it('reads two hand-built packets: their events, and the discarded count of the second', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-ctf-'));
    try {
      // A minimal TSDL describing exactly the preamble above, and one event class with one int64.
      fs.writeFileSync(
        path.join(dir, 'metadata'),
        `/* CTF 1.8 */
typealias integer { size = 16; align = 8; signed = false; } := uint16_t;
typealias integer { size = 8; align = 8; signed = false; } := uint8_t;
typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
typealias integer { size = 64; align = 8; signed = false; } := uint64_t;
typealias integer { size = 64; align = 8; signed = true; } := int64_t;
trace {
  major = 1; minor = 8; uuid = "${uuidText(UUID)}"; byte_order = le;
  packet.header := struct { uint32_t magic; uint8_t uuid[16]; uint32_t stream_id; uint64_t stream_instance_id; } align(8);
};
clock { name = "monotonic"; freq = 1000000000; offset = 0; };
typealias integer { size = 32; align = 8; signed = false; map = clock.monotonic.value; } := uint32_clock_monotonic_t;
typealias integer { size = 64; align = 8; signed = false; map = clock.monotonic.value; } := uint64_clock_monotonic_t;
struct packet_context {
  uint64_clock_monotonic_t timestamp_begin; uint64_clock_monotonic_t timestamp_end;
  uint64_t content_size; uint64_t packet_size; uint64_t packet_seq_num; uint64_t events_discarded; uint32_t cpu_id;
} align(8);
struct event_header_large {
  enum : uint16_t { compact = 0 ... 65534, extended = 65535 } id;
  variant <id> {
    struct { uint32_clock_monotonic_t timestamp; } align(8) compact;
    struct { uint32_t id; uint64_clock_monotonic_t timestamp; } align(8) extended;
  } v;
} align(8);
stream { id = 0; event.header := struct event_header_large; packet.context := struct packet_context; };
event { name = "test:value"; id = 0; stream_id = 0; fields := struct { int64_t _value; }; };
`,
      );
      const packet = 4096;
      const stream = Buffer.alloc(2 * packet);
      const index = [encodeIndexHeader()];
      for (const [i, value, discarded] of [
        [0, -42n, 0n],
        [1, 4242n, 3n],
      ] as const) {
        const view = new DataView(stream.buffer, stream.byteOffset + i * packet, packet);
        const ts = BigInt(1000 + i * 1000);
        // One event, packed: compact large header (id u16, 32-bit timestamp), then the int64.
        view.setUint16(EVENTS_OFFSET, 0, true);
        view.setUint32(EVENTS_OFFSET + 2, Number(ts + 500n), true);
        view.setBigInt64(EVENTS_OFFSET + 6, value, true);
        const p = preamble({
          timestampBegin: ts,
          timestampEnd: ts + 900n,
          contentSizeBits: BigInt((EVENTS_OFFSET + 14) * 8),
          packetSeqNum: BigInt(i),
          eventsDiscarded: discarded,
          cpuId: 0,
        });
        writePacketPreamble(view, 0, p);
        index.push(
          encodeIndexEntry({
            offset: BigInt(i * packet),
            packetSizeBits: p.packetSizeBits,
            contentSizeBits: p.contentSizeBits,
            timestampBegin: p.timestampBegin,
            timestampEnd: p.timestampEnd,
            eventsDiscarded: p.eventsDiscarded,
            streamId: 0n,
            streamInstanceId: p.streamInstanceId,
            packetSeqNum: p.packetSeqNum,
          }),
        );
      }
      fs.writeFileSync(path.join(dir, 'channel0_0'), stream);
      fs.mkdirSync(path.join(dir, 'index'));
      fs.writeFileSync(path.join(dir, 'index/channel0_0.idx'), Buffer.concat(index));

      const r = spawnSync('babeltrace2', ['--clock-cycles', dir], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.equal(
        '[00000000000000001500] (+????????????) test:value: { cpu_id = 0 }, { value = -42 }\n' +
          '[00000000000000002500] (+000000001000) test:value: { cpu_id = 0 }, { value = 4242 }\n',
      );
      // The second packet's events_discarded, between the end of the first and the end of the second.
      expect(r.stderr).to.include(
        'WARNING: Tracer discarded 3 events between [00:00:00.000001900] and [00:00:00.000002900]',
      );
      expect(r.stderr).to.include('(stream class ID: 0, stream ID: 7)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
