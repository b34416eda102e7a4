import { tstrace } from './proto';

export const StatusCode = tstrace.common.StatusCode;
export type StatusCode = tstrace.common.StatusCode;

// Default readable text of each code, like LTTng's error table. A reply's message may be more specific.
const defaultMessages: Record<number, string> = {
  [StatusCode.OK]: 'success',
  [StatusCode.INTERNAL_ERROR]: 'internal error',
  [StatusCode.PROTOCOL_VERSION_MISMATCH]: 'protocol version mismatch',
  [StatusCode.FRAME_TOO_LARGE]: 'frame larger than the maximum frame size',
  [StatusCode.MALFORMED_MESSAGE]: 'malformed message',
  [StatusCode.UNKNOWN_COMMAND]: 'unknown command',
  [StatusCode.HANDSHAKE_REQUIRED]: 'handshake required before any command',
  [StatusCode.WRONG_LINK]: 'connected to the wrong socket for this kind of peer',
  [StatusCode.TIMEOUT]: 'timed out',
  [StatusCode.CONNECTION_CLOSED]: 'connection closed',
  [StatusCode.PERMISSION_DENIED]: 'permission denied',
  [StatusCode.INVALID_ARGUMENT]: 'invalid argument',
  [StatusCode.NO_SESSIOND]: 'no session daemon is running',
  [StatusCode.SESSIOND_ALREADY_RUNNING]: 'a session daemon is already running',
  [StatusCode.SESSION_NOT_FOUND]: 'session not found',
  [StatusCode.SESSION_EXISTS]: 'a session with this name already exists',
  [StatusCode.INVALID_SESSION_NAME]: 'invalid session name',
  [StatusCode.NO_CURRENT_SESSION]: 'no current session: create one or use set-session',
  [StatusCode.SESSION_STARTED]: 'not allowed once the session has been started',
  [StatusCode.ALREADY_STARTED]: 'tracing already started',
  [StatusCode.ALREADY_STOPPED]: 'tracing already stopped',
  [StatusCode.NO_CHANNEL]: 'the session has no channel',
  [StatusCode.INVALID_OUTPUT]: 'invalid output URL or path',
  [StatusCode.CHANNEL_NOT_FOUND]: 'channel not found',
  [StatusCode.CHANNEL_EXISTS]: 'channel already exists',
  [StatusCode.INVALID_CHANNEL_ATTR]: 'invalid channel attribute',
  [StatusCode.BUFFER_TYPE_MISMATCH]: 'buffer type differs from the other channels of the session',
  [StatusCode.CHANNEL_ALREADY_ENABLED]: 'channel already enabled',
  [StatusCode.CHANNEL_ALREADY_DISABLED]: 'channel already disabled',
  [StatusCode.EVENT_NOT_FOUND]: 'event not found',
  [StatusCode.EVENT_ALREADY_ENABLED]: 'event already enabled',
  [StatusCode.INVALID_EVENT]: 'invalid event',
  [StatusCode.INVALID_FILTER]: 'invalid filter expression',
  [StatusCode.INVALID_LOGLEVEL]: 'invalid log level',
  [StatusCode.INVALID_EXCLUSION]: 'invalid exclusion',
  [StatusCode.UNKNOWN_CONTEXT]: 'unknown context type',
  [StatusCode.CONTEXT_EXISTS]: 'context already added',
  [StatusCode.PID_ALREADY_TRACKED]: 'process already tracked',
  [StatusCode.PID_NOT_TRACKED]: 'process not tracked',
  [StatusCode.INVALID_TRACKER_POLICY]: 'invalid tracker operation for the current policy',
  [StatusCode.SAVE_FILE_EXISTS]: 'session file already exists (use --force)',
  [StatusCode.SAVE_IO_ERROR]: 'could not write the session file',
  [StatusCode.LOAD_FILE_NOT_FOUND]: 'session file not found',
  [StatusCode.LOAD_INVALID_FILE]: 'invalid session file',
  [StatusCode.INVALID_DOMAIN]: 'invalid domain',
  [StatusCode.KERNEL_UNAVAILABLE]: 'kernel tracing is not available',
  [StatusCode.CONSUMER_UNAVAILABLE]: 'the consumer daemon is not available',
  [StatusCode.UNKNOWN_CHANNEL_KEY]: 'no such channel in the consumer daemon',
  [StatusCode.OUTPUT_ERROR]: 'cannot write the trace',
  [StatusCode.NOT_SNAPSHOT_SESSION]: 'the session is not in snapshot mode',
  [StatusCode.SNAPSHOT_OUTPUT_EXISTS]: 'the session already has a snapshot output',
  [StatusCode.SNAPSHOT_OUTPUT_NOT_FOUND]: 'no such snapshot output',
  [StatusCode.NO_SNAPSHOT_OUTPUT]: 'the session has no snapshot output',
  [StatusCode.SNAPSHOT_NOTHING]: 'nothing to snapshot',
};

/** Readable default text of a status code. */
export function statusMessage(code: number): string {
  return defaultMessages[code] ?? `unknown status ${code}`;
}

/** Symbolic name of a status code, e.g. "SESSION_NOT_FOUND". */
export function statusName(code: number): string {
  return (tstrace.common.StatusCode as unknown as Record<number, string>)[code] ?? `STATUS_${code}`;
}

/** An error that crosses a process boundary: a status code and a message for the user. */
export class StatusError extends Error {
  constructor(
    readonly code: StatusCode,
    message: string = statusMessage(code),
  ) {
    super(message);
    this.name = 'StatusError';
  }
}
