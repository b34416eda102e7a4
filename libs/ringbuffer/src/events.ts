import { EVENTS_OFFSET } from '@tstrace/ctf';
import { EXTENDED_ID } from './layout';
import type { Packet } from './reader';

/**
 * Decodes the payload of one event starting at `offset` in `view` and returns the offset just
 * after it: the payload's layout (contexts, fields) is known only to whoever defined the event.
 */
export type PayloadVisitor = (id: number, timestamp: bigint, view: DataView, offset: number) => number;

/**
 * Walks the events of a packet in order: decodes each event header (LTTng-UST's
 * event_header_large, packed), rebuilds full timestamps from compact 32-bit ones as a CTF reader
 * does, and lets `visit` decode the payload.
 */
export function readEvents(
  packet: Pick<Packet, 'bytes' | 'contentSize' | 'timestampBegin'>,
  visit: PayloadVisitor,
): number {
  const view = new DataView(packet.bytes.buffer, packet.bytes.byteOffset, packet.bytes.byteLength);
  let clock = packet.timestampBegin;
  let offset = EVENTS_OFFSET;
  let count = 0;
  while (offset < packet.contentSize) {
    let id = view.getUint16(offset, true);
    if (id === EXTENDED_ID) {
      id = view.getUint32(offset + 2, true);
      clock = view.getBigUint64(offset + 6, true);
      offset += 14;
    } else {
      const low = BigInt(view.getUint32(offset + 2, true));
      let next = (clock & ~0xffffffffn) | low;
      if (low < (clock & 0xffffffffn)) next += 1n << 32n;
      clock = next;
      offset += 6;
    }
    const end = visit(id, clock, view, offset);
    if (!(end > offset - 1) || end > packet.contentSize)
      throw new RangeError(
        `event ${count} (id ${id}) at offset ${offset} decodes past the packet's content (${end} > ${packet.contentSize})`,
      );
    offset = end;
    count++;
  }
  return count;
}
