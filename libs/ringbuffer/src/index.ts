export {
  checkGeometry,
  controlAreaSize,
  streamFileSize,
  Geometry,
  COMPACT_HEADER,
  EXTENDED_HEADER,
  W as CONTROL_WORDS,
} from './layout';
export type { LossMode } from './layout';
export { createStreamFile, mapStreamFile } from './create';
export type { FileOwner, StreamOptions } from './create';
export { StreamWriter } from './writer';
export { StreamReader } from './reader';
export type { Packet, ReaderOptions, StreamCounters } from './reader';
export { readEvents } from './events';
export type { PayloadVisitor } from './events';
