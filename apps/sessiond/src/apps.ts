import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { Caller } from './model';

/** A traced application registered on apps.sock. */
export interface RegisteredApp {
  id: number;
  connectionId: number;
  pid: number;
  uid: number;
  gid: number;
  procname: string;
  threadId: number;
  registeredMs: number;
  events: tstrace.app.EventDecl.$Properties[];
}

const MAX_EVENTS_PER_APP = 65536;

/** The applications currently registered with this daemon, one per apps.sock connection. */
export class AppRegistry {
  private readonly apps = new Map<number, RegisteredApp>();
  private nextId = 1;

  register(connectionId: number, peer: Caller, req: tstrace.app.RegisterApp.$Properties): RegisteredApp {
    if (this.apps.has(connectionId)) throw new StatusError(StatusCode.INVALID_ARGUMENT, 'this connection has already registered an app');
    if (req.pid !== peer.pid || req.uid !== peer.uid || req.gid !== peer.gid) {
      throw new StatusError(StatusCode.PERMISSION_DENIED, `registration claims pid ${req.pid} uid ${req.uid} gid ${req.gid}, but the socket belongs to pid ${peer.pid} uid ${peer.uid} gid ${peer.gid}`);
    }
    const events = checkEvents(req.events ?? [], 0);
    const app: RegisteredApp = { id: this.nextId++, connectionId, pid: peer.pid, uid: peer.uid, gid: peer.gid, procname: (req.procname ?? '').replace(/[^\x20-\x7e]|\//g, '_').slice(0, 16), threadId: req.threadId ?? 0, registeredMs: Date.now(), events };
    this.apps.set(connectionId, app);
    return app;
  }

  addEvents(connectionId: number, events: tstrace.app.EventDecl.$Properties[]): RegisteredApp {
    const app = this.apps.get(connectionId);
    if (!app) throw new StatusError(StatusCode.HANDSHAKE_REQUIRED, 'register the app before its events');
    app.events.push(...checkEvents(events, app.events.length));
    return app;
  }

  unregister(connectionId: number): RegisteredApp | undefined {
    const app = this.apps.get(connectionId);
    this.apps.delete(connectionId);
    return app;
  }

  get(connectionId: number): RegisteredApp | undefined {
    return this.apps.get(connectionId);
  }

  all(): RegisteredApp[] {
    return [...this.apps.values()];
  }

  visibleTo(caller: Caller): RegisteredApp[] {
    return [...this.apps.values()].filter((a) => caller.uid === 0 || a.uid === caller.uid);
  }
}

function checkEvents(events: tstrace.app.EventDecl.$Properties[], already: number): tstrace.app.EventDecl.$Properties[] {
  if (already + events.length > MAX_EVENTS_PER_APP) throw new StatusError(StatusCode.INVALID_ARGUMENT, `an app may register at most ${MAX_EVENTS_PER_APP} events`);
  for (const e of events) {
    if (!e.provider || !e.name) throw new StatusError(StatusCode.INVALID_EVENT, 'every event needs a provider and a name');
    const level = e.loglevel ?? 0;
    if (level < 0 || level > 14) throw new StatusError(StatusCode.INVALID_LOGLEVEL, `event ${e.provider}:${e.name}: log level ${level} is out of range`);
  }
  return events;
}
