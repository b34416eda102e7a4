/** Opening and closing packets: shared by writers (sub-buffer switch) and the reader (flush). */
import { PACKET_FIELD, PACKET_MAGIC } from '@tstrace/ctf';
import { COMMIT_STRIDE, Geometry, W } from './layout';

/**
 * Writes the preamble of the packet starting at `position` (header, and the context fields known
 * at open; the end fields are filled by closePacket). The caller commits the preamble's bytes.
 * packet_seq_num is written by the reader, which counts packet positions.
 */
export function openPacket(
  ctl: Int32Array,
  view: DataView,
  g: Geometry,
  position: number,
  tsLo: number,
  tsHi: number,
): void {
  const at = g.subbufStart(position);
  view.setUint32(at + PACKET_FIELD.magic, PACKET_MAGIC, true);
  for (let i = 0; i < 4; i++) view.setInt32(at + PACKET_FIELD.uuid + 4 * i, ctl[W.uuid + i], true);
  view.setUint32(at + PACKET_FIELD.streamId, ctl[W.streamId], true);
  view.setInt32(at + PACKET_FIELD.streamInstanceId, ctl[W.instanceLo], true);
  view.setInt32(at + PACKET_FIELD.streamInstanceId + 4, ctl[W.instanceHi], true);
  view.setUint32(at + PACKET_FIELD.timestampBegin, tsLo, true);
  view.setUint32(at + PACKET_FIELD.timestampBegin + 4, tsHi, true);
  // timestamp_end, content_size and events_discarded belong to the closer: it may close the
  // packet before this opener gets here, so the opener must not touch them.
  view.setUint32(at + PACKET_FIELD.packetSize, g.subbufSize * 8, true);
  view.setUint32(at + PACKET_FIELD.packetSize + 4, 0, true);
  view.setUint32(at + PACKET_FIELD.cpuId, ctl[W.cpuId], true);
}

/**
 * Closes the packet starting at `position` whose events end `contentBytes` into it: fills the end
 * fields, then commits the padding, which completes the packet once its writers have committed.
 */
export function closePacket(
  ctl: Int32Array,
  view: DataView,
  g: Geometry,
  position: number,
  contentBytes: number,
  tsLo: number,
  tsHi: number,
): void {
  const at = g.subbufStart(position);
  view.setUint32(at + PACKET_FIELD.timestampEnd, tsLo, true);
  view.setUint32(at + PACKET_FIELD.timestampEnd + 4, tsHi, true);
  const contentBits = contentBytes * 8;
  view.setUint32(at + PACKET_FIELD.contentSize, contentBits >>> 0, true);
  view.setUint32(at + PACKET_FIELD.contentSize + 4, Math.floor(contentBits / 2 ** 32), true);
  const discarded = (Atomics.load(ctl, W.lostFull) >>> 0) + (Atomics.load(ctl, W.lostBig) >>> 0);
  view.setUint32(at + PACKET_FIELD.eventsDiscarded, discarded >>> 0, true);
  view.setUint32(at + PACKET_FIELD.eventsDiscarded + 4, Math.floor(discarded / 2 ** 32), true);
  Atomics.add(ctl, W.commit + COMMIT_STRIDE * g.slotOf(position), g.subbufSize - contentBytes);
}
