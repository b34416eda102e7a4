import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';

interface Addon {
  peerCredentials(fd: number): PeerCredentials;
  lockFile(fd: number): boolean;
  unlockFile(fd: number): void;
  mapFile(fd: number, length: number): ArrayBuffer;
  unmapFile(buffer: ArrayBuffer): void;
  makeFifo(path: string, mode: number): void;
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

let addon: Addon | undefined;
function load(): Addon {
  if (!addon) {
    const file = path.join(__dirname, '../../build/Release/tstrace_native.node');
    if (!fs.existsSync(file))
      throw new Error(`@tstrace/native addon is not built: run npm install (${file} is missing)`);
    addon = require(file) as Addon;
  }
  return addon;
}

/**
 * Pid, uid and gid of the process at the other end of a connected Unix socket (SO_PEERCRED), as
 * the kernel recorded them when the connection was made. Throws an Error on a socket without a
 * file descriptor (destroyed, not yet connected) and on a socket that is not a Unix socket.
 */
export function peerCredentials(socket: net.Socket): PeerCredentials {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0)
    throw new Error('peerCredentials: the socket has no file descriptor (not a connected Unix socket)');
  return load().peerCredentials(fd);
}

/**
 * Takes an exclusive advisory lock (flock) without waiting: true if taken, false if another
 * process holds it. The kernel drops the lock when the process dies, even by SIGKILL.
 */
export function lockFile(fd: number): boolean {
  return load().lockFile(fd);
}

/** Releases a lock taken with {@link lockFile} (flock LOCK_UN). Closing the fd releases it too. */
export function unlockFile(fd: number): void {
  load().unlockFile(fd);
}

/**
 * Maps the first `length` bytes of an open file with MAP_SHARED: every process and thread that
 * maps the same file sees the same memory, and Atomics on views of it are exact across them.
 * The file must be at least `length` bytes long (ftruncate it first). The mapping lives until
 * `unmapFile`, or until the buffer is garbage-collected.
 */
export function mapFile(fd: number, length: number): ArrayBuffer {
  return load().mapFile(fd, length);
}

/** Unmaps now; the buffer is detached, so its views become empty instead of touching freed memory. */
export function unmapFile(buffer: ArrayBuffer): void {
  load().unmapFile(buffer);
}

/**
 * Creates a named pipe (mkfifo) with `mode` (before the umask). A reader opened with O_NONBLOCK
 * and wrapped in a net.Socket gets 'data' when any process writes a byte: the consumer's wake-up.
 */
export function makeFifo(file: string, mode: number): void {
  load().makeFifo(file, mode);
}

/**
 * Effective gid and supplementary groups of a process, deduplicated, from /proc/PID/status
 * (e.g. to check that a client's peer is in the `tracing` group). Throws if the process is gone.
 */
export function processGroups(pid: number): number[] {
  if (!Number.isInteger(pid) || pid <= 0)
    throw new TypeError(`processGroups: expected a pid (an integer > 0), got ${String(pid)}`);
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the groups of process ${pid}: ${(err as Error).message}`, { cause: err });
  }
  const gid = /^Gid:\s+\d+\s+(\d+)/m.exec(status)?.[1];
  const groups = /^Groups:\s*(.*)$/m.exec(status)?.[1] ?? '';
  const all = [gid, ...groups.trim().split(/\s+/)].filter((g): g is string => !!g && /^\d+$/.test(g)).map(Number);
  return [...new Set(all)];
}
