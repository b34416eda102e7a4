import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestEnv } from './harness';

/** [arguments, exit code, the exact error line] — 2 for a bad command line, 1 for a refused command. */
type Case = [string[], number, string];

describe('e2e: invalid commands', function () {
  this.timeout(120000);
  let t: TestEnv;
  let sessionsDir: string;

  before(() => {
    t = new TestEnv('invalid');
    sessionsDir = path.join(t.home, '.tstrace/sessions');
    t.ok(['create', 'started', '-o', path.join(t.root, 'started')]);
    t.ok(['enable-channel', '-u', 'chan', '-s', 'started']);
    t.ok(['start', 'started']);
    t.ok(['create', 'base', '-o', path.join(t.root, 'base')]);
    t.ok(['enable-channel', '-u', 'chan', '--subbuf-size', '8k']);
    t.ok(['enable-event', '-u', 'app:*', '-c', 'chan']);
    t.ok(['add-context', '-u', '-t', 'vpid', '-c', 'chan']);
    t.ok(['track', '-u', '--pid', '77']);
    t.ok(['save', 'base']);
  });
  after(async () => {
    await t.cleanup();
  });

  const long = 'x'.repeat(256);
  const cases: Case[] = [
    [
      ['enable-channel', '-u', '--subbuf-size', '3000', 'c1'],
      1,
      '--subbuf-size 3000: must be a power of two of at least 4096 bytes (4k)',
    ],
    [
      ['enable-channel', '-u', '--subbuf-size', '2k', 'c1'],
      1,
      '--subbuf-size 2048: must be a power of two of at least 4096 bytes (4k)',
    ],
    [['enable-channel', '-u', '--num-subbuf', '3', 'c1'], 1, '--num-subbuf 3: must be a power of two of at least 2'],
    [
      ['enable-channel', '-u', '--subbuf-size', '4x', 'c1'],
      2,
      'invalid size for --subbuf-size: "4x" (a number, optionally followed by k, M or G)',
    ],
    [
      ['enable-channel', '-u', '--tracefile-size', '1k', 'c1'],
      1,
      '--tracefile-size 1024: must be at least the sub-buffer size (524288)',
    ],
    [
      ['enable-channel', '-u', '--buffers-pid', 'c2'],
      1,
      'session "base" uses per-UID buffers: all its userspace channels must use the same',
    ],
    [
      ['enable-channel', '-k', '--buffers-pid', 'k1'],
      1,
      'kernel channels have global buffers: --buffers-uid and --buffers-pid are for userspace (-u)',
    ],
    [
      ['enable-channel', '-u', '--discard', '--overwrite', 'c1'],
      2,
      '--discard and --overwrite cannot be used together',
    ],
    [['enable-channel', '-u', 'metadata'], 1, 'invalid channel name "metadata": \'metadata\' is reserved'],
    [['enable-channel', '-u', 'chan'], 1, 'channel "chan" is already enabled'],
    [
      ['enable-channel', '-u', '--num-subbuf', '8', 'chan'],
      1,
      'channel "chan" already exists in session "base": its settings cannot be changed',
    ],
    [
      ['enable-channel', '-u', '--num-subbuf', '8', 'chan', '-s', 'started'],
      1,
      'channel "chan": settings cannot change once session "started" has been started',
    ],
    [
      ['enable-channel', '-u', 'newchan', '-s', 'started'],
      1,
      'cannot add channel "newchan": session "started" has already been started',
    ],
    [['create', 'base'], 1, 'a session named "base" already exists'],
    [['create', 'a/b'], 1, 'invalid session name "a/b": it contains \'/\''],
    [['create', '..'], 1, 'invalid session name "..": \'..\' is not a valid directory name'],
    [['create', long], 1, `invalid session name "${long}": it is 256 bytes long, the maximum is 255`],
    [['create', 'tab\there'], 1, 'invalid session name "tab\\there": it contains a control character'],
    [['create', 'a', 'b'], 2, 'unexpected argument "b" for create (usage: tstrace create [NAME] [OPTIONS])'],
    [
      ['create', 'x1', '--live', '-o', '/tmp/x'],
      1,
      '--live streams to a relay daemon: give a net:// URL, not a local path',
    ],
    [
      ['create', 'x1', '--set-url', 'ftp://host'],
      1,
      'invalid URL "ftp://host": unknown scheme "ftp": use file:// or net://',
    ],
    [
      ['create', 'x1', '--set-url', 'net://host:99999'],
      1,
      'invalid URL "net://host:99999": port "99999" must be from 1 to 65535',
    ],
    [
      ['create', 'x1', '--no-output', '-o', '/tmp/x'],
      1,
      '--no-output and an output (--output, --set-url, --ctrl-url, --data-url) cannot be used together',
    ],
    [['create', 'x1', '--snapshot', '--live'], 1, '--snapshot and --live cannot be used together'],
    [
      ['enable-event', '-u', 'x', '--filter', 'x =='],
      1,
      'filter syntax error at column 5: unexpected end of filter: an operand is missing',
    ],
    [
      ['enable-event', '-u', 'x', '--filter', 'process.exit()'],
      1,
      'filter syntax error at column 13: unexpected \'(\' after field "process.exit"',
    ],
    [['enable-event', '-u', 'x', '--filter', '`id`'], 1, 'filter syntax error at column 1: unexpected character "`"'],
    [
      ['enable-event', '-u', 'x', '--filter', 'msg < "a"'],
      1,
      "filter error at column 5: operator '<' cannot compare a string: strings support only == and !=",
    ],
    [['enable-event', 'x'], 2, 'a domain is required: -u/--userspace or -k/--kernel'],
    [['enable-event', '-u', '-k', 'x'], 2, 'choose one domain: -u/--userspace or -k/--kernel, not both'],
    [['enable-event', '-u'], 2, 'give the event name(s), or -a/--all'],
    [
      ['enable-event', '-u', 'x', '--loglevel', 'TRACE_BOGUS'],
      2,
      'unknown log level "TRACE_BOGUS": use one of TRACE_EMERG, TRACE_ALERT, TRACE_CRIT, TRACE_ERR, TRACE_WARNING, TRACE_NOTICE, TRACE_INFO, TRACE_DEBUG_SYSTEM, TRACE_DEBUG_PROGRAM, TRACE_DEBUG_PROCESS, TRACE_DEBUG_MODULE, TRACE_DEBUG_UNIT, TRACE_DEBUG_FUNCTION, TRACE_DEBUG_LINE, TRACE_DEBUG',
    ],
    [
      ['enable-event', '-u', 'x', '--loglevel', 'INFO', '--loglevel-only', 'ERR'],
      2,
      '--loglevel and --loglevel-only cannot be used together',
    ],
    [
      ['enable-event', '-k', 'sched_switch', '--loglevel', 'INFO'],
      1,
      '--loglevel and --loglevel-only are for the userspace domain (-u) only',
    ],
    [['enable-event', '-u', 'x', '-x', 'y'], 1, '--exclude needs a wildcard event name: "x" has no \'*\''],
    [
      ['enable-event', '-u', 'app:*', '-x', 'other:z'],
      1,
      'exclusion "other:z" does not match the event pattern "app:*"',
    ],
    [['enable-event', '-u', 'x', '--syscall'], 1, '--syscall is for the kernel domain (-k) only'],
    [['enable-event', '-u', 'x', '-c', 'nochan'], 1, 'userspace channel "nochan" not found in session "base"'],
    [['enable-event', '-u', 'x', '-s', 'nosuch'], 1, 'session "nosuch" not found'],
    [
      ['enable-event', '-u', 'app:*', '-c', 'chan'],
      1,
      'event "app:*" is already enabled in channel "chan" with these conditions',
    ],
    [['disable-event', '-u', 'nosuchevent', '-c', 'chan'], 1, 'event "nosuchevent" not found in channel "chan"'],
    [['disable-channel', '-u', 'nochan'], 1, 'userspace channel "nochan" not found in session "base"'],
    [
      ['add-context', '-u', '-t', 'bogus'],
      1,
      'unknown userspace context type "bogus": valid types are vpid, vtid, vuid, vgid, procname',
    ],
    [
      ['add-context', '-k', '-t', 'vpid'],
      1,
      'unknown kernel context type "vpid": valid types are pid, tid, prio, cpu_id, procname',
    ],
    [['add-context', '-u', '-t', 'vpid', '-c', 'chan'], 1, 'context "vpid" is already added to channel "chan"'],
    [
      ['add-context', '-u', '-t', 'procname', '-s', 'started'],
      1,
      'cannot add contexts: session "started" has already been started',
    ],
    [['start', 'started'], 1, 'tracing is already started for session "started"'],
    [['stop', 'base'], 1, 'tracing is already stopped for session "base"'],
    [['track', '-u', '--pid', '0'], 1, 'invalid PID 0: must be from 1 to 4194304'],
    [['track', '-u', '--pid', 'abc'], 2, 'invalid number for --pid: "abc"'],
    [['track', '-u', '--pid', '77'], 1, 'PID 77 is already tracked'],
    [['track', '-u'], 2, 'give --pid PID[,PID...] or --all'],
    [['untrack', '-u', '--pid', '78'], 1, 'PID 78 is not tracked'],
    [
      ['untrack', '-u', '--pid', '5', '-s', 'started'],
      1,
      'every process is tracked: use untrack --all first, then track the PIDs to keep',
    ],
    [
      ['save', 'base'],
      1,
      `session file ${path.join('HOME', '.tstrace/sessions/base.json')} already exists (use --force to overwrite it)`,
    ],
    [['load', 'nosuch'], 1, `session file ${path.join('HOME', '.tstrace/sessions/nosuch.json')} not found`],
    [['set-session', 'nosuch'], 1, 'session "nosuch" not found'],
    [['destroy', 'nosuch'], 1, 'session "nosuch" not found'],
    [['list', 'nosuch'], 1, 'session "nosuch" not found'],
    [['list', '--bogus'], 2, 'unknown option --bogus'],
    [['frobnicate'], 2, 'unknown command "frobnicate" (see \'tstrace help\')'],
    [['enable-channel', '-u', '--subbuf-size'], 2, 'option --subbuf-size needs a value (SIZE)'],
  ];

  it(`refuses ${cases.length} invalid commands, each with its own error, and changes nothing`, () => {
    const before = t.ok(['list', '--json']);
    const details = ['base', 'started'].map((s) => t.ok(['list', s, '--json']));
    const files = fs.readdirSync(sessionsDir);
    const seen = new Set<string>();
    for (const [args, code, message] of cases) {
      const r = t.cli(args);
      const expected = `Error: ${message.replace('HOME', t.home)}\n`;
      expect(r.stderr, `tstrace ${args.join(' ')}`).to.equal(expected);
      expect(r.code, `exit code of tstrace ${args.join(' ')}`).to.equal(code);
      expect(r.stdout, `stdout of tstrace ${args.join(' ')}`).to.equal('');
      seen.add(expected);
    }
    expect(new Set(cases.map(([args]) => args.join(' '))).size, 'distinct commands').to.equal(cases.length);
    expect(seen.size, 'distinct error messages').to.be.at.least(55);
    expect(t.ok(['list', '--json'])).to.equal(before);
    expect(['base', 'started'].map((s) => t.ok(['list', s, '--json']))).to.deep.equal(details);
    expect(fs.readdirSync(sessionsDir)).to.deep.equal(files);
  });

  it('gives the error as JSON too with --json', () => {
    const r = t.cli(['destroy', 'nosuch', '--json']);
    expect(r.code).to.equal(1);
    expect(JSON.parse(r.stdout)).to.deep.equal({
      error: { code: 'SESSION_NOT_FOUND', message: 'session "nosuch" not found' },
    });
    expect(r.stderr).to.equal('Error: session "nosuch" not found\n');
  });
});
