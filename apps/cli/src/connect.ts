import { StatusCode, StatusError } from '@tstrace/comm';
import { clientRunDir, SessiondClient, userRunDir } from '@tstrace/ctl';
import * as path from 'node:path';

export interface ConnectOptions {
  /** --no-sessiond: never start a daemon. */
  noSessiond: boolean;
  /** --sessiond-path: the daemon binary to start. */
  sessiondPath?: string;
  verbose: number;
}

function sessiondBinary(given?: string): string {
  if (given) return path.resolve(given);
  if (process.env.TSTRACE_SESSIOND_PATH) return process.env.TSTRACE_SESSIOND_PATH;
  return path.join(path.dirname(require.resolve('@tstrace/sessiond/package.json')), 'bin', 'tstrace-sessiond');
}

/** Starts a daemon in the background and returns once it serves, as `lttng create` does. */
function startSessiond(options: ConnectOptions): void {
  const binary = sessiondBinary(options.sessiondPath);
  const args = ['--daemonize', ...(options.verbose > 0 ? ['-' + 'v'.repeat(options.verbose)] : [])];
  if (options.verbose > 0) process.stderr.write(`Spawning a session daemon: ${binary} ${args.join(' ')}\n`);
  // Loaded here: most commands never start a daemon, and each module costs start-up time.
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const result = spawnSync(process.execPath, [binary, ...args], {
    encoding: 'utf8',
    timeout: 10000,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (result.error)
    throw new StatusError(StatusCode.NO_SESSIOND, `cannot start the session daemon ${binary}: ${result.error.message}`);
  // Another client may have started one meanwhile: that is fine, we connect to it.
  if (result.status !== 0 && !/already running/.test(result.stderr)) {
    throw new StatusError(
      StatusCode.NO_SESSIOND,
      `the session daemon failed to start: ${result.stderr.trim() || `exit code ${result.status}`}`,
    );
  }
}

/**
 * Connects to the session daemon this user should talk to; starts one when none answers,
 * unless --no-sessiond. A member of the tracing group with no global daemon uses their own.
 */
export async function connectSessiond(options: ConnectOptions): Promise<SessiondClient> {
  const { runDir, global } = clientRunDir();
  try {
    return await SessiondClient.connect(runDir, { peerName: 'tstrace' });
  } catch (err) {
    if (!(err instanceof StatusError) || err.code !== StatusCode.NO_SESSIOND) throw err;
    const isRoot = process.getuid?.() === 0;
    const fallback = global && !isRoot ? userRunDir() : runDir;
    if (fallback !== runDir) {
      try {
        return await SessiondClient.connect(fallback, { peerName: 'tstrace' });
      } catch (e) {
        if (!(e instanceof StatusError) || e.code !== StatusCode.NO_SESSIOND) throw e;
      }
    }
    if (options.noSessiond)
      throw new StatusError(StatusCode.NO_SESSIOND, `${err.message}, and --no-sessiond forbids starting one`);
    startSessiond(options);
    return SessiondClient.connect(fallback, { peerName: 'tstrace' });
  }
}
