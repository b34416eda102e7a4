// Run as a worker thread by registration.test.ts: loads the tracer (its own instance, as any
// worker that imports the package), defines an event, waits for registration, reports.
import { parentPort } from 'node:worker_threads';
import { provider, ready, u32 } from '../src/index';

const ev = provider('worker').event('hello', [u32('n')]);
void ready(5000).then(() => parentPort!.postMessage({ index: (ev as unknown as { index: number }).index }));
