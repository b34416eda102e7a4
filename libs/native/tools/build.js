// Builds the addon with node-gyp against the headers of the running Node, offline: node-gyp
// would otherwise download them. Skips the build when the addon is newer than its sources.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const out = path.join(root, 'build/Release/tstrace_native.node');
const sources = [path.join(root, 'addon/native.c'), path.join(root, 'binding.gyp'), __filename];
if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= Math.max(...sources.map((f) => fs.statSync(f).mtimeMs)))
  process.exit(0);

// The prefix whose include/node holds the headers of this very Node binary.
const candidates = [path.resolve(path.dirname(process.execPath), '..'), '/usr', '/usr/local'];
const nodedir = candidates.find((d) => fs.existsSync(path.join(d, 'include/node/node_api.h')));
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const args = [gyp, 'rebuild', '--silent', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
try {
  execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
} catch {
  console.error(
    `@tstrace/native: node-gyp failed (nodedir=${nodedir ?? 'none found, node-gyp would download headers'}); see above`,
  );
  process.exit(1);
}
