// A writer process for the ring buffer tests: writes `events` events from the main thread and
// from `threads` worker threads into one stream, then exits. Each event's payload is
// u32 writer | u32 counter | f64 counter × 1.5 | string "w<writer>-<counter>\0".
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { StreamWriter } from '../src';

export interface WriterJob {
  path: string;
  writer: number;
  events: number;
  threads?: number;
  /** Reserve one event, then exit without committing it (a writer that dies mid-event). */
  dieAfterReserve?: boolean;
}

export function payloadText(writer: number, counter: number): string {
  return `w${writer}-${counter}`;
}

function write(job: WriterJob): void {
  const w = StreamWriter.open(job.path);
  for (let i = 0; i < job.events; i++) {
    const text = payloadText(job.writer, i);
    const size = 16 + text.length + 1;
    const p = w.reserve(7, size);
    if (p < 0) continue;
    const size2 = w.lastSize;
    w.view.setUint32(p, job.writer, true);
    w.view.setUint32(p + 4, i, true);
    w.view.setFloat64(p + 8, i * 1.5, true);
    for (let c = 0; c < text.length; c++) w.bytes[p + 16 + c] = text.charCodeAt(c);
    w.bytes[p + 16 + text.length] = 0;
    w.commit(p, size2);
  }
  if (job.dieAfterReserve) {
    w.reserve(7, 40);
    process.exit(0);
  }
  w.close();
}

if (isMainThread && require.main === module) {
  const job = JSON.parse(process.argv[2]) as WriterJob;
  const workers: Promise<void>[] = [];
  for (let t = 1; t <= (job.threads ?? 0); t++) {
    const worker = new Worker(__filename, { workerData: { ...job, writer: job.writer + t, threads: 0 } });
    workers.push(
      new Promise((resolve, reject) =>
        worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}`)))),
      ),
    );
  }
  write(job);
  Promise.all(workers).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else if (!isMainThread) {
  write(workerData as WriterJob);
}
