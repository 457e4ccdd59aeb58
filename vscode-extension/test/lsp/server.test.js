// Drives the real language server (`python -m dap_server lsp`, started with the argv the extension
// builds; interpreter from PIPELINE_DAP_PYTHON, default <repo>/.venv/bin/python) over stdio, and checks
// the contract the extension relies on: code lenses call `pipelineDap.debug` with `[launchConfig]`
// ("Debug") or `[launchConfig, {breakpoints: [{path, line}]}]` ("Debug from here", line 1-based), the
// launch configuration is one the debugger accepts, and YAML that is not a pipeline gets nothing.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const cp = require('child_process');
const fs = require('fs');
const path = require('path');
const rpc = require('vscode-languageserver-protocol/node');
const paths = require('../lib/paths');
const fixtures = require('../lib/fixtures');
const { checkServerInstalled } = require('../lib/dapSession');
const { resolveServerCommand, realProbes } = require('../../out/serverCommand');
const { pipelineDocuments } = require('../../out/yamlDocs');

const BUILD_DIR = path.join(paths.tektonFixtures, 'build-pipeline');
const PIPELINE = path.join(BUILD_DIR, 'pipeline.yaml');
const pkg = JSON.parse(fs.readFileSync(path.join(paths.extensionRoot, 'package.json'), 'utf8'));
const launchAttributes = pkg.contributes.debuggers[0].configurationAttributes.launch.properties;

let server;
let conn;
let stderr = '';
const diagnostics = new Map(); // uri -> waiters / last diagnostics

function uriOf(file) {
  return require('url').pathToFileURL(file).toString();
}

function nextDiagnostics(uri, timeout = 20000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no publishDiagnostics for ${uri} in ${timeout} ms; server stderr: ${stderr.slice(-500)}`)), timeout);
    diagnostics.set(uri, (d) => {
      clearTimeout(timer);
      resolve(d);
    });
  });
}

async function open(uri, text) {
  const diags = nextDiagnostics(uri);
  await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: 1, text } });
  return diags;
}

before(async () => {
  checkServerInstalled();
  const res = resolveServerCommand({ pythonPath: paths.python }, realProbes(), (s) => s, 'lsp');
  assert.ok(res.ok, res.message);
  assert.deepEqual(res.server.args, ['-m', 'dap_server', 'lsp']);
  server = cp.spawn(res.server.command, res.server.args, { cwd: BUILD_DIR, stdio: ['pipe', 'pipe', 'pipe'] });
  server.stderr.on('data', (d) => (stderr += d));
  conn = rpc.createProtocolConnection(new rpc.StreamMessageReader(server.stdout), new rpc.StreamMessageWriter(server.stdin));
  conn.onNotification('textDocument/publishDiagnostics', (p) => {
    const waiter = diagnostics.get(p.uri);
    diagnostics.delete(p.uri);
    if (typeof waiter === 'function') waiter(p.diagnostics);
  });
  conn.onRequest(() => null); // workspace/configuration, client/registerCapability...
  conn.listen();
  const init = await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri: uriOf(BUILD_DIR),
    workspaceFolders: [{ uri: uriOf(BUILD_DIR), name: 'build-pipeline' }],
    capabilities: { textDocument: { documentSymbol: { hierarchicalDocumentSymbolSupport: true }, codeLens: {}, publishDiagnostics: {} } },
  });
  assert.ok(init.capabilities.codeLensProvider, 'no codeLensProvider');
  assert.ok(init.capabilities.documentSymbolProvider, 'no documentSymbolProvider');
  await conn.sendNotification('initialized', {});
});

after(async () => {
  if (!conn) return;
  const exited = new Promise((r) => server.once('exit', r));
  try {
    await conn.sendRequest('shutdown');
    await conn.sendNotification('exit');
  } catch {
    // reported by the tests
  }
  let timer;
  await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
  clearTimeout(timer);
  conn.dispose();
  if (server.exitCode === null && server.signalCode === null) {
    server.kill();
    throw new Error('the language server was still running 5 s after shutdown + exit');
  }
});

test('pipeline.yaml: a "Debug" lens on the Pipeline document with a launch configuration the debugger takes', async () => {
  const uri = uriOf(PIPELINE);
  const diags = await open(uri, fs.readFileSync(PIPELINE, 'utf8'));
  assert.deepEqual(diags, [], 'the fixture has no problems');
  const lenses = await conn.sendRequest('textDocument/codeLens', { textDocument: { uri } });
  const debug = lenses.filter((l) => l.command?.title === 'Debug');
  assert.equal(debug.length, 1, JSON.stringify(lenses));
  const [doc] = pipelineDocuments(fs.readFileSync(PIPELINE, 'utf8'));
  assert.equal(debug[0].range.start.line, doc.line - 1, 'the lens sits on the first line of the Pipeline document');
  assert.equal(debug[0].command.command, 'pipelineDap.debug');
  assert.equal(debug[0].command.arguments.length, 1);
  const config = debug[0].command.arguments[0];
  assert.equal(config.type, 'pipeline');
  assert.equal(config.request, 'launch');
  assert.equal(config.program, PIPELINE);
  assert.equal(config.object, 'Pipeline/build-and-test');
  for (const k of Object.keys(config)) {
    if (!['type', 'request', 'name'].includes(k)) assert.ok(k in launchAttributes, `lens config key ${k} is not a launch attribute`);
  }
});

test('pipeline.yaml: "Debug from here" on each pipeline task, with a breakpoint at its 1-based line', async () => {
  const uri = uriOf(PIPELINE);
  const lenses = await conn.sendRequest('textDocument/codeLens', { textDocument: { uri } });
  const here = lenses.filter((l) => l.command?.title === 'Debug from here');
  const tasks = fixtures.outline(PIPELINE).flatMap((d) => d.tasks);
  assert.deepEqual(here.map((l) => l.range.start.line + 1).sort((a, b) => a - b), tasks.map((t) => t.line).sort((a, b) => a - b));
  for (const lens of here) {
    assert.equal(lens.command.command, 'pipelineDap.debug');
    const [config, extra] = lens.command.arguments;
    assert.equal(config.program, PIPELINE);
    assert.deepEqual(extra, { breakpoints: [{ path: PIPELINE, line: lens.range.start.line + 1 }] });
  }
});

test('pipeline.yaml: the outline has the Pipeline and its tasks', async () => {
  const symbols = await conn.sendRequest('textDocument/documentSymbol', { textDocument: { uri: uriOf(PIPELINE) } });
  assert.deepEqual(symbols.map((s) => s.name), ['Pipeline/build-and-test']);
  const names = JSON.stringify(symbols[0].children);
  for (const t of ['fetch', 'build', 'report']) assert.ok(names.includes(`"${t}"`), `no ${t} in the outline`);
});

test('YAML that is not a pipeline: no lenses, no symbols, no diagnostics', async () => {
  const uri = 'untitled:Untitled-values';
  assert.deepEqual(await open(uri, 'replicas: 3\nkind: Pipeline\nspec: {tasks: [1, 2]}\n'), []);
  assert.deepEqual((await conn.sendRequest('textDocument/codeLens', { textDocument: { uri } })) ?? [], []);
  assert.deepEqual((await conn.sendRequest('textDocument/documentSymbol', { textDocument: { uri } })) ?? [], []);
});

test('an unsaved (untitled) pipeline: outline and diagnostics, but no lens (nothing on disk to run)', async () => {
  const uri = 'untitled:Untitled-pipeline';
  const text = 'apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  tasks:\n    - name: a\n      runAfter: b\n      taskSpec: {steps: [{name: s, image: alpine, script: "true"}]}\n';
  const diags = await open(uri, text);
  assert.ok(diags.some((d) => /runAfter/.test(d.message) && d.range.start.line === 6), JSON.stringify(diags));
  assert.deepEqual((await conn.sendRequest('textDocument/codeLens', { textDocument: { uri } })) ?? [], []);
  const symbols = await conn.sendRequest('textDocument/documentSymbol', { textDocument: { uri } });
  assert.deepEqual(symbols.map((s) => s.name), ['Pipeline/p']);
});
