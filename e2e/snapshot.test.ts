import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runApp, TestEnv } from './harness';

/** babeltrace2's lines for a trace; fails on any warning. */
function read(dir: string): string[] {
  const r = spawnSync('babeltrace2', [dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  expect(r.status, r.stderr).to.equal(0);
  expect(r.stderr).to.equal('');
  return r.stdout.split('\n').filter(Boolean);
}

/** The `seq` of every e2e:load event of app `app` in babeltrace2's lines. */
function seqs(lines: string[], app: number): number[] {
  return lines
    .map((l) => new RegExp(`e2e:load: .*app = ${app}, thread = 0, seq = (\\d+),`).exec(l))
    .filter((m) => m)
    .map((m) => Number(m![1]));
}

describe('e2e: snapshots of a snapshot-mode session', function () {
  this.timeout(120000);
  let t: TestEnv;
  beforeEach(() => {
    t = new TestEnv('snapshot');
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('record copies the newest events of the rings into a new trace each time, consuming nothing; babeltrace2 reads every snapshot', async () => {
    const out = path.join(t.root, 'snaps');
    t.ok(['create', 'snap', '--snapshot', '-o', out]);
    t.ok(['enable-channel', '-u', 'ring', '--subbuf-size', '4096', '--num-subbuf', '4']);
    t.ok(['enable-event', '-u', '-c', 'ring', 'e2e:load']);
    // A snapshot session's channels overwrite the oldest data by default.
    expect(t.json(['list', 'snap']).config.channels[0].overwrite).to.equal(true);
    // Nothing written into the output until a snapshot is taken.
    t.ok(['start']);
    const a = await runApp(t.env, { app: 1, threads: 0, events: 20000, waitEnabledMs: 15000 });
    expect(a.code, a.stderr).to.equal(0);
    expect(fs.existsSync(out)).to.equal(false);

    const first = t.json(['snapshot', 'record']);
    expect(path.dirname(first.path)).to.equal(out);
    expect(path.basename(first.path)).to.match(/^snapshot-1-\d{8}-\d{6}-0$/);
    expect(first.buffers).to.have.length(1);
    const [b] = first.buffers;
    expect(b.channel).to.equal('ring');
    expect(b.traceDir).to.equal(path.join(first.path, 'ust', 'uid', String(process.getuid!()), '64-bit'));
    expect(b.packetsOverwritten).to.be.greaterThan(0);
    const lines = read(first.path);
    expect(lines.length).to.equal(b.eventsRecorded);
    // The newest events, without a hole: the last few ring's worth of the 20,000.
    const got = seqs(lines, 1);
    expect(got.length).to.equal(b.eventsRecorded).and.be.greaterThan(100).and.lessThan(20000);
    expect(got).to.deep.equal(got.map((_, i) => 20000 - got.length + i));

    // The buffers were not cleared: a second snapshot holds the same events.
    const again = t.json(['snapshot', 'record', '-n', 'again']);
    expect(path.basename(again.path)).to.match(/^again-\d{8}-\d{6}-1$/);
    expect(read(again.path)).to.deep.equal(lines);

    // New events push the oldest out; after stop the buffers still hold the newest.
    const b2 = await runApp(t.env, { app: 2, threads: 0, events: 300, waitEnabledMs: 15000 });
    expect(b2.code, b2.stderr).to.equal(0);
    t.ok(['stop']);
    const text = t.ok(['snapshot', 'record']);
    const third = /-> (.*)\n/.exec(text)![1];
    expect(text).to.match(/^Snapshot recorded successfully for session snap\n/);
    expect(path.basename(third)).to.match(/^snapshot-1-\d{8}-\d{6}-2$/);
    const newest = read(third);
    expect(seqs(newest, 2)).to.deep.equal(Array.from({ length: 300 }, (_, i) => i));
    expect(text).to.include(`Channel ring (uid ${process.getuid!()}): ${newest.length} events in `);
    const older = seqs(newest, 1);
    expect(older[older.length - 1]).to.equal(19999);
    t.ok(['destroy', 'snap']);
  });

  it('outputs: list, add, delete, a path given to record, --max-size, and every refusal with its error', async () => {
    const out = path.join(t.root, 'default');
    t.ok(['create', 'snap', '--snapshot', '-o', out]);
    const fail = (args: string[], code: number, message: string) => {
      const r = t.cli(args);
      expect(r.code, `${args.join(' ')}: ${r.stdout}`).to.equal(code);
      expect(r.stderr).to.include(message);
    };
    expect(t.ok(['snapshot', 'list-output'])).to.equal(
      `Snapshot output list for session snap\n  [1] snapshot-1: ${out} (max size: 0 bytes)\n`,
    );
    expect(t.ok(['list', 'snap'])).to.include(`    Snapshot mode, output: [1] snapshot-1: ${out}\n`);
    fail(['snapshot', 'record'], 1, 'session "snap" has never been started');
    t.ok(['enable-channel', '-u', 'c', '--subbuf-size', '4096', '--num-subbuf', '8']);
    t.ok(['enable-event', '-u', '-c', 'c', 'e2e:load']);
    t.ok(['start']);
    fail(['snapshot', 'record'], 1, 'session "snap" has no buffers yet');
    const a = await runApp(t.env, { app: 1, threads: 0, events: 5000, waitEnabledMs: 15000 });
    expect(a.code, a.stderr).to.equal(0);

    fail(
      ['snapshot', 'add-output', path.join(t.root, 'x')],
      1,
      'session "snap" already has a snapshot output, [1] snapshot-1',
    );
    expect(t.ok(['snapshot', 'del-output', '1'])).to.equal(
      'Snapshot output [1] snapshot-1 deleted from session snap\n',
    );
    expect(t.ok(['snapshot', 'list-output'])).to.equal('Snapshot output list for session snap\n  None\n');
    fail(['snapshot', 'record'], 1, 'session "snap" has no snapshot output: give a path or URL');
    const night = path.join(t.root, 'night');
    t.ok(['snapshot', 'add-output', `file://${night}`, '-n', 'night', '-m', '1M']);
    expect(t.json(['snapshot', 'list-output']).outputs).to.deep.equal([
      { id: 2, name: 'night', path: night, ctrlUrl: '', dataUrl: '', maxSize: 1048576 },
    ]);
    const r = t.json(['snapshot', 'record']);
    expect(path.basename(r.path)).to.match(/^night-\d{8}-\d{6}-0$/);
    expect(read(r.path).length).to.equal(r.buffers[0].eventsRecorded);

    // A path given to record (relative: from the caller's directory) wins over the output.
    const here = spawnSync(
      process.execPath,
      [path.join(__dirname, '..', '..', 'apps/cli/bin/tstrace'), 'snapshot', 'record', 'elsewhere', '--json'],
      { cwd: t.root, env: t.env, encoding: 'utf8' },
    );
    expect(here.status, here.stderr).to.equal(0);
    const given = JSON.parse(here.stdout);
    expect(path.dirname(given.path)).to.equal(path.join(t.root, 'elsewhere'));
    expect(path.basename(given.path)).to.match(/^snapshot-\d{8}-\d{6}-1$/);

    // --max-size: the newest sub-buffers that fit, shared by the streams.
    const streams = t.json(['list', 'snap']).buffers[0].streamPaths.length;
    fail(
      ['snapshot', 'record', '-m', String(4096 * streams - 1)],
      1,
      `cannot hold one sub-buffer of each stream: ${streams} streams need at least ${4096 * streams} bytes`,
    );
    const small = t.json(['snapshot', 'record', '-m', String(4096 * streams)]);
    expect(small.buffers[0].packets).to.be.within(1, streams);
    const smallSeqs = seqs(read(small.path), 1);
    expect(smallSeqs[smallSeqs.length - 1]).to.equal(4999);
    expect(small.buffers[0].eventsRecorded).to.be.lessThan(r.buffers[0].eventsRecorded);

    fail(
      ['snapshot', 'record', 'net://127.0.0.1'],
      1,
      'snapshots to a relay daemon (tcp://127.0.0.1:5342) are not supported by this version',
    );
    fail(['snapshot', 'record', '-n', 'a/b'], 1, 'snapshot name "a/b"');
    fail(['snapshot', 'del-output', '99'], 1, 'session "snap" has no snapshot output with id 99');
    fail(['snapshot', 'del-output', 'nope'], 1, 'session "snap" has no snapshot output named "nope"');
    fail(['snapshot'], 2, 'give an action: record, add-output, list-output, del-output');
    fail(['snapshot', 'take'], 2, 'unknown snapshot action "take"');
    fail(['snapshot', 'record', '-m', 'lots'], 2, 'invalid size for --max-size');
    fail(['snapshot', 'list-output', 'x'], 2, 'list-output takes no argument');
    fail(['snapshot', 'record', '-C', 'net://127.0.0.1'], 1, '--ctrl-url and --data-url must be given together');
    fail(['snapshot', 'record', '-s', 'nosuch'], 1, 'session "nosuch" not found');
    t.ok(['create', 'plain', '-o', path.join(t.root, 'plain')]);
    fail(
      ['snapshot', 'record', '-s', 'plain'],
      1,
      'session "plain" is not in snapshot mode (create it with --snapshot)',
    );
    fail(['snapshot', 'list-output', '-s', 'plain'], 1, 'is not in snapshot mode');

    // The output is part of the session's settings: saved and loaded with it.
    t.ok(['save', 'snap']);
    t.ok(['destroy', 'snap']);
    t.ok(['load', 'snap']);
    expect(t.json(['snapshot', 'list-output', '-s', 'snap']).outputs).to.deep.equal([
      { id: 2, name: 'night', path: night, ctrlUrl: '', dataUrl: '', maxSize: 1048576 },
    ]);
    t.ok(['destroy', '-a']);
  });
});
