// Helpers shared by the benchmarks: medians, timed processes, metric lines.
import { spawnSync, SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs a process to its end; throws, with its stderr, unless it exits 0. */
export function runProcess(command: string, args: string[], options: SpawnSyncOptions = {}): void {
  const r = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : `exited ${r.status ?? r.signal}`;
    throw new Error(`${command} ${args.join(' ')}: ${why}: ${String(r.stderr ?? '').trim()}`);
  }
}

/** Wall time of one process run, in ms; throws unless it exits 0. */
export function timeProcess(command: string, args: string[], options: SpawnSyncOptions = {}): number {
  const start = process.hrtime.bigint();
  runProcess(command, args, options);
  return elapsedMs(start);
}

/** One metric line, as DESIGN.md fixes it: `metric.name VALUE UNIT`; `digits` after the point (ms and x: 2, else 1). */
export function metric(
  name: string,
  value: number,
  unit: string,
  digits = unit === 'ms' || unit === 'x' ? 2 : 1,
): void {
  process.stdout.write(`${name} ${value.toFixed(digits)} ${unit}\n`);
}

export function hasCommand(name: string): boolean {
  return spawnSync('which', [name], { stdio: 'ignore' }).status === 0;
}

/** SIGTERMs the process whose pid a pid file holds (if the file exists) and waits up to 10 s for it to end. */
export async function stopPidFile(pidFile: string): Promise<void> {
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  if (!(pid > 0)) return;
  try {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 200; i++) {
      process.kill(pid, 0); // throws ESRCH once it is gone
      await sleep(50);
    }
    process.stderr.write(`process ${pid} (${pidFile}) still runs 10 s after SIGTERM\n`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
