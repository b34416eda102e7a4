/**
 * A trace written to a directory of this host, laid out as LTTng writes one: `metadata`, the
 * stream files and `index/`. The consumer writes local sessions and snapshots through it; the
 * relay daemon writes what it receives through it. Writes are synchronous: a failure is thrown
 * to the caller at once, so nothing is ever pending and nothing is lost later.
 */
import * as path from 'node:path';
import { writeMetadata } from './metadata-file';
import { SinkLosses, StreamOptions, StreamSink, TraceSink } from './sink';
import { FileOwner, StreamFile } from './stream-file';

export interface LocalTraceOptions {
  /** A root process writing for another user: that user gets the files. */
  owner?: FileOwner;
}

export class LocalTrace implements TraceSink {
  readonly pending = false;
  readonly error = '';
  /** The metadata text on disk, as far as this process wrote it. */
  private metadataText: string | undefined;

  /** `dir` must be absolute; nothing is created before the first stream or metadata. */
  constructor(
    readonly dir: string,
    private readonly options: LocalTraceOptions = {},
  ) {
    if (!path.isAbsolute(dir)) throw new TypeError(`trace directory ${JSON.stringify(dir)} must be an absolute path`);
  }

  get description(): string {
    return this.dir;
  }

  openStream(name: string, options: StreamOptions): StreamSink {
    const file = new StreamFile({ dir: this.dir, name, ...options, owner: this.options.owner });
    file.open();
    return file;
  }

  metadata(text: string): void {
    writeMetadata(this.dir, text, this.metadataText, this.options.owner);
    this.metadataText = text;
  }

  flush(): void {}

  losses(): SinkLosses {
    return { packets: 0, events: 0 };
  }

  /** Streams are closed by whoever opened them; the directory needs nothing more. */
  close(): void {}
}
