// `tstrace snapshot record | add-output | list-output | del-output`, as LTTng's: a snapshot
// copies what a snapshot-mode session's buffers hold into a new trace, consuming nothing.
import { ArgsError } from '@tstrace/args';
import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { toNumber } from '@tstrace/ctl';
import * as path from 'node:path';
import type { Command, CommandContext } from './commands';
import { currentSession } from './rc';
import { parseSize } from './units';

type Output = tstrace.client.SnapshotOutput.$Properties;

const ACTIONS = ['record', 'add-output', 'list-output', 'del-output'];

export const snapshot: Command = {
  name: 'snapshot',
  summary: "Record a snapshot of a snapshot-mode session's buffers, or manage its snapshot output",
  usage:
    'tstrace snapshot (record [URL] | add-output URL | list-output | del-output ID|NAME) [-s SESSION] [-n NAME] [-m SIZE] [-C URL -D URL]',
  description: `record writes the current sub-buffers of every channel to URL (an absolute path or
file://PATH), else to the session's snapshot output, in a new directory NAME-YYYYMMDD-HHMMSS-N.
The buffers are not cleared: two snapshots can hold the same events. The session must have been
created with --snapshot (its output becomes the snapshot output snapshot-1).`,
  maxPositionals: 2,
  options: [
    {
      name: 'session',
      short: 's',
      kind: 'value',
      valueName: 'NAME',
      help: 'apply to this session (default: the current session)',
    },
    {
      name: 'name',
      short: 'n',
      kind: 'value',
      valueName: 'NAME',
      help: 'name of the snapshot output (record: of this snapshot)',
    },
    {
      name: 'max-size',
      short: 'm',
      kind: 'value',
      valueName: 'SIZE',
      help: 'at most SIZE bytes for a whole snapshot (k/M/G suffixes); the newest sub-buffers are kept',
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
  ],
  async run(ctx) {
    const [action, arg] = ctx.positionals;
    if (!action) throw new ArgsError(`give an action: ${ACTIONS.join(', ')}`);
    if (!ACTIONS.includes(action))
      throw new ArgsError(`unknown snapshot action "${action}": one of ${ACTIONS.join(', ')}`);
    const session = sessionOf(ctx);
    const name = opt(ctx, 'name') ?? '';
    const maxText = opt(ctx, 'max-size');
    const maxSize = maxText === undefined ? undefined : parseSize('--max-size', maxText);
    const target = {
      path: arg === undefined ? '' : localOrUrl(arg),
      ctrlUrl: opt(ctx, 'ctrl-url') ?? '',
      dataUrl: opt(ctx, 'data-url') ?? '',
    };
    const urls = !!(target.ctrlUrl || target.dataUrl);
    if (urls && arg !== undefined) throw new ArgsError('give a URL or --ctrl-url/--data-url, not both');
    const client = await ctx.client();
    switch (action) {
      case 'record': {
        const result = await client.snapshotRecord({ session, name, maxSize, ...target });
        if (ctx.json) ctx.printJson(resultToJson(session, result));
        else if (!ctx.quiet) ctx.print(renderResult(session, result));
        return;
      }
      case 'add-output': {
        if (arg === undefined && !urls)
          throw new ArgsError('give the output: an absolute path, file://PATH, or --ctrl-url and --data-url');
        const output = await client.snapshotAddOutput({ session, output: { name, maxSize: maxSize ?? 0, ...target } });
        if (ctx.json) ctx.printJson(outputToJson(output));
        else if (!ctx.quiet)
          ctx.print(`Snapshot output successfully added for session ${session}\n  ${renderOutput(output)}\n`);
        return;
      }
      case 'list-output': {
        noExtra(ctx, arg, maxText, urls);
        const outputs = await client.snapshotListOutput(session);
        if (ctx.json) ctx.printJson({ session, outputs: outputs.map(outputToJson) });
        else if (!ctx.quiet)
          ctx.print(
            `Snapshot output list for session ${session}\n${outputs.length ? outputs.map((o) => `  ${renderOutput(o)}\n`).join('') : '  None\n'}`,
          );
        return;
      }
      default: {
        noExtra(ctx, undefined, maxText, urls);
        if (arg === undefined)
          throw new ArgsError('give the id or the name of the snapshot output to delete (see snapshot list-output)');
        if (opt(ctx, 'name') !== undefined)
          throw new ArgsError('del-output takes the id or name as its argument, not --name');
        const byId = /^\d+$/.test(arg);
        const output = await client.snapshotDelOutput({ session, id: byId ? Number(arg) : 0, name: byId ? '' : arg });
        if (ctx.json) ctx.printJson(outputToJson(output));
        else if (!ctx.quiet)
          ctx.print(`Snapshot output [${output.id}] ${output.name} deleted from session ${session}\n`);
      }
    }
  },
};

const opt = (ctx: CommandContext, name: string) => ctx.options[name] as string | undefined;

function sessionOf(ctx: CommandContext): string {
  const name = opt(ctx, 'session') ?? currentSession();
  if (!name)
    throw new StatusError(
      StatusCode.NO_CURRENT_SESSION,
      'no session given and no current session: create one, or use set-session',
    );
  return name;
}

/** A URL goes as it is; a path is made absolute here, where the user's directory is known. */
function localOrUrl(text: string): string {
  if (text === '') throw new ArgsError('the output path is empty');
  return text.includes('://') ? text : path.resolve(text);
}

function noExtra(ctx: CommandContext, arg: string | undefined, maxText: string | undefined, urls: boolean): void {
  const action = ctx.positionals[0];
  if (arg !== undefined) throw new ArgsError(`${action} takes no argument ("${arg}")`);
  if (maxText !== undefined || urls) throw new ArgsError(`${action} takes no --max-size, --ctrl-url or --data-url`);
}

function where(o: Output): string {
  return o.path || `${o.ctrlUrl} ${o.dataUrl}`;
}

function renderOutput(o: Output): string {
  return `[${o.id}] ${o.name}: ${where(o)} (max size: ${toNumber(o.maxSize)} bytes)`;
}

function outputToJson(o: Output) {
  return {
    id: o.id ?? 0,
    name: o.name ?? '',
    path: o.path ?? '',
    ctrlUrl: o.ctrlUrl ?? '',
    dataUrl: o.dataUrl ?? '',
    maxSize: toNumber(o.maxSize),
  };
}

function owner(b: tstrace.client.BufferInfo.$Properties): string {
  return b.owner === 'pid' ? `pid ${b.id}${b.procname ? ` ${b.procname}` : ''}` : `uid ${b.id}`;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function renderResult(session: string, r: tstrace.client.SnapshotResult.$Properties): string {
  const lines = [`Snapshot recorded successfully for session ${session}`, `  -> ${r.path}`];
  for (const b of r.buffers ?? []) {
    const lost = [
      toNumber(b.packetsOverwritten) ? `${plural(toNumber(b.packetsOverwritten), 'packet')} overwritten before it` : '',
      toNumber(b.eventsDiscarded) ? `${plural(toNumber(b.eventsDiscarded), 'event')} discarded` : '',
    ].filter(Boolean);
    lines.push(
      `  Channel ${b.channel} (${owner(b)}): ${plural(toNumber(b.eventsRecorded), 'event')} in ${plural(toNumber(b.packets), 'packet')} (${toNumber(b.bytes)} bytes)${lost.length ? `; ${lost.join(', ')}` : ''}`,
    );
    if (b.outputError) lines.push(`  Warning: ${b.outputError}`);
  }
  return `${lines.join('\n')}\n`;
}

function resultToJson(session: string, r: tstrace.client.SnapshotResult.$Properties) {
  return {
    session,
    path: r.path ?? '',
    buffers: (r.buffers ?? []).map((b) => ({
      channel: b.channel ?? '',
      owner: b.owner ?? '',
      id: b.id ?? 0,
      traceDir: b.traceDir ?? '',
      packets: toNumber(b.packets),
      bytes: toNumber(b.bytes),
      eventsRecorded: toNumber(b.eventsRecorded),
      eventsDiscarded: toNumber(b.eventsDiscarded),
      packetsOverwritten: toNumber(b.packetsOverwritten),
    })),
  };
}
