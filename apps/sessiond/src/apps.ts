import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import * as fs from 'node:fs';
import { Caller } from './model';

/** A traced application registered on apps.sock: one per connection (each worker thread has its own). */
export interface RegisteredApp {
  id: number;
  connectionId: number;
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  procname: string;
  /** worker_threads threadId of the registering thread (0: the main thread). */
  threadId: number;
  /** Kernel tid of the registering thread. */
  tid: number;
  registeredMs: number;
  /**
   * Identifies the process across its registrations (pid + start time from /proc), so that a
   * recycled pid never shares a dead process's per-PID buffers.
   */
  processKey: string;
  /** Registration time of the process's first registration still known: names its per-PID buffers. */
  processRegisteredMs: number;
  events: tstrace.app.EventDecl.$Properties[];
}

export const MAX_EVENTS_PER_APP = 65536;

export interface AppRegistryOptions {
  now?: () => number;
  /** Start time of a process (clock ticks since boot), or '' when unknown. */
  processStart?: (pid: number) => string;
}

/** The applications currently registered with this daemon, one per apps.sock connection. */
export class AppRegistry {
  private readonly apps = new Map<number, RegisteredApp>();
  private nextId = 1;
  private readonly now: () => number;
  private readonly processStart: (pid: number) => string;

  constructor(options: AppRegistryOptions = {}) {
    this.now = options.now ?? Date.now;
    this.processStart = options.processStart ?? procStartTime;
  }

  register(connectionId: number, peer: Caller, req: tstrace.app.RegisterApp.$Properties): RegisteredApp {
    if (this.apps.has(connectionId))
      throw new StatusError(StatusCode.INVALID_ARGUMENT, 'this connection has already registered an app');
    if (req.pid !== peer.pid || req.uid !== peer.uid || req.gid !== peer.gid) {
      throw new StatusError(
        StatusCode.PERMISSION_DENIED,
        `registration claims pid ${req.pid} uid ${req.uid} gid ${req.gid}, but the socket belongs to pid ${peer.pid} uid ${peer.uid} gid ${peer.gid}`,
      );
    }
    const events = checkEvents(req.events ?? [], 0);
    const processKey = `${peer.pid}:${this.processStart(peer.pid)}`;
    const now = this.now();
    const sibling = [...this.apps.values()].find((a) => a.processKey === processKey);
    const app: RegisteredApp = {
      id: this.nextId++,
      connectionId,
      pid: peer.pid,
      ppid: req.ppid ?? 0,
      uid: peer.uid,
      gid: peer.gid,
      procname: (req.procname ?? '').slice(0, 255),
      threadId: req.threadId ?? 0,
      tid: req.tid ?? 0,
      registeredMs: now,
      processKey,
      processRegisteredMs: sibling?.processRegisteredMs ?? now,
      events,
    };
    this.apps.set(connectionId, app);
    return app;
  }

  addEvents(connectionId: number, events: tstrace.app.EventDecl.$Properties[]): RegisteredApp {
    const app = this.get(connectionId);
    app.events.push(...checkEvents(events, app.events.length));
    return app;
  }

  /** The app registered on this connection; HANDSHAKE_REQUIRED when none is. */
  get(connectionId: number): RegisteredApp {
    const app = this.apps.get(connectionId);
    if (!app) throw new StatusError(StatusCode.HANDSHAKE_REQUIRED, 'register the app (RegisterApp) first');
    return app;
  }

  /** Forgets the app of a closed connection; returns it, if one had registered. */
  unregister(connectionId: number): RegisteredApp | undefined {
    const app = this.apps.get(connectionId);
    this.apps.delete(connectionId);
    return app;
  }

  /** Every registered app, in registration order. */
  all(): RegisteredApp[] {
    return [...this.apps.values()];
  }

  visibleTo(caller: Caller): RegisteredApp[] {
    return this.all().filter((a) => caller.uid === 0 || a.uid === caller.uid);
  }
}

function checkEvents(
  events: tstrace.app.EventDecl.$Properties[],
  already: number,
): tstrace.app.EventDecl.$Properties[] {
  if (already + events.length > MAX_EVENTS_PER_APP)
    throw new StatusError(StatusCode.INVALID_ARGUMENT, `an app may register at most ${MAX_EVENTS_PER_APP} events`);
  for (const e of events) {
    if (!e.provider || !e.name)
      throw new StatusError(StatusCode.INVALID_EVENT, 'every event needs a provider and a name');
    const level = e.loglevel ?? 0;
    if (level < 0 || level > 14)
      throw new StatusError(
        StatusCode.INVALID_LOGLEVEL,
        `event ${e.provider}:${e.name}: log level ${level} is out of range`,
      );
  }
  return events;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or '' if unreadable. */
export function procStartTime(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
}
