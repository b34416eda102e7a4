/**
 * One stream's output: packets appended unchanged to `<name>` (or `<name>_<i>` with
 * --tracefile-size), and one CTF index v1.1 entry per packet in `index/<file>.idx`, as LTTng's
 * consumer writes them. The data is written before its index entry, so after a crash the index
 * says which packets are whole: `open` cuts a torn tail off and reports the last packet on disk.
 */
import {
  decodeIndex,
  encodeIndexEntry,
  encodeIndexHeader,
  INDEX_ENTRY_SIZE,
  INDEX_HEADER_SIZE,
  IndexEntry,
} from '@tstrace/ctf';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface FileOwner {
  uid: number;
  gid: number;
}

export interface StreamFileOptions {
  dir: string;
  /** `<channel>_<n>`. */
  name: string;
  /** Bytes per file before a new one starts; 0 for one file. */
  tracefileSize: number;
  /** Files kept; the oldest is removed when a new one would exceed it. 0 for no limit. */
  tracefileCount: number;
  /** Given to root's consumer: the session owner gets the files. */
  owner?: FileOwner;
}

export interface PacketRecord {
  bytes: Uint8Array;
  contentSize: number;
  timestampBegin: bigint;
  timestampEnd: bigint;
  eventsDiscarded: bigint;
  streamId: number;
  streamInstanceId: bigint;
  seq: bigint;
}

/** Makes `dir` and its missing parents, giving the new ones to `owner`. */
export function makeDirs(dir: string, owner?: FileOwner): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) {
    fs.mkdirSync(d, { mode: 0o770 });
    if (owner) fs.chownSync(d, owner.uid, owner.gid);
  }
}

export class StreamFile {
  /** packet_seq_num of the last packet on disk (from the index), -1n if none. */
  lastSeq = -1n;
  private fd = -1;
  private indexFd = -1;
  private size = 0;
  /** Number of the current file (with rotation), free-running. */
  private fileNumber = 0;
  private readonly kept: number[] = [];

  constructor(private readonly o: StreamFileOptions) {}

  /** Opens (or reopens after a crash) the stream's current file and index. */
  open(): void {
    makeDirs(path.join(this.o.dir, 'index'), this.o.owner);
    if (this.o.tracefileSize > 0) {
      // Resume after the highest-numbered file that is there (a restarted consumer).
      const re = new RegExp(`^${escapeRe(this.o.name)}_([0-9]+)$`);
      const numbers = fs
        .readdirSync(this.o.dir)
        .map((f) => re.exec(f)?.[1])
        .filter((n): n is string => n !== undefined)
        .map(Number)
        .sort((a, b) => a - b);
      this.kept.push(...numbers);
      this.fileNumber = numbers.length ? numbers[numbers.length - 1] : 0;
      if (this.kept.length) this.kept.pop();
    }
    this.openFile(true);
  }

  /** Appends one packet and its index entry; rotates first when the file would outgrow its size. */
  write(p: PacketRecord): void {
    const packetSize = p.bytes.byteLength;
    if (this.o.tracefileSize > 0 && this.size > 0 && this.size + packetSize > this.o.tracefileSize) this.rotate();
    writeAll(this.fd, p.bytes);
    const entry: IndexEntry = {
      offset: BigInt(this.size),
      packetSizeBits: BigInt(packetSize * 8),
      contentSizeBits: BigInt(p.contentSize * 8),
      timestampBegin: p.timestampBegin,
      timestampEnd: p.timestampEnd,
      eventsDiscarded: p.eventsDiscarded,
      streamId: BigInt(p.streamId),
      streamInstanceId: p.streamInstanceId,
      packetSeqNum: p.seq,
    };
    writeAll(this.indexFd, encodeIndexEntry(entry));
    this.size += packetSize;
    this.lastSeq = p.seq;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    if (this.indexFd >= 0) fs.closeSync(this.indexFd);
    this.fd = this.indexFd = -1;
  }

  /** Paths of the current data file and its index. */
  get paths(): { data: string; index: string } {
    const file = this.o.tracefileSize > 0 ? `${this.o.name}_${this.fileNumber}` : this.o.name;
    return { data: path.join(this.o.dir, file), index: path.join(this.o.dir, 'index', `${file}.idx`) };
  }

  private rotate(): void {
    this.close();
    this.kept.push(this.fileNumber);
    this.fileNumber++;
    // LTTng's tracefile-count: at most N files; the oldest goes when a new one starts.
    while (this.o.tracefileCount > 0 && this.kept.length >= this.o.tracefileCount) {
      const old = this.kept.shift()!;
      fs.rmSync(path.join(this.o.dir, `${this.o.name}_${old}`), { force: true });
      fs.rmSync(path.join(this.o.dir, 'index', `${this.o.name}_${old}.idx`), { force: true });
    }
    this.openFile(false);
  }

  /** Opens the current file; a file already there is kept up to its last indexed packet. */
  private openFile(resume: boolean): void {
    const { data, index } = this.paths;
    let entries: IndexEntry[] = [];
    if (resume && fs.existsSync(index)) {
      const raw = fs.readFileSync(index);
      // A torn last entry (crash mid-write) is dropped; a bad header means nothing was indexed.
      const whole =
        raw.length < INDEX_HEADER_SIZE
          ? 0
          : INDEX_HEADER_SIZE + Math.floor((raw.length - INDEX_HEADER_SIZE) / INDEX_ENTRY_SIZE) * INDEX_ENTRY_SIZE;
      try {
        entries = decodeIndex(raw.subarray(0, whole));
      } catch {
        entries = [];
      }
    }
    const last = entries[entries.length - 1];
    const keep = last ? Number(last.offset + last.packetSizeBits / 8n) : 0;
    this.fd = fs.openSync(data, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o640);
    fs.ftruncateSync(this.fd, keep);
    this.indexFd = fs.openSync(index, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o640);
    const header = encodeIndexHeader();
    fs.ftruncateSync(this.indexFd, 0);
    writeAll(this.indexFd, header);
    for (const e of entries) writeAll(this.indexFd, encodeIndexEntry(e));
    if (this.o.owner) {
      fs.fchownSync(this.fd, this.o.owner.uid, this.o.owner.gid);
      fs.fchownSync(this.indexFd, this.o.owner.uid, this.o.owner.gid);
    }
    // Appends go at the end of what was kept.
    fs.closeSync(this.fd);
    this.fd = fs.openSync(data, fs.constants.O_WRONLY | fs.constants.O_APPEND);
    fs.closeSync(this.indexFd);
    this.indexFd = fs.openSync(index, fs.constants.O_WRONLY | fs.constants.O_APPEND);
    this.size = keep;
    if (last) this.lastSeq = last.packetSeqNum;
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.byteLength;) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
