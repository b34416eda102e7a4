// Reads a session's userspace buffers straight from shared memory with the ring buffer's reader
// API, and decodes the events with the field layouts the session daemon recorded for each id.
import { Packet, readEvents, StreamReader } from '@tstrace/ringbuffer';
import { decodeFields } from '@tstrace/ust';

export interface ReadEvent {
  name: string;
  timestamp: bigint;
  channel: string;
  stream: string;
  context: Record<string, unknown>;
  fields: Record<string, unknown>;
}

export interface BufferSet {
  channel: string;
  directory: string;
  streamPaths: string[];
  contexts?: string[];
  events: { id: number; name: string; loglevel: number; fields: { name: string; type: string }[] }[];
}

/** The buffer sets of a session, from `tstrace status --json` / `list SESSION --json`. */
export function bufferSets(sessionInfo: any): BufferSet[] {
  const sets = sessionInfo.buffers ?? sessionInfo.session?.buffers;
  if (!Array.isArray(sets)) throw new Error(`no buffers in ${JSON.stringify(sessionInfo).slice(0, 300)}`);
  return sets as BufferSet[];
}

/** Flushes and drains every stream of every buffer set; returns the decoded events and the loss counters. */
export function readAll(sets: BufferSet[]): { events: ReadEvent[]; discarded: number; skipped: number } {
  const events: ReadEvent[] = [];
  let discarded = 0;
  let skipped = 0;
  for (const set of sets) {
    const byId = new Map(set.events.map((e) => [e.id, e]));
    for (const stream of set.streamPaths) {
      const reader = StreamReader.open(stream, { staleMs: 500 });
      reader.flush();
      for (let p: Packet | null = reader.next(); p; p = reader.next()) {
        readEvents(p, (id, timestamp, view, offset) => {
          const event = byId.get(id);
          if (!event) throw new Error(`${stream}: event id ${id} is not in the session's table`);
          const ctx = decodeFields(contextFields(set.contexts ?? []), view, offset);
          const decoded = decodeFields(event.fields, view, ctx.end);
          events.push({
            name: event.name,
            timestamp,
            channel: set.channel,
            stream,
            context: ctx.values,
            fields: decoded.values,
          });
          return decoded.end;
        });
        reader.consume(p);
      }
      const c = reader.counters();
      discarded += c.lostFull + c.lostBig;
      skipped += c.skipped;
      reader.close();
    }
  }
  return { events, discarded, skipped };
}

/** The event-context fields the tracer writes for a channel's contexts (docs/USERSPACE.md). */
function contextFields(contexts: string[]): { name: string; type: string }[] {
  const types: Record<string, string> = { vpid: 's32', vtid: 's32', vuid: 'u32', vgid: 'u32', procname: 'char[17]' };
  return contexts.map((name) => ({ name, type: types[name] ?? 'unknown' }));
}
