import {
  appLink,
  clientLink,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  PushConnection,
  RpcServer,
  ServerLog,
  StatusCode,
  StatusError,
  tstrace,
} from '@tstrace/comm';
import { runDirPaths, RunDirPaths, toNumber, tracingGroupId } from '@tstrace/ctl';
import { lockFile, peerCredentials, processGroups } from '@tstrace/native';
import * as fs from 'node:fs';
import { AppRegistry } from './apps';
import { Caller } from './model';
import { SessionRegistry } from './registry';
import { ClientService } from './service';
import { UstManager } from './ust/index';
import { ConsumerDaemon } from './consumer/daemon';
import { ConsumerSync } from './consumer/sync';

export interface DaemonOptions {
  runDir: string;
  /** The root daemon: its client socket is open to the tracing group, its apps socket to all. */
  global: boolean;
  version: string;
  defaultHome: string;
  log: ServerLog & { info(message: string): void };
  maxFrameSize?: number;
  pidFile?: string;
  /** Where the default shared-memory root goes (default /dev/shm). */
  shmBase?: string;
  /** -v count, passed on to the consumer daemon. */
  verbosity?: number;
}

/**
 * One session daemon: owns a run directory (guarded by a lock), serves client.sock and apps.sock.
 * A lock held by a live daemon refuses a second one; a socket left by a killed one is replaced.
 */
export class SessionDaemon {
  readonly paths: RunDirPaths;
  readonly sessions: SessionRegistry;
  readonly apps = new AppRegistry();
  private lockFd: number | undefined;
  private clientServer:
    RpcServer<tstrace.client.Request.$Properties, tstrace.client.Reply.$Properties, Caller> | undefined;
  private appServer: RpcServer<tstrace.app.Request.$Properties, tstrace.app.Reply.$Properties, Caller> | undefined;
  private ust: UstManager | undefined;
  private consumer: ConsumerDaemon | undefined;
  private readonly uid = process.getuid?.() ?? 0;

  constructor(private readonly options: DaemonOptions) {
    this.paths = runDirPaths(options.runDir);
    this.sessions = new SessionRegistry({ kernelAvailable: this.uid === 0, defaultHome: options.defaultHome });
  }

  async start(): Promise<void> {
    const { runDir, global, log } = this.options;
    // The mode is set even on an existing directory: a world-writable run dir would let anyone
    // replace our sockets, and a closed one would shut out the tracing group.
    fs.mkdirSync(runDir, { recursive: true });
    fs.chmodSync(runDir, global ? 0o755 : 0o700);
    this.lockFd = fs.openSync(this.paths.lockFile, 'a+', 0o600);
    if (!lockFile(this.lockFd)) {
      fs.closeSync(this.lockFd);
      this.lockFd = undefined;
      const pid = readPid(this.options.pidFile ?? this.paths.pidFile);
      throw new StatusError(
        StatusCode.SESSIOND_ALREADY_RUNNING,
        `a session daemon is already running in ${runDir}${pid ? ` (pid ${pid})` : ''}`,
      );
    }
    // We hold the lock: any socket still here belongs to a daemon that died.
    for (const stale of [this.paths.clientSocket, this.paths.appsSocket]) {
      if (fs.existsSync(stale)) {
        log.info(`removing stale socket ${stale}`);
        fs.rmSync(stale, { force: true });
      }
    }
    const tracingGid = global ? tracingGroupId() : undefined;
    let consumerSync: ConsumerSync | undefined;
    const ust = new UstManager(this.sessions, {
      runDir,
      daemon: { uid: this.uid, gid: process.getgid?.() ?? 0, tracingGid: this.uid === 0 ? tracingGid : undefined },
      log,
      shmBase: this.options.shmBase,
      onChange: () => consumerSync?.schedule(),
      setReady: (set, eventId) => consumerSync?.isReady(set, eventId) ?? true,
    });
    const consumer = new ConsumerDaemon({
      runDir,
      log,
      verbosity: this.options.verbosity,
      onRestart: (downMs) => consumerSync?.restarted(downMs),
    });
    consumerSync = new ConsumerSync(consumer, this.sessions, ust, log, () => ust.sync());
    this.consumer = consumer;
    // Shared memory a killed daemon left goes before we make any.
    ust.startup();
    this.ust = ust;
    const service = new ClientService(
      this.sessions,
      this.apps,
      {
        version: this.options.version,
        protocolMajor: PROTOCOL_MAJOR,
        protocolMinor: PROTOCOL_MINOR,
        daemonUid: this.uid,
        defaultHome: this.options.defaultHome,
      },
      ust,
      consumerSync,
    );
    const identify = (socket: import('node:net').Socket): Caller => peerCredentials(socket);
    this.clientServer = new RpcServer({
      link: clientLink,
      serverName: `tstrace-sessiond ${this.options.version}`,
      maxFrameSize: this.options.maxFrameSize,
      log,
      identify,
      authorize: (peer) => this.authorizeClient(peer, tracingGid),
      handler: (req, conn) => {
        log.debug(`client pid ${conn.peer.pid} uid ${conn.peer.uid}: ${req.command}`);
        return service.handle(req, conn.peer);
      },
    });
    this.appServer = new RpcServer({
      link: appLink,
      serverName: `tstrace-sessiond ${this.options.version}`,
      maxFrameSize: this.options.maxFrameSize,
      log,
      identify,
      authorize: (peer) => {
        if (!global && peer.uid !== this.uid && peer.uid !== 0)
          throw new StatusError(
            StatusCode.PERMISSION_DENIED,
            "this per-user session daemon traces its own user's apps only",
          );
      },
      handler: (req, conn) => this.handleApp(req, conn),
      onClose: (conn) => {
        const app = this.apps.unregister(conn.id);
        if (!app) return;
        this.options.log.info(`app gone: ${app.procname} pid ${app.pid} thread ${app.threadId}`);
        this.ust?.appClosed(conn.id);
        this.ust?.sync();
      },
    });
    await this.clientServer.listenUnix(this.paths.clientSocket, global ? 0o660 : 0o600, tracingGid);
    await this.appServer.listenUnix(this.paths.appsSocket, global ? 0o666 : 0o600);
    fs.writeFileSync(this.options.pidFile ?? this.paths.pidFile, `${process.pid}\n`);
    log.info(
      `session daemon ${process.pid} ready in ${runDir} (${global ? 'global' : 'per-user'}${tracingGid !== undefined ? `, tracing group ${tracingGid}` : ''})`,
    );
  }

  /** Root, the daemon's own user, and (for the global daemon) members of the tracing group. */
  private authorizeClient(peer: Caller, tracingGid: number | undefined): void {
    if (peer.uid === 0 || peer.uid === this.uid) return;
    if (tracingGid !== undefined) {
      let groups: number[] = [];
      try {
        groups = processGroups(peer.pid);
      } catch {
        // The process is gone: nothing to serve.
      }
      if (groups.includes(tracingGid)) return;
    }
    throw new StatusError(
      StatusCode.PERMISSION_DENIED,
      `uid ${peer.uid} may not use this session daemon: root, uid ${this.uid} and members of the 'tracing' group may`,
    );
  }

  private handleApp(
    req: tstrace.app.Request.$Properties,
    conn: PushConnection<tstrace.app.Reply.$Properties, Caller>,
  ): tstrace.app.Reply.$Properties {
    const ust = this.ust!;
    switch (req.command) {
      case 'registerApp': {
        const app = this.apps.register(conn.id, conn.peer, req.registerApp!);
        let registered: tstrace.app.Registered.$Properties;
        try {
          registered = ust.appRegistered(app, (reply) => conn.push(reply));
        } catch (err) {
          this.apps.unregister(conn.id);
          if (err instanceof StatusError) throw err;
          this.options.log.error(
            `cannot create the status page of ${app.procname} pid ${app.pid}: ${(err as Error).message}`,
          );
          throw new StatusError(StatusCode.INTERNAL_ERROR, `cannot create the status page: ${(err as Error).message}`);
        }
        this.options.log.info(
          `app registered: ${app.procname} pid ${app.pid} thread ${app.threadId} uid ${app.uid}, ${app.events.length} events`,
        );
        // The first AppState goes out after this reply, so that the app knows its status page first.
        setImmediate(() => ust.sync());
        return { registered };
      }
      case 'registerEvents': {
        const app = this.apps.addEvents(conn.id, req.registerEvents!.events ?? []);
        setImmediate(() => ust.sync());
        return { registered: { appId: app.id } };
      }
      case 'ackState': {
        this.apps.get(conn.id);
        ust.ack(conn.id, toNumber(req.ackState!.generation), req.ackState!.error ?? '');
        return {};
      }
      default:
        throw new StatusError(StatusCode.UNKNOWN_COMMAND, `unknown app command ${String(req.command)}`);
    }
  }

  /** Stops serving; removes the sockets, the pid file and the shared memory (traces on disk stay). */
  async stop(): Promise<void> {
    await Promise.all([this.clientServer?.close(), this.appServer?.close()]);
    // The consumer drains what the buffers hold before the shared memory goes.
    await this.consumer?.stop();
    this.ust?.shutdown();
    for (const f of [this.paths.clientSocket, this.paths.appsSocket, this.options.pidFile ?? this.paths.pidFile])
      fs.rmSync(f, { force: true });
    if (this.lockFd !== undefined) fs.closeSync(this.lockFd);
    this.lockFd = undefined;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
