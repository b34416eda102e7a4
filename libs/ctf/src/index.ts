export {
  EVENTS_OFFSET,
  PACKET_FIELD,
  PACKET_MAGIC,
  PACKET_PREAMBLE_SIZE,
  PacketError,
  readPacketPreamble,
  writePacketPreamble,
} from './packet';
export type { PacketPreamble } from './packet';
export {
  decodeIndex,
  encodeIndexEntry,
  encodeIndexHeader,
  INDEX_ENTRY_SIZE,
  INDEX_HEADER_SIZE,
  INDEX_MAGIC,
  IndexError,
} from './index-file';
export type { IndexEntry } from './index-file';
export { fieldDeclarations, metadataEventsText, metadataText, tsdlIdentifier, tsdlString } from './metadata';
export type { MetadataEvent, MetadataStream, TraceDescription } from './metadata';
export * from './reader';
export { escapeString, eventToJson, formatEvent, formatG, formatTime, newTextState } from './text';
export type { TextOptions, TextState } from './text';
