import { ArgsError, formatOptions, OptionSpec, parseArgs } from '@tstrace/args';
import { DEFAULT_MAX_FRAME_SIZE } from '@tstrace/comm';
import { globalRunDir, tstraceHome, userRunDir } from '@tstrace/ctl';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SessionDaemon } from './daemon';
import { createLogger } from './logger';

const VERSION = '0.1.0';
const OPTIONS: OptionSpec[] = [
  { name: 'daemonize', short: 'd', kind: 'flag', help: 'start as a daemon, detached, standard streams closed' },
  { name: 'background', short: 'b', kind: 'flag', help: 'start as a daemon, keeping the standard streams open' },
  {
    name: 'pidfile',
    short: 'p',
    kind: 'value',
    valueName: 'FILE',
    help: 'write the pid here (default <rundir>/sessiond.pid)',
  },
  { name: 'verbose', short: 'v', kind: 'count', help: 'more log output: -v info, -vv debug' },
  { name: 'log-file', kind: 'value', valueName: 'FILE', help: 'log to this file instead of stderr' },
  {
    name: 'max-frame-size',
    kind: 'value',
    valueName: 'BYTES',
    help: `largest frame accepted from a peer (default ${DEFAULT_MAX_FRAME_SIZE})`,
  },
  { name: 'ready-fd', kind: 'value', valueName: 'FD', help: 'internal: write "ok" on this descriptor once serving' },
  { name: 'help', short: 'h', kind: 'flag', help: 'show this help' },
  { name: 'version', short: 'V', kind: 'flag', help: 'show the version' },
];

const HELP = `Usage: tstrace-sessiond [OPTIONS]

The tstrace session daemon. Started by root it is the global daemon (run directory
$TSTRACE_RUNDIR, default /var/run/tstrace), usable by root and the 'tracing' group; started by
another user it is that user's own ($TSTRACE_HOME/.tstrace, TSTRACE_HOME defaulting to $HOME).

Options:
${formatOptions(OPTIONS)}
`;

function fail(message: string): never {
  process.stderr.write(`tstrace-sessiond: ${message}\n`);
  process.exit(1);
}

/** -d / -b: run the daemon in a detached child and return once it serves (or failed to). */
function daemonize(keepStreams: boolean, argv: string[]): void {
  const args = argv.filter((a) => !['-d', '--daemonize', '-b', '--background'].includes(a));
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...args, '--ready-fd=3'], {
    detached: true,
    cwd: keepStreams ? process.cwd() : '/',
    stdio: ['ignore', keepStreams ? 'inherit' : 'ignore', keepStreams ? 'inherit' : 'ignore', 'pipe'],
  });
  let said = '';
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  pipe.on('data', (d: Buffer) => (said += d.toString()));
  pipe.on('end', () => {
    if (said.startsWith('ok')) {
      child.unref();
      process.exit(0);
    }
    fail(said.replace(/^error: /, '').trim() || 'the daemon exited before it was ready');
  });
  child.on('error', (err) => fail(err.message));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let opts;
  try {
    const parsed = parseArgs(argv, OPTIONS);
    if (parsed.positionals.length > 0) throw new ArgsError(`unexpected argument "${parsed.positionals[0]}"`);
    opts = parsed.options;
  } catch (err) {
    fail(`${(err as Error).message} (see --help)`);
  }
  if (opts.help) return void process.stdout.write(HELP);
  if (opts.version) return void process.stdout.write(`tstrace-sessiond ${VERSION}\n`);
  const maxFrameSize = opts['max-frame-size'] === undefined ? undefined : Number(opts['max-frame-size']);
  if (maxFrameSize !== undefined && (!Number.isInteger(maxFrameSize) || maxFrameSize < 1024))
    fail('--max-frame-size must be an integer of at least 1024');
  if (opts.daemonize || opts.background) return daemonize(!!opts.background, argv);

  const readyFd = opts['ready-fd'] === undefined ? undefined : Number(opts['ready-fd']);
  const tell = (text: string) => {
    if (readyFd === undefined) return;
    try {
      fs.writeSync(readyFd, text);
      fs.closeSync(readyFd);
    } catch {
      // The parent is gone: nobody to tell.
    }
  };
  const global = process.getuid?.() === 0;
  const runDir = global ? globalRunDir() : userRunDir();
  const log = createLogger('tstrace-sessiond', (opts.verbose as number) ?? 0, opts['log-file'] as string | undefined);
  const daemon = new SessionDaemon({
    runDir,
    global,
    version: VERSION,
    defaultHome: tstraceHome(),
    log,
    verbosity: (opts.verbose as number) ?? 0,
    maxFrameSize,
    pidFile: opts.pidfile ? path.resolve(opts.pidfile as string) : undefined,
  });
  try {
    await daemon.start();
  } catch (err) {
    tell(`error: ${(err as Error).message}\n`);
    fail((err as Error).message);
  }
  tell('ok\n');
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down`);
    daemon.stop().finally(() => log.end(() => process.exit(0)));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGPIPE', () => {});
}

export { main };
