// The vscode-facing parts with a stand-in `vscode` module: F5 without launch.json, the QuickPick for
// multi-document files, the trace file format, the open-shell request, and the adapter command.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { installFakeVscode, editorFor } = require('../lib/fakeVscode');

const PIPE = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec: {tasks: []}
`;
const TASKS_AND_PIPE = `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t1}
spec: {steps: [{name: s, image: alpine}]}
---
${PIPE}`;

test('F5 with no launch.json on a single-document Tekton file: local launch of that file, no picker', async () => {
  const vscode = installFakeVscode();
  const { PipelineConfigurationProvider } = require('../../out/configProvider');
  vscode.window.activeTextEditor = editorFor('/ws/pipeline.yaml', PIPE);
  const cfg = await new PipelineConfigurationProvider().resolveDebugConfiguration(undefined, {});
  assert.deepEqual(cfg, { type: 'pipeline', request: 'launch', name: 'Debug Pipeline/p', program: '/ws/pipeline.yaml', engine: 'local' });
  assert.equal(vscode.calls.quickPicks.length, 0);
});

test('F5 on a file with several runnable documents: QuickPick (default first) sets object', async () => {
  const vscode = installFakeVscode();
  const { PipelineConfigurationProvider } = require('../../out/configProvider');
  vscode.window.activeTextEditor = editorFor('/ws/all.yaml', TASKS_AND_PIPE);
  vscode.quickPickAnswer = (items) => items.find((i) => i.label === 'Task/t1');
  const cfg = await new PipelineConfigurationProvider().resolveDebugConfiguration(undefined, {});
  assert.equal(vscode.calls.quickPicks.length, 1);
  const items = vscode.calls.quickPicks[0].items;
  assert.deepEqual(items.map((i) => i.label), ['Pipeline/p', 'Task/t1']);
  assert.match(items[0].description, /default/);
  assert.equal(cfg.object, 'Task/t1');
  assert.equal(cfg.program, '/ws/all.yaml');
  // dismissing the picker cancels the launch
  vscode.quickPickAnswer = () => undefined;
  assert.equal(await new PipelineConfigurationProvider().resolveDebugConfiguration(undefined, {}), undefined);
});

test('F5 on a non-pipeline file or an unsaved editor: an error, no launch', async () => {
  const vscode = installFakeVscode();
  const { PipelineConfigurationProvider } = require('../../out/configProvider');
  vscode.window.activeTextEditor = editorFor('/ws/values.yaml', 'replicas: 3\n');
  assert.equal(await new PipelineConfigurationProvider().resolveDebugConfiguration(undefined, {}), undefined);
  assert.match(vscode.calls.errors[0].msg, /tekton\.dev/);
  vscode.window.activeTextEditor = editorFor('Untitled-1', PIPE, 'untitled');
  assert.equal(await new PipelineConfigurationProvider().resolveDebugConfiguration(undefined, {}), undefined);
  assert.match(vscode.calls.errors[1].msg, /save/i);
});

test('launch.json configurations pass through; a launch without program takes the open file', async () => {
  const vscode = installFakeVscode();
  const { PipelineConfigurationProvider } = require('../../out/configProvider');
  const given = { type: 'pipeline', request: 'launch', name: 'x', program: '/ws/p.yaml', engine: 'tekton', namespace: 'ci' };
  assert.deepEqual(await new PipelineConfigurationProvider().resolveDebugConfiguration(undefined, { ...given }), given);
  const attach = { type: 'pipeline', request: 'attach', name: 'a', run: 'pipelinerun/r' };
  assert.deepEqual(await new PipelineConfigurationProvider().resolveDebugConfiguration(undefined, { ...attach }), attach);
  vscode.window.activeTextEditor = editorFor('/ws/pipeline.yaml', PIPE);
  const cfg = await new PipelineConfigurationProvider().resolveDebugConfiguration(undefined, { type: 'pipeline', request: 'launch', name: 'n', engine: 'tekton' });
  assert.equal(cfg.program, '/ws/pipeline.yaml');
  assert.equal(cfg.engine, 'tekton');
  assert.equal(cfg.name, 'n');
});

test('trace: JSONL {"dir","msg"} in both directions, and the output channel', () => {
  const vscode = installFakeVscode();
  const { TraceTrackerFactory } = require('../../out/trace');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdap-trace-'));
  const file = path.join(dir, 'sub', 'trace.jsonl');
  const session = { id: 's1', name: 'Debug', workspaceFolder: undefined };
  const factory = new TraceTrackerFactory();
  vscode.settings = { 'pipelineDap.trace': false, 'pipelineDap.traceFile': file };
  assert.equal(factory.createDebugAdapterTracker(session), undefined, 'no tracker when trace is off');
  vscode.settings['pipelineDap.trace'] = true;
  const t = factory.createDebugAdapterTracker(session);
  t.onWillReceiveMessage({ seq: 1, type: 'request', command: 'initialize' });
  t.onDidSendMessage({ seq: 1, type: 'response', request_seq: 1, command: 'initialize', success: true });
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines, [
    { dir: 'in', msg: { seq: 1, type: 'request', command: 'initialize' } },
    { dir: 'out', msg: { seq: 1, type: 'response', request_seq: 1, command: 'initialize', success: true } },
  ]);
  assert.ok(vscode.calls.output.some((l) => l.includes('-> adapter') && l.includes('"initialize"')));
  fs.rmSync(dir, { recursive: true });
});

test('open shell: evaluate ":shell" in the repl context with the focused frame', async () => {
  const vscode = installFakeVscode();
  const { openShellInPausedStep } = require('../../out/shell');
  const requests = [];
  const session = {
    id: 's1',
    type: 'pipeline',
    customRequest: async (command, args) => {
      requests.push({ command, args });
      return command === 'stackTrace' ? { stackFrames: [{ id: 77 }] } : {};
    },
  };
  vscode.debug.activeDebugSession = session;
  vscode.debug.activeStackItem = new vscode.DebugStackFrame(session, 3, 42);
  await openShellInPausedStep();
  assert.deepEqual(requests, [{ command: 'evaluate', args: { expression: ':shell', context: 'repl', frameId: 42 } }]);
  // a focused thread: its top frame
  requests.length = 0;
  vscode.debug.activeStackItem = new vscode.DebugThread(session, 3);
  await openShellInPausedStep();
  assert.deepEqual(requests.map((r) => r.command), ['stackTrace', 'evaluate']);
  assert.equal(requests[1].args.frameId, 77);
  // not a pipeline session: an error, no request
  requests.length = 0;
  vscode.debug.activeDebugSession = { ...session, type: 'python' };
  await openShellInPausedStep();
  assert.equal(requests.length, 0);
  assert.ok(vscode.calls.errors.length >= 1);
});

test('adapter factory: pythonPath -> python -m dap_server serve; nothing -> error with the fix', () => {
  const vscode = installFakeVscode();
  const { PipelineAdapterFactory } = require('../../out/adapterFactory');
  const probes = { which: () => undefined, isExecutable: (f) => f === '/ws/.venv/bin/python', importError: () => undefined };
  vscode.settings = { 'pipelineDap.pythonPath': '${workspaceFolder}/.venv/bin/python' };
  const session = { workspaceFolder: { uri: { fsPath: '/ws' } }, configuration: { program: '/ws/p.yaml' } };
  const d = new PipelineAdapterFactory(probes).createDebugAdapterDescriptor(session);
  assert.equal(d.command, '/ws/.venv/bin/python');
  assert.deepEqual(d.args, ['-m', 'dap_server', 'serve']);
  assert.equal(d.options.cwd, '/ws');
  vscode.settings = {};
  assert.throws(() => new PipelineAdapterFactory(probes).createDebugAdapterDescriptor(session), /pip install pipeline-dap/);
});
