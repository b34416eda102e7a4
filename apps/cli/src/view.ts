// `tstrace view`: prints a trace's events as babeltrace2 prints them, from a session's output or
// a path, once or (--follow) while the session records. libs/ctf is loaded only here: the other
// commands do not pay for it at start-up.
import { ArgsError, OptionSpec } from '@tstrace/args';
import { StatusCode, StatusError } from '@tstrace/comm';
import { SessionInfo, toNumber } from '@tstrace/ctl';
import type { DiscardNotice, TextOptions, TraceEvent, TraceFollower } from '@tstrace/ctf';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandContext } from './commands';
import { currentSession } from './rc';

type Ctf = typeof import('@tstrace/ctf');

export const VIEW_OPTIONS: OptionSpec[] = [
  {
    name: 'trace-path',
    short: 't',
    kind: 'value',
    valueName: 'PATH',
    help: 'read the traces under PATH (no session daemon needed)',
  },
  {
    name: 'follow',
    kind: 'flag',
    help: 'keep printing events while the session records; end when it is stopped or destroyed (or on Ctrl-C)',
  },
  { name: 'clock-cycles', kind: 'flag', help: 'timestamps in clock cycles' },
  { name: 'clock-date', kind: 'flag', help: 'timestamps with their date' },
  { name: 'clock-gmt', kind: 'flag', help: 'timestamps in UTC instead of the local time zone' },
  { name: 'clock-seconds', kind: 'flag', help: 'timestamps as SEC.NS' },
  {
    name: 'fields',
    short: 'f',
    kind: 'list',
    valueName: 'FIELD[,FIELD...]',
    help: 'show these fields instead of hostname, procname and vpid: all, trace, trace:hostname, trace:domain, trace:procname, trace:vpid, loglevel, emf',
  },
];

export const VIEW_USAGE =
  'tstrace view [SESSION | PATH | -t PATH] [--follow] [--clock-gmt] [--clock-seconds] [--clock-date] [--clock-cycles] [-f FIELDS]';

export const VIEW_DESCRIPTION = `SESSION defaults to the current session; its trace is read from its output directory.
An argument with a '/', '.', '..', or one that exists, is a PATH: a trace directory or a directory
with traces under it, read without a session daemon. --json prints one JSON object per event, one
per line. Lost events and packets are reported on stderr as babeltrace2 reports them.

--follow prints events while the session records, in time order as far as the stream files tell,
and ends once the session is stopped or destroyed and everything is printed (Ctrl-C ends it too,
with exit code 0). An event appears once its packet is on disk: when the channel's switch timer
closes it (enable-channel --switch-timer), when its sub-buffer is full, or at stop. On a PATH,
--follow runs until Ctrl-C.`;

/** How often --follow looks at the stream files, and at the session's state. */
const POLL_MS = 100;
const SESSION_POLL_MS = 500;
/** How long --follow holds an event back when a stream may still write an earlier one: the switch timer plus this, or this alone without one. */
const SLACK_MS = 500;
const NO_TIMER_LAG_MS = 1000;

const FIELDS = ['trace', 'trace:hostname', 'trace:domain', 'trace:procname', 'trace:vpid', 'loglevel', 'emf'];

/** babeltrace2's --clock-* and --fields as libs/ctf's text options; `trace` asks for the trace's name. */
export function textOptions(options: Record<string, unknown>): { text: TextOptions; traceName: boolean } {
  const text: TextOptions = {
    gmt: !!options['clock-gmt'],
    date: !!options['clock-date'],
    seconds: !!options['clock-seconds'],
    cycles: !!options['clock-cycles'],
  };
  const given = ((options.fields as string[] | undefined) ?? []).flatMap((f) => f.split(',')).map((f) => f.trim());
  if (given.length === 0) return { text, traceName: false };
  const bad = given.find((f) => f !== 'all' && !FIELDS.includes(f));
  if (bad !== undefined) throw new ArgsError(`unknown field "${bad}" for --fields: use all or ${FIELDS.join(', ')}`);
  // As babeltrace2: the fields given replace the default ones (hostname, procname, vpid).
  const on = new Set(given.includes('all') ? FIELDS : given);
  Object.assign(text, {
    hostname: on.has('trace:hostname'),
    domain: on.has('trace:domain'),
    procname: on.has('trace:procname'),
    vpid: on.has('trace:vpid'),
    loglevel: on.has('loglevel'),
    emf: on.has('emf'),
  });
  return { text, traceName: on.has('trace') };
}

/** What to read: a directory, and the session it belongs to when one was named. */
interface Source {
  root: string;
  session?: { name: string; info: SessionInfo };
}

/** A path is one with a '/', '.' or '..', or anything that exists; else a session name (as `lttng view` takes one). */
function looksLikePath(arg: string): boolean {
  return arg.includes('/') || arg === '.' || arg === '..' || fs.existsSync(arg);
}

function pathSource(given: string): Source {
  const root = path.resolve(given);
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new StatusError(
      StatusCode.INVALID_ARGUMENT,
      code === 'ENOENT' ? `no such file or directory: ${given}` : `cannot read ${given}: ${(e as Error).message}`,
    );
  }
  if (!st.isDirectory())
    throw new StatusError(
      StatusCode.INVALID_ARGUMENT,
      `${given} is not a directory: give a trace directory or one that contains traces`,
    );
  return { root };
}

async function sessionSource(ctx: CommandContext, name: string): Promise<Source> {
  const info = await (await ctx.client()).getSession(name);
  const c = info.config;
  const o = c?.output;
  if (!o || o.none)
    throw new StatusError(StatusCode.INVALID_OUTPUT, `session "${name}" records no trace (created with --no-output)`);
  if (c?.snapshot)
    throw new StatusError(
      StatusCode.INVALID_OUTPUT,
      `session "${name}" is in snapshot mode: its traces are the snapshots it records (tstrace snapshot record); view one with tstrace view PATH`,
    );
  if (!o.path)
    throw new StatusError(
      StatusCode.INVALID_OUTPUT,
      `session "${name}" sends its trace to a relay daemon (${o.ctrlUrl}): view it where that daemon writes it, with tstrace view PATH`,
    );
  return { root: o.path, session: { name, info } };
}

async function sourceOf(ctx: CommandContext): Promise<Source> {
  const tracePath = ctx.options['trace-path'] as string | undefined;
  const arg = ctx.positionals[0];
  if (tracePath !== undefined && arg !== undefined)
    throw new ArgsError('give a session name or --trace-path, not both');
  if (tracePath !== undefined) return pathSource(tracePath);
  if (arg !== undefined) return looksLikePath(arg) ? pathSource(arg) : sessionSource(ctx, arg);
  const current = currentSession();
  if (!current)
    throw new StatusError(
      StatusCode.NO_CURRENT_SESSION,
      'no session given and no current session: give a session name or a trace path',
    );
  return sessionSource(ctx, current);
}

/** Lines to stdout in chunks; the caller awaits `flush` when `add` says the chunk is full (backpressure). */
class Output {
  private chunk = '';

  constructor(private readonly out: NodeJS.WriteStream) {}

  add(line: string): boolean {
    this.chunk += `${line}\n`;
    return this.chunk.length >= 65536;
  }

  /** Hands the chunk to stdout without waiting (before a warning on stderr, so the two stay in order). */
  push(): boolean {
    if (this.chunk === '') return true;
    const ok = this.out.write(this.chunk);
    this.chunk = '';
    return ok;
  }

  async flush(): Promise<void> {
    if (this.push()) return;
    await new Promise<void>((resolve) => this.out.once('drain', resolve));
  }
}

/** babeltrace2's warning for lost events or packets, on one line. */
export function discardWarning(ctf: Ctf, d: DiscardNotice, traceName: string, text: TextOptions): string {
  const clock = { gmt: text.gmt, date: text.date, seconds: text.seconds };
  const what = d.what === 'events' ? 'event' : 'packet';
  const lost =
    d.count === undefined ? `may have discarded ${what}s` : `discarded ${d.count} ${what}${d.count === 1n ? '' : 's'}`;
  const uuid = d.trace.uuid ? `(UUID: ${d.trace.uuid})` : '(no UUID)';
  return (
    `WARNING: Tracer ${lost} between [${ctf.formatTime(d.beginNs, clock)}] and [${ctf.formatTime(d.endNs, clock)}] in trace "${traceName}" ${uuid} ` +
    `within stream "${d.stream}" (stream class ID: ${d.streamClassId}, stream ID: ${d.streamInstanceId ?? 0}).`
  );
}

/** babeltrace2's name of a trace: its hostname, then its path under the directory it was found in. */
function traceNameOf(root: string, dir: string, env: Record<string, string | number>): string {
  const rel = path.relative(root, dir);
  const host = env.hostname === undefined ? '' : String(env.hostname);
  return [host, rel].filter((s) => s !== '').join('/');
}

class Printer {
  private readonly out = new Output(process.stdout);
  private readonly state;
  private readonly byTrace = new Map<string, TextOptions>();

  constructor(
    private readonly ctf: Ctf,
    private readonly root: string,
    private readonly json: boolean,
    private readonly text: TextOptions,
    private readonly traceName: boolean,
  ) {
    this.state = ctf.newTextState();
  }

  readonly onDiscard = (d: DiscardNotice): void => {
    this.out.push();
    process.stderr.write(
      `${discardWarning(this.ctf, d, traceNameOf(this.root, d.trace.path, d.trace.env), this.text)}\n`,
    );
  };

  private optionsOf(e: TraceEvent): TextOptions {
    if (!this.traceName) return this.text;
    let o = this.byTrace.get(e.tracePath);
    if (!o) {
      o = { ...this.text, traceName: traceNameOf(this.root, e.tracePath, e.meta.trace.env) };
      this.byTrace.set(e.tracePath, o);
    }
    return o;
  }

  /** Writes the events, waiting for stdout when it is full; returns how many. */
  async print(events: Iterable<TraceEvent>): Promise<number> {
    let n = 0;
    const { ctf, state } = this;
    for (const e of events) {
      n++;
      const line = this.json ? ctf.eventToJson(e) : ctf.formatEvent(e, state, this.optionsOf(e));
      if (this.out.add(line)) await this.out.flush();
    }
    await this.out.flush();
    return n;
  }
}

/** Wraps libs/ctf's errors (a damaged trace) as a refused command: one line, exit code 1. */
function traceError(ctf: Ctf, err: unknown): unknown {
  return err instanceof ctf.CtfError ? new StatusError(StatusCode.INVALID_ARGUMENT, err.message) : err;
}

export async function runView(ctx: CommandContext): Promise<void> {
  const { text, traceName } = textOptions(ctx.options);
  const follow = !!ctx.options.follow;
  const source = await sourceOf(ctx);
  const ctf = require('@tstrace/ctf') as Ctf;
  const printer = new Printer(ctf, source.root, ctx.json, text, traceName);
  const follower = new ctf.TraceFollower([source.root], { onDiscard: printer.onDiscard });
  try {
    if (follow && source.session) return await followSession(ctx, source.session, follower, printer);
    if (follow) return await followPath(follower, printer, NO_TIMER_LAG_MS);
    if (!fs.existsSync(source.root) || ctf.findTraces(source.root).length === 0) {
      if (source.session)
        throw new StatusError(
          StatusCode.INVALID_OUTPUT,
          `session "${source.session.name}" has no trace in ${source.root} yet: start it, and run the apps to trace`,
        );
      throw new StatusError(
        StatusCode.INVALID_ARGUMENT,
        `no CTF trace in ${ctx.positionals[0] ?? (ctx.options['trace-path'] as string)} (no metadata file under it)`,
      );
    }
    // A session that records may have a packet half written: read the whole ones.
    await printer.print(source.session?.info.config?.active ? follower.poll(MAX_NS) : follower.finish());
  } catch (err) {
    throw traceError(ctf, err);
  }
}

const MAX_NS = (1n << 64n) - 1n;

/** Ctrl-C ends --follow with exit code 0; resolves `stopped` for the loop to see. */
function onInterrupt(): { stopped: () => boolean; wait: (ms: number) => Promise<void>; done: () => void } {
  let stopped = false;
  let wake: (() => void) | undefined;
  const handler = () => {
    stopped = true;
    wake?.();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    stopped: () => stopped,
    wait: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
    done: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/** Follows the traces under a path until Ctrl-C. */
async function followPath(follower: TraceFollower, printer: Printer, lagMs: number): Promise<void> {
  const signal = onInterrupt();
  try {
    while (!signal.stopped()) {
      await printer.print(follower.poll(nowNs() - BigInt(lagMs) * 1_000_000n));
      await signal.wait(POLL_MS);
    }
  } finally {
    signal.done();
  }
}

/**
 * Follows a session: prints what is safe to print at each poll, and once the session is stopped
 * (its data on disk) or destroyed, everything left. A session that never started is waited for;
 * one that was stopped before is printed once.
 */
async function followSession(
  ctx: CommandContext,
  session: { name: string; info: SessionInfo },
  follower: TraceFollower,
  printer: Printer,
): Promise<void> {
  const client = await ctx.client();
  let info = session.info;
  const lag = () => {
    const timers = (info.config?.channels ?? []).map((c) => toNumber(c.switchTimerUs)).filter((us) => us > 0);
    return timers.length ? Math.max(...timers) / 1000 + SLACK_MS : NO_TIMER_LAG_MS + SLACK_MS;
  };
  const signal = onInterrupt();
  try {
    let lastCheck = Date.now();
    for (;;) {
      if (signal.stopped()) return;
      const ended = !info.config?.active && !!info.everStarted && !(info.buffers ?? []).some((b) => b.dataPending);
      if (ended) break;
      await printer.print(follower.poll(nowNs() - BigInt(Math.round(lag() * 1e6))));
      await signal.wait(POLL_MS);
      if (Date.now() - lastCheck >= SESSION_POLL_MS) {
        lastCheck = Date.now();
        try {
          info = await client.getSession(session.name);
        } catch (err) {
          // Destroyed: destroy replies once the data is on disk.
          if (err instanceof StatusError && err.code === StatusCode.SESSION_NOT_FOUND) break;
          throw err;
        }
      }
    }
    if (!signal.stopped()) await printer.print(follower.finish());
  } finally {
    signal.done();
  }
}

/** What `record` prints after the run: events per name and losses, read back from the trace. */
export interface TraceCounts {
  byName: Map<string, number>;
  total: number;
  discardedEvents: bigint;
  discardedPackets: bigint;
}

/** Counts the events of the traces under `root` by name (nothing when there is no trace). */
export function countEvents(root: string): TraceCounts {
  const ctf = require('@tstrace/ctf') as Ctf;
  const counts: TraceCounts = { byName: new Map(), total: 0, discardedEvents: 0n, discardedPackets: 0n };
  if (!fs.existsSync(root)) return counts;
  const follower = new ctf.TraceFollower([root]);
  try {
    for (const e of follower.finish()) {
      counts.byName.set(e.name, (counts.byName.get(e.name) ?? 0) + 1);
      counts.total++;
    }
  } catch (err) {
    throw traceError(ctf, err);
  }
  for (const d of follower.discarded()) {
    counts.discardedEvents += d.events;
    counts.discardedPackets += d.packets;
  }
  return counts;
}

/** The counts as lines: names by decreasing count, then the total and the losses. */
export function renderCounts(c: TraceCounts): string {
  const n = (v: number | bigint) => v.toLocaleString('en-US');
  const rows: [string, string][] = [...c.byName]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([name, count]) => [name, n(count)]);
  rows.push(['total', n(c.total)], ['discarded', n(c.discardedEvents)]);
  if (c.discardedPackets) rows.push(['packets lost', n(c.discardedPackets)]);
  const left = Math.max(...rows.map((r) => r[0].length)) + 2;
  const right = Math.max(...rows.map((r) => r[1].length));
  return `Events in the trace, by name:\n${rows.map(([name, count]) => `  ${name.padEnd(left)}${count.padStart(right)}`).join('\n')}\n`;
}
