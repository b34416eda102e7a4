/**
 * Shared-memory directories (docs/USERSPACE.md "Streams and files"): where a daemon puts its
 * sessions' ring buffers and its apps' status pages, and the bookkeeping that lets a restarted
 * daemon remove what a killed one left behind.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DEFAULT_SHM_BASE = '/dev/shm';
export const DIR_MODE = 0o755;

/** First 12 hex digits of sha256(run dir): several daemons never share a shm root. */
export function shmTag(runDir: string): string {
  return createHash('sha256').update(path.resolve(runDir)).digest('hex').slice(0, 12);
}

/** `<base>/tstrace-<tag>`: the shm root of sessions without --shm-path, and of status pages. */
export function defaultShmRoot(runDir: string, base = DEFAULT_SHM_BASE): string {
  return path.join(base, `tstrace-${shmTag(runDir)}`);
}

/**
 * Makes one directory (its parent must exist) with mode 0755, or accepts an existing one only if
 * it is a real directory (not a symlink) owned by `uid`: in a world-writable place such as
 * /dev/shm, someone else could have made the name first.
 */
export function ensureOwnedDir(dir: string, uid: number): void {
  try {
    fs.mkdirSync(dir, { mode: DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
  if (st.uid !== uid) throw new Error(`${dir} belongs to uid ${st.uid}, not to the session daemon (uid ${uid})`);
  if ((st.mode & 0o7777) !== DIR_MODE) fs.chmodSync(dir, DIR_MODE);
}

/** Makes every missing component of `dir` below `from` (which must exist), each owned and 0755. */
export function ensureOwnedPath(from: string, dir: string, uid: number): void {
  const rel = path.relative(from, dir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${dir} is not under ${from}`);
  let cur = from;
  for (const part of rel.split(path.sep).filter(Boolean)) {
    cur = path.join(cur, part);
    ensureOwnedDir(cur, uid);
  }
}

/**
 * Makes a new directory `base`, or `base-1`, `base-2`, ... when the name is taken (two sessions
 * of the same name made in the same second by two users; a recycled pid). Returns its real path.
 */
export function makeUniqueDir(base: string): string {
  for (let n = 0; ; n++) {
    const dir = n === 0 ? base : `${base}-${n}`;
    try {
      fs.mkdirSync(dir, { mode: DIR_MODE });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && n < 1000) continue;
      throw err;
    }
    fs.chmodSync(dir, DIR_MODE);
    return fs.realpathSync(dir);
  }
}

export interface ShmLog {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * `<rundir>/shm-dirs`: one line per session directory this daemon made (its real path). A
 * directory is removed only while its real path is still the recorded one, so that a parent
 * swapped for a symlink never leads the daemon somewhere else.
 */
export class ShmDirs {
  private dirs: string[] = [];

  constructor(
    readonly file: string,
    private readonly log: ShmLog,
  ) {}

  /**
   * At start-up: removes every directory a previous daemon recorded and the whole default root,
   * then starts an empty record. Returns what it removed.
   */
  cleanupAtStartup(defaultRoot: string): string[] {
    const removed: string[] = [];
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const dir of text.split('\n').filter((l) => l.trim() !== '')) {
      if (removeRecorded(dir, this.log)) removed.push(dir);
    }
    if (fs.existsSync(defaultRoot) || isSymlink(defaultRoot)) {
      fs.rmSync(defaultRoot, { recursive: true, force: true });
      removed.push(defaultRoot);
    }
    this.dirs = [];
    this.write();
    if (removed.length > 0) this.log.info(`removed shared memory left by a previous daemon: ${removed.join(', ')}`);
    return removed;
  }

  list(): readonly string[] {
    return this.dirs;
  }

  add(dir: string): void {
    if (this.dirs.includes(dir)) return;
    this.dirs.push(dir);
    this.write();
  }

  /** Removes the directory (recursively) and its line. */
  remove(dir: string): void {
    removeRecorded(dir, this.log);
    this.dirs = this.dirs.filter((d) => d !== dir);
    this.write();
  }

  removeAll(): void {
    for (const d of [...this.dirs]) this.remove(d);
  }

  /** Clean shutdown: every directory and the record go (a run dir holds nothing to clean up). */
  close(): void {
    this.removeAll();
    fs.rmSync(this.file, { force: true });
  }

  private write(): void {
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, this.dirs.map((d) => `${d}\n`).join(''), { mode: 0o644 });
    fs.renameSync(tmp, this.file);
  }
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Removes a recorded directory if it is still where it was recorded; true if removed. */
function removeRecorded(dir: string, log: ShmLog): boolean {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    return false; // already gone
  }
  if (real !== dir || !path.isAbsolute(dir)) {
    log.warn(`not removing ${dir}: it now resolves to ${real}`);
    return false;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return true;
}
