export { SinkError } from './sink';
export type { OutPacket, SinkLosses, StreamOptions, StreamSink, TraceSink } from './sink';
export { LocalTrace } from './local-trace';
export type { LocalTraceOptions } from './local-trace';
export { makeDirs, StreamFile } from './stream-file';
export type { FileOwner, StreamFileOptions } from './stream-file';
export { METADATA_FILE, writeMetadata } from './metadata-file';
