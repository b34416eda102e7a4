import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'apps/cli/bin/tstrace');
export const SESSIOND = path.join(ROOT, 'apps/sessiond/bin/tstrace-sessiond');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A private tstrace installation for one test: its own run directory and home, so tests never
 * touch /var/run/tstrace or a real home. Daemons it starts, and the processes given to `track`,
 * are killed by `cleanup`.
 */
export class TestEnv {
  readonly root: string;
  readonly runDir: string;
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly children: ChildProcess[] = [];

  constructor(name: string) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `tstrace-e2e-${name}-`));
    fs.chmodSync(this.root, 0o755);
    this.runDir = path.join(this.root, 'run');
    this.home = path.join(this.root, 'home');
    fs.mkdirSync(this.home, { recursive: true });
    this.env = { ...process.env, TSTRACE_RUNDIR: this.runDir, TSTRACE_HOME: this.home, HOME: this.home };
  }

  /** Runs `tstrace ARGS` as a separate process. */
  cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): CliResult {
    const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [CLI, ...args], {
      env: { ...this.env, ...extraEnv },
      encoding: 'utf8',
      timeout: 20000,
    });
    if (r.error) throw r.error;
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs a command that must succeed; returns its stdout. */
  ok(args: string[]): string {
    const r = this.cli(args);
    if (r.code !== 0) throw new Error(`tstrace ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** Runs a command with --json that must succeed; returns the parsed document. */
  json<T = any>(args: string[]): T {
    return JSON.parse(this.ok([...args, '--json'])) as T;
  }

  /** pid of the session daemon serving this environment, from its pid file. */
  daemonPid(): number | undefined {
    try {
      return Number(fs.readFileSync(path.join(this.runDir, 'sessiond.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  /** Kills `child` at cleanup if it is still running then (an app, a `view --follow`). */
  track<C extends ChildProcess>(child: C): C {
    this.children.push(child);
    return child;
  }

  async cleanup(): Promise<void> {
    for (const c of this.children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    const pid = this.daemonPid();
    if (pid) await killAndWait(pid);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
export async function killAndWait(pid: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(10);
  if (isAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(10);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `test` every 20 ms until it holds; throws after `ms`. */
export async function waitFor(what: string, test: () => boolean, ms = 20000): Promise<void> {
  const until = Date.now() + ms;
  while (!test()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The parts of `list --json` for a session that a user sets (no uuid, times or owner). */
export function settings(session: any): any {
  return session.config;
}

/** Runs the e2e app (ust-app.ts) as its own process; resolves with its exit code and output. */
export function runApp(
  env: NodeJS.ProcessEnv,
  job: import('./ust-app').AppJob,
): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  const child = spawn(process.execPath, [path.join(__dirname, 'ust-app.js'), JSON.stringify(job)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr, pid: child.pid! })));
}

/** pids of the processes whose command line (arguments joined by spaces) passes `test`, as pgrep -f. */
export function pidsMatching(test: (cmdline: string) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // gone since the listing
    }
    if (test(cmdline.replace(/\0/g, ' ').trim())) pids.push(Number(entry));
  }
  return pids.sort((a, b) => a - b);
}
