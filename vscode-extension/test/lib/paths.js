// Where things are, computed from this file's location (never from /work/main), each overridable by env.
'use strict';
const fs = require('fs');
const path = require('path');

const extensionRoot = path.resolve(__dirname, '..', '..');
const repoRoot = path.resolve(extensionRoot, '..');

/** shared/ lies beside the repo (CI: a fresh clone of main with shared/ beside it). */
function sharedDir() {
  const candidates = [process.env.PIPELINE_DAP_SHARED, path.join(repoRoot, '..', 'shared'), path.join(repoRoot, 'shared')].filter(Boolean);
  return candidates.find((d) => fs.existsSync(d)) || candidates[0];
}

module.exports = {
  extensionRoot,
  repoRoot,
  python: process.env.PIPELINE_DAP_PYTHON || path.join(repoRoot, '.venv', 'bin', 'python'),
  schemaFile: process.env.DAP_SCHEMA || path.join(sharedDir(), 'dap', 'debugAdapterProtocol.json'),
  mappingFile: process.env.DAP_MAPPING || path.join(sharedDir(), 'design', 'dap-mapping.md'),
  tektonFixtures: path.join(repoRoot, 'fixtures', 'tekton'),
  argoFixtures: path.join(repoRoot, 'fixtures', 'argo'),
};
