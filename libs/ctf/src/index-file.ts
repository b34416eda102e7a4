/**
 * LTTng's CTF index files (`index/<stream>.idx`, version 1.1), all big-endian: a 16-byte header
 * (magic, major, minor, entry length) then one 72-byte entry per packet of the stream file.
 */
export const INDEX_MAGIC = 0xc1f1dcc1;
export const INDEX_MAJOR = 1;
export const INDEX_MINOR = 1;
export const INDEX_HEADER_SIZE = 16;
export const INDEX_ENTRY_SIZE = 72;
const V1_0_ENTRY_SIZE = 56;

export interface IndexEntry {
  /** Byte offset of the packet in the stream file. */
  offset: bigint;
  packetSizeBits: bigint;
  contentSizeBits: bigint;
  timestampBegin: bigint;
  timestampEnd: bigint;
  eventsDiscarded: bigint;
  /** CTF stream-class id. */
  streamId: bigint;
  streamInstanceId: bigint;
  packetSeqNum: bigint;
}

const FIELDS = [
  'offset',
  'packetSizeBits',
  'contentSizeBits',
  'timestampBegin',
  'timestampEnd',
  'eventsDiscarded',
  'streamId',
  'streamInstanceId',
  'packetSeqNum',
] as const;

export class IndexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IndexError';
  }
}

export function encodeIndexHeader(): Buffer {
  const b = Buffer.alloc(INDEX_HEADER_SIZE);
  b.writeUInt32BE(INDEX_MAGIC, 0);
  b.writeUInt32BE(INDEX_MAJOR, 4);
  b.writeUInt32BE(INDEX_MINOR, 8);
  b.writeUInt32BE(INDEX_ENTRY_SIZE, 12);
  return b;
}

export function encodeIndexEntry(e: IndexEntry): Buffer {
  const b = Buffer.alloc(INDEX_ENTRY_SIZE);
  FIELDS.forEach((f, i) => b.writeBigUInt64BE(e[f], i * 8));
  return b;
}

/** Reads a whole index file; entries of version 1.0 (56 bytes) have no instance id or sequence number. */
export function decodeIndex(data: Buffer): IndexEntry[] {
  if (data.length < INDEX_HEADER_SIZE) throw new IndexError(`index file of ${data.length} bytes has no header`);
  const magic = data.readUInt32BE(0);
  if (magic !== INDEX_MAGIC)
    throw new IndexError(`bad index magic 0x${magic.toString(16)} (expected 0x${INDEX_MAGIC.toString(16)})`);
  const major = data.readUInt32BE(4);
  const minor = data.readUInt32BE(8);
  const entrySize = data.readUInt32BE(12);
  if (major !== INDEX_MAJOR) throw new IndexError(`unsupported index version ${major}.${minor}`);
  if (entrySize < V1_0_ENTRY_SIZE) throw new IndexError(`index entries of ${entrySize} bytes are too small`);
  const body = data.length - INDEX_HEADER_SIZE;
  if (body % entrySize !== 0)
    throw new IndexError(`index body of ${body} bytes is not a whole number of ${entrySize}-byte entries`);
  const entries: IndexEntry[] = [];
  for (let at = INDEX_HEADER_SIZE; at < data.length; at += entrySize) {
    const values = FIELDS.map((_, i) => (i * 8 + 8 <= entrySize ? data.readBigUInt64BE(at + i * 8) : 0n));
    entries.push(Object.fromEntries(FIELDS.map((f, i) => [f, values[i]])) as unknown as IndexEntry);
  }
  return entries;
}
