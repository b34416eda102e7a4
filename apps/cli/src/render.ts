import { tstrace } from '@tstrace/comm';
import { loglevelName, SessionInfo, toNumber } from '@tstrace/ctl';

const { Domain, BufferScheme, LoglevelType, EventType } = tstrace.client;

export function outputOf(info: SessionInfo): string {
  const o = info.config?.output;
  if (!o || o.none) return 'none';
  if (o.path) return o.path;
  return `${o.ctrlUrl} [data: ${o.dataUrl}]`;
}

function stateOf(info: SessionInfo): string {
  return info.config?.active ? '[active]' : '[inactive]';
}

/** The session list, as `lttng list` prints it. */
export function renderSessionList(sessions: SessionInfo[], current: string | undefined): string {
  if (sessions.length === 0) return 'Currently no available tracing session\n';
  const lines = ['Available tracing sessions:'];
  sessions.forEach((s, i) => {
    const c = s.config!;
    const extra = [c.snapshot ? ' snapshot' : '', c.live ? ` [live, timer: ${toNumber(c.liveTimerUs)} us]` : ''].join(
      '',
    );
    lines.push(`  ${i + 1}) ${c.name} (${outputOf(s)}) ${stateOf(s)}${extra}${c.name === current ? ' (current)' : ''}`);
  });
  lines.push('', 'Use tstrace list <session_name> for more details');
  return `${lines.join('\n')}\n`;
}

function eventLine(e: tstrace.client.IEventRule): string {
  const parts = [e.name ?? ''];
  if (e.loglevelType === LoglevelType.LOGLEVEL_RANGE)
    parts.push(`(loglevel: ${loglevelName(e.loglevel ?? 0)} (or more severe))`);
  if (e.loglevelType === LoglevelType.LOGLEVEL_SINGLE)
    parts.push(`(loglevel: ${loglevelName(e.loglevel ?? 0)} (only))`);
  parts.push(`(type: ${e.type === EventType.SYSCALL ? 'syscall' : 'tracepoint'})`);
  parts.push(e.enabled ? '[enabled]' : '[disabled]');
  if (e.filter) parts.push(`[filter: ${e.filter}]`);
  if (e.exclusions?.length) parts.push(`[exclusions: ${e.exclusions.join(', ')}]`);
  return parts.join(' ');
}

function trackerLine(t: tstrace.client.IPidTracker | undefined): string {
  if (!t || t.all) return 'all';
  return t.pids?.length ? t.pids.join(', ') : 'none';
}

function bufferLines(b: tstrace.client.IBufferInfo): string[] {
  const who = b.owner === 'pid' ? `pid ${b.id} (${b.procname})` : `uid ${b.id}`;
  const streams = b.streamPaths?.length ?? 0;
  const events = b.events?.length ?? 0;
  const lines = [
    `${who}: ${b.directory} (${streams} stream${streams === 1 ? '' : 's'}, ${events} event id${events === 1 ? '' : 's'})`,
  ];
  if (b.traceDir) {
    const lost = [`${count(b.eventsDiscarded)} discarded`];
    if (toNumber(b.packetsOverwritten)) lost.push(`${count(b.packetsOverwritten)} packets overwritten`);
    if (toNumber(b.packetsSkipped)) lost.push(`${count(b.packetsSkipped)} packets skipped (a writer died)`);
    lines.push(
      `  -> ${b.traceDir}: ${count(b.eventsRecorded)} events recorded, ${lost.join(', ')}, ${count(b.packets)} packets${b.dataPending ? ', data pending' : ''}`,
    );
    if (b.outputError) lines.push(`  !! ${b.outputError}`);
  }
  return lines;
}

function count(v: number | { toNumber(): number } | null | undefined): string {
  return toNumber(v).toLocaleString('en-US');
}

/**
 * What `stop` and `destroy` print after the data is on disk: events recorded and discarded per
 * userspace channel, the trace's path, and a warning when events were lost.
 */
export function renderTraceSummary(info: SessionInfo): string {
  const byChannel = new Map<
    string,
    { recorded: number; discarded: number; overwritten: number; skipped: number; pending: boolean }
  >();
  for (const b of info.buffers ?? []) {
    if (!b.traceDir) continue;
    const c = byChannel.get(b.channel ?? '') ?? {
      recorded: 0,
      discarded: 0,
      overwritten: 0,
      skipped: 0,
      pending: false,
    };
    c.recorded += toNumber(b.eventsRecorded);
    c.discarded += toNumber(b.eventsDiscarded);
    c.overwritten += toNumber(b.packetsOverwritten);
    c.skipped += toNumber(b.packetsSkipped);
    c.pending ||= !!b.dataPending;
    byChannel.set(b.channel ?? '', c);
  }
  const lines: string[] = [];
  for (const [name, c] of byChannel) {
    let line = `Channel ${name} (user space): ${c.recorded.toLocaleString('en-US')} events recorded, ${c.discarded.toLocaleString('en-US')} discarded`;
    if (c.overwritten) line += `, ${c.overwritten.toLocaleString('en-US')} packets overwritten`;
    if (c.skipped) line += `, ${c.skipped.toLocaleString('en-US')} packets skipped (a writer died)`;
    if (c.pending) line += ' (data still pending)';
    lines.push(line);
  }
  const discarded = [...byChannel.values()].reduce((n, c) => n + c.discarded, 0);
  if (discarded)
    lines.push(
      `Warning: ${discarded.toLocaleString('en-US')} events were discarded: use larger or more sub-buffers (enable-channel --subbuf-size/--num-subbuf)`,
    );
  const restarts = info.consumerRestarts ?? 0;
  if (restarts)
    lines.push(
      `Warning: the consumer daemon was restarted ${restarts} time${restarts === 1 ? '' : 's'}; buffers were not drained for ${toNumber(info.consumerDownMs)} ms`,
    );
  if (byChannel.size && info.config?.output?.path) lines.push(`Trace written to ${info.config.output.path}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** One session in detail, as `lttng list SESSION` prints it. */
export function renderSession(info: SessionInfo, only?: { domain?: number; channel?: string }): string {
  const c = info.config!;
  const lines = [`Tracing session ${c.name}: ${stateOf(info)}`, `    Trace output: ${outputOf(info)}`];
  if (info.consumerRestarts)
    lines.push(
      `    Consumer daemon restarted ${info.consumerRestarts} time${info.consumerRestarts === 1 ? '' : 's'}: buffers not drained for ${toNumber(info.consumerDownMs)} ms`,
    );
  if (c.snapshot) {
    const [o] = c.snapshotOutputs ?? [];
    lines.push(
      `    Snapshot mode, output: ${o ? `[${o.id}] ${o.name}: ${o.path || `${o.ctrlUrl} ${o.dataUrl}`}` : 'none'}`,
    );
  }
  if (c.live) lines.push(`    Live timer interval: ${toNumber(c.liveTimerUs)} us`);
  if (c.shmPath) lines.push(`    Shared memory path: ${c.shmPath}`);
  for (const domain of [Domain.KERNEL, Domain.USERSPACE]) {
    if (only?.domain && only.domain !== domain) continue;
    const channels = (c.channels ?? []).filter(
      (ch: tstrace.client.IChannel) => ch.domain === domain && (!only?.channel || ch.name === only.channel),
    );
    const tracker = (c.trackers ?? []).find((t: tstrace.client.IPidTracker) => t.domain === domain);
    if (channels.length === 0 && (!tracker || tracker.all)) continue;
    lines.push('', `=== Domain: ${domain === Domain.KERNEL ? 'Linux kernel' : 'User space'} ===`, '');
    if (domain === Domain.USERSPACE && channels[0])
      lines.push(`Buffering scheme: ${channels[0].buffers === BufferScheme.PER_PID ? 'per-process' : 'per-user'}`, '');
    lines.push(
      'Tracked process attributes',
      '--------------------------',
      `  PID: ${trackerLine(tracker)}`,
      '',
      'Channels:',
      '-------------',
    );
    if (channels.length === 0) lines.push('None');
    for (const ch of channels) {
      lines.push(`- ${ch.name}: ${ch.enabled ? '[enabled]' : '[disabled]'}`, '', '    Attributes:');
      lines.push(`      Event-loss mode:  ${ch.overwrite ? 'overwrite' : 'discard'}`);
      lines.push(`      Sub-buffer size:  ${toNumber(ch.subbufSize)} bytes`);
      lines.push(`      Sub-buffer count: ${toNumber(ch.numSubbuf)}`);
      lines.push(
        `      Switch timer:     ${toNumber(ch.switchTimerUs) || 'inactive'}${toNumber(ch.switchTimerUs) ? ' us' : ''}`,
      );
      lines.push(
        `      Read timer:       ${toNumber(ch.readTimerUs) || 'inactive'}${toNumber(ch.readTimerUs) ? ' us' : ''}`,
      );
      lines.push(
        `      Monitor timer:    ${toNumber(ch.monitorTimerUs) || 'inactive'}${toNumber(ch.monitorTimerUs) ? ' us' : ''}`,
      );
      lines.push(`      Trace file count: ${toNumber(ch.tracefileCount) || 1} per stream`);
      lines.push(
        `      Trace file size:  ${toNumber(ch.tracefileSize) ? `${toNumber(ch.tracefileSize)} bytes` : 'unlimited'}`,
      );
      if (ch.contexts?.length) lines.push('', `    Contexts: ${ch.contexts.join(', ')}`);
      lines.push('', '    Recording event rules:');
      if (!ch.events?.length) lines.push('      None');
      for (const e of ch.events ?? []) lines.push(`      ${eventLine(e)}`);
      if (domain === Domain.USERSPACE) {
        const sets = (info.buffers ?? []).filter((b: tstrace.client.IBufferInfo) => b.channel === ch.name);
        if (sets.length) lines.push('', '    Buffers:');
        for (const b of sets) for (const l of bufferLines(b)) lines.push(`      ${l}`);
      }
      lines.push('');
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Registered apps and their events, as `lttng list -u` prints them. */
export function renderApps(apps: tstrace.client.AppInfo.$Properties[]): string {
  const lines = ['UST events:', '-------------'];
  if (apps.length === 0) lines.push('None');
  for (const a of apps) {
    lines.push('', `PID: ${a.pid} - Name: ${a.procname}${a.threadId ? ` - Thread: ${a.threadId}` : ''}`);
    for (const e of a.events ?? []) {
      lines.push(`      ${e.name} (loglevel: ${loglevelName(e.loglevel ?? 0)}) (type: tracepoint)`);
      for (const f of e.fields ?? []) lines.push(`        field: ${f.name} (${f.type})`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Kernel tracepoints or system calls, as `lttng list -k [--syscall]` prints them. */
export function renderKernelEvents(names: string[], syscalls: boolean): string {
  const lines = [syscalls ? 'System calls:' : 'Kernel events:', '-------------'];
  for (const n of names) lines.push(syscalls ? `      ${n}` : `      ${n} (type: tracepoint)`);
  return `${lines.join('\n')}\n`;
}
