import { expect } from 'chai';
import * as fs from 'node:fs';
import { runApp, TestEnv } from './harness';
import { bufferSets, readAll } from './trace-read';

function loadText(app: number, thread: number, seq: number): string {
  return `a${app}t${thread}#${seq}`;
}

for (const scheme of ['uid', 'pid'] as const) {
  describe(`e2e: 4 apps × 2 worker threads × 125,000 events into per-${scheme.toUpperCase()} buffers`, function () {
    this.timeout(240000);
    let t: TestEnv;
    let shm: string;
    before(() => {
      t = new TestEnv(`ust-${scheme}`);
      shm = fs.mkdtempSync('/dev/shm/tstrace-e2e-');
    });
    after(async () => {
      await t.cleanup();
      fs.rmSync(shm, { recursive: true, force: true });
    });

    it('reads back exactly 1,000,000 events from shared memory, every field value correct', async () => {
      // --no-output: no consumer drains the buffers, so that this test reads them itself.
      t.ok(['create', 'load', '--shm-path', shm, '--no-output']);
      // Big enough that nothing is discarded: this test is about exactness, not loss.
      const size = scheme === 'uid' ? '4M' : '2M';
      t.ok(['enable-channel', '-u', 'big', '--subbuf-size', size, '--num-subbuf', '8', `--buffers-${scheme}`]);
      t.ok(['enable-event', '-u', '-c', 'big', 'e2e:load']);
      t.ok(['add-context', '-u', '-c', 'big', '-t', 'vpid', '-t', 'vtid', '-t', 'procname']);
      t.ok(['start']);
      const apps = await Promise.all(
        [1, 2, 3, 4].map((app) => runApp(t.env, { app, threads: 2, events: 125000, waitEnabledMs: 15000 })),
      );
      for (const a of apps) expect(a.code, a.stderr).to.equal(0);
      const info = t.json(['list', 'load']);
      const sets = bufferSets(info);
      expect(sets.length).to.equal(scheme === 'uid' ? 1 : 4);
      const { events, discarded, skipped } = readAll(sets);
      expect(discarded).to.equal(0);
      expect(skipped).to.equal(0);
      expect(events.length).to.equal(1_000_000);
      const next = new Map<string, number>();
      const pidOf = new Map(apps.map((a, i) => [i + 1, a.pid]));
      for (const e of events) {
        expect(e.name).to.equal('e2e:load');
        const { app, thread, seq, half, text } = e.fields as {
          app: number;
          thread: number;
          seq: bigint | number;
          half: number;
          text: string;
        };
        const key = `${app}/${thread}`;
        const want = next.get(key) ?? 0;
        if (
          Number(seq) !== want ||
          half !== want / 2 ||
          text !== loadText(app, thread, want) ||
          e.context.vpid !== pidOf.get(app) ||
          e.context.procname !== 'node'
        ) {
          expect.fail(
            `event ${JSON.stringify({ ...e, timestamp: String(e.timestamp), fields: { ...e.fields, seq: String(seq) } })} — expected seq ${want} of ${key}`,
          );
        }
        next.set(key, want + 1);
      }
      expect([...next.keys()].sort()).to.deep.equal(['1/1', '1/2', '2/1', '2/2', '3/1', '3/2', '4/1', '4/2']);
      expect([...next.values()]).to.deep.equal(Array(8).fill(125000));
      t.ok(['destroy', 'load']);
      expect(fs.readdirSync(shm)).to.deep.equal([]);
    });
  });
}
