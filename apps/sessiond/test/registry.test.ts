import { StatusCode, StatusError, tstrace } from '@tstrace/comm';
import { expect } from 'chai';
import { Domain } from '../src/model';
import { globMatch, SessionRegistry } from '../src/registry';
import { parseSessionFile, sessionFileText } from '../src/session-files';
import { parseSetUrl, parseStreamUrl } from '../src/urls';

const alice = { pid: 10, uid: 1000, gid: 1000 };
const bob = { pid: 11, uid: 1001, gid: 1001 };
const root = { pid: 1, uid: 0, gid: 0 };
const U = Domain.USERSPACE;
const K = Domain.KERNEL;

function codeOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(StatusError);
    return (err as StatusError).code;
  }
  throw new Error('expected a StatusError');
}

describe('SessionRegistry', () => {
  let r: SessionRegistry;
  const fixed = new Date(2026, 10, 22, 9, 5, 7);
  beforeEach(() => {
    r = new SessionRegistry({ kernelAvailable: true, defaultHome: '/home/daemon', now: () => fixed });
  });

  it('names automatic sessions auto-YYYYMMDD-HHMMSS and outputs under the home', () => {
    const s = r.create(alice, { home: '/home/alice' });
    expect(s.name).to.equal('auto-20261122-090507');
    expect(s.output.path).to.equal('/home/alice/tstrace-traces/auto-20261122-090507');
    const named = r.create(alice, { name: 'web' });
    expect(named.output.path).to.equal('/home/daemon/tstrace-traces/web-20261122-090507');
    expect(named.uuid).to.match(/^[0-9a-f-]{36}$/);
    expect(named.uuid).to.not.equal(s.uuid);
  });

  it('keeps names unique per owner; root sees all and must disambiguate', () => {
    r.create(alice, { name: 'web' });
    r.create(bob, { name: 'web' });
    expect(codeOf(() => r.create(alice, { name: 'web' }))).to.equal(StatusCode.SESSION_EXISTS);
    expect(r.list(alice).map((s) => s.ownerUid)).to.deep.equal([1000]);
    expect(r.list(root)).to.have.length(2);
    expect(codeOf(() => r.get(root, 'web'))).to.equal(StatusCode.INVALID_ARGUMENT);
    expect(codeOf(() => r.get(bob, 'nope'))).to.equal(StatusCode.SESSION_NOT_FOUND);
    r.create(alice, { name: 'only-alice' });
    expect(r.get(root, 'only-alice').ownerUid).to.equal(1000);
    expect(codeOf(() => r.get(bob, 'only-alice'))).to.equal(StatusCode.SESSION_NOT_FOUND);
    expect(r.destroy(bob, '', true)).to.deep.equal(['web']);
    expect(r.list(root).map((s) => s.ownerUid)).to.deep.equal([1000, 1000]);
  });

  it('creates channel0 on the first enable-event, with the per-UID defaults', () => {
    r.create(alice, { name: 's' });
    const s = r.enableEvent(alice, { session: 's', domain: U, names: ['a', 'b:*'] });
    expect(s.channels.map((c) => [c.name, c.subbufSize, c.numSubbuf, c.buffers])).to.deep.equal([
      ['channel0', 524288, 4, tstrace.client.BufferScheme.PER_UID],
    ]);
    expect(s.channels[0].events.map((e) => e.name)).to.deep.equal(['a', 'b:*']);
  });

  it('treats rules with other conditions as distinct, and re-enables a disabled one', () => {
    r.create(alice, { name: 's' });
    r.enableEvent(alice, { session: 's', domain: U, names: ['a'] });
    r.enableEvent(alice, { session: 's', domain: U, names: ['a'], filter: 'x == 1' });
    expect(codeOf(() => r.enableEvent(alice, { session: 's', domain: U, names: ['a'], filter: 'x == 1' }))).to.equal(
      StatusCode.EVENT_ALREADY_ENABLED,
    );
    r.disableEvent(alice, { session: 's', domain: U, names: ['a'] });
    expect(r.get(alice, 's').channels[0].events.map((e) => e.enabled)).to.deep.equal([false, false]);
    r.enableEvent(alice, { session: 's', domain: U, names: ['a'] });
    expect(r.get(alice, 's').channels[0].events.map((e) => e.enabled)).to.deep.equal([true, false]);
  });

  it('refuses a whole multi-name enable-event when one name is bad, changing nothing', () => {
    r.create(alice, { name: 's' });
    expect(codeOf(() => r.enableEvent(alice, { session: 's', domain: U, names: ['ok', 'bad name'] }))).to.equal(
      StatusCode.INVALID_EVENT,
    );
    expect(r.get(alice, 's').channels).to.deep.equal([]);
  });

  it('follows LTTng tracker semantics', () => {
    r.create(alice, { name: 's' });
    expect(codeOf(() => r.untrack(alice, { session: 's', domain: U, pids: [5] }))).to.equal(
      StatusCode.INVALID_TRACKER_POLICY,
    );
    r.track(alice, { session: 's', domain: U, pids: [9, 3] });
    expect(r.get(alice, 's').trackers.userspace).to.deep.equal({ all: false, pids: [3, 9] });
    r.untrack(alice, { session: 's', domain: U, pids: [3] });
    expect(r.get(alice, 's').trackers.userspace).to.deep.equal({ all: false, pids: [9] });
    r.untrack(alice, { session: 's', domain: U, all: true });
    expect(r.get(alice, 's').trackers.userspace).to.deep.equal({ all: false, pids: [] });
    r.track(alice, { session: 's', domain: U, all: true });
    expect(r.get(alice, 's').trackers.userspace).to.deep.equal({ all: true, pids: [] });
    expect(r.get(alice, 's').trackers.kernel).to.deep.equal({ all: true, pids: [] });
  });

  it('refuses the kernel domain on a daemon that is not root', () => {
    const user = new SessionRegistry({ kernelAvailable: false, defaultHome: '/h' });
    user.create(alice, { name: 's' });
    expect(codeOf(() => user.enableChannel(alice, { session: 's', domain: K, name: 'k' }))).to.equal(
      StatusCode.KERNEL_UNAVAILABLE,
    );
    expect(codeOf(() => user.enableChannel(alice, { session: 's', domain: 0, name: 'k' }))).to.equal(
      StatusCode.INVALID_DOMAIN,
    );
  });

  it('keeps a userspace ring within 1 GiB (u32 positions); kernel channels may be larger', () => {
    r.create(alice, { name: 's' });
    expect(
      codeOf(() => r.enableChannel(alice, { session: 's', domain: U, name: 'big', subbufSize: 2 ** 28, numSubbuf: 8 })),
    ).to.equal(StatusCode.INVALID_CHANNEL_ATTR);
    r.enableChannel(alice, { session: 's', domain: U, name: 'ok', subbufSize: 2 ** 28, numSubbuf: 4 });
    r.enableChannel(alice, { session: 's', domain: K, name: 'k', subbufSize: 2 ** 28, numSubbuf: 8 });
  });

  it('needs a channel to start, and freezes channel settings from the first start', () => {
    r.create(alice, { name: 's' });
    expect(codeOf(() => r.start(alice, 's'))).to.equal(StatusCode.NO_CHANNEL);
    r.enableChannel(alice, { session: 's', domain: U, name: 'c' });
    r.start(alice, 's');
    r.stop(alice, 's');
    expect(codeOf(() => r.enableChannel(alice, { session: 's', domain: U, name: 'd' }))).to.equal(
      StatusCode.SESSION_STARTED,
    );
    r.disableChannel(alice, { session: 's', domain: U, names: ['c'] });
    r.enableChannel(alice, { session: 's', domain: U, name: 'c' });
    expect(r.get(alice, 's').channels[0].enabled).to.equal(true);
  });

  it('rebuilds a saved session exactly, and refuses a tampered file as a whole', () => {
    r.create(alice, { name: 's', output: { path: '/tmp/s' } });
    r.enableChannel(alice, { session: 's', domain: U, name: 'c', subbufSize: 8192, overwrite: true });
    r.enableEvent(alice, {
      session: 's',
      domain: U,
      channel: 'c',
      names: ['app:*'],
      filter: 'x > 2',
      exclusions: ['app:q'],
      loglevelType: 1,
      loglevel: 4,
    });
    r.addContext(alice, { session: 's', domain: U, types: ['vtid'] });
    r.track(alice, { session: 's', domain: U, pids: [42] });
    r.start(alice, 's');
    const text = sessionFileText(r.get(alice, 's'));
    const again = new SessionRegistry({ kernelAvailable: true, defaultHome: '/h' });
    const rebuilt = again.rebuild(alice, parseSessionFile(text, 'f'), 's', '/h');
    expect(sessionFileText(rebuilt)).to.equal(text);
    expect(rebuilt.active).to.equal(true);

    const doc = JSON.parse(text);
    doc.session.channels[0].subbufSize = 3000;
    expect(codeOf(() => again.rebuild(alice, parseSessionFile(JSON.stringify(doc), 'f'), 's', '/h'))).to.equal(
      StatusCode.INVALID_CHANNEL_ATTR,
    );
    doc.session.channels[0].subbufSize = 8192;
    doc.session.channels[0].events[0].filter = 'process.exit()';
    expect(codeOf(() => again.rebuild(alice, parseSessionFile(JSON.stringify(doc), 'f'), 's', '/h'))).to.equal(
      StatusCode.INVALID_FILTER,
    );
    expect(codeOf(() => parseSessionFile('{"format":"other"}', 'f'))).to.equal(StatusCode.LOAD_INVALID_FILE);
    expect(codeOf(() => parseSessionFile('not json', 'f'))).to.equal(StatusCode.LOAD_INVALID_FILE);
    expect(again.list(alice)).to.deep.equal([]);
  });
});

describe('globMatch', () => {
  it('matches * as any sequence and nothing else specially', () => {
    expect(globMatch('app:*', 'app:x')).to.equal(true);
    expect(globMatch('app:*', 'ap:x')).to.equal(false);
    expect(globMatch('a*b*c', 'aXXbYc')).to.equal(true);
    expect(globMatch('a.b', 'aXb')).to.equal(false);
  });
});

describe('session URLs', () => {
  it('parses --set-url as LTTng does', () => {
    expect(parseSetUrl('net://relay')).to.deep.equal({ ctrlUrl: 'tcp://relay:5342', dataUrl: 'tcp://relay:5343' });
    expect(parseSetUrl('net://10.0.0.1:6000:6001')).to.deep.equal({
      ctrlUrl: 'tcp://10.0.0.1:6000',
      dataUrl: 'tcp://10.0.0.1:6001',
    });
    expect(parseSetUrl('net6://[::1]:7000')).to.deep.equal({
      ctrlUrl: 'tcp://[::1]:7000',
      dataUrl: 'tcp://[::1]:5343',
    });
    expect(parseSetUrl('file:///tmp/x/../y')).to.deep.equal({ path: '/tmp/y' });
    expect(parseStreamUrl('tcp://h:99', 5342)).to.equal('tcp://h:99');
    expect(parseStreamUrl('net://h', 5343)).to.equal('tcp://h:5343');
  });
  it('refuses bad URLs with the reason', () => {
    for (const [url, why] of [
      ['ftp://h', /unknown scheme "ftp"/],
      ['net://h:0', /port "0" must be from 1 to 65535/],
      ['net://h:1:2:3', /at most two ports/],
      ['file://rel', /absolute path/],
      ['net://bad host', /invalid host/],
      ['relay', /expected file:\/\/PATH/],
    ] as const) {
      expect(() => parseSetUrl(url)).to.throw(StatusError, why);
    }
  });
});
