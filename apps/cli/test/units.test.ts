import { ArgsError } from '@tstrace/args';
import { expect } from 'chai';
import { parseCount, parseList, parseMicros, parseSize } from '../src/units';

describe('CLI units', () => {
  it('parses sizes with k/M/G', () => {
    expect([parseSize('s', '4096'), parseSize('s', '4k'), parseSize('s', '2M'), parseSize('s', '1G')]).to.deep.equal([
      4096, 4096, 2097152, 1073741824,
    ]);
    expect(() => parseSize('--subbuf-size', '4kb')).to.throw(ArgsError, 'invalid size for --subbuf-size: "4kb"');
    expect(() => parseSize('--subbuf-size', '-4')).to.throw(ArgsError);
  });
  it('parses times in µs with us/ms/s', () => {
    expect([
      parseMicros('t', '250'),
      parseMicros('t', '250us'),
      parseMicros('t', '5ms'),
      parseMicros('t', '2s'),
    ]).to.deep.equal([250, 250, 5000, 2000000]);
    expect(() => parseMicros('--switch-timer', '1h')).to.throw(ArgsError, 'invalid time for --switch-timer: "1h"');
  });
  it('parses counts and lists', () => {
    expect(parseCount('n', '8')).to.equal(8);
    expect(() => parseCount('--pid', '1.5')).to.throw(ArgsError, 'invalid number for --pid: "1.5"');
    expect(parseList('x', 'a, b,c')).to.deep.equal(['a', 'b', 'c']);
    expect(() => parseList('--exclude', 'a,,b')).to.throw(
      ArgsError,
      'invalid list for --exclude: "a,,b" has an empty item',
    );
  });
});
