import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestEnv } from './harness';

// LTTng's quick-start sequence, run through the real CLI against a real daemon it starts itself.
describe('e2e: the quick-start sequence', function () {
  this.timeout(60000);
  let t: TestEnv;
  before(() => {
    t = new TestEnv('quickstart');
  });
  after(async () => {
    await t.cleanup();
  });

  const sessions = () => t.json<{ sessions: any[] }>(['list']).sessions;
  const config = (name = 'demo') => t.json(['list', name]).config;
  const status = () => t.json(['status']).config;

  it('runs every step, and list --json and status show exactly the state that was set', () => {
    const traces = path.join(t.root, 'traces');
    // create: starts the daemon itself, as `lttng create` does.
    const created = t.cli(['create', 'demo', '-o', traces]);
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout).to.equal(`Session demo created.\nTraces will be output to ${traces}\n`);
    expect(t.daemonPid()).to.be.a('number');
    const expected: any = {
      name: 'demo',
      output: { path: traces, ctrlUrl: '', dataUrl: '', none: false },
      snapshot: false,
      live: false,
      liveTimerUs: 0,
      shmPath: '',
      channels: [],
      trackers: [
        { domain: 'USERSPACE', all: true, pids: [] },
        { domain: 'KERNEL', all: true, pids: [] },
      ],
      active: false,
      snapshotOutputs: [],
    };
    expect(sessions().map((s) => s.config)).to.deep.equal([expected]);
    expect(status()).to.deep.equal(expected);

    // enable-channel with options
    expect(
      t.ok([
        'enable-channel',
        '-u',
        '--subbuf-size',
        '64k',
        '--num-subbuf',
        '8',
        '--overwrite',
        '--switch-timer',
        '100ms',
        '--read-timer',
        '200000',
        '--tracefile-size',
        '1M',
        '--tracefile-count',
        '4',
        'chan',
      ]),
    ).to.equal('UST channel chan enabled for session demo\n');
    const channel: any = {
      name: 'chan',
      domain: 'USERSPACE',
      enabled: true,
      subbufSize: 65536,
      numSubbuf: 8,
      overwrite: true,
      switchTimerUs: 100000,
      readTimerUs: 200000,
      monitorTimerUs: 1000000,
      tracefileSize: 1048576,
      tracefileCount: 4,
      buffers: 'PER_UID',
      events: [],
      contexts: [],
    };
    expected.channels = [channel];
    expect(config()).to.deep.equal(expected);
    expect(status()).to.deep.equal(expected);

    // enable-event -u with a wildcard, a filter, a log level and an exclusion
    const filter = 'x > 10 && msg == "a*"';
    expect(
      t.ok([
        'enable-event',
        '-u',
        'app:*',
        '-c',
        'chan',
        '--filter',
        filter,
        '--loglevel',
        'TRACE_INFO',
        '-x',
        'app:noisy',
      ]),
    ).to.equal(`UST event app:* created in channel chan\nFilter '${filter}' successfully set\n`);
    const got = config();
    const rule = got.channels[0].events[0];
    const ast = JSON.parse(rule.filterAst);
    expect(ast.type).to.equal('binary');
    expect(ast.op).to.equal('&&');
    channel.events = [
      {
        name: 'app:*',
        enabled: true,
        type: 'TRACEPOINT',
        loglevelType: 'LOGLEVEL_RANGE',
        loglevel: 6,
        filter,
        filterAst: rule.filterAst,
        exclusions: ['app:noisy'],
      },
    ];
    expect(got).to.deep.equal(expected);
    expect(status()).to.deep.equal(expected);

    // add-context
    expect(t.ok(['add-context', '-u', '-t', 'vpid', '-t', 'procname'])).to.equal(
      'UST context vpid added to all channels\nUST context procname added to all channels\n',
    );
    channel.contexts = ['vpid', 'procname'];
    expect(config()).to.deep.equal(expected);

    // track --pid
    expect(t.ok(['track', '-u', '--pid', '5678,1234'])).to.equal('PIDs 5678, 1234 tracked in session demo\n');
    expected.trackers[0] = { domain: 'USERSPACE', all: false, pids: [1234, 5678] };
    expect(config()).to.deep.equal(expected);
    expect(status()).to.deep.equal(expected);

    // start, status
    expect(t.ok(['start'])).to.equal('Tracing started for session demo\n');
    expected.active = true;
    expect(config()).to.deep.equal(expected);
    const statusText = t.ok(['status']);
    expect(statusText).to.match(/^Recording session demo: \[active\]\n/);
    expect(statusText).to.include('- chan: [enabled]');
    expect(statusText).to.include(
      `app:* (loglevel: TRACE_INFO (or more severe)) (type: tracepoint) [enabled] [filter: ${filter}] [exclusions: app:noisy]`,
    );
    expect(statusText).to.include('PID: 1234, 5678');
    expect(statusText).to.include('Contexts: vpid, procname');

    // stop
    expect(t.ok(['stop'])).to.equal('Tracing stopped for session demo\n');
    expected.active = false;
    expect(config()).to.deep.equal(expected);
    expect(status()).to.deep.equal(expected);

    // save, destroy, load: load restores exactly what save wrote
    const file = path.join(t.home, '.tstrace/sessions/demo.json');
    expect(t.ok(['save', 'demo'])).to.equal(`Session demo saved to ${file}\n`);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).session).to.deep.equal(expected);
    expect(t.ok(['destroy', 'demo'])).to.equal('Session demo destroyed\n');
    expect(sessions()).to.deep.equal([]);
    expect(t.cli(['status']).code).to.not.equal(0);
    expect(t.ok(['load', 'demo'])).to.equal('Session demo loaded\n');
    expect(config()).to.deep.equal(expected);
    expect(status()).to.deep.equal(expected);

    // list, then destroy --all
    t.ok(['create', 'second', '-o', path.join(t.root, 'second')]);
    expect(
      sessions()
        .map((s) => s.config.name)
        .sort(),
    ).to.deep.equal(['demo', 'second']);
    expect(t.ok(['list'])).to.match(
      /Available tracing sessions:\n {2}1\) demo \(.*\) \[inactive\]\n {2}2\) second \(.*\) \[inactive\] \(current\)\n/,
    );
    expect(t.json(['destroy', '--all'])).to.deep.equal({ destroyed: ['demo', 'second'] });
    expect(sessions()).to.deep.equal([]);
  });
});
