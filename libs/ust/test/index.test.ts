import { LOGLEVELS } from '@tstrace/ctl';
import { expect } from 'chai';
import {
  defineEventFromFormat,
  FormatError,
  LogLevel,
  provider,
  ready,
  registerTimeoutMs,
  tracer,
  u32,
} from '../src/index';

describe('public API', () => {
  before(() => tracer.stop()); // this test process registers with no daemon

  it("LogLevel holds LTTng's 15 levels", () => {
    expect(Object.entries(LogLevel).map(([k, v]) => [`TRACE_${k}`, v])).to.deep.equal(
      LOGLEVELS.map((name, i) => [name, i]),
    );
  });

  it("defines events with LTTng's default log level, and checks names and levels", () => {
    const p = provider('api_test');
    const e = p.event('e', [u32('x')]);
    expect([e.fullName, e.loglevel, e.enabled]).to.deep.equal(['api_test:e', LogLevel.DEBUG_LINE, false]);
    expect(p.event('e', [u32('x')])).to.equal(e);
    expect(() => provider('bad name').event('e', [])).to.throw(TypeError, /invalid provider name/);
    expect(() => p.event('e-1', [])).to.throw(TypeError, /invalid event name/);
    expect(() => p.event('lvl', [], 15)).to.throw(RangeError, /0 \(TRACE_EMERG\) .. 14/);
    expect(() => p.event('dup', [u32('x'), u32('x')])).to.throw(TypeError, /defined twice/);
    expect(() => p.event('raw', [{ name: 'x', type: 'u32' } as never])).to.throw(TypeError, /field constructor/);
    expect(() => u32('1x')).to.throw(TypeError, /invalid field name/);
  });

  it('defines events from user_events formats under the user_events provider (or another)', () => {
    const e = defineEventFromFormat('detailed char[20] msg;u32 count', LogLevel.INFO);
    expect([e.provider, e.name, e.loglevel]).to.deep.equal(['user_events', 'detailed', LogLevel.INFO]);
    expect(e.fields.map((f) => `${f.name}:${f.type}`)).to.deep.equal(['msg:char[20]', 'count:u32']);
    expect(defineEventFromFormat('detailed char[20] msg;u32 count', LogLevel.INFO)).to.equal(e);
    expect(defineEventFromFormat('other', undefined, 'myapp').fullName).to.equal('myapp:other');
    expect(() => defineEventFromFormat('x u32')).to.throw(FormatError, /column 3/);
    e.emit('text', 1);
  });

  it('ready() resolves at once when registering is off, and reads TSTRACE_UST_REGISTER_TIMEOUT', async () => {
    await ready(100000);
    expect(registerTimeoutMs({})).to.equal(3000);
    expect(registerTimeoutMs({ TSTRACE_UST_REGISTER_TIMEOUT: '250' })).to.equal(250);
    expect(registerTimeoutMs({ TSTRACE_UST_REGISTER_TIMEOUT: '-1' })).to.equal(-1);
    expect(registerTimeoutMs({ TSTRACE_UST_REGISTER_TIMEOUT: 'soon' })).to.equal(3000);
  });
});
