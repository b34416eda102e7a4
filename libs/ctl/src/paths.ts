import * as fs from 'node:fs';
import * as path from 'node:path';

/** Name of the group whose members may use the global (root) session daemon. */
export const TRACING_GROUP = 'tracing';

/** $TSTRACE_HOME, else $HOME: where traces, session files and the per-user daemon live. */
export function tstraceHome(env: NodeJS.ProcessEnv = process.env): string {
  // os is loaded only when HOME is unset: every module costs the CLI start-up time.
  return env.TSTRACE_HOME || env.HOME || (require('node:os') as typeof import('node:os')).homedir();
}

/** Run directory of the global daemon: $TSTRACE_RUNDIR, else /var/run/tstrace. */
export function globalRunDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TSTRACE_RUNDIR || '/var/run/tstrace';
}

/** Run directory of a user's own daemon: $TSTRACE_HOME/.tstrace. */
export function userRunDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(tstraceHome(env), '.tstrace');
}

export interface RunDirPaths {
  runDir: string;
  clientSocket: string;
  appsSocket: string;
  lockFile: string;
  pidFile: string;
}

export function runDirPaths(runDir: string): RunDirPaths {
  return {
    runDir,
    clientSocket: path.join(runDir, 'client.sock'),
    appsSocket: path.join(runDir, 'apps.sock'),
    lockFile: path.join(runDir, 'sessiond.lock'),
    pidFile: path.join(runDir, 'sessiond.pid'),
  };
}

/** The gid of the tracing group, when it exists (from /etc/group). */
export function tracingGroupId(groupFile = '/etc/group'): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(groupFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === TRACING_GROUP && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/**
 * Which daemon a client talks to, as LTTng decides: root and members of the tracing group use
 * the global daemon; anyone else uses their own.
 */
export function clientRunDir(env: NodeJS.ProcessEnv = process.env): { runDir: string; global: boolean } {
  const gid = tracingGroupId();
  const global = process.getuid?.() === 0 || (gid !== undefined && (process.getgroups?.() ?? []).includes(gid));
  return global ? { runDir: globalRunDir(env), global } : { runDir: userRunDir(env), global };
}
