// `node --import @tstrace/ust/register app.js`: loads the tracer and holds the start of the app
// until it has registered with the session daemons, or TSTRACE_UST_REGISTER_TIMEOUT ms (default
// 3000) have passed. Node waits for a preloaded module's top-level await.
import ust from './index.js';

await ust.ready();
