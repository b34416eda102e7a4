/**
 * A trace's `metadata` file follows the TSDL text it is given: what is new is appended (readers
 * tailing it see a growing file), anything else rewrites it atomically (a new file renamed over).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SinkError } from './sink';
import { FileOwner, makeDirs } from './stream-file';

export const METADATA_FILE = 'metadata';

/**
 * Writes `text` as `<traceDir>/metadata`, given the text written there before (undefined: none
 * known, so the whole file is written). Throws a SinkError.
 */
export function writeMetadata(traceDir: string, text: string, previous: string | undefined, owner?: FileOwner): void {
  if (!text.startsWith('/* CTF 1.8 */'))
    throw new SinkError('metadata must be CTF 1.8 text starting with "/* CTF 1.8 */"', 'EINVAL');
  const file = path.join(traceDir, METADATA_FILE);
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
    const e = err as NodeJS.ErrnoException;
    throw new SinkError(`cannot write ${file}: ${e.message}`, e.code ?? '', { cause: err });
  }
}
