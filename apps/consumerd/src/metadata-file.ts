/**
 * A trace's `metadata` file follows the text the session daemon generates: what is new is
 * appended (readers tailing it see a growing file), anything else rewrites it atomically.
 */
import { StatusCode, StatusError } from '@tstrace/comm';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileOwner, makeDirs } from './stream-file';

/** The owner given to root's consumer for a trace of another user's session. */
export function fileOwner(uid: number, gid: number): FileOwner | undefined {
  return (process.getuid?.() ?? 0) === 0 && uid !== 0 ? { uid, gid } : undefined;
}

/**
 * Writes `text` as `<traceDir>/metadata`, given the text written there before (undefined: none).
 * Throws a StatusError (INVALID_ARGUMENT, OUTPUT_ERROR).
 */
export function writeMetadata(
  traceDir: string,
  text: string,
  previous: string | undefined,
  owner: FileOwner | undefined,
): void {
  if (!path.isAbsolute(traceDir))
    throw new StatusError(
      StatusCode.INVALID_ARGUMENT,
      `trace directory ${JSON.stringify(traceDir)} must be an absolute path`,
    );
  if (!text.startsWith('/* CTF 1.8 */'))
    throw new StatusError(StatusCode.INVALID_ARGUMENT, 'metadata must be CTF 1.8 text starting with "/* CTF 1.8 */"');
  const file = path.join(traceDir, 'metadata');
  try {
    makeDirs(traceDir, owner);
    if (previous !== undefined && text.startsWith(previous) && fs.existsSync(file)) {
      if (text.length > previous.length) fs.appendFileSync(file, text.slice(previous.length));
      return;
    }
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, text, { mode: 0o640 });
    if (owner) fs.chownSync(tmp, owner.uid, owner.gid);
    fs.renameSync(tmp, file);
  } catch (err) {
    throw new StatusError(StatusCode.OUTPUT_ERROR, `cannot write ${file}: ${(err as Error).message}`);
  }
}
