// A small traced Node.js app: a shop that serves requests, queries its database and misses its
// cache now and then. Three providers, every kind of field the tracer writes often.
//
//   npx tstrace record -- node examples/shop.js        (from the repository, after npm install)
//   npm start                                          (records it and prints its events)
const { double, enumeration, LogLevel, provider, ready, string, u32, u64 } = require('@tstrace/ust');

const http = provider('shop_http');
const request = http.event(
  'request',
  [
    string('method'),
    string('path'),
    enumeration('status', 'u16', { OK: 200, NOT_FOUND: 404, ERROR: 500 }),
    double('latency_ms'),
  ],
  LogLevel.INFO,
);
const db = provider('shop_db');
const query = db.event('query', [string('table'), u64('rows'), double('ms')], LogLevel.DEBUG);
const cacheMiss = provider('shop_cache').event('miss', [string('key'), u32('size')], LogLevel.WARNING);

const PATHS = ['/', '/cart', '/item/42', '/item/7', '/checkout', '/nope'];

async function main() {
  // Events are registered with the session daemon when they are defined; wait for it so that
  // the first requests are recorded too (a no-op when no daemon runs).
  await ready();
  for (let i = 0; i < 12; i++) {
    const path = PATHS[i % PATHS.length];
    const rows = path.startsWith('/item') ? 1 : path === '/cart' ? 3 : 0;
    if (query.enabled) query.emit(path === '/cart' ? 'carts' : 'items', rows, 0.25 * (i + 1));
    if (i % 4 === 1 && cacheMiss.enabled) cacheMiss.emit(`item:${i}`, 128 * i);
    const status = path === '/nope' ? 404 : path === '/checkout' && i > 6 ? 500 : 200;
    if (request.enabled) request.emit(i % 3 === 0 ? 'POST' : 'GET', path, status, 1.5 * (i + 1));
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  console.log('shop: served 12 requests');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
