// A stand-in session daemon for the registration tests: an RpcServer on an apps.sock that
// records what apps send, gives each a status page, and lets the test push AppStates.
import { appLink, PushConnection, RpcServer, tstrace } from '@tstrace/comm';
import { mapFile, unmapFile } from '@tstrace/native';
import * as fs from 'node:fs';
import * as path from 'node:path';

type Reply = tstrace.app.Reply.$Properties;
type Conn = PushConnection<Reply, null>;

export interface FakeApp {
  conn: Conn;
  register: tstrace.app.IRegisterApp;
  events: tstrace.app.IEventDecl[];
  /** The status page, mapped: set bytes to enable events. */
  page: Uint8Array;
  acks: { generation: number; error: string }[];
  generation: number;
  closed: boolean;
  /** Event indexes whose bytes the next ack sets (the others are cleared), as the session daemon does. */
  lit: number[];
  registerEventsCalls: number;
}

export class FakeDaemon {
  readonly socket: string;
  readonly apps: FakeApp[] = [];
  private server: RpcServer<tstrace.app.Request.$Properties, Reply, null> | undefined;
  private pages: ArrayBuffer[] = [];
  private waiters: (() => void)[] = [];
  /** Push an empty AppState after Registered, as the session daemon does. */
  initialState = true;
  /** Refuse registrations with this error (e.g. to test retries). */
  refuse = false;

  constructor(readonly dir: string) {
    this.socket = path.join(dir, 'apps.sock');
  }

  async start(): Promise<this> {
    fs.rmSync(this.socket, { force: true });
    this.server = new RpcServer({
      link: appLink,
      serverName: 'fake-sessiond',
      identify: () => null,
      handler: (req, conn) => this.handle(req as tstrace.app.Request, conn),
      onClose: (conn) => {
        for (const a of this.apps) if (a.conn === conn) a.closed = true;
        this.notify();
      },
    });
    await this.server.listenUnix(this.socket, 0o600);
    return this;
  }

  /** Closes every connection and stops listening (a daemon killed with -9 leaves its socket file: so do we). */
  async kill(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await s.close();
    for (const p of this.pages.splice(0)) unmapFile(p);
  }

  private handle(req: tstrace.app.Request, conn: Conn): Reply {
    switch (req.command) {
      case 'registerApp': {
        if (this.refuse) throw new Error('refused');
        const file = path.join(this.dir, `status-${this.apps.length}-${Date.now()}`);
        fs.writeFileSync(file, Buffer.alloc(65536), { mode: 0o600 });
        const fd = fs.openSync(file, 'r+');
        const buffer = mapFile(fd, 65536);
        fs.closeSync(fd);
        this.pages.push(buffer);
        const app: FakeApp = {
          conn,
          register: req.registerApp!,
          events: [...(req.registerApp!.events ?? [])],
          page: new Uint8Array(buffer),
          acks: [],
          generation: 0,
          closed: false,
          lit: [],
          registerEventsCalls: 0,
        };
        this.apps.push(app);
        if (this.initialState) setImmediate(() => this.push(app, {}));
        this.notify();
        return { registered: { appId: this.apps.length, statusPage: file, statusPageSize: 65536 } };
      }
      case 'registerEvents': {
        const app = this.apps.find((a) => a.conn === conn)!;
        app.events.push(...(req.registerEvents!.events ?? []));
        app.registerEventsCalls++;
        this.notify();
        return {};
      }
      case 'ackState': {
        const app = this.apps.find((a) => a.conn === conn)!;
        const ack = { generation: Number(String(req.ackState!.generation)), error: req.ackState!.error ?? '' };
        app.acks.push(ack);
        if (ack.generation === app.generation && !ack.error) {
          app.page.fill(0, 0, 1024);
          for (const i of app.lit) app.page[i] = 1;
        }
        this.notify();
        return {};
      }
      default:
        throw new Error(`unexpected ${req.command}`);
    }
  }

  /** Pushes the next AppState to an app; its ack will light the status bytes of `lit`. */
  push(app: FakeApp, state: Omit<tstrace.app.IAppState, 'generation'>, lit: number[] = []): number {
    app.generation++;
    app.lit = lit;
    app.conn.push({
      appState: { generation: app.generation, channels: [], routes: [], knownEvents: app.events.length, ...state },
    });
    return app.generation;
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when `cond()` holds (checked after each message), or rejects after `ms`. */
  async until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
