import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { lockFile, makeFifo, peerCredentials, processGroups, unlockFile } from '../src';

const indexJs = path.join(__dirname, '../src/index.js');

describe('@tstrace/native', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-native-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('peerCredentials', () => {
    it('gives this process on both ends of a socket it made', async () => {
      const sock = path.join(dir, 's');
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(sock, r));
      const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
      const client = net.connect(sock);
      await new Promise((r) => client.once('connect', r));
      const serverSide = await accepted;
      const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
      expect(peerCredentials(serverSide)).to.deep.equal(me);
      expect(peerCredentials(client)).to.deep.equal(me);
      client.destroy();
      serverSide.destroy();
      server.close();
    });

    it("gives a child process's pid for its connection", async () => {
      const sock = path.join(dir, 's');
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(sock, r));
      const child = spawn(process.execPath, [
        '-e',
        `const s=require('net').connect(${JSON.stringify(sock)}); setTimeout(()=>s.destroy(), 2000)`,
      ]);
      const conn = await new Promise<net.Socket>((r) => server.once('connection', r));
      const creds = peerCredentials(conn);
      child.kill();
      conn.destroy();
      server.close();
      expect(child.pid).to.be.a('number').and.not.equal(process.pid);
      expect(creds).to.deep.equal({ pid: child.pid, uid: process.getuid!(), gid: process.getgid!() });
    });

    it("gives a child's own uid and gid when it runs as another user (root only)", async function () {
      if (process.getuid!() !== 0) this.skip(); // only root can start a process as another user
      // uid and gid differ from ours and from each other, so a swapped or constant field fails.
      const uid = 54321;
      const gid = 43210;
      fs.chmodSync(dir, 0o755);
      const sock = path.join(dir, 's');
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(sock, r));
      fs.chmodSync(sock, 0o777);
      const child = spawn(
        process.execPath,
        ['-e', `const s=require('net').connect(${JSON.stringify(sock)}); setTimeout(()=>s.destroy(), 2000)`],
        { uid, gid },
      );
      const conn = await new Promise<net.Socket>((r) => server.once('connection', r));
      const creds = peerCredentials(conn);
      child.kill();
      conn.destroy();
      server.close();
      expect(creds).to.deep.equal({ pid: child.pid, uid, gid });
    });

    it('throws a clear error on a TCP socket and on a destroyed socket', async () => {
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const tcp = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      await new Promise((r) => tcp.once('connect', r));
      expect(() => peerCredentials(tcp)).to.throw(Error, /getsockopt\(SO_PEERCRED\): not a Unix-domain socket/);
      tcp.destroy();
      expect(() => peerCredentials(tcp)).to.throw(Error, /no file descriptor/);
      server.close();
      expect(() => peerCredentials({} as net.Socket)).to.throw(Error, /no file descriptor/);
      expect(() => peerCredentials(new net.Socket())).to.throw(Error, /no file descriptor/);
    });

    it("throws errno's text for a descriptor that is not a socket", () => {
      const fd = fs.openSync(path.join(dir, 'f'), 'w');
      try {
        const fake = { _handle: { fd } } as unknown as net.Socket;
        expect(() => peerCredentials(fake)).to.throw(Error, /getsockopt\(SO_DOMAIN\): Socket operation on non-socket/);
      } finally {
        fs.closeSync(fd);
      }
    });
  });

  describe('lockFile', () => {
    const tryInChild = (file: string): string => {
      const r = spawnSync(
        process.execPath,
        [
          '-e',
          `const n=require(${JSON.stringify(indexJs)}); const fd=require('fs').openSync(${JSON.stringify(file)}, 'a+'); process.stdout.write(String(n.lockFile(fd)))`,
        ],
        { encoding: 'utf8' },
      );
      expect(r.status, r.stderr).to.equal(0);
      return r.stdout;
    };

    it('is exclusive across processes and released on close', () => {
      const file = path.join(dir, 'lock');
      const fd = fs.openSync(file, 'a+');
      expect(lockFile(fd)).to.equal(true);
      expect(tryInChild(file)).to.equal('false');
      unlockFile(fd);
      expect(tryInChild(file)).to.equal('true');
      expect(lockFile(fd)).to.equal(true);
      fs.closeSync(fd);
      expect(tryInChild(file)).to.equal('true');
    });

    it('is released when its holder is killed with SIGKILL', async () => {
      const file = path.join(dir, 'lock');
      const holder = spawn(process.execPath, [
        '-e',
        `const n=require(${JSON.stringify(indexJs)}); const fd=require('fs').openSync(${JSON.stringify(file)}, 'a+'); console.log(n.lockFile(fd)); setInterval(()=>{}, 1000)`,
      ]);
      const said = await new Promise<string>((r) => holder.stdout.once('data', (d) => r(String(d).trim())));
      expect(said).to.equal('true');
      const fd = fs.openSync(file, 'a+');
      expect(lockFile(fd)).to.equal(false);
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
      expect(lockFile(fd)).to.equal(true);
      fs.closeSync(fd);
    });

    it('refuses bad arguments with a TypeError, never a crash', () => {
      const raw = lockFile as unknown as (...a: unknown[]) => boolean;
      expect(() => raw()).to.throw(TypeError, /file descriptor/);
      expect(() => raw('3')).to.throw(TypeError, /file descriptor/);
      expect(() => raw(-1)).to.throw(TypeError, />= 0/);
      expect(() => raw(NaN)).to.throw(TypeError, /integer >= 0/);
      expect(() => raw(1.5)).to.throw(TypeError, /integer >= 0/);
      expect(() => raw(2 ** 32)).to.throw(TypeError, /integer >= 0/);
      expect(() => raw(987654)).to.throw(/flock: Bad file descriptor/);
      const rawUnlock = unlockFile as unknown as (...a: unknown[]) => void;
      expect(() => rawUnlock()).to.throw(TypeError, /file descriptor/);
      expect(() => rawUnlock(-1)).to.throw(TypeError, />= 0/);
      expect(() => rawUnlock(987654)).to.throw(/flock: Bad file descriptor/);
    });

    it('says how to fix a missing addon', () => {
      // The compiled module, alone in a tree that has no build/Release.
      const copy = path.join(dir, 'dist/src/index.js');
      fs.mkdirSync(path.dirname(copy), { recursive: true });
      fs.copyFileSync(indexJs, copy);
      const lonely = require(copy) as typeof import('../src');
      expect(() => lonely.lockFile(0)).to.throw(Error, /^@tstrace\/native addon is not built: run npm install/);
    });
  });

  describe('makeFifo', () => {
    it('makes a named pipe whose bytes wake a non-blocking reader in another process', async () => {
      const fifo = path.join(dir, 'wake');
      makeFifo(fifo, 0o600);
      const st = fs.statSync(fifo);
      expect(st.isFIFO()).to.equal(true);
      expect(st.mode & 0o777).to.equal(0o600 & ~process.umask());
      const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const reader = new net.Socket({ fd, readable: true, writable: false });
      const got = new Promise<string>((resolve) => reader.once('data', (b) => resolve(b.toString())));
      const w = spawnSync(process.execPath, [
        '-e',
        `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_WRONLY|fs.constants.O_NONBLOCK);fs.writeSync(fd,'x')`,
      ]);
      expect(w.status).to.equal(0);
      expect(await got).to.equal('x');
      reader.destroy();
    });

    it('refuses an existing path, a bad mode and a path with NUL, with errno text or a TypeError', () => {
      const fifo = path.join(dir, 'wake');
      makeFifo(fifo, 0o600);
      expect(() => makeFifo(fifo, 0o600)).to.throw(/mkfifo: File exists/);
      expect(() => makeFifo(path.join(dir, 'x'), 0o1000)).to.throw(TypeError, /mode/);
      expect(() => makeFifo(path.join(dir, 'x'), -1)).to.throw(TypeError, /mode/);
      expect(() => makeFifo(`${dir}/a\0b`, 0o600)).to.throw(TypeError, /NUL/);
      expect(() => makeFifo('', 0o600)).to.throw(TypeError);
      expect(() => (makeFifo as (p: unknown, m: unknown) => void)(5, 0o600)).to.throw(TypeError);
      expect(() => makeFifo(path.join(dir, 'no/such/dir'), 0o600)).to.throw(/No such file/);
    });
  });

  describe('processGroups', () => {
    it('includes the gid of this process', () => {
      expect(processGroups(process.pid)).to.include(process.getgid!());
      for (const g of process.getgroups!()) expect(processGroups(process.pid)).to.include(g);
    });
    it("gives a child's own groups when it runs as another user (root only)", function () {
      if (process.getuid!() !== 0) this.skip(); // only root can start a process as another user
      // Real gid 7000, effective gid 7003, supplementary 7001 and 7002 (one given twice): the
      // answer is the effective gid and the supplementary groups, once each, not the real gid.
      const script =
        'process.setgroups([7002, 7001, 7002]); process.setgid(7000); process.setegid(7003); process.setuid(7000); setTimeout(()=>{}, 5000); console.log("ok")';
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      return new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`the child exited early (${code})`)));
        child.stdout.once('data', () => {
          try {
            const groups = processGroups(child.pid!);
            expect([...groups].sort((x, y) => x - y)).to.deep.equal([7001, 7002, 7003]);
            expect(groups[0]).to.equal(7003);
            resolve();
          } catch (err) {
            reject(err);
          } finally {
            child.kill();
          }
        });
      });
    });
    it('throws for a process that does not exist', () => {
      // 4194305 is above the largest pid_max Linux allows, so no process can have it.
      expect(() => processGroups(4194305)).to.throw(/cannot read the groups of process 4194305/);
      expect(() => processGroups(-1)).to.throw(TypeError, /expected a pid/);
    });
  });
});
