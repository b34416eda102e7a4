import * as fs from 'node:fs';
import * as path from 'node:path';
import { tstraceHome } from '@tstrace/ctl';

/** The current session lives in $TSTRACE_HOME/.tstracerc, as LTTng keeps it in .lttngrc. */
function rcFile(): string {
  return path.join(tstraceHome(), '.tstracerc');
}

export function currentSession(): string | undefined {
  try {
    const m = /^session=(.*)$/m.exec(fs.readFileSync(rcFile(), 'utf8'));
    return m?.[1] || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records the current session. The command that calls this has already succeeded on the daemon,
 * so a file that cannot be written is a warning, not a failure.
 */
export function setCurrentSession(name: string): void {
  const file = rcFile();
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `session=${name}\n`, { mode: 0o644 });
  } catch (err) {
    process.stderr.write(`Warning: cannot record the current session in ${file}: ${(err as Error).message}\n`);
  }
}

export function clearCurrentSession(): void {
  fs.rmSync(rcFile(), { force: true });
}
