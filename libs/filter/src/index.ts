export { FilterError } from './ast';
export type { BinaryOp, FilterNode, UnaryOp } from './ast';
export { MAX_DEPTH, MAX_FILTER_BYTES, parseFilter } from './parser';
export { formatFilter } from './format';
export { filterFromJson, filterToJson } from './json';
