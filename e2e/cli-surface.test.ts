import { expect } from 'chai';
import * as path from 'node:path';
import { TestEnv } from './harness';

const COMMANDS = [
  'create',
  'destroy',
  'list',
  'status',
  'enable-channel',
  'disable-channel',
  'enable-event',
  'disable-event',
  'add-context',
  'start',
  'stop',
  'track',
  'untrack',
  'save',
  'load',
  'set-session',
  'version',
  'view',
];
// view --json prints one JSON object per event, a line each (e2e/view.test.ts), not one document.
const ONE_DOCUMENT = COMMANDS.filter((c) => c !== 'view');

describe('e2e: every command takes --help and --json', function () {
  this.timeout(60000);
  let t: TestEnv;
  before(() => {
    t = new TestEnv('surface');
  });
  after(async () => {
    await t.cleanup();
  });

  it('prints each command’s usage with --help, and the command list with help', () => {
    for (const c of COMMANDS) {
      const r = t.cli([c, '--help']);
      expect(r.code, c).to.equal(0);
      expect(r.stdout, c).to.match(new RegExp(`^Usage: tstrace ${c}`));
      expect(t.cli(['help', c]).stdout).to.equal(r.stdout);
    }
    const help = t.ok(['help']);
    for (const c of COMMANDS) expect(help).to.include(`  ${c} `);
    expect(t.daemonPid(), '--help starts no daemon').to.equal(undefined);
  });

  it('gives one JSON document for every command', () => {
    const steps: string[][] = [
      ['create', 's', '-o', path.join(t.root, 's')],
      ['enable-channel', '-u', 'c'],
      ['enable-event', '-u', 'a:*', '-c', 'c'],
      ['disable-event', '-u', 'a:*', '-c', 'c'],
      ['add-context', '-u', '-t', 'vtid'],
      ['track', '-u', '--pid', '10'],
      ['untrack', '-u', '--pid', '10'],
      ['start'],
      ['status'],
      ['list'],
      ['list', 's'],
      ['list', '-u'],
      ['stop'],
      ['disable-channel', '-u', 'c'],
      ['save', 's'],
      ['set-session', 's'],
      ['destroy', 's'],
      ['load', 's'],
      ['version'],
      ['destroy', '--all'],
    ];
    expect(new Set(steps.map((s) => s[0]))).to.deep.equal(new Set(ONE_DOCUMENT));
    for (const args of steps) {
      const r = t.cli([...args, '--json']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
      expect(() => JSON.parse(r.stdout), args.join(' ')).to.not.throw();
      expect(JSON.parse(r.stdout), args.join(' ')).to.be.an('object');
    }
  });
});
