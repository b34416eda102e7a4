import { spawnSync, SpawnSyncOptions } from 'node:child_process';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Wall time of one process run, in ms; throws if it fails. */
export function timeProcess(command: string, args: string[], options: SpawnSyncOptions = {}): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  const ms = elapsedMs(start);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${String(r.stderr).trim()}`);
  return ms;
}

/** One metric line, as DESIGN.md fixes it: `metric.name VALUE UNIT`. */
export function metric(name: string, value: number, unit: string): void {
  process.stdout.write(`${name} ${value.toFixed(unit === 'ms' || unit === 'x' ? 2 : 1)} ${unit}\n`);
}

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}
