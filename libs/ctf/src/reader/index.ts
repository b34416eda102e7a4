export { CtfError, TruncatedPacketError } from './errors';
export { parseMetadata } from './parser';
export { metadataTextOf, METADATA_MAGIC } from './metadata-file';
export { clockOffsetNs, nsOf } from './stream';
export type { EventMeta, TraceEvent, TraceInfo } from './stream';
export { CtfTrace, findTraces, readEvents } from './trace';
export { TraceFollower } from './follow';
export type { DiscardNotice, FollowOptions } from './follow';
export type { Discarded } from './trace';
export { EnumValue, VariantValue } from './values';
export { alignOf, fieldKey, isText } from './types';
export type {
  ArrayType,
  ByteOrder,
  ClockClass,
  CtfType,
  EnumMapping,
  EnumType,
  EventClass,
  FloatType,
  IntegerType,
  NamedType,
  SequenceType,
  StreamClass,
  StringType,
  StructType,
  TraceClass,
  VariantType,
} from './types';
