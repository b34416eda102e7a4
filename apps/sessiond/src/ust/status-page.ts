import { mapFile, unmapFile } from '@tstrace/native';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** One byte per event an app may register (MAX_EVENTS_PER_APP). */
export const STATUS_PAGE_SIZE = 65536;

/** Who owns a file the daemon creates for an app; undefined fields: leave as created. */
export interface FileOwnership {
  uid: number;
  gid: number;
}

/**
 * An app's status page: a file of STATUS_PAGE_SIZE bytes, mapped by the daemon (writer) and the
 * app (reader); byte i is 1 while the app's event i is enabled in some session.
 */
export class StatusPage {
  private constructor(
    readonly path: string,
    private buffer: ArrayBuffer | undefined,
    readonly bytes: Uint8Array,
  ) {}

  /**
   * Creates `<dir>/status-<appId>-<random hex>` (O_EXCL, O_NOFOLLOW), mode 0600, owned by
   * `owner` when given, and maps it.
   */
  static create(dir: string, appId: number, owner?: FileOwnership): StatusPage {
    const file = path.join(dir, `status-${appId}-${randomBytes(8).toString('hex')}`);
    const { O_CREAT, O_EXCL, O_RDWR, O_NOFOLLOW } = fs.constants;
    const fd = fs.openSync(file, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW, 0o600);
    let buffer: ArrayBuffer;
    try {
      if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
      fs.fchmodSync(fd, 0o600);
      fs.ftruncateSync(fd, STATUS_PAGE_SIZE);
      buffer = mapFile(fd, STATUS_PAGE_SIZE);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
      throw err;
    }
    fs.closeSync(fd);
    return new StatusPage(file, buffer, new Uint8Array(buffer));
  }

  get closed(): boolean {
    return this.buffer === undefined;
  }

  set(event: number, enabled: boolean): void {
    if (this.buffer && event >= 0 && event < STATUS_PAGE_SIZE) this.bytes[event] = enabled ? 1 : 0;
  }

  get(event: number): number {
    return this.buffer ? this.bytes[event] : 0;
  }

  /** Unmaps and removes the file. */
  close(): void {
    if (!this.buffer) return;
    unmapFile(this.buffer);
    this.buffer = undefined;
    fs.rmSync(this.path, { force: true });
  }
}
