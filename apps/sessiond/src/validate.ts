import { StatusCode, StatusError } from '@tstrace/comm';
import { BufferScheme, ChannelAttrs, Domain } from './model';

export const MAX_NAME_BYTES = 255;
// Control characters (C0, DEL, C1) are refused in every name.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** A session name becomes a directory name: no '/', no '..' segment, no control characters. */
export function checkSessionName(name: string): void {
  const fail = (why: string) => {
    throw new StatusError(StatusCode.INVALID_SESSION_NAME, `invalid session name ${JSON.stringify(name)}: ${why}`);
  };
  if (name.length === 0) fail('it is empty');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES)
    fail(`it is ${Buffer.byteLength(name)} bytes long, the maximum is ${MAX_NAME_BYTES}`);
  if (name.includes('/')) fail("it contains '/'");
  if (name === '.' || name === '..') fail(`'${name}' is not a valid directory name`);
  if (CONTROL_CHARS.test(name)) fail('it contains a control character');
}

export function checkChannelName(name: string): void {
  const fail = (why: string) => {
    throw new StatusError(StatusCode.INVALID_CHANNEL_ATTR, `invalid channel name ${JSON.stringify(name)}: ${why}`);
  };
  if (name.length === 0) fail('it is empty');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) fail(`it is longer than ${MAX_NAME_BYTES} bytes`);
  if (name.includes('/')) fail("it contains '/'");
  if (name.startsWith('.')) fail("it starts with '.'");
  if (name === 'metadata') fail("'metadata' is reserved");
  if (CONTROL_CHARS.test(name) || /\s/.test(name)) fail('it contains whitespace or a control character');
}

export function checkEventName(name: string): void {
  const fail = (why: string) => {
    throw new StatusError(StatusCode.INVALID_EVENT, `invalid event name ${JSON.stringify(name)}: ${why}`);
  };
  if (name.length === 0) fail('it is empty');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) fail(`it is longer than ${MAX_NAME_BYTES} bytes`);
  if (CONTROL_CHARS.test(name) || /\s/.test(name)) fail('it contains whitespace or a control character');
}

export function checkDomain(domain: number): Domain {
  if (domain !== Domain.USERSPACE && domain !== Domain.KERNEL) {
    throw new StatusError(StatusCode.INVALID_DOMAIN, 'a domain is required: -u (userspace) or -k (kernel)');
  }
  return domain;
}

const isPowerOfTwo = (n: number) => Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0 && n <= 2 ** 30;
const MAX_TIMER_US = 0xffffffff;
const MAX_BUFFER_BYTES = 2 ** 33;
/** A userspace ring's positions are u32 (libs/ringbuffer): at most 1 GiB per stream. */
const MAX_UST_RING_BYTES = 2 ** 30;

/** LTTng's rules for channel attributes, with the option names the user typed in each message. */
export function checkChannelAttrs(domain: Domain, a: ChannelAttrs): void {
  const fail = (why: string) => {
    throw new StatusError(StatusCode.INVALID_CHANNEL_ATTR, why);
  };
  if (!isPowerOfTwo(a.subbufSize) || a.subbufSize < 4096)
    fail(`--subbuf-size ${a.subbufSize}: must be a power of two of at least 4096 bytes (4k)`);
  if (!isPowerOfTwo(a.numSubbuf) || a.numSubbuf < 2)
    fail(`--num-subbuf ${a.numSubbuf}: must be a power of two of at least 2`);
  const max = domain === Domain.USERSPACE ? MAX_UST_RING_BYTES : MAX_BUFFER_BYTES;
  if (a.subbufSize * a.numSubbuf > max)
    fail(
      `--subbuf-size × --num-subbuf is ${a.subbufSize * a.numSubbuf} bytes, more than the maximum of ${max}${domain === Domain.USERSPACE ? ' for a userspace ring buffer' : ''}`,
    );
  for (const [option, value] of [
    ['--switch-timer', a.switchTimerUs],
    ['--read-timer', a.readTimerUs],
    ['--monitor-timer', a.monitorTimerUs],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_TIMER_US)
      fail(`${option} ${value}: must be a number of microseconds from 0 to ${MAX_TIMER_US}`);
  }
  if (!Number.isSafeInteger(a.tracefileSize) || a.tracefileSize < 0)
    fail(`--tracefile-size ${a.tracefileSize}: must be a positive number of bytes`);
  if (a.tracefileSize > 0 && a.tracefileSize < a.subbufSize)
    fail(`--tracefile-size ${a.tracefileSize}: must be at least the sub-buffer size (${a.subbufSize})`);
  if (!Number.isSafeInteger(a.tracefileCount) || a.tracefileCount < 0 || a.tracefileCount > 0xffffffff)
    fail(`--tracefile-count ${a.tracefileCount}: must be a positive number`);
  if (a.tracefileCount > 0 && a.tracefileSize === 0) fail('--tracefile-count needs --tracefile-size');
  if (domain === Domain.USERSPACE && a.buffers !== BufferScheme.PER_UID && a.buffers !== BufferScheme.PER_PID) {
    fail('userspace channels take --buffers-uid or --buffers-pid');
  }
  if (domain === Domain.KERNEL && a.buffers !== BufferScheme.GLOBAL)
    fail('kernel channels have global buffers: --buffers-uid and --buffers-pid are for userspace (-u)');
}

/** A PID as the kernel allows it (1 .. 2^22). */
export function checkPid(pid: number): void {
  if (!Number.isSafeInteger(pid) || pid < 1 || pid > 4194304) {
    throw new StatusError(StatusCode.INVALID_ARGUMENT, `invalid PID ${pid}: must be from 1 to 4194304`);
  }
}
