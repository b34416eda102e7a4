import { ArgsError, formatOptions, OptionSpec, parseArgs } from '@tstrace/args';
import { consumerLink, RpcServer, StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { peerCredentials, PeerCredentials } from '@tstrace/native';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Consumer, DEFAULT_IDLE_POLL_MS } from './consumer';
import { createLogger } from './logger';

const VERSION = '0.1.0';
const OPTIONS: OptionSpec[] = [
  { name: 'socket', kind: 'value', valueName: 'PATH', help: 'Unix socket to serve the session daemon on (required)' },
  { name: 'domain', kind: 'value', valueName: 'DOMAIN', help: 'ust (the only domain so far)' },
  {
    name: 'idle-poll',
    kind: 'value',
    valueName: 'MS',
    help: `longest sleep with no packet and no wake-up (default ${DEFAULT_IDLE_POLL_MS})`,
  },
  { name: 'verbose', short: 'v', kind: 'count', help: 'more log output: -v info, -vv debug' },
  { name: 'log-file', kind: 'value', valueName: 'FILE', help: 'log to this file instead of stderr' },
  { name: 'ready-fd', kind: 'value', valueName: 'FD', help: 'internal: write "ok" on this descriptor once serving' },
  { name: 'help', short: 'h', kind: 'flag', help: 'show this help' },
  { name: 'version', short: 'V', kind: 'flag', help: 'show the version' },
];

const HELP = `Usage: tstrace-consumerd --socket PATH [OPTIONS]

The tstrace consumer daemon: drains the shared-memory ring buffers of one domain to CTF trace
files. The session daemon starts it, commands it over PATH, and it exits when the session
daemon disconnects, after draining what is left.

Options:
${formatOptions(OPTIONS)}
`;

function fail(message: string): never {
  process.stderr.write(`tstrace-consumerd: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let opts;
  try {
    const parsed = parseArgs(process.argv.slice(2), OPTIONS);
    if (parsed.positionals.length > 0) throw new ArgsError(`unexpected argument "${parsed.positionals[0]}"`);
    opts = parsed.options;
  } catch (err) {
    fail(`${(err as Error).message} (see --help)`);
  }
  if (opts.help) return void process.stdout.write(HELP);
  if (opts.version) return void process.stdout.write(`tstrace-consumerd ${VERSION}\n`);
  const socket = opts.socket as string | undefined;
  if (!socket || !path.isAbsolute(socket)) fail('--socket must give an absolute path');
  const domain = (opts.domain as string | undefined) ?? 'ust';
  if (domain !== 'ust') fail(`--domain ${JSON.stringify(domain)}: the consumer drains the ust domain only`);
  const idlePoll = opts['idle-poll'] === undefined ? DEFAULT_IDLE_POLL_MS : Number(opts['idle-poll']);
  if (!Number.isInteger(idlePoll) || idlePoll < 1 || idlePoll > 60000)
    fail('--idle-poll must be an integer from 1 to 60000 (ms)');
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

  const log = createLogger((opts.verbose as number) ?? 0, opts['log-file'] as string | undefined);
  const consumer = new Consumer({ log, idlePollMs: idlePoll });
  const me = process.getuid?.() ?? 0;
  let sessiond: number | undefined;
  let exiting = false;
  const exit = (why: string) => {
    if (exiting) return;
    exiting = true;
    log.info(`${why}: draining and exiting`);
    try {
      consumer.shutdown();
    } catch (err) {
      log.error(`while draining: ${(err as Error).message}`);
    }
    fs.rmSync(socket, { force: true });
    log.end(() => process.exit(0));
  };
  const server = new RpcServer<
    tstrace.consumer.Request.$Properties,
    tstrace.consumer.Reply.$Properties,
    PeerCredentials
  >({
    link: consumerLink,
    serverName: `tstrace-consumerd ${VERSION}`,
    log,
    identify: (s) => peerCredentials(s),
    authorize: (peer) => {
      if (peer.uid !== me && peer.uid !== 0)
        throw new StatusError(StatusCode.PERMISSION_DENIED, `uid ${peer.uid} may not command this consumer daemon`);
      if (sessiond !== undefined)
        throw new StatusError(StatusCode.PERMISSION_DENIED, 'this consumer daemon already serves a session daemon');
      sessiond = peer.pid;
    },
    handler: (req) => consumer.handle(req),
    // The session daemon is gone (stopped or killed): nothing will ever command us again.
    onClose: (conn) => {
      if (conn.peer.pid === sessiond) exit('the session daemon disconnected');
    },
  });
  fs.rmSync(socket, { force: true });
  try {
    await server.listenUnix(socket, 0o600);
  } catch (err) {
    tell(`error: ${(err as Error).message}\n`);
    fail((err as Error).message);
  }
  tell('ok\n');
  log.info(`consumer daemon ${process.pid} (${domain}) ready on ${socket}`);
  process.on('SIGTERM', () => exit('SIGTERM'));
  process.on('SIGINT', () => exit('SIGINT'));
  process.on('SIGPIPE', () => {});
}

export { main };
