// Loads a bundled binary with V8's code cache (made at build time beside the bundle), so Node
// skips compiling it at each start. A cache V8 rejects (other Node version, changed bundle) is
// simply ignored: the bundle then compiles as usual.
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

function compile(file) {
  const source = fs.readFileSync(file, 'utf8');
  let cachedData;
  try {
    cachedData = fs.readFileSync(`${file}.cache`);
  } catch {
    // No cache: compile normally.
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  const localRequire = (id) => mod.require(id);
  localRequire.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
  localRequire.main = require.main;
  script.runInThisContext().call(mod.exports, mod.exports, localRequire, mod, file, path.dirname(file));
  mod.loaded = true;
  return { exports: mod.exports, script };
}

/** The exports of a bundle, loaded through the code cache. */
function loadBundle(file) {
  return compile(file).exports;
}

/**
 * Writes the code cache of a bundle, after running its top level and its `warmUp` export (if
 * any), so that the cache holds the functions every run needs already compiled.
 */
function writeCache(file) {
  const { exports, script } = compile(file);
  if (typeof exports.warmUp === 'function') exports.warmUp();
  fs.writeFileSync(`${file}.cache`, script.createCachedData());
}

/**
 * Runs the binary `name` of the app in `appDir` (its bin/ script calls this): the bundle
 * `dist/NAME.js` when built, else the compiled sources (`dist/src/main.js`).
 */
function runBinary(appDir, name) {
  const bundle = path.join(appDir, 'dist', `${name}.js`);
  let entry;
  try {
    entry = loadBundle(bundle);
  } catch (err) {
    if (err.code !== 'ENOENT' || err.path !== bundle) throw err;
    entry = require(path.join(appDir, 'dist/src/main.js'));
  }
  entry.main();
}

module.exports = { loadBundle, writeCache, runBinary };
if (require.main === module) process.argv.slice(2).forEach(writeCache);
