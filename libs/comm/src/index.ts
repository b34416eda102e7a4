export { tstrace } from './proto';
export { StatusCode, StatusError, statusMessage, statusName } from './status';
export { DEFAULT_MAX_FRAME_SIZE, encodeFrame, FrameDecoder } from './frame';
export { appLink, clientLink, consumerLink, relayControlLink, PROTOCOL_MAJOR, PROTOCOL_MINOR } from './link';
export type { Link, MessageType, ReplyBase, RequestBase } from './link';
export { RpcServer } from './server';
export type { Connection, Handler, PushConnection, RpcServerOptions, ServerLog } from './server';
export { ConnectError, RpcClient } from './client';
export type { Endpoint, RpcClientOptions } from './client';
