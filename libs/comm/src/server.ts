import * as fs from 'node:fs';
import * as net from 'node:net';
import { DEFAULT_MAX_FRAME_SIZE, encodeFrame, FrameDecoder } from './frame';
import { Link, PROTOCOL_MAJOR, PROTOCOL_MINOR, ReplyBase, RequestBase } from './link';
import { tstrace } from './proto';
import { StatusCode, StatusError, statusMessage } from './status';

/** What a handler knows about the connection a request came from. */
export interface Connection<Peer> {
  readonly id: number;
  readonly peer: Peer;
  readonly socket: net.Socket;
}

/** A connection that can also be sent unsolicited replies (id 0, status OK): server push. */
export interface PushConnection<Rep, Peer> extends Connection<Peer> {
  push(reply: Rep): void;
}

/** A handler returns the result fields of the reply; id and status are filled in by the server. */
export type Handler<Req, Rep, Peer> = (request: Req, connection: PushConnection<Rep, Peer>) => Rep | Promise<Rep>;

export interface ServerLog {
  debug(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface RpcServerOptions<Req extends RequestBase, Rep extends ReplyBase, Peer> {
  link: Link<Req, Rep>;
  handler: Handler<Req, Rep, Peer>;
  /** Who is on the other end (e.g. peer credentials); an exception closes the connection at once. */
  identify: (socket: net.Socket) => Peer;
  /** May this peer use the link? Throw a StatusError to refuse it at the handshake, with a reason. */
  authorize?: (peer: Peer) => void;
  /** Called when a connection closes, e.g. to forget a registered app. */
  onClose?: (connection: PushConnection<Rep, Peer>) => void;
  serverName: string;
  maxFrameSize?: number;
  handshakeTimeoutMs?: number;
  /** How long a frame may stay incomplete before the connection is closed (a truncated frame). */
  frameTimeoutMs?: number;
  log?: ServerLog;
}

const silentLog: ServerLog = { debug() {}, warn() {}, error() {} };
/** Requests queued on one connection before we stop reading from it (backpressure). */
const MAX_QUEUED_REQUESTS = 64;

/**
 * Serves one link on a listening socket: framing, version handshake, decoding, dispatch and
 * error replies. A bad peer gets an error reply or a closed connection; it never affects others.
 */
export class RpcServer<Req extends RequestBase, Rep extends ReplyBase, Peer> {
  private readonly server: net.Server;
  private readonly connections = new Set<net.Socket>();
  private readonly log: ServerLog;
  private nextConnectionId = 1;

  constructor(private readonly options: RpcServerOptions<Req, Rep, Peer>) {
    this.log = options.log ?? silentLog;
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', (err) => this.log.error(`${options.link.name} server: ${err.message}`));
  }

  /** Listens on a Unix socket path, with the given file mode (and group, when given). */
  listenUnix(path: string, mode: number, gid?: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(path, () => {
        this.server.off('error', onError);
        try {
          if (gid !== undefined) fs.chownSync(path, -1, gid);
          fs.chmodSync(path, mode);
          resolve();
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  /** Listens on a TCP port; resolves with the port bound (useful with port 0). */
  listenTcp(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const {
      link,
      maxFrameSize = DEFAULT_MAX_FRAME_SIZE,
      handshakeTimeoutMs = 5000,
      frameTimeoutMs = 10000,
    } = this.options;
    const id = this.nextConnectionId++;
    this.connections.add(socket);
    socket.on('error', (err) => this.log.debug(`${link.name} connection ${id}: ${err.message}`));

    let peer: Peer;
    try {
      peer = this.options.identify(socket);
    } catch (err) {
      this.log.warn(`${link.name} connection ${id} refused: ${(err as Error).message}`);
      this.connections.delete(socket);
      socket.destroy();
      return;
    }
    const decoder = new FrameDecoder(maxFrameSize);
    let handshaken = false;
    let queue = Promise.resolve();
    let queued = 0;

    const handshakeTimer = setTimeout(() => {
      this.log.debug(`${link.name} connection ${id}: no handshake within ${handshakeTimeoutMs} ms`);
      socket.destroy();
    }, handshakeTimeoutMs);
    handshakeTimer.unref();

    const send = (bytes: Uint8Array) => {
      if (!socket.destroyed) socket.write(encodeFrame(bytes));
    };
    const sendReply = (reply: Rep) => send(link.Reply.encode(reply).finish());
    const connection: PushConnection<Rep, Peer> = {
      id,
      peer,
      socket,
      push: (reply: Rep) => {
        reply.id = 0;
        reply.status = { code: StatusCode.OK, message: statusMessage(StatusCode.OK) };
        sendReply(reply);
      },
    };
    const errorReply = (requestId: number, code: StatusCode, message: string) =>
      ({ id: requestId, status: { code, message } }) as Rep;

    const onHandshake = (frame: Buffer) => {
      let hello: tstrace.common.Hello;
      const refuse = (code: StatusCode, message: string) => {
        send(
          tstrace.common.HelloReply.encode({
            status: { code, message },
            protocolMajor: PROTOCOL_MAJOR,
            protocolMinor: PROTOCOL_MINOR,
            server: this.options.serverName,
          }).finish(),
        );
        socket.end();
        socket.destroySoon();
      };
      try {
        hello = tstrace.common.Hello.decode(frame);
      } catch (err) {
        return refuse(StatusCode.MALFORMED_MESSAGE, `malformed handshake: ${(err as Error).message}`);
      }
      if (hello.link !== link.name) {
        return refuse(StatusCode.WRONG_LINK, `this socket serves the "${link.name}" link, not "${hello.link}"`);
      }
      if (hello.protocolMajor !== PROTOCOL_MAJOR) {
        return refuse(
          StatusCode.PROTOCOL_VERSION_MISMATCH,
          `protocol version ${hello.protocolMajor}.${hello.protocolMinor} is not supported: this server speaks ${PROTOCOL_MAJOR}.${PROTOCOL_MINOR}`,
        );
      }
      try {
        this.options.authorize?.(peer);
      } catch (err) {
        const e =
          err instanceof StatusError ? err : new StatusError(StatusCode.PERMISSION_DENIED, (err as Error).message);
        this.log.warn(`${link.name} connection ${id} refused: ${e.message}`);
        return refuse(e.code, e.message);
      }
      handshaken = true;
      clearTimeout(handshakeTimer);
      send(
        tstrace.common.HelloReply.encode({
          status: { code: StatusCode.OK, message: 'ok' },
          protocolMajor: PROTOCOL_MAJOR,
          protocolMinor: PROTOCOL_MINOR,
          server: this.options.serverName,
        }).finish(),
      );
    };

    const onRequest = async (frame: Buffer) => {
      let request: Req;
      try {
        request = link.Request.decode(frame);
      } catch (err) {
        return sendReply(errorReply(0, StatusCode.MALFORMED_MESSAGE, `malformed message: ${(err as Error).message}`));
      }
      const requestId = request.id ?? 0;
      if (!request.command) {
        return sendReply(
          errorReply(requestId, StatusCode.UNKNOWN_COMMAND, `unknown command on the "${link.name}" link`),
        );
      }
      try {
        const reply = await this.options.handler(request, connection);
        reply.id = requestId;
        reply.status = { code: StatusCode.OK, message: statusMessage(StatusCode.OK) };
        sendReply(reply);
      } catch (err) {
        if (err instanceof StatusError) {
          sendReply(errorReply(requestId, err.code, err.message));
        } else {
          this.log.error(`${link.name} command ${request.command} failed: ${(err as Error).stack ?? err}`);
          sendReply(errorReply(requestId, StatusCode.INTERNAL_ERROR, `internal error: ${(err as Error).message}`));
        }
      }
    };

    let frameTimer: NodeJS.Timeout | undefined;
    const onTruncated = () => {
      const message = `truncated frame: ${decoder.bufferedBytes} bytes received, then nothing for ${frameTimeoutMs} ms`;
      this.log.debug(`${link.name} connection ${id}: ${message}`);
      if (handshaken) sendReply(errorReply(0, StatusCode.MALFORMED_MESSAGE, message));
      socket.end();
      socket.destroySoon();
    };

    socket.on('data', (chunk: Buffer) => {
      clearTimeout(frameTimer);
      for (const frame of decoder.push(chunk)) {
        if (!handshaken) {
          onHandshake(frame);
          if (!handshaken) return;
          continue;
        }
        queued++;
        if (queued >= MAX_QUEUED_REQUESTS) socket.pause();
        queue = queue
          .then(() => onRequest(frame))
          .finally(() => {
            queued--;
            if (queued < MAX_QUEUED_REQUESTS && socket.isPaused()) socket.resume();
          });
      }
      if (decoder.error) {
        // The stream cannot be resynchronised after an oversized frame: answer what came before, say why, close.
        const e = decoder.error;
        socket.pause();
        void queue.then(() => {
          if (handshaken) sendReply(errorReply(0, e.code, e.message));
          socket.end();
          socket.destroySoon();
        });
      } else if (decoder.bufferedBytes > 0) {
        frameTimer = setTimeout(onTruncated, frameTimeoutMs);
        frameTimer.unref();
      }
    });
    socket.on('close', () => {
      clearTimeout(handshakeTimer);
      clearTimeout(frameTimer);
      this.connections.delete(socket);
      this.options.onClose?.(connection);
    });
  }
}
