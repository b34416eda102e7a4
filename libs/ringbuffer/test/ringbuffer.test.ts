import { readPacketPreamble } from '@tstrace/ctf';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CONTROL_WORDS as W,
  createStreamFile,
  Geometry,
  LossMode,
  mapStreamFile,
  Packet,
  readEvents,
  StreamOptions,
  StreamReader,
  StreamWriter,
  streamFileSize,
} from '../src';
import { unmapFile } from '@tstrace/native';
import { payloadText, WriterJob } from './writer-proc';

const uuid = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
const options = (subbufSize: number, numSubbufs: number, mode: LossMode = 'discard'): StreamOptions => ({
  subbufSize,
  numSubbufs,
  mode,
  streamId: 3,
  cpuId: 1,
  uuid,
  streamInstanceId: 0x1_0000_0002n,
});

interface Decoded {
  writer: number;
  counter: number;
  value: number;
  text: string;
  timestamp: bigint;
}

/** Decodes the test payload (see writer-proc.ts) of every event of a packet. */
function decode(packet: Packet, into: Decoded[]): void {
  readEvents(packet, (id, timestamp, view, offset) => {
    expect(id).to.equal(7);
    let end = offset + 16;
    let text = '';
    while (view.getUint8(end) !== 0) text += String.fromCharCode(view.getUint8(end++));
    into.push({
      writer: view.getUint32(offset, true),
      counter: view.getUint32(offset + 4, true),
      value: view.getFloat64(offset + 8, true),
      text,
      timestamp,
    });
    return end + 1;
  });
}

/** Reads every complete packet now available; checks each preamble on the way. */
function drain(reader: StreamReader, into: Decoded[], packets?: Packet[]): number {
  let n = 0;
  for (let p = reader.next(); p; p = reader.next()) {
    const pre = readPacketPreamble(new DataView(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength), 0);
    expect(pre.streamId).to.equal(3);
    expect(pre.cpuId).to.equal(1);
    expect(pre.streamInstanceId).to.equal(0x1_0000_0002n);
    expect([...pre.uuid]).to.deep.equal([...uuid]);
    expect(pre.packetSeqNum).to.equal(p.seq);
    decode(p, into);
    packets?.push({ ...p, bytes: p.bytes.slice() });
    reader.consume(p);
    n++;
  }
  return n;
}

function writeEvents(writer: StreamWriter, writerId: number, count: number, from = 0): number {
  let written = 0;
  for (let i = from; i < from + count; i++) {
    const text = payloadText(writerId, i);
    const p = writer.reserve(7, 16 + text.length + 1);
    if (p < 0) continue;
    const size = writer.lastSize;
    writer.view.setUint32(p, writerId, true);
    writer.view.setUint32(p + 4, i, true);
    writer.view.setFloat64(p + 8, i * 1.5, true);
    for (let c = 0; c < text.length; c++) writer.bytes[p + 16 + c] = text.charCodeAt(c);
    writer.bytes[p + 16 + text.length] = 0;
    writer.commit(p, size);
    written++;
  }
  return written;
}

function runWriter(job: WriterJob): Promise<number | null> {
  const child = spawn(process.execPath, [path.join(__dirname, 'writer-proc.js'), JSON.stringify(job)], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function checkWriterSequences(events: Decoded[], expected: Map<number, number>): void {
  const next = new Map<number, number>();
  for (const e of events) {
    const want = next.get(e.writer) ?? 0;
    expect(e.counter, `writer ${e.writer}`).to.equal(want);
    expect(e.value).to.equal(e.counter * 1.5);
    expect(e.text).to.equal(payloadText(e.writer, e.counter));
    next.set(e.writer, want + 1);
  }
  expect(Object.fromEntries(next)).to.deep.equal(Object.fromEntries(expected));
}

describe('@tstrace/ringbuffer', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-rb-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('createStreamFile', () => {
    it('creates a file of the geometry, mode and layout asked for', () => {
      const file = path.join(dir, 'chan_0');
      createStreamFile(file, options(8192, 4), { uid: process.getuid!(), gid: process.getgid!(), mode: 0o640 });
      const st = fs.statSync(file);
      expect(st.size)
        .to.equal(streamFileSize(8192, 4))
        .and.equal(4096 + 4 * 8192);
      expect(st.mode & 0o777).to.equal(0o640);
      const buffer = mapStreamFile(file);
      const g = new Geometry(new Int32Array(buffer, 0, 1024));
      expect([g.subbufSize, g.numSubbufs, g.dataOffset]).to.deep.equal([8192, 4, 4096]);
      unmapFile(buffer);
    });

    it('refuses bad geometry, an existing file and a symlink', () => {
      expect(() => createStreamFile(path.join(dir, 'a'), options(3000, 4))).to.throw(
        RangeError,
        /sub-buffer size 3000 must be a power of two >= 4096/,
      );
      expect(() => createStreamFile(path.join(dir, 'a'), options(4096, 3))).to.throw(
        RangeError,
        /sub-buffer count 3 must be a power of two >= 2/,
      );
      expect(() => createStreamFile(path.join(dir, 'a'), options(1 << 20, 2048))).to.throw(RangeError, /exceeds/);
      expect(fs.existsSync(path.join(dir, 'a'))).to.equal(false);
      createStreamFile(path.join(dir, 'b'), options(4096, 2));
      expect(() => createStreamFile(path.join(dir, 'b'), options(4096, 2))).to.throw(/EEXIST/);
      fs.symlinkSync('/tmp/elsewhere', path.join(dir, 'c'));
      expect(() => createStreamFile(path.join(dir, 'c'), options(4096, 2))).to.throw(/EEXIST/);
      expect(fs.existsSync('/tmp/elsewhere')).to.equal(false);
    });

    it('will not map a file that is not a ring buffer', () => {
      fs.writeFileSync(path.join(dir, 'x'), Buffer.alloc(8192, 1));
      expect(() => StreamWriter.open(path.join(dir, 'x'))).to.throw(/not a tstrace ring buffer/);
      fs.writeFileSync(path.join(dir, 'y'), 'short');
      expect(() => StreamReader.open(path.join(dir, 'y'))).to.throw(/not a tstrace ring buffer \(5 bytes\)/);
    });
  });

  describe('one writer', () => {
    it('gives back every event, in order, with its fields, timestamps and packet numbers', () => {
      const file = path.join(dir, 's');
      createStreamFile(file, options(4096, 4));
      const w = StreamWriter.open(file);
      const r = StreamReader.open(file);
      const before = process.hrtime.bigint();
      const events: Decoded[] = [];
      const packets: Packet[] = [];
      for (let round = 0; round < 50; round++) {
        expect(writeEvents(w, 1, 200, round * 200)).to.equal(200);
        drain(r, events, packets);
      }
      expect(r.flush()).to.equal(true);
      expect(r.flush()).to.equal(false);
      drain(r, events, packets);
      const after = process.hrtime.bigint();
      expect(r.drained).to.equal(true);
      checkWriterSequences(events, new Map([[1, 10000]]));
      for (let i = 1; i < events.length; i++) expect(events[i].timestamp >= events[i - 1].timestamp).to.equal(true);
      expect(events[0].timestamp >= before && events[events.length - 1].timestamp <= after).to.equal(true);
      expect(packets.map((p) => p.seq)).to.deep.equal(packets.map((_, i) => BigInt(i)));
      for (const p of packets) {
        expect(p.eventsDiscarded).to.equal(0n);
        expect(p.timestampEnd >= p.timestampBegin).to.equal(true);
        expect(p.contentSize).to.be.within(84, 4096);
      }
      expect(r.counters()).to.deep.equal({ lostFull: 0, lostBig: 0, overrun: 0, skipped: 0 });
      w.close();
      r.close();
    });

    it('uses an extended header when the event id does not fit 16 bits', () => {
      const file = path.join(dir, 's');
      createStreamFile(file, options(4096, 2));
      const w = StreamWriter.open(file);
      for (const id of [70000, 5, 65535]) {
        const p = w.reserve(id, 4);
        w.view.setUint32(p, id, true);
        w.commit(p, w.lastSize);
      }
      const r = StreamReader.open(file);
      r.flush();
      const seen: number[] = [];
      readEvents(r.next()!, (id, _ts, view, offset) => {
        expect(view.getUint32(offset, true)).to.equal(id);
        seen.push(id);
        return offset + 4;
      });
      expect(seen).to.deep.equal([70000, 5, 65535]);
    });

    it("falls back to an extended header when LAST_TS_HI is not its clock's high word, and puts it back", () => {
      const file = path.join(dir, 's');
      createStreamFile(file, options(4096, 2));
      const w = StreamWriter.open(file);
      const mapping = mapStreamFile(file);
      const ctl = new Int32Array(mapping, 0, 1024);
      const write = (id: number) => {
        const p = w.reserve(id, 4);
        w.view.setUint32(p, id, true);
        w.commit(p, w.lastSize);
        return w.lastSize;
      };
      const before = process.hrtime.bigint();
      const sizes = [write(1)]; // opens the packet: preamble + compact header
      const hi = ctl[W.lastTsHi];
      expect(hi).to.equal(Number(before >> 32n) | 0);
      sizes.push(write(2)); // compact
      ctl[W.lastTsHi] = hi ^ 1; // as if another writer had recorded another high word
      sizes.push(write(3)); // extended: a compact timestamp would be read against the wrong base
      expect(ctl[W.lastTsHi]).to.equal(hi);
      sizes.push(write(4)); // compact again
      expect(sizes).to.deep.equal([84 + 6 + 4, 6 + 4, 14 + 4, 6 + 4]);
      const r = StreamReader.open(file);
      r.flush();
      const p = r.next()!;
      expect(p.contentSize).to.equal(84 + 10 + 10 + 18 + 10);
      expect(new DataView(p.bytes.buffer, p.bytes.byteOffset).getUint16(84 + 10 + 10, true)).to.equal(65535);
      const seen: [number, bigint][] = [];
      readEvents(p, (id, ts, view, offset) => {
        expect(view.getUint32(offset, true)).to.equal(id);
        seen.push([id, ts]);
        return offset + 4;
      });
      const after = process.hrtime.bigint();
      expect(seen.map(([id]) => id)).to.deep.equal([1, 2, 3, 4]);
      for (let i = 0; i < seen.length; i++) {
        expect(seen[i][1] >= (i === 0 ? before : seen[i - 1][1]) && seen[i][1] <= after, `event ${i + 1}`).to.equal(
          true,
        );
      }
      unmapFile(mapping);
      w.close();
      r.close();
    });

    it("keeps an event that ends one byte before the sub-buffer's end in the open packet", () => {
      const file = path.join(dir, 's');
      createStreamFile(file, options(4096, 4));
      const w = StreamWriter.open(file);
      // The second event (6 + 10 bytes) ends one byte short of the end; the third (6 + 1) does not fit.
      const first = 4096 - 84 - 6 - 17;
      for (const payload of [first, 10, 1]) {
        const p = w.reserve(1, payload);
        w.bytes.fill(payload & 0xff, p, p + payload);
        w.commit(p, w.lastSize);
      }
      const r = StreamReader.open(file);
      r.flush();
      const contents: number[] = [];
      for (let p = r.next(); p; p = r.next()) {
        contents.push(p.contentSize);
        r.consume(p);
      }
      expect(contents).to.deep.equal([84 + 6 + first + 6 + 10, 84 + 6 + 1]);
      expect(r.counters()).to.deep.equal({ lostFull: 0, lostBig: 0, overrun: 0, skipped: 0 });
      w.close();
      r.close();
    });

    it('closes a packet that an event fills to the last byte before it opens the next', () => {
      const file = path.join(dir, 's');
      createStreamFile(file, options(4096, 4));
      const w = StreamWriter.open(file);
      // The first event fills all but the second's 6-byte header + 10-byte payload.
      const first = 4096 - 84 - 6 - 16;
      for (const payload of [first, 10, 20]) {
        const p = w.reserve(1, payload);
        expect(p).to.be.greaterThan(0);
        w.bytes.fill(payload & 0xff, p, p + payload);
        w.commit(p, w.lastSize);
      }
      const r = StreamReader.open(file);
      r.flush();
      const sizes: number[] = [];
      const packets: Packet[] = [];
      for (let p = r.next(); p; p = r.next()) {
        packets.push(p);
        readEvents(p, (_id, _ts, _view, offset) => {
          const next = [first, 10, 20][sizes.length];
          sizes.push(next);
          return offset + next;
        });
        r.consume(p);
      }
      expect(sizes).to.deep.equal([first, 10, 20]);
      // The full-to-the-byte event does not fit: it went to the second packet, and the first was closed.
      expect(packets.map((p) => p.contentSize)).to.deep.equal([84 + 6 + first, 84 + 6 + 10 + 6 + 20]);
      for (const p of packets) expect(p.timestampEnd >= p.timestampBegin && p.timestampEnd > 0n).to.equal(true);
      expect(r.counters()).to.deep.equal({ lostFull: 0, lostBig: 0, overrun: 0, skipped: 0 });
    });

    it('drops and counts an event bigger than a sub-buffer', () => {
      const file = path.join(dir, 's');
      createStreamFile(file, options(4096, 2));
      const w = StreamWriter.open(file);
      expect(w.reserve(1, 4096 - 84 - 6 + 1)).to.equal(-1);
      const p = w.reserve(1, 4096 - 84 - 6);
      expect(p).to.be.greaterThan(0);
      w.commit(p, w.lastSize);
      const r = StreamReader.open(file);
      expect(r.counters().lostBig).to.equal(1);
      expect(w.discarded).to.equal(1);
    });
  });

  describe('discard mode', () => {
    it('drops new events when full and counts exactly what it dropped', () => {
      const file = path.join(dir, 's');
      createStreamFile(file, options(4096, 2));
      const w = StreamWriter.open(file);
      const written = writeEvents(w, 1, 5000);
      const r = StreamReader.open(file);
      r.flush();
      const events: Decoded[] = [];
      const packets: Packet[] = [];
      drain(r, events, packets);
      expect(events.length).to.equal(written);
      expect(r.counters().lostFull).to.equal(5000 - written);
      expect(written).to.be.within(100, 400);
      // The oldest events are kept, the newest dropped.
      expect(events.map((e) => e.counter)).to.deep.equal([...Array(written).keys()]);
      // events_discarded of the last packet is the count at its close.
      expect(packets[packets.length - 1].eventsDiscarded).to.equal(BigInt(5000 - written));
      // Reading made room again.
      expect(writeEvents(w, 1, 10, 5000)).to.equal(10);
    });
  });

  describe('overwrite mode', () => {
    it('keeps the newest packets and counts the overwritten ones', () => {
      const file = path.join(dir, 's');
      createStreamFile(file, options(4096, 4, 'overwrite'));
      const w = StreamWriter.open(file);
      expect(writeEvents(w, 1, 20000)).to.equal(20000);
      const r = StreamReader.open(file);
      r.flush();
      const events: Decoded[] = [];
      const packets: Packet[] = [];
      drain(r, events, packets);
      expect(packets.length).to.equal(4);
      const last = events[events.length - 1];
      expect(last.counter).to.equal(19999);
      // Contiguous newest events: the last 4 packets' worth.
      expect(events.map((e) => e.counter)).to.deep.equal(events.map((_, i) => 20000 - events.length + i));
      const overrun = r.counters().overrun;
      expect(overrun).to.be.greaterThan(100);
      // Packet numbers count the overwritten packets too: the gap tells a reader how many were lost.
      expect(packets[0].seq).to.equal(BigInt(overrun));
      expect(packets.map((p) => p.seq)).to.deep.equal([0, 1, 2, 3].map((i) => BigInt(overrun + i)));
    });
  });

  describe('snapshot', () => {
    const decodeAll = (packets: Packet[]) => {
      const events: Decoded[] = [];
      for (const p of packets) decode(p, events);
      return events;
    };

    it('copies the newest packets of an overwrite ring without consuming them', () => {
      const file = path.join(dir, 's');
      createStreamFile(file, options(4096, 4, 'overwrite'));
      const w = StreamWriter.open(file);
      writeEvents(w, 1, 20000);
      const r = StreamReader.open(file);
      // The open packet is left out until a flush closes it.
      const before = r.snapshot();
      expect(before.length).to.equal(3);
      r.flush();
      const first = r.snapshot();
      expect(first.length).to.equal(4);
      const events = decodeAll(first);
      expect(events[events.length - 1].counter).to.equal(19999);
      expect(events.map((e) => e.counter)).to.deep.equal(events.map((_, i) => 20000 - events.length + i));
      const overrun = r.counters().overrun;
      expect(first.map((p) => p.seq)).to.deep.equal([0, 1, 2, 3].map((i) => BigInt(overrun + i)));
      // Nothing was consumed: a second snapshot holds the same packets, and so does the reader.
      const second = r.snapshot();
      expect(second.map((p) => p.seq)).to.deep.equal(first.map((p) => p.seq));
      expect(decodeAll(second)).to.deep.equal(events);
      const drained: Decoded[] = [];
      drain(r, drained);
      expect(drained).to.deep.equal(events);
      // Snapshots are copies: writing on does not change one already taken.
      writeEvents(w, 1, 5000, 20000);
      expect(decodeAll(second)).to.deep.equal(events);
      r.flush();
      const third = decodeAll(r.snapshot());
      expect(third[third.length - 1].counter).to.equal(24999);
    });

    it('leaves out a packet still being written, and reads an empty ring as no packets', () => {
      const file = path.join(dir, 's');
      createStreamFile(file, options(4096, 4, 'discard'));
      const w = StreamWriter.open(file);
      const r = StreamReader.open(file);
      expect(r.snapshot()).to.deep.equal([]);
      writeEvents(w, 1, 10);
      // A writer reserved an event and has not committed it: its packet is not complete.
      const p = w.reserve(7, 32);
      expect(p).to.be.greaterThan(0);
      r.flush();
      expect(r.snapshot()).to.deep.equal([]);
      const size = w.lastSize;
      w.view.setUint32(p, 1, true);
      w.view.setUint32(p + 4, 10, true);
      w.view.setFloat64(p + 8, 15, true);
      w.bytes.fill(120, p + 16, p + 31); // 15 × 'x', then the NUL
      w.bytes[p + 31] = 0;
      w.commit(p, size);
      const packets = r.snapshot();
      expect(packets.length).to.equal(1);
      expect(decodeAll(packets).map((e) => e.counter)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });
  });

  describe('positions that wrap around 2^32', () => {
    it('keeps working across the wrap', () => {
      const file = path.join(dir, 's');
      createStreamFile(file, options(4096, 4));
      // Start a few packets before the wrap, with commit counts that say "previous round done".
      const buffer = mapStreamFile(file);
      const ctl = new Int32Array(buffer, 0, 1024);
      const g = new Geometry(ctl);
      const start = (2 ** 32 - 2 * 4096) | 0;
      ctl[W.write] = start;
      ctl[W.consumed] = start;
      ctl[W.readerPos] = start;
      for (let s = 0; s < 4; s++) {
        const position = (start + s * 4096) | 0;
        ctl[W.commit + 16 * g.slotOf(position)] = g.expectedCommit(position);
      }
      unmapFile(buffer);
      const w = StreamWriter.open(file);
      const r = StreamReader.open(file);
      const events: Decoded[] = [];
      const packets: Packet[] = [];
      for (let round = 0; round < 40; round++) {
        writeEvents(w, 2, 100, round * 100);
        drain(r, events, packets);
      }
      r.flush();
      drain(r, events, packets);
      checkWriterSequences(events, new Map([[2, 4000]]));
      expect(packets.map((p) => p.seq)).to.deep.equal(packets.map((_, i) => BigInt(i)));
    });
  });

  describe('many writers', () => {
    async function manyWriters(file: string, perWriter: number): Promise<{ events: Decoded[]; reader: StreamReader }> {
      const reader = StreamReader.open(file);
      const events: Decoded[] = [];
      const children = [0, 10, 20, 30].map((base) =>
        runWriter({ path: file, writer: base, events: perWriter, threads: 2 }),
      );
      let done = false;
      const all = Promise.all(children).then((codes) => {
        done = true;
        return codes;
      });
      while (!done) {
        drain(reader, events);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      expect(await all).to.deep.equal([0, 0, 0, 0]);
      reader.flush();
      drain(reader, events);
      for (let i = 1; i < events.length; i++)
        if (events[i].timestamp < events[i - 1].timestamp) expect.fail(`timestamps go back at event ${i}`);
      return { events, reader };
    }

    it('4 processes × (main + 2 worker threads) on one stream: every event exactly once, per-writer order kept', async function () {
      this.timeout(120000);
      const file = path.join(dir, 's');
      createStreamFile(file, options(1 << 20, 16));
      const perWriter = 30000;
      const { events, reader } = await manyWriters(file, perWriter);
      expect(reader.counters()).to.deep.equal({ lostFull: 0, lostBig: 0, overrun: 0, skipped: 0 });
      const expected = new Map<number, number>();
      for (const base of [0, 10, 20, 30]) for (const t of [0, 1, 2]) expected.set(base + t, perWriter);
      expect(events.length).to.equal(12 * perWriter);
      checkWriterSequences(events, expected);
    });

    it('with a small ring: recorded + discarded = emitted, exactly', async function () {
      this.timeout(120000);
      const file = path.join(dir, 's');
      createStreamFile(file, options(4096, 4));
      const perWriter = 20000;
      const { events, reader } = await manyWriters(file, perWriter);
      const lost = reader.counters().lostFull;
      expect(lost).to.be.greaterThan(0);
      expect(events.length + lost).to.equal(12 * perWriter);
      const last = new Map<number, number>();
      for (const e of events) {
        expect(e.counter).to.be.greaterThan(last.get(e.writer) ?? -1);
        expect(e.text).to.equal(payloadText(e.writer, e.counter));
        last.set(e.writer, e.counter);
      }
    });
  });

  describe('a writer that dies between reserve and commit', () => {
    it('does not wedge the ring: the reader skips the stale packet and counts it', async function () {
      this.timeout(30000);
      const file = path.join(dir, 's');
      createStreamFile(file, options(4096, 4));
      expect(await runWriter({ path: file, writer: 1, events: 50, dieAfterReserve: true })).to.equal(0);
      const r = StreamReader.open(file, { staleMs: 200 });
      const w = StreamWriter.open(file);
      const events: Decoded[] = [];
      // The dead writer's packet is closed by the next writer; the ring fills up behind it.
      writeEvents(w, 2, 2000);
      r.flush();
      drain(r, events);
      expect(events).to.have.length(0);
      await new Promise((resolve) => setTimeout(resolve, 50));
      drain(r, events);
      await new Promise((resolve) => setTimeout(resolve, 250));
      drain(r, events);
      expect(r.counters().skipped).to.equal(1);
      const before = events.length;
      expect(before).to.be.greaterThan(0);
      // Writers go on: new events arrive.
      expect(writeEvents(w, 3, 100)).to.equal(100);
      r.flush();
      drain(r, events);
      expect(events.filter((e) => e.writer === 3).map((e) => e.counter)).to.deep.equal([...Array(100).keys()]);
      expect(events.filter((e) => e.writer === 1)).to.have.length(0);
    });
  });
});
