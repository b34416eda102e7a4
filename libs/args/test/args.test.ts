import { expect } from 'chai';
import { ArgsError, OptionSpec, parseArgs } from '../src';

const specs: OptionSpec[] = [
  { name: 'output', short: 'o', kind: 'value', help: '' },
  { name: 'verbose', short: 'v', kind: 'count', help: '' },
  { name: 'json', kind: 'flag', help: '' },
  { name: 'live', kind: 'optional', help: '' },
  { name: 'type', short: 't', kind: 'list', help: '' },
];

describe('parseArgs', () => {
  it('reads every form of option', () => {
    const p = parseArgs(
      ['a', '-o', 'x', '--json', '-vv', '--live', '-tvpid', '--type=ip', 'b', '--', '--not', '-x'],
      specs,
    );
    expect(p).to.deep.equal({
      options: { output: 'x', json: true, verbose: 2, live: true, type: ['vpid', 'ip'] },
      positionals: ['a', 'b'],
      rest: ['--not', '-x'],
    });
    expect(parseArgs(['--output=a=b', '--live=500'], specs).options).to.deep.equal({ output: 'a=b', live: '500' });
    expect(parseArgs(['-vo', 'dir'], specs).options).to.deep.equal({ verbose: 1, output: 'dir' });
  });
  it('names what is wrong', () => {
    expect(() => parseArgs(['--nope'], specs)).to.throw(ArgsError, 'unknown option --nope');
    expect(() => parseArgs(['-z'], specs)).to.throw(ArgsError, 'unknown option -z');
    expect(() => parseArgs(['--output'], specs)).to.throw(ArgsError, 'option --output needs a value (VALUE)');
    expect(() => parseArgs(['--json=1'], specs)).to.throw(ArgsError, 'option --json takes no value');
  });
});
