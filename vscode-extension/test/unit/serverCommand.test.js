// How the adapter is started: serverCommand, else pythonPath -m dap_server serve, else pipeline-dap on PATH.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const os = require('os');
const path = require('path');
const { resolveServerCommand, splitCommandLine, expandVariables, realProbes, commandForRole } = require('../../out/serverCommand');

const probes = ({ onPath = {}, executables = [], importOk = [] } = {}) => ({
  which: (c) => onPath[c],
  isExecutable: (f) => executables.includes(f),
  importError: (py) => (importOk.includes(py) ? undefined : "ModuleNotFoundError: No module named 'dap_server'"),
});

test('serverCommand (array or string) wins', () => {
  const p = probes({ onPath: { 'pipeline-dap': '/usr/bin/pipeline-dap' }, executables: ['/opt/v/bin/pipeline-dap'] });
  let r = resolveServerCommand({ serverCommand: ['/opt/v/bin/pipeline-dap', 'serve'], pythonPath: '/x/python' }, p);
  assert.deepEqual(r, { ok: true, server: { command: '/opt/v/bin/pipeline-dap', args: ['serve'], source: 'pipelineDap.serverCommand' } });
  r = resolveServerCommand({ serverCommand: 'pipeline-dap serve --log "a b"' }, p);
  assert.deepEqual(r.server, { command: '/usr/bin/pipeline-dap', args: ['serve', '--log', 'a b'], source: 'pipelineDap.serverCommand' });
});

test('a broken serverCommand is an error that names the setting', () => {
  const r = resolveServerCommand({ serverCommand: ['/nope/pipeline-dap', 'serve'] }, probes());
  assert.equal(r.ok, false);
  assert.match(r.message, /pipelineDap\.serverCommand/);
  assert.match(r.message, /\/nope\/pipeline-dap/);
});

test('pythonPath runs -m dap_server serve, and says how to install when dap_server is missing', () => {
  const ok = resolveServerCommand({ pythonPath: '/v/bin/python' }, probes({ executables: ['/v/bin/python'], importOk: ['/v/bin/python'] }));
  assert.deepEqual(ok.server, { command: '/v/bin/python', args: ['-m', 'dap_server', 'serve'], source: 'pipelineDap.pythonPath' });
  const missing = resolveServerCommand({ pythonPath: '/v/bin/python' }, probes({ executables: ['/v/bin/python'] }));
  assert.equal(missing.ok, false);
  assert.match(missing.message, /pip install pipeline-dap/);
  assert.match(missing.message, /No module named 'dap_server'/);
  assert.equal(missing.installCommand, '/v/bin/python -m pip install pipeline-dap');
  const absent = resolveServerCommand({ pythonPath: '/v/bin/python' }, probes());
  assert.match(absent.message, /pipelineDap\.pythonPath/);
});

test('falls back to pipeline-dap on PATH; with nothing, a message with the fix', () => {
  const r = resolveServerCommand({}, probes({ onPath: { 'pipeline-dap': '/usr/local/bin/pipeline-dap' } }));
  assert.deepEqual(r.server, { command: '/usr/local/bin/pipeline-dap', args: ['serve'], source: 'PATH' });
  const none = resolveServerCommand({ serverCommand: [], pythonPath: '' }, probes());
  assert.equal(none.ok, false);
  assert.match(none.message, /pip install pipeline-dap/);
  assert.match(none.message, /pipelineDap\.pythonPath/);
});

test('the language server (role lsp) comes from the same settings, with lsp in place of serve', () => {
  const p = probes({ onPath: { 'pipeline-dap': '/usr/bin/pipeline-dap' }, executables: ['/opt/v/bin/pipeline-dap', '/v/bin/python'], importOk: ['/v/bin/python'] });
  const id = (s) => s;
  let r = resolveServerCommand({ serverCommand: ['/opt/v/bin/pipeline-dap', 'serve', '--log-file', '/tmp/x'] }, p, id, 'lsp');
  assert.deepEqual(r.server, { command: '/opt/v/bin/pipeline-dap', args: ['lsp'], source: 'pipelineDap.serverCommand' });
  r = resolveServerCommand({ pythonPath: '/v/bin/python' }, p, id, 'lsp');
  assert.deepEqual(r.server, { command: '/v/bin/python', args: ['-m', 'dap_server', 'lsp'], source: 'pipelineDap.pythonPath' });
  r = resolveServerCommand({}, p, id, 'lsp');
  assert.deepEqual(r.server, { command: '/usr/bin/pipeline-dap', args: ['lsp'], source: 'PATH' });
  // a wrapper without a serve argument gets lsp appended
  assert.deepEqual(commandForRole(['/w/run-pipeline-dap'], 'lsp'), ['/w/run-pipeline-dap', 'lsp']);
  assert.deepEqual(commandForRole(['python', '-m', 'dap_server', 'serve', '-v'], 'lsp'), ['python', '-m', 'dap_server', 'lsp']);
  assert.deepEqual(commandForRole(['python', '-m', 'dap_server', 'serve', '-v'], 'serve'), ['python', '-m', 'dap_server', 'serve', '-v']);
  // the messages name the language server, not the debug adapter
  const none = resolveServerCommand({}, probes(), id, 'lsp');
  assert.equal(none.ok, false);
  assert.match(none.message, /^Pipeline Language Server: cannot start the language server: "pipeline-dap" is not on PATH/);
  assert.match(none.message, /pip install pipeline-dap/);
  const broken = resolveServerCommand({ serverCommand: ['/nope/pipeline-dap', 'serve'] }, probes(), id, 'lsp');
  assert.match(broken.message, /^Pipeline Language Server: the setting "pipelineDap\.serverCommand" starts "\/nope\/pipeline-dap"/);
  // the debug adapter's wording is unchanged
  assert.match(resolveServerCommand({}, probes()).message, /^Pipeline Debugger: cannot start the debug adapter/);
});

test('command lines and variables', () => {
  assert.deepEqual(splitCommandLine(`a "b c" 'd e' f\\ g ""`), ['a', 'b c', 'd e', 'f g', '']);
  assert.equal(expandVariables('${workspaceFolder}/.venv/bin/python', '/ws'), '/ws/.venv/bin/python');
  assert.equal(expandVariables('~/x', undefined), path.join(os.homedir(), 'x'));
  assert.equal(expandVariables('${env:FOO}/y', undefined, { FOO: '/foo' }), '/foo/y');
});

test('real probes: PATH lookup and a python without dap_server', () => {
  const p = realProbes({ PATH: '/usr/bin:/bin' });
  assert.equal(p.which('sh'), fs_exists('/usr/bin/sh') ? '/usr/bin/sh' : '/bin/sh');
  const tmp = require('fs').mkdtempSync(path.join(os.tmpdir(), 'pdap-'));
  const plain = path.join(tmp, 'plain');
  require('fs').writeFileSync(plain, 'x', { mode: 0o644 });
  assert.equal(p.isExecutable(plain), false);
  assert.equal(p.isExecutable(tmp), false);
  require('fs').rmSync(tmp, { recursive: true });
  assert.match(p.importError('/usr/bin/python3') || 'ok', /dap_server|ok/);
});

function fs_exists(f) {
  return require('fs').existsSync(f);
}
