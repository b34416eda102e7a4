// Userspace tracing cost: one event (an int64, a double, a 16-character string) in a tight loop,
// disabled and enabled (recording into a real session's discard-mode channel while a reader
// drains it), against pino, diagnostics_channel and LTTng-UST in the same run.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Child } from './child';
import { hasCommand, median, metric, runProcess, stopPidFile } from './measure';
import type { AppConfig } from './ust-app';
import type { ReaderCounts } from './ust-reader';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'apps/cli/bin/tstrace');
const SESSIOND = path.join(ROOT, 'apps/sessiond/bin/tstrace-sessiond');
const NODE = process.execPath;
const EVENTS = 10_000_000;
const PINO_EVENTS = 1_000_000;
const RUNS = 5;
const LTTNG_RUNS = 5;
const SESSION = 's';
const CHANNEL = ['-u', 'c', '--subbuf-size', '1M', '--num-subbuf', '8'];

interface NodeResults {
  medians: Record<string, number>;
  reader: ReaderCounts;
  emitted: number;
}

/** Our tracer and the Node.js references, against a session daemon of our own. */
async function nodeLoops(tmp: string): Promise<NodeResults> {
  const home = path.join(tmp, 'home');
  const shm = path.join(tmp, 'shm');
  const env = { ...process.env, TSTRACE_RUNDIR: path.join(tmp, 'run'), TSTRACE_HOME: home, HOME: home };
  fs.mkdirSync(home, { recursive: true });
  const tstrace = (...args: string[]) => runProcess(NODE, [CLI, ...args], { env });
  let app: Child | undefined;
  let reader: Child | undefined;
  try {
    runProcess(NODE, [SESSIOND, '--daemonize'], { env }); // returns once the daemon is ready
    // No output: the bench's reader is the only consumer of the buffers (the consumer daemon
    // drains only sessions that write a trace).
    tstrace('create', SESSION, '--shm-path', shm, '--no-output');
    tstrace('enable-channel', '-s', SESSION, ...CHANNEL);
    tstrace('enable-event', '-s', SESSION, '-u', '-c', 'c', 'bench:*');
    tstrace('start', SESSION);

    const config: AppConfig = { events: EVENTS, pinoEvents: PINO_EVENTS, runs: RUNS };
    app = new Child('ust-app', NODE, [path.join(__dirname, 'ust-app.js'), JSON.stringify(config)], env);
    await app.expect('ready');
    reader = new Child('ust-reader', NODE, [path.join(__dirname, 'ust-reader.js'), shm], env);
    const open = await reader.expect('open ');
    if (Number(open.split(' ')[1]) === 0) throw new Error(`no stream file under ${shm}`);
    app.send('go');

    const medians: Record<string, number> = {};
    const result = async () => {
      const [, name, list] = (await app!.expect('result ')).split(' ');
      medians[name] = median(list.split(',').map(Number));
    };
    await result(); // enabled
    await app.expect('enabled-done');
    reader.send('stop');
    const counts = JSON.parse(await reader.line()) as ReaderCounts;
    await result(); // disabled
    await result(); // empty_loop
    await result(); // diagnostics_channel
    await result(); // pino
    await app.expect('done');
    tstrace('stop', SESSION);
    tstrace('destroy', SESSION);
    return { medians, reader: counts, emitted: EVENTS * (RUNS + 1) };
  } finally {
    app?.kill();
    reader?.kill();
    await stopPidFile(path.join(env.TSTRACE_RUNDIR, 'sessiond.pid'));
  }
}

interface LttngResults {
  disabled: number;
  enabled: number;
  discarded: number | undefined;
}

function lttngMissing(): string | undefined {
  if (!hasCommand('lttng') || !hasCommand('lttng-sessiond')) return 'lttng-tools is not installed';
  if (spawnSync('dpkg', ['-s', 'liblttng-ust-dev'], { stdio: 'ignore' }).status !== 0)
    return 'liblttng-ust-dev is not installed';
  if (!hasCommand('gcc')) return 'gcc is not installed';
  return undefined;
}

/** Median ns per event of the C program's timed runs. */
function runTracepoints(program: string, env: NodeJS.ProcessEnv): number {
  const r = spawnSync(program, [String(EVENTS), String(LTTNG_RUNS)], {
    env: { ...env, LTTNG_UST_REGISTER_TIMEOUT: '5000' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${program}: exited ${r.status ?? r.signal}: ${r.stderr}`);
  return median(r.stdout.trim().split('\n').map(Number));
}

/**
 * LTTng-UST's tracepoint() in C under a real LTTng session with the same channel: first with the
 * event not enabled, then enabled. Starts LTTng's session daemon if none runs (its pid goes to
 * `pidFile`, for the caller to stop), as bench/control.ts does.
 */
function lttngUst(tmp: string, pidFile: string): LttngResults {
  const program = path.join(tmp, 'bench_ust');
  const src = path.join(__dirname, '..', 'lttng-ust');
  runProcess('gcc', ['-O2', '-I', src, path.join(src, 'bench_ust.c'), '-o', program, '-llttng-ust', '-ldl']);
  const env = { ...process.env, LTTNG_HOME: path.join(tmp, 'lttnghome') };
  fs.mkdirSync(env.LTTNG_HOME, { recursive: true });
  const lttng = (...args: string[]) => runProcess('lttng', args, { env });
  try {
    lttng('list'); // fails when no session daemon answers
  } catch {
    runProcess('lttng-sessiond', ['--daemonize', '--pidfile', pidFile], { env });
  }
  const session = `tstrace-bench-ust-${process.pid}`;
  lttng('create', session, '--output', path.join(tmp, 'lttng-out'));
  try {
    lttng('enable-channel', '-s', session, ...CHANNEL);
    lttng('start', session);
    const disabled = runTracepoints(program, env);
    lttng('enable-event', '-s', session, '-u', '-c', 'c', 'bench_ust:*');
    const enabled = runTracepoints(program, env);
    lttng('stop', session);
    const list = spawnSync('lttng', ['list', session], { env, encoding: 'utf8' }).stdout ?? '';
    const m = /Discarded events:\s*(\d+)/.exec(list);
    return { disabled, enabled, discarded: m ? Number(m[1]) : undefined };
  } finally {
    spawnSync('lttng', ['destroy', session], { env, stdio: 'ignore' });
  }
}

export async function run(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-bench-ust-'));
  fs.chmodSync(tmp, 0o755);
  const lttngPidFile = path.join(tmp, 'lttng-sessiond.pid');
  try {
    process.stdout.write(
      `# ust: ${RUNS} runs of ${EVENTS / 1e6}M events each after a warm-up run (pino ${PINO_EVENTS / 1e6}M, lttng ${LTTNG_RUNS} runs), medians\n`,
    );
    const node = await nodeLoops(tmp);
    // Every event emitted is read back or counted as discarded; anything else means another
    // consumer took packets (or events were lost), and the figures would not be comparable.
    if (node.reader.events + node.reader.discarded !== node.emitted) {
      throw new Error(
        `ust: ${node.emitted} events emitted, but ${node.reader.events} read and ${node.reader.discarded} discarded`,
      );
    }
    const ours = node.medians.enabled;
    metric('ust.disabled.ns_per_event', node.medians.disabled, 'ns', 2);
    metric('ust.empty_loop.ns_per_event', node.medians.empty_loop, 'ns', 2);
    // What the idiom itself adds to a loop iteration (`if (ev.enabled) ...` on a disabled event).
    metric('ust.disabled.net_ns_per_event', node.medians.disabled - node.medians.empty_loop, 'ns', 2);
    metric('ust.enabled.ns_per_event', ours, 'ns');
    metric('ust.enabled.emitted_events', node.emitted, 'events', 0);
    metric('ust.enabled.recorded_events', node.reader.events, 'events', 0);
    metric('ust.enabled.discarded_events', node.reader.discarded, 'events', 0);
    metric('ust.enabled.packets', node.reader.packets, 'packets', 0);
    metric('ust.pino.ns_per_event', node.medians.pino, 'ns');
    metric('ust.diagnostics_channel.ns_per_event', node.medians.diagnostics_channel, 'ns');
    metric('ust.enabled.ratio_vs_pino', ours / node.medians.pino, 'x');
    metric('ust.enabled.ratio_vs_diagnostics_channel', ours / node.medians.diagnostics_channel, 'x');

    const missing = lttngMissing();
    if (missing) {
      process.stdout.write(`ust.lttng_ust skipped: ${missing}\n`);
    } else {
      const lt = lttngUst(tmp, lttngPidFile);
      metric('ust.lttng_ust.disabled.ns_per_event', lt.disabled, 'ns', 2);
      metric('ust.lttng_ust.ns_per_event', lt.enabled, 'ns');
      if (lt.discarded !== undefined) metric('ust.lttng_ust.discarded_events', lt.discarded, 'events', 0);
      metric('ust.disabled.ratio_vs_lttng', node.medians.disabled / lt.disabled, 'x');
      metric('ust.enabled.ratio_vs_lttng', ours / lt.enabled, 'x');
    }
  } finally {
    await stopPidFile(lttngPidFile); // exists only if we started LTTng's daemon
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
