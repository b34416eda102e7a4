/**
 * The userspace data path, session daemon side (docs/USERSPACE.md): shared-memory directories
 * and stream files, CTF event ids, status pages, and the AppState each registered app gets.
 * `sync()` brings everything in line with the sessions and the apps; the daemon calls it after
 * every command and every app (un)registration.
 */
import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RegisteredApp } from '../apps';
import { BufferScheme, ChannelState, Domain, SessionState } from '../model';
import { dateStamp } from '../registry';
import {
  BufferSet,
  bufferDirName,
  createStreams,
  createWakePipes,
  DaemonIdentity,
  OwnerKind,
  streamFileOwner,
} from './buffers';
import { EventIdTable } from './event-ids';
import { computeRoutes, sessionConcernsApp } from './routes';
import { DEFAULT_SHM_BASE, defaultShmRoot, ensureOwnedDir, ensureOwnedPath, makeUniqueDir, ShmDirs } from './shm';
import { STATUS_PAGE_SIZE, StatusPage } from './status-page';

export type AppReply = tstrace.app.Reply.$Properties;
export type AppPush = (reply: AppReply) => void;

export interface UstLog {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface UstManagerOptions {
  runDir: string;
  daemon: DaemonIdentity;
  log: UstLog;
  /** Where the default shm root goes (tests use a temporary directory). */
  shmBase?: string;
  /** Streams per channel and owner; default os.availableParallelism(). */
  streamCount?: number;
  /** Called at the end of every sync: buffer sets or their events may have changed. */
  onChange?: () => void;
  /**
   * May apps write event `eventId` into this set yet? (The consumer drains the set and knows the
   * event's layout, so that it can count the packets that hold it.) Routes wait until it may.
   */
  setReady?: (set: BufferSet, eventId: number) => boolean;
}

/** What the manager keeps per registered app (per apps.sock connection). */
interface AppLink {
  app: RegisteredApp;
  page: StatusPage;
  push: AppPush;
  /** Generation of the last AppState pushed (0: none yet). */
  generation: number;
  /** The last AppState pushed (channels and routes), as JSON: a new one goes out only when it differs. */
  sent?: string;
  /** Events routed by the last AppState pushed. */
  routed: Set<number>;
  /** Events routed by each state pushed and not acknowledged yet, by generation. */
  unacked: Map<number, Set<number>>;
  /** Events whose status byte is 1. */
  lit: Set<number>;
  /** Generation the app last acknowledged without error. */
  acked: number;
}

/** What the manager keeps per session that has (or had) userspace buffers. */
interface UstSession {
  /** Real path of `<shm root>/<session>-<date>`, once made. */
  dir?: string;
  /** Buffer sets by `<channel index>/uid/<uid>` or `<channel index>/pid/<process key>`. */
  sets: Map<string, BufferSet>;
  /** Per-PID directories of the session, by process key (shared by all its channels). */
  pidDirs: Map<string, string>;
  nextInstance: bigint;
  /** Trace UUIDs by trace directory (relative): the channels of one owner share a trace. */
  traceUuids: Map<string, string>;
  /** Failures already logged, so that a failing set is not logged at every command. */
  failed: Set<string>;
}

export class UstManager {
  readonly defaultRoot: string;
  readonly shmDirs: ShmDirs;
  private readonly links = new Map<number, AppLink>();
  private readonly ust = new Map<SessionState, UstSession>();
  private readonly streamCount: number;
  private readonly log: UstLog;
  private readonly daemon: DaemonIdentity;
  private nextKey = 1;
  private stopped = false;

  constructor(
    private readonly sessions: { all(): readonly SessionState[] },
    private readonly options: UstManagerOptions,
  ) {
    this.defaultRoot = defaultShmRoot(options.runDir, options.shmBase ?? DEFAULT_SHM_BASE);
    this.shmDirs = new ShmDirs(path.join(options.runDir, 'shm-dirs'), options.log);
    this.streamCount = options.streamCount ?? Math.max(1, os.availableParallelism());
    this.log = options.log;
    this.daemon = options.daemon;
  }

  /** At daemon start-up (run dir locked): removes what a killed daemon of this run dir left. */
  startup(): void {
    this.shmDirs.cleanupAtStartup(this.defaultRoot);
  }

  /** At daemon shutdown: status pages, every session's buffers and the default root go. */
  shutdown(): void {
    this.stopped = true;
    for (const link of this.links.values()) link.page.close();
    this.links.clear();
    for (const [session, u] of this.ust) this.drop(session, u);
    this.shmDirs.close();
    fs.rmSync(this.defaultRoot, { recursive: true, force: true });
  }

  // ---- apps ----

  /**
   * A new registration: creates and maps its status page (owned by the app, 0600). The caller
   * replies with the returned `Registered`, then calls `sync()` so that the first AppState
   * follows the reply.
   */
  appRegistered(app: RegisteredApp, push: AppPush): tstrace.app.Registered.$Properties {
    if (this.stopped) throw new StatusError(StatusCode.CONNECTION_CLOSED, 'the session daemon is shutting down');
    if (this.links.has(app.connectionId))
      throw new StatusError(StatusCode.INVALID_ARGUMENT, 'this connection has already registered an app');
    ensureOwnedDir(this.defaultRoot, this.daemon.uid);
    const appsDir = path.join(this.defaultRoot, 'apps');
    ensureOwnedDir(appsDir, this.daemon.uid);
    const page = StatusPage.create(appsDir, app.id, this.daemon.uid === 0 ? { uid: app.uid, gid: app.gid } : undefined);
    this.links.set(app.connectionId, {
      app,
      page,
      push,
      generation: 0,
      routed: new Set(),
      unacked: new Map(),
      lit: new Set(),
      acked: 0,
    });
    return { appId: app.id, statusPage: page.path, statusPageSize: STATUS_PAGE_SIZE };
  }

  /** The app's connection closed: its status page goes (its per-PID buffers stay with their sessions). */
  appClosed(connectionId: number): void {
    const link = this.links.get(connectionId);
    if (!link) return;
    this.links.delete(connectionId);
    link.page.close();
  }

  /**
   * AckState: the app applied (mapped) the state of `generation`. For the latest generation, the
   * routed events' status bytes become 1 (the others 0); an older generation changes nothing; an
   * error is logged and every byte of the app is cleared (its state is unknown).
   */
  ack(connectionId: number, generation: number, error: string): void {
    const link = this.links.get(connectionId);
    if (!link) throw new StatusError(StatusCode.HANDSHAKE_REQUIRED, 'register the app (RegisterApp) first');
    if (!Number.isSafeInteger(generation) || generation < 1 || generation > link.generation) {
      throw new StatusError(
        StatusCode.INVALID_ARGUMENT,
        `no AppState of generation ${generation} was sent (the latest is ${link.generation})`,
      );
    }
    const ackedRoutes = link.unacked.get(generation);
    for (const g of [...link.unacked.keys()]) if (g <= generation) link.unacked.delete(g);
    if (generation < link.generation) {
      // An older state applied: its routes that the latest state keeps may write already (the
      // app holds their streams). Waiting for the latest ack would lose the app's first events
      // when states follow each other quickly.
      if (error || !ackedRoutes) return;
      for (const i of ackedRoutes) {
        if (!link.routed.has(i) || link.lit.has(i)) continue;
        link.page.set(i, true);
        link.lit.add(i);
      }
      return;
    }
    const { app, page } = link;
    if (error) {
      this.log.warn(
        `app ${app.procname} pid ${app.pid} thread ${app.threadId} could not apply state ${generation}: ${error}`,
      );
      for (const i of link.lit) page.set(i, false);
      link.lit.clear();
      return;
    }
    for (const i of link.lit) if (!link.routed.has(i)) page.set(i, false);
    for (const i of link.routed) page.set(i, true);
    link.lit = new Set(link.routed);
    link.acked = generation;
  }

  /** The status page of an app (tests, diagnostics). */
  statusPage(connectionId: number): StatusPage | undefined {
    return this.links.get(connectionId)?.page;
  }

  // ---- sessions ----

  /**
   * `start`: makes the session's shm directory and the buffers of every enabled userspace channel
   * for every registered app the session concerns. Throws (INVALID_OUTPUT) when they cannot be
   * made, so that the caller can refuse the start; the caller then calls `sync()`.
   */
  sessionStarted(session: SessionState): void {
    if (this.stopped) return;
    try {
      this.ensureBuffers(session, true);
    } catch (err) {
      if (err instanceof StatusError) throw err;
      throw new StatusError(
        StatusCode.INVALID_OUTPUT,
        `cannot create the shared-memory buffers of session "${session.name}" under ${session.shmPath || this.defaultRoot}: ${(err as Error).message}`,
      );
    }
  }

  /**
   * Brings buffers, AppStates and status pages in line with the sessions and apps: buffers for
   * the active sessions, a new AppState to each app whose state changed (its lost events'
   * bytes cleared first), and the shm directories of destroyed sessions removed.
   */
  sync(): void {
    if (this.stopped) return;
    const all = this.sessions.all();
    const live = new Set(all);
    const active = all.filter((s) => s.active);
    for (const s of active) {
      try {
        this.ensureBuffers(s, false);
      } catch (err) {
        this.logOnce(
          this.state(s),
          '',
          `cannot create the shared-memory directory of session "${s.name}": ${(err as Error).message}`,
        );
      }
    }
    for (const link of this.links.values()) this.update(link, active);
    for (const [s, u] of this.ust) if (!live.has(s)) this.drop(s, u);
    this.options.onChange?.();
  }

  /** The buffer sets of a session, in creation order (the consumer side drains them). */
  setsOf(session: SessionState): BufferSet[] {
    return [...(this.ust.get(session)?.sets.values() ?? [])];
  }

  /** The buffer sets of a session, for SessionInfo, in creation order. */
  buffersOf(session: SessionState): tstrace.client.BufferInfo.$Properties[] {
    const u = this.ust.get(session);
    if (!u) return [];
    return [...u.sets.values()].map((set) => ({
      channel: set.channel.name,
      owner: set.owner,
      id: set.owner === 'pid' ? set.pid : set.uid,
      procname: set.procname,
      directory: set.dir,
      streamPaths: [...set.streamPaths],
      contexts: [...set.channel.contexts],
      streamId: set.streamId,
      events: set.ids.entries.map((e) => ({
        id: e.id,
        name: e.name,
        loglevel: e.loglevel,
        fields: e.fields.map((f) => ({ ...f })),
      })),
    }));
  }

  /** The session's shm directory, if made. */
  sessionDir(session: SessionState): string | undefined {
    return this.ust.get(session)?.dir;
  }

  private state(session: SessionState): UstSession {
    let u = this.ust.get(session);
    if (!u) {
      u = { sets: new Map(), pidDirs: new Map(), nextInstance: 0n, traceUuids: new Map(), failed: new Set() };
      this.ust.set(session, u);
    }
    return u;
  }

  private logOnce(u: UstSession, key: string, message: string): void {
    if (u.failed.has(key)) return;
    u.failed.add(key);
    this.log.error(message);
  }

  /** `<shm root>/<session>-<YYYYMMDD-HHMMSS>` (a `-N` suffix if taken), made once and recorded. */
  private ensureSessionDir(session: SessionState, u: UstSession): string {
    if (u.dir) return u.dir;
    let root: string;
    if (session.shmPath) {
      fs.mkdirSync(session.shmPath, { recursive: true, mode: 0o755 });
      root = session.shmPath;
    } else {
      ensureOwnedDir(this.defaultRoot, this.daemon.uid);
      root = this.defaultRoot;
    }
    u.dir = makeUniqueDir(path.join(root, `${session.name}-${dateStamp(new Date(session.createdMs))}`));
    this.shmDirs.add(u.dir);
    u.failed.delete('');
    return u.dir;
  }

  /**
   * Every enabled userspace channel × every registered app the session concerns: the buffers of
   * the app's owner (its uid, or its process) exist. Strict: the first failure is thrown;
   * otherwise failures are logged (once) and the set is retried at the next sync.
   */
  private ensureBuffers(session: SessionState, strict: boolean): void {
    const channels = session.channels.filter((c) => c.domain === Domain.USERSPACE);
    if (channels.length === 0) return;
    const u = this.state(session);
    this.ensureSessionDir(session, u);
    channels.forEach((channel, index) => {
      if (!channel.enabled) return;
      for (const { app } of this.links.values()) {
        if (!sessionConcernsApp(session, app)) continue;
        try {
          this.ensureSet(session, u, channel, index, app);
        } catch (err) {
          if (strict) throw err;
          this.logOnce(
            u,
            setKey(channel, index, app),
            `cannot create the buffers of channel "${channel.name}" of session "${session.name}" for ${app.procname} pid ${app.pid}: ${(err as Error).message}`,
          );
        }
      }
    });
  }

  private ensureSet(
    session: SessionState,
    u: UstSession,
    channel: ChannelState,
    index: number,
    app: RegisteredApp,
  ): BufferSet {
    const key = setKey(channel, index, app);
    const existing = u.sets.get(key);
    if (existing) return existing;
    const sessionDir = this.ensureSessionDir(session, u);
    const kind: OwnerKind = channel.buffers === BufferScheme.PER_PID ? 'pid' : 'uid';
    let dir: string;
    if (kind === 'uid') {
      dir = path.join(sessionDir, bufferDirName('uid', app));
      ensureOwnedPath(sessionDir, dir, this.daemon.uid);
    } else {
      dir = u.pidDirs.get(app.processKey) ?? '';
      if (!dir) {
        const name = bufferDirName('pid', app);
        ensureOwnedPath(sessionDir, path.join(sessionDir, path.dirname(name)), this.daemon.uid);
        dir = makeUniqueDir(path.join(sessionDir, name));
        u.pidDirs.set(app.processKey, dir);
      }
    }
    const traceDir = path.relative(sessionDir, dir);
    let traceUuid = u.traceUuids.get(traceDir);
    if (!traceUuid) {
      traceUuid = randomUUID();
      u.traceUuids.set(traceDir, traceUuid);
    }
    const owner = streamFileOwner(kind, app, this.daemon);
    const streamPaths = createStreams(dir, traceUuid, channel, index, this.streamCount, () => u.nextInstance++, owner);
    let wake: { paths: string[]; fds: number[] };
    try {
      wake = createWakePipes(streamPaths, owner);
    } catch (err) {
      for (const p of streamPaths) fs.rmSync(p, { force: true });
      throw err;
    }
    const set: BufferSet = {
      key: this.nextKey++,
      session,
      channel,
      streamId: index,
      owner: kind,
      uid: app.uid,
      pid: kind === 'pid' ? app.pid : 0,
      procname: kind === 'pid' ? app.procname : '',
      dir,
      traceDir,
      traceUuid,
      streamPaths,
      wakePaths: wake.paths,
      wakeFds: wake.fds,
      ids: new EventIdTable(),
    };
    u.sets.set(key, set);
    u.failed.delete(key);
    this.log.debug(`session "${session.name}" channel "${channel.name}": ${this.streamCount} streams in ${dir}`);
    return set;
  }

  /** Removes a destroyed session's shm directory and its record. */
  private drop(session: SessionState, u: UstSession): void {
    this.ust.delete(session);
    for (const set of u.sets.values()) for (const fd of set.wakeFds.splice(0)) fs.closeSync(fd);
    if (u.dir) this.shmDirs.remove(u.dir);
  }

  // ---- app states ----

  /**
   * The AppState an app should have now; routes into sets that could not be made are left out.
   * `waiting`: a route goes into a set the consumer has not attached yet, or carries an event
   * whose layout the consumer has not received yet.
   */
  private desiredState(
    link: AppLink,
    active: readonly SessionState[],
  ): {
    channels: tstrace.app.AppChannel.$Properties[];
    routes: tstrace.app.AppRoute.$Properties[];
    knownEvents: number;
    waiting: boolean;
  } {
    const { app } = link;
    const channels = new Map<number, tstrace.app.AppChannel.$Properties>();
    const routes: tstrace.app.AppRoute.$Properties[] = [];
    let waiting = false;
    for (const r of computeRoutes(app, active)) {
      const set = this.ust.get(r.session)?.sets.get(setKey(r.channel, r.channelIndex, app));
      if (!set) continue;
      // The id is given now, so that the consumer learns the event's layout before any app writes it.
      const eventId = set.ids.idFor(app.events[r.event]);
      if (!(this.options.setReady?.(set, eventId) ?? true)) {
        waiting = true;
        continue;
      }
      if (!channels.has(set.key)) {
        channels.set(set.key, {
          key: set.key,
          session: r.session.name,
          channel: r.channel.name,
          streamPaths: [...set.streamPaths],
          contexts: [...r.channel.contexts],
          wakePaths: [...set.wakePaths],
        });
      }
      routes.push({ event: r.event, channelKey: set.key, eventId, filters: r.filters });
    }
    return {
      channels: [...channels.values()].sort((a, b) => (a.key ?? 0) - (b.key ?? 0)),
      routes,
      knownEvents: app.events.length,
      waiting,
    };
  }

  private update(link: AppLink, active: readonly SessionState[]): void {
    const { waiting, ...state } = this.desiredState(link, active);
    // A state that still lacks a set the consumer is attaching is not sent: the app would take it
    // as complete (ready() resolves on the first one) and lose its first events. Nor one with an
    // event the consumer cannot count yet. The sync that follows the consumer's answer sends it.
    if (waiting) return;
    const text = JSON.stringify(state);
    if (text === link.sent) return;
    const routed = new Set(state.routes.map((r) => r.event ?? 0));
    // An event that loses its last route stops at once, before the app even reads the new state.
    for (const i of link.lit) {
      if (!routed.has(i)) {
        link.page.set(i, false);
        link.lit.delete(i);
      }
    }
    link.generation++;
    link.sent = text;
    link.routed = routed;
    link.unacked.set(link.generation, routed);
    link.push({ appState: { generation: link.generation, ...state } });
  }
}

/** Which buffer set of a session an app writes into for a channel: its uid's, or its process's. */
function setKey(channel: ChannelState, index: number, app: RegisteredApp): string {
  return channel.buffers === BufferScheme.PER_PID ? `${index}/pid/${app.processKey}` : `${index}/uid/${app.uid}`;
}
