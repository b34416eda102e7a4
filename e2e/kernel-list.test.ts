import { expect } from 'chai';
import { TestEnv } from './harness';

describe('e2e: listing the kernel events', function () {
  this.timeout(30000);
  let t: TestEnv;
  before(function () {
    if (process.getuid?.() !== 0) {
      console.log('    (skipped: kernel events are listed by the root session daemon; run as root)');
      this.skip();
    }
    t = new TestEnv('kernel-list');
  });
  after(async () => {
    await t?.cleanup();
  });

  it('lists tracepoints and system calls from tracefs, as text and JSON', () => {
    const { tracepoints } = t.json<{ tracepoints: string[] }>(['list', '-k']);
    expect(tracepoints).to.include.members(['sched_switch', 'sched_wakeup', 'sched_process_exit']);
    expect(tracepoints.filter((n) => n.startsWith('sys_enter_'))).to.deep.equal([]);
    expect([...tracepoints].sort()).to.deep.equal(tracepoints);
    const { syscalls } = t.json<{ syscalls: string[] }>(['list', '-k', '--syscall']);
    expect(syscalls).to.include.members(['openat', 'read', 'write', 'close']);
    const text = t.ok(['list', '-k']);
    expect(text.startsWith('Kernel events:\n-------------\n')).to.equal(true);
    expect(text).to.include('      sched_switch (type: tracepoint)\n');
    expect(t.cli(['list', '-u', '--syscall']).stderr).to.equal(
      "Error: --syscall lists the kernel's system calls: use it as list -k --syscall\n",
    );
  });
});
