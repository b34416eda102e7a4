import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { lockFile, peerCredentials, processGroups, unlockFile } from '../src';

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
      const accepted = new Promise<net.Socket>((resolve) => {
        const server = net.createServer((s) => {
          server.close();
          resolve(s);
        });
        server.listen(sock);
      });
      await new Promise((r) => setTimeout(r, 20));
      const client = net.connect(sock);
      await new Promise((r) => client.once('connect', r));
      const serverSide = await accepted;
      const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
      expect(peerCredentials(serverSide)).to.deep.equal(me);
      expect(peerCredentials(client)).to.deep.equal(me);
      client.destroy();
      serverSide.destroy();
    });

    it("gives a child process's pid for its connection", async () => {
      const sock = path.join(dir, 's');
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(sock, r));
      const child = spawn(process.execPath, ['-e', `const s=require('net').connect(${JSON.stringify(sock)}); setTimeout(()=>s.destroy(), 2000)`]);
      const conn = await new Promise<net.Socket>((r) => server.once('connection', r));
      expect(peerCredentials(conn).pid).to.equal(child.pid);
      child.kill();
      conn.destroy();
      server.close();
    });

    it('throws a clear error on a TCP socket and on a destroyed socket', async () => {
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const tcp = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      await new Promise((r) => tcp.once('connect', r));
      expect(() => peerCredentials(tcp)).to.throw(/getsockopt\(SO_PEERCRED\)/);
      tcp.destroy();
      expect(() => peerCredentials(tcp)).to.throw(/no file descriptor/);
      server.close();
    });
  });

  describe('lockFile', () => {
    const tryInChild = (file: string) =>
      spawnSync(process.execPath, ['-e', `const n=require(${JSON.stringify(indexJs)}); const fd=require('fs').openSync(${JSON.stringify(file)}, 'a+'); process.stdout.write(String(n.lockFile(fd)))`], { encoding: 'utf8' }).stdout;

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
      const holder = spawn(process.execPath, ['-e', `const n=require(${JSON.stringify(indexJs)}); const fd=require('fs').openSync(${JSON.stringify(file)}, 'a+'); console.log(n.lockFile(fd)); setInterval(()=>{}, 1000)`]);
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
      expect(() => raw(987654)).to.throw(/flock: Bad file descriptor/);
    });
  });

  describe('processGroups', () => {
    it('includes the gid of this process', () => {
      expect(processGroups(process.pid)).to.include(process.getgid!());
      for (const g of process.getgroups!()) expect(processGroups(process.pid)).to.include(g);
    });
    it('throws for a process that does not exist', () => {
      expect(() => processGroups(4194305)).to.throw(/cannot read the groups of process 4194305/);
    });
  });
});
