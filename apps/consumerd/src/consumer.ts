/**
 * The consumer's state and commands: channels by key, metadata files by trace directory, and the
 * drain loop. The loop never spins: it runs again at once while packets keep coming, and when
 * there are none it sleeps until a wake-up pipe, the read timer, or its own idle poll.
 */
import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { Channel, ChannelLog, checkChannelName, U64, u64 } from './channel';
import { checkOutput, fileOwner, Outputs } from './outputs';
import { takeSnapshot } from './snapshot';

type Request = tstrace.consumer.Request.$Properties;
type Reply = tstrace.consumer.Reply.$Properties;

export interface ConsumerOptions {
  log: ChannelLog & { info(message: string): void };
  /** Longest sleep with no packet and no wake-up (ms). */
  idlePollMs?: number;
}

export const DEFAULT_IDLE_POLL_MS = 200;

export class Consumer {
  private readonly channels = new Map<number, Channel>();
  private readonly outputs = new Outputs();
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private idleMs = 1;
  private readonly idlePollMs: number;

  constructor(private readonly options: ConsumerOptions) {
    this.idlePollMs = options.idlePollMs ?? DEFAULT_IDLE_POLL_MS;
  }

  handle(req: Request): Reply {
    switch (req.command) {
      case 'addChannel': {
        const a = req.addChannel!;
        const key = u64(a.channelKey);
        if (this.channels.has(key))
          throw new StatusError(StatusCode.INVALID_ARGUMENT, `channel key ${key} is already attached`);
        checkOutput(a.output);
        checkChannelName(a.name);
        let channel: Channel;
        const sink = this.outputs.get(a.output!, fileOwner(a.ownerUid ?? 0, a.ownerGid ?? 0), true);
        try {
          channel = new Channel(a, sink, this.options.log, () => this.kick());
        } catch (err) {
          this.outputs.release(sink);
          throw new StatusError(StatusCode.INVALID_ARGUMENT, `channel "${a.name}": ${(err as Error).message}`);
        }
        this.channels.set(key, channel);
        this.options.log.info(
          `channel "${channel.name}" of session "${channel.session}" (key ${key}) into ${sink.description}`,
        );
        return {};
      }
      case 'addStream': {
        const s = req.addStream!;
        const channel = this.channel(s.channelKey);
        try {
          channel.addStream(s.shmPath ?? '', s.n ?? 0, s.wakePath ?? '');
        } catch (err) {
          throw new StatusError(
            StatusCode.OUTPUT_ERROR,
            `stream ${s.n ?? 0} of channel "${channel.name}": ${(err as Error).message}`,
          );
        }
        this.kick();
        return {};
      }
      case 'addEvents': {
        const channel = this.channel(req.addEvents!.channelKey);
        try {
          channel.events.addAll(req.addEvents!.events ?? []);
        } catch (err) {
          throw new StatusError(StatusCode.INVALID_ARGUMENT, `channel "${channel.name}": ${(err as Error).message}`);
        }
        return {};
      }
      case 'metadata': {
        const m = req.metadata!;
        checkOutput(m.output);
        const sink = this.outputs.get(m.output!, fileOwner(m.ownerUid ?? 0, m.ownerGid ?? 0));
        try {
          sink.metadata(m.text ?? '');
        } catch (err) {
          throw new StatusError(StatusCode.OUTPUT_ERROR, (err as Error).message);
        }
        return {};
      }
      case 'flush': {
        const channels = this.select(req.flush!.channelKeys);
        for (const c of channels) c.flush();
        for (const c of channels) c.drain(Infinity);
        return { stats: { channels: channels.map((c) => c.stats()) } };
      }
      case 'dataPending': {
        // A writer may have opened a packet after the last flush: close it too.
        const channels = this.select(req.dataPending!.channelKeys);
        for (const c of channels) c.flush();
        for (const c of channels) c.drain(Infinity);
        return { stats: { channels: channels.map((c) => c.stats()) } };
      }
      case 'destroyChannel': {
        const channel = this.channel(req.destroyChannel!.channelKey);
        channel.destroy();
        this.channels.delete(channel.key);
        this.outputs.release(channel.sink);
        this.options.log.info(
          `channel "${channel.name}" of session "${channel.session}" (key ${channel.key}) destroyed: ${channel.counts.packets} packets, ${channel.counts.recorded} events`,
        );
        return { stats: { channels: [channel.stats()] } };
      }
      case 'snapshot':
        return { stats: { channels: takeSnapshot(req.snapshot!, this.options.log) } };
      case 'getStats':
        return { stats: { channels: this.select(req.getStats!.channelKeys).map((c) => c.stats()) } };
      default:
        throw new StatusError(StatusCode.UNKNOWN_COMMAND, `unknown consumer command ${String(req.command)}`);
    }
  }

  /** Drain soon (a stream was added, a writer switched sub-buffers). */
  kick(): void {
    this.idleMs = 1;
    if (this.immediate) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.pass();
    });
  }

  /** Drains and closes everything (the session daemon went away). */
  shutdown(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = this.immediate = undefined;
    for (const c of this.channels.values()) c.destroy();
    this.channels.clear();
    this.outputs.closeAll();
  }

  private pass(): void {
    let read = 0;
    for (const c of this.channels.values()) {
      read += c.drain();
      c.closeIfOrphaned();
    }
    if (read > 0) {
      this.kick();
      return;
    }
    // Nothing came: sleep longer each time, up to the idle poll (or the shortest read timer).
    this.idleMs = Math.min(this.idleMs * 2, this.sleepLimit());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pass();
    }, this.idleMs);
    this.timer.unref();
  }

  private sleepLimit(): number {
    let limit = this.idlePollMs;
    for (const c of this.channels.values()) if (c.readTimerMs > 0) limit = Math.min(limit, c.readTimerMs);
    return limit;
  }

  private channel(key: U64): Channel {
    const channel = this.channels.get(u64(key));
    if (!channel)
      throw new StatusError(StatusCode.UNKNOWN_CHANNEL_KEY, `no channel with key ${u64(key)} in this consumer`);
    return channel;
  }

  private select(keys: U64[] | null | undefined): Channel[] {
    return (keys ?? []).map((k) => this.channel(k));
  }
}
