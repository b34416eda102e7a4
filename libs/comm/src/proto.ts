// The generated protobuf messages of every link (see ../proto/*.proto, the single source).
export { tstrace } from './gen/proto';
