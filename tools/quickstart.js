#!/usr/bin/env node
// `npm start`: traces the sample app in examples/ as a new user would, through a real session
// daemon and consumer daemon, and prints its events. It runs in a private directory so that it
// never touches a daemon or session of yours.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-quickstart-'));
const env = { ...process.env, TSTRACE_RUNDIR: path.join(root, 'run'), TSTRACE_HOME: path.join(root, 'home') };
fs.mkdirSync(env.TSTRACE_HOME);
const repo = path.join(__dirname, '..');
const cli = path.join(repo, 'apps/cli/bin/tstrace');
const trace = path.join(root, 'trace');

function show(command, args) {
  process.stdout.write(
    `\n$ ${[command, ...args]
      .map((a) => (/[\s*"'&|<>]/.test(a) ? `'${a}'` : a))
      .join(' ')
      .replace(root, '$TMP')}\n`,
  );
}

function tstrace(...args) {
  show('tstrace', args);
  const r = spawnSync(process.execPath, [cli, ...args], { env, stdio: 'inherit', cwd: repo });
  if (r.status !== 0) throw new Error(`tstrace ${args[0]} exited with ${r.status}`);
}

let failed = false;
try {
  tstrace('record', '-o', trace, '--', process.execPath, 'examples/shop.js');
  const view = spawnSync(process.execPath, [cli, 'view', trace], { env, encoding: 'utf8' });
  if (view.status === 0) {
    show('tstrace', ['view', trace]);
    process.stdout.write(view.stdout);
  } else {
    show('babeltrace2', [trace]);
    const bt = spawnSync('babeltrace2', [trace], { stdio: 'inherit' });
    if (bt.error)
      process.stdout.write('(babeltrace2 is not installed: apt-get install babeltrace2 to read the trace)\n');
  }
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  failed = true;
} finally {
  const pidFile = path.join(env.TSTRACE_RUNDIR, 'sessiond.pid');
  if (fs.existsSync(pidFile)) process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM');
  setTimeout(() => fs.rmSync(root, { recursive: true, force: true }), 500);
}
process.exitCode = failed ? 1 : 0;
