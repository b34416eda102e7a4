// The traced app of bench/ust.ts, run as its own process with TSTRACE_RUNDIR/TSTRACE_HOME set:
// `node ust-app.js '<json AppConfig>'`. It talks with its parent by lines:
//   -> `ready`            the tracer is registered and bench:event is enabled
//   <- any line           the reader drains the streams: go
//   -> `enabled-done`     the enabled runs are over (the reader may stop)
//   -> `result NAME t,t,…` ns per event of each timed run, one line per subject
//   -> `done`
// Each subject runs its own copy of the same loop (so that V8 keeps separate feedback), with the
// arguments varying on every iteration and a count of the events emitted returned and checked,
// so that no loop can be removed as dead code.
import * as dc from 'node:diagnostics_channel';
import { double, LogLevel, provider, ready, s64, string } from '@tstrace/ust';
import { waitEnabled } from './wait-enabled';
import pino from 'pino';

export interface AppConfig {
  events: number;
  /** Events per run for pino, which is much slower than the others. */
  pinoEvents: number;
  /** Timed runs per subject, after one untimed warm-up run. */
  runs: number;
}

type Event = typeof bench;

// 16 distinct 16-character ASCII strings, so that no tracer can cache one string's encoding.
const STRINGS = Array.from({ length: 16 }, (_, k) => 'abcdefghijklmnop'.slice(k) + 'abcdefghijklmnop'.slice(0, k));

const fields = () => [s64('a'), double('b'), string('s')];
const bench = provider('bench').event('event', fields(), LogLevel.INFO);
// Never enabled: no session enables idle:*.
const idle = provider('idle').event('event', fields(), LogLevel.INFO);

function disabledLoop(ev: Event, n: number): number {
  let emitted = 0;
  for (let i = 0; i < n; i++) {
    if (ev.enabled) {
      ev.emit(i, i * 0.5, STRINGS[i & 15]);
      emitted++;
    }
  }
  return emitted;
}

/** The same loop with no tracepoint: what the loop itself costs on this machine. */
function emptyLoop(n: number): number {
  let counted = 0;
  for (let i = 0; i < n; i++) counted++;
  return counted;
}

function enabledLoop(ev: Event, n: number): number {
  let emitted = 0;
  for (let i = 0; i < n; i++) {
    if (ev.enabled) {
      ev.emit(i, i * 0.5, STRINGS[i & 15]);
      emitted++;
    }
  }
  return emitted;
}

function pinoLoop(log: pino.Logger, n: number): number {
  let emitted = 0;
  for (let i = 0; i < n; i++) {
    if (log.isLevelEnabled('info')) {
      log.info({ a: i, b: i * 0.5, s: STRINGS[i & 15] });
      emitted++;
    }
  }
  return emitted;
}

function channelLoop(ch: dc.Channel, n: number): number {
  let emitted = 0;
  for (let i = 0; i < n; i++) {
    if (ch.hasSubscribers) {
      ch.publish({ a: i, b: i * 0.5, s: STRINGS[i & 15] });
      emitted++;
    }
  }
  return emitted;
}

/** Runs `loop` once untimed, then `runs` times timed; prints the ns per event of each timed run. */
function measure(name: string, runs: number, n: number, expected: number, loop: (n: number) => number): void {
  const times: string[] = [];
  for (let r = -1; r < runs; r++) {
    const start = process.hrtime.bigint();
    const emitted = loop(n);
    const ns = Number(process.hrtime.bigint() - start) / n;
    if (emitted !== expected)
      throw new Error(`${name}: ${emitted} events emitted, ${expected} expected (did the event change state?)`);
    if (r >= 0) times.push(ns.toFixed(3));
  }
  process.stdout.write(`result ${name} ${times.join(',')}\n`);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]) as AppConfig;
  await ready(5000);
  await waitEnabled(bench, 10000);
  if (idle.enabled) throw new Error('idle:event is enabled');
  process.stdout.write('ready\n');
  await new Promise((r) => process.stdin.once('data', r));
  process.stdin.pause();

  const n = config.events;
  measure('enabled', config.runs, n, n, (k) => enabledLoop(bench, k));
  process.stdout.write('enabled-done\n');
  measure('disabled', config.runs, n, 0, (k) => disabledLoop(idle, k));
  measure('empty_loop', config.runs, n, n, emptyLoop);

  const ch = dc.channel('bench:event');
  let sum = 0;
  ch.subscribe((message) => {
    const m = message as { a: number; b: number; s: string };
    sum += m.a + m.b + m.s.length;
  });
  measure('diagnostics_channel', config.runs, n, n, (k) => channelLoop(ch, k));
  if (!(sum > 0)) throw new Error('the diagnostics_channel subscriber saw nothing');

  const log = pino(pino.destination({ dest: '/dev/null', sync: true, minLength: 4096 }));
  measure('pino', config.runs, config.pinoEvents, config.pinoEvents, (k) => pinoLoop(log, k));
  log.flush();
  process.stdout.write('done\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
