/**
 * The start of every data packet, laid out as LTTng-UST writes it (little-endian, 64-bit):
 *
 *   trace.packet.header   magic u32 | uuid u8[16] | stream_id u32 | stream_instance_id u64
 *   stream.packet.context timestamp_begin u64 | timestamp_end u64 | content_size u64 (bits)
 *                         | packet_size u64 (bits) | packet_seq_num u64 | events_discarded u64
 *                         | cpu_id u32
 *
 * LTTng-UST on x86 declares every integer byte-aligned (TSDL `align = 8`, in bits), so the layout is
 * packed and events follow the context at EVENTS_OFFSET. The ring buffer writes
 * the preamble when it opens a sub-buffer and patches the context fields when it closes it, so
 * each sub-buffer is a packet the consumer copies to disk unchanged.
 */
export const PACKET_MAGIC = 0xc1fc1fc1;

export const PACKET_FIELD = {
  magic: 0,
  uuid: 4,
  streamId: 20,
  streamInstanceId: 24,
  timestampBegin: 32,
  timestampEnd: 40,
  contentSize: 48,
  packetSize: 56,
  packetSeqNum: 64,
  eventsDiscarded: 72,
  cpuId: 80,
} as const;

/** Bytes of header + context; the first event starts right after them (packed layout). */
export const PACKET_PREAMBLE_SIZE = 84;
export const EVENTS_OFFSET = PACKET_PREAMBLE_SIZE;

export interface PacketPreamble {
  uuid: Uint8Array;
  streamId: number;
  streamInstanceId: bigint;
  timestampBegin: bigint;
  timestampEnd: bigint;
  /** Bits of the packet that hold data: preamble and events, without the padding. */
  contentSizeBits: bigint;
  /** Bits of the whole packet, padding included (the sub-buffer size × 8). */
  packetSizeBits: bigint;
  packetSeqNum: bigint;
  /** Free-running count of the events this stream discarded so far. */
  eventsDiscarded: bigint;
  cpuId: number;
}

export class PacketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PacketError';
  }
}

export function writePacketPreamble(view: DataView, offset: number, p: PacketPreamble): void {
  if (p.uuid.length !== 16) throw new PacketError(`a trace UUID has 16 bytes, not ${p.uuid.length}`);
  view.setUint32(offset + PACKET_FIELD.magic, PACKET_MAGIC, true);
  new Uint8Array(view.buffer, view.byteOffset + offset + PACKET_FIELD.uuid, 16).set(p.uuid);
  view.setUint32(offset + PACKET_FIELD.streamId, p.streamId, true);
  view.setBigUint64(offset + PACKET_FIELD.streamInstanceId, p.streamInstanceId, true);
  view.setBigUint64(offset + PACKET_FIELD.timestampBegin, p.timestampBegin, true);
  view.setBigUint64(offset + PACKET_FIELD.timestampEnd, p.timestampEnd, true);
  view.setBigUint64(offset + PACKET_FIELD.contentSize, p.contentSizeBits, true);
  view.setBigUint64(offset + PACKET_FIELD.packetSize, p.packetSizeBits, true);
  view.setBigUint64(offset + PACKET_FIELD.packetSeqNum, p.packetSeqNum, true);
  view.setBigUint64(offset + PACKET_FIELD.eventsDiscarded, p.eventsDiscarded, true);
  view.setUint32(offset + PACKET_FIELD.cpuId, p.cpuId, true);
}

/** Reads and checks a packet's preamble: magic, and sizes that fit the bytes available. */
export function readPacketPreamble(view: DataView, offset: number): PacketPreamble {
  if (view.byteLength - offset < PACKET_PREAMBLE_SIZE)
    throw new PacketError(
      `truncated packet at offset ${offset}: ${view.byteLength - offset} bytes, the preamble needs ${PACKET_PREAMBLE_SIZE}`,
    );
  const magic = view.getUint32(offset, true);
  if (magic !== PACKET_MAGIC)
    throw new PacketError(
      `bad packet magic 0x${magic.toString(16)} at offset ${offset} (expected 0x${PACKET_MAGIC.toString(16)})`,
    );
  const p: PacketPreamble = {
    uuid: new Uint8Array(
      view.buffer.slice(
        view.byteOffset + offset + PACKET_FIELD.uuid,
        view.byteOffset + offset + PACKET_FIELD.uuid + 16,
      ),
    ),
    streamId: view.getUint32(offset + PACKET_FIELD.streamId, true),
    streamInstanceId: view.getBigUint64(offset + PACKET_FIELD.streamInstanceId, true),
    timestampBegin: view.getBigUint64(offset + PACKET_FIELD.timestampBegin, true),
    timestampEnd: view.getBigUint64(offset + PACKET_FIELD.timestampEnd, true),
    contentSizeBits: view.getBigUint64(offset + PACKET_FIELD.contentSize, true),
    packetSizeBits: view.getBigUint64(offset + PACKET_FIELD.packetSize, true),
    packetSeqNum: view.getBigUint64(offset + PACKET_FIELD.packetSeqNum, true),
    eventsDiscarded: view.getBigUint64(offset + PACKET_FIELD.eventsDiscarded, true),
    cpuId: view.getUint32(offset + PACKET_FIELD.cpuId, true),
  };
  const available = BigInt(view.byteLength - offset) * 8n;
  if (
    p.packetSizeBits % 8n !== 0n ||
    p.packetSizeBits < BigInt(PACKET_PREAMBLE_SIZE * 8) ||
    p.packetSizeBits > available
  ) {
    throw new PacketError(`packet at offset ${offset} claims ${p.packetSizeBits} bits; ${available} are available`);
  }
  if (p.contentSizeBits < BigInt(PACKET_PREAMBLE_SIZE * 8) || p.contentSizeBits > p.packetSizeBits) {
    throw new PacketError(
      `packet at offset ${offset} has content_size ${p.contentSizeBits} bits outside ${PACKET_PREAMBLE_SIZE * 8}..${p.packetSizeBits}`,
    );
  }
  if (p.timestampEnd < p.timestampBegin)
    throw new PacketError(`packet at offset ${offset} ends (${p.timestampEnd}) before it begins (${p.timestampBegin})`);
  return p;
}
