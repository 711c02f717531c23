#!/usr/bin/env node
// examples_json.cjs FILE... - parse deploy/examples YAML (js-yaml) and validate every object
// kubernetes-models has a schema for (Pod); prints one JSON object to stdout:
//   {"files": {FILE: [doc, ...]}, "schema": [{"file", "kind", "name", "error": null | "..."}]}
// test_examples.py does the rest. The npm modules come from scripts/install-deps.sh
// (tests/deploy/npm_modules.cjs: exit 77 when they are not installed).
'use strict';
const fs = require('fs');
const { npmRequire } = require('../deploy/npm_modules.cjs');

const req = npmRequire();
const yaml = req('js-yaml');

const out = { files: {}, schema: [] };
for (const file of process.argv.slice(2)) {
  const docs = yaml.loadAll(fs.readFileSync(file, 'utf8')).filter((d) => d !== null && d !== undefined);
  out.files[file] = docs;
  for (const o of docs) {
    if (o.apiVersion !== 'v1') continue; // CRDs and KubeletConfiguration: no schema in kubernetes-models
    const Cls = req('kubernetes-models/v1')[o.kind];
    let error = null;
    try {
      if (typeof Cls !== 'function') throw new Error(`no kind ${o.kind}`);
      new Cls(o).validate();
    } catch (e) {
      error = e.message;
    }
    out.schema.push({ file, kind: o.kind, name: o.metadata && o.metadata.name, error });
  }
}
process.stdout.write(JSON.stringify(out));
