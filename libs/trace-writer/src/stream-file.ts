/**
 * One stream's output in a trace directory: packets appended unchanged to `<name>` (or
 * `<name>_<i>` with --tracefile-size), and one CTF index v1.1 entry per packet in
 * `index/<file>.idx`, as LTTng's consumer writes them. The data is written before its index
 * entry, so after a crash the index says which packets are whole: `open` cuts a torn tail off
 * and reports the last packet on disk. A write that fails is undone, so the files always end
 * with a whole packet.
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
import { OutPacket, SinkError, StreamOptions, StreamSink } from './sink';

export interface FileOwner {
  uid: number;
  gid: number;
}

export interface StreamFileOptions extends StreamOptions {
  dir: string;
  /** `<channel>_<n>`. */
  name: string;
  /** Given to root's consumer: the session owner gets the files. */
  owner?: FileOwner;
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

export class StreamFile implements StreamSink {
  lastSeq = -1n;
  private fd = -1;
  private indexFd = -1;
  /** Bytes of the current data file, all of them whole packets. */
  private size = 0;
  /** Bytes of the current index file, all of them whole entries. */
  private indexSize = 0;
  /** Number of the current file (with rotation), free-running. */
  private fileNumber = 0;
  private readonly kept: number[] = [];

  constructor(private readonly o: StreamFileOptions) {}

  /** Opens (or reopens after a crash) the stream's current file and index. Throws a SinkError. */
  open(): void {
    try {
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
    } catch (err) {
      throw sinkError(`cannot open the stream files of ${this.o.name} in ${this.o.dir}`, err);
    }
    this.openFile(true);
  }

  /**
   * Appends one packet and its index entry; rotates first when the file would outgrow its size.
   * A failed write is cut back off both files, and a SinkError thrown.
   */
  write(p: OutPacket): void {
    const packetSize = p.bytes.byteLength;
    if (this.o.tracefileSize > 0 && this.size > 0 && this.size + packetSize > this.o.tracefileSize) this.rotate();
    // A rotation whose new file could not be opened is tried again at the next packet.
    if (this.fd < 0) this.openFile(true);
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
    try {
      writeAll(this.fd, p.bytes);
      writeAll(this.indexFd, encodeIndexEntry(entry));
    } catch (err) {
      this.undo();
      throw sinkError(`cannot write ${this.paths.data}`, err);
    }
    this.size += packetSize;
    this.indexSize += INDEX_ENTRY_SIZE;
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

  /** Cuts both files back to their last whole packet (shrinking needs no space, even on a full disk). */
  private undo(): void {
    try {
      fs.ftruncateSync(this.fd, this.size);
      fs.ftruncateSync(this.indexFd, this.indexSize);
    } catch {
      // The files are unusable now: the next write opens them again, keeping what is indexed.
      this.close();
    }
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

  /**
   * Opens the current file; a file already there is kept up to its last indexed packet (after a
   * crash, or after a failed write that could not be undone). Throws a SinkError.
   */
  private openFile(resume: boolean): void {
    const { data, index } = this.paths;
    try {
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
      fs.ftruncateSync(this.indexFd, 0);
      writeAll(this.indexFd, encodeIndexHeader());
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
      this.indexSize = INDEX_HEADER_SIZE + entries.length * INDEX_ENTRY_SIZE;
      if (last && last.packetSeqNum > this.lastSeq) this.lastSeq = last.packetSeqNum;
    } catch (err) {
      this.close();
      throw sinkError(`cannot open ${data}`, err);
    }
  }
}

function sinkError(what: string, err: unknown): SinkError {
  const e = err as NodeJS.ErrnoException;
  return new SinkError(`${what}: ${e.message}`, e.code ?? '', { cause: err });
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.byteLength;) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
