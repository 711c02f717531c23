// npm_modules.cjs - the npm modules of the deploy tests (tests/deploy/package.json), installed
// by scripts/install-deps.sh outside any build dir, so ctest never downloads:
//   $NUMAFIT_NPM_DIR, else ${XDG_CACHE_HOME:-~/.cache}/numafit/npm-deploy (the same rule as
//   install-deps.sh). npmRequire() loads from there; when the modules are missing or were
//   installed from another package.json, the test cannot run: exit 77 (ctest: skipped).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { createRequire } = require('module');

function npmDir() {
  if (process.env.NUMAFIT_NPM_DIR) return process.env.NUMAFIT_NPM_DIR;
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'numafit', 'npm-deploy');
}

function npmRequire() {
  const dir = npmDir();
  const want = fs.readFileSync(path.join(__dirname, 'package.json'), 'utf8');
  let have = null;
  try {
    have = fs.readFileSync(path.join(dir, 'package.json'), 'utf8');
  } catch (e) {
    // not installed: said below
  }
  const deps = Object.keys(JSON.parse(want).dependencies);
  const missing = deps.filter((d) => !fs.existsSync(path.join(dir, 'node_modules', d, 'package.json')));
  if (have !== want || missing.length) {
    console.log(`SKIP the npm modules ${deps.join(', ')} are not installed in ${dir}` +
      (have !== null && have !== want ? ' (from another tests/deploy/package.json)' : '') +
      ': run scripts/install-deps.sh');
    process.exit(77);
  }
  return createRequire(path.join(dir, 'package.json'));
}

module.exports = { npmDir, npmRequire };
