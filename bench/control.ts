// Control-plane speed: the five commands of a session's life as processes (CLI) and as calls
// from the client library, against LTTng's own commands in the same run when lttng is installed.
import { SessiondClient } from '@tstrace/ctl';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { elapsedMs, hasCommand, median, metric, runProcess, stopPidFile, timeProcess } from './measure';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'apps/cli/bin/tstrace');
const SESSIOND = path.join(ROOT, 'apps/sessiond/bin/tstrace-sessiond');
const NODE = process.execPath;
const COMMANDS = ['create', 'enable_event', 'start', 'stop', 'destroy'] as const;
type Command = (typeof COMMANDS)[number];
type Medians = Record<Command, number>;
const CLI_RUNS = 30,
  CLI_WARMUP = 3;
const LIB_RUNS = 200,
  LIB_WARMUP = 20;
const LTTNG_RUNS = 10,
  LTTNG_WARMUP = 1;

/** The command line of one step, the same for `tstrace` and `lttng`. */
function argsFor(command: Command, session: string, outDir: string): string[] {
  switch (command) {
    case 'create':
      return ['create', session, '-o', path.join(outDir, session)];
    case 'enable_event':
      return ['enable-event', '-u', 'app:*', '-s', session];
    case 'start':
      return ['start', session];
    case 'stop':
      return ['stop', session];
    case 'destroy':
      return ['destroy', session];
  }
}

/**
 * Runs the five steps on sessions s0, s1, …: `warmup` untimed sessions, then `runs` timed ones;
 * returns each step's median wall time in ms.
 */
async function timeSessions(
  runs: number,
  warmup: number,
  step: (command: Command, session: string) => unknown,
): Promise<Medians> {
  const times: Record<Command, number[]> = { create: [], enable_event: [], start: [], stop: [], destroy: [] };
  for (let i = 0; i < warmup + runs; i++) {
    for (const c of COMMANDS) {
      const start = process.hrtime.bigint();
      await step(c, `s${i}`);
      if (i >= warmup) times[c].push(elapsedMs(start));
    }
  }
  return medians(times);
}

function medians(times: Record<Command, number[]>): Medians {
  return {
    create: median(times.create),
    enable_event: median(times.enable_event),
    start: median(times.start),
    stop: median(times.stop),
    destroy: median(times.destroy),
  };
}

/**
 * What the CLI costs over Node's own start-up: each CLI run is paired with a `node -e 0` run just
 * before it, and the median of the differences is taken. This machine's speed drifts over a run;
 * medians of the two taken apart mix that drift into the figure.
 */
function cliOverNode(env: NodeJS.ProcessEnv, outDir: string): Medians {
  const diffs: Record<Command, number[]> = { create: [], enable_event: [], start: [], stop: [], destroy: [] };
  for (let i = 0; i < CLI_WARMUP + CLI_RUNS; i++) {
    for (const c of COMMANDS) {
      const node = timeProcess(NODE, ['-e', '0']);
      const cli = timeProcess(NODE, [CLI, ...argsFor(c, `p${i}`, outDir)], { env });
      if (i >= CLI_WARMUP) diffs[c].push(cli - node);
    }
  }
  return medians(diffs);
}

/** Median wall time of `node -e 0`, Node's own start-up. */
function nodeStartup(): number {
  const times = Array.from({ length: CLI_WARMUP + CLI_RUNS }, () => timeProcess(NODE, ['-e', '0']));
  return median(times.slice(CLI_WARMUP));
}

async function libraryCalls(runDir: string, outDir: string): Promise<Medians> {
  const client = await SessiondClient.connect(runDir);
  try {
    return await timeSessions(LIB_RUNS, LIB_WARMUP, (c, name) => {
      switch (c) {
        case 'create':
          return client.createSession({ name, output: { path: path.join(outDir, name) } });
        case 'enable_event':
          return client.enableEvent({ session: name, domain: 1 /* USERSPACE */, names: ['app:*'] });
        case 'start':
          return client.start(name);
        case 'stop':
          return client.stop(name);
        case 'destroy':
          return client.destroySession({ name, all: false });
      }
    });
  } finally {
    client.close();
  }
}

/** LTTng's commands with a private LTTNG_HOME; starts its session daemon if none runs (its pid goes to `pidFile`). */
async function lttngCommands(tmp: string, pidFile: string): Promise<Medians> {
  const env = { ...process.env, LTTNG_HOME: path.join(tmp, 'lttnghome') };
  fs.mkdirSync(env.LTTNG_HOME, { recursive: true });
  try {
    runProcess('lttng', ['list'], { env }); // fails when no session daemon answers
  } catch {
    runProcess('lttng-sessiond', ['--daemonize', '--pidfile', pidFile], { env });
  }
  const outDir = path.join(tmp, 'lttng');
  return timeSessions(LTTNG_RUNS, LTTNG_WARMUP, (c, s) => runProcess('lttng', argsFor(c, s, outDir), { env }));
}

export async function run(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-bench-control-'));
  const env = { ...process.env, TSTRACE_RUNDIR: path.join(tmp, 'run'), TSTRACE_HOME: path.join(tmp, 'home') };
  const lttngPidFile = path.join(tmp, 'lttng-sessiond.pid');
  try {
    fs.mkdirSync(env.TSTRACE_HOME, { recursive: true });
    runProcess(NODE, [SESSIOND, '--daemonize'], { env }); // returns once the daemon is ready
    process.stdout.write(`# control: ${CLI_RUNS} runs each (library ${LIB_RUNS}, lttng ${LTTNG_RUNS}), medians\n`);

    const node = nodeStartup();
    const cliOut = path.join(tmp, 't');
    const cli = await timeSessions(CLI_RUNS, CLI_WARMUP, (c, s) =>
      runProcess(NODE, [CLI, ...argsFor(c, s, cliOut)], { env }),
    );
    const over = cliOverNode(env, path.join(tmp, 'paired'));
    metric('control.node_startup.ms', node, 'ms');
    for (const c of COMMANDS) {
      metric(`control.cli.${c}.ms`, cli[c], 'ms');
      metric(`control.cli.${c}.over_node_ms`, over[c], 'ms');
    }

    const lib = await libraryCalls(env.TSTRACE_RUNDIR, path.join(tmp, 'lib'));
    for (const c of COMMANDS) metric(`control.lib.${c}.ms`, lib[c], 'ms');

    if (hasCommand('lttng')) {
      const lttng = await lttngCommands(tmp, lttngPidFile);
      for (const c of COMMANDS) metric(`control.lttng.${c}.ms`, lttng[c], 'ms');
      for (const c of COMMANDS) metric(`control.cli.${c}.ratio_vs_lttng`, cli[c] / lttng[c], 'x');
    } else {
      process.stdout.write('control.lttng skipped: lttng is not installed\n');
    }
  } finally {
    await stopPidFile(path.join(env.TSTRACE_RUNDIR, 'sessiond.pid'));
    await stopPidFile(lttngPidFile); // exists only if we started LTTng's daemon
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
