/** Anything wrong with a trace: the message names the file and, where it applies, the offset. */
export class CtfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CtfError';
  }
}

/** A packet that the file cuts short: an error in a finished trace, more data to come in one being written. */
export class TruncatedPacketError extends CtfError {
  constructor(message: string) {
    super(message);
    this.name = 'TruncatedPacketError';
  }
}
