// `node --require @tstrace/ust/register app.js`: loads the tracer and holds the start of the
// main module until it has registered with the session daemons, or TSTRACE_UST_REGISTER_TIMEOUT
// ms (default 3000) have passed. A CommonJS preload cannot await, so it wraps Module.runMain,
// which Node calls once the preloads are loaded (for CommonJS and ES module entry points alike).
// `--import @tstrace/ust/register` loads register.mjs instead, which awaits ready().
import Module from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { ready } from './index';

const registered = ready();

type RunMain = (...args: unknown[]) => unknown;
const loader = Module as unknown as { runMain?: RunMain };
const runMain = loader.runMain;
if (isMainThread && typeof runMain === 'function') {
  loader.runMain = function (this: unknown, ...args: unknown[]): void {
    loader.runMain = runMain;
    // nextTick: an exception of the main module stays an uncaught exception, not a rejection.
    void registered.then(() => process.nextTick(() => runMain.apply(this, args)));
  };
}
