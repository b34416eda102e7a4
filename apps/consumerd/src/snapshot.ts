/**
 * `snapshot record`, the consumer's side: for each channel, map its rings, close their open
 * packets and copy the complete packets they hold into a new trace, consuming none of them (as
 * LTTng: a later snapshot sees them again unless writers have overwritten them). With a size
 * limit, each stream keeps its newest packets that fit. The packets take the drain's path
 * (StreamOutput) into the snapshot's own outputs.
 */
import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { StreamReader } from '@tstrace/ringbuffer';
import type { TraceSink } from '@tstrace/trace-writer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChannelLog, checkChannelName, u64 } from './channel';
import { EventTable } from './event-count';
import { checkOutput, fileOwner, openOutput, outputKey } from './outputs';
import type { PacketSource } from './source';
import { ChannelCounts, StreamOutput } from './stream-output';

type Snapshot = tstrace.consumer.Snapshot.$Properties;
type SnapshotChannel = tstrace.consumer.SnapshotChannel.$Properties;
type ChannelStats = tstrace.consumer.ChannelStats.$Properties;

/** Writes the snapshot; the stats come in the order of the request's channels. */
export function takeSnapshot(req: Snapshot, log: ChannelLog): ChannelStats[] {
  const channels = req.channels ?? [];
  for (const c of channels) check(c);
  for (const m of req.metadata ?? []) checkOutput(m.output);
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
  const sources: (PacketSource | undefined)[][] = [];
  try {
    for (const c of channels) {
      const streams: (PacketSource | undefined)[] = [];
      sources.push(streams);
      openStreams(c, maxBytes, streams);
    }
    // One sink per trace: the channels of a trace and its metadata share it.
    const sinks = new Map<string, TraceSink>();
    const sinkOf = (output: tstrace.consumer.TraceOutput.$Properties) => {
      const key = outputKey(output);
      let sink = sinks.get(key);
      if (!sink) sinks.set(key, (sink = openOutput(output, owner)));
      return sink;
    };
    for (const m of req.metadata ?? []) {
      try {
        sinkOf(m.output!).metadata(m.text ?? '');
      } catch (err) {
        throw new StatusError(StatusCode.OUTPUT_ERROR, (err as Error).message);
      }
    }
    return channels.map((c, i) => copyChannel(i, c, sinkOf(c.output!), sources[i], events[i], maxBytes, log));
  } finally {
    for (const s of sources.flat()) s?.close();
  }
}

function check(c: SnapshotChannel): void {
  checkOutput(c.output);
  checkChannelName(c.name);
  // A snapshot is a new trace: never appended to an older one.
  (c.shmPaths ?? []).forEach((_, n) => {
    const file = path.join(c.output!.local!.traceDir!, `${c.name}_${n}`);
    if (fs.existsSync(file)) throw new StatusError(StatusCode.OUTPUT_ERROR, `${file} already exists`);
  });
}

/** Maps a channel's rings into `streams` (undefined for one that is gone); the caller closes them, even on a throw. */
function openStreams(c: SnapshotChannel, maxBytes: number, streams: (PacketSource | undefined)[]): void {
  (c.shmPaths ?? []).forEach((shmPath, n) => {
    let source: PacketSource | undefined;
    try {
      source = StreamReader.open(shmPath);
    } catch (err) {
      // A per-PID ring whose process is gone may have been removed meanwhile: nothing to copy.
      if (fs.existsSync(shmPath))
        throw new StatusError(StatusCode.OUTPUT_ERROR, `stream ${n} of channel "${c.name}": ${(err as Error).message}`);
    }
    streams.push(source);
    if (source && maxBytes > 0 && maxBytes < source.subbufSize) {
      throw new StatusError(
        StatusCode.INVALID_ARGUMENT,
        `the size limit leaves ${maxBytes} bytes to stream ${n} of channel "${c.name}", less than one sub-buffer (${source.subbufSize} bytes)`,
      );
    }
  });
}

function copyChannel(
  index: number,
  c: SnapshotChannel,
  sink: TraceSink,
  sources: (PacketSource | undefined)[],
  events: EventTable,
  maxBytes: number,
  log: ChannelLog,
): ChannelStats {
  const counts = new ChannelCounts();
  let discarded = 0;
  let overwritten = 0;
  let skipped = 0;
  sources.forEach((source, n) => {
    if (!source) return;
    source.flush();
    let packets = source.snapshot();
    if (maxBytes > 0) packets = packets.slice(-Math.floor(maxBytes / source.subbufSize));
    const loss = source.counters();
    discarded += loss.lostFull + loss.lostBig;
    overwritten += loss.overrun;
    skipped += loss.skipped;
    const name = `${c.name}_${n}`;
    let out: StreamOutput | undefined;
    try {
      out = new StreamOutput(sink.openStream(name, { tracefileSize: 0, tracefileCount: 0 }), name, events, counts, log);
      for (const p of packets) if (!out.put(p)) throw new Error(counts.error);
    } catch (err) {
      throw new StatusError(StatusCode.OUTPUT_ERROR, (err as Error).message);
    } finally {
      out?.sink.close();
    }
  });
  return {
    channelKey: index,
    packets: counts.packets,
    bytes: counts.bytes,
    eventsRecorded: counts.recorded,
    eventsDiscarded: discarded,
    packetsOverwritten: overwritten,
    packetsSkipped: skipped,
    dataPending: false,
    error: counts.error,
  };
}
