/** The ring buffers of one channel for one buffer owner: S stream files in one directory. */
import { makeFifo } from '@tstrace/native';
import { createStreamFile, FileOwner } from '@tstrace/ringbuffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dateStamp } from '../registry';
import { ChannelState, SessionState } from '../model';
import { EventIdTable } from './event-ids';

export type OwnerKind = 'uid' | 'pid';

/** The credentials the daemon runs with and the group per-UID buffers are shared with. */
export interface DaemonIdentity {
  uid: number;
  gid: number;
  /** The `tracing` group: set for the global (root) daemon when the group exists. */
  tracingGid?: number;
}

/** The app a buffer set is made for (any registration of its process / user). */
export interface BufferApp {
  pid: number;
  uid: number;
  gid: number;
  procname: string;
  processRegisteredMs: number;
}

export interface BufferSet {
  /** Daemon-wide unique and stable: the AppChannel key of the app link. */
  key: number;
  session: SessionState;
  channel: ChannelState;
  /** CTF stream class id: the channel's index among the session's userspace channels. */
  streamId: number;
  owner: OwnerKind;
  uid: number;
  /** Per-PID only (0 for per-UID). */
  pid: number;
  procname: string;
  dir: string;
  /** The trace's directory relative to the session's output (LTTng's layout): `ust/uid/<uid>/64-bit`, `ust/pid/<proc>-<pid>-<date>`. */
  traceDir: string;
  /** UUID of the trace this set's streams belong to: one per trace directory. */
  traceUuid: string;
  streamPaths: string[];
  /** `<stream>.wake` FIFOs, one per stream: writers poke them, the consumer reads them. */
  wakePaths: string[];
  /** The daemon holds each FIFO open, so that a writer can open it before any consumer does. */
  wakeFds: number[];
  ids: EventIdTable;
}

/**
 * Mode and owner of stream files: per-PID 0600 for the app's uid; per-UID 0640 for the app's
 * uid, group `tracing` (global daemon) or the app's group. A daemon that is not root cannot give
 * files away: it keeps them (its apps are its own user's, or root's, who can open them anyway).
 */
export function streamFileOwner(kind: OwnerKind, app: { uid: number; gid: number }, daemon: DaemonIdentity): FileOwner {
  const mode = kind === 'pid' ? 0o600 : 0o640;
  if (daemon.uid !== 0) return { uid: daemon.uid, gid: daemon.gid, mode };
  const gid = kind === 'uid' && daemon.tracingGid !== undefined ? daemon.tracingGid : app.gid;
  return { uid: app.uid, gid, mode };
}

/** Directory of a buffer set, relative to its session's directory (LTTng's layout). */
export function bufferDirName(kind: OwnerKind, app: BufferApp): string {
  if (kind === 'uid') return path.join('ust', 'uid', String(app.uid), '64-bit');
  return path.join(
    'ust',
    'pid',
    `${safeName(app.procname) || 'app'}-${app.pid}-${dateStamp(new Date(app.processRegisteredMs))}`,
  );
}

/** A procname becomes part of a directory name: no '/', no control characters, not '.' or '..'. */
export function safeName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = name.replace(/[/\u0000-\u001f\u007f]/g, '_');
  return cleaned === '.' || cleaned === '..' ? '_' : cleaned;
}

/** The 16 bytes of a textual UUID. */
export function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`bad session uuid ${uuid}`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/**
 * Makes the wake-up FIFO of each stream (same owner and mode as the stream) and opens it
 * read-write, non-blocking: held by the daemon, it always has a reader. On a failure what was
 * made is removed and the error thrown.
 */
export function createWakePipes(streamPaths: string[], owner: FileOwner): { paths: string[]; fds: number[] } {
  const paths: string[] = [];
  const fds: number[] = [];
  try {
    for (const stream of streamPaths) {
      const wake = `${stream}.wake`;
      makeFifo(wake, owner.mode);
      paths.push(wake);
      // mkfifo applies the umask; the mode must be exactly the stream's.
      fs.chmodSync(wake, owner.mode);
      if ((process.getuid?.() ?? 0) === 0) fs.chownSync(wake, owner.uid, owner.gid);
      fds.push(fs.openSync(wake, fs.constants.O_RDWR | fs.constants.O_NONBLOCK));
    }
  } catch (err) {
    for (const fd of fds) fs.closeSync(fd);
    for (const p of paths) fs.rmSync(p, { force: true });
    throw err;
  }
  return { paths, fds };
}

/**
 * Creates the `count` stream files `<dir>/<channel>_<n>` of a channel (dir must exist). On a
 * failure the files already made are removed and the error is thrown.
 */
export function createStreams(
  dir: string,
  traceUuid: string,
  channel: ChannelState,
  streamId: number,
  count: number,
  nextInstanceId: () => bigint,
  owner: FileOwner,
): string[] {
  const paths: string[] = [];
  const uuid = uuidBytes(traceUuid);
  try {
    for (let n = 0; n < count; n++) {
      const file = path.join(dir, `${channel.name}_${n}`);
      createStreamFile(
        file,
        {
          subbufSize: channel.subbufSize,
          numSubbufs: channel.numSubbuf,
          mode: channel.overwrite ? 'overwrite' : 'discard',
          streamId,
          cpuId: n,
          uuid,
          streamInstanceId: nextInstanceId(),
        },
        owner,
      );
      paths.push(file);
    }
  } catch (err) {
    for (const p of paths) fs.rmSync(p, { force: true });
    throw err;
  }
  return paths;
}
