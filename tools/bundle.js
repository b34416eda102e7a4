// Bundles each binary into one file: Node then reads one script instead of resolving and
// compiling dozens of modules, which is most of a CLI's start-up time (see docs/ARCHITECTURE.md).
// The native addon stays outside the bundle and is loaded from libs/native/build.
const esbuild = require('esbuild');
const { writeCache } = require('./run-bundle');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
// The CLI speaks only the client link: it gets the generated module of that link alone
// (a third of the size), which saves milliseconds at every start.
const clientProtoOnly = {
  name: 'client-proto-only',
  setup(build) {
    build.onResolve({ filter: /\/gen\/proto$/ }, (args) => ({
      path: path.join(args.resolveDir, 'gen/client-proto.js'),
    }));
  },
};
// Every binary of every app: its package.json `bin` names NAME → bin/NAME, bundled from the app's
// dist/src/main.js into dist/NAME.js (where bin/NAME's runBinary finds it).
const plugins = { tstrace: [clientProtoOnly] };
const binaries = fs.readdirSync(path.join(root, 'apps')).flatMap((app) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'apps', app, 'package.json'), 'utf8'));
  return Object.keys(pkg.bin ?? {}).map((name) => ({
    entry: `apps/${app}/dist/src/main.js`,
    out: `apps/${app}/dist/${name}.js`,
    plugins: plugins[name] ?? [],
  }));
});

for (const { entry, out, plugins } of binaries) {
  esbuild
    .build({
      entryPoints: [path.join(root, entry)],
      outfile: path.join(root, out),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      sourcemap: 'linked',
      logLevel: 'warning',
      // The CLI finds the daemon binary at run time on purpose.
      logOverride: { 'require-resolve-not-external': 'silent' },
      external: ['@tstrace/native'],
      plugins,
    })
    .then(() => writeCache(path.join(root, out)))
    .catch(() => {
      process.exitCode = 1; // esbuild has printed the errors
    });
}
