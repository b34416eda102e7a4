/**
 * The consumer's outputs: each trace a channel drains into is a TraceSink of libs/trace-writer,
 * opened from the TraceOutput that AddChannel, Metadata and Snapshot name. Channels of one trace
 * (per-UID: every channel of a uid) share its sink, and so does its metadata.
 */
import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { FileOwner, LocalTrace, TraceSink } from '@tstrace/trace-writer';
import * as path from 'node:path';

type TraceOutput = tstrace.consumer.TraceOutput.$Properties;

/** The owner given to root's consumer for a trace of another user's session. */
export function fileOwner(uid: number, gid: number): FileOwner | undefined {
  return (process.getuid?.() ?? 0) === 0 && uid !== 0 ? { uid, gid } : undefined;
}

/** A key naming one trace, whatever its kind: two requests for the same trace share its sink. */
export function outputKey(output: TraceOutput | null | undefined): string {
  if (output?.local) return `local:${output.local.traceDir ?? ''}`;
  if (output?.relay) {
    const r = output.relay;
    return `relay:${r.ctrlUrl}|${r.hostname}|${r.sessionPath}|${r.tracePath}`;
  }
  return '';
}

/** Refuses an output that names no trace, a local one that is not absolute, and relay outputs (not supported yet). */
export function checkOutput(output: TraceOutput | null | undefined): void {
  if (output?.local) {
    const dir = output.local.traceDir ?? '';
    if (!dir || !path.isAbsolute(dir))
      throw new StatusError(
        StatusCode.INVALID_ARGUMENT,
        `trace directory ${JSON.stringify(dir)} must be an absolute path`,
      );
    return;
  }
  if (output?.relay)
    throw new StatusError(
      StatusCode.INVALID_OUTPUT,
      `relay outputs (${output.relay.ctrlUrl ?? ''}) are not supported by this consumer daemon`,
    );
  throw new StatusError(StatusCode.INVALID_ARGUMENT, 'the request names no output (local or relay)');
}

/** Opens the sink of a checked output. */
export function openOutput(output: TraceOutput, owner: FileOwner | undefined): TraceSink {
  checkOutput(output);
  return new LocalTrace(output.local!.traceDir!, { owner });
}

/** The sinks of the traces the consumer writes, by output key, with the channels that use each. */
export class Outputs {
  private readonly sinks = new Map<string, { sink: TraceSink; users: number }>();

  /** The sink of an output, opened on first use; `use` counts a channel that drains into it. */
  get(output: TraceOutput, owner: FileOwner | undefined, use = false): TraceSink {
    const key = outputKey(output);
    let entry = this.sinks.get(key);
    if (!entry) {
      entry = { sink: openOutput(output, owner), users: 0 };
      this.sinks.set(key, entry);
    }
    if (use) entry.users++;
    return entry.sink;
  }

  /** A channel no longer drains into the sink: closed once no channel does. */
  release(sink: TraceSink): void {
    for (const [key, entry] of this.sinks) {
      if (entry.sink !== sink) continue;
      if (--entry.users > 0) return;
      sink.close();
      this.sinks.delete(key);
      return;
    }
  }

  closeAll(): void {
    for (const { sink } of this.sinks.values()) sink.close();
    this.sinks.clear();
  }
}
