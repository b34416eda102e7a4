/** LTTng's 15 log levels (TRACE_EMERG 0 .. TRACE_DEBUG 14), by their short names. */
export const LogLevel = {
  EMERG: 0,
  ALERT: 1,
  CRIT: 2,
  ERR: 3,
  WARNING: 4,
  NOTICE: 5,
  INFO: 6,
  DEBUG_SYSTEM: 7,
  DEBUG_PROGRAM: 8,
  DEBUG_PROCESS: 9,
  DEBUG_MODULE: 10,
  DEBUG_UNIT: 11,
  DEBUG_FUNCTION: 12,
  DEBUG_LINE: 13,
  DEBUG: 14,
} as const;

export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** The level of a tracepoint defined without one: TRACE_DEBUG_LINE, as in LTTng. */
export const DEFAULT_LOGLEVEL: LogLevel = LogLevel.DEBUG_LINE;
