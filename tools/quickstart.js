#!/usr/bin/env node
// `npm start`: a session's life through a real session daemon, as a new user would type it.
// Until the data path exists this shows the control plane; it runs in a private directory so
// that it never touches a daemon or session of yours.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-quickstart-'));
const env = { ...process.env, TSTRACE_RUNDIR: path.join(root, 'run'), TSTRACE_HOME: path.join(root, 'home') };
fs.mkdirSync(env.TSTRACE_HOME);
const cli = path.join(__dirname, '../apps/cli/bin/tstrace');

function tstrace(...args) {
  process.stdout.write(`\n$ tstrace ${args.map((a) => (/[\s*"'&|<>]/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { env, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`tstrace ${args[0]} exited with ${r.status}`);
}

let failed = false;
try {
  tstrace('create', 'demo');
  tstrace('enable-channel', '-u', 'requests', '--subbuf-size', '64k', '--num-subbuf', '8');
  tstrace('enable-event', '-u', 'app:*', '-c', 'requests', '--filter', 'status >= 500 || latency_ms > 100', '-x', 'app:heartbeat');
  tstrace('enable-event', '-u', 'db:query', '-c', 'requests', '--loglevel', 'TRACE_INFO');
  tstrace('add-context', '-u', '-t', 'vpid', '-t', 'procname');
  tstrace('track', '-u', '--pid', String(process.pid));
  tstrace('start');
  tstrace('status');
  tstrace('stop');
  tstrace('save');
  tstrace('destroy', '--all');
  tstrace('load', 'demo');
  tstrace('list');
  tstrace('destroy', '--all');
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  failed = true;
} finally {
  const pidFile = path.join(env.TSTRACE_RUNDIR, 'sessiond.pid');
  if (fs.existsSync(pidFile)) process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM');
  setTimeout(() => fs.rmSync(root, { recursive: true, force: true }), 200);
}
process.exitCode = failed ? 1 : 0;
