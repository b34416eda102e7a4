import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './harness';

const SETUP = path.join(ROOT, 'tools/setup.js');

/** Runs the set-up step as `nobody` with PATH holding only the commands given (node always). */
function setupAsNobody(commands: string[]): { code: number | null; stdout: string; stderr: string } {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-e2e-setup-'));
  try {
    fs.chmodSync(bin, 0o755);
    for (const c of ['node', ...commands]) {
      const found = spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' }).stdout.trim();
      fs.symlinkSync(found, path.join(bin, c));
    }
    const runuser = spawnSync('sh', ['-c', 'command -v runuser'], { encoding: 'utf8' }).stdout.trim();
    const r = spawnSync(runuser, ['-u', 'nobody', '--', path.join(bin, 'node'), SETUP], {
      env: { PATH: bin },
      encoding: 'utf8',
    });
    if (r.error) throw r.error;
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
}

describe('e2e: the set-up step of npm test', function () {
  this.timeout(30000);
  before(function () {
    if (process.getuid?.() !== 0) {
      console.log('    (skipped: needs root to run the set-up step as another user)');
      this.skip();
    }
  });

  it('passes when every tool is there', () => {
    const r = spawnSync(process.execPath, [SETUP], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout + r.stderr).to.equal('');
  });

  it('stops at once, naming the apt-get command, where it may not install (not root)', () => {
    const r = setupAsNobody(['apt-get']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(
      /^setup: the tests need babeltrace2: .*; lttng-tools: .*; liblttng-ust-dev: .*; gcc: .*\. Run: sudo apt-get install -y --no-install-recommends babeltrace2 lttng-tools liblttng-ust-dev gcc\n$/,
    );
  });

  it('names the packages for another package manager where there is no apt-get', () => {
    // gcc finds LTTng-UST's headers, so only lttng-tools is missing.
    const r = setupAsNobody(['gcc', 'babeltrace2']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(
      /^setup: the tests need lttng-tools: [^;]*\. Run: install lttng-tools with your package manager\n$/,
    );
  });
});
