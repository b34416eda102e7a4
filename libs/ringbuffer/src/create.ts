import * as fs from 'node:fs';
import { mapFile, unmapFile } from '@tstrace/native';
import {
  checkGeometry,
  controlAreaSize,
  LAYOUT_VERSION,
  LossMode,
  MAGIC,
  MODE_DISCARD,
  MODE_OVERWRITE,
  streamFileSize,
  W,
} from './layout';

export interface StreamOptions {
  /** Bytes per sub-buffer (= per packet): a power of two >= 4096. */
  subbufSize: number;
  /** Sub-buffers in the ring: a power of two >= 2. */
  numSubbufs: number;
  mode: LossMode;
  /** CTF stream class id written in every packet header. */
  streamId: number;
  /** cpu_id written in every packet context: the stream's index in its channel. */
  cpuId: number;
  /** The trace's UUID, 16 bytes. */
  uuid: Uint8Array;
  streamInstanceId: bigint;
}

export interface FileOwner {
  uid: number;
  gid: number;
  mode: number;
}

/**
 * Creates one stream's shared-memory file and writes its control area. The file must not exist
 * (O_EXCL) and the last path component must not be a symlink (O_NOFOLLOW): a daemon running as
 * root must never be tricked into writing somewhere else.
 */
export function createStreamFile(path: string, options: StreamOptions, owner?: FileOwner): void {
  const { subbufSize, numSubbufs } = options;
  checkGeometry(subbufSize, numSubbufs);
  if (options.uuid.length !== 16) throw new RangeError(`a trace UUID has 16 bytes, not ${options.uuid.length}`);
  if (!Number.isInteger(options.streamId) || options.streamId < 0 || options.streamId > 0x7fffffff)
    throw new RangeError(`bad stream id ${options.streamId}`);
  if (!Number.isInteger(options.cpuId) || options.cpuId < 0 || options.cpuId > 0x7fffffff)
    throw new RangeError(`bad cpu id ${options.cpuId}`);
  const { O_CREAT, O_EXCL, O_RDWR, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(path, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW, owner?.mode ?? 0o600);
  try {
    if (owner) {
      fs.fchownSync(fd, owner.uid, owner.gid);
      fs.fchmodSync(fd, owner.mode);
    }
    const size = streamFileSize(subbufSize, numSubbufs);
    fs.ftruncateSync(fd, size);
    const buffer = mapFile(fd, controlAreaSize(numSubbufs));
    try {
      const ctl = new Int32Array(buffer);
      ctl[W.version] = LAYOUT_VERSION;
      ctl[W.subbufLog2] = Math.log2(subbufSize);
      ctl[W.numSubbufLog2] = Math.log2(numSubbufs);
      ctl[W.mode] = options.mode === 'overwrite' ? MODE_OVERWRITE : MODE_DISCARD;
      ctl[W.streamId] = options.streamId;
      ctl[W.cpuId] = options.cpuId;
      ctl[W.dataOffset] = controlAreaSize(numSubbufs);
      new Uint8Array(buffer, W.uuid * 4, 16).set(options.uuid);
      ctl[W.instanceLo] = Number(options.streamInstanceId & 0xffffffffn) | 0;
      ctl[W.instanceHi] = Number((options.streamInstanceId >> 32n) & 0xffffffffn) | 0;
      ctl[W.lastTsHi] = -1;
      // The magic goes last: a reader that sees it sees a complete control area.
      Atomics.store(ctl, W.magic, MAGIC);
    } finally {
      unmapFile(buffer);
    }
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
    throw err;
  }
  fs.closeSync(fd);
}

/** Maps a whole stream file read-write; the caller unmaps it. */
export function mapStreamFile(path: string): ArrayBuffer {
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 4096) throw new Error(`${path} is not a tstrace ring buffer (${size} bytes)`);
    return mapFile(fd, size);
  } finally {
    fs.closeSync(fd);
  }
}
