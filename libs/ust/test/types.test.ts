// Type-level tests: this file must compile (tsc runs it at build time); each @ts-expect-error
// line must be an error, or tsc fails with "Unused '@ts-expect-error' directive".
import { expect } from 'chai';
import {
  array,
  bytes,
  chars,
  double,
  enumeration,
  float,
  LogLevel,
  provider,
  s8,
  sequence,
  string,
  Tracepoint,
  u16,
  u64,
} from '../src/index';

describe('emit argument types (checked by tsc)', () => {
  it('infers the argument tuple from the field list', () => {
    // Never called: tsc checks the types; nothing is defined at run time.
    const check = (): void => {
      const app = provider('types_test');
      const req = app.event('request', [u64('id'), double('latency'), string('path')], LogLevel.INFO);
      req.emit(1n, 2.5, '/x');
      req.emit(1, 2.5, '/x');
      // @ts-expect-error a string where a u64 goes
      req.emit('a', 2.5, '/x');
      // @ts-expect-error a missing argument
      req.emit(1n, 2.5);
      // @ts-expect-error one argument too many
      req.emit(1n, 2.5, '/x', 4);
      // @ts-expect-error a bigint where a double goes
      req.emit(1n, 2n, '/x');

      const small = app.event('small', [u16('a'), s8('b'), float('c')]);
      small.emit(1, -1, 0.5);
      // @ts-expect-error bigints fit only 64-bit integers
      small.emit(1n, -1, 0.5);

      const color = app.event('color', [enumeration('c', 'u8', { RED: 0, GREEN: 1 })]);
      color.emit('RED');
      color.emit(1);
      // @ts-expect-error not a label of the enumeration
      color.emit('BLUE');

      const seqs = app.event('seqs', [
        bytes('b'),
        sequence('q', 'u32'),
        sequence('w', 's64'),
        array('a', 'u8', 4),
        chars('t', 8),
      ]);
      seqs.emit(Uint8Array.of(1), [1, 2], [1n, 2], Uint8Array.of(1, 2, 3, 4), 'text');
      seqs.emit(new Uint8Array(0), Uint32Array.of(1), BigInt64Array.of(1n), [1, 2, 3, 4], '');
      // @ts-expect-error bytes take a Uint8Array
      seqs.emit('bytes', [1], [1], [1], 't');
      // @ts-expect-error a u32 sequence takes numbers
      seqs.emit(Uint8Array.of(1), [1n], [1], [1], 't');

      const none = app.event('none', []);
      none.emit();
      // @ts-expect-error no fields, no arguments
      none.emit(1);

      // A tracepoint of any field list fits the general type (e.g. a helper taking any event).
      const any: Tracepoint = req;
      any.emit(1, 2, 3);
      const enabled: boolean = req.enabled;
      void enabled;
    };
    expect(check).to.be.a('function');
    // @ts-expect-error an unknown element type
    expect(() => sequence('q', 'u128')).to.throw(TypeError);
  });
});
