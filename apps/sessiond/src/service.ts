import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { AppRegistry } from './apps';
import { kernelEvents } from './kernel-events';
import { Caller, Domain, SessionState, toInfo } from './model';
import { SessionRegistry } from './registry';
import { CallerFiles, defaultSessionsDir, parseSessionFile, sessionFilePath, sessionFileText } from './session-files';
import * as fs from 'node:fs';
import * as path from 'node:path';

type Request = tstrace.client.Request.$Properties;
type Reply = tstrace.client.Reply.$Properties;

export interface ServiceInfo {
  version: string;
  protocolMajor: number;
  protocolMinor: number;
  daemonUid: number;
  defaultHome: string;
}

/** What the service needs of the userspace data path (apps/sessiond/src/ust). */
export interface UstHooks {
  /** The userspace buffers made for a session, shown with it. */
  buffersOf(s: SessionState): tstrace.client.BufferInfo.$Properties[];
  /** Makes a session's buffers when it starts; throws to refuse the start. */
  sessionStarted(s: SessionState): void;
  /** Brings buffers and apps' states in line with the sessions, after every command. */
  sync(): void;
}

/** What the service needs of the consumer side (apps/sessiond/src/consumer). */
export interface ConsumerHooks {
  /** stop: flush, and unless noWait wait until the data is on disk. */
  stopped(s: SessionState, noWait: boolean): Promise<void>;
  /** destroy: wait for the data, then close the session's trace files. */
  destroyed(s: SessionState): Promise<void>;
  /** Fresh stats for a reply that shows these sessions. */
  refresh(sessions: readonly SessionState[]): Promise<void>;
  /** The consumer's view of a buffer set: where it goes and what it wrote. */
  bufferStats(
    s: SessionState,
    set: tstrace.client.BufferInfo.$Properties,
    key: number,
  ): Partial<tstrace.client.BufferInfo.$Properties>;
  historyOf(s: SessionState): { restarts: number; downMs: number };
  /** snapshot record: copies what the session's buffers hold into dir; what each set's copy holds. */
  snapshot(s: SessionState, dir: string, maxSize: number): Promise<Partial<tstrace.client.BufferInfo.$Properties>[]>;
}

/** Turns client requests into registry commands and replies: the logic behind client.sock. */
export class ClientService {
  constructor(
    readonly sessions: SessionRegistry,
    readonly apps: AppRegistry,
    private readonly info: ServiceInfo,
    private readonly ust?: UstHooks,
    private readonly consumer?: ConsumerHooks,
  ) {}

  /**
   * Runs a command, then lets the userspace side follow (buffers, AppStates, status pages), then
   * builds the reply, so that a session in the reply lists the buffers the command made. stop
   * and destroy wait for the consumer to have the data on disk (stop --no-wait does not).
   */
  async handle(req: Request, caller: Caller): Promise<Reply> {
    if (req.command === 'snapshotRecord') return { snapshot: await this.snapshotRecord(caller, req.snapshotRecord!) };
    if (req.command === 'destroySession' && this.consumer) {
      const d = req.destroySession!;
      // Checked before anything waits: a bad name fails at once and changes nothing.
      const doomed = d.all ? this.sessions.list(caller) : [this.sessions.get(caller, d.name ?? '')];
      for (const s of doomed) if (s.active) this.sessions.stop(caller, s.name);
      this.ust?.sync();
      // A consumer that cannot be reached does not keep a session alive (the error is logged).
      for (const s of doomed) await this.consumer.destroyed(s).catch(() => undefined);
    }
    const reply = this.runAndSync(req, caller);
    if (this.consumer) {
      if (req.command === 'stopTracing') {
        await this.consumer
          .stopped(this.sessions.get(caller, req.stopTracing!.session ?? ''), !!req.stopTracing!.noWait)
          .catch(() => undefined);
      } else if (req.command === 'getSession') {
        await this.consumer.refresh([this.sessions.get(caller, req.getSession!.name ?? '')]).catch(() => undefined);
      } else if (req.command === 'listSessions') {
        await this.consumer.refresh(this.sessions.list(caller)).catch(() => undefined);
      }
    }
    return typeof reply === 'function' ? reply() : reply;
  }

  /** The command and the userspace side's sync, without waiting for the consumer (unit tests). */
  handleSync(req: Request, caller: Caller): Reply {
    const reply = this.runAndSync(req, caller);
    return typeof reply === 'function' ? reply() : reply;
  }

  private runAndSync(req: Request, caller: Caller): Reply | (() => Reply) {
    const reply = this.run(req, caller);
    this.ust?.sync();
    return reply;
  }

  /** The session as the client sees it: settings, identity, its userspace buffers and what the consumer wrote. */
  sessionInfo(s: SessionState): tstrace.client.SessionInfo.$Properties {
    const buffers = this.ust?.buffersOf(s) ?? [];
    const history = this.consumer?.historyOf(s) ?? { restarts: 0, downMs: 0 };
    return {
      ...toInfo(s),
      buffers: this.consumer ? buffers.map((b, i) => ({ ...b, ...this.consumer!.bufferStats(s, b, i) })) : buffers,
      consumerRestarts: history.restarts,
      consumerDownMs: history.downMs,
    };
  }

  private run(req: Request, caller: Caller): Reply | (() => Reply) {
    const one = (s: SessionState) => (): Reply => ({ session: this.sessionInfo(s) });
    const r = this.sessions;
    switch (req.command) {
      case 'createSession':
        return one(r.create(caller, req.createSession!));
      case 'destroySession':
        return { names: { names: r.destroy(caller, req.destroySession!.name ?? '', !!req.destroySession!.all) } };
      case 'listSessions': {
        const sessions = r.list(caller);
        return () => ({ sessions: { sessions: sessions.map((s) => this.sessionInfo(s)) } });
      }
      case 'getSession':
        return one(r.get(caller, req.getSession!.name ?? ''));
      case 'enableChannel':
        return one(r.enableChannel(caller, req.enableChannel!));
      case 'disableChannel':
        return one(r.disableChannel(caller, req.disableChannel!));
      case 'enableEvent':
        return one(r.enableEvent(caller, req.enableEvent!));
      case 'disableEvent':
        return one(r.disableEvent(caller, req.disableEvent!));
      case 'addContext':
        return one(r.addContext(caller, req.addContext!));
      case 'startTracing':
        return one(this.start(caller, req.startTracing!.session ?? ''));
      case 'stopTracing':
        return one(r.stop(caller, req.stopTracing!.session ?? ''));
      case 'track':
        return one(r.track(caller, req.track!));
      case 'untrack':
        return one(r.untrack(caller, req.untrack!));
      case 'saveSessions':
        return { paths: { paths: this.save(caller, req.saveSessions!) } };
      case 'loadSessions':
        return { names: { names: this.load(caller, req.loadSessions!) } };
      case 'listApps':
        return { apps: { apps: this.listApps(caller, req.listApps!.domain ?? 0) } };
      case 'listKernelEvents':
        return { names: { names: this.listKernelEvents(!!req.listKernelEvents!.syscalls) } };
      case 'snapshotAddOutput':
        return { snapshotOutputs: { outputs: [r.addSnapshotOutput(caller, req.snapshotAddOutput!)] } };
      case 'snapshotDelOutput':
        return { snapshotOutputs: { outputs: [r.delSnapshotOutput(caller, req.snapshotDelOutput!)] } };
      case 'snapshotListOutput':
        return { snapshotOutputs: { outputs: r.snapshotOutputs(caller, req.snapshotListOutput!.session ?? '') } };
      case 'snapshotRecord':
        throw new StatusError(StatusCode.CONSUMER_UNAVAILABLE, 'snapshot record needs the consumer daemon');
      case 'getVersion':
        return {
          version: {
            version: this.info.version,
            protocolMajor: this.info.protocolMajor,
            protocolMinor: this.info.protocolMinor,
            pid: process.pid,
          },
        };
      default:
        throw new StatusError(StatusCode.UNKNOWN_COMMAND, `unknown command ${String(req.command)}`);
    }
  }

  /** snapshot record: the consumer copies the buffers into a new directory of the snapshot output. */
  private async snapshotRecord(
    caller: Caller,
    req: tstrace.client.SnapshotRecord.$Properties,
  ): Promise<tstrace.client.SnapshotResult.$Properties> {
    const plan = this.sessions.snapshotPlan(caller, req);
    if (!this.consumer)
      throw new StatusError(StatusCode.CONSUMER_UNAVAILABLE, 'snapshot record needs the consumer daemon');
    if (fs.existsSync(plan.dir)) throw new StatusError(StatusCode.OUTPUT_ERROR, `${plan.dir} already exists`);
    const copies = await this.consumer.snapshot(plan.session, plan.dir, plan.maxSize);
    this.sessions.snapshotTaken(plan.session);
    const buffers = this.ust?.buffersOf(plan.session) ?? [];
    return { path: plan.dir, buffers: copies.map((c, i) => ({ ...buffers[i], ...c })) };
  }

  /** start, with its buffers: if they cannot be made, the session stays as it was. */
  private start(caller: Caller, name: string): SessionState {
    const session = this.sessions.get(caller, name);
    const everStarted = session.everStarted;
    this.sessions.start(caller, name);
    try {
      this.ust?.sessionStarted(session);
    } catch (err) {
      session.active = false;
      session.everStarted = everStarted;
      throw err;
    }
    return session;
  }

  private home(given: string | null | undefined): string {
    const home = given || this.info.defaultHome;
    if (!path.isAbsolute(home))
      throw new StatusError(
        StatusCode.INVALID_ARGUMENT,
        `home directory ${JSON.stringify(home)} must be an absolute path`,
      );
    return home;
  }

  private save(caller: Caller, req: tstrace.client.SaveSessions.$Properties): string[] {
    const sessions = req.name && !req.all ? [this.sessions.get(caller, req.name)] : this.sessions.list(caller);
    if (sessions.length === 0) throw new StatusError(StatusCode.SESSION_NOT_FOUND, 'no session to save');
    const dir = req.outputDir || defaultSessionsDir(this.home(req.home));
    if (!path.isAbsolute(dir))
      throw new StatusError(
        StatusCode.INVALID_ARGUMENT,
        `--output-path ${JSON.stringify(dir)} must be an absolute path`,
      );
    const files = new CallerFiles(caller, this.info.daemonUid);
    const targets = sessions.map((s) => ({ file: sessionFilePath(dir, s.name), text: sessionFileText(s) }));
    if (!req.force) {
      const existing = targets.find((t) => fs.existsSync(t.file));
      if (existing)
        throw new StatusError(
          StatusCode.SAVE_FILE_EXISTS,
          `session file ${existing.file} already exists (use --force to overwrite it)`,
        );
    }
    for (const t of targets) files.write(t.file, t.text, true);
    return targets.map((t) => t.file);
  }

  private load(caller: Caller, req: tstrace.client.LoadSessions.$Properties): string[] {
    const home = this.home(req.home);
    const files = new CallerFiles(caller, this.info.daemonUid);
    const input = req.inputPath || defaultSessionsDir(home);
    if (!path.isAbsolute(input))
      throw new StatusError(
        StatusCode.INVALID_ARGUMENT,
        `--input-path ${JSON.stringify(input)} must be an absolute path`,
      );
    let candidates: string[];
    if (fs.existsSync(input) && fs.statSync(input).isFile()) candidates = [input];
    else if (req.name && !req.all) candidates = [sessionFilePath(input, req.name)];
    else candidates = files.list(input);
    let configs = candidates.map((f) => ({ file: f, config: parseSessionFile(files.read(f), f) }));
    if (req.name && !req.all) {
      configs = configs.filter((c) => c.config.name === req.name);
      if (configs.length === 0)
        throw new StatusError(StatusCode.LOAD_FILE_NOT_FOUND, `no saved session named "${req.name}" in ${input}`);
    }
    if (configs.length === 0) throw new StatusError(StatusCode.LOAD_FILE_NOT_FOUND, `no session files in ${input}`);
    if (req.overrideName && configs.length !== 1)
      throw new StatusError(StatusCode.INVALID_ARGUMENT, '--override-name needs exactly one session to load');
    // Build every session first: one bad file loads nothing.
    const built = configs.map(({ file, config }) => {
      try {
        return this.sessions.rebuild(caller, config, req.overrideName || config.name, home);
      } catch (e) {
        if (e instanceof StatusError && e.code !== StatusCode.LOAD_INVALID_FILE)
          throw new StatusError(StatusCode.LOAD_INVALID_FILE, `invalid session file ${file}: ${e.message}`);
        throw e;
      }
    });
    if (!req.force) {
      const clash = built.find((s) =>
        this.sessions.list(caller).some((x) => x.name === s.name && x.ownerUid === s.ownerUid),
      );
      if (clash)
        throw new StatusError(
          StatusCode.SESSION_EXISTS,
          `a session named "${clash.name}" already exists (use --force to replace it)`,
        );
    }
    for (const s of built) this.sessions.adopt(s, !!req.force);
    return built.map((s) => s.name);
  }

  /** Only root, the daemon's user and tracing members get this far (see SessionDaemon.authorizeClient). */
  private listKernelEvents(syscalls: boolean): string[] {
    if (this.info.daemonUid !== 0)
      throw new StatusError(
        StatusCode.KERNEL_UNAVAILABLE,
        'kernel tracing needs the root session daemon (run tstrace as root or as a member of the tracing group)',
      );
    return kernelEvents(syscalls);
  }

  private listApps(caller: Caller, domain: tstrace.client.Domain): tstrace.client.AppInfo.$Properties[] {
    if (domain !== Domain.USERSPACE)
      throw new StatusError(StatusCode.INVALID_DOMAIN, 'registered apps exist in the userspace domain (-u) only');
    return this.apps.visibleTo(caller).map((a) => ({
      pid: a.pid,
      uid: a.uid,
      procname: a.procname,
      threadId: a.threadId,
      events: a.events.map((e) => ({
        name: `${e.provider}:${e.name}`,
        loglevel: e.loglevel ?? 0,
        fields: (e.fields ?? []).map((f: tstrace.app.FieldDecl.$Properties) => ({
          name: f.name ?? '',
          type: f.type ?? '',
        })),
      })),
    }));
  }
}
