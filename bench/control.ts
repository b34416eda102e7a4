// Control-plane speed: the five commands of a session's life as processes (CLI) and as calls
// from the client library, against LTTng's own commands in the same run when lttng is installed.
import { SessiondClient } from '@tstrace/ctl';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { elapsedMs, hasCommand, median, metric, timeProcess } from './measure';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'apps/cli/bin/tstrace');
const SESSIOND = path.join(ROOT, 'apps/sessiond/bin/tstrace-sessiond');
const COMMANDS = ['create', 'enable_event', 'start', 'stop', 'destroy'] as const;
type Command = (typeof COMMANDS)[number];
const CLI_RUNS = 30;
const LIB_RUNS = 200;
const LTTNG_RUNS = 10;

function argsFor(command: Command, name: string, dir: string): string[] {
  switch (command) {
    case 'create': return ['create', name, '-o', path.join(dir, name)];
    case 'enable_event': return ['enable-event', '-u', 'app:*', '-s', name];
    case 'start': return ['start', name];
    case 'stop': return ['stop', name];
    case 'destroy': return ['destroy', name];
  }
}

/** Medians of each command's wall time over `runs` sessions, after `warmup` untimed ones. */
function timeCommands(runs: number, warmup: number, run: (args: string[]) => number, dir: string): Record<Command, number> {
  const times: Record<Command, number[]> = { create: [], enable_event: [], start: [], stop: [], destroy: [] };
  for (let i = 0; i < runs + warmup; i++) {
    for (const c of COMMANDS) {
      const ms = run(argsFor(c, `s${i}`, dir));
      if (i >= warmup) times[c].push(ms);
    }
  }
  return Object.fromEntries(COMMANDS.map((c) => [c, median(times[c])])) as Record<Command, number>;
}

async function libraryCommands(runDir: string, dir: string): Promise<Record<Command, number>> {
  const client = await SessiondClient.connect(runDir);
  const times: Record<Command, number[]> = { create: [], enable_event: [], start: [], stop: [], destroy: [] };
  try {
    for (let i = 0; i < LIB_RUNS + 20; i++) {
      const name = `lib${i}`;
      const calls: Record<Command, () => Promise<unknown>> = {
        create: () => client.createSession({ name, output: { path: path.join(dir, name) } }),
        enable_event: () => client.enableEvent({ session: name, domain: 1, names: ['app:*'] }),
        start: () => client.start(name),
        stop: () => client.stop(name),
        destroy: () => client.destroySession({ name }),
      };
      for (const c of COMMANDS) {
        const start = process.hrtime.bigint();
        await calls[c]();
        if (i >= 20) times[c].push(elapsedMs(start));
      }
    }
  } finally {
    client.close();
  }
  return Object.fromEntries(COMMANDS.map((c) => [c, median(times[c])])) as Record<Command, number>;
}

/** LTTng's commands in their own LTTNG_HOME; starts (and later stops) its session daemon if needed. */
function lttngCommands(dir: string): Record<Command, number> {
  const env = { ...process.env, LTTNG_HOME: path.join(dir, 'lttnghome') };
  fs.mkdirSync(env.LTTNG_HOME, { recursive: true });
  const started = spawnSync('lttng-sessiond', ['--daemonize'], { env, stdio: 'ignore' }).status === 0;
  try {
    return timeCommands(LTTNG_RUNS, 1, (args) => timeProcess('lttng', args, { env }), path.join(dir, 'lttng'));
  } finally {
    if (started) spawnSync('sh', ['-c', 'kill $(pidof lttng-sessiond) 2>/dev/null; sleep 0.5'], { stdio: 'ignore' });
  }
}

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-bench-control-'));
  const env = { ...process.env, TSTRACE_RUNDIR: path.join(dir, 'run'), TSTRACE_HOME: path.join(dir, 'home') };
  fs.mkdirSync(env.TSTRACE_HOME, { recursive: true });
  process.stdout.write(`# control: medians; CLI ${CLI_RUNS} runs, library ${LIB_RUNS}, lttng ${LTTNG_RUNS}\n`);
  timeProcess(process.execPath, [SESSIOND, '--daemonize'], { env });
  try {
    // Each CLI run is paired with a bare `node -e 0` run just before it: the machine's speed
    // drifts, and the difference of a pair is what the CLI itself costs.
    const nodeTimes: number[] = [];
    const cli = timeCommands(CLI_RUNS, 3, (args) => {
      nodeTimes.push(timeProcess(process.execPath, ['-e', '0']));
      return timeProcess(process.execPath, [CLI, ...args], { env });
    }, path.join(dir, 'cli'));
    const over = timeCommands(CLI_RUNS, 3, (args) => {
      const node = timeProcess(process.execPath, ['-e', '0']);
      return timeProcess(process.execPath, [CLI, ...args], { env }) - node;
    }, path.join(dir, 'cli-paired'));
    metric('control.node_startup.ms', median(nodeTimes), 'ms');
    for (const c of COMMANDS) {
      metric(`control.cli.${c}.ms`, cli[c], 'ms');
      metric(`control.cli.${c}.over_node_ms`, over[c], 'ms');
    }
    const lib = await libraryCommands(env.TSTRACE_RUNDIR, path.join(dir, 'lib'));
    for (const c of COMMANDS) metric(`control.lib.${c}.ms`, lib[c], 'ms');
    if (hasCommand('lttng') && hasCommand('lttng-sessiond')) {
      const lttng = lttngCommands(dir);
      for (const c of COMMANDS) {
        metric(`control.lttng.${c}.ms`, lttng[c], 'ms');
        metric(`control.cli.${c}.ratio_vs_lttng`, cli[c] / lttng[c], 'x');
      }
    } else {
      process.stdout.write('control.lttng skipped: lttng is not installed\n');
    }
  } finally {
    const pid = Number(fs.readFileSync(path.join(env.TSTRACE_RUNDIR, 'sessiond.pid'), 'utf8'));
    process.kill(pid, 'SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
