import { decodeIndex, INDEX_ENTRY_SIZE, INDEX_HEADER_SIZE } from '@tstrace/ctf';
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalTrace, SinkError, StreamFile } from '../src';

const packet = (seq: number, size = 4096) => {
  const bytes = new Uint8Array(size);
  bytes[0] = seq;
  return {
    bytes,
    contentSize: 100,
    timestampBegin: BigInt(seq * 10),
    timestampEnd: BigInt(seq * 10 + 5),
    eventsDiscarded: 0n,
    streamId: 2,
    streamInstanceId: 7n,
    seq: BigInt(seq),
    events: 1,
  };
};

describe('trace-writer', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-trace-writer-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('stream files', () => {
    it('rotates at --tracefile-size and keeps --tracefile-count files, each with its index', () => {
      const f = new StreamFile({ dir, name: 'ch_0', tracefileSize: 8192, tracefileCount: 3 });
      f.open();
      for (let i = 0; i < 9; i++) f.write(packet(i));
      f.close();
      expect(
        fs
          .readdirSync(dir)
          .filter((n) => n.startsWith('ch_0'))
          .sort(),
      ).to.deep.equal(['ch_0_2', 'ch_0_3', 'ch_0_4']);
      expect(fs.readdirSync(path.join(dir, 'index')).sort()).to.deep.equal(['ch_0_2.idx', 'ch_0_3.idx', 'ch_0_4.idx']);
      expect(
        decodeIndex(fs.readFileSync(path.join(dir, 'index', 'ch_0_3.idx'))).map((e) => [
          Number(e.offset),
          Number(e.packetSeqNum),
        ]),
      ).to.deep.equal([
        [0, 6],
        [4096, 7],
      ]);
      expect(fs.statSync(path.join(dir, 'ch_0_4')).size).to.equal(4096);
    });

    it('after a crash, keeps the indexed packets, cuts a torn tail, and knows the last packet', () => {
      const f = new StreamFile({ dir, name: 'ch_0', tracefileSize: 0, tracefileCount: 0 });
      f.open();
      for (let i = 0; i < 3; i++) f.write(packet(i));
      f.close();
      // A consumer killed in the middle of the 4th packet's data, and of an index entry.
      fs.appendFileSync(path.join(dir, 'ch_0'), Buffer.alloc(1000, 9));
      fs.appendFileSync(path.join(dir, 'index', 'ch_0.idx'), Buffer.alloc(30, 9));
      const again = new StreamFile({ dir, name: 'ch_0', tracefileSize: 0, tracefileCount: 0 });
      again.open();
      expect(again.lastSeq).to.equal(2n);
      expect(fs.statSync(path.join(dir, 'ch_0')).size).to.equal(3 * 4096);
      expect(fs.statSync(path.join(dir, 'index', 'ch_0.idx')).size).to.equal(INDEX_HEADER_SIZE + 3 * INDEX_ENTRY_SIZE);
      again.write(packet(3));
      again.close();
      expect(
        decodeIndex(fs.readFileSync(path.join(dir, 'index', 'ch_0.idx'))).map((e) => Number(e.packetSeqNum)),
      ).to.deep.equal([0, 1, 2, 3]);
      expect(fs.readFileSync(path.join(dir, 'ch_0'))[3 * 4096]).to.equal(3);
    });

    it('a write the file system refuses is undone: the files end with the last whole packet', () => {
      // A child whose files may not grow past 24 blocks of 1 KiB (EFBIG; SIGXFSZ ignored): the 6th
      // packet (6000 bytes) fails half-written.
      const script = `
        const { StreamFile } = require(${JSON.stringify(path.join(__dirname, '../src'))});
        const f = new StreamFile({ dir: ${JSON.stringify(dir)}, name: 'ch_0', tracefileSize: 0, tracefileCount: 0 });
        f.open();
        const packet = ${packet.toString()};
        const out = [];
        for (let i = 0; i < 8; i++) {
          try { f.write(packet(i, i === 5 ? 6000 : 4096)); out.push('ok'); } catch (e) { out.push(e.name + ' ' + e.code); }
        }
        console.log(JSON.stringify({ out, lastSeq: String(f.lastSeq) }));`;
      const r = spawnSync('bash', ['-c', `ulimit -f 24; trap '' XFSZ; exec "$0" -e "$1"`, process.execPath, script], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).to.equal(0);
      const got = JSON.parse(r.stdout);
      // Packet 5 (6000 bytes) does not fit; packet 6 (4096) fits exactly; packet 7 does not.
      expect(got.out).to.deep.equal(['ok', 'ok', 'ok', 'ok', 'ok', 'SinkError EFBIG', 'ok', 'SinkError EFBIG']);
      expect(got.lastSeq).to.equal('6');
      expect(fs.statSync(path.join(dir, 'ch_0')).size).to.equal(6 * 4096);
      const index = decodeIndex(fs.readFileSync(path.join(dir, 'index', 'ch_0.idx')));
      expect(index.map((e) => [Number(e.offset), Number(e.packetSeqNum)])).to.deep.equal([
        [0, 0],
        [4096, 1],
        [8192, 2],
        [12288, 3],
        [16384, 4],
        [20480, 6],
      ]);
    });
  });

  describe('local traces', () => {
    it('appends metadata that grows, rewrites metadata that changed, and refuses what is not CTF 1.8', () => {
      const trace = new LocalTrace(path.join(dir, 'a', 'b'));
      const file = path.join(dir, 'a', 'b', 'metadata');
      trace.metadata('/* CTF 1.8 */\nA\n');
      const ino = fs.statSync(file).ino;
      trace.metadata('/* CTF 1.8 */\nA\nB\n');
      expect(fs.readFileSync(file, 'utf8')).to.equal('/* CTF 1.8 */\nA\nB\n');
      expect(fs.statSync(file).ino).to.equal(ino);
      trace.metadata('/* CTF 1.8 */\nC\n');
      expect(fs.readFileSync(file, 'utf8')).to.equal('/* CTF 1.8 */\nC\n');
      expect(fs.statSync(file).ino).to.not.equal(ino);
      expect(() => trace.metadata('garbage')).to.throw(SinkError, /CTF 1.8/);
      expect(fs.readFileSync(file, 'utf8')).to.equal('/* CTF 1.8 */\nC\n');
      expect(() => new LocalTrace('relative')).to.throw(TypeError, /must be an absolute path/);
    });

    it('opens the streams of a trace: nothing is pending or lost later, a stream already there is resumed', () => {
      const trace = new LocalTrace(dir);
      const s = trace.openStream('ch_1', { tracefileSize: 0, tracefileCount: 0 });
      expect(s.lastSeq).to.equal(-1n);
      s.write(packet(4));
      s.close();
      expect(trace.pending).to.equal(false);
      expect(trace.losses()).to.deep.equal({ packets: 0, events: 0 });
      expect(trace.openStream('ch_1', { tracefileSize: 0, tracefileCount: 0 }).lastSeq).to.equal(4n);
    });
  });
});
