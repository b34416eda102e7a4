// A trace's `metadata` file: plain TSDL text, or packetized (CTF 1.8 §7.1: packets of a 37-byte
// header then text, as LTTng writes it). Either way, the TSDL text as latin1 (a character a byte).
import { CtfError } from './errors';

export const METADATA_MAGIC = 0x75d11d57;
export const METADATA_HEADER_SIZE = 37;

/** The TSDL text of a metadata file's bytes; `where` names the file in errors. */
export function metadataTextOf(data: Buffer, where: string): string {
  if (data.length >= 4 && (data.readUInt32LE(0) === METADATA_MAGIC || data.readUInt32BE(0) === METADATA_MAGIC))
    return depacketize(data, where);
  // Plain text. A NUL or most control bytes mean this is not text at all.
  const bad = data.findIndex((b) => b === 0 || (b < 0x20 && b !== 9 && b !== 10 && b !== 13 && b !== 12 && b !== 11));
  if (bad >= 0)
    throw new CtfError(
      `${where}: not TSDL text (byte 0x${data[bad].toString(16).padStart(2, '0')} at offset ${bad}) nor packetized metadata (magic 0x75d11d57)`,
    );
  return data.toString('latin1');
}

function depacketize(data: Buffer, where: string): string {
  const le = data.readUInt32LE(0) === METADATA_MAGIC;
  const u32 = (o: number) => (le ? data.readUInt32LE(o) : data.readUInt32BE(o));
  const parts: string[] = [];
  let uuid: string | undefined;
  for (let at = 0; at < data.length;) {
    const left = data.length - at;
    if (left < METADATA_HEADER_SIZE)
      throw new CtfError(
        `${where}: truncated metadata packet at offset ${at}: ${left} bytes, the header needs ${METADATA_HEADER_SIZE}`,
      );
    const magic = u32(at);
    if (magic !== METADATA_MAGIC)
      throw new CtfError(
        `${where}: bad metadata packet magic 0x${magic.toString(16)} at offset ${at} (expected 0x75d11d57)`,
      );
    const id = data.subarray(at + 4, at + 20).toString('hex');
    if (uuid === undefined) uuid = id;
    else if (id !== uuid)
      throw new CtfError(`${where}: the metadata packet at offset ${at} has another trace UUID than the first`);
    const contentBits = u32(at + 24);
    const packetBits = u32(at + 28);
    const [compression, encryption, checksumScheme] = [data[at + 32], data[at + 33], data[at + 34]];
    if (compression !== 0 || encryption !== 0 || checksumScheme !== 0)
      throw new CtfError(
        `${where}: the metadata packet at offset ${at} is compressed, encrypted or checksummed: not supported`,
      );
    if (
      contentBits % 8 !== 0 ||
      packetBits % 8 !== 0 ||
      contentBits < METADATA_HEADER_SIZE * 8 ||
      packetBits < contentBits
    ) {
      throw new CtfError(
        `${where}: the metadata packet at offset ${at} has content_size ${contentBits} and packet_size ${packetBits} bits: inconsistent`,
      );
    }
    if (packetBits / 8 > left) {
      // LTTng's last packet may be cut after its content (the file was not padded): the text is whole.
      if (contentBits / 8 > left)
        throw new CtfError(
          `${where}: truncated metadata packet at offset ${at}: it holds ${contentBits / 8} bytes, ${left} are left`,
        );
    }
    parts.push(data.toString('latin1', at + METADATA_HEADER_SIZE, at + contentBits / 8));
    at += Math.min(packetBits / 8, left);
  }
  return parts.join('');
}
