import { ArgsError, OptionSpec, OptionValue } from '@tstrace/args';
import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import {
  appToJson,
  LOGLEVELS,
  parseLoglevel,
  SessiondClient,
  SessionInfo,
  sessionToJson,
  tstraceHome,
} from '@tstrace/ctl';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { clearCurrentSession, currentSession, setCurrentSession } from './rc';
import {
  outputOf,
  renderApps,
  renderKernelEvents,
  renderSession,
  renderSessionList,
  renderTraceSummary,
} from './render';
import { snapshot } from './snapshot';
import { parseCount, parseList, parseMicros, parseSize } from './units';
import { countEvents, renderCounts, runView, VIEW_DESCRIPTION, VIEW_OPTIONS, VIEW_USAGE } from './view';

const { Domain, BufferScheme, LoglevelType, EventType } = tstrace.client;

/** What a command gets: its options, its positionals, the daemon, and where to print. */
export interface CommandContext {
  options: Record<string, OptionValue>;
  positionals: string[];
  /** What follows `--` (only for commands that take a command line). */
  rest: string[];
  json: boolean;
  quiet: boolean;
  client: () => Promise<SessiondClient>;
  print: (text: string) => void;
  printJson: (value: unknown) => void;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** More text for `--help`, after the summary. */
  description?: string;
  options: OptionSpec[];
  /** Most commands talk to the daemon; `set-session`, `version` and `help` do not. */
  maxPositionals: number;
  /** Takes a command line after `--` (record). */
  takesCommand?: boolean;
  /** Resolves with the exit code when the command decides it (record exits with its child's). */
  run: (ctx: CommandContext) => Promise<void | number>;
}

const opt = {
  session: {
    name: 'session',
    short: 's',
    kind: 'value',
    valueName: 'NAME',
    help: 'apply to this session (default: the current session)',
  },
  userspace: { name: 'userspace', short: 'u', kind: 'flag', help: 'userspace domain' },
  kernel: { name: 'kernel', short: 'k', kind: 'flag', help: 'kernel domain' },
  channel: { name: 'channel', short: 'c', kind: 'value', valueName: 'NAME', help: 'apply to this channel' },
  all: { name: 'all', short: 'a', kind: 'flag', help: 'all of them' },
} satisfies Record<string, OptionSpec>;

const str = (ctx: CommandContext, name: string) => ctx.options[name] as string | undefined;
const flag = (ctx: CommandContext, name: string) => !!ctx.options[name];

function domainOf(ctx: CommandContext, required = true): number {
  const u = flag(ctx, 'userspace');
  const k = flag(ctx, 'kernel');
  if (u && k) throw new ArgsError('choose one domain: -u/--userspace or -k/--kernel, not both');
  if (!u && !k && required) throw new ArgsError('a domain is required: -u/--userspace or -k/--kernel');
  return u ? Domain.USERSPACE : k ? Domain.KERNEL : Domain.DOMAIN_UNSPECIFIED;
}

function domainLabel(domain: number): string {
  return domain === Domain.KERNEL ? 'kernel' : 'UST';
}

/** -s NAME, else the positional, else the current session from .tstracerc. */
function sessionName(ctx: CommandContext, positional?: string): string {
  const name = str(ctx, 'session') ?? positional ?? currentSession();
  if (!name)
    throw new StatusError(
      StatusCode.NO_CURRENT_SESSION,
      'no session given and no current session: create one, or use set-session',
    );
  return name;
}

function names(ctx: CommandContext, what: string): string[] {
  if (ctx.positionals.length === 0) return [];
  return parseList(what, ctx.positionals[0]);
}

/** NAME[,NAME...] or -a/--all, one of them: what enable-event and disable-event act on. */
function eventSelection(ctx: CommandContext): { all: boolean; eventNames: string[] } {
  const all = flag(ctx, 'all');
  const eventNames = names(ctx, 'event names');
  if (all && eventNames.length) throw new ArgsError('give event names or -a/--all, not both');
  if (!all && eventNames.length === 0) throw new ArgsError('give the event name(s), or -a/--all');
  return { all, eventNames };
}

function printSession(ctx: CommandContext, info: SessionInfo, text: string): void {
  if (ctx.json) ctx.printJson(sessionToJson(info));
  else if (!ctx.quiet) ctx.print(text);
}

const create: Command = {
  name: 'create',
  summary: 'Create a tracing session',
  usage: 'tstrace create [NAME] [OPTIONS]',
  maxPositionals: 1,
  options: [
    { name: 'output', short: 'o', kind: 'value', valueName: 'DIR', help: 'write the trace to DIR' },
    {
      name: 'set-url',
      short: 'U',
      kind: 'value',
      valueName: 'URL',
      help: 'file://PATH or net://HOST[:CTRL_PORT[:DATA_PORT]]',
    },
    {
      name: 'ctrl-url',
      short: 'C',
      kind: 'value',
      valueName: 'URL',
      help: 'control URL of a relay daemon (with --data-url)',
    },
    {
      name: 'data-url',
      short: 'D',
      kind: 'value',
      valueName: 'URL',
      help: 'data URL of a relay daemon (with --ctrl-url)',
    },
    { name: 'no-output', kind: 'flag', help: 'record no trace (e.g. for snapshots taken later elsewhere)' },
    { name: 'snapshot', kind: 'flag', help: 'snapshot mode: channels in overwrite mode, recorded on demand' },
    {
      name: 'live',
      kind: 'optional',
      valueName: 'USEC',
      help: 'live mode, streaming to a relay daemon; optional timer in µs (default 1000000)',
    },
    { name: 'shm-path', kind: 'value', valueName: 'PATH', help: 'create the shared-memory buffers under PATH' },
  ],
  async run(ctx) {
    const live = ctx.options.live;
    const liveTimerUs = typeof live === 'string' ? parseMicros('--live', live) : 0;
    if (typeof live === 'string' && liveTimerUs === 0) throw new ArgsError('--live timer must be greater than 0');
    const output = str(ctx, 'output');
    const shm = str(ctx, 'shm-path');
    const info = await (
      await ctx.client()
    ).createSession({
      name: ctx.positionals[0] ?? '',
      output: {
        path: output !== undefined ? path.resolve(output) : '',
        ctrlUrl: str(ctx, 'ctrl-url') ?? '',
        dataUrl: str(ctx, 'data-url') ?? '',
        none: flag(ctx, 'no-output'),
      },
      setUrl: str(ctx, 'set-url') ?? '',
      snapshot: flag(ctx, 'snapshot'),
      live: live !== undefined,
      liveTimerUs,
      shmPath: shm !== undefined ? path.resolve(shm) : '',
      home: tstraceHome(),
    });
    const name = info.config?.name ?? '';
    setCurrentSession(name);
    const out = outputOf(info);
    printSession(
      ctx,
      info,
      `Session ${name} created.\n${out === 'none' ? 'Traces will not be output\n' : `Traces will be output to ${out}\n`}`,
    );
  },
};

const destroy: Command = {
  name: 'destroy',
  summary: 'Destroy a tracing session (its trace files are kept)',
  usage: 'tstrace destroy [NAME] [-a]',
  maxPositionals: 1,
  options: [opt.all],
  async run(ctx) {
    const all = flag(ctx, 'all');
    if (all && ctx.positionals.length) throw new ArgsError('give a session name or --all, not both');
    const name = all ? '' : sessionName(ctx, ctx.positionals[0]);
    const destroyed = await (await ctx.client()).destroySession({ name, all });
    const current = currentSession();
    if (current && destroyed.includes(current)) clearCurrentSession();
    if (ctx.json) ctx.printJson({ destroyed });
    else if (!ctx.quiet)
      ctx.print(
        destroyed.length ? destroyed.map((n) => `Session ${n} destroyed\n`).join('') : 'No session to destroy\n',
      );
  },
};

const list: Command = {
  name: 'list',
  summary: "List sessions, one session in detail, the registered userspace events, or the kernel's events",
  usage: 'tstrace list [SESSION [-u|-k] [-c CHANNEL]] | tstrace list -u | tstrace list -k [--syscall]',
  maxPositionals: 1,
  options: [
    opt.userspace,
    opt.kernel,
    opt.channel,
    { name: 'syscall', kind: 'flag', help: 'with -k: list system calls instead of tracepoints' },
  ],
  async run(ctx) {
    const domain = domainOf(ctx, false);
    if (flag(ctx, 'syscall') && (domain !== Domain.KERNEL || ctx.positionals.length))
      throw new ArgsError("--syscall lists the kernel's system calls: use it as list -k --syscall");
    const client = await ctx.client();
    const session = ctx.positionals[0];
    if (!session) {
      if (str(ctx, 'channel')) throw new ArgsError('-c/--channel needs a session name');
      if (domain === Domain.KERNEL) {
        const syscalls = flag(ctx, 'syscall');
        const events = await client.listKernelEvents(syscalls);
        if (ctx.json) ctx.printJson({ [syscalls ? 'syscalls' : 'tracepoints']: events });
        else ctx.print(renderKernelEvents(events, syscalls));
        return;
      }
      if (domain === Domain.USERSPACE) {
        const apps = await client.listApps(Domain.USERSPACE);
        if (ctx.json) ctx.printJson({ apps: apps.map(appToJson) });
        else ctx.print(renderApps(apps));
        return;
      }
      const sessions = await client.listSessions();
      if (ctx.json) ctx.printJson({ sessions: sessions.map(sessionToJson) });
      else ctx.print(renderSessionList(sessions, currentSession()));
      return;
    }
    const info = await client.getSession(session);
    const channel = str(ctx, 'channel');
    if (
      channel &&
      !(info.config?.channels ?? []).some(
        (c: tstrace.client.Channel.$Properties) => c.name === channel && (!domain || c.domain === domain),
      )
    ) {
      throw new StatusError(StatusCode.CHANNEL_NOT_FOUND, `channel "${channel}" not found in session "${session}"`);
    }
    if (ctx.json) ctx.printJson(sessionToJson(info));
    else ctx.print(renderSession(info, { domain, channel }));
  },
};

const status: Command = {
  name: 'status',
  summary: 'Show the current session in detail',
  usage: 'tstrace status',
  maxPositionals: 0,
  options: [],
  async run(ctx) {
    const name = currentSession();
    if (!name)
      throw new StatusError(StatusCode.NO_CURRENT_SESSION, 'no current session: create one, or use set-session');
    const info = await (await ctx.client()).getSession(name);
    if (ctx.json) ctx.printJson(sessionToJson(info));
    else
      ctx.print(
        `Recording session ${name}: ${info.config?.active ? '[active]' : '[inactive]'}\n${renderSession(info).split('\n').slice(1).join('\n')}`,
      );
  },
};

const enableChannel: Command = {
  name: 'enable-channel',
  summary: 'Create a channel, or enable a disabled one',
  usage: 'tstrace enable-channel (-u|-k) [OPTIONS] NAME[,NAME...]',
  maxPositionals: 1,
  options: [
    opt.userspace,
    opt.kernel,
    opt.session,
    { name: 'discard', kind: 'flag', help: 'discard new events when the buffer is full (default)' },
    { name: 'overwrite', kind: 'flag', help: 'overwrite the oldest sub-buffer when full (flight recorder)' },
    { name: 'subbuf-size', kind: 'value', valueName: 'SIZE', help: 'sub-buffer size: a power of two, k/M/G suffixes' },
    { name: 'num-subbuf', kind: 'value', valueName: 'COUNT', help: 'number of sub-buffers: a power of two' },
    { name: 'switch-timer', kind: 'value', valueName: 'USEC', help: 'flush partial sub-buffers this often' },
    { name: 'read-timer', kind: 'value', valueName: 'USEC', help: 'check for data this often' },
    { name: 'monitor-timer', kind: 'value', valueName: 'USEC', help: 'sample buffer usage this often' },
    { name: 'tracefile-size', short: 'C', kind: 'value', valueName: 'SIZE', help: 'maximum size of each trace file' },
    {
      name: 'tracefile-count',
      short: 'W',
      kind: 'value',
      valueName: 'COUNT',
      help: 'maximum number of trace files per stream',
    },
    { name: 'buffers-uid', kind: 'flag', help: 'one buffer per user (userspace default)' },
    { name: 'buffers-pid', kind: 'flag', help: 'one buffer per process (userspace)' },
    { name: 'buffers-global', kind: 'flag', help: 'one buffer for the system (kernel default)' },
  ],
  async run(ctx) {
    const domain = domainOf(ctx);
    const channelNames = names(ctx, 'channel names');
    if (channelNames.length === 0) throw new ArgsError('give the channel name');
    if (flag(ctx, 'discard') && flag(ctx, 'overwrite'))
      throw new ArgsError('--discard and --overwrite cannot be used together');
    const schemes = ['buffers-uid', 'buffers-pid', 'buffers-global'].filter((s) => flag(ctx, s));
    if (schemes.length > 1) throw new ArgsError(`choose one buffering scheme, not --${schemes.join(' and --')}`);
    const value = <T>(name: string, parse: (o: string, t: string) => T) =>
      str(ctx, name) === undefined ? undefined : parse(`--${name}`, str(ctx, name) as string);
    const buffers =
      {
        'buffers-uid': BufferScheme.PER_UID,
        'buffers-pid': BufferScheme.PER_PID,
        'buffers-global': BufferScheme.GLOBAL,
      }[schemes[0] as string] ?? BufferScheme.BUFFERS_DEFAULT;
    const session = sessionName(ctx);
    const client = await ctx.client();
    let reply;
    for (const name of channelNames) {
      reply = await client.enableChannel({
        session,
        domain,
        name,
        buffers,
        subbufSize: value('subbuf-size', parseSize),
        numSubbuf: value('num-subbuf', parseCount),
        overwrite: flag(ctx, 'overwrite') ? true : flag(ctx, 'discard') ? false : undefined,
        switchTimerUs: value('switch-timer', parseMicros),
        readTimerUs: value('read-timer', parseMicros),
        monitorTimerUs: value('monitor-timer', parseMicros),
        tracefileSize: value('tracefile-size', parseSize),
        tracefileCount: value('tracefile-count', parseCount),
      });
    }
    printSession(
      ctx,
      reply!.session as SessionInfo,
      channelNames.map((n) => `${domainLabel(domain)} channel ${n} enabled for session ${session}\n`).join(''),
    );
  },
};

const disableChannel: Command = {
  name: 'disable-channel',
  summary: 'Disable channels',
  usage: 'tstrace disable-channel (-u|-k) [-s SESSION] NAME[,NAME...]',
  maxPositionals: 1,
  options: [opt.userspace, opt.kernel, opt.session],
  async run(ctx) {
    const domain = domainOf(ctx);
    const channelNames = names(ctx, 'channel names');
    if (channelNames.length === 0) throw new ArgsError('give the channel name');
    const session = sessionName(ctx);
    const reply = await (await ctx.client()).disableChannel({ session, domain, names: channelNames });
    printSession(
      ctx,
      reply.session as SessionInfo,
      channelNames.map((n) => `${domainLabel(domain)} channel ${n} disabled in session ${session}\n`).join(''),
    );
  },
};

const enableEvent: Command = {
  name: 'enable-event',
  summary: 'Create or enable event rules',
  usage: 'tstrace enable-event (-u|-k) [OPTIONS] (NAME[,NAME...] | -a)',
  maxPositionals: 1,
  options: [
    opt.userspace,
    opt.kernel,
    opt.session,
    opt.channel,
    opt.all,
    { name: 'tracepoint', kind: 'flag', help: 'tracepoint events (default)' },
    { name: 'syscall', kind: 'flag', help: 'system calls (kernel)' },
    { name: 'loglevel', kind: 'value', valueName: 'LEVEL', help: 'this log level or more severe (userspace)' },
    { name: 'loglevel-only', kind: 'value', valueName: 'LEVEL', help: 'exactly this log level (userspace)' },
    {
      name: 'filter',
      short: 'f',
      kind: 'value',
      valueName: 'EXPR',
      help: 'record only events for which EXPR is true, e.g. \'x > 10 && msg == "a*"\'',
    },
    {
      name: 'exclude',
      short: 'x',
      kind: 'value',
      valueName: 'LIST',
      help: 'event names the wildcard must not match (userspace)',
    },
  ],
  async run(ctx) {
    const domain = domainOf(ctx);
    const { all, eventNames } = eventSelection(ctx);
    if (flag(ctx, 'syscall') && flag(ctx, 'tracepoint'))
      throw new ArgsError('--syscall and --tracepoint cannot be used together');
    const range = str(ctx, 'loglevel');
    const single = str(ctx, 'loglevel-only');
    if (range !== undefined && single !== undefined)
      throw new ArgsError('--loglevel and --loglevel-only cannot be used together');
    let loglevelType = LoglevelType.LOGLEVEL_ALL;
    let loglevel = 0;
    if (range !== undefined || single !== undefined) {
      const text = (range ?? single) as string;
      const level = parseLoglevel(text);
      if (level === undefined) throw new ArgsError(`unknown log level "${text}": use one of ${LOGLEVELS.join(', ')}`);
      loglevel = level;
      loglevelType = range !== undefined ? LoglevelType.LOGLEVEL_RANGE : LoglevelType.LOGLEVEL_SINGLE;
    }
    const exclude = str(ctx, 'exclude');
    const session = sessionName(ctx);
    const channel = str(ctx, 'channel') ?? '';
    const filter = str(ctx, 'filter');
    if (filter !== undefined && filter.trim() === '') throw new ArgsError('--filter needs a non-empty expression');
    const reply = await (
      await ctx.client()
    ).enableEvent({
      session,
      domain,
      channel,
      all,
      names: eventNames,
      type: flag(ctx, 'syscall') ? EventType.SYSCALL : EventType.TRACEPOINT,
      loglevelType,
      loglevel,
      filter: filter ?? '',
      exclusions: exclude === undefined ? [] : parseList('--exclude', exclude),
    });
    const shown = all ? ['*'] : eventNames;
    const lines = shown.map((n) => `${domainLabel(domain)} event ${n} created in channel ${channel || 'channel0'}\n`);
    if (filter) lines.push(`Filter '${filter}' successfully set\n`);
    printSession(ctx, reply.session as SessionInfo, lines.join(''));
  },
};

const disableEvent: Command = {
  name: 'disable-event',
  summary: 'Disable event rules',
  usage: 'tstrace disable-event (-u|-k) [-s SESSION] [-c CHANNEL] (NAME[,NAME...] | -a)',
  maxPositionals: 1,
  options: [opt.userspace, opt.kernel, opt.session, opt.channel, opt.all],
  async run(ctx) {
    const domain = domainOf(ctx);
    const { all, eventNames } = eventSelection(ctx);
    const session = sessionName(ctx);
    const channel = str(ctx, 'channel') ?? '';
    const reply = await (await ctx.client()).disableEvent({ session, domain, channel, all, names: eventNames });
    printSession(
      ctx,
      reply.session as SessionInfo,
      (all ? ['all events'] : eventNames)
        .map((n) => `${domainLabel(domain)} event ${n} disabled in channel ${channel || 'channel0'}\n`)
        .join(''),
    );
  },
};

const addContext: Command = {
  name: 'add-context',
  summary: 'Add context fields to the events of channels',
  usage: 'tstrace add-context (-u|-k) [-s SESSION] [-c CHANNEL] -t TYPE [-t TYPE...]',
  maxPositionals: 0,
  options: [
    opt.userspace,
    opt.kernel,
    opt.session,
    opt.channel,
    {
      name: 'type',
      short: 't',
      kind: 'list',
      valueName: 'TYPE',
      help: 'context type: vpid, vtid, vuid, vgid, procname (-u); pid, tid, prio, cpu_id, procname (-k)',
    },
  ],
  async run(ctx) {
    const domain = domainOf(ctx);
    const types = ((ctx.options.type as string[] | undefined) ?? []).flatMap((t) => parseList('--type', t));
    if (types.length === 0) throw new ArgsError('give at least one context type with -t/--type');
    const session = sessionName(ctx);
    const channel = str(ctx, 'channel') ?? '';
    const reply = await (await ctx.client()).addContext({ session, domain, channel, types });
    printSession(
      ctx,
      reply.session as SessionInfo,
      types
        .map((t) => `${domainLabel(domain)} context ${t} added to ${channel ? `channel ${channel}` : 'all channels'}\n`)
        .join(''),
    );
  },
};

const start: Command = {
  name: 'start',
  summary: 'Start tracing',
  usage: 'tstrace start [SESSION]',
  maxPositionals: 1,
  options: [],
  async run(ctx) {
    const name = sessionName(ctx, ctx.positionals[0]);
    printSession(ctx, await (await ctx.client()).start(name), `Tracing started for session ${name}\n`);
  },
};

const stop: Command = {
  name: 'stop',
  summary: 'Stop tracing',
  usage: 'tstrace stop [SESSION] [--no-wait]',
  maxPositionals: 1,
  options: [{ name: 'no-wait', short: 'n', kind: 'flag', help: 'do not wait for the data to be on disk' }],
  async run(ctx) {
    const name = sessionName(ctx, ctx.positionals[0]);
    const info = await (await ctx.client()).stop(name, flag(ctx, 'no-wait'));
    printSession(
      ctx,
      info,
      `Tracing stopped for session ${name}\n${flag(ctx, 'no-wait') ? '' : renderTraceSummary(info)}`,
    );
  },
};

const record: Command = {
  name: 'record',
  summary:
    'Trace a command from start to end: create, enable, start, run it, stop, destroy; then print the events per name',
  usage: 'tstrace record [-u EVENTS] [-k EVENTS] [-o DIR] [-n NAME] -- COMMAND [ARGS...]',
  maxPositionals: 0,
  takesCommand: true,
  options: [
    {
      name: 'userspace',
      short: 'u',
      kind: 'value',
      valueName: 'EVENTS',
      help: 'userspace events to record, comma-separated, wildcards allowed (default: all, unless -k is given)',
    },
    {
      name: 'kernel',
      short: 'k',
      kind: 'value',
      valueName: 'EVENTS',
      help: 'kernel events to enable (this version does not record them yet)',
    },
    {
      name: 'output',
      short: 'o',
      kind: 'value',
      valueName: 'DIR',
      help: 'write the trace to DIR (default $TSTRACE_HOME/tstrace-traces/NAME-DATE)',
    },
    { name: 'name', short: 'n', kind: 'value', valueName: 'NAME', help: 'session name (default record-DATE)' },
  ],
  async run(ctx) {
    if (ctx.rest.length === 0)
      throw new ArgsError('give the command to trace after --, e.g. tstrace record -- node app.js');
    const kernelText = str(ctx, 'kernel');
    const kernel = kernelText === undefined ? [] : parseList('-k', kernelText);
    if (kernelText !== undefined && kernel.length === 0)
      throw new ArgsError('-k needs at least one event name or pattern');
    const userText = str(ctx, 'userspace') ?? (kernelText === undefined ? '*' : undefined);
    const events = userText === undefined ? [] : parseList('-u', userText);
    if (userText !== undefined && events.length === 0)
      throw new ArgsError('-u needs at least one event name or pattern');
    const output = str(ctx, 'output');
    const client = await ctx.client();
    const info = await client.createSession({
      name: str(ctx, 'name') ?? `record-${process.pid}-${Date.now()}`,
      output: { path: output !== undefined ? path.resolve(output) : '' },
      home: tstraceHome(),
    });
    const name = info.config!.name!;
    let code: number;
    try {
      if (events.length)
        await client.enableEvent({
          session: name,
          domain: Domain.USERSPACE,
          names: events,
          type: EventType.TRACEPOINT,
        });
      if (kernel.length) {
        await client.enableEvent({ session: name, domain: Domain.KERNEL, names: kernel, type: EventType.TRACEPOINT });
        process.stderr.write(
          `Warning: kernel events (${kernel.join(', ')}) are enabled but not recorded: this version of tstrace has no kernel data path yet\n`,
        );
      }
      await client.start(name);
      if (!ctx.quiet && !ctx.json)
        ctx.print(
          `Recording ${[...events, ...kernel.map((k) => `${k} (kernel)`)].join(', ')} into ${outputOf(info)}\n`,
        );
      code = await runTraced(ctx.rest);
    } catch (err) {
      await client.destroySession({ name }).catch(() => undefined);
      throw err;
    }
    const stopped = await client.stop(name);
    await client.destroySession({ name });
    // Read back from the trace just written: what is on disk, by name.
    const counts = countEvents(stopped.config?.output?.path ?? '');
    if (ctx.json) {
      ctx.printJson({
        ...sessionToJson(stopped),
        exitCode: code,
        trace: {
          events: Object.fromEntries(counts.byName),
          total: counts.total,
          discarded: Number(counts.discardedEvents),
          packetsLost: Number(counts.discardedPackets),
        },
      });
    } else if (!ctx.quiet) ctx.print(renderTraceSummary(stopped) + renderCounts(counts));
    return code;
  },
};

const view: Command = {
  name: 'view',
  summary: "Print the events of a session's trace, or of the traces under a path, as babeltrace2 does",
  usage: VIEW_USAGE,
  description: VIEW_DESCRIPTION,
  maxPositionals: 1,
  options: VIEW_OPTIONS,
  run: runView,
};

/**
 * Runs the command with the tracer preloaded (node's --import through NODE_OPTIONS) and resolves
 * with its exit code (128 + signal number when a signal ended it). Ctrl-C goes to the command;
 * the trace is stopped after it ends.
 */
function runTraced(argv: string[]): Promise<number> {
  // Loaded here: child_process costs start-up time to every other command (docs/ARCHITECTURE.md).
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const register = require.resolve('@tstrace/ust/register');
  const nodeOptions = [process.env.NODE_OPTIONS ?? '', `--import=${JSON.stringify(pathToFileURL(register).href)}`]
    .join(' ')
    .trim();
  const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: nodeOptions } });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise((resolve, reject) => {
    child.once('error', (err) =>
      reject(new StatusError(StatusCode.INVALID_ARGUMENT, `cannot run ${argv[0]}: ${err.message}`)),
    );
    child.once('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0));
    });
  });
}

function trackCommand(name: 'track' | 'untrack'): Command {
  return {
    name,
    summary:
      name === 'track' ? 'Add PIDs to the PID tracker of a domain' : 'Remove PIDs from the PID tracker of a domain',
    usage: `tstrace ${name} (-u|-k) [-s SESSION] (--pid PID[,PID...] | --all)`,
    maxPositionals: 0,
    options: [
      opt.userspace,
      opt.kernel,
      opt.session,
      opt.all,
      { name: 'pid', short: 'p', kind: 'list', valueName: 'PID[,PID...]', help: 'process IDs' },
      { name: 'vpid', kind: 'list', valueName: 'VPID[,VPID...]', help: 'same as --pid, for the userspace domain' },
    ],
    async run(ctx) {
      const domain = domainOf(ctx);
      const all = flag(ctx, 'all');
      const given = [
        ...((ctx.options.pid as string[] | undefined) ?? []),
        ...((ctx.options.vpid as string[] | undefined) ?? []),
      ];
      const pids = given.flatMap((p) => parseList('--pid', p)).map((p) => parseCount('--pid', p));
      if (all && pids.length) throw new ArgsError('--all and --pid cannot be used together');
      if (!all && pids.length === 0) throw new ArgsError('give --pid PID[,PID...] or --all');
      const session = sessionName(ctx);
      const client = await ctx.client();
      const info =
        name === 'track'
          ? await client.track({ session, domain, all, pids })
          : await client.untrack({ session, domain, all, pids });
      const what = all ? 'All PIDs' : `PID${pids.length > 1 ? 's' : ''} ${pids.join(', ')}`;
      printSession(ctx, info, `${what} ${name}ed in session ${session}\n`);
    },
  };
}

const save: Command = {
  name: 'save',
  summary: 'Save sessions to JSON files (all of them when no name is given)',
  usage: 'tstrace save [SESSION] [-a] [-o DIR] [-f]',
  maxPositionals: 1,
  options: [
    opt.all,
    {
      name: 'output-path',
      short: 'o',
      kind: 'value',
      valueName: 'DIR',
      help: 'directory of the files (default $TSTRACE_HOME/.tstrace/sessions)',
    },
    { name: 'force', short: 'f', kind: 'flag', help: 'overwrite existing files' },
  ],
  async run(ctx) {
    const all = flag(ctx, 'all');
    if (all && ctx.positionals.length) throw new ArgsError('give a session name or --all, not both');
    const out = str(ctx, 'output-path');
    const paths = await (
      await ctx.client()
    ).save({
      name: ctx.positionals[0] ?? '',
      all: all || !ctx.positionals.length,
      outputDir: out ? path.resolve(out) : '',
      force: flag(ctx, 'force'),
      home: tstraceHome(),
    });
    if (ctx.json) ctx.printJson({ saved: paths });
    else if (!ctx.quiet) ctx.print(paths.map((p) => `Session ${path.basename(p, '.json')} saved to ${p}\n`).join(''));
  },
};

const load: Command = {
  name: 'load',
  summary: 'Load sessions from JSON files (all of them when no name is given)',
  usage: 'tstrace load [SESSION] [-a] [-i PATH] [-f] [--override-name NAME]',
  maxPositionals: 1,
  options: [
    opt.all,
    {
      name: 'input-path',
      short: 'i',
      kind: 'value',
      valueName: 'PATH',
      help: 'a session file or a directory of them (default $TSTRACE_HOME/.tstrace/sessions)',
    },
    { name: 'force', short: 'f', kind: 'flag', help: 'replace sessions of the same name' },
    { name: 'override-name', kind: 'value', valueName: 'NAME', help: 'load the session under this name' },
  ],
  async run(ctx) {
    const all = flag(ctx, 'all');
    if (all && ctx.positionals.length) throw new ArgsError('give a session name or --all, not both');
    const input = str(ctx, 'input-path');
    const loaded = await (
      await ctx.client()
    ).load({
      name: ctx.positionals[0] ?? '',
      all: all || !ctx.positionals.length,
      inputPath: input ? path.resolve(input) : '',
      force: flag(ctx, 'force'),
      overrideName: str(ctx, 'override-name') ?? '',
      home: tstraceHome(),
    });
    if (loaded.length === 1) setCurrentSession(loaded[0]);
    if (ctx.json) ctx.printJson({ loaded });
    else if (!ctx.quiet) ctx.print(loaded.map((n) => `Session ${n} loaded\n`).join(''));
  },
};

const setSession: Command = {
  name: 'set-session',
  summary: 'Set the current session',
  usage: 'tstrace set-session NAME',
  maxPositionals: 1,
  options: [],
  async run(ctx) {
    const name = ctx.positionals[0];
    if (!name) throw new ArgsError('give the session name');
    await (await ctx.client()).getSession(name);
    setCurrentSession(name);
    if (ctx.json) ctx.printJson({ current: name });
    else if (!ctx.quiet) ctx.print(`Session set to ${name}\n`);
  },
};

export const VERSION = '0.1.0';

const version: Command = {
  name: 'version',
  summary: 'Show the version',
  usage: 'tstrace version',
  maxPositionals: 0,
  options: [],
  async run(ctx) {
    if (ctx.json) ctx.printJson({ version: VERSION });
    else ctx.print(`tstrace version ${VERSION}\n`);
  },
};

export const COMMANDS: Command[] = [
  create,
  destroy,
  list,
  status,
  enableChannel,
  disableChannel,
  enableEvent,
  disableEvent,
  addContext,
  start,
  stop,
  record,
  view,
  snapshot,
  trackCommand('track'),
  trackCommand('untrack'),
  save,
  load,
  setSession,
  version,
];
