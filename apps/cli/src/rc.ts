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

export function setCurrentSession(name: string): void {
  fs.writeFileSync(rcFile(), `session=${name}\n`, { mode: 0o644 });
}

export function clearCurrentSession(): void {
  fs.rmSync(rcFile(), { force: true });
}
