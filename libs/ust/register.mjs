// `node --import @tstrace/ust/register app.js`: loads the tracer and holds the app's start until
// it has registered with the session daemons, or TSTRACE_UST_REGISTER_TIMEOUT ms (default 3000)
// have passed, so that a short-lived app's first events are not lost.
import ust from './dist/src/index.js';

await ust.ready();
