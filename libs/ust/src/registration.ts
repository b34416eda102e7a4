/**
 * Registration with the session daemons and the state they push. Connects to the global and
 * the per-user daemon's apps.sock, registers this thread's events, maps the status page, and
 * applies each AppState (maps stream files, builds routes, acks). Never blocks the event loop,
 * never throws into the app, never keeps the process alive, retries at most once a second.
 */
import { appLink, RpcClient, tstrace } from '@tstrace/comm';
import { globalRunDir, runDirPaths, userRunDir } from '@tstrace/ctl';
import { mapFile, unmapFile } from '@tstrace/native';
import { StreamWriter } from '@tstrace/ringbuffer';
import * as fs from 'node:fs';
import { threadId } from 'node:worker_threads';
import { compileFilter } from './filter';
import { Route, setContextSource, Tracepoint } from './tracepoint';

type AppClient = RpcClient<tstrace.app.Request.$Properties, tstrace.app.Reply.$Properties>;
const RETRY_MS = 1000;
const TRACER_VERSION = '0.1.0';
const STATUS_PAGE_SIZE = 65536;

/** The kernel's id of this thread (vtid), from /proc/thread-self. */
function kernelTid(): number {
  try {
    return Number(fs.readlinkSync('/proc/thread-self').split('/')[2]) || process.pid;
  } catch {
    return process.pid;
  }
}

function processName(): string {
  try {
    return fs.readFileSync('/proc/self/comm', 'utf8').trim().slice(0, 16);
  } catch {
    return process.title.slice(0, 16);
  }
}

const identity = { pid: process.pid, tid: kernelTid(), uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, procname: processName() };
const procnameBytes = Buffer.alloc(17);
procnameBytes.write(identity.procname, 'utf8');
const CONTEXTS: Record<string, { size: number; write: (view: DataView, bytes: Uint8Array, at: number) => number; value: string | number }> = {
  vpid: { size: 4, write: (v, _b, at) => (v.setInt32(at, identity.pid, true), at + 4), value: identity.pid },
  vtid: { size: 4, write: (v, _b, at) => (v.setInt32(at, identity.tid, true), at + 4), value: identity.tid },
  vuid: { size: 4, write: (v, _b, at) => (v.setUint32(at, identity.uid, true), at + 4), value: identity.uid },
  vgid: { size: 4, write: (v, _b, at) => (v.setUint32(at, identity.gid, true), at + 4), value: identity.gid },
  procname: { size: 17, write: (_v, b, at) => (b.set(procnameBytes, at), at + 17), value: identity.procname },
};
setContextSource((name) => CONTEXTS[name]?.value);

function contextWriter(names: string[]): Pick<Route, 'contextSize' | 'writeContext'> {
  const parts = names.map((n) => {
    const c = CONTEXTS[n];
    if (!c) throw new Error(`unknown context "${n}"`);
    return c;
  });
  const size = parts.reduce((s, p) => s + p.size, 0);
  if (parts.length === 1) return { contextSize: size, writeContext: parts[0].write };
  return {
    contextSize: size,
    writeContext: (view, bytes, at) => {
      let p = at;
      for (const part of parts) p = part.write(view, bytes, p);
      return p;
    },
  };
}

function eventDecl(tp: Tracepoint<any>): tstrace.app.EventDecl.$Properties {
  return { provider: tp.provider, name: tp.name, loglevel: tp.loglevel, fields: tp.fields.map((f: { name: string; type: string }) => ({ name: f.name, type: f.type })) };
}

/** One daemon: its connection, status page, and the routes its sessions ask for. */
class DaemonLink {
  client: AppClient | undefined;
  page: Uint8Array | undefined;
  private pageBuffer: ArrayBuffer | undefined;
  routes = new Map<number, Route[]>();
  private writers = new Map<string, StreamWriter>();
  registered = false;
  private timer: NodeJS.Timeout | undefined;
  /** Resolves when the first attempt is over, whatever its outcome. */
  readonly firstAttempt: Promise<void>;
  private settleFirst!: () => void;

  constructor(
    readonly socket: string,
    private readonly tracer: Tracer,
  ) {
    this.firstAttempt = new Promise((resolve) => (this.settleFirst = resolve));
  }

  start(): void {
    void this.attempt();
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.attempt(), RETRY_MS);
    this.timer.unref();
  }

  private async attempt(): Promise<void> {
    try {
      if (!fs.existsSync(this.socket)) throw new Error('no daemon');
      const client = await RpcClient.connect(appLink, { path: this.socket }, { peerName: `tstrace-ust ${identity.procname}`, connectTimeoutMs: 2000, callTimeoutMs: 5000, onPush: (reply) => this.onPush(reply as tstrace.app.Reply.$Properties) });
      client.unref();
      this.client = client;
      client.onClose(() => this.lost());
      const reply = await client.call({ registerApp: { pid: identity.pid, ppid: process.ppid, uid: identity.uid, gid: identity.gid, procname: identity.procname, bitsPerLong: 64, tracerVersion: TRACER_VERSION, threadId, tid: identity.tid, events: this.tracer.events.map(eventDecl) } });
      const reg = reply.registered;
      if (!reg?.statusPage) throw new Error('registration reply without a status page');
      const fd = fs.openSync(reg.statusPage, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
      try {
        this.pageBuffer = mapFile(fd, reg.statusPageSize || STATUS_PAGE_SIZE);
      } finally {
        fs.closeSync(fd);
      }
      this.page = new Uint8Array(this.pageBuffer);
      this.registered = true;
      this.tracer.relink();
    } catch {
      this.lost();
    } finally {
      this.settleFirst();
    }
  }

  /** Events defined after registration. */
  addEvents(events: Tracepoint<any>[]): void {
    if (!this.registered || !this.client) return;
    this.client.call({ registerEvents: { events: events.map(eventDecl) } }).catch(() => this.client?.close());
  }

  private onPush(reply: tstrace.app.Reply.$Properties): void {
    const state = reply.appState;
    if (!state || !this.client) return;
    let error = '';
    try {
      this.apply(state);
    } catch (err) {
      error = (err as Error).message;
    }
    this.tracer.relink();
    this.client.call({ ackState: { generation: state.generation ?? 0, error } }).catch(() => undefined);
  }

  private apply(state: tstrace.app.AppState.$Properties): void {
    const channels = new Map<number, { writer: StreamWriter; context: Pick<Route, 'contextSize' | 'writeContext'> }>();
    const keep = new Set<string>();
    for (const ch of state.channels ?? []) {
      const streams = ch.streamPaths ?? [];
      if (streams.length === 0) continue;
      const path = streams[(identity.pid + threadId) % streams.length];
      keep.add(path);
      let writer = this.writers.get(path);
      if (!writer) {
        writer = StreamWriter.open(path);
        this.writers.set(path, writer);
      }
      channels.set(ch.key ?? 0, { writer, context: contextWriter(ch.contexts ?? []) });
    }
    const routes = new Map<number, Route[]>();
    for (const r of state.routes ?? []) {
      const ch = channels.get(r.channelKey ?? 0);
      if (!ch) continue;
      const event = r.event ?? 0;
      const list = routes.get(event) ?? [];
      list.push({ writer: ch.writer, eventId: r.eventId ?? 0, ...ch.context, filters: (r.filters ?? []).map(compileFilter) });
      routes.set(event, list);
    }
    this.routes = routes;
    for (const [path, writer] of this.writers) {
      if (keep.has(path)) continue;
      this.writers.delete(path);
      this.tracer.retire(writer);
    }
  }

  private lost(): void {
    const hadPage = this.registered;
    this.registered = false;
    this.client?.close();
    this.client = undefined;
    this.routes = new Map();
    for (const writer of this.writers.values()) this.tracer.retire(writer);
    this.writers.clear();
    if (hadPage) this.tracer.relink();
    if (this.pageBuffer) {
      const buffer = this.pageBuffer;
      this.page = undefined;
      this.pageBuffer = undefined;
      // Tracepoints no longer point at the page (relink above); unmap it once nothing can read it.
      setImmediate(() => unmapFile(buffer));
    }
    clearTimeout(this.timer);
    this.schedule();
  }
}

/** This thread's tracer: its events and its links to the daemons. */
export class Tracer {
  readonly events: Tracepoint<any>[] = [];
  private readonly links: DaemonLink[] = [];
  private combined: Uint8Array = new Uint8Array(STATUS_PAGE_SIZE);
  private readonly none: Uint8Array = new Uint8Array(STATUS_PAGE_SIZE);
  private started = false;

  add(tp: Tracepoint<any>): void {
    if (this.events.some((e) => e.fullName === tp.fullName)) throw new Error(`event ${tp.fullName} is already defined`);
    if (this.events.length >= STATUS_PAGE_SIZE) throw new Error(`at most ${STATUS_PAGE_SIZE} events per thread`);
    tp.index = this.events.length;
    tp.status = this.none;
    this.events.push(tp);
    for (const link of this.links) link.addEvents([tp]);
    this.relink();
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const sockets = new Set([runDirPaths(globalRunDir()).appsSocket, runDirPaths(userRunDir()).appsSocket]);
    for (const socket of sockets) {
      const link = new DaemonLink(socket, this);
      this.links.push(link);
      link.start();
    }
  }

  /** Resolves once every daemon has been tried (registered or not), or after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    this.start();
    const all = Promise.all(this.links.map((l) => l.firstAttempt)).then(() => undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      void all.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Points every tracepoint at the status it must read and the routes it must write. With one
   * registered daemon that is its page itself (the daemon flips bytes without our event loop);
   * with two, a private array holding the OR of both pages, refreshed on each of their states.
   */
  relink(): void {
    const live = this.links.filter((l) => l.registered && l.page);
    let status: Uint8Array = this.none;
    if (live.length === 1) status = live[0].page!;
    else if (live.length > 1) {
      this.combined = new Uint8Array(STATUS_PAGE_SIZE);
      for (const l of live) for (let i = 0; i < this.events.length; i++) this.combined[i] |= l.page![i];
      status = this.combined;
    }
    for (const tp of this.events) {
      tp.status = status;
      const routes: Route[] = [];
      for (const l of live) routes.push(...(l.routes.get(tp.index) ?? []));
      tp.routes = routes;
    }
  }

  /** Unmaps a stream once no route uses it; after the current turn, so no emit is mid-write. */
  retire(writer: StreamWriter): void {
    setImmediate(() => writer.close());
  }
}

export const tracer = new Tracer();
