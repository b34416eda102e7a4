/**
 * `snapshot record`, the consumer's side: for each channel, map its rings, close their open
 * packets and copy the complete packets they hold into a new trace, consuming none of them (as
 * LTTng: a later snapshot sees them again unless writers have overwritten them). With a size
 * limit, each stream keeps its newest packets that fit.
 */
import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { StreamReader } from '@tstrace/ringbuffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChannelLog, checkChannelTarget, u64 } from './channel';
import { EventTable } from './event-count';
import { fileOwner, writeMetadata } from './metadata-file';
import { StreamFile } from './stream-file';

type Snapshot = tstrace.consumer.Snapshot.$Properties;
type SnapshotChannel = tstrace.consumer.SnapshotChannel.$Properties;
type ChannelStats = tstrace.consumer.ChannelStats.$Properties;

/** Writes the snapshot; the stats come in the order of the request's channels. */
export function takeSnapshot(req: Snapshot, log: ChannelLog): ChannelStats[] {
  const channels = req.channels ?? [];
  for (const c of channels) check(c);
  const owner = fileOwner(req.ownerUid ?? 0, req.ownerGid ?? 0);
  const maxBytes = u64(req.maxBytesPerStream);
  // Everything is checked and mapped before anything is written: a bad request leaves no half
  // snapshot behind.
  const events = channels.map((c) => {
    const table = new EventTable(c.contexts ?? []);
    try {
      table.addAll(c.events ?? []);
    } catch (err) {
      throw new StatusError(StatusCode.INVALID_ARGUMENT, `channel "${c.name}": ${(err as Error).message}`);
    }
    return table;
  });
  const readers: (StreamReader | undefined)[][] = [];
  try {
    for (const c of channels) {
      const streams: (StreamReader | undefined)[] = [];
      readers.push(streams);
      openStreams(c, maxBytes, streams);
    }
    for (const m of req.metadata ?? []) writeMetadata(m.traceDir ?? '', m.text ?? '', undefined, owner);
    return channels.map((c, i) => copyChannel(i, c, readers[i], events[i], maxBytes, owner, log));
  } finally {
    for (const r of readers.flat()) r?.close();
  }
}

function check(c: SnapshotChannel): void {
  checkChannelTarget(c.traceDir, c.name);
  // A snapshot is a new trace: never appended to an older one.
  (c.shmPaths ?? []).forEach((_, n) => {
    const file = path.join(c.traceDir!, `${c.name}_${n}`);
    if (fs.existsSync(file)) throw new StatusError(StatusCode.OUTPUT_ERROR, `${file} already exists`);
  });
}

/** Maps a channel's rings into `streams` (undefined for one that is gone); the caller closes them, even on a throw. */
function openStreams(c: SnapshotChannel, maxBytes: number, streams: (StreamReader | undefined)[]): void {
  (c.shmPaths ?? []).forEach((shmPath, n) => {
    let reader: StreamReader | undefined;
    try {
      reader = StreamReader.open(shmPath);
    } catch (err) {
      // A per-PID ring whose process is gone may have been removed meanwhile: nothing to copy.
      if (fs.existsSync(shmPath))
        throw new StatusError(StatusCode.OUTPUT_ERROR, `stream ${n} of channel "${c.name}": ${(err as Error).message}`);
    }
    streams.push(reader);
    if (reader && maxBytes > 0 && maxBytes < reader.subbufSize) {
      throw new StatusError(
        StatusCode.INVALID_ARGUMENT,
        `the size limit leaves ${maxBytes} bytes to stream ${n} of channel "${c.name}", less than one sub-buffer (${reader.subbufSize} bytes)`,
      );
    }
  });
}

function copyChannel(
  index: number,
  c: SnapshotChannel,
  readers: (StreamReader | undefined)[],
  events: EventTable,
  maxBytes: number,
  owner: ReturnType<typeof fileOwner>,
  log: ChannelLog,
): ChannelStats {
  const stats = {
    channelKey: index,
    packets: 0,
    bytes: 0,
    eventsRecorded: 0,
    eventsDiscarded: 0,
    packetsOverwritten: 0,
    packetsSkipped: 0,
    dataPending: false,
    error: '',
  };
  readers.forEach((reader, n) => {
    if (!reader) return;
    reader.flush();
    let packets = reader.snapshot();
    if (maxBytes > 0) packets = packets.slice(-Math.floor(maxBytes / reader.subbufSize));
    const counters = reader.counters();
    stats.eventsDiscarded += counters.lostFull + counters.lostBig;
    stats.packetsOverwritten += counters.overrun;
    stats.packetsSkipped += counters.skipped;
    const file = new StreamFile({
      dir: c.traceDir!,
      name: `${c.name}_${n}`,
      tracefileSize: 0,
      tracefileCount: 0,
      owner,
    });
    try {
      file.open();
      for (const p of packets) {
        file.write(p);
        stats.packets++;
        stats.bytes += p.bytes.byteLength;
        try {
          stats.eventsRecorded += events.count(p.bytes, p.contentSize);
        } catch (err) {
          stats.error = `packet ${p.seq} of ${file.paths.data}: ${(err as Error).message}`;
          log.warn(stats.error);
        }
      }
    } catch (err) {
      throw new StatusError(StatusCode.OUTPUT_ERROR, `cannot write ${file.paths.data}: ${(err as Error).message}`);
    } finally {
      file.close();
    }
  });
  return stats;
}
