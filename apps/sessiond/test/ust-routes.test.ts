import { tstrace } from '@tstrace/comm';
import { filterToJson, parseFilter } from '@tstrace/filter';
import { expect } from 'chai';
import { Domain, LoglevelType, SessionState } from '../src/model';
import { SessionRegistry } from '../src/registry';
import { computeRoutes, loglevelMatches, RouteApp } from '../src/ust/routes';
import { EventIdTable } from '../src/ust/event-ids';

const U = Domain.USERSPACE;
const K = Domain.KERNEL;
const alice = { pid: 10, uid: 1000, gid: 1000 };
const bob = { pid: 11, uid: 1001, gid: 1001 };
const root = { pid: 1, uid: 0, gid: 0 };
const { LOGLEVEL_RANGE: RANGE, LOGLEVEL_SINGLE: SINGLE } = LoglevelType;

type Ev = tstrace.app.EventDecl.$Properties;
const ev = (full: string, loglevel = 13, fields: { name: string; type: string }[] = []): Ev => {
  const [provider, name] = full.split(':');
  return { provider, name, loglevel, fields };
};
const ast = (text: string) => filterToJson(parseFilter(text));

/** Routes as compact tuples: [event index, session, channel, filters]. */
function routes(app: RouteApp, sessions: readonly SessionState[]): [number, string, string, string[]][] {
  return computeRoutes(app, sessions).map((r) => [r.event, r.session.name, r.channel.name, r.filters]);
}

describe('userspace routes (which events are enabled, into which channels)', () => {
  let r: SessionRegistry;
  beforeEach(() => {
    r = new SessionRegistry({ kernelAvailable: true, defaultHome: '/h' });
  });
  const app = (events: Ev[], who = alice): RouteApp => ({ pid: who.pid, uid: who.uid, events });
  const started = (name: string, who = alice) => {
    r.start(who, name);
    return r.all();
  };

  it('matches exact names and globs on provider:name, in event order', () => {
    r.create(alice, { name: 's' });
    r.enableEvent(alice, { session: 's', domain: U, channel: '', names: ['shop:checkout'] });
    r.enableEvent(alice, { session: 's', domain: U, names: ['db:*'] });
    r.enableEvent(alice, { session: 's', domain: U, names: ['*:tick'] });
    const a = app([
      ev('shop:checkout'),
      ev('shop:checkout2'),
      ev('db:query'),
      ev('db:'),
      ev('http:tick'),
      ev('shop:tock'),
      ev('shopcheckout:x'),
    ]);
    expect(routes(a, started('s'))).to.deep.equal([
      [0, 's', 'channel0', []],
      [2, 's', 'channel0', []],
      [3, 's', 'channel0', []],
      [4, 's', 'channel0', []],
    ]);
  });

  it('matches everything with -a (*), and glob specials other than * literally', () => {
    r.create(alice, { name: 's' });
    r.enableEvent(alice, { session: 's', domain: U, all: true });
    r.enableEvent(alice, { session: 's', domain: U, channel: 'channel0', names: ['a.b:*'] });
    const a = app([ev('x:y'), ev('a.b:c'), ev('axb:c')]);
    // a.b:* also matches a.b:c, but it is still one route (filters: none).
    expect(routes(a, started('s'))).to.deep.equal([
      [0, 's', 'channel0', []],
      [1, 's', 'channel0', []],
      [2, 's', 'channel0', []],
    ]);
    r.disableEvent(alice, { session: 's', domain: U, names: ['*'] });
    expect(routes(a, r.all())).to.deep.equal([[1, 's', 'channel0', []]]);
  });

  it('leaves out excluded events (exclusions are globs too)', () => {
    r.create(alice, { name: 's' });
    r.enableEvent(alice, { session: 's', domain: U, names: ['shop:*'], exclusions: ['shop:debug*', 'shop:secret'] });
    const a = app([ev('shop:checkout'), ev('shop:debug'), ev('shop:debug_sql'), ev('shop:secret'), ev('shop:secret2')]);
    expect(routes(a, started('s')).map((x) => x[0])).to.deep.equal([0, 4]);
  });

  it('an event excluded by one rule is still routed by another rule of the channel', () => {
    r.create(alice, { name: 's' });
    r.enableEvent(alice, { session: 's', domain: U, names: ['shop:*'], exclusions: ['shop:debug'] });
    r.enableEvent(alice, { session: 's', domain: U, names: ['shop:debug'], filter: 'x > 1' });
    const a = app([ev('shop:debug')]);
    expect(routes(a, started('s'))).to.deep.equal([[0, 's', 'channel0', [ast('x > 1')]]]);
  });

  it('applies the three log level conditions as LTTng does (0 EMERG is the most severe)', () => {
    expect(loglevelMatches({ loglevelType: LoglevelType.LOGLEVEL_ALL, loglevel: 0 }, 14)).to.equal(true);
    expect([0, 3, 4, 5, 14].map((l) => loglevelMatches({ loglevelType: RANGE, loglevel: 4 }, l))).to.deep.equal([
      true,
      true,
      true,
      false,
      false,
    ]);
    expect([0, 3, 4, 5, 14].map((l) => loglevelMatches({ loglevelType: SINGLE, loglevel: 4 }, l))).to.deep.equal([
      false,
      false,
      true,
      false,
      false,
    ]);

    r.create(alice, { name: 's' });
    r.enableEvent(alice, { session: 's', domain: U, channel: '', names: ['*'] });
    r.enableChannel(alice, { session: 's', domain: U, name: 'warn' });
    r.enableEvent(alice, { session: 's', domain: U, channel: 'warn', names: ['*'], loglevelType: RANGE, loglevel: 4 });
    r.enableChannel(alice, { session: 's', domain: U, name: 'info' });
    r.enableEvent(alice, {
      session: 's',
      domain: U,
      channel: 'info',
      names: ['app:*'],
      loglevelType: SINGLE,
      loglevel: 6,
    });
    const a = app([
      ev('app:emerg', 0),
      ev('app:warning', 4),
      ev('app:notice', 5),
      ev('app:info', 6),
      ev('app:debug', 14),
    ]);
    const got = routes(a, started('s'));
    const into = (channel: string) => got.filter((x) => x[2] === channel).map((x) => x[0]);
    expect(into('channel0')).to.deep.equal([0, 1, 2, 3, 4]);
    expect(into('warn')).to.deep.equal([0, 1]);
    expect(into('info')).to.deep.equal([3]);
  });

  it('follows the userspace PID tracker: all, listed pids, none', () => {
    r.create(alice, { name: 's' });
    r.enableEvent(alice, { session: 's', domain: U, names: ['a:*'] });
    started('s');
    const other = { pid: 77, uid: 1000, gid: 1000 };
    const events = [ev('a:b')];
    expect(routes(app(events), r.all())).to.have.length(1);
    r.track(alice, { session: 's', domain: U, pids: [77] });
    expect(routes(app(events), r.all())).to.deep.equal([]);
    expect(routes(app(events, other), r.all())).to.have.length(1);
    r.untrack(alice, { session: 's', domain: U, all: true });
    expect(routes(app(events, other), r.all())).to.deep.equal([]);
    // The kernel tracker has nothing to say about userspace.
    r.track(alice, { session: 's', domain: U, all: true });
    r.track(alice, { session: 's', domain: K, pids: [12345] });
    expect(routes(app(events), r.all())).to.have.length(1);
  });

  it('routes only while the session is active', () => {
    r.create(alice, { name: 's' });
    r.enableEvent(alice, { session: 's', domain: U, names: ['a:*'] });
    const a = app([ev('a:b')]);
    expect(routes(a, r.all())).to.deep.equal([]);
    r.start(alice, 's');
    expect(routes(a, r.all())).to.have.length(1);
    r.stop(alice, 's');
    expect(routes(a, r.all())).to.deep.equal([]);
  });

  it('skips disabled channels, disabled rules and kernel channels; channel index counts userspace channels only', () => {
    r.create(root, { name: 's' });
    r.enableChannel(root, { session: 's', domain: K, name: 'k' });
    r.enableEvent(root, { session: 's', domain: K, channel: 'k', names: ['*'] });
    r.enableChannel(root, { session: 's', domain: U, name: 'u1' });
    r.enableChannel(root, { session: 's', domain: U, name: 'u2' });
    r.enableEvent(root, { session: 's', domain: U, channel: 'u1', names: ['a:*'] });
    r.enableEvent(root, { session: 's', domain: U, channel: 'u2', names: ['a:*'] });
    started('s', root);
    const a = app([ev('a:b')]);
    expect(computeRoutes(a, r.all()).map((x) => [x.channel.name, x.channelIndex])).to.deep.equal([
      ['u1', 0],
      ['u2', 1],
    ]);
    r.disableChannel(root, { session: 's', domain: U, names: ['u1'] });
    expect(computeRoutes(a, r.all()).map((x) => [x.channel.name, x.channelIndex])).to.deep.equal([['u2', 1]]);
    r.disableEvent(root, { session: 's', domain: U, channel: 'u2', all: true });
    expect(routes(a, r.all())).to.deep.equal([]);
  });

  it('ORs the filters of every matching rule; one rule without a filter makes the route unfiltered', () => {
    r.create(alice, { name: 's' });
    r.enableEvent(alice, { session: 's', domain: U, names: ['a:*'], filter: 'x > 1' });
    r.enableEvent(alice, { session: 's', domain: U, names: ['a:b'], filter: 'y == "z*"' });
    r.enableEvent(alice, { session: 's', domain: U, names: ['a:b*'], filter: 'x > 1' }); // same filter: once
    r.enableEvent(alice, { session: 's', domain: U, names: ['a:c'] });
    r.enableEvent(alice, { session: 's', domain: U, names: ['a:c'], filter: 'x < 0' });
    r.enableEvent(alice, {
      session: 's',
      domain: U,
      names: ['a:d'],
      filter: 'x < 0',
      loglevelType: SINGLE,
      loglevel: 2,
    }); // log level does not match
    const a = app([ev('a:b'), ev('a:c'), ev('a:d')]);
    expect(routes(a, started('s'))).to.deep.equal([
      [0, 's', 'channel0', [ast('x > 1'), ast('y == "z*"')]],
      [1, 's', 'channel0', []],
      [2, 's', 'channel0', [ast('x > 1')]],
    ]);
    // disable-event a:c disables both a:c rules: a:* alone selects a:c now, with its filter.
    r.disableEvent(alice, { session: 's', domain: U, names: ['a:c'] });
    expect(routes(a, r.all())[1]).to.deep.equal([1, 's', 'channel0', [ast('x > 1')]]);
  });

  it('routes one event into every channel of every session that wants it', () => {
    r.create(alice, { name: 's1' });
    r.enableEvent(alice, { session: 's1', domain: U, names: ['a:b'] });
    r.enableChannel(alice, { session: 's1', domain: U, name: 'second' });
    r.enableEvent(alice, { session: 's1', domain: U, channel: 'second', names: ['a:*'], filter: 'v == 1' });
    r.create(alice, { name: 's2' });
    r.enableEvent(alice, { session: 's2', domain: U, names: ['*'] });
    r.create(alice, { name: 's3' }); // not started
    r.enableEvent(alice, { session: 's3', domain: U, names: ['*'] });
    r.start(alice, 's1');
    r.start(alice, 's2');
    expect(routes(app([ev('a:b')]), r.all())).to.deep.equal([
      [0, 's1', 'channel0', []],
      [0, 's1', 'second', [ast('v == 1')]],
      [0, 's2', 'channel0', []],
    ]);
  });

  it('a session concerns the apps of its owner, or every app when root owns it', () => {
    r.create(alice, { name: 'mine' });
    r.enableEvent(alice, { session: 'mine', domain: U, names: ['*'] });
    r.create(root, { name: 'all' });
    r.enableEvent(root, { session: 'all', domain: U, names: ['*'] });
    r.start(alice, 'mine');
    r.start(root, 'all');
    const events = [ev('a:b')];
    expect(routes(app(events, alice), r.all()).map((x) => x[1])).to.deep.equal(['mine', 'all']);
    expect(routes(app(events, bob), r.all()).map((x) => x[1])).to.deep.equal(['all']);
    expect(routes(app(events, root), r.all()).map((x) => x[1])).to.deep.equal(['all']);
  });

  it('gives the per-UID and per-PID schemes the same routes (the buffer owner is chosen later)', () => {
    r.create(alice, { name: 'u' });
    r.enableChannel(alice, { session: 'u', domain: U, name: 'c', buffers: tstrace.client.BufferScheme.PER_UID });
    r.enableEvent(alice, { session: 'u', domain: U, channel: 'c', names: ['a:*'] });
    r.create(alice, { name: 'p' });
    r.enableChannel(alice, { session: 'p', domain: U, name: 'c', buffers: tstrace.client.BufferScheme.PER_PID });
    r.enableEvent(alice, { session: 'p', domain: U, channel: 'c', names: ['a:*'] });
    r.start(alice, 'u');
    r.start(alice, 'p');
    const got = computeRoutes(app([ev('a:b')]), r.all());
    expect(got.map((x) => [x.session.name, x.channel.buffers])).to.deep.equal([
      ['u', tstrace.client.BufferScheme.PER_UID],
      ['p', tstrace.client.BufferScheme.PER_PID],
    ]);
  });
});

describe('CTF event ids', () => {
  it('numbers distinct events 0, 1, 2... in first-seen order; same name, level and fields share an id', () => {
    const t = new EventIdTable();
    const f = [{ name: 'amount', type: 'double' }];
    expect(t.idFor(ev('shop:checkout', 6, f))).to.equal(0);
    expect(t.idFor(ev('shop:refund', 6, f))).to.equal(1);
    expect(t.idFor(ev('shop:checkout', 6, [{ name: 'amount', type: 'double' }]))).to.equal(0); // another app, same event
    expect(t.idFor(ev('shop:checkout', 4, f))).to.equal(2); // other log level
    expect(t.idFor(ev('shop:checkout', 6, [{ name: 'amount', type: 'float' }]))).to.equal(3); // other field type
    expect(t.idFor(ev('shop:checkout', 6, [{ name: 'total', type: 'double' }]))).to.equal(4); // other field name
    expect(t.idFor(ev('shop:checkout', 6, [...f, { name: 'sku', type: 'string' }]))).to.equal(5);
    expect(t.idFor(ev('shop:refund', 6, f))).to.equal(1);
    expect(t.entries.map((e) => [e.id, e.name, e.loglevel, e.fields.length])).to.deep.equal([
      [0, 'shop:checkout', 6, 1],
      [1, 'shop:refund', 6, 1],
      [2, 'shop:checkout', 4, 1],
      [3, 'shop:checkout', 6, 1],
      [4, 'shop:checkout', 6, 1],
      [5, 'shop:checkout', 6, 2],
    ]);
    expect(t.entries[3].fields).to.deep.equal([{ name: 'amount', type: 'float' }]);
  });

  it('does not confuse names that only differ in where the colon is', () => {
    const t = new EventIdTable();
    expect(t.idFor({ provider: 'a', name: 'b:c' })).to.equal(0);
    expect(t.idFor({ provider: 'a:b', name: 'c' })).to.equal(0); // both are "a:b:c", as LTTng names them
    expect(t.idFor({ provider: 'a', name: 'bc' })).to.equal(1);
  });
});
