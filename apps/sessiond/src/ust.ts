/**
 * The userspace data path, daemon side (docs/USERSPACE.md): shared-memory directories and
 * stream files, CTF event ids, status pages, and the AppState each registered app gets.
 * `sync()` recomputes everything from the sessions and apps; the daemon calls it after every
 * command that may change what an app must record.
 */
import { PushConnection, tstrace } from '@tstrace/comm';
import { mapFile, unmapFile } from '@tstrace/native';
import { createStreamFile } from '@tstrace/ringbuffer';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RegisteredApp } from './apps';
import { BufferScheme, ChannelState, Domain, EventRuleState, LoglevelType, SessionState } from './model';
import { dateStamp, globMatch } from './registry';

type AppConn = PushConnection<tstrace.app.Reply.$Properties, unknown>;
export const STATUS_PAGE_SIZE = 65536;

export interface LogLike {
  info(m: string): void;
  warn(m: string): void;
}

/** Does an event rule of a channel select this event of this app? LTTng's rules. */
export function ruleMatches(rule: EventRuleState, name: string, loglevel: number): boolean {
  if (!rule.enabled || !globMatch(rule.name, name)) return false;
  if (rule.exclusions.some((x) => globMatch(x, name))) return false;
  if (rule.loglevelType === LoglevelType.LOGLEVEL_RANGE) return loglevel <= rule.loglevel;
  if (rule.loglevelType === LoglevelType.LOGLEVEL_SINGLE) return loglevel === rule.loglevel;
  return true;
}

/** The filters of the rules of `channel` that select the event: [] = no filter; undefined = not selected. */
export function channelFilters(channel: ChannelState, name: string, loglevel: number): string[] | undefined {
  let selected = false;
  const filters: string[] = [];
  for (const rule of channel.events) {
    if (!ruleMatches(rule, name, loglevel)) continue;
    if (!rule.filterAst) return [];
    selected = true;
    if (!filters.includes(rule.filterAst)) filters.push(rule.filterAst);
  }
  return selected ? filters : undefined;
}

/** Is the app concerned by the session: same user (or a root session), and tracked by its PID tracker? */
export function sessionConcerns(session: SessionState, app: Pick<RegisteredApp, 'uid' | 'pid'>): boolean {
  if (session.ownerUid !== 0 && session.ownerUid !== app.uid) return false;
  const t = session.trackers.userspace;
  return t.all || t.pids.includes(app.pid);
}

interface EventEntry {
  id: number;
  name: string;
  loglevel: number;
  fields: { name: string; type: string }[];
  key: string;
}

/** One channel's buffers for one owner. */
interface BufferSet {
  channel: string;
  owner: 'uid' | 'pid';
  ownerId: number;
  procname: string;
  directory: string;
  streamPaths: string[];
  contexts: string[];
  streamId: number;
  events: EventEntry[];
}

interface SessionBuffers {
  uuid: string;
  directory: string;
  sets: Map<string, BufferSet>;
  nextInstance: bigint;
}

interface AppData {
  page: Uint8Array;
  pagePath: string;
  pageBuffer: ArrayBuffer;
  generation: number;
  sent: string;
  /** Event indexes routed by the last state sent, and whether the app acked it. */
  routed: Set<number>;
  acked: boolean;
  conn: AppConn;
}

export class UstManager {
  private readonly root: string;
  private readonly record: string;
  private readonly sessions = new Map<string, SessionBuffers>();
  private readonly apps = new Map<number, AppData>();
  private readonly streamsPerChannel = Math.max(1, os.availableParallelism());

  constructor(
    runDir: string,
    private readonly daemonUid: number,
    private readonly tracingGid: number | undefined,
    private readonly log: LogLike,
  ) {
    this.root = path.join('/dev/shm', `tstrace-${createHash('sha256').update(path.resolve(runDir)).digest('hex').slice(0, 12)}`);
    this.record = path.join(runDir, 'shm-dirs');
  }

  /** Removes what a killed daemon of this run dir left: every recorded directory and the default root. */
  cleanupAtStart(): void {
    let listed: string[] = [];
    try {
      listed = fs.readFileSync(this.record, 'utf8').split('\n').filter((l) => path.isAbsolute(l));
    } catch {
      // no record: nothing was made
    }
    for (const dir of [...listed, this.root]) fs.rmSync(dir, { recursive: true, force: true });
    fs.writeFileSync(this.record, '', { mode: 0o600 });
    fs.mkdirSync(path.join(this.root, 'apps'), { recursive: true, mode: 0o755 });
    fs.chmodSync(this.root, 0o755);
  }

  /** Creates an app's status page (mode 0600, owned by the app) and maps it. */
  registerApp(app: RegisteredApp, conn: AppConn): { path: string; size: number } {
    const file = path.join(this.root, 'apps', `status-${app.id}-${randomBytes(6).toString('hex')}`);
    const { O_CREAT, O_EXCL, O_RDWR, O_NOFOLLOW } = fs.constants;
    const fd = fs.openSync(file, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW, 0o600);
    let pageBuffer: ArrayBuffer;
    try {
      fs.fchownSync(fd, app.uid, app.gid);
      fs.ftruncateSync(fd, STATUS_PAGE_SIZE);
      pageBuffer = mapFile(fd, STATUS_PAGE_SIZE);
    } catch (err) {
      fs.rmSync(file, { force: true });
      throw err;
    } finally {
      fs.closeSync(fd);
    }
    this.apps.set(app.id, { page: new Uint8Array(pageBuffer), pagePath: file, pageBuffer, generation: 0, sent: '', routed: new Set(), acked: false, conn });
    return { path: file, size: STATUS_PAGE_SIZE };
  }

  unregisterApp(app: RegisteredApp): void {
    const data = this.apps.get(app.id);
    if (!data) return;
    this.apps.delete(app.id);
    unmapFile(data.pageBuffer);
    fs.rmSync(data.pagePath, { force: true });
  }

  /** The app applied a state: set the bytes of its routed events. */
  ack(app: RegisteredApp, generation: number, error: string): void {
    const data = this.apps.get(app.id);
    if (!data || generation !== data.generation) return;
    if (error) {
      this.log.warn(`app ${app.procname} pid ${app.pid} could not apply state ${generation}: ${error}`);
      return;
    }
    data.acked = true;
    for (let i = 0; i < app.events.length && i < STATUS_PAGE_SIZE; i++) data.page[i] = data.routed.has(i) ? 1 : 0;
  }

  /** Buffers of a session, for SessionInfo. */
  buffersOf(session: SessionState): tstrace.client.BufferInfo.$Properties[] {
    const sb = this.sessions.get(session.uuid);
    if (!sb) return [];
    return [...sb.sets.values()].map((s) => ({
      channel: s.channel,
      owner: s.owner,
      id: s.ownerId,
      procname: s.procname,
      directory: s.directory,
      streamPaths: s.streamPaths,
      contexts: s.contexts,
      streamId: s.streamId,
      events: s.events.map((e) => ({ id: e.id, name: e.name, loglevel: e.loglevel, fields: e.fields })),
    }));
  }

  /** Brings buffers, routes and status pages in line with the sessions and apps. */
  sync(sessions: readonly SessionState[], apps: readonly RegisteredApp[]): void {
    const live = new Set(sessions.map((s) => s.uuid));
    for (const [uuid, sb] of this.sessions) {
      if (live.has(uuid)) continue;
      this.sessions.delete(uuid);
      fs.rmSync(sb.directory, { recursive: true, force: true });
      this.unrecord(sb.directory);
    }
    for (const app of apps) {
      const data = this.apps.get(app.id);
      if (!data) continue;
      try {
        this.syncApp(app, data, sessions);
      } catch (err) {
        this.log.warn(`cannot set up buffers for app ${app.procname} pid ${app.pid}: ${(err as Error).message}`);
      }
    }
  }

  private syncApp(app: RegisteredApp, data: AppData, sessions: readonly SessionState[]): void {
    const channels: tstrace.app.AppChannel.$Properties[] = [];
    const routes: tstrace.app.AppRoute.$Properties[] = [];
    for (const session of sessions) {
      if (!session.active || !sessionConcerns(session, app)) continue;
      const ust = session.channels.filter((c) => c.domain === Domain.USERSPACE);
      ust.forEach((channel, streamId) => {
        if (!channel.enabled) return;
        const selected = app.events.map((e, i) => ({ i, e, filters: channelFilters(channel, `${e.provider}:${e.name}`, e.loglevel ?? 0) })).filter((x) => x.filters !== undefined);
        if (selected.length === 0) return;
        const set = this.bufferSet(session, channel, streamId, app);
        const key = channels.length;
        channels.push({ key, session: session.name, channel: channel.name, streamPaths: set.streamPaths, contexts: channel.contexts });
        for (const { i, e, filters } of selected) routes.push({ event: i, channelKey: key, eventId: this.eventId(set, e), filters });
      });
    }
    const text = JSON.stringify({ channels, routes });
    if (text === data.sent) return;
    const routed = new Set(routes.map((r) => r.event ?? 0));
    // Events that lose their last route stop at once, before the app even reads the new state.
    for (const i of data.routed) if (!routed.has(i)) data.page[i] = 0;
    data.generation++;
    data.sent = text;
    data.routed = routed;
    data.acked = false;
    data.conn.push({ appState: { generation: data.generation, channels, routes } });
  }

  private eventId(set: BufferSet, e: tstrace.app.EventDecl.$Properties): number {
    const fields = (e.fields ?? []).map((f) => ({ name: f.name ?? '', type: f.type ?? '' }));
    const name = `${e.provider}:${e.name}`;
    const key = JSON.stringify([name, e.loglevel ?? 0, fields]);
    const known = set.events.find((x) => x.key === key);
    if (known) return known.id;
    const entry = { id: set.events.length, name, loglevel: e.loglevel ?? 0, fields, key };
    set.events.push(entry);
    return entry.id;
  }

  private sessionBuffers(session: SessionState): SessionBuffers {
    let sb = this.sessions.get(session.uuid);
    if (!sb) {
      const root = session.shmPath || this.root;
      const directory = path.join(root, `${session.name}-${dateStamp(new Date(session.createdMs))}-${session.uuid.slice(0, 8)}`);
      fs.mkdirSync(directory, { recursive: true, mode: 0o755 });
      fs.appendFileSync(this.record, `${directory}\n`);
      sb = { uuid: session.uuid, directory, sets: new Map(), nextInstance: 0n };
      this.sessions.set(session.uuid, sb);
    }
    return sb;
  }

  /** The buffers of `channel` for the app's owner (its uid, or its pid), created on first use. */
  private bufferSet(session: SessionState, channel: ChannelState, streamId: number, app: RegisteredApp): BufferSet {
    const sb = this.sessionBuffers(session);
    const perPid = channel.buffers === BufferScheme.PER_PID;
    const key = `${channel.name}/${perPid ? `pid/${app.pid}` : `uid/${app.uid}`}`;
    let set = sb.sets.get(key);
    if (set) return set;
    const sub = perPid ? path.join('ust', 'pid', `${app.procname}-${app.pid}-${dateStamp(new Date(app.registeredMs))}`) : path.join('ust', 'uid', String(app.uid), '64-bit');
    const directory = path.join(sb.directory, sub);
    fs.mkdirSync(directory, { recursive: true, mode: 0o755 });
    const uuid = Buffer.from(session.uuid.replace(/-/g, ''), 'hex');
    const gid = perPid ? app.gid : this.daemonUid === 0 && this.tracingGid !== undefined ? this.tracingGid : app.gid;
    const owner = this.daemonUid === 0 || app.uid === this.daemonUid ? { uid: app.uid, gid, mode: perPid ? 0o600 : 0o640 } : undefined;
    const streamPaths: string[] = [];
    for (let n = 0; n < this.streamsPerChannel; n++) {
      const file = path.join(directory, `${channel.name}_${n}`);
      createStreamFile(file, { subbufSize: channel.subbufSize, numSubbufs: channel.numSubbuf, mode: channel.overwrite ? 'overwrite' : 'discard', streamId, cpuId: n, uuid, streamInstanceId: sb.nextInstance++ }, owner);
      streamPaths.push(file);
    }
    set = { channel: channel.name, owner: perPid ? 'pid' : 'uid', ownerId: perPid ? app.pid : app.uid, procname: perPid ? app.procname : '', directory, streamPaths, contexts: [...channel.contexts], streamId, events: [] };
    sb.sets.set(key, set);
    return set;
  }

  private unrecord(directory: string): void {
    try {
      const lines = fs.readFileSync(this.record, 'utf8').split('\n').filter((l) => l && l !== directory);
      fs.writeFileSync(this.record, lines.map((l) => `${l}\n`).join(''));
    } catch {
      // the record is gone: nothing to update
    }
  }

  /** Destroys everything (daemon shutdown). */
  shutdown(): void {
    for (const sb of this.sessions.values()) fs.rmSync(sb.directory, { recursive: true, force: true });
    this.sessions.clear();
    fs.rmSync(this.root, { recursive: true, force: true });
    fs.writeFileSync(this.record, '');
  }
}
