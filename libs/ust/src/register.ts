// `node --require @tstrace/ust/register app.js`: loads the tracer, which registers in the
// background. A CommonJS preload cannot hold the app's start (that needs the event loop the
// registration runs on): use `--import @tstrace/ust/register` (register.mjs), which waits, or
// `await ready()` in the app.
import './index';
