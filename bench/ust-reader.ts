// The reader side of bench/ust.ts, run as its own process: `node ust-reader.js SHM_DIR`.
// It opens every stream file under SHM_DIR, prints `open N`, then drains the streams without
// pause (next/consume, decoding every event with readEvents) until a line arrives on stdin; then
// it flushes the open packets, drains what is left and prints one JSON line of counts.
import { readEvents, StreamReader } from '@tstrace/ringbuffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ReaderCounts {
  streams: number;
  packets: number;
  events: number;
  /** Events the writers dropped: no free sub-buffer (LOST_FULL) or too big (LOST_BIG). */
  discarded: number;
  /** Packets skipped as stale (a writer died before committing). */
  skipped: number;
}

function regularFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...regularFiles(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/** Every stream file under `dir`; files that are not ring buffers are left alone. */
function openStreams(dir: string): StreamReader[] {
  const readers: StreamReader[] = [];
  for (const file of regularFiles(dir)) {
    try {
      readers.push(StreamReader.open(file));
    } catch (err) {
      process.stderr.write(`ust-reader: skipping ${file}: ${(err as Error).message}\n`);
    }
  }
  return readers;
}

const counts: ReaderCounts = { streams: 0, packets: 0, events: 0, discarded: 0, skipped: 0 };

/** Payload of bench:event: s64, double, then a NUL-terminated string. */
function skipPayload(_id: number, _ts: bigint, view: DataView, offset: number): number {
  let end = offset + 16;
  while (view.getUint8(end) !== 0) end++;
  return end + 1;
}

/** Reads, decodes and consumes every complete packet now available; returns how many. */
function drain(readers: StreamReader[]): number {
  let n = 0;
  for (const r of readers) {
    for (let p = r.next(); p; p = r.next()) {
      counts.events += readEvents(p, skipPayload);
      r.consume(p);
      n++;
    }
  }
  counts.packets += n;
  return n;
}

async function main(): Promise<void> {
  const readers = openStreams(process.argv[2]);
  counts.streams = readers.length;
  let stop = false;
  process.stdin.once('data', () => (stop = true));
  process.stdout.write(`open ${readers.length}\n`);
  while (!stop) {
    // Drain without pause while packets come; when none is ready, let stdin in and look again soon.
    if (drain(readers) === 0) await sleep(1);
    else await new Promise((r) => setImmediate(r));
  }
  for (const r of readers) r.flush();
  drain(readers);
  for (const r of readers) {
    const c = r.counters();
    counts.discarded += c.lostFull + c.lostBig;
    counts.skipped += c.skipped;
    r.close();
  }
  process.stdout.write(`${JSON.stringify(counts)}\n`);
  process.stdin.destroy();
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
