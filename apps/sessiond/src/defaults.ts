import { BufferScheme, Domain } from './model';

/** Channel defaults, as LTTng 2.13 has them (defaults.h), by domain and buffering scheme. */
export function defaultChannelAttrs(domain: Domain, buffers: BufferScheme) {
  const page = 4096;
  if (domain === Domain.KERNEL) {
    return {
      subbufSize: 256 * page,
      numSubbuf: 4,
      switchTimerUs: 0,
      readTimerUs: 200000,
      monitorTimerUs: 1000000,
      tracefileSize: 0,
      tracefileCount: 0,
      buffers: BufferScheme.GLOBAL,
    };
  }
  const subbufSize = buffers === BufferScheme.PER_PID ? 4 * page : 128 * page;
  return {
    subbufSize,
    numSubbuf: 4,
    switchTimerUs: 0,
    readTimerUs: 0,
    monitorTimerUs: 1000000,
    tracefileSize: 0,
    tracefileCount: 0,
    buffers,
  };
}

export const DEFAULT_CHANNEL_NAME = 'channel0';
export const DEFAULT_LIVE_TIMER_US = 1000000;
export const DEFAULT_RELAY_HOST_URL = 'net://127.0.0.1';

/** Context types each domain accepts for `add-context -t`. */
export const CONTEXT_TYPES: Record<number, readonly string[]> = {
  [Domain.USERSPACE]: ['vpid', 'vtid', 'vuid', 'vgid', 'procname'],
  [Domain.KERNEL]: ['pid', 'tid', 'prio', 'cpu_id', 'procname'],
};
