import { expect } from 'chai';
import * as path from 'node:path';
import { COMMANDS as CLI_COMMANDS } from '@tstrace/cli/dist/src/commands';
import { TestEnv } from './harness';

// Every command the CLI has, from its own table, so that a new command is checked without editing this list.
const COMMANDS = CLI_COMMANDS.map((c) => c.name);
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
      ['create', 'snap', '--snapshot', '-o', path.join(t.root, 'snap')],
      ['snapshot', 'list-output'],
      ['destroy', 'snap'],
      ['record', '-u', 'a:*', '-o', path.join(t.root, 'rec'), '--', process.execPath, '-e', '0'],
      ['load', 's'],
      ['version'],
      ['destroy', '--all'],
    ];
    expect(new Set(steps.map((s) => s[0]))).to.deep.equal(new Set(ONE_DOCUMENT));
    for (const args of steps) {
      // Before record's `--`, after which everything is the traced command's.
      const end = args.includes('--') ? args.indexOf('--') : args.length;
      const r = t.cli([...args.slice(0, end), '--json', ...args.slice(end)]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
      expect(() => JSON.parse(r.stdout), args.join(' ')).to.not.throw();
      expect(JSON.parse(r.stdout), args.join(' ')).to.be.an('object');
    }
  });
});
