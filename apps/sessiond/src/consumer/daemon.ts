/**
 * The userspace consumer daemon as the session daemon sees it: spawned on first need, commanded
 * over `<rundir>/consumerd-ust.sock`, and restarted when it dies (the caller then re-attaches
 * every channel). Calls made while it is (re)starting wait for it.
 */
import { consumerLink, RpcClient, StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

type Request = tstrace.consumer.Request.$Properties;
type Reply = tstrace.consumer.Reply.$Properties;
type Client = RpcClient<Request, Reply>;

export interface ConsumerLog {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ConsumerDaemonOptions {
  runDir: string;
  log: ConsumerLog;
  /** -v count passed on to the consumer. */
  verbosity?: number;
  /** The consumer died and a new one serves: re-attach everything. `downMs` is how long none served. */
  onRestart: (downMs: number) => void;
  /** How long to wait before spawning again after a death (ms). */
  restartDelayMs?: number;
}

/** Where the consumer daemon's entry script is (bundle or compiled sources, see its bin). */
export function consumerdBinary(): string {
  return path.join(path.dirname(require.resolve('@tstrace/consumerd/package.json')), 'bin', 'tstrace-consumerd');
}

export class ConsumerDaemon {
  readonly socketPath: string;
  /** Deaths seen (each followed by a restart). */
  restarts = 0;
  private child: ChildProcess | undefined;
  private client: Promise<Client> | undefined;
  private stopping = false;
  private diedAt = 0;

  constructor(private readonly options: ConsumerDaemonOptions) {
    this.socketPath = path.join(options.runDir, 'consumerd-ust.sock');
  }

  /** Is a consumer process running (or starting)? */
  get running(): boolean {
    return this.client !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Sends one command, starting the consumer if needed. */
  async call(request: Request): Promise<Reply> {
    if (this.stopping) throw new StatusError(StatusCode.CONSUMER_UNAVAILABLE, 'the session daemon is shutting down');
    if (!this.client) this.client = this.start();
    const client = await this.client;
    return client.call(request);
  }

  /** Disconnects: the consumer drains what is left and exits; waits for it (up to timeoutMs). */
  async stop(timeoutMs = 10000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    const client = await this.client?.catch(() => undefined);
    client?.close();
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.options.log.warn(`consumer daemon ${child.pid} did not exit within ${timeoutMs} ms: killing it`);
        child.kill('SIGKILL');
        resolve();
      }, timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async start(): Promise<Client> {
    const { log } = this.options;
    const args = [consumerdBinary(), '--socket', this.socketPath, '--ready-fd', '3'];
    if (this.options.verbosity) args.push(`-${'v'.repeat(Math.min(2, this.options.verbosity))}`);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
    this.child = child;
    const ready = await new Promise<string>((resolve) => {
      let said = '';
      const pipe = child.stdio[3] as NodeJS.ReadableStream;
      pipe.on('data', (d: Buffer) => (said += d.toString()));
      pipe.on('end', () => resolve(said));
      child.once('error', (err) => resolve(`error: ${err.message}`));
    });
    if (!ready.startsWith('ok')) {
      this.client = undefined;
      child.kill('SIGKILL');
      throw new StatusError(
        StatusCode.CONSUMER_UNAVAILABLE,
        `cannot start the consumer daemon: ${ready.replace(/^error: /, '').trim() || 'it exited before it was ready'}`,
      );
    }
    child.once('exit', (code, signal) => this.died(child, code, signal));
    const client = await RpcClient.connect(
      consumerLink,
      { path: this.socketPath },
      { peerName: `tstrace-sessiond ${process.pid}`, connectTimeoutMs: 5000, callTimeoutMs: 60000 },
    );
    log.info(`consumer daemon ${child.pid} serving on ${this.socketPath}`);
    return client;
  }

  private died(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.client?.then(
      (c) => c.close(),
      () => undefined,
    );
    this.client = undefined;
    this.child = undefined;
    if (this.stopping) return;
    this.restarts++;
    this.diedAt = Date.now();
    this.options.log.error(`consumer daemon ${child.pid} died (${signal ?? `exit code ${code}`}): restarting it`);
    setTimeout(() => {
      if (this.stopping || this.client) return;
      this.client = this.start();
      this.client.then(
        () => this.options.onRestart(Date.now() - this.diedAt),
        (err: Error) => this.options.log.error(`the consumer daemon could not be restarted: ${err.message}`),
      );
    }, this.options.restartDelayMs ?? 100).unref();
  }
}
