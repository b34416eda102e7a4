import { StatusCode, StatusError } from '@tstrace/comm';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

const TRACEFS = '/sys/kernel/tracing';
const MOUNTS = [TRACEFS, '/sys/kernel/debug/tracing'];

/** The tracefs mount, mounting it at /sys/kernel/tracing when absent (root only). */
export function tracefsPath(): string {
  const mounted = MOUNTS.find((m) => fs.existsSync(`${m}/available_events`));
  if (mounted) return mounted;
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS], { stdio: 'pipe' });
  } catch (err) {
    throw new StatusError(
      StatusCode.KERNEL_UNAVAILABLE,
      `tracefs is not mounted and mounting it at ${TRACEFS} failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`,
    );
  }
  return TRACEFS;
}

/**
 * Kernel tracepoints as LTTng names them (without their subsystem), or system calls (from the
 * syscalls subsystem's sys_enter_* events), sorted and unique.
 */
export function kernelEvents(syscalls: boolean): string[] {
  const lines = fs.readFileSync(`${tracefsPath()}/available_events`, 'utf8').split('\n').filter(Boolean);
  const names = lines.flatMap((line) => {
    const [system, event] = line.split(':');
    if (!event) return [];
    if (syscalls)
      return system === 'syscalls' && event.startsWith('sys_enter_') ? [event.slice('sys_enter_'.length)] : [];
    return system === 'syscalls' ? [] : [event];
  });
  return [...new Set(names)].sort();
}
