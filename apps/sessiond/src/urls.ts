import { StatusCode, StatusError } from '@tstrace/comm';
import * as path from 'node:path';

export const DEFAULT_CTRL_PORT = 5342;
export const DEFAULT_DATA_PORT = 5343;

const fail = (url: string, why: string): never => {
  throw new StatusError(StatusCode.INVALID_OUTPUT, `invalid URL ${JSON.stringify(url)}: ${why}`);
};

function parsePort(url: string, text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535)
    fail(url, `port ${JSON.stringify(text)} must be from 1 to 65535`);
  return Number(text);
}

/** Splits "HOST[:rest]" where HOST may be a bracketed IPv6 address. */
function splitHost(url: string, rest: string): { host: string; ports: string[] } {
  let host: string;
  let tail: string;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) fail(url, "missing ']' after the IPv6 address");
    host = rest.slice(1, end);
    tail = rest.slice(end + 1);
    if (tail && !tail.startsWith(':')) fail(url, "expected ':' after the IPv6 address");
    tail = tail.slice(1);
  } else {
    const [h, ...ports] = rest.split(':');
    host = h;
    tail = ports.join(':');
  }
  if (!/^[A-Za-z0-9.\-:]+$/.test(host)) fail(url, `invalid host ${JSON.stringify(host)}`);
  return { host, ports: tail ? tail.split(':') : [] };
}

/**
 * `--set-url`: file://PATH, or net[6]://HOST[:CTRL_PORT[:DATA_PORT]] as LTTng accepts it.
 * Returns a local path, or the tcp:// control and data URLs of a relay daemon.
 */
export function parseSetUrl(url: string): { path: string } | { ctrlUrl: string; dataUrl: string } {
  const m = /^([a-z0-9]+):\/\/(.*)$/.exec(url);
  if (!m) fail(url, 'expected file://PATH or net://HOST[:CTRL_PORT[:DATA_PORT]]');
  const [, scheme, rest] = m as RegExpExecArray;
  if (scheme === 'file') {
    if (!rest.startsWith('/')) fail(url, 'a file:// URL needs an absolute path');
    return { path: path.normalize(rest) };
  }
  if (scheme !== 'net' && scheme !== 'net6') fail(url, `unknown scheme "${scheme}": use file:// or net://`);
  const { host, ports } = splitHost(url, rest);
  if (ports.length > 2) fail(url, 'at most two ports: CTRL_PORT:DATA_PORT');
  const ctrl = ports[0] ? parsePort(url, ports[0]) : DEFAULT_CTRL_PORT;
  const data = ports[1] ? parsePort(url, ports[1]) : DEFAULT_DATA_PORT;
  const h = host.includes(':') ? `[${host}]` : host;
  return { ctrlUrl: `tcp://${h}:${ctrl}`, dataUrl: `tcp://${h}:${data}` };
}

/** `--ctrl-url` / `--data-url`: tcp://HOST:PORT, or net://HOST[:PORT] with the given default port. */
export function parseStreamUrl(url: string, defaultPort: number): string {
  const m = /^(tcp|tcp6|net|net6):\/\/(.*)$/.exec(url);
  if (!m) fail(url, 'expected tcp://HOST:PORT or net://HOST[:PORT]');
  const { host, ports } = splitHost(url, (m as RegExpExecArray)[2]);
  if (ports.length > 1) fail(url, 'only one port is allowed here');
  const port = ports[0] ? parsePort(url, ports[0]) : defaultPort;
  return `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
