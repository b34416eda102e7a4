import { clientLink, ConnectError, RpcClient, StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { runDirPaths } from './paths';

type Request = tstrace.client.Request.$Properties;
type Reply = tstrace.client.Reply.$Properties;
export type SessionInfo = tstrace.client.SessionInfo.$Properties;

export interface SessiondClientOptions {
  /** How long to wait for the daemon to accept and answer the handshake (a stale or stopped daemon). */
  connectTimeoutMs?: number;
  callTimeoutMs?: number;
  peerName?: string;
}

/**
 * Typed client of the session daemon's client socket. Each method is one command; an error
 * status rejects with a StatusError carrying the daemon's message.
 */
export class SessiondClient {
  private constructor(
    private readonly rpc: RpcClient<Request, Reply>,
    readonly socketPath: string,
  ) {}

  /**
   * Connects to the daemon of a run directory. No daemon (no socket, or a stale one that refuses)
   * rejects with NO_SESSIOND; a daemon that accepts but never answers rejects with TIMEOUT.
   */
  static async connect(runDir: string, options: SessiondClientOptions = {}): Promise<SessiondClient> {
    const socketPath = runDirPaths(runDir).clientSocket;
    try {
      const rpc = await RpcClient.connect(
        clientLink,
        { path: socketPath },
        {
          peerName: options.peerName ?? 'tstrace-ctl',
          connectTimeoutMs: options.connectTimeoutMs ?? 2000,
          callTimeoutMs: options.callTimeoutMs ?? 30000,
        },
      );
      return new SessiondClient(rpc, socketPath);
    } catch (err) {
      if (err instanceof ConnectError) {
        if (err.errno === 'EACCES' || err.errno === 'EPERM') {
          throw new StatusError(
            StatusCode.PERMISSION_DENIED,
            `permission denied on ${socketPath}: root, the daemon's user and members of the 'tracing' group may use this session daemon`,
          );
        }
        throw new StatusError(
          StatusCode.NO_SESSIOND,
          `no session daemon is running for ${runDir} (${err.errno} on ${socketPath})`,
        );
      }
      if (err instanceof StatusError && err.code === StatusCode.TIMEOUT) {
        throw new StatusError(
          StatusCode.TIMEOUT,
          `the session daemon at ${socketPath} does not answer: ${err.message}`,
        );
      }
      throw err;
    }
  }

  /** Sends any request of the client link. */
  call(request: Request): Promise<Reply> {
    return this.rpc.call(request);
  }

  close(): void {
    this.rpc.close();
  }

  get serverVersion(): string {
    return this.rpc.server;
  }

  async createSession(req: tstrace.client.CreateSession.$Properties): Promise<SessionInfo> {
    return (await this.call({ createSession: req })).session as SessionInfo;
  }
  async destroySession(req: tstrace.client.DestroySession.$Properties): Promise<string[]> {
    return (await this.call({ destroySession: req })).names?.names ?? [];
  }
  async listSessions(): Promise<SessionInfo[]> {
    return ((await this.call({ listSessions: {} })).sessions?.sessions ?? []) as SessionInfo[];
  }
  async getSession(name: string): Promise<SessionInfo> {
    return (await this.call({ getSession: { name } })).session as SessionInfo;
  }
  async enableChannel(req: tstrace.client.EnableChannel.$Properties): Promise<Reply> {
    return this.call({ enableChannel: req });
  }
  async disableChannel(req: tstrace.client.DisableChannel.$Properties): Promise<Reply> {
    return this.call({ disableChannel: req });
  }
  async enableEvent(req: tstrace.client.EnableEvent.$Properties): Promise<Reply> {
    return this.call({ enableEvent: req });
  }
  async disableEvent(req: tstrace.client.DisableEvent.$Properties): Promise<Reply> {
    return this.call({ disableEvent: req });
  }
  async addContext(req: tstrace.client.AddContext.$Properties): Promise<Reply> {
    return this.call({ addContext: req });
  }
  async start(session: string): Promise<SessionInfo> {
    return (await this.call({ startTracing: { session } })).session as SessionInfo;
  }
  async stop(session: string, noWait = false): Promise<SessionInfo> {
    return (await this.call({ stopTracing: { session, noWait } })).session as SessionInfo;
  }
  async track(req: tstrace.client.TrackPids.$Properties): Promise<SessionInfo> {
    return (await this.call({ track: req })).session as SessionInfo;
  }
  async untrack(req: tstrace.client.TrackPids.$Properties): Promise<SessionInfo> {
    return (await this.call({ untrack: req })).session as SessionInfo;
  }
  async save(req: tstrace.client.SaveSessions.$Properties): Promise<string[]> {
    return (await this.call({ saveSessions: req })).paths?.paths ?? [];
  }
  async load(req: tstrace.client.LoadSessions.$Properties): Promise<string[]> {
    return (await this.call({ loadSessions: req })).names?.names ?? [];
  }
  async listApps(domain: tstrace.client.Domain): Promise<tstrace.client.AppInfo.$Properties[]> {
    return ((await this.call({ listApps: { domain } })).apps?.apps ?? []) as tstrace.client.AppInfo.$Properties[];
  }
  async listKernelEvents(syscalls: boolean): Promise<string[]> {
    return (await this.call({ listKernelEvents: { syscalls } })).names?.names ?? [];
  }
  async snapshotRecord(
    req: tstrace.client.SnapshotRecord.$Properties,
  ): Promise<tstrace.client.SnapshotResult.$Properties> {
    return (await this.call({ snapshotRecord: req })).snapshot ?? {};
  }
  async snapshotAddOutput(
    req: tstrace.client.SnapshotAddOutput.$Properties,
  ): Promise<tstrace.client.SnapshotOutput.$Properties> {
    return (await this.call({ snapshotAddOutput: req })).snapshotOutputs?.outputs?.[0] ?? {};
  }
  async snapshotDelOutput(
    req: tstrace.client.SnapshotDelOutput.$Properties,
  ): Promise<tstrace.client.SnapshotOutput.$Properties> {
    return (await this.call({ snapshotDelOutput: req })).snapshotOutputs?.outputs?.[0] ?? {};
  }
  async snapshotListOutput(session: string): Promise<tstrace.client.SnapshotOutput.$Properties[]> {
    return (await this.call({ snapshotListOutput: { session } })).snapshotOutputs?.outputs ?? [];
  }
  async version(): Promise<tstrace.client.VersionInfo.$Properties> {
    return (await this.call({ getVersion: {} })).version as tstrace.client.VersionInfo.$Properties;
  }
}
