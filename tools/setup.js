#!/usr/bin/env node
// `npm run setup`, and the first step of `npm test`: makes sure the programs the tests run as peers
// and oracles are on this machine. Missing ones are installed from the system's package manager when
// the machine allows it (root with apt-get); otherwise it stops at once with the command to run, so
// that no test fails or skips because a tool is missing.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/**
 * What the tests need from the system, one Debian package each, with how to tell it is there
 * (a command on PATH, or a C header the compiler finds) and why the tests need it.
 */
const NEEDS = [
  { pkg: 'babeltrace2', command: 'babeltrace2', why: 'the outside reader that checks every trace we write' },
  { pkg: 'lttng-tools', command: 'lttng-sessiond', why: 'the real LTTng 2.13, a peer and a reference' },
  {
    pkg: 'liblttng-ust-dev',
    header: 'lttng/tracepoint.h',
    why: 'builds the LTTng-UST C programs that tests and benchmarks trace',
  },
  { pkg: 'gcc', command: 'gcc', why: 'compiles those C programs' },
];

function onPath(command) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, command)));
}

function compiles(header) {
  const r = spawnSync('gcc', ['-E', '-x', 'c', '-', '-o', '/dev/null'], {
    input: `#include <${header}>\n`,
    stdio: 'pipe',
  });
  return r.status === 0;
}

function present(need) {
  return need.command ? onPath(need.command) : onPath('gcc') && compiles(need.header);
}

function main() {
  const missing = NEEDS.filter((n) => !present(n));
  if (missing.length === 0) return 0;
  const pkgs = missing.map((n) => n.pkg);
  const install = `apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
  const why = missing.map((n) => `${n.pkg}: ${n.why}`).join('; ');
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !onPath('apt-get')) {
    const how = onPath('apt-get') ? `sudo ${install}` : `install ${pkgs.join(', ')} with your package manager`;
    console.error(`setup: the tests need ${why}. Run: ${how}`);
    return 1;
  }
  console.log(`setup: installing ${pkgs.join(' ')} (${why})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', ...pkgs],
  ]) {
    const r = spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) {
      console.error(`setup: apt-get ${args[0]} failed (exit ${r.status ?? r.signal}); run: ${install}`);
      return 1;
    }
  }
  const still = missing.filter((n) => !present(n));
  if (still.length > 0) {
    console.error(`setup: ${still.map((n) => n.pkg).join(', ')} installed but not found; check: ${install}`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
