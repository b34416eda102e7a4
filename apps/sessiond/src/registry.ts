import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { filterToJson, parseFilter, FilterError } from '@tstrace/filter';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import {
  CONTEXT_TYPES,
  DEFAULT_CHANNEL_NAME,
  DEFAULT_LIVE_TIMER_US,
  DEFAULT_RELAY_HOST_URL,
  defaultChannelAttrs,
} from './defaults';
import {
  BufferScheme,
  Caller,
  ChannelState,
  Domain,
  DOMAIN_NAMES,
  EventRuleState,
  EventType,
  LoglevelType,
  OutputState,
  SessionState,
  SnapshotOutputState,
  trackerOf,
} from './model';
import { DEFAULT_CTRL_PORT, DEFAULT_DATA_PORT, parseSetUrl, parseStreamUrl } from './urls';
import {
  checkChannelAttrs,
  checkChannelName,
  checkDomain,
  checkEventName,
  checkPid,
  checkSessionName,
} from './validate';

const num = (v: unknown): number =>
  v === null || v === undefined ? 0 : typeof v === 'number' ? v : Number(v as number);
const err = (code: StatusCode, message?: string) => new StatusError(code, message);

export interface RegistryOptions {
  /** Kernel tracing needs the root session daemon. */
  kernelAvailable: boolean;
  /** Home of the daemon's user: the default output when a client sends none. */
  defaultHome: string;
  now?: () => Date;
}

/** YYYYMMDD-HHMMSS in local time, as LTTng names sessions and trace directories. */
export function dateStamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

const globCache = new Map<string, RegExp>();

/** Glob match with '*' as "any sequence", as LTTng matches event names. */
export function globMatch(pattern: string, name: string): boolean {
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp(
      `^${pattern
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
      's',
    );
    // Patterns come from users' rules: keep the cache bounded.
    if (globCache.size >= 4096) globCache.clear();
    globCache.set(pattern, re);
  }
  return re.test(name);
}

/**
 * Every tracing session of a daemon and the rules that govern them (LTTng's). Each command
 * validates everything before it changes anything: a refused command leaves no trace.
 */
export class SessionRegistry {
  private sessions: SessionState[] = [];
  private readonly now: () => Date;

  constructor(private readonly options: RegistryOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Sessions the caller may see: their own, or all of them for root. */
  list(caller: Caller): SessionState[] {
    return this.sessions.filter((s) => caller.uid === 0 || s.ownerUid === caller.uid);
  }

  /** All sessions of every user (for the daemon itself). */
  all(): readonly SessionState[] {
    return this.sessions;
  }

  get(caller: Caller, name: string): SessionState {
    if (!name) throw err(StatusCode.NO_CURRENT_SESSION);
    const visible = this.list(caller).filter((s) => s.name === name);
    const own = visible.find((s) => s.ownerUid === caller.uid);
    if (own) return own;
    if (visible.length === 1) return visible[0];
    if (visible.length > 1)
      throw err(
        StatusCode.INVALID_ARGUMENT,
        `${visible.length} users have a session named "${name}": act on it as its owner`,
      );
    throw err(StatusCode.SESSION_NOT_FOUND, `session "${name}" not found`);
  }

  create(caller: Caller, req: tstrace.client.CreateSession.$Properties): SessionState {
    const now = this.now();
    const auto = !req.name;
    const name = auto ? `auto-${dateStamp(now)}` : (req.name as string);
    checkSessionName(name);
    if (this.sessions.some((s) => s.name === name && s.ownerUid === caller.uid)) {
      throw err(StatusCode.SESSION_EXISTS, `a session named "${name}" already exists`);
    }
    const home = req.home || this.options.defaultHome;
    if (!path.isAbsolute(home))
      throw err(StatusCode.INVALID_ARGUMENT, `home directory ${JSON.stringify(home)} must be an absolute path`);
    const output = this.resolveOutput(
      req,
      path.join(home, 'tstrace-traces', auto ? name : `${name}-${dateStamp(now)}`),
    );
    if (req.shmPath && !path.isAbsolute(req.shmPath))
      throw err(StatusCode.INVALID_ARGUMENT, `--shm-path ${JSON.stringify(req.shmPath)} must be an absolute path`);
    const session: SessionState = {
      name,
      uuid: randomUUID(),
      ownerUid: caller.uid,
      ownerGid: caller.gid,
      createdMs: now.getTime(),
      output,
      snapshot: !!req.snapshot,
      live: !!req.live,
      liveTimerUs: req.live ? num(req.liveTimerUs) || DEFAULT_LIVE_TIMER_US : 0,
      shmPath: req.shmPath ? path.normalize(req.shmPath) : '',
      channels: [],
      trackers: { userspace: { all: true, pids: [] }, kernel: { all: true, pids: [] } },
      active: false,
      everStarted: false,
      snapshotOutputs: [],
      snapshotOutputIds: 0,
      snapshotsTaken: 0,
    };
    // As LTTng: a snapshot session's output is its first snapshot output, snapshot-1.
    if (session.snapshot && !output.none) session.snapshotOutputs.push(this.newSnapshotOutput(session, '', 0, output));
    this.sessions.push(session);
    return session;
  }

  private resolveOutput(req: tstrace.client.CreateSession.$Properties, defaultPath: string): OutputState {
    const given = req.output ?? {};
    const out: OutputState = { path: '', ctrlUrl: '', dataUrl: '', none: !!given.none };
    const conflicts = (what: string) => err(StatusCode.INVALID_OUTPUT, `${what} cannot be used together`);
    const hasPath = !!given.path;
    const hasUrl = !!req.setUrl;
    const hasStream = !!given.ctrlUrl || !!given.dataUrl;
    if (out.none && (hasPath || hasUrl || hasStream))
      throw conflicts('--no-output and an output (--output, --set-url, --ctrl-url, --data-url)');
    if (hasPath && (hasUrl || hasStream)) throw conflicts('--output and --set-url/--ctrl-url/--data-url');
    if (hasUrl && hasStream) throw conflicts('--set-url and --ctrl-url/--data-url');
    if (req.snapshot && req.live) throw conflicts('--snapshot and --live');
    if (out.none && req.live) throw conflicts('--no-output and --live');
    if (hasStream && (!given.ctrlUrl || !given.dataUrl))
      throw err(StatusCode.INVALID_OUTPUT, '--ctrl-url and --data-url must be given together');
    if (hasPath) {
      if (!path.isAbsolute(given.path as string))
        throw err(StatusCode.INVALID_OUTPUT, `--output ${JSON.stringify(given.path)} must be an absolute path`);
      out.path = path.normalize(given.path as string);
    } else if (hasUrl) {
      Object.assign(out, parseSetUrl(req.setUrl as string));
    } else if (hasStream) {
      out.ctrlUrl = parseStreamUrl(given.ctrlUrl as string, DEFAULT_CTRL_PORT);
      out.dataUrl = parseStreamUrl(given.dataUrl as string, DEFAULT_DATA_PORT);
    } else if (req.live) {
      Object.assign(out, parseSetUrl(DEFAULT_RELAY_HOST_URL));
    } else if (!out.none) {
      out.path = defaultPath;
    }
    if (req.live && out.path)
      throw err(StatusCode.INVALID_OUTPUT, '--live streams to a relay daemon: give a net:// URL, not a local path');
    return out;
  }

  destroy(caller: Caller, name: string, all: boolean): string[] {
    const doomed = all ? this.list(caller) : [this.get(caller, name)];
    this.sessions = this.sessions.filter((s) => !doomed.includes(s));
    for (const s of doomed) s.active = false;
    return doomed.map((s) => s.name);
  }

  private checkKernel(domain: Domain): void {
    if (domain === Domain.KERNEL && !this.options.kernelAvailable) {
      throw err(
        StatusCode.KERNEL_UNAVAILABLE,
        'kernel tracing needs the root session daemon (run tstrace as root or as a member of the tracing group)',
      );
    }
  }

  private channel(session: SessionState, domain: Domain, name: string): ChannelState {
    const found = session.channels.find((c) => c.domain === domain && c.name === name);
    if (!found)
      throw err(
        StatusCode.CHANNEL_NOT_FOUND,
        `${DOMAIN_NAMES[domain]} channel "${name}" not found in session "${session.name}"`,
      );
    return found;
  }

  /** A new channel with the given attributes; checked, not yet added. */
  private newChannel(
    session: SessionState,
    domain: Domain,
    name: string,
    req: Partial<tstrace.client.EnableChannel.$Properties>,
  ): ChannelState {
    if (session.everStarted) {
      throw err(
        StatusCode.SESSION_STARTED,
        `cannot add channel "${name}": session "${session.name}" has already been started`,
      );
    }
    checkChannelName(name);
    const siblings = session.channels.filter((c) => c.domain === domain);
    let buffers = (req.buffers ?? BufferScheme.BUFFERS_DEFAULT) as BufferScheme;
    if (buffers === BufferScheme.BUFFERS_DEFAULT)
      buffers = siblings[0]?.buffers ?? (domain === Domain.KERNEL ? BufferScheme.GLOBAL : BufferScheme.PER_UID);
    const d = defaultChannelAttrs(domain, buffers);
    const pick = (v: unknown, fallback: number) => (v === null || v === undefined ? fallback : num(v));
    const attrs = {
      subbufSize: pick(req.subbufSize, d.subbufSize),
      numSubbuf: pick(req.numSubbuf, d.numSubbuf),
      switchTimerUs: pick(req.switchTimerUs, d.switchTimerUs),
      readTimerUs: pick(req.readTimerUs, d.readTimerUs),
      monitorTimerUs: pick(req.monitorTimerUs, d.monitorTimerUs),
      tracefileSize: pick(req.tracefileSize, d.tracefileSize),
      tracefileCount: pick(req.tracefileCount, d.tracefileCount),
      buffers,
    };
    checkChannelAttrs(domain, attrs);
    if (siblings.length > 0 && siblings[0].buffers !== buffers) {
      throw err(
        StatusCode.BUFFER_TYPE_MISMATCH,
        `session "${session.name}" uses ${siblings[0].buffers === BufferScheme.PER_PID ? 'per-PID' : 'per-UID'} buffers: all its userspace channels must use the same`,
      );
    }
    // Snapshot sessions keep the newest data: their channels overwrite unless told otherwise.
    const overwrite = req.overwrite === null || req.overwrite === undefined ? session.snapshot : !!req.overwrite;
    return { name, domain, enabled: true, overwrite, ...attrs, events: [], contexts: [] };
  }

  enableChannel(caller: Caller, req: tstrace.client.EnableChannel.$Properties): SessionState {
    const session = this.get(caller, req.session ?? '');
    const domain = checkDomain(num(req.domain));
    this.checkKernel(domain);
    const name = req.name ?? '';
    const existing = session.channels.find((c) => c.domain === domain && c.name === name);
    if (existing) {
      const attrsGiven =
        [
          'subbufSize',
          'numSubbuf',
          'overwrite',
          'switchTimerUs',
          'readTimerUs',
          'monitorTimerUs',
          'tracefileSize',
          'tracefileCount',
        ].some(
          (k) => (req as Record<string, unknown>)[k] !== null && (req as Record<string, unknown>)[k] !== undefined,
        ) || !!req.buffers;
      if (attrsGiven) {
        if (session.everStarted)
          throw err(
            StatusCode.SESSION_STARTED,
            `channel "${name}": settings cannot change once session "${session.name}" has been started`,
          );
        throw err(
          StatusCode.CHANNEL_EXISTS,
          `channel "${name}" already exists in session "${session.name}": its settings cannot be changed`,
        );
      }
      if (existing.enabled) throw err(StatusCode.CHANNEL_ALREADY_ENABLED, `channel "${name}" is already enabled`);
      existing.enabled = true;
      return session;
    }
    session.channels.push(this.newChannel(session, domain, name, req));
    return session;
  }

  disableChannel(caller: Caller, req: tstrace.client.DisableChannel.$Properties): SessionState {
    const session = this.get(caller, req.session ?? '');
    const domain = checkDomain(num(req.domain));
    this.checkKernel(domain);
    const names = req.names ?? [];
    if (names.length === 0) throw err(StatusCode.INVALID_ARGUMENT, 'name the channel(s) to disable');
    const channels = names.map((n) => this.channel(session, domain, n));
    for (const c of channels)
      if (!c.enabled) throw err(StatusCode.CHANNEL_ALREADY_DISABLED, `channel "${c.name}" is already disabled`);
    for (const c of channels) c.enabled = false;
    return session;
  }

  /** The channel an event or context command targets: the named one, or channel0, made when missing. */
  private targetChannel(
    session: SessionState,
    domain: Domain,
    name: string | null | undefined,
  ): { channel: ChannelState; isNew: boolean } {
    if (name) return { channel: this.channel(session, domain, name), isNew: false };
    const existing = session.channels.find((c) => c.domain === domain && c.name === DEFAULT_CHANNEL_NAME);
    if (existing) return { channel: existing, isNew: false };
    return { channel: this.newChannel(session, domain, DEFAULT_CHANNEL_NAME, {}), isNew: true };
  }

  enableEvent(caller: Caller, req: tstrace.client.EnableEvent.$Properties): SessionState {
    const session = this.get(caller, req.session ?? '');
    const domain = checkDomain(num(req.domain));
    this.checkKernel(domain);
    const rules = this.checkEventRules(domain, req);
    const { channel, isNew } = this.targetChannel(session, domain, req.channel);
    const toEnable: EventRuleState[] = [];
    const toAdd: EventRuleState[] = [];
    for (const rule of rules) {
      const same = channel.events.find((e) => sameRule(e, rule));
      if (same?.enabled)
        throw err(
          StatusCode.EVENT_ALREADY_ENABLED,
          `event "${rule.name}" is already enabled in channel "${channel.name}" with these conditions`,
        );
      if (same) toEnable.push(same);
      else toAdd.push(rule);
    }
    if (isNew) session.channels.push(channel);
    for (const e of toEnable) e.enabled = true;
    channel.events.push(...toAdd);
    return session;
  }

  /** Checks the event names and conditions of an enable-event request; returns the new rules. */
  private checkEventRules(domain: Domain, req: tstrace.client.EnableEvent.$Properties): EventRuleState[] {
    const names = req.all ? ['*'] : (req.names ?? []);
    if (names.length === 0) throw err(StatusCode.INVALID_EVENT, 'name the event(s) to enable, or use -a/--all');
    names.forEach(checkEventName);
    const type = num(req.type) as EventType;
    if (type !== EventType.TRACEPOINT && type !== EventType.SYSCALL)
      throw err(StatusCode.INVALID_EVENT, `unknown event type ${type}`);
    if (type === EventType.SYSCALL && domain !== Domain.KERNEL)
      throw err(StatusCode.INVALID_EVENT, '--syscall is for the kernel domain (-k) only');
    const loglevelType = num(req.loglevelType) as LoglevelType;
    const loglevel = num(req.loglevel);
    if (loglevelType !== LoglevelType.LOGLEVEL_ALL) {
      if (domain !== Domain.USERSPACE)
        throw err(StatusCode.INVALID_LOGLEVEL, '--loglevel and --loglevel-only are for the userspace domain (-u) only');
      if (loglevelType !== LoglevelType.LOGLEVEL_RANGE && loglevelType !== LoglevelType.LOGLEVEL_SINGLE)
        throw err(StatusCode.INVALID_LOGLEVEL, `unknown log level condition ${loglevelType}`);
      if (!Number.isInteger(loglevel) || loglevel < 0 || loglevel > 14)
        throw err(
          StatusCode.INVALID_LOGLEVEL,
          `log level ${loglevel} is out of range (0 TRACE_EMERG .. 14 TRACE_DEBUG)`,
        );
    }
    const exclusions = [...new Set(req.exclusions ?? [])];
    if (exclusions.length > 0) {
      if (domain !== Domain.USERSPACE)
        throw err(StatusCode.INVALID_EXCLUSION, '--exclude is for the userspace domain (-u) only');
      for (const name of names) {
        if (!name.includes('*'))
          throw err(StatusCode.INVALID_EXCLUSION, `--exclude needs a wildcard event name: "${name}" has no '*'`);
        for (const x of exclusions) {
          checkEventName(x);
          if (!globMatch(name, x.replace(/\*/g, '')))
            throw err(StatusCode.INVALID_EXCLUSION, `exclusion "${x}" does not match the event pattern "${name}"`);
        }
      }
    }
    let filter = '';
    let filterAst = '';
    if (req.filter) {
      try {
        filterAst = filterToJson(parseFilter(req.filter));
      } catch (e) {
        if (e instanceof FilterError) throw err(StatusCode.INVALID_FILTER, e.message);
        throw e;
      }
      filter = req.filter;
    }
    return names.map((name) => ({
      name,
      enabled: true,
      type,
      loglevelType,
      loglevel: loglevelType === LoglevelType.LOGLEVEL_ALL ? 0 : loglevel,
      filter,
      filterAst,
      exclusions: [...exclusions],
    }));
  }

  disableEvent(caller: Caller, req: tstrace.client.DisableEvent.$Properties): SessionState {
    const session = this.get(caller, req.session ?? '');
    const domain = checkDomain(num(req.domain));
    this.checkKernel(domain);
    const channel = this.channel(session, domain, req.channel || DEFAULT_CHANNEL_NAME);
    if (req.all) {
      for (const e of channel.events) e.enabled = false;
      return session;
    }
    const names = req.names ?? [];
    if (names.length === 0) throw err(StatusCode.INVALID_EVENT, 'name the event(s) to disable, or use -a/--all');
    const matches = names.map((n) => {
      const rules = channel.events.filter((e) => e.name === n);
      if (rules.length === 0)
        throw err(StatusCode.EVENT_NOT_FOUND, `event "${n}" not found in channel "${channel.name}"`);
      return rules;
    });
    for (const rules of matches) for (const e of rules) e.enabled = false;
    return session;
  }

  addContext(caller: Caller, req: tstrace.client.AddContext.$Properties): SessionState {
    const session = this.get(caller, req.session ?? '');
    const domain = checkDomain(num(req.domain));
    this.checkKernel(domain);
    const valid = CONTEXT_TYPES[domain];
    const types = [...new Set(req.types ?? [])];
    if (types.length === 0)
      throw err(StatusCode.UNKNOWN_CONTEXT, `give a context type with -t: one of ${valid.join(', ')}`);
    for (const t of types) {
      if (!valid.includes(t))
        throw err(
          StatusCode.UNKNOWN_CONTEXT,
          `unknown ${DOMAIN_NAMES[domain]} context type "${t}": valid types are ${valid.join(', ')}`,
        );
    }
    if (session.everStarted)
      throw err(StatusCode.SESSION_STARTED, `cannot add contexts: session "${session.name}" has already been started`);
    let targets = req.channel
      ? [this.channel(session, domain, req.channel)]
      : session.channels.filter((c) => c.domain === domain);
    let created: ChannelState | undefined;
    if (targets.length === 0) {
      created = this.targetChannel(session, domain, undefined).channel;
      targets = [created];
    }
    for (const c of targets) {
      const dup = types.find((t) => c.contexts.includes(t));
      if (dup) throw err(StatusCode.CONTEXT_EXISTS, `context "${dup}" is already added to channel "${c.name}"`);
    }
    if (created) session.channels.push(created);
    for (const c of targets) c.contexts.push(...types);
    return session;
  }

  start(caller: Caller, name: string): SessionState {
    const session = this.get(caller, name);
    if (session.active)
      throw err(StatusCode.ALREADY_STARTED, `tracing is already started for session "${session.name}"`);
    if (session.channels.length === 0)
      throw err(StatusCode.NO_CHANNEL, `session "${session.name}" has no channel: enable a channel or an event first`);
    session.active = true;
    session.everStarted = true;
    return session;
  }

  stop(caller: Caller, name: string): SessionState {
    const session = this.get(caller, name);
    if (!session.active)
      throw err(StatusCode.ALREADY_STOPPED, `tracing is already stopped for session "${session.name}"`);
    session.active = false;
    return session;
  }

  track(caller: Caller, req: tstrace.client.TrackPids.$Properties): SessionState {
    const { session, tracker, pids } = this.trackerRequest(caller, req);
    if (req.all) {
      tracker.all = true;
      tracker.pids = [];
      return session;
    }
    const current = tracker.all ? [] : tracker.pids;
    const dup = pids.find((p) => current.includes(p));
    if (dup !== undefined) throw err(StatusCode.PID_ALREADY_TRACKED, `PID ${dup} is already tracked`);
    tracker.all = false;
    tracker.pids = [...current, ...pids].sort((a, b) => a - b);
    return session;
  }

  untrack(caller: Caller, req: tstrace.client.TrackPids.$Properties): SessionState {
    const { session, tracker, pids } = this.trackerRequest(caller, req);
    if (req.all) {
      tracker.all = false;
      tracker.pids = [];
      return session;
    }
    if (tracker.all)
      throw err(
        StatusCode.INVALID_TRACKER_POLICY,
        'every process is tracked: use untrack --all first, then track the PIDs to keep',
      );
    const missing = pids.find((p) => !tracker.pids.includes(p));
    if (missing !== undefined) throw err(StatusCode.PID_NOT_TRACKED, `PID ${missing} is not tracked`);
    tracker.pids = tracker.pids.filter((p) => !pids.includes(p));
    return session;
  }

  private trackerRequest(caller: Caller, req: tstrace.client.TrackPids.$Properties) {
    const session = this.get(caller, req.session ?? '');
    const domain = checkDomain(num(req.domain));
    this.checkKernel(domain);
    const pids = [...new Set((req.pids ?? []).map(num))];
    if (req.all && pids.length > 0) throw err(StatusCode.INVALID_ARGUMENT, '--all and --pid cannot be used together');
    if (!req.all && pids.length === 0) throw err(StatusCode.INVALID_ARGUMENT, 'give --pid PID[,PID...] or --all');
    pids.forEach(checkPid);
    return { session, tracker: trackerOf(session, domain), pids };
  }

  /**
   * Builds a session from saved settings, through the same checks as the commands that made it,
   * without touching the registry; `adopt` then adds it.
   */
  rebuild(caller: Caller, config: tstrace.client.SessionConfig, name: string, home: string): SessionState {
    const scratch = new SessionRegistry({ ...this.options, now: this.now });
    const output = config.output ?? { path: '', ctrlUrl: '', dataUrl: '', none: false };
    const outputReq = output.path
      ? { path: output.path }
      : output.ctrlUrl
        ? { ctrlUrl: output.ctrlUrl, dataUrl: output.dataUrl }
        : { none: output.none };
    const s = scratch.create(caller, {
      name,
      output: outputReq,
      snapshot: config.snapshot,
      live: config.live,
      liveTimerUs: config.liveTimerUs,
      shmPath: config.shmPath,
      home,
    });
    for (const c of config.channels ?? []) {
      const domain = checkDomain(num(c.domain));
      scratch.checkKernel(domain);
      const channel = scratch.newChannel(s, domain, c.name ?? '', c);
      if (s.channels.some((x) => x.domain === domain && x.name === channel.name))
        throw err(StatusCode.CHANNEL_EXISTS, `channel "${channel.name}" appears twice`);
      channel.enabled = !!c.enabled;
      s.channels.push(channel);
      for (const e of c.events ?? []) {
        const [rule] = scratch.checkEventRules(domain, {
          names: [e.name ?? ''],
          type: e.type,
          loglevelType: e.loglevelType,
          loglevel: e.loglevel,
          filter: e.filter,
          exclusions: e.exclusions,
        });
        if (channel.events.some((x) => sameRule(x, rule)))
          throw err(
            StatusCode.EVENT_ALREADY_ENABLED,
            `event "${rule.name}" appears twice in channel "${channel.name}"`,
          );
        rule.enabled = !!e.enabled;
        channel.events.push(rule);
      }
      if ((c.contexts ?? []).length > 0)
        scratch.addContext(caller, { session: s.name, domain, channel: channel.name, types: c.contexts });
    }
    for (const t of config.trackers ?? []) {
      const pids = [...new Set((t.pids ?? []).map(num))].sort((a, b) => a - b);
      pids.forEach(checkPid);
      Object.assign(trackerOf(s, checkDomain(num(t.domain))), t.all ? { all: true, pids: [] } : { all: false, pids });
    }
    if ((config.snapshotOutputs ?? []).length > 0) {
      if (!s.snapshot) throw err(StatusCode.LOAD_INVALID_FILE, 'snapshot outputs belong to sessions in snapshot mode');
      s.snapshotOutputs = [];
      s.snapshotOutputIds = 0;
      for (const o of config.snapshotOutputs) {
        if (s.snapshotOutputs.length > 0)
          throw err(StatusCode.LOAD_INVALID_FILE, 'a session has one snapshot output at most');
        if (o.path && !path.isAbsolute(o.path))
          throw err(StatusCode.LOAD_INVALID_FILE, `snapshot output ${JSON.stringify(o.path)} must be an absolute path`);
        s.snapshotOutputIds = Math.max(0, num(o.id) - 1);
        s.snapshotOutputs.push(
          scratch.newSnapshotOutput(s, o.name ?? '', num(o.maxSize), {
            path: o.path ? path.normalize(o.path) : '',
            ctrlUrl: o.ctrlUrl ?? '',
            dataUrl: o.dataUrl ?? '',
          }),
        );
      }
    }
    if (config.active) scratch.start(caller, s.name);
    return s;
  }

  /** `snapshot add-output`: one per session, as in LTTng 2.13. */
  addSnapshotOutput(caller: Caller, req: tstrace.client.SnapshotAddOutput.$Properties): SnapshotOutputState {
    const session = this.snapshotSession(caller, req.session ?? '');
    const o = req.output ?? {};
    const target = snapshotTarget(o.path ?? '', o.ctrlUrl ?? '', o.dataUrl ?? '');
    const [old] = session.snapshotOutputs;
    if (old)
      throw err(
        StatusCode.SNAPSHOT_OUTPUT_EXISTS,
        `session "${session.name}" already has a snapshot output, [${old.id}] ${old.name}: remove it first (snapshot del-output ${old.id})`,
      );
    const output = this.newSnapshotOutput(session, o.name ?? '', num(o.maxSize), target);
    session.snapshotOutputs.push(output);
    return output;
  }

  /** `snapshot del-output ID|NAME`. */
  delSnapshotOutput(caller: Caller, req: tstrace.client.SnapshotDelOutput.$Properties): SnapshotOutputState {
    const session = this.snapshotSession(caller, req.session ?? '');
    const found = session.snapshotOutputs.find((o) => (req.name ? o.name === req.name : o.id === num(req.id)));
    if (!found)
      throw err(
        StatusCode.SNAPSHOT_OUTPUT_NOT_FOUND,
        `session "${session.name}" has no snapshot output ${req.name ? `named "${req.name}"` : `with id ${num(req.id)}`}`,
      );
    session.snapshotOutputs = session.snapshotOutputs.filter((o) => o !== found);
    return found;
  }

  snapshotOutputs(caller: Caller, name: string): SnapshotOutputState[] {
    return this.snapshotSession(caller, name).snapshotOutputs;
  }

  /** What `snapshot record` writes and where; checked, nothing changed (`snapshotTaken` after). */
  snapshotPlan(
    caller: Caller,
    req: tstrace.client.SnapshotRecord.$Properties,
  ): { session: SessionState; dir: string; maxSize: number } {
    const session = this.snapshotSession(caller, req.session ?? '');
    const given = req.path || req.ctrlUrl || req.dataUrl;
    const output = session.snapshotOutputs[0];
    if (!given && !output)
      throw err(
        StatusCode.NO_SNAPSHOT_OUTPUT,
        `session "${session.name}" has no snapshot output: give a path or URL, or add one with snapshot add-output`,
      );
    const target = given ? snapshotTarget(req.path ?? '', req.ctrlUrl ?? '', req.dataUrl ?? '') : output;
    if (!target.path)
      throw err(
        StatusCode.INVALID_OUTPUT,
        `snapshots to a relay daemon (${output.ctrlUrl}) are not supported by this version: give a local path`,
      );
    const name = req.name || (given ? 'snapshot' : output.name);
    checkSnapshotName(name);
    if (!session.everStarted)
      throw err(
        StatusCode.SNAPSHOT_NOTHING,
        `session "${session.name}" has never been started: its buffers hold nothing yet`,
      );
    const maxSize = req.maxSize === null || req.maxSize === undefined ? (output?.maxSize ?? 0) : num(req.maxSize);
    return {
      session,
      dir: path.join(target.path, `${name}-${dateStamp(this.now())}-${session.snapshotsTaken}`),
      maxSize,
    };
  }

  snapshotTaken(session: SessionState): void {
    session.snapshotsTaken++;
  }

  private snapshotSession(caller: Caller, name: string): SessionState {
    const session = this.get(caller, name);
    if (!session.snapshot)
      throw err(
        StatusCode.NOT_SNAPSHOT_SESSION,
        `session "${session.name}" is not in snapshot mode (create it with --snapshot)`,
      );
    return session;
  }

  private newSnapshotOutput(
    session: SessionState,
    name: string,
    maxSize: number,
    target: { path?: string; ctrlUrl?: string; dataUrl?: string },
  ): SnapshotOutputState {
    const id = session.snapshotOutputIds + 1;
    const output = {
      id,
      name: name || `snapshot-${id}`,
      path: target.path ?? '',
      ctrlUrl: target.ctrlUrl ?? '',
      dataUrl: target.dataUrl ?? '',
      maxSize,
    };
    checkSnapshotName(output.name);
    session.snapshotOutputIds = id;
    return output;
  }

  /** Adds a session made by `rebuild`, replacing one of the same name and owner when asked. */
  adopt(session: SessionState, replace: boolean): void {
    const clash = this.sessions.find((s) => s.name === session.name && s.ownerUid === session.ownerUid);
    if (clash && !replace)
      throw err(
        StatusCode.SESSION_EXISTS,
        `a session named "${session.name}" already exists (use --force to replace it)`,
      );
    this.sessions = this.sessions.filter((s) => s !== clash);
    this.sessions.push(session);
  }
}

/**
 * A snapshot's destination: an absolute path, file://PATH, or a relay (net://, -C/-D). Sending
 * snapshots to a relay daemon needs the network output, which this version does not have.
 */
function snapshotTarget(pathOrUrl: string, ctrlUrl: string, dataUrl: string): { path: string } {
  let target: { path: string } | { ctrlUrl: string; dataUrl: string };
  if (ctrlUrl || dataUrl) {
    if (!ctrlUrl || !dataUrl) throw err(StatusCode.INVALID_OUTPUT, '--ctrl-url and --data-url must be given together');
    if (pathOrUrl) throw err(StatusCode.INVALID_OUTPUT, 'a URL and --ctrl-url/--data-url cannot be used together');
    target = {
      ctrlUrl: parseStreamUrl(ctrlUrl, DEFAULT_CTRL_PORT),
      dataUrl: parseStreamUrl(dataUrl, DEFAULT_DATA_PORT),
    };
  } else if (pathOrUrl.includes('://')) {
    target = parseSetUrl(pathOrUrl);
  } else {
    if (!path.isAbsolute(pathOrUrl))
      throw err(
        StatusCode.INVALID_OUTPUT,
        `snapshot output ${JSON.stringify(pathOrUrl)} must be an absolute path or a URL`,
      );
    target = { path: path.normalize(pathOrUrl) };
  }
  if (!('path' in target))
    throw err(
      StatusCode.INVALID_OUTPUT,
      `snapshots to a relay daemon (${target.ctrlUrl}) are not supported by this version: give a local path`,
    );
  return target;
}

/** A snapshot output's name starts the snapshot's directory name. */
function checkSnapshotName(name: string): void {
  if (name.length > 200 || !/^[A-Za-z0-9_.+-]+$/.test(name) || /^\.\.?$/.test(name)) {
    throw err(
      StatusCode.INVALID_ARGUMENT,
      `snapshot name ${JSON.stringify(name)}: use 1 to 200 letters, digits and _ . + - (it names a directory)`,
    );
  }
}

function sameRule(a: EventRuleState, b: EventRuleState): boolean {
  return (
    a.name === b.name &&
    a.type === b.type &&
    a.loglevelType === b.loglevelType &&
    a.loglevel === b.loglevel &&
    a.filterAst === b.filterAst &&
    a.exclusions.length === b.exclusions.length &&
    a.exclusions.every((x) => b.exclusions.includes(x))
  );
}
