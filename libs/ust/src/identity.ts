// Who this thread is, for the registration and for the event contexts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import { codecFor } from './codec';
import type { FilterContext } from './filter';

/** LTTng's procname: at most 16 bytes (the context field is char[17], NUL-padded). */
export const PROCNAME_BYTES = 16;

export interface Identity extends FilterContext {
  readonly ppid: number;
  /** worker_threads' threadId: 0 on the main thread. */
  readonly threadId: number;
}

/** The kernel's id of this thread (vtid): /proc/thread-self links to "PID/task/TID". */
function kernelTid(): number {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/')[2]);
    return Number.isInteger(tid) && tid > 0 ? tid : process.pid;
  } catch {
    return process.pid;
  }
}

/** Cuts to at most `max` bytes of UTF-8 without splitting a character. */
export function cutUtf8(text: string, max: number): string {
  let out = '';
  let size = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (size + n > max) break;
    out += ch;
    size += n;
  }
  return out;
}

/**
 * The process name as LTTng records it: the kernel's comm (/proc/self/comm, which Node also
 * sets when the app assigns process.title), else the base name of process.title or of the script.
 */
function procname(): string {
  let name = '';
  try {
    name = fs.readFileSync('/proc/self/comm', 'utf8').replace(/\n$/, '');
  } catch {
    // not Linux, or no /proc
  }
  name ||= path.basename(process.title || '') || path.basename(process.argv[1] ?? '') || 'node';
  return cutUtf8(name.replace(/\0.*$/s, ''), PROCNAME_BYTES);
}

let cached: Identity | undefined;

/** This thread's identity, read once. */
export function identity(): Identity {
  cached ??= {
    vpid: process.pid,
    ppid: process.ppid,
    vtid: kernelTid(),
    vuid: process.getuid?.() ?? 0,
    vgid: process.getgid?.() ?? 0,
    procname: procname(),
    threadId,
  };
  return cached;
}

const CONTEXT_TYPES: Record<string, string> = {
  vpid: 's32',
  vtid: 's32',
  vuid: 'u32',
  vgid: 'u32',
  procname: `char[${PROCNAME_BYTES + 1}]`,
};

/**
 * The bytes of a channel's event context for this thread, in the order given (docs/USERSPACE.md):
 * constant for a thread, so they are built once and copied into each event. Throws on a context
 * this tracer does not know.
 */
export function contextBytes(names: readonly string[]): Uint8Array {
  const id = identity();
  const codecs = names.map((n) => {
    if (!Object.prototype.hasOwnProperty.call(CONTEXT_TYPES, n))
      throw new Error(`unknown context "${n}" (this tracer writes ${Object.keys(CONTEXT_TYPES).join(', ')})`);
    return codecFor(CONTEXT_TYPES[n]);
  });
  const size = codecs.reduce((s, c) => s + c.fixed, 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  let o = 0;
  names.forEach((n, i) => (o = codecs[i].write(view, bytes, o, id[n as keyof FilterContext])));
  return bytes;
}

/** The context types, for readers: name → field type. */
export const CONTEXT_FIELD_TYPES: Readonly<Record<string, string>> = CONTEXT_TYPES;
