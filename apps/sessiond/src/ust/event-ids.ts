import { tstrace } from '@tstrace/comm';

/** An event of a buffer set's CTF metadata: what the ids in its packets stand for. */
export interface EventIdEntry {
  id: number;
  /** provider:name */
  name: string;
  loglevel: number;
  fields: { name: string; type: string }[];
}

/** Identity of an event for CTF ids: its full name, log level and field signature. */
export function eventSignature(e: tstrace.app.EventDecl.$Properties): { key: string; entry: Omit<EventIdEntry, 'id'> } {
  const name = `${e.provider ?? ''}:${e.name ?? ''}`;
  const loglevel = e.loglevel ?? 0;
  const fields = (e.fields ?? []).map((f) => ({ name: f.name ?? '', type: f.type ?? '' }));
  return {
    key: JSON.stringify([name, loglevel, fields.map((f) => [f.name, f.type])]),
    entry: { name, loglevel, fields },
  };
}

/**
 * The CTF event ids of one buffer set (session × channel × buffer owner): 0, 1, 2, ... in the
 * order events are first routed into it. Apps declaring the same event (same name, log level and
 * fields) share its id; an id is never reused or renumbered while the session lives.
 */
export class EventIdTable {
  private readonly ids = new Map<string, number>();
  private readonly list: EventIdEntry[] = [];

  idFor(e: tstrace.app.EventDecl.$Properties): number {
    const { key, entry } = eventSignature(e);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.list.length;
      this.ids.set(key, id);
      this.list.push({ id, ...entry });
    }
    return id;
  }

  get entries(): readonly EventIdEntry[] {
    return this.list;
  }
}
