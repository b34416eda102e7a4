import { tstrace } from '@tstrace/comm';

export const Domain = tstrace.client.Domain;
export type Domain = tstrace.client.Domain;
export const BufferScheme = tstrace.client.BufferScheme;
export type BufferScheme = tstrace.client.BufferScheme;
export const LoglevelType = tstrace.client.LoglevelType;
export type LoglevelType = tstrace.client.LoglevelType;
export const EventType = tstrace.client.EventType;
export type EventType = tstrace.client.EventType;

/** Who sent a request, from the socket's peer credentials. */
export interface Caller {
  pid: number;
  uid: number;
  gid: number;
}

export interface EventRuleState {
  name: string;
  enabled: boolean;
  type: EventType;
  loglevelType: LoglevelType;
  loglevel: number;
  filter: string;
  filterAst: string;
  exclusions: string[];
}

/** The settings of a channel that are checked together and fixed once a session has started. */
export interface ChannelAttrs {
  subbufSize: number;
  numSubbuf: number;
  switchTimerUs: number;
  readTimerUs: number;
  monitorTimerUs: number;
  tracefileSize: number;
  tracefileCount: number;
  buffers: BufferScheme;
}

export interface ChannelState extends ChannelAttrs {
  name: string;
  domain: Domain;
  enabled: boolean;
  overwrite: boolean;
  events: EventRuleState[];
  contexts: string[];
}

/** PID tracker of one domain: every process, or exactly the listed ones. */
export interface TrackerState {
  all: boolean;
  pids: number[];
}

export interface OutputState {
  path: string;
  ctrlUrl: string;
  dataUrl: string;
  none: boolean;
}

/** Where `snapshot record` writes by default (one per session, as LTTng 2.13). */
export interface SnapshotOutputState {
  id: number;
  name: string;
  path: string;
  ctrlUrl: string;
  dataUrl: string;
  /** Bytes for a whole snapshot; 0: every sub-buffer. */
  maxSize: number;
}

export interface SessionState {
  name: string;
  uuid: string;
  ownerUid: number;
  ownerGid: number;
  createdMs: number;
  output: OutputState;
  snapshot: boolean;
  live: boolean;
  liveTimerUs: number;
  shmPath: string;
  channels: ChannelState[];
  trackers: { userspace: TrackerState; kernel: TrackerState };
  active: boolean;
  everStarted: boolean;
  snapshotOutputs: SnapshotOutputState[];
  /** Ids given to snapshot outputs so far (ids are never reused). */
  snapshotOutputIds: number;
  /** Snapshots recorded: the next one's sequence number. */
  snapshotsTaken: number;
}

export const DOMAIN_NAMES: Record<number, string> = { [Domain.USERSPACE]: 'userspace', [Domain.KERNEL]: 'kernel' };

export function trackerOf(session: SessionState, domain: Domain): TrackerState {
  return domain === Domain.KERNEL ? session.trackers.kernel : session.trackers.userspace;
}

/** The session's settings as sent on the wire and written by `save`. */
export function toConfig(s: SessionState): tstrace.client.SessionConfig.$Properties {
  return {
    name: s.name,
    output: { ...s.output },
    snapshot: s.snapshot,
    live: s.live,
    liveTimerUs: s.liveTimerUs,
    shmPath: s.shmPath,
    channels: s.channels.map((c) => ({
      ...c,
      events: c.events.map((e) => ({ ...e, exclusions: [...e.exclusions] })),
      contexts: [...c.contexts],
    })),
    trackers: [
      { domain: Domain.USERSPACE, all: s.trackers.userspace.all, pids: [...s.trackers.userspace.pids] },
      { domain: Domain.KERNEL, all: s.trackers.kernel.all, pids: [...s.trackers.kernel.pids] },
    ],
    active: s.active,
    snapshotOutputs: s.snapshotOutputs.map((o) => ({ ...o })),
  };
}

export function toInfo(s: SessionState): tstrace.client.SessionInfo.$Properties {
  return {
    config: toConfig(s),
    uuid: s.uuid,
    ownerUid: s.ownerUid,
    ownerGid: s.ownerGid,
    createdMs: s.createdMs,
    everStarted: s.everStarted,
  };
}
