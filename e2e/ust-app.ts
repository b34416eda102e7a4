// A traced app for the e2e tests, run as its own process: `node ust-app.js '<json job>'`.
// It loads @tstrace/ust, registers, and writes events as the job says; it prints one line per
// step so that the test can follow it.
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { double, LogLevel, provider, ready, string, u32, u64 } from '@tstrace/ust';

export interface AppJob {
  /** Number written in every event's `app` field. */
  app: number;
  /** Worker threads that write `events` events each (0: the main thread writes them). */
  threads: number;
  events: number;
  /** Wait until the event is enabled before writing (ms), or write at once. */
  waitEnabledMs?: number;
  /** Once enabled, wait this long more before writing (lets several sessions start). */
  startDelayMs?: number;
  /** Print `rate N` (emits per ms of the disabled/enabled tick loop) every 250 ms, forever. */
  spin?: boolean;
  /** After writing, keep emitting one `tick` per ms until killed; print a line when ticking starts. */
  tick?: boolean;
  /** With tick: print `emitted N` (the last tick emitted) every 50 ms. */
  progress?: boolean;
}

const e2e = provider('e2e');
export const load = e2e.event(
  'load',
  [u32('app'), u32('thread'), u64('seq'), double('half'), string('text')],
  LogLevel.INFO,
);
export const tick = e2e.event('tick', [u32('app'), u64('n')], LogLevel.DEBUG);

export function loadText(app: number, thread: number, seq: number): string {
  return `a${app}t${thread}#${seq}`;
}

async function waitEnabled(ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!load.enabled && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  return load.enabled;
}

async function writeLoad(job: AppJob, thread: number): Promise<void> {
  await ready(5000);
  if (job.waitEnabledMs && !(await waitEnabled(job.waitEnabledMs)))
    throw new Error(`app ${job.app} thread ${thread}: event e2e:load never enabled`);
  if (job.startDelayMs) await new Promise((r) => setTimeout(r, job.startDelayMs));
  for (let seq = 0; seq < job.events; seq++) {
    if (load.enabled) load.emit(job.app, thread, seq, seq / 2, loadText(job.app, thread, seq));
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as AppJob;
  if (job.threads === 0) {
    await writeLoad(job, 0);
  } else {
    await Promise.all(
      Array.from({ length: job.threads }, (_, i) => {
        const worker = new Worker(__filename, { workerData: { job, thread: i + 1 } });
        return new Promise<void>((resolve, reject) => {
          worker.once('error', reject);
          worker.once('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`worker ${i + 1} exited with ${code}`)),
          );
        });
      }),
    );
  }
  console.log('written');
  if (job.spin) {
    console.log('spinning');
    let n = 0;
    const round = () => {
      const until = Date.now() + 250;
      let count = 0;
      while (Date.now() < until) {
        for (let i = 0; i < 1000; i++) if (tick.enabled) tick.emit(job.app, n++);
        count += 1000;
      }
      console.log(`rate ${Math.round(count / 250)}`);
      setImmediate(round);
    };
    round();
    return;
  }
  if (job.tick) {
    await ready(5000);
    console.log('ticking');
    let n = 0;
    let last = -1;
    setInterval(() => {
      if (tick.enabled) {
        tick.emit(job.app, n);
        last = n;
      }
      n++;
    }, 1);
    if (job.progress) setInterval(() => console.log(`emitted ${last}`), 50);
  }
}

if (isMainThread) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  const { job, thread } = workerData as { job: AppJob; thread: number };
  writeLoad(job, thread).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
