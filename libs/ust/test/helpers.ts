// Test helpers: a real stream file in /dev/shm, a tracepoint routed into it by hand, and a
// reader that decodes what was written.
import { createStreamFile, Packet, readEvents, StreamReader, StreamWriter } from '@tstrace/ringbuffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeFields, FieldLike } from '../src/decode';
import { Field } from '../src/fields';
import { Tracer } from '../src/registration';
import { Route, Tracepoint } from '../src/tracepoint';

export interface ReadBack {
  id: number;
  timestamp: bigint;
  context: Record<string, unknown>;
  values: Record<string, unknown>;
}

/** A stream file in a private directory of /dev/shm, with its writer; `dispose()` removes both. */
export class TestStream {
  readonly dir = fs.mkdtempSync('/dev/shm/tstrace-ust-test-');
  readonly path = path.join(this.dir, 'chan_0');
  readonly writer: StreamWriter;

  constructor(subbufSize = 65536, numSubbufs = 4, mode: 'discard' | 'overwrite' = 'discard') {
    createStreamFile(this.path, {
      subbufSize,
      numSubbufs,
      mode,
      streamId: 0,
      cpuId: 0,
      uuid: new Uint8Array(16),
      streamInstanceId: 0n,
    });
    this.writer = StreamWriter.open(this.path);
  }

  /** Flushes and decodes every event: `fields(id)` gives each id's field list. */
  read(fields: (id: number) => readonly FieldLike[], context: readonly FieldLike[] = []): ReadBack[] {
    const reader = StreamReader.open(this.path, { staleMs: 100 });
    const out: ReadBack[] = [];
    try {
      reader.flush();
      for (let p: Packet | null = reader.next(); p; p = reader.next()) {
        readEvents(p, (id, timestamp, view, offset) => {
          const ctx = decodeFields(context, view, offset);
          const f = decodeFields(fields(id), view, ctx.end);
          out.push({ id, timestamp, context: { ...ctx.values }, values: { ...f.values } });
          return f.end;
        });
        reader.consume(p);
      }
    } finally {
      reader.close();
    }
    return out;
  }

  counters(): { lostFull: number; lostBig: number } {
    const reader = StreamReader.open(this.path);
    try {
      return reader.counters();
    } finally {
      reader.close();
    }
  }

  dispose(): void {
    this.writer.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A tracer that talks to no daemon. */
export function offlineTracer(): Tracer {
  return new Tracer({ sockets: () => [] });
}

/** Enables `tp` by hand: a private status page with its byte set, and one route into `stream`. */
export function enable(
  tp: Tracepoint<any>,
  stream: TestStream,
  id = 1,
  options: { context?: Uint8Array; filter?: Route['filter'] } = {},
): Int8Array {
  const page = new Int8Array(4096);
  page[0] = 1;
  tp.status = page;
  tp.slot = 0;
  const context = options.context ?? new Uint8Array(0);
  tp.setRoutes([new Route(page, 0, stream.writer, id, context, context.length, options.filter ?? null)]);
  return page;
}

export function decls(fields: readonly Field<unknown>[]): FieldLike[] {
  return fields.map((f) => ({ name: f.name, type: f.type }));
}
