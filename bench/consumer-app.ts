// The producer of bench/consumer.ts: one Node process, one thread, emitting bench:event (an int64,
// a double, a 16-character string) through @tstrace/ust. Run with TSTRACE_RUNDIR/TSTRACE_HOME
// set; it talks with its parent by lines:
//   -> `ready`                    registered, bench:event enabled, ready() resolved
//   <- `run RATE SECONDS`         emit at RATE events/s (0: flat out) for SECONDS
//   -> `result EMITTED ELAPSED_NS`
//   <- end of stdin               exit
// Pacing: each turn reads the clock and emits the events due by then (RATE × elapsed), so a late
// turn catches up; flat out, the clock is read every 1024 events.
import { double, LogLevel, provider, ready, s64, string } from '@tstrace/ust';
import { createInterface } from 'node:readline';
import { waitEnabled } from './wait-enabled';

const STRINGS = Array.from({ length: 16 }, (_, k) => 'abcdefghijklmnop'.slice(k) + 'abcdefghijklmnop'.slice(0, k));
const bench = provider('bench').event('event', [s64('a'), double('b'), string('s')], LogLevel.INFO);
type Event = typeof bench;

/** Returns [events emitted, ns elapsed]. */
function emitFor(ev: Event, rate: number, durationNs: number): [number, number] {
  const now = process.hrtime.bigint;
  const perNs = rate / 1e9;
  const start = now();
  let emitted = 0;
  let i = 0;
  let elapsed = 0;
  while (elapsed < durationNs) {
    const due = rate > 0 ? Math.floor(elapsed * perNs) : i + 1024;
    for (; i < due; i++) {
      if (ev.enabled) {
        ev.emit(i, i * 0.5, STRINGS[i & 15]);
        emitted++;
      }
    }
    elapsed = Number(now() - start);
  }
  if (emitted !== i)
    throw new Error(`bench:event was disabled during the run: ${i - emitted} of ${i} events not emitted`);
  return [emitted, elapsed];
}

async function main(): Promise<void> {
  await ready(5000);
  await waitEnabled(bench, 10000);
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [command, rate, seconds] = line.split(' ');
    if (command !== 'run') throw new Error(`unknown command "${line}"`);
    const [emitted, elapsed] = emitFor(bench, Number(rate), Number(seconds) * 1e9);
    process.stdout.write(`result ${emitted} ${elapsed}\n`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
