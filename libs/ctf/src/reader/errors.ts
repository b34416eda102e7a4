/** Anything wrong with a trace: the message names the file and, where it applies, the offset. */
export class CtfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CtfError';
  }
}
