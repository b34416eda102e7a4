// Generates the static protobuf module from proto/*.proto.
// The runtime JS (no comments) goes straight into dist/, since it is not TypeScript; its
// declarations go to src/gen/ so that tsc type-checks against them, and beside the JS. pbts needs the JSDoc
// comments, so it reads a commented copy made in a temporary file.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const bin = (name) => require.resolve(`protobufjs-cli/bin/${name}`);
const protos = ['common', 'client', 'app', 'consumer', 'relay', 'viewer'].map((p) =>
  path.join(root, 'proto', `${p}.proto`),
);
const js = path.join(root, 'dist/src/gen/proto.js');
// The client link alone (common + client): the CLI's bundle uses it, since it speaks no other link.
const clientJs = path.join(root, 'dist/src/gen/client-proto.js');
const clientProtos = protos.filter((p) => /\/(common|client)\.proto$/.test(p));
const dts = path.join(root, 'src/gen/proto.d.ts');
const common = [
  '-t',
  'static-module',
  '-w',
  'commonjs',
  '--no-verify',
  '--no-delimited',
  '--no-service',
  '--no-typeurl',
];

const newest = (files) => Math.max(...files.map((f) => fs.statSync(f).mtimeMs));
const outputs = [js, clientJs, dts];
const upToDate = outputs.every((f) => fs.existsSync(f)) && newest(outputs) >= newest([...protos, __filename]);
if (!upToDate) {
  fs.mkdirSync(path.dirname(js), { recursive: true });
  fs.mkdirSync(path.dirname(dts), { recursive: true });
  const commented = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tstrace-gen-')), 'proto.js');
  const run = (args) => execFileSync(process.execPath, args, { stdio: 'inherit' });
  run([bin('pbjs'), ...common, '-o', commented, ...protos]);
  run([bin('pbts'), '--no-comments', '-o', dts, commented]);
  run([bin('pbjs'), ...common, '--no-comments', '-o', js, ...protos]);
  run([bin('pbjs'), ...common, '--no-comments', '-o', clientJs, ...clientProtos]);
  fs.rmSync(path.dirname(commented), { recursive: true, force: true });
}
// Other packages import the compiled dist/: the declarations must sit beside the JS there too.
fs.copyFileSync(dts, path.join(path.dirname(js), 'proto.d.ts'));
