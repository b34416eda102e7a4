/**
 * Keeps the consumer daemon in line with the userspace buffers: every buffer set of a session
 * that writes to a local directory is attached (channel, streams, event layouts), each trace
 * directory gets its metadata, and what grows (new apps, new events) follows. Stop and destroy
 * flush and wait for the data; a restarted consumer gets everything again.
 */
import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { metadataText, TraceDescription } from '@tstrace/ctf';
import * as os from 'node:os';
import * as path from 'node:path';
import { SessionState } from '../model';
import { BufferSet } from '../ust/buffers';
import { ConsumerDaemon, ConsumerLog } from './daemon';

type ChannelStats = tstrace.consumer.ChannelStats.$Properties;

export interface BufferSource {
  setsOf(session: SessionState): BufferSet[];
}

export interface SessionSource {
  all(): readonly SessionState[];
}

/** What a session's info shows of its consumer: restarts seen while it traced, and the time without one. */
export interface ConsumerHistory {
  restarts: number;
  downMs: number;
}

const VERSION = { major: 0, minor: 1, patch: 0 };
/** How long `stop` waits for the data of a session before it answers anyway. */
const DATA_PENDING_LIMIT_MS = 20000;

export class ConsumerSync {
  /** Event layouts sent so far, by buffer set key. */
  private readonly attached = new Map<number, number>();
  /** Metadata text sent, by absolute trace directory. */
  private readonly metadataSent = new Map<string, string>();
  private readonly stats = new Map<number, ChannelStats>();
  private readonly history = new WeakMap<SessionState, ConsumerHistory>();
  /** Clock offsets (epoch ns at CLOCK_MONOTONIC 0), fixed per session for its whole life. */
  private readonly clockOffsets = new WeakMap<SessionState, bigint>();
  /**
   * Event layouts the consumer has answered for, by buffer set key (present once the channel and
   * every stream are attached): apps may write the events with ids below the count.
   */
  private readonly confirmed = new Map<number, number>();
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(
    private readonly consumer: ConsumerDaemon,
    private readonly sessions: SessionSource,
    private readonly buffers: BufferSource,
    private readonly log: ConsumerLog,
    /** Sets, or events in them, became ready: the apps' states must follow. */
    private readonly onReady: () => void = () => undefined,
  ) {}

  /**
   * Apps write an event into a set of a drained session only once the consumer has the set and
   * the event's layout: nothing is written that no one drains, and every packet can be counted.
   */
  isReady(set: BufferSet, eventId: number): boolean {
    return !this.drained(set.session) || (this.confirmed.get(set.key) ?? 0) > eventId;
  }

  /** Attaches what is new, soon (after the current command). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.enqueue(async () => {
      this.scheduled = false;
      await this.apply();
    });
  }

  /** The consumer came back after dying: everything is attached again. */
  restarted(downMs: number): void {
    this.attached.clear();
    this.metadataSent.clear();
    for (const s of this.sessions.all()) {
      if (!s.active || !this.drained(s)) continue;
      const h = this.history.get(s) ?? { restarts: 0, downMs: 0 };
      h.restarts++;
      h.downMs += downMs;
      this.history.set(s, h);
    }
    this.log.warn(`consumer daemon restarted after ${downMs} ms: re-attaching every channel`);
    this.schedule();
  }

  /**
   * `stop`: closes the open packets of the session's channels and, unless noWait, waits until
   * everything up to now is on disk. The stats are then current.
   */
  stopped(session: SessionState, noWait: boolean): Promise<void> {
    return this.enqueue(async () => {
      await this.apply();
      const keys = this.keysOf(session);
      if (keys.length === 0) return;
      this.keep(await this.consumer.call({ flush: { channelKeys: keys } }));
      if (!noWait) await this.waitForData(session, keys);
    });
  }

  /** `destroy`: stop's wait, then the consumer closes the session's files and forgets it. */
  destroyed(session: SessionState): Promise<void> {
    return this.enqueue(async () => {
      await this.apply();
      const keys = this.keysOf(session);
      if (keys.length === 0) return;
      await this.waitForData(session, keys);
      for (const key of keys) {
        this.keep(await this.consumer.call({ destroyChannel: { channelKey: key } }));
        this.attached.delete(key);
        this.confirmed.delete(key);
      }
      for (const set of this.buffers.setsOf(session)) this.metadataSent.delete(this.traceDirOf(session, set));
    });
  }

  /**
   * `snapshot record`: the consumer copies what the session's rings hold into `dir` (a new
   * trace per buffer set, as a drained session's), consuming nothing. Resolves with what each
   * set's copy holds, in the order of the session's sets.
   */
  snapshot(
    session: SessionState,
    dir: string,
    maxSize: number,
  ): Promise<Partial<tstrace.client.BufferInfo.$Properties>[]> {
    const sets = this.buffers.setsOf(session);
    if (sets.length === 0)
      return Promise.reject(
        new StatusError(
          StatusCode.SNAPSHOT_NOTHING,
          `session "${session.name}" has no buffers yet: no app has registered with it`,
        ),
      );
    const streams = sets.reduce((n, set) => n + set.streamPaths.length, 0);
    const perStream = maxSize > 0 ? Math.floor(maxSize / streams) : 0;
    const biggest = Math.max(...sets.map((set) => set.channel.subbufSize));
    if (maxSize > 0 && perStream < biggest) {
      return Promise.reject(
        new StatusError(
          StatusCode.INVALID_ARGUMENT,
          `--max-size ${maxSize} cannot hold one sub-buffer of each stream: ${streams} streams need at least ${streams * biggest} bytes`,
        ),
      );
    }
    return this.enqueue(async () => {
      const reply = await this.consumer.call({
        snapshot: {
          channels: sets.map((set) => ({
            name: set.channel.name,
            output: localOutput(path.join(dir, set.traceDir)),
            shmPaths: set.streamPaths,
            contexts: [...set.channel.contexts],
            events: eventLayouts(set),
          })),
          metadata: [...this.metadataOf(session, sets, dir)].map(([traceDir, text]) => ({
            output: localOutput(traceDir),
            text,
          })),
          maxBytesPerStream: perStream,
          ownerUid: session.ownerUid,
          ownerGid: session.ownerGid,
        },
      });
      return (reply.stats?.channels ?? []).map((c, i) => ({
        traceDir: path.join(dir, sets[i].traceDir),
        packets: c.packets ?? 0,
        bytes: c.bytes ?? 0,
        eventsRecorded: c.eventsRecorded ?? 0,
        eventsDiscarded: c.eventsDiscarded ?? 0,
        packetsOverwritten: c.packetsOverwritten ?? 0,
        packetsSkipped: c.packetsSkipped ?? 0,
        outputError: c.error ?? '',
      }));
    });
  }

  /** Fresh stats of the sessions' channels (for list and status). */
  refresh(sessions: readonly SessionState[]): Promise<void> {
    const keys = sessions.flatMap((s) => this.keysOf(s));
    if (keys.length === 0 || !this.consumer.running) return Promise.resolve();
    return this.enqueue(async () => {
      this.keep(await this.consumer.call({ getStats: { channelKeys: keys.filter((k) => this.attached.has(k)) } }));
    });
  }

  /** The consumer's side of the index-th buffer set of a session (ClientService's BufferInfo). */
  bufferStats(session: SessionState, _info: unknown, index: number): Partial<tstrace.client.BufferInfo.$Properties> {
    const set = this.buffers.setsOf(session)[index];
    if (!set || !this.drained(session)) return {};
    const c = this.stats.get(set.key);
    return {
      traceDir: this.traceDirOf(session, set),
      packets: c?.packets ?? 0,
      bytes: c?.bytes ?? 0,
      eventsRecorded: c?.eventsRecorded ?? 0,
      eventsDiscarded: c?.eventsDiscarded ?? 0,
      packetsOverwritten: c?.packetsOverwritten ?? 0,
      packetsSkipped: c?.packetsSkipped ?? 0,
      dataPending: c?.dataPending ?? false,
      outputError: c?.error ?? '',
    };
  }

  historyOf(session: SessionState): ConsumerHistory {
    return this.history.get(session) ?? { restarts: 0, downMs: 0 };
  }

  /** The absolute trace directory of a set, or '' when its session writes no local trace. */
  traceDirOf(session: SessionState, set: BufferSet): string {
    return this.drained(session) ? path.join(session.output.path, set.traceDir) : '';
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task);
    this.chain = run.then(
      () => undefined,
      (err: Error) => this.log.error(`consumer daemon: ${err.message}`),
    );
    return run;
  }

  /** Sessions whose buffers the consumer drains: a local output, not a snapshot session. */
  private drained(s: SessionState): boolean {
    return !!s.output.path && !s.output.none && !s.snapshot;
  }

  private keysOf(session: SessionState): number[] {
    return this.buffers
      .setsOf(session)
      .map((s) => s.key)
      .filter((k) => this.attached.has(k));
  }

  private keep(reply: tstrace.consumer.Reply.$Properties): void {
    for (const c of reply.stats?.channels ?? []) this.stats.set(Number(c.channelKey ?? 0), c);
  }

  private async waitForData(session: SessionState, keys: number[]): Promise<void> {
    const until = Date.now() + DATA_PENDING_LIMIT_MS;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      const reply = await this.consumer.call({ dataPending: { channelKeys: keys } });
      this.keep(reply);
      if (!(reply.stats?.channels ?? []).some((c) => c.dataPending)) return;
      if (Date.now() > until) {
        this.log.warn(
          `session "${session.name}": data still pending after ${DATA_PENDING_LIMIT_MS} ms (a writer holds a packet open)`,
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** Sends what the consumer lacks; commands go out together, in order, and are awaited together. */
  private async apply(): Promise<void> {
    const calls: Promise<unknown>[] = [];
    /** Layout counts this pass sends, by set key: confirmed once the consumer has answered. */
    const sending = new Map<number, number>();
    const call = (request: tstrace.consumer.Request.$Properties, what: string) =>
      calls.push(this.consumer.call(request).catch((err: Error) => this.log.error(`${what}: ${err.message}`)));
    for (const session of this.sessions.all()) {
      if (!session.everStarted || !this.drained(session)) continue;
      const sets = this.buffers.setsOf(session);
      if (sets.length === 0) continue;
      for (const set of sets) {
        const layouts = eventLayouts(set);
        const sent = this.attached.get(set.key);
        const what = `channel "${set.channel.name}" of session "${session.name}"`;
        if (sent === undefined) {
          const c = set.channel;
          call(
            {
              addChannel: {
                channelKey: set.key,
                session: session.name,
                name: c.name,
                output: localOutput(this.traceDirOf(session, set)),
                overwrite: c.overwrite,
                subbufSize: c.subbufSize,
                numSubbuf: c.numSubbuf,
                switchTimerUs: c.switchTimerUs,
                readTimerUs: c.readTimerUs,
                tracefileSize: c.tracefileSize,
                tracefileCount: c.tracefileCount,
                contexts: [...c.contexts],
                events: layouts,
                ownerUid: session.ownerUid,
                ownerGid: session.ownerGid,
                pid: set.pid,
              },
            },
            what,
          );
          set.streamPaths.forEach((shmPath, n) =>
            call(
              { addStream: { channelKey: set.key, shmPath, n, wakePath: set.wakePaths[n] ?? '' } },
              `${what}, stream ${n}`,
            ),
          );
          sending.set(set.key, layouts.length);
        } else if (layouts.length > sent) {
          call({ addEvents: { channelKey: set.key, events: layouts.slice(sent) } }, what);
          sending.set(set.key, layouts.length);
        }
        this.attached.set(set.key, layouts.length);
      }
      for (const [dir, text] of this.metadataOf(session, sets)) {
        if (this.metadataSent.get(dir) === text) continue;
        this.metadataSent.set(dir, text);
        call(
          { metadata: { output: localOutput(dir), text, ownerUid: session.ownerUid, ownerGid: session.ownerGid } },
          `metadata of ${dir}`,
        );
      }
    }
    // A set the consumer could not take (logged above) is released too: its writers then count
    // what they drop instead of waiting forever.
    await Promise.all(calls);
    let grew = false;
    for (const [key, count] of sending) {
      if ((this.confirmed.get(key) ?? -1) >= count) continue;
      this.confirmed.set(key, count);
      grew = true;
    }
    if (grew) this.onReady();
  }

  /** The TSDL of each trace directory of a session (under `root`): one stream class per channel set in it. */
  private metadataOf(session: SessionState, sets: BufferSet[], root = session.output.path): Map<string, string> {
    const byDir = new Map<string, BufferSet[]>();
    for (const set of sets) {
      const dir = path.join(root, set.traceDir);
      byDir.set(dir, [...(byDir.get(dir) ?? []), set]);
    }
    const out = new Map<string, string>();
    for (const [dir, group] of byDir) {
      const first = group[0];
      const env: Record<string, string | number> = {
        hostname: os.hostname(),
        domain: 'ust',
        tracer_name: 'tstrace',
        tracer_major: VERSION.major,
        tracer_minor: VERSION.minor,
        tracer_patchlevel: VERSION.patch,
        trace_name: session.name,
        trace_creation_datetime: isoStamp(session.createdMs),
        tracer_buffering_scheme: first.owner,
        architecture_bit_width: 64,
      };
      if (first.owner === 'uid') env.tracer_buffering_id = first.uid;
      else {
        env.vpid = first.pid;
        env.procname = first.procname;
      }
      const desc: TraceDescription = {
        uuid: first.traceUuid,
        env,
        clock: { name: 'monotonic', description: 'Monotonic Clock', offsetNs: this.clockOffset(session) },
        streams: group
          .slice()
          .sort((a, b) => a.streamId - b.streamId)
          .map((set) => ({
            id: set.streamId,
            contexts: [...set.channel.contexts],
            events: set.ids.entries.map((e) => ({
              id: e.id,
              name: e.name,
              loglevel: e.loglevel,
              fields: e.fields.map((f) => ({ name: f.name, type: f.type })),
            })),
          })),
      };
      out.set(dir, metadataText(desc));
    }
    return out;
  }

  private clockOffset(session: SessionState): bigint {
    let offset = this.clockOffsets.get(session);
    if (offset === undefined) {
      // Realtime at the same instant as a CLOCK_MONOTONIC reading, to the microsecond.
      const mono = process.hrtime.bigint();
      const real = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
      offset = real - mono;
      this.clockOffsets.set(session, offset);
    }
    return offset;
  }
}

/** `20261122T101500+0000`, LTTng's trace_creation_datetime format (UTC). */
function isoStamp(ms: number): string {
  return `${new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')}+0000`;
}

/** A trace written in a directory of this host. */
function localOutput(traceDir: string): tstrace.consumer.TraceOutput.$Properties {
  return { local: { traceDir } };
}

/** What the consumer needs of a set's events to count them: each id's field types. */
function eventLayouts(set: BufferSet): tstrace.consumer.EventLayout.$Properties[] {
  return set.ids.entries.map((e) => ({ id: e.id, types: e.fields.map((f) => f.type) }));
}
