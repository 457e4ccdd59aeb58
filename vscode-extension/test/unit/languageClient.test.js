// The language-server side with a stand-in `vscode` module and a stand-in vscode-languageclient:
// the pipelineDap.debug command behind the code lenses, the client's options (selector, command from
// the settings), and what happens when the server is disabled, missing, fails to start or keeps crashing.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { installFakeVscode, documentFor } = require('../lib/fakeVscode');

const WS = { uri: { fsPath: '/ws', scheme: 'file' }, name: 'ws', index: 0 };
const CONFIG = { type: 'pipeline', request: 'launch', name: 'Debug Pipeline/build', program: '/ws/pipeline.yaml', object: 'Pipeline/build' };
const TEKTON = 'apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec: {tasks: []}\n';

test('pipelineDap.debug ("Debug"): startDebugging with the config, in the folder of its program', async () => {
  const vscode = installFakeVscode();
  vscode.workspace.workspaceFolders = [WS];
  const { debugCommand } = require('../../out/debugCommand');
  assert.equal(await debugCommand(CONFIG), true);
  assert.equal(vscode.calls.addedBreakpoints.length, 0);
  assert.equal(vscode.calls.startDebugging.length, 1);
  assert.equal(vscode.calls.startDebugging[0].folder, WS);
  assert.deepEqual(vscode.calls.startDebugging[0].config, CONFIG);
  // a program outside every folder: no folder
  await debugCommand({ ...CONFIG, program: '/elsewhere/p.yaml' });
  assert.equal(vscode.calls.startDebugging[1].folder, undefined);
});

test('pipelineDap.debug ("Debug from here"): a breakpoint at the 1-based line, added once, then startDebugging', async () => {
  const vscode = installFakeVscode();
  vscode.workspace.workspaceFolders = [WS];
  const { debugCommand } = require('../../out/debugCommand');
  const extra = { breakpoints: [{ path: '/ws/pipeline.yaml', line: 40 }] };
  await debugCommand(CONFIG, extra);
  assert.equal(vscode.calls.addedBreakpoints.length, 1);
  const bp = vscode.calls.addedBreakpoints[0];
  assert.ok(bp instanceof vscode.SourceBreakpoint);
  assert.equal(bp.location.uri.fsPath, '/ws/pipeline.yaml');
  assert.equal(bp.location.range.start.line, 39);
  assert.equal(bp.location.range.start.character, 0);
  assert.deepEqual(vscode.calls.startDebugging.map((c) => c.config), [CONFIG]);
  // again: the breakpoint is there already, only the run starts
  await debugCommand(CONFIG, extra);
  assert.equal(vscode.calls.addedBreakpoints.length, 1);
  assert.equal(vscode.calls.startDebugging.length, 2);
  // a breakpoint the user set (or disabled) on that line also counts; other lines and files do not
  vscode.debug.breakpoints = [new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file('/ws/pipeline.yaml'), new vscode.Position(9, 4)), false)];
  await debugCommand(CONFIG, { breakpoints: [{ path: '/ws/pipeline.yaml', line: 10 }, { path: '/ws/tasks/build.yaml', line: 10 }] });
  assert.deepEqual(
    vscode.calls.addedBreakpoints.slice(1).map((b) => [b.location.uri.fsPath, b.location.range.start.line]),
    [['/ws/tasks/build.yaml', 9]],
  );
});

test('pipelineDap.debug is registered by activate, and a call without a config is an error, not a throw', async () => {
  const vscode = installFakeVscode();
  vscode.settings['pipelineDap.languageServer.enabled'] = false;
  const ext = require('../../out/extension');
  const context = { subscriptions: [] };
  ext.activate(context);
  const cmd = vscode.registeredCommands['pipelineDap.debug'];
  assert.equal(typeof cmd, 'function');
  await cmd(CONFIG, { breakpoints: [{ path: '/ws/pipeline.yaml', line: 3 }] });
  assert.equal(vscode.calls.addedBreakpoints.length, 1);
  assert.equal(vscode.calls.startDebugging.length, 1);
  assert.equal(await cmd(undefined), false);
  assert.match(vscode.calls.errors[0].msg, /launch configuration/);
  await ext.deactivate();
});

// ---- the client ------------------------------------------------------------------------------------

const probes = ({ onPath = {}, executables = [], importOk = [] } = {}) => ({
  which: (c) => onPath[c],
  isExecutable: (f) => executables.includes(f),
  importError: (py) => (importOk.includes(py) ? undefined : "ModuleNotFoundError: No module named 'dap_server'"),
});

/** A stand-in for vscode-languageclient/node; `onStart(client)` plays the server's start-up. */
function fakeLib(onStart = async () => {}) {
  const State = { Stopped: 1, Running: 2, Starting: 3 };
  const created = [];
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, state: State.Stopped, logged: [], disposed: false });
      created.push(this);
    }
    error(message, data, showNotification) {
      this.logged.push({ message, showNotification });
    }
    async start() {
      this.state = State.Starting;
      try {
        await onStart(this);
      } catch (e) {
        this.state = State.Stopped;
        throw e;
      }
      this.state = State.Running;
    }
    async dispose() {
      this.state = State.Stopped;
      this.disposed = true;
    }
  }
  const lib = {
    LanguageClient,
    State,
    CloseAction: { DoNotRestart: 1, Restart: 2 },
    ErrorAction: { Continue: 1, Shutdown: 2 },
    RevealOutputChannelOn: { Debug: 0, Info: 1, Warn: 2, Error: 3, Never: 4 },
  };
  return { lib, created };
}

test('client options: YAML documents (file, untitled), `python -m dap_server lsp` from pipelineDap.pythonPath', async () => {
  const vscode = installFakeVscode();
  vscode.workspace.workspaceFolders = [WS];
  vscode.settings['pipelineDap.pythonPath'] = '${workspaceFolder}/.venv/bin/python';
  const { LanguageServer } = require('../../out/languageClient');
  const { lib, created } = fakeLib();
  const ls = new LanguageServer(probes({ executables: ['/ws/.venv/bin/python'], importOk: ['/ws/.venv/bin/python'] }), () => lib);
  await ls.start();
  assert.equal(created.length, 1);
  const c = created[0];
  assert.equal(c.id, 'pipelineDap.languageServer');
  assert.equal(c.name, 'Pipeline Language Server');
  assert.equal(c.serverOptions.command, '/ws/.venv/bin/python');
  assert.deepEqual(c.serverOptions.args, ['-m', 'dap_server', 'lsp']);
  assert.equal(c.serverOptions.transport, undefined, 'a transport would add --stdio to the argv');
  assert.equal(c.serverOptions.options.cwd, '/ws');
  assert.deepEqual(c.clientOptions.documentSelector, [
    { language: 'yaml', scheme: 'file' },
    { language: 'yaml', scheme: 'untitled' },
  ]);
  assert.equal(c.clientOptions.outputChannel.name, 'Pipeline Language Server');
  assert.equal(c.clientOptions.revealOutputChannelOn, lib.RevealOutputChannelOn.Never);
  assert.equal(c.state, lib.State.Running);
  assert.equal(ls.running, c);
  assert.equal(vscode.calls.errors.length, 0);
  await ls.stop();
  assert.equal(c.disposed, true);
});

test('client options: pipelineDap.serverCommand runs with lsp in place of serve; PATH gives `pipeline-dap lsp`', async () => {
  let vscode = installFakeVscode();
  vscode.settings['pipelineDap.serverCommand'] = '/opt/v/bin/pipeline-dap serve --log-file /tmp/dap.log';
  let { LanguageServer } = require('../../out/languageClient');
  let fake = fakeLib();
  await new LanguageServer(probes({ executables: ['/opt/v/bin/pipeline-dap'] }), () => fake.lib).start();
  assert.equal(fake.created[0].serverOptions.command, '/opt/v/bin/pipeline-dap');
  assert.deepEqual(fake.created[0].serverOptions.args, ['lsp']);

  vscode = installFakeVscode();
  ({ LanguageServer } = require('../../out/languageClient'));
  fake = fakeLib();
  await new LanguageServer(probes({ onPath: { 'pipeline-dap': '/usr/local/bin/pipeline-dap' } }), () => fake.lib).start();
  assert.equal(fake.created[0].serverOptions.command, '/usr/local/bin/pipeline-dap');
  assert.deepEqual(fake.created[0].serverOptions.args, ['lsp']);
});

test('pipelineDap.languageServer.enabled false: no client; turning it back on starts one', async () => {
  const vscode = installFakeVscode();
  vscode.settings['pipelineDap.languageServer.enabled'] = false;
  const { LanguageServer } = require('../../out/languageClient');
  const { lib, created } = fakeLib();
  const ls = new LanguageServer(probes({ onPath: { 'pipeline-dap': '/usr/bin/pipeline-dap' } }), () => lib);
  await ls.start();
  assert.equal(created.length, 0);
  assert.equal(vscode.calls.errors.length, 0);
  vscode.settings['pipelineDap.languageServer.enabled'] = true;
  vscode.workspace.onDidChangeConfiguration.fire({ affectsConfiguration: (k) => k === 'pipelineDap.languageServer.enabled' });
  await new Promise((r) => setImmediate(r));
  assert.equal(created.length, 1);
  vscode.settings['pipelineDap.languageServer.enabled'] = false;
  vscode.workspace.onDidChangeConfiguration.fire({ affectsConfiguration: (k) => k === 'pipelineDap.languageServer.enabled' });
  await new Promise((r) => setImmediate(r));
  assert.equal(created[0].disposed, true);
  assert.equal(ls.running, undefined);
});

test('pipeline-dap not installed: one message with the fix, only once a Tekton / Argo file is open', async () => {
  const vscode = installFakeVscode();
  vscode.workspace.textDocuments = [documentFor('/ws/values.yaml', 'replicas: 3\n')];
  const { LanguageServer } = require('../../out/languageClient');
  const { lib, created } = fakeLib();
  const ls = new LanguageServer(probes(), () => lib);
  await ls.start();
  assert.equal(created.length, 0);
  assert.equal(vscode.calls.errors.length, 0, 'no pop-up for YAML that is not a pipeline');
  vscode.workspace.onDidOpenTextDocument.fire(documentFor('/ws/compose.yaml', 'services: {}\n'));
  vscode.workspace.onDidOpenTextDocument.fire(documentFor('/ws/notes.md', TEKTON, 'file', 'markdown'));
  assert.equal(vscode.calls.errors.length, 0);
  vscode.workspace.onDidOpenTextDocument.fire(documentFor('/ws/pipeline.yaml', TEKTON));
  vscode.workspace.onDidOpenTextDocument.fire(documentFor('/ws/other.yaml', TEKTON));
  assert.equal(vscode.calls.errors.length, 1);
  const { msg, actions } = vscode.calls.errors[0];
  assert.match(msg, /^Pipeline Language Server: cannot start the language server: "pipeline-dap" is not on PATH/);
  assert.match(msg, /python3 -m pip install pipeline-dap/);
  assert.match(msg, /pipelineDap\.pythonPath/);
  assert.deepEqual(actions, ['Open Settings', 'Copy Install Command', 'Show Output']);
  // already open: at once
  const v2 = installFakeVscode();
  v2.workspace.textDocuments = [documentFor('Untitled-1', TEKTON, 'untitled')];
  const { LanguageServer: LS2 } = require('../../out/languageClient');
  await new LS2(probes(), () => lib).start();
  assert.equal(v2.calls.errors.length, 1);
});

test('the server exits during start-up: one message naming its last stderr line and the fix, no restart', async () => {
  const vscode = installFakeVscode();
  vscode.settings['pipelineDap.pythonPath'] = '/v/bin/python';
  const { LanguageServer } = require('../../out/languageClient');
  let closed;
  let writeErrors;
  const { lib, created } = fakeLib(async (client) => {
    // writes to the exited process fail (EPIPE) before its stderr is read: silent, whatever their count
    writeErrors = [1, 2, 3, 4, 5].map((n) => client.clientOptions.errorHandler.error(new Error('write EPIPE'), undefined, n));
    setTimeout(() => client.clientOptions.outputChannel.append('pipeline-dap lsp: the language server is not part of this build yet\n'), 50);
    closed = client.clientOptions.errorHandler.closed();
    // what vscode-languageclient does when the connection cannot be made
    client.error("Pipeline Language Server client: couldn't create connection to server.", new Error('closed'), 'force');
    throw new Error('Pending response rejected since connection got disposed');
  });
  const ls = new LanguageServer(probes({ executables: ['/v/bin/python'], importOk: ['/v/bin/python'] }), () => lib);
  await ls.start();
  assert.equal(created.length, 1);
  assert.equal(closed.action, lib.CloseAction.DoNotRestart);
  assert.equal(closed.handled, true);
  assert.ok(writeErrors.every((r) => r.action === lib.ErrorAction.Continue && r.handled === true));
  // the client's own forced pop-up went to the output only
  assert.deepEqual(created[0].logged.map((l) => l.showNotification), [false]);
  assert.equal(vscode.calls.errors.length, 1);
  const { msg } = vscode.calls.errors[0];
  assert.match(msg, /^Pipeline Language Server: "\/v\/bin\/python -m dap_server lsp" \(from pipelineDap\.pythonPath\) did not start the language server/);
  assert.match(msg, /not part of this build yet/);
  assert.match(msg, /\/v\/bin\/python -m pip install -U pipeline-dap/);
  assert.match(msg, /pipelineDap\.languageServer\.enabled/);
  assert.equal(ls.running, undefined);
  assert.equal(created[0].disposed, true);
});

test('a running server that keeps crashing: restarted 3 times, then one message and no more restarts', async () => {
  const vscode = installFakeVscode();
  const { LanguageServer, MAX_RESTARTS } = require('../../out/languageClient');
  const { lib, created } = fakeLib();
  const ls = new LanguageServer(probes({ onPath: { 'pipeline-dap': '/usr/bin/pipeline-dap' } }), () => lib);
  await ls.start();
  const handler = created[0].clientOptions.errorHandler;
  const actions = [];
  for (let i = 0; i < MAX_RESTARTS + 1; i++) {
    const r = handler.closed();
    assert.equal(r.handled, true);
    actions.push(r.action);
  }
  assert.deepEqual(actions, [...Array(MAX_RESTARTS).fill(lib.CloseAction.Restart), lib.CloseAction.DoNotRestart]);
  assert.equal(vscode.calls.errors.length, 1);
  assert.match(vscode.calls.errors[0].msg, /^Pipeline Language Server: "\/usr\/bin\/pipeline-dap lsp" exited 4 times in 3 minutes and is not restarted/);
  assert.equal(handler.closed().action, lib.CloseAction.DoNotRestart);
  assert.equal(vscode.calls.errors.length, 1);
  // write errors: a few are tolerated, then a shutdown (reported once, already done above)
  assert.equal(handler.error(new Error('x'), undefined, 1).action, lib.ErrorAction.Continue);
  assert.equal(handler.error(new Error('x'), undefined, 4).action, lib.ErrorAction.Shutdown);
});
