/**
 * This thread's tracer: its events, and its links to the session daemons (docs/USERSPACE.md,
 * "App link" and "Tracer"). Each link connects to one apps.sock, registers the events, maps the
 * status page, applies every AppState the daemon pushes (maps stream files, builds routes,
 * acks). It never blocks the event loop, never throws into the app, never keeps the process
 * alive, and retries at most once a second, so a missing, refusing or stale daemon costs nothing.
 */
import { appLink, RpcClient, tstrace } from '@tstrace/comm';
import { globalRunDir, runDirPaths, userRunDir } from '@tstrace/ctl';
import { mapFile, unmapFile } from '@tstrace/native';
import { StreamWriter } from '@tstrace/ringbuffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileFilters } from './filter';
import { checkName, Field } from './fields';
import { contextBytes, identity } from './identity';
import { CompiledFilter, NO_STATUS, Route, StatusBytes, Tracepoint } from './tracepoint';

type AppReply = tstrace.app.Reply.$Properties;
type AppClient = RpcClient<tstrace.app.Request.$Properties, AppReply>;

export const TRACER_VERSION: string = (require('../../package.json') as { version: string }).version;

export interface TracerOptions {
  /** The apps.sock paths to register with (default: the global and the per-user daemon's). */
  sockets?: () => string[];
  /** Least time between two connection attempts to one daemon (ms). */
  retryMs?: number;
  /** Deadline of connect + handshake (ms): a stale daemon never hangs the app longer. */
  connectTimeoutMs?: number;
  /** Deadline of each request (ms). */
  callTimeoutMs?: number;
}

/** The sockets of the global daemon ($TSTRACE_RUNDIR or /var/run/tstrace) and the user's ($TSTRACE_HOME/.tstrace), once each. */
export function defaultSockets(env: NodeJS.ProcessEnv = process.env): string[] {
  const all = [runDirPaths(globalRunDir(env)).appsSocket, runDirPaths(userRunDir(env)).appsSocket].map((p) =>
    path.resolve(p),
  );
  return [...new Set(all)];
}

function eventDecl(tp: Tracepoint): tstrace.app.IEventDecl {
  return {
    provider: tp.provider,
    name: tp.name,
    loglevel: tp.loglevel,
    fields: tp.fields.map((f) => ({ name: f.name, type: f.type })),
  };
}

type LinkState = 'idle' | 'connecting' | 'registered';

/** One daemon: the connection, the status page, and the routes its sessions ask for. */
class DaemonLink {
  state: LinkState = 'idle';
  /** False until the first attempt ends; `ready()` waits for that. */
  settled = false;
  client: AppClient | null = null;
  page: StatusBytes | null = null;
  private pageBuffer: ArrayBuffer | null = null;
  /** Events sent to this daemon so far (RegisterApp, then RegisterEvents). */
  sent = 0;
  /** Routes of each event (by index) for this daemon. */
  routes: Route[][] = [];
  private writers = new Map<string, StreamWriter>();
  private lastAttempt = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  /** Connection attempts made (tests). */
  attempts = 0;
  stopped = false;

  constructor(
    readonly socket: string,
    private readonly tracer: Tracer,
  ) {}

  schedule(): void {
    if (this.stopped || this.timer || this.state !== 'idle') return;
    const delay = Math.max(0, this.lastAttempt + this.tracer.retryMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.attempt();
    }, delay);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.client?.close();
  }

  private async attempt(): Promise<void> {
    if (this.stopped || this.state !== 'idle') return;
    this.state = 'connecting';
    this.lastAttempt = Date.now();
    this.attempts++;
    let client: AppClient;
    try {
      if (!fs.existsSync(this.socket)) throw new Error('no daemon');
      client = await RpcClient.connect(
        appLink,
        { path: this.socket },
        {
          peerName: `tstrace-ust ${TRACER_VERSION} ${identity().procname}`,
          connectTimeoutMs: this.tracer.connectTimeoutMs,
          callTimeoutMs: this.tracer.callTimeoutMs,
          onPush: (reply) => this.onPush(reply as AppReply),
          unref: true,
        },
      );
    } catch {
      this.state = 'idle';
      this.settle();
      this.schedule();
      return;
    }
    this.client = client;
    client.onClose(() => this.lost(client));
    if (this.stopped) {
      client.close();
      return;
    }
    const id = identity();
    const count = this.tracer.events.length;
    let reply: AppReply;
    try {
      reply = await client.call({
        registerApp: {
          pid: id.vpid,
          ppid: id.ppid,
          uid: id.vuid,
          gid: id.vgid,
          procname: id.procname,
          bitsPerLong: 64,
          tracerVersion: TRACER_VERSION,
          threadId: id.threadId,
          tid: id.vtid,
          events: this.tracer.events.slice(0, count).map(eventDecl),
        },
      });
      if (this.client !== client) return;
      this.mapPage(reply.registered);
    } catch {
      client.close(); // -> lost(): retry later
      return;
    }
    this.sent = count;
    this.state = 'registered';
    this.tracer.relink();
    this.tracer.flushEvents();
    // Settled once the first AppState (which follows Registered) is applied and acked.
  }

  private mapPage(reg: tstrace.app.IRegistered | null | undefined): void {
    if (!reg?.statusPage) throw new Error('Registered without a status page');
    const fd = fs.openSync(reg.statusPage, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
    try {
      const size = Math.min(reg.statusPageSize || Infinity, fs.fstatSync(fd).size);
      if (!(size > 0)) throw new Error(`status page ${reg.statusPage} is empty`);
      this.pageBuffer = mapFile(fd, size);
    } finally {
      fs.closeSync(fd);
    }
    this.page = new Int8Array(this.pageBuffer);
  }

  /** The connection closed (daemon gone, or we gave up): forget everything, try again later. */
  private lost(client: AppClient): void {
    if (this.client !== client) return;
    this.client = null;
    this.state = 'idle';
    this.sent = 0;
    this.routes = [];
    const writers = this.writers;
    this.writers = new Map();
    const pageBuffer = this.pageBuffer;
    this.page = null;
    this.pageBuffer = null;
    // Nothing points at the page or the streams after this, and no emit can be running (this
    // thread is here): unmapping now is safe.
    this.tracer.relink();
    for (const w of writers.values()) w.close();
    if (pageBuffer) unmapFile(pageBuffer);
    this.settle();
    this.schedule();
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.tracer.settle();
  }

  /** Sends the events defined since the last registration or flush. */
  flush(): void {
    const client = this.client;
    if (!client || this.state !== 'registered' || this.sent >= this.tracer.events.length) return;
    const events = this.tracer.events.slice(this.sent).map(eventDecl);
    this.sent = this.tracer.events.length;
    // ready() now also waits for a state that knows these events.
    this.settled = false;
    client.call({ registerEvents: { events } }).catch(() => client.close());
  }

  private onPush(reply: AppReply): void {
    const client = this.client;
    if (!client || !reply.appState) return;
    const state = reply.appState;
    // ready() waits for a state that knows every event sent so far (the daemon counts them).
    const known = state.knownEvents ?? 0;
    const errors = this.apply(state);
    const done = () => {
      // The daemon sets the status bytes before it answers the ack.
      this.tracer.refreshCombined();
      if (known >= this.sent) this.settle();
    };
    client.call({ ackState: { generation: state.generation, error: errors.join('; ') } }).then(done, done);
  }

  /** Maps what is new, builds the routes, unmaps what is gone. Returns what could not be done. */
  private apply(state: tstrace.app.IAppState): string[] {
    const errors: string[] = [];
    const id = identity();
    const writers = new Map<string, StreamWriter>();
    const channels = new Map<number, { writer: StreamWriter; context: Uint8Array }>();
    const failed = new Set<number>();
    for (const ch of state.channels ?? []) {
      const key = ch.key ?? 0;
      const where = `channel ${ch.channel} of session ${ch.session}`;
      try {
        const paths = ch.streamPaths ?? [];
        if (paths.length === 0) throw new Error('no stream');
        const n = (id.vpid + id.threadId) % paths.length;
        const file = paths[n];
        const context = contextBytes(ch.contexts ?? []);
        let writer = writers.get(file) ?? this.writers.get(file);
        if (!writer) {
          writer = StreamWriter.open(file);
          const wake = ch.wakePaths?.[n];
          if (wake) writer.setWakePipe(wake);
        }
        writers.set(file, writer);
        channels.set(key, { writer, context });
      } catch (err) {
        failed.add(key);
        errors.push(`${where}: ${(err as Error).message}`);
      }
    }
    const routes: Route[][] = [];
    for (const r of state.routes ?? []) {
      const key = r.channelKey ?? 0;
      const ch = channels.get(key);
      const tp = this.tracer.events[r.event ?? 0];
      if (!ch || !tp) {
        if (!failed.has(key))
          errors.push(!tp ? `route to unknown event ${r.event}` : `route to unknown channel key ${key}`);
        continue;
      }
      let filter: CompiledFilter | null = null;
      if (r.filters && r.filters.length > 0) {
        try {
          filter = this.tracer.filterFor(tp, r.filters);
        } catch (err) {
          errors.push(`filter of ${tp.fullName}: ${(err as Error).message}`);
          continue;
        }
      }
      (routes[tp.index] ??= []).push(
        new Route(NO_STATUS, 0, ch.writer, r.eventId ?? 0, ch.context, ch.context.length, filter),
      );
    }
    this.routes = routes;
    const old = this.writers;
    this.writers = writers;
    this.tracer.relink();
    for (const [file, w] of old) if (!writers.has(file)) w.close();
    return errors;
  }
}

/**
 * The events of one thread and its daemon links. Status rule: with one registered daemon each
 * event reads that daemon's page directly (the daemon flips bytes; no event loop involved);
 * with none, a page of zeros; with two at once, a private page holding the OR of both,
 * recomputed on every AppState from either and after each ack (the daemon sets bytes before it
 * answers the ack), while each route still checks its own daemon's byte before writing.
 */
export class Tracer {
  readonly events: Tracepoint[] = [];
  private readonly byName = new Map<string, Tracepoint>();
  private links: DaemonLink[] = [];
  private combined: StatusBytes | null = null;
  private started = false;
  private stopped = false;
  private flushQueued = false;
  private readonly waiters = new Set<() => void>();
  private readonly sockets: () => string[];
  readonly retryMs: number;
  readonly connectTimeoutMs: number;
  readonly callTimeoutMs: number;

  constructor(options: TracerOptions = {}) {
    this.sockets = options.sockets ?? (() => defaultSockets());
    this.retryMs = options.retryMs ?? 1000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    this.callTimeoutMs = options.callTimeoutMs ?? 5000;
  }

  /**
   * Defines an event (or returns the same one again for the same name and fields). Throws on
   * bad names, a bad log level, duplicate fields, or a name reused with other fields.
   */
  define<A extends unknown[]>(
    provider: string,
    name: string,
    fields: readonly Field<unknown>[],
    loglevel: number,
  ): Tracepoint<A> {
    checkName(provider, 'provider');
    checkName(name, 'event');
    if (!Number.isInteger(loglevel) || loglevel < 0 || loglevel > 14)
      throw new RangeError(
        `event ${provider}:${name}: log level ${loglevel} is not one of LTTng's 0 (TRACE_EMERG) .. 14 (TRACE_DEBUG)`,
      );
    if (!Array.isArray(fields)) throw new TypeError(`event ${provider}:${name}: the fields must be an array`);
    const seen = new Set<string>();
    for (const f of fields) {
      if (!f || typeof f.name !== 'string' || typeof f.type !== 'string' || !f.codec)
        throw new TypeError(
          `event ${provider}:${name}: every field must be made by a field constructor (u32('x'), string('s'), ...)`,
        );
      if (seen.has(f.name)) throw new TypeError(`event ${provider}:${name}: field "${f.name}" is defined twice`);
      seen.add(f.name);
    }
    const full = `${provider}:${name}`;
    const known = this.byName.get(full);
    if (known) {
      const same =
        known.loglevel === loglevel &&
        known.fields.length === fields.length &&
        known.fields.every((f, i) => f.name === fields[i].name && f.type === fields[i].type);
      if (!same) throw new Error(`event ${full} is already defined with other fields or another log level`);
      return known as unknown as Tracepoint<A>;
    }
    if (this.events.length >= 65536) throw new RangeError('at most 65536 events per thread');
    const tp = new Tracepoint(provider, name, [...fields], loglevel);
    tp.index = this.events.length;
    this.events.push(tp);
    this.byName.set(full, tp);
    this.linkEvent(tp, this.liveStatus());
    this.start();
    this.queueFlush();
    return tp as unknown as Tracepoint<A>;
  }

  /** Starts registering (once): done by the first event defined, or by ready(). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    let sockets: string[] = [];
    try {
      sockets = [...new Set(this.sockets())];
    } catch {
      // no usable path: trace nothing
    }
    this.links = sockets.map((s) => new DaemonLink(s, this));
    for (const link of this.links) link.schedule();
    this.settle();
  }

  /** Closes every link and registers no more, for good (tests; an app never needs it). */
  stop(): void {
    this.stopped = true;
    for (const link of this.links) link.stop();
    this.settle();
  }

  /** Daemon links, for tests. */
  get daemonLinks(): readonly { socket: string; state: LinkState; attempts: number; client: unknown }[] {
    return this.links;
  }

  /**
   * Resolves when each daemon has been tried: registered and its first state applied, or found
   * absent/refusing; or after `timeoutMs` (negative: no limit). Never rejects. While waiting, a
   * timer keeps the process alive.
   */
  ready(timeoutMs: number): Promise<void> {
    this.start();
    // Events defined just before are sent now, so that ready() waits for their state too.
    if (this.flushQueued) this.flushEvents();
    if (this.isSettled() || timeoutMs === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      this.waiters.add(done);
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) timer = setTimeout(done, timeoutMs);
      else timer = setInterval(() => undefined, 1 << 30); // keeps the process alive with no limit
    });
  }

  private isSettled(): boolean {
    return this.stopped || this.links.every((l) => l.settled);
  }

  /** @internal A link finished an attempt. */
  settle(): void {
    if (!this.isSettled()) return;
    for (const w of [...this.waiters]) w();
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flushEvents();
    });
  }

  /** @internal Sends events defined since each link's registration. */
  flushEvents(): void {
    for (const link of this.links) link.flush();
  }

  private readonly filterCache = new WeakMap<Tracepoint, Map<string, CompiledFilter>>();

  /** @internal The compiled OR of a route's filters, cached per event. */
  filterFor(tp: Tracepoint, filters: string[]): CompiledFilter {
    let cache = this.filterCache.get(tp);
    if (!cache) this.filterCache.set(tp, (cache = new Map()));
    const key = JSON.stringify(filters);
    let f = cache.get(key);
    if (!f) {
      f = compileFilters(
        filters,
        tp.fields.map((x) => ({ name: x.name, info: x.codec.info })),
        identity(),
      );
      cache.set(key, f);
    }
    return f;
  }

  /** The status page every event reads now (see the class comment). */
  private liveStatus(): StatusBytes {
    const live = this.links.filter((l) => l.state === 'registered' && l.page);
    if (live.length === 0) {
      this.combined = null;
      return NO_STATUS;
    }
    if (live.length === 1) {
      this.combined = null;
      return live[0].page!;
    }
    const size = Math.max(...live.map((l) => l.page!.length));
    if (!this.combined || this.combined.length !== size) this.combined = new Int8Array(new ArrayBuffer(size));
    this.fillCombined(live);
    return this.combined;
  }

  private fillCombined(live: DaemonLink[]): void {
    const c = this.combined!;
    const n = Math.min(this.events.length, c.length);
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (const l of live) if (i < l.page!.length) v |= l.page![i];
      c[i] = v;
    }
  }

  /** @internal Recomputes the OR page when two daemons are registered. */
  refreshCombined(): void {
    if (!this.combined) return;
    const live = this.links.filter((l) => l.state === 'registered' && l.page);
    if (live.length > 1) this.fillCombined(live);
  }

  private linkEvent(tp: Tracepoint, status: StatusBytes): void {
    if (status !== NO_STATUS && tp.index < status.length) {
      tp.status = status;
      tp.slot = tp.index;
    } else {
      tp.status = NO_STATUS;
      tp.slot = 0;
    }
    const routes: Route[] = [];
    for (const link of this.links) {
      const mine = link.routes[tp.index];
      if (!mine) continue;
      const page = link.state === 'registered' ? link.page : null;
      for (const r of mine) {
        if (page && tp.index < page.length) {
          r.status = page;
          r.slot = tp.index;
        } else {
          r.status = NO_STATUS;
          r.slot = 0;
        }
        routes.push(r);
      }
    }
    tp.setRoutes(routes);
  }

  /** @internal Points every event at the status it must read and the routes it must write. */
  relink(): void {
    const status = this.liveStatus();
    for (const tp of this.events) this.linkEvent(tp, status);
  }
}
