import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mapFile, unmapFile } from '../src';

const indexJs = path.join(__dirname, '../src/index.js');

/** A process that maps `file` in `threads` worker threads; each adds 1 to three counters `n` times. */
function hammerScript(file: string, threads: number, n: number): string {
  const worker = `
    const { mapFile } = require(${JSON.stringify(indexJs)});
    const fd = require('fs').openSync(${JSON.stringify(file)}, 'r+');
    const buf = mapFile(fd, 4096);
    const i32 = new Int32Array(buf);
    const i64 = new BigInt64Array(buf);
    for (let k = 0; k < ${n}; k++) {
      Atomics.add(i32, 0, 1);
      let old;
      do { old = Atomics.load(i32, 1); } while (Atomics.compareExchange(i32, 1, old, old + 1) !== old);
      Atomics.add(i64, 8, 1n);
    }`;
  return `
    const { Worker } = require('worker_threads');
    let left = ${threads};
    for (let t = 0; t < ${threads}; t++) {
      new Worker(${JSON.stringify(worker)}, { eval: true }).on('exit', (code) => { if (code) process.exit(code); if (--left === 0) process.exit(0); });
    }`;
}

describe('@tstrace/native shared memory', function () {
  this.timeout(60000);
  let file: string;
  let fd: number;
  beforeEach(() => {
    file = `/dev/shm/tstrace-native-test-${process.pid}`;
    fd = fs.openSync(file, 'w+', 0o600);
    fs.ftruncateSync(fd, 4096);
  });
  afterEach(() => {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  });

  it('gives exact Atomics totals across 4 processes × 2 worker threads and this one', async () => {
    const processes = 4;
    const threads = 2;
    const n = 100000;
    const view = new Int32Array(mapFile(fd, 4096));
    const children = Array.from({ length: processes }, () =>
      spawn(process.execPath, ['-e', hammerScript(file, threads, n)], { stdio: 'inherit' }),
    );
    for (let k = 0; k < n; k++) Atomics.add(view, 0, 1);
    const codes = await Promise.all(children.map((c) => new Promise<number | null>((r) => c.on('exit', r))));
    expect(codes).to.deep.equal([0, 0, 0, 0]);
    const total = processes * threads * n;
    expect(Atomics.load(view, 0)).to.equal(total + n);
    expect(Atomics.load(view, 1)).to.equal(total);
    expect(Atomics.load(new BigInt64Array(view.buffer), 8)).to.equal(BigInt(total));
    // What was written is in the file itself.
    expect(fs.readFileSync(file).readInt32LE(4)).to.equal(total);
  });

  it('detaches on unmapFile, so views become empty instead of touching freed memory', () => {
    const buf = mapFile(fd, 4096);
    const view = new Uint8Array(buf);
    view[0] = 42;
    unmapFile(buf);
    expect(buf.byteLength).to.equal(0);
    expect(view.length).to.equal(0);
    expect(view[0]).to.equal(undefined);
    unmapFile(buf); // a second unmap is harmless
    expect(new Uint8Array(mapFile(fd, 4096))[0]).to.equal(42);
  });

  it('refuses bad arguments and unmappable files with clear errors', () => {
    const raw = mapFile as unknown as (...a: unknown[]) => ArrayBuffer;
    expect(() => raw()).to.throw(TypeError, /expected \(fd: number, length: number\)/);
    expect(() => raw(fd, 0)).to.throw(TypeError, /length > 0/);
    expect(() => raw(987654, 4096)).to.throw(/mmap: Bad file descriptor/);
    expect(() => unmapFile(new ArrayBuffer(8))).to.throw(TypeError, /made by mapFile/);
    const ro = fs.openSync(file, 'r');
    expect(() => mapFile(ro, 4096)).to.throw(/mmap: Permission denied/);
    fs.closeSync(ro);
  });

  it('unmaps what the garbage collector frees (no leak of mappings)', () => {
    // 20,000 mappings of 1 MiB would exceed the kernel's map count and address space if none were freed.
    const script = `
      const { mapFile } = require(${JSON.stringify(indexJs)});
      const fs = require('fs');
      const fd = fs.openSync(${JSON.stringify(file)}, 'r+');
      fs.ftruncateSync(fd, 1 << 20);
      // Node runs finalizers from the event loop after a GC: yield now and then, as programs do.
      const turn = () => new Promise((r) => setImmediate(r));
      (async () => {
        for (let i = 0; i < 20000; i++) {
          new Uint8Array(mapFile(fd, 1 << 20))[i % 4096] = 1;
          if (i % 500 === 0) { gc(); await turn(); }
        }
        gc(); await turn(); gc(); await turn();
        const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes(${JSON.stringify(path.basename(file))})).length;
        console.log(maps);
      })();`;
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(Number(r.stdout.trim())).to.be.lessThan(1000);
  });
});
