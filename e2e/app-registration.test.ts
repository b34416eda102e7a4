import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { sleep, TestEnv } from './harness';

const COMM = path.join(__dirname, '../../libs/comm/dist/src/index.js');

/** A stand-in traced app: registers on apps.sock with the given claims, prints the outcome, stays connected. */
function appScript(socket: string, claims: string): string {
  return `
    const { RpcClient, appLink } = require(${JSON.stringify(COMM)});
    (async () => {
      const rpc = await RpcClient.connect(appLink, { path: ${JSON.stringify(socket)} }, { peerName: 'test-app', onPush: () => {} });
      try {
        const reply = await rpc.call({ registerApp: { pid: process.pid, uid: process.getuid(), gid: process.getgid(), procname: 'shop', bitsPerLong: 64, tracerVersion: '0.1.0',
          events: [{ provider: 'shop', name: 'checkout', loglevel: 6, fields: [{ name: 'amount', type: 'double' }, { name: 'sku', type: 'string' }] }], ${claims} } });
        console.log('registered', reply.registered.appId);
      } catch (err) {
        console.log('refused', err.code, err.message);
      }
      setInterval(() => {}, 1000);
    })();`;
}

describe('e2e: app registration on apps.sock', function () {
  this.timeout(30000);
  let t: TestEnv;
  before(() => {
    t = new TestEnv('apps');
    t.ok(['list']); // starts the daemon
  });
  after(async () => {
    await t.cleanup();
  });

  const startApp = async (claims = '') => {
    const child = spawn(process.execPath, ['-e', appScript(path.join(t.runDir, 'apps.sock'), claims)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((r) => child.stdout.once('data', (d) => r(String(d).trim())));
    return { child, line };
  };

  it('registers an app with its events; list -u shows it until it exits', async () => {
    const { child, line } = await startApp();
    expect(line).to.match(/^registered \d+$/);
    const { apps } = t.json(['list', '-u']);
    expect(apps).to.deep.equal([
      {
        pid: child.pid,
        uid: process.getuid!(),
        procname: 'shop',
        threadId: 0,
        events: [
          {
            name: 'shop:checkout',
            loglevel: 6,
            fields: [
              { name: 'amount', type: 'double' },
              { name: 'sku', type: 'string' },
            ],
          },
        ],
      },
    ]);
    expect(t.ok(['list', '-u'])).to.equal(
      `UST events:\n-------------\n\nPID: ${child.pid} - Name: shop\n      shop:checkout (loglevel: TRACE_INFO) (type: tracepoint)\n        field: amount (double)\n        field: sku (string)\n`,
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    for (let i = 0; i < 50 && t.json(['list', '-u']).apps.length > 0; i++) await sleep(20);
    expect(t.json(['list', '-u']).apps).to.deep.equal([]);
  });

  it('refuses an app that claims another pid or uid than its socket shows', async () => {
    const { child, line } = await startApp('pid: 1');
    expect(line).to.match(
      /^refused 30 registration claims pid 1 uid \d+ gid \d+, but the socket belongs to pid \d+ uid \d+ gid \d+$/,
    );
    expect(t.json(['list', '-u']).apps).to.deep.equal([]);
    child.kill('SIGKILL');
  });
});
