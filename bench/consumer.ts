// Consumer daemon throughput: the highest event rate one producer can keep up for 10 s with no
// event discarded, recording to local disk through the real session and consumer daemons, on the
// default userspace channel and on a 1 MiB × 8 one; the disk rate and bytes per event at that
// rate, the consumer's CPU while idle, and `stop`'s time; against LTTng 2.13 in the same run.
import { SessiondClient } from '@tstrace/ctl';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Child } from './child';
import { elapsedMs, hasCommand, median, metric, runProcess, stopPidFile, timeProcess } from './measure';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'apps/cli/bin/tstrace');
const SESSIOND = path.join(ROOT, 'apps/sessiond/bin/tstrace-sessiond');
const APP = path.join(__dirname, 'consumer-app.js');
const NODE = process.execPath;

/** TSTRACE_BENCH_QUICK=1: 2 s runs, one confirmation, 3 s idle, a shorter search (development). */
const QUICK = process.env.TSTRACE_BENCH_QUICK === '1';
const SECONDS = QUICK ? 2 : 10;
/** Runs at the found rate that must all lose nothing. */
const CONFIRM_RUNS = QUICK ? 1 : 3;
const IDLE_SECONDS = QUICK ? 3 : 10;
/** Time for the flat-out run, the ladder and the bisection of one tracer and channel. */
const SEARCH_MS = QUICK ? 20_000 : 60_000;
/** Time after which no new confirmation round starts (from the start of the search). */
const CONFIRM_MS = QUICK ? 40_000 : 150_000;
const START_RATE = 1_000_000;
const MIN_RATE = 10_000;
/** Bisection stops when the lowest rate that failed is within 10% of the highest that held. */
const PRECISION = 1.1;
/** After a failed confirmation, the rate goes down by this factor. */
const STEP_DOWN = 0.8;
/** A paced run holds its target only if the producer reached 99% of it. */
const PACE_TOLERANCE = 0.99;

type ChannelKind = 'default' | 'big';
const CHANNELS: ChannelKind[] = ['default', 'big'];
/** enable-channel options, the same for both tracers: defaults (per-UID 512 KiB × 4), or 1 MiB × 8. */
const CHANNEL_OPTIONS: Record<ChannelKind, string[]> = {
  default: [],
  big: ['--subbuf-size', '1M', '--num-subbuf', '8'],
};

/** One run: a fresh session, one producer at `target` events/s (0: flat out) for SECONDS, stop. */
interface Trial {
  target: number;
  emitted: number;
  elapsedNs: number;
  recorded: number;
  discarded: number;
  /** Bytes of the stream files (not metadata, not index). */
  streamBytes: number;
  stopMs: number;
  /** CPU % of the consumer daemon while the producer ran. */
  consumerCpu: number;
}

interface Tracer {
  readonly name: string;
  trial(channel: ChannelKind, target: number): Promise<Trial>;
  /** CPU % of the consumer daemon over IDLE_SECONDS, session started, app registered, no event. */
  idleCpuPercent(): Promise<number>;
}

interface Found {
  /** The rate that held in every confirmation run (events/s), 0 if none did. */
  rate: number;
  confirmed: Trial[];
  /** The producer's flat-out run (first of the search). */
  flatOut: Trial;
  /** True when flat out lost nothing: the producer, not the consumer, is the limit. */
  producerLimited: boolean;
  /** The lowest rate that lost events, if any run did. */
  lostAt?: Trial;
  trials: number;
}

const rateOf = (t: Trial) => t.emitted / (t.elapsedNs / 1e9);
const held = (t: Trial) => t.discarded === 0 && (t.target === 0 || rateOf(t) >= PACE_TOLERANCE * t.target);
const roundRate = (r: number) => Math.max(MIN_RATE, Math.round(r / 10_000) * 10_000);
const millions = (r: number) => `${(r / 1e6).toFixed(2)}M/s`;

function progress(text: string): void {
  process.stderr.write(`# consumer ${text}\n`);
}

/**
 * The highest rate with nothing discarded, in CONFIRM_RUNS runs out of CONFIRM_RUNS: a flat-out
 * run first (when it loses nothing, the producer is the limit and flat out is confirmed); else
 * START_RATE doubled (or halved) up to the first loss, then bisected, then confirmed, stepping
 * down on any loss until a rate holds or CONFIRM_MS has passed (the figure is 0 then).
 */
async function zeroLossRate(tracer: Tracer, channel: ChannelKind): Promise<Found> {
  const begun = Date.now();
  const deadline = begun + SEARCH_MS;
  let trials = 0;
  let lostAt: Trial | undefined;
  const run = async (target: number): Promise<Trial> => {
    const t = await tracer.trial(channel, target);
    trials++;
    if (t.discarded > 0 && (!lostAt || rateOf(t) < rateOf(lostAt))) lostAt = t;
    progress(
      `${tracer.name} ${channel} ${target ? millions(target) : 'flat out'}: ${millions(rateOf(t))} for ${(t.elapsedNs / 1e9).toFixed(1)} s, ${t.emitted} emitted, ${t.discarded} discarded, consumer ${t.consumerCpu.toFixed(0)}% CPU, stop ${t.stopMs.toFixed(1)} ms${held(t) ? '' : ' (failed)'}`,
    );
    return t;
  };

  const flatOut = await run(0);
  if (flatOut.discarded === 0) {
    const runs = [flatOut];
    while (runs.length < CONFIRM_RUNS && runs.every(held)) runs.push(await run(0));
    if (runs.every(held))
      return { rate: Math.min(...runs.map(rateOf)), confirmed: runs, flatOut, producerLimited: true, lostAt, trials };
  }

  // Paced runs, below what the producer reached flat out.
  let good = 0;
  let bad = roundRate(rateOf(flatOut));
  const probe = async (target: number): Promise<boolean> => {
    const t = await run(target);
    if (held(t)) {
      good = Math.max(good, target);
      return true;
    }
    bad = Math.min(bad, target);
    // The producer fell short of the target but nothing was lost: the rate it reached held.
    if (t.discarded === 0) good = Math.max(good, Math.min(roundRate(rateOf(t) - 5_000), bad - 10_000));
    return false;
  };
  for (let r = START_RATE; r < bad && Date.now() < deadline; r *= 2) if (!(await probe(r))) break;
  for (let r = START_RATE / 2; good === 0 && r >= MIN_RATE && Date.now() < deadline; r /= 2) await probe(roundRate(r));
  while (good > 0 && bad / good > PRECISION && Date.now() < deadline) {
    const mid = roundRate((good + bad) / 2);
    if (mid <= good || mid >= bad) break;
    await probe(mid);
  }

  while (good >= MIN_RATE && Date.now() < begun + CONFIRM_MS) {
    const runs: Trial[] = [];
    while (runs.length < CONFIRM_RUNS && runs.every(held)) runs.push(await run(good));
    if (runs.every(held)) return { rate: good, confirmed: runs, flatOut, producerLimited: false, lostAt, trials };
    good = roundRate(good * STEP_DOWN);
  }
  return { rate: 0, confirmed: [], flatOut, producerLimited: false, lostAt, trials };
}

/** Sum of the sizes of the stream files under `dir`: everything but `metadata` and `index/`. */
function streamBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'index') total += streamBytes(p);
    } else if (e.isFile() && e.name !== 'metadata') {
      total += fs.statSync(p).size;
    }
  }
  return total;
}

/** Waits until `size()` stays the same for 200 ms (the consumer has written what was complete), 10 s at most. */
async function settle(size: () => Promise<number> | number): Promise<void> {
  const until = Date.now() + 10_000;
  let last = await size();
  let still = 0;
  while (still < 2 && Date.now() < until) {
    await sleep(100);
    const now = await size();
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Pids of the processes whose command line satisfies `match`. */
function findProcesses(match: (argv: string[]) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (match(argv)) pids.push(Number(entry));
    } catch {
      // Gone since the listing.
    }
  }
  return pids;
}

/** CPU % of some processes (summed) over a stretch of time: `begin()`, then `percent()`. */
class CpuMeter {
  private before = 0;
  private start = 0n;

  constructor(private readonly pids: number[]) {
    if (pids.length === 0) throw new Error('no consumer daemon process found');
  }

  begin(): this {
    this.before = this.ticks();
    this.start = process.hrtime.bigint();
    return this;
  }

  percent(): number {
    return (100 * (this.ticks() - this.before)) / CLK_TCK / (elapsedMs(this.start) / 1000);
  }

  private ticks(): number {
    return this.pids.reduce((n, pid) => n + cpuTicks(pid), 0);
  }
}

async function idlePercent(pids: number[]): Promise<number> {
  const meter = new CpuMeter(pids).begin();
  await sleep(IDLE_SECONDS * 1000);
  return meter.percent();
}

/** tstrace: a session daemon of our own in a temporary run directory; it spawns the consumer. */
class Tstrace implements Tracer {
  readonly name = 'tstrace';
  private readonly env: NodeJS.ProcessEnv;
  private client: SessiondClient | undefined;
  private sessions = 0;
  private readonly shmRoots = new Set<string>();
  private closed = false;

  constructor(private readonly tmp: string) {
    const home = path.join(tmp, 'home');
    this.env = { ...process.env, TSTRACE_RUNDIR: path.join(tmp, 'run'), TSTRACE_HOME: home, HOME: home };
  }

  private get runDir(): string {
    return this.env.TSTRACE_RUNDIR!;
  }

  async open(): Promise<void> {
    fs.mkdirSync(this.env.TSTRACE_HOME!, { recursive: true });
    runProcess(NODE, [SESSIOND, '--daemonize'], { env: this.env }); // returns once the daemon is ready
    this.client = await SessiondClient.connect(this.runDir);
  }

  /** Stops the daemon (the consumer exits with it); its shm directories must be gone then. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client?.close();
    await stopPidFile(path.join(this.runDir, 'sessiond.pid'));
    for (const root of this.shmRoots) {
      if (fs.existsSync(root)) {
        process.stderr.write(`consumer: ${root} is left after the session daemon stopped: removed\n`);
        fs.rmSync(root, { recursive: true, force: true });
      }
    }
  }

  private cli(...args: string[]): void {
    runProcess(NODE, [CLI, ...args], { env: this.env });
  }

  /** A started session with channel `c` and bench:* enabled; returns its name and output directory. */
  private session(channel: ChannelKind): { name: string; out: string } {
    const name = `c${this.sessions++}`;
    const out = path.join(this.tmp, 'out', name);
    this.cli('create', name, '-o', out);
    this.cli('enable-channel', '-s', name, '-u', 'c', ...CHANNEL_OPTIONS[channel]);
    this.cli('enable-event', '-s', name, '-u', '-c', 'c', 'bench:*');
    this.cli('start', name);
    return { name, out };
  }

  private bytesOnDisk = async (name: string): Promise<number> => {
    const info = await this.client!.getSession(name);
    return (info.buffers ?? []).reduce((n, b) => n + Number(b.bytes ?? 0), 0);
  };

  private consumerPids(): number[] {
    const socket = path.join(this.runDir, 'consumerd-ust.sock');
    return findProcesses((argv) => argv.some((a) => a.endsWith('tstrace-consumerd')) && argv.includes(socket));
  }

  async trial(channel: ChannelKind, target: number): Promise<Trial> {
    const { name, out } = this.session(channel);
    const app = new Child('consumer-app', NODE, [APP], this.env);
    try {
      await app.expect('ready');
      const meter = new CpuMeter(this.consumerPids()).begin();
      app.send(`run ${target} ${SECONDS}`);
      const [emitted, elapsedNs] = (await app.expect('result ')).split(' ').slice(1).map(Number);
      const consumerCpu = meter.percent();
      await settle(() => this.bytesOnDisk(name));
      // The stop RPC itself, app still running, from this process (the CLI would add Node's start-up).
      const start = process.hrtime.bigint();
      const info = await this.client!.stop(name);
      const stopMs = elapsedMs(start);
      let recorded = 0,
        discarded = 0,
        bytes = 0;
      for (const b of info.buffers ?? []) {
        recorded += Number(b.eventsRecorded ?? 0);
        discarded += Number(b.eventsDiscarded ?? 0);
        bytes += Number(b.bytes ?? 0);
        if (b.dataPending) throw new Error(`session ${name}: data still pending after stop`);
        if (b.outputError) throw new Error(`session ${name}: ${b.outputError}`);
        if (b.directory) this.shmRoots.add(b.directory.slice(0, b.directory.indexOf(`/${name}-`)));
      }
      const onDisk = streamBytes(out);
      const what = `${channel} channel at ${target ? millions(target) : 'flat out'} (session ${name})`;
      // Every event emitted is recorded or counted as discarded; anything else is a bug, not a result.
      if (recorded + discarded !== emitted)
        throw new Error(`${what}: ${emitted} events emitted, but ${recorded} recorded and ${discarded} discarded`);
      if (onDisk !== bytes)
        throw new Error(`${what}: the consumer reports ${bytes} bytes written, the stream files hold ${onDisk}`);
      await app.end();
      this.cli('destroy', name);
      return { target, emitted, elapsedNs, recorded, discarded, streamBytes: onDisk, stopMs, consumerCpu };
    } finally {
      app.kill();
      fs.rmSync(out, { recursive: true, force: true });
    }
  }

  async idleCpuPercent(): Promise<number> {
    const { name, out } = this.session('default');
    const app = new Child('consumer-app', NODE, [APP], this.env);
    try {
      await app.expect('ready');
      await sleep(1000); // registration's after-effects settle
      const cpu = await idlePercent(this.consumerPids());
      await this.client!.stop(name);
      await app.end();
      this.cli('destroy', name);
      return cpu;
    } finally {
      app.kill();
      fs.rmSync(out, { recursive: true, force: true });
    }
  }
}

function lttngMissing(): string | undefined {
  if (!hasCommand('lttng') || !hasCommand('lttng-sessiond')) return 'lttng-tools is not installed';
  if (spawnSync('dpkg', ['-s', 'liblttng-ust-dev'], { stdio: 'ignore' }).status !== 0)
    return 'liblttng-ust-dev is not installed';
  if (!hasCommand('gcc')) return 'gcc is not installed';
  return undefined;
}

/**
 * LTTng 2.13 with the C producer `lttng-ust/bench_paced.c`; its session daemon is started when
 * none answers (pid in `pidFile`, stopped by the caller), as bench/control.ts does.
 */
class Lttng implements Tracer {
  readonly name = 'lttng';
  private readonly env: NodeJS.ProcessEnv;
  private readonly program: string;
  private sessions = 0;

  constructor(
    private readonly tmp: string,
    private readonly pidFile: string,
  ) {
    this.env = { ...process.env, LTTNG_HOME: path.join(tmp, 'lttnghome') };
    this.program = path.join(tmp, 'bench_paced');
  }

  open(): void {
    const src = path.join(__dirname, '..', 'lttng-ust');
    runProcess('gcc', ['-O2', '-I', src, path.join(src, 'bench_paced.c'), '-o', this.program, '-llttng-ust', '-ldl']);
    fs.mkdirSync(this.env.LTTNG_HOME!, { recursive: true });
    try {
      this.lttng('list'); // fails when no session daemon answers
    } catch {
      runProcess('lttng-sessiond', ['--daemonize', '--pidfile', this.pidFile], { env: this.env });
    }
  }

  private lttng(...args: string[]): void {
    runProcess('lttng', args, { env: this.env });
  }

  private session(channel: ChannelKind): { name: string; out: string } {
    const name = `tstrace-bench-consumer-${process.pid}-${this.sessions++}`;
    const out = path.join(this.tmp, 'lttng-out', name);
    this.lttng('create', name, '--output', out);
    this.lttng('enable-channel', '-s', name, '-u', 'c', ...CHANNEL_OPTIONS[channel]);
    this.lttng('enable-event', '-s', name, '-u', '-c', 'c', 'bench_ust:*');
    this.lttng('start', name);
    return { name, out };
  }

  private app(): Child {
    // The tracer's constructor waits for the session daemon's answer, so `ready` means registered.
    return new Child('bench_paced', this.program, [], { ...this.env, LTTNG_UST_REGISTER_TIMEOUT: '5000' });
  }

  /** The userspace consumer (`lttng-consumerd -u`) and its run-as helper. */
  private consumerPids(): number[] {
    return findProcesses((argv) => argv[0].endsWith('lttng-consumerd') && argv.includes('-u'));
  }

  async trial(channel: ChannelKind, target: number): Promise<Trial> {
    const { name, out } = this.session(channel);
    const app = this.app();
    try {
      await app.expect('ready');
      const meter = new CpuMeter(this.consumerPids()).begin();
      app.send(`run ${target} ${SECONDS}`);
      const [emitted, elapsedNs] = (await app.expect('result ')).split(' ').slice(1).map(Number);
      const consumerCpu = meter.percent();
      await settle(() => (fs.existsSync(out) ? streamBytes(out) : 0));
      // LTTng's client is a C program that starts in a few ms: its wall time is the command's.
      const stopMs = timeProcess('lttng', ['stop', name], { env: this.env });
      const list = spawnSync('lttng', ['list', name], { env: this.env, encoding: 'utf8' }).stdout ?? '';
      const counts = [...list.matchAll(/Discarded events:\s*(\d+)/g)].map((m) => Number(m[1]));
      if (counts.length === 0) throw new Error(`lttng list ${name} gives no discarded count`);
      const discarded = counts.reduce((a, b) => a + b, 0);
      const onDisk = streamBytes(out);
      await app.end();
      this.lttng('destroy', name);
      // LTTng counts no recorded events: what was not discarded is taken as recorded.
      return {
        target,
        emitted,
        elapsedNs,
        recorded: emitted - discarded,
        discarded,
        streamBytes: onDisk,
        stopMs,
        consumerCpu,
      };
    } finally {
      app.kill();
      spawnSync('lttng', ['destroy', name], { env: this.env, stdio: 'ignore' });
      fs.rmSync(out, { recursive: true, force: true });
    }
  }

  async idleCpuPercent(): Promise<number> {
    const { name, out } = this.session('default');
    const app = this.app();
    try {
      await app.expect('ready');
      await sleep(1000);
      const cpu = await idlePercent(this.consumerPids());
      this.lttng('stop', name);
      await app.end();
      this.lttng('destroy', name);
      return cpu;
    } finally {
      app.kill();
      spawnSync('lttng', ['destroy', name], { env: this.env, stdio: 'ignore' });
      fs.rmSync(out, { recursive: true, force: true });
    }
  }
}

interface Figures {
  zeroLoss: Record<ChannelKind, Found>;
  mbPerS: number;
  bytesPerEvent: number;
  idleCpu: number;
  /** The consumer's CPU % in the runs the disk rate comes from. */
  busyCpu: number;
  stopMs: number;
}

async function measureTracer(tracer: Tracer): Promise<Figures> {
  const zeroLoss = {} as Record<ChannelKind, Found>;
  for (const channel of CHANNELS) {
    const found = await zeroLossRate(tracer, channel);
    zeroLoss[channel] = found;
    const limit = found.producerLimited
      ? 'the producer is the limit (flat out lost nothing)'
      : found.lostAt
        ? `lost ${found.lostAt.discarded} events at ${millions(rateOf(found.lostAt))}`
        : 'no loss seen';
    const summary =
      found.rate > 0
        ? `${millions(found.rate)} held in ${CONFIRM_RUNS} of ${CONFIRM_RUNS} runs (stop ${found.confirmed.map((t) => t.stopMs.toFixed(1)).join(', ')} ms)`
        : `no rate held in ${CONFIRM_RUNS} of ${CONFIRM_RUNS} runs within ${CONFIRM_MS / 1000} s`;
    process.stdout.write(
      `# ${tracer.name} ${channel}: ${summary}; flat out ${millions(rateOf(found.flatOut))}; ${limit}; ${found.trials} runs\n`,
    );
  }
  // Disk rate and bytes per event: the confirmation runs of the channel that held the higher rate.
  const best = CHANNELS.map((c) => zeroLoss[c]).reduce((a, b) => (b.rate > a.rate ? b : a));
  const runs = best.confirmed.length ? best.confirmed : [best.flatOut];
  const mbPerS = median(runs.map((t) => t.streamBytes / 1e6 / (t.elapsedNs / 1e9)));
  const bytesPerEvent = median(runs.map((t) => t.streamBytes / t.recorded));
  const busyCpu = median(runs.map((t) => t.consumerCpu));
  const confirmed = CHANNELS.flatMap((c) => zeroLoss[c].confirmed);
  const stopMs = median((confirmed.length ? confirmed : CHANNELS.map((c) => zeroLoss[c].flatOut)).map((t) => t.stopMs));
  const idleCpu = await tracer.idleCpuPercent();
  return { zeroLoss, mbPerS, bytesPerEvent, idleCpu, busyCpu, stopMs };
}

function printFigures(prefix: string, f: Figures): void {
  for (const c of CHANNELS) metric(`${prefix}.zero_loss.${c}.events_per_s`, f.zeroLoss[c].rate, 'events/s', 0);
  metric(`${prefix}.disk.mb_per_s`, f.mbPerS, 'MB/s');
  metric(`${prefix}.bytes_per_event`, f.bytesPerEvent, 'bytes', 2);
  metric(`${prefix}.idle.cpu_percent`, f.idleCpu, '%', 2);
  metric(`${prefix}.busy.cpu_percent`, f.busyCpu, '%');
  metric(`${prefix}.stop.ms`, f.stopMs, 'ms');
}

export async function run(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-bench-consumer-'));
  const lttngPidFile = path.join(tmp, 'lttng-sessiond.pid');
  const ours = new Tstrace(tmp);
  try {
    process.stdout.write(
      `# consumer: ${SECONDS} s runs, a rate holds when ${CONFIRM_RUNS} of ${CONFIRM_RUNS} runs discard nothing; idle ${IDLE_SECONDS} s; stop: median of the confirmation runs, tstrace's as the RPC from this process (@tstrace/ctl), LTTng's as the lttng process${QUICK ? '; QUICK' : ''}\n`,
    );
    await ours.open();
    const t = await measureTracer(ours);
    await ours.close();
    printFigures('consumer', t);

    const missing = lttngMissing();
    if (missing) {
      process.stdout.write(`consumer.lttng skipped: ${missing}\n`);
      return;
    }
    const lttng = new Lttng(tmp, lttngPidFile);
    lttng.open();
    const l = await measureTracer(lttng);
    printFigures('lttng.consumer', l);
    const ratio = (name: string, ours: number, theirs: number) =>
      theirs > 0 && metric(`consumer.${name}.ratio_vs_lttng`, ours / theirs, 'x');
    for (const c of CHANNELS) ratio(`zero_loss.${c}`, t.zeroLoss[c].rate, l.zeroLoss[c].rate);
    ratio('disk', t.mbPerS, l.mbPerS);
    ratio('bytes_per_event', t.bytesPerEvent, l.bytesPerEvent);
    ratio('stop', t.stopMs, l.stopMs);
  } finally {
    await ours.close();
    await stopPidFile(lttngPidFile); // exists only if we started LTTng's daemon
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
