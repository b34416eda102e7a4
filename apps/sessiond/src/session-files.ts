import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Caller, SessionState, toConfig } from './model';

/** Version of the session file format, written in every file. */
export const SESSION_FILE_VERSION = 1;
const FORMAT = 'tstrace-session';
const EXT = '.json';
const MAX_FILE_BYTES = 16 * 1024 * 1024;

export function defaultSessionsDir(home: string): string {
  return path.join(home, '.tstrace', 'sessions');
}

const plain = { longs: Number, enums: String, defaults: true, arrays: true } as const;

/** The JSON text of a session file. */
export function sessionFileText(session: SessionState): string {
  const config = tstrace.client.SessionConfig.toObject(
    tstrace.client.SessionConfig.fromObject(toConfig(session)),
    plain,
  );
  return `${JSON.stringify({ format: FORMAT, version: SESSION_FILE_VERSION, session: config }, null, 2)}\n`;
}

/** Parses a session file; the settings still go through every check of `SessionRegistry.rebuild`. */
export function parseSessionFile(text: string, file: string): tstrace.client.SessionConfig {
  const invalid = (why: string) =>
    new StatusError(StatusCode.LOAD_INVALID_FILE, `invalid session file ${file}: ${why}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw invalid(`not JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null) throw invalid('not a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.format !== FORMAT) throw invalid(`"format" must be "${FORMAT}"`);
  if (d.version !== SESSION_FILE_VERSION)
    throw invalid(
      `unsupported version ${JSON.stringify(d.version)} (this daemon reads version ${SESSION_FILE_VERSION})`,
    );
  if (typeof d.session !== 'object' || d.session === null) throw invalid('"session" is missing');
  try {
    return tstrace.client.SessionConfig.fromObject(d.session as Record<string, unknown>);
  } catch (e) {
    throw invalid((e as Error).message);
  }
}

/**
 * File access on behalf of a caller who is not the daemon's user: a root daemon must not write
 * or read where the caller could not. The nearest existing directory must be the caller's own.
 */
export class CallerFiles {
  constructor(
    private readonly caller: Caller,
    private readonly daemonUid: number,
  ) {}

  private get actsForOther(): boolean {
    return this.caller.uid !== 0 && this.caller.uid !== this.daemonUid;
  }

  private checkOwnership(target: string, code: StatusCode): void {
    if (!this.actsForOther) return;
    let dir = target;
    while (!fs.existsSync(dir)) dir = path.dirname(dir);
    const st = fs.statSync(dir);
    if (st.uid !== this.caller.uid)
      throw new StatusError(code, `permission denied: ${dir} does not belong to uid ${this.caller.uid}`);
  }

  write(file: string, text: string, force: boolean): void {
    this.checkOwnership(path.dirname(file), StatusCode.SAVE_IO_ERROR);
    if (!force && fs.existsSync(file))
      throw new StatusError(
        StatusCode.SAVE_FILE_EXISTS,
        `session file ${file} already exists (use --force to overwrite it)`,
      );
    try {
      const dir = path.dirname(file);
      const made = fs.mkdirSync(dir, { recursive: true });
      const tmp = `${file}.tmp-${process.pid}`;
      fs.writeFileSync(tmp, text, { mode: 0o640 });
      if (this.actsForOther) {
        if (made)
          for (let d = dir; d.length >= made.length; d = path.dirname(d))
            fs.chownSync(d, this.caller.uid, this.caller.gid);
        fs.chownSync(tmp, this.caller.uid, this.caller.gid);
      }
      fs.renameSync(tmp, file);
    } catch (e) {
      throw new StatusError(StatusCode.SAVE_IO_ERROR, `cannot write session file ${file}: ${(e as Error).message}`);
    }
  }

  read(file: string): string {
    this.checkOwnership(file, StatusCode.LOAD_FILE_NOT_FOUND);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      throw new StatusError(StatusCode.LOAD_FILE_NOT_FOUND, `session file ${file} not found`);
    }
    if (!st.isFile()) throw new StatusError(StatusCode.LOAD_INVALID_FILE, `${file} is not a file`);
    if (st.size > MAX_FILE_BYTES)
      throw new StatusError(StatusCode.LOAD_INVALID_FILE, `${file} is larger than ${MAX_FILE_BYTES} bytes`);
    return fs.readFileSync(file, 'utf8');
  }

  /** The session files of a directory, sorted; none is not an error here. */
  list(dir: string): string[] {
    this.checkOwnership(dir, StatusCode.LOAD_FILE_NOT_FOUND);
    try {
      return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(EXT))
        .sort()
        .map((f) => path.join(dir, f));
    } catch {
      throw new StatusError(StatusCode.LOAD_FILE_NOT_FOUND, `no session files: cannot read directory ${dir}`);
    }
  }
}

export function sessionFilePath(dir: string, name: string): string {
  return path.join(dir, `${name}${EXT}`);
}
