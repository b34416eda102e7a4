import { decodeIndex, EVENTS_OFFSET, INDEX_ENTRY_SIZE, INDEX_HEADER_SIZE, readPacketPreamble } from '@tstrace/ctf';
import { createStreamFile, StreamWriter } from '@tstrace/ringbuffer';
import { StatusError, tstrace } from '@tstrace/comm';
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Consumer } from '../src/consumer';
import { EventTable } from '../src/event-count';

const uuid = Uint8Array.from({ length: 16 }, (_, i) => i);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Writes `n` events of id 0 (u32 seq, string text) or id 1 (seq:u16, char[4]) through the real writer. */
function writeEvents(w: StreamWriter, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) {
    if (i % 2 === 0) {
      const text = `event-${i}`;
      const p = w.reserve(0, 4 + text.length + 1);
      const size = w.lastSize;
      w.view.setUint32(p, i, true);
      for (let c = 0; c < text.length; c++) w.bytes[p + 4 + c] = text.charCodeAt(c);
      w.bytes[p + 4 + text.length] = 0;
      w.commit(p, size);
    } else {
      const count = i % 5;
      const p = w.reserve(1, 4 + 2 * count + 4);
      const size = w.lastSize;
      w.view.setUint32(p, count, true);
      for (let k = 0; k < count; k++) w.view.setUint16(p + 4 + 2 * k, k, true);
      w.bytes.set([65, 66, 0, 0], p + 4 + 2 * count);
      w.commit(p, size);
    }
  }
}

describe('tstrace-consumerd', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-consumerd-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('event counting', () => {
    it('sizes every field type and the contexts, and refuses an event cut anywhere', () => {
      // Two events of id 0: vpid + procname (4 + 17), then string, seq:u16 of 3, bytes of 2,
      // char[3], enum:u8, u64[2], double. Strings of 10 and 0 characters (the scan goes by words).
      const bytes = new Uint8Array(EVENTS_OFFSET + 256);
      const view = new DataView(bytes.buffer);
      let o = EVENTS_OFFSET;
      const ends: number[] = [];
      for (const text of ['abcdefghij', '']) {
        o += 6 + 21;
        bytes.set([...Buffer.from(text), 0], o);
        o += text.length + 1;
        view.setUint32(o, 3, true);
        o += 4 + 6;
        view.setUint32(o, 2, true);
        o += 4 + 2 + 3 + 1 + 16 + 8;
        ends.push(o);
      }
      const table = new EventTable(['vpid', 'procname']);
      table.add(0, ['string', 'seq:u16', 'bytes', 'char[3]', 'enum:u8:{"A":1}', 'u64[2]', 'double']);
      expect(table.count(bytes, ends[0])).to.equal(1);
      expect(table.count(bytes, ends[1])).to.equal(2);
      // Cut in the last field, the sequences, the string, the contexts, the header.
      const first = EVENTS_OFFSET + 6 + 21;
      for (const cut of [
        ends[1] - 1,
        ends[0] + 3,
        ends[0] - 1,
        first + 20,
        first + 14,
        first + 11,
        first + 10,
        first + 3,
        first - 1,
        EVENTS_OFFSET + 2,
      ]) {
        expect(() => table.count(bytes, cut), `cut at ${cut}`).to.throw(RangeError, /runs past the packet's content/);
      }
      expect(() => table.add(1, ['u7'])).to.throw(TypeError, /unknown field type "u7"/);
      expect(() => new EventTable(['pid']).add(0, [])).to.throw(TypeError, /unknown context "pid"/);
    });

    it('counts the events of packets written by the ring buffer writer', () => {
      const file = path.join(dir, 'ring');
      createStreamFile(file, {
        subbufSize: 4096,
        numSubbufs: 4,
        mode: 'discard',
        streamId: 0,
        cpuId: 0,
        uuid,
        streamInstanceId: 1n,
      });
      const w = StreamWriter.open(file);
      writeEvents(w, 100);
      const table = new EventTable([]);
      table.add(0, ['u32', 'string']);
      table.add(1, ['seq:u16', 'char[4]']);
      const consumer = new Consumer({ log: quiet });
      consumer.handle(
        tstrace.consumer.Request.create({
          addChannel: {
            channelKey: 1,
            session: 's',
            name: 'ch',
            output: { local: { traceDir: path.join(dir, 'trace') } },
            subbufSize: 4096,
            numSubbuf: 4,
            events: [
              { id: 0, types: ['u32', 'string'] },
              { id: 1, types: ['seq:u16', 'char[4]'] },
            ],
          },
        }),
      );
      consumer.handle(tstrace.consumer.Request.create({ addStream: { channelKey: 1, shmPath: file, n: 0 } }));
      const reply = consumer.handle(tstrace.consumer.Request.create({ flush: { channelKeys: [1] } }));
      const stats = reply.stats!.channels![0];
      expect(Number(stats.eventsRecorded)).to.equal(100);
      expect(Number(stats.eventsDiscarded)).to.equal(0);
      expect(stats.dataPending).to.equal(false);
      expect(Number(stats.packets)).to.be.greaterThan(0);
      // The file holds the packets unchanged, and the index describes each one.
      const data = fs.readFileSync(path.join(dir, 'trace', 'ch_0'));
      const index = decodeIndex(fs.readFileSync(path.join(dir, 'trace', 'index', 'ch_0.idx')));
      expect(data.length).to.equal(4096 * Number(stats.packets));
      expect(index).to.have.length(Number(stats.packets));
      index.forEach((e, i) => {
        const pre = readPacketPreamble(new DataView(data.buffer, data.byteOffset + 4096 * i, 4096), 0);
        expect(e.offset).to.equal(BigInt(4096 * i));
        expect(e.packetSeqNum).to.equal(BigInt(i));
        expect(pre.packetSeqNum).to.equal(BigInt(i));
        expect(e.contentSizeBits).to.equal(pre.contentSizeBits);
        expect(e.timestampBegin).to.equal(pre.timestampBegin);
        expect(e.streamInstanceId).to.equal(1n);
      });
      expect(() => table.count(new Uint8Array(4096), 200)).to.throw(RangeError);
      consumer.shutdown();
      w.close();
    });
  });

  describe('commands', () => {
    it('refuses bad channels, unknown keys and bad metadata with a clear error, and changes nothing', () => {
      const consumer = new Consumer({ log: quiet });
      const call = (req: tstrace.consumer.Request.$Properties) => () =>
        consumer.handle(tstrace.consumer.Request.create(req));
      expect(call({ addChannel: { channelKey: 1, name: 'ch', output: { local: { traceDir: 'relative' } } } })).to.throw(
        StatusError,
        /must be an absolute path/,
      );
      expect(call({ addChannel: { channelKey: 1, name: '../x', output: { local: { traceDir: dir } } } })).to.throw(
        StatusError,
        /cannot name a file/,
      );
      expect(
        call({
          addChannel: {
            channelKey: 1,
            name: 'ch',
            output: { local: { traceDir: dir } },
            events: [{ id: 0, types: ['nope'] }],
          },
        }),
      ).to.throw(StatusError, /unknown field type "nope"/);
      expect(call({ addChannel: { channelKey: 1, name: 'ch' } })).to.throw(StatusError, /names no output/);
      expect(
        call({ addChannel: { channelKey: 1, name: 'ch', output: { relay: { ctrlUrl: 'tcp://127.0.0.1:5342' } } } }),
      ).to.throw(StatusError, /relay outputs \(tcp:\/\/127.0.0.1:5342\) are not supported by this consumer daemon/);
      expect(call({ addStream: { channelKey: 9, shmPath: '/nope', n: 0 } })).to.throw(
        StatusError,
        /no channel with key 9/,
      );
      expect(call({ flush: { channelKeys: [9] } })).to.throw(StatusError, /no channel with key 9/);
      consumer.handle(
        tstrace.consumer.Request.create({
          addChannel: { channelKey: 1, name: 'ch', output: { local: { traceDir: path.join(dir, 't') } } },
        }),
      );
      expect(call({ addChannel: { channelKey: 1, name: 'ch', output: { local: { traceDir: dir } } } })).to.throw(
        StatusError,
        /already attached/,
      );
      expect(call({ addStream: { channelKey: 1, shmPath: path.join(dir, 'missing'), n: 0 } })).to.throw(
        StatusError,
        /stream 0 of channel "ch"/,
      );
      expect(call({ metadata: { output: { local: { traceDir: path.join(dir, 't') } }, text: 'garbage' } })).to.throw(
        StatusError,
        /CTF 1.8/,
      );
      expect(fs.existsSync(path.join(dir, 't', 'metadata'))).to.equal(false);
      consumer.shutdown();
    });

    it('appends metadata that grows, and rewrites metadata that changed', () => {
      const consumer = new Consumer({ log: quiet });
      const trace = path.join(dir, 'a', 'b');
      const send = (text: string) =>
        consumer.handle(
          tstrace.consumer.Request.create({ metadata: { output: { local: { traceDir: trace } }, text } }),
        );
      send('/* CTF 1.8 */\nA\n');
      const ino = fs.statSync(path.join(trace, 'metadata')).ino;
      send('/* CTF 1.8 */\nA\nB\n');
      expect(fs.readFileSync(path.join(trace, 'metadata'), 'utf8')).to.equal('/* CTF 1.8 */\nA\nB\n');
      expect(fs.statSync(path.join(trace, 'metadata')).ino).to.equal(ino);
      send('/* CTF 1.8 */\nC\n');
      expect(fs.readFileSync(path.join(trace, 'metadata'), 'utf8')).to.equal('/* CTF 1.8 */\nC\n');
      consumer.shutdown();
    });
  });

  describe('snapshot', () => {
    const layouts = [
      { id: 0, types: ['u32', 'string'] },
      { id: 1, types: ['seq:u16', 'char[4]'] },
    ];
    const metadata = (traceDir: string) => ({
      output: { local: { traceDir } },
      text: '/* CTF 1.8 */\ntrace { major = 1; minor = 8; };\n',
    });

    it('copies the complete packets of every stream without consuming them, then refuses bad requests and changes nothing', () => {
      const file = path.join(dir, 'ring');
      createStreamFile(file, {
        subbufSize: 4096,
        numSubbufs: 4,
        mode: 'overwrite',
        streamId: 0,
        cpuId: 0,
        uuid,
        streamInstanceId: 1n,
      });
      const w = StreamWriter.open(file);
      writeEvents(w, 3000);
      const consumer = new Consumer({ log: quiet });
      const take = (traceDir: string, extra: Partial<tstrace.consumer.ISnapshot> = {}) =>
        consumer.handle(
          tstrace.consumer.Request.create({
            snapshot: {
              channels: [{ name: 'ch', output: { local: { traceDir } }, shmPaths: [file], events: layouts }],
              metadata: [metadata(traceDir)],
              ...extra,
            },
          }),
        );
      const one = path.join(dir, 'one');
      const [stats] = take(one).stats!.channels!;
      expect(Number(stats.packets)).to.equal(4);
      expect(Number(stats.packetsOverwritten)).to.be.greaterThan(0);
      const data = fs.readFileSync(path.join(one, 'ch_0'));
      expect(data.length).to.equal(4 * 4096);
      const index = fs.readFileSync(path.join(one, 'index', 'ch_0.idx'));
      expect((index.length - INDEX_HEADER_SIZE) / INDEX_ENTRY_SIZE).to.equal(4);
      expect(fs.readFileSync(path.join(one, 'metadata'), 'utf8')).to.match(/^\/\* CTF 1.8 \*\//);
      // The same packets again: nothing was consumed.
      const two = path.join(dir, 'two');
      const [again] = take(two).stats!.channels!;
      expect(Number(again.eventsRecorded)).to.equal(Number(stats.eventsRecorded));
      expect(fs.readFileSync(path.join(two, 'ch_0'))).to.deep.equal(data);
      // A size limit keeps the newest packets that fit.
      const [limited] = take(path.join(dir, 'three'), { maxBytesPerStream: 8192 }).stats!.channels!;
      expect(Number(limited.packets)).to.equal(2);
      expect(fs.readFileSync(path.join(dir, 'three', 'ch_0'))).to.deep.equal(data.subarray(8192));

      const refused = (traceDir: string, extra: Partial<tstrace.consumer.ISnapshot>, message: RegExp) => {
        const before = fs.readdirSync(dir).sort();
        expect(() => take(traceDir, extra)).to.throw(StatusError, message);
        expect(fs.readdirSync(dir).sort()).to.deep.equal(before);
      };
      refused('relative/dir', {}, /trace directory "relative\/dir" must be an absolute path/);
      refused(
        path.join(dir, 'four'),
        { channels: [{ name: 'a/b', output: { local: { traceDir: path.join(dir, 'four') } }, shmPaths: [file] }] },
        /channel name "a\/b" cannot name a file/,
      );
      refused(
        path.join(dir, 'four'),
        {
          channels: [
            {
              name: 'ch',
              output: { local: { traceDir: path.join(dir, 'four') } },
              shmPaths: [file],
              events: [{ id: 0, types: ['u7'] }],
            },
          ],
        },
        /unknown field type "u7"/,
      );
      refused(path.join(dir, 'four'), { maxBytesPerStream: 100 }, /less than one sub-buffer \(4096 bytes\)/);
      expect(() => take(one)).to.throw(StatusError, /ch_0 already exists/);
      expect(fs.readFileSync(path.join(one, 'ch_0'))).to.deep.equal(data);
    });
  });
});
