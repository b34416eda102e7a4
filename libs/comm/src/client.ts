import * as net from 'node:net';
import { DEFAULT_MAX_FRAME_SIZE, encodeFrame, FrameDecoder } from './frame';
import { Link, PROTOCOL_MAJOR, PROTOCOL_MINOR, ReplyBase, RequestBase } from './link';
import { tstrace } from './proto';
import { StatusCode, StatusError } from './status';

export type Endpoint = { path: string } | { host: string; port: number };

export interface RpcClientOptions {
  /** Free text sent at the handshake, for the server's logs. */
  peerName: string;
  /** How long to wait for the connection and the handshake reply. */
  connectTimeoutMs?: number;
  /** How long to wait for each reply. */
  callTimeoutMs?: number;
  maxFrameSize?: number;
  /** Receives the server's unsolicited replies (id 0, status OK); without it they close the link. */
  onPush?: (reply: unknown) => void;
  /**
   * Never keeps the process alive: the socket and every timer are unref'd from the start (a traced
   * app must exit when its own work ends, even while its daemon is slow to answer).
   */
  unref?: boolean;
}

/** A connection that could not be made at all (no socket, refused): errno code and endpoint. */
export class ConnectError extends Error {
  constructor(
    readonly errno: string,
    readonly endpoint: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}

type Pending<Rep> = { resolve: (reply: Rep) => void; reject: (err: Error) => void; timer: NodeJS.Timeout };

function describe(endpoint: Endpoint): string {
  return 'path' in endpoint ? endpoint.path : `${endpoint.host}:${endpoint.port}`;
}

/**
 * The calling side of a link: connects, performs the version handshake, then sends requests
 * and matches replies by id. A reply with an error status rejects with a StatusError.
 */
export class RpcClient<Req extends RequestBase, Rep extends ReplyBase> {
  private readonly pending = new Map<number, Pending<Rep>>();
  private nextId = 1;
  private closedError: Error | undefined;
  private readonly closeHandlers: ((err: Error) => void)[] = [];
  /** Set by unref(): reply timers do not keep the process alive either. */
  private unrefd = false;
  /** Version of the server, from its handshake reply. */
  server = '';

  private constructor(
    private readonly link: Link<Req, Rep>,
    private readonly socket: net.Socket,
    private readonly endpoint: string,
    private readonly callTimeoutMs: number,
    private readonly onPush?: (reply: Rep) => void,
  ) {}

  static connect<Req extends RequestBase, Rep extends ReplyBase>(
    link: Link<Req, Rep>,
    endpoint: Endpoint,
    options: RpcClientOptions,
  ): Promise<RpcClient<Req, Rep>> {
    const { connectTimeoutMs = 2000, callTimeoutMs = 30000, maxFrameSize = DEFAULT_MAX_FRAME_SIZE } = options;
    const where = describe(endpoint);
    return new Promise((resolve, reject) => {
      const socket = 'path' in endpoint ? net.connect(endpoint.path) : net.connect(endpoint.port, endpoint.host);
      const client = new RpcClient(
        link,
        socket,
        where,
        callTimeoutMs,
        options.onPush as ((reply: Rep) => void) | undefined,
      );
      if (options.unref) client.unref();
      const decoder = new FrameDecoder(maxFrameSize);
      let handshaken = false;
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new StatusError(StatusCode.TIMEOUT, `no answer from ${where} within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );
      if (options.unref) timer.unref();
      socket.once('connect', () => {
        socket.write(
          encodeFrame(
            tstrace.common.Hello.encode({
              protocolMajor: PROTOCOL_MAJOR,
              protocolMinor: PROTOCOL_MINOR,
              link: link.name,
              peer: options.peerName,
            }).finish(),
          ),
        );
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (!handshaken) fail(new ConnectError(err.code ?? 'EIO', where, `cannot connect to ${where}: ${err.message}`));
        else
          client.shutdown(
            new StatusError(StatusCode.CONNECTION_CLOSED, `connection to ${where} failed: ${err.message}`),
          );
      });
      socket.on('close', () => {
        if (!handshaken)
          fail(new StatusError(StatusCode.CONNECTION_CLOSED, `${where} closed the connection during the handshake`));
        else client.shutdown(new StatusError(StatusCode.CONNECTION_CLOSED, `${where} closed the connection`));
      });
      socket.on('data', (chunk: Buffer) => {
        for (const frame of decoder.push(chunk)) {
          if (handshaken) {
            client.onReply(frame);
            continue;
          }
          let hello: tstrace.common.HelloReply;
          try {
            hello = tstrace.common.HelloReply.decode(frame);
          } catch (err) {
            return fail(
              new StatusError(
                StatusCode.MALFORMED_MESSAGE,
                `malformed handshake reply from ${where}: ${(err as Error).message}`,
              ),
            );
          }
          const code = hello.status?.code ?? StatusCode.INTERNAL_ERROR;
          if (code !== StatusCode.OK)
            return fail(new StatusError(code, hello.status?.message || `handshake refused by ${where}`));
          handshaken = true;
          clearTimeout(timer);
          client.server = hello.server;
          resolve(client);
        }
        if (decoder.error) {
          if (!handshaken) fail(decoder.error);
          else client.shutdown(decoder.error);
        }
      });
    });
  }

  /** Sends a request and resolves with its reply; rejects with a StatusError for an error status. */
  call(request: Req, timeoutMs = this.callTimeoutMs): Promise<Rep> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    request.id = id;
    const frame = encodeFrame(this.link.Request.encode(request).finish());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new StatusError(StatusCode.TIMEOUT, `no reply from ${this.endpoint} within ${timeoutMs} ms`));
      }, timeoutMs);
      if (this.unrefd) timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(frame);
    });
  }

  close(): void {
    this.shutdown(new StatusError(StatusCode.CONNECTION_CLOSED, 'client closed'));
  }

  /** Calls `handler` when the connection closes after the handshake, with the reason. */
  onClose(handler: (err: Error) => void): void {
    if (this.closedError) handler(this.closedError);
    else this.closeHandlers.push(handler);
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Lets the process exit while this connection stays open or a call waits (e.g. a traced app). */
  unref(): void {
    this.unrefd = true;
    this.socket.unref();
  }

  private onReply(frame: Buffer): void {
    let reply: Rep;
    try {
      reply = this.link.Reply.decode(frame);
    } catch (err) {
      this.shutdown(
        new StatusError(
          StatusCode.MALFORMED_MESSAGE,
          `malformed reply from ${this.endpoint}: ${(err as Error).message}`,
        ),
      );
      return;
    }
    if (!reply.id && reply.status?.code === StatusCode.OK && this.onPush) {
      this.onPush(reply);
      return;
    }
    const pending = this.pending.get(reply.id ?? 0);
    if (!pending) {
      // A reply to no request of ours: the server could not read our request's id (e.g. a frame error).
      const code = reply.status?.code ?? StatusCode.INTERNAL_ERROR;
      this.shutdown(new StatusError(code, reply.status?.message || 'unexpected reply'));
      return;
    }
    this.pending.delete(reply.id ?? 0);
    clearTimeout(pending.timer);
    const code = reply.status?.code ?? StatusCode.INTERNAL_ERROR;
    if (code === StatusCode.OK) pending.resolve(reply);
    else pending.reject(new StatusError(code, reply.status?.message || undefined));
  }

  private shutdown(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(err);
    }
    this.pending.clear();
    this.socket.destroy();
    for (const handler of this.closeHandlers.splice(0)) handler(err);
  }
}
