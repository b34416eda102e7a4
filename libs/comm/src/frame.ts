import { StatusCode, StatusError } from './status';

/** Default maximum frame size of control links. */
export const DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;
const HEADER_SIZE = 4;

/** A frame: 4-byte big-endian payload length, then the payload. */
export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, HEADER_SIZE);
  return frame;
}

/**
 * Splits a byte stream into frames. The announced length is checked against the maximum
 * before any of the payload is buffered, so a peer cannot make us hold a huge frame.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  /** Set once the stream announced an oversized frame; nothing more is decoded after it. */
  error: StatusError | undefined;

  constructor(readonly maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE) {}

  /** Bytes received that do not yet form a whole frame. */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  /**
   * Feeds bytes; returns the whole frames they complete. An oversized frame sets `error`
   * (FRAME_TOO_LARGE): the frames before it are still returned, none after it.
   */
  push(chunk: Buffer): Buffer[] {
    if (this.error) return [];
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    let offset = 0;
    while (this.pending.length - offset >= HEADER_SIZE) {
      const length = this.pending.readUInt32BE(offset);
      if (length > this.maxFrameSize) {
        this.pending = Buffer.alloc(0);
        this.error = new StatusError(
          StatusCode.FRAME_TOO_LARGE,
          `frame of ${length} bytes is larger than the maximum of ${this.maxFrameSize} bytes`,
        );
        return frames;
      }
      if (this.pending.length - offset - HEADER_SIZE < length) break;
      frames.push(this.pending.subarray(offset + HEADER_SIZE, offset + HEADER_SIZE + length));
      offset += HEADER_SIZE + length;
    }
    this.pending = offset === 0 ? this.pending : Buffer.from(this.pending.subarray(offset));
    return frames;
  }
}
